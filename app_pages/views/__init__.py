"""Bodies of the heavier pages, as functions (see app_pages/drift.py)."""
