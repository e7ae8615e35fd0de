"""PDF reports of fidelity reviews (fpdf2, charts rendered with vl-convert)."""
