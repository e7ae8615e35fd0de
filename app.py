"""ebp-fidelity: the Streamlit app. `streamlit run app.py` starts it on the embedded default."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="ebp-fidelity", page_icon=":material/fact_check:", layout="wide")

pages = [
    st.Page("app_pages/scales.py", title="Scales", icon=":material/menu_book:", url_path="scales"),
]
st.navigation(pages).run()
