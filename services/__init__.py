"""The service layer: what the UI and the CLI call. No Streamlit here."""
