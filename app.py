"""ebp-fidelity: the Streamlit app. `streamlit run app.py` starts it on the embedded default."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="ebp-fidelity", page_icon=":material/fact_check:", layout="wide")

pages = {
    "Reviews": [
        st.Page(
            "app_pages/reviews.py",
            title="Reviews",
            icon=":material/assignment:",
            url_path="reviews",
            default=True,
        ),
        st.Page("app_pages/rate.py", title="Rate", icon=":material/edit_note:", url_path="rate"),
        st.Page(
            "app_pages/consensus.py", title="Consensus", icon=":material/handshake:", url_path="consensus"
        ),
        st.Page("app_pages/results.py", title="Results", icon=":material/insights:", url_path="results"),
    ],
    "Analytics": [
        st.Page("app_pages/drift.py", title="Drift", icon=":material/trending_down:", url_path="drift"),
        st.Page("app_pages/compare.py", title="Compare", icon=":material/leaderboard:", url_path="compare"),
    ],
    "Programs": [
        st.Page("app_pages/programs.py", title="Programs", icon=":material/groups:", url_path="programs"),
        st.Page("app_pages/import_page.py", title="Import", icon=":material/upload_file:", url_path="import"),
    ],
    "Reference": [
        st.Page("app_pages/scales.py", title="Scales", icon=":material/menu_book:", url_path="scales"),
    ],
}
st.navigation(pages).run()
