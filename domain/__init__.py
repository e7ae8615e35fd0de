"""The domain's own words and rules, free of storage and UI: importable without SQLAlchemy or Streamlit."""
