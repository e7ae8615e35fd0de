"""Links to the app's pages by their files, drawn with this session's page objects.

`st.page_link("app_pages/rate.py", ...)` resolves the file on disk on every call (the working
folder, a `realpath` walking each folder of the path, then every registered page compared):
about 0.15 ms a link, on every rerun of a page with a few of them. The page object the session's
navigation made of the same file gives the link its address directly.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.navigation.page import StreamlitPage

PAGES_BY_FILE = "fidelity_pages_by_file"  # session state: page file -> this session's page object


def remember(pages: dict[str, StreamlitPage]) -> None:
    """The page objects the session's navigation offers, by their files (app_pages/navigation.py)."""
    st.session_state[PAGES_BY_FILE] = pages


def page_link(where: Any, path: str, **kwargs: Any) -> None:
    """`where.page_link(path, **kwargs)` (`where`: `st` or a container), with the session's page
    object of `path` when its navigation offers the page; else with the path as before (Streamlit
    then says the page is not found, as it always did)."""
    pages = st.session_state.get(PAGES_BY_FILE) or {}
    where.page_link(pages.get(path, path), **kwargs)
