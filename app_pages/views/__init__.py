"""Bodies of the pages and their parts: each page's `render()` (the page file in app_pages/ only
runs it, see app_pages/drift.py), what Compare and Drift draw made once per change of the data
(compare_data, drift_data), and the score sections of the Results page (results_score)."""
