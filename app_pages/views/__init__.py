"""Bodies of the heavier pages and their parts: Compare and Drift as `render()` functions (see
app_pages/drift.py), what they draw made once per change of the data (compare_data, drift_data),
and the score sections of the Results page (results_score)."""
