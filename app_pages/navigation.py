"""The app's frame, run by app.py on every rerun: the page setup, who is acting, and the pages
their role may use.

A module, not app.py itself: app.py is compiled again on every AppTest run, an imported module
once per process (see README, Performance).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from app_pages.shared import sign_in
from services.access import Action, Actor, can

# A bundled picture: a Material icon or an emoji as the page icon is fetched from the internet
# by the browser, and the app must work with no network. Given as a data URL (700 bytes):
# a file's path is opened, checked and stored in the media files again on every rerun.
ICON = Path(__file__).with_name("icon.png")
ICON_URL = "data:image/png;base64," + base64.b64encode(ICON.read_bytes()).decode("ascii")


def page(
    source: str | Callable[[], None], title: str, icon: str, url_path: str, *, default: bool = False
) -> StreamlitPage:
    """A page of the app: a page file (it runs its `render()` when run as the page's script, see
    app_pages/rate.py) or a page's `render` itself. Files keep `st.switch_page`, `st.page_link`
    and `AppTest.switch_page` working by path; the address is `url_path` either way."""
    return st.Page(source, title=title, icon=icon, url_path=url_path, default=default)


def navigation(viewer: Actor) -> dict[str, list[StreamlitPage]]:
    """The pages this role may use, grouped; a page the role cannot use is not offered (the
    services refuse anyway)."""
    reviews = [page("app_pages/reviews.py", "Reviews", ":material/assignment:", "reviews", default=True)]
    if can(viewer, Action.EDIT_REVIEW):
        reviews.append(page("app_pages/rate.py", "Rate", ":material/edit_note:", "rate"))
        reviews.append(page("app_pages/consensus.py", "Consensus", ":material/handshake:", "consensus"))
    reviews.append(page("app_pages/results.py", "Results", ":material/insights:", "results"))
    if can(viewer, Action.READ_PLANS):
        reviews.append(
            page("app_pages/action_plans.py", "Action plans", ":material/checklist:", "action-plans")
        )
    pages = {"Reviews": reviews}
    if can(viewer, Action.READ_ANALYTICS):
        pages["Analytics"] = [
            page("app_pages/drift.py", "Drift", ":material/trending_down:", "drift"),
            page("app_pages/compare.py", "Compare", ":material/leaderboard:", "compare"),
            page("app_pages/agreement.py", "Agreement", ":material/compare_arrows:", "agreement"),
        ]
        if can(viewer, Action.READ_OUTCOMES):
            outcomes = page("app_pages/outcomes.py", "Outcomes", ":material/monitoring:", "outcomes")
            pages["Analytics"].append(outcomes)
    pages["Programs"] = [page("app_pages/programs.py", "Programs", ":material/groups:", "programs")]
    if can(viewer, Action.IMPORT):
        pages["Programs"].append(
            page("app_pages/import_page.py", "Import", ":material/upload_file:", "import")
        )
    if can(viewer, Action.MANAGE_USERS):
        pages["Programs"].append(page("app_pages/users.py", "Users", ":material/manage_accounts:", "users"))
    if can(viewer, Action.CHECK_INTEGRITY):
        pages["Programs"].append(
            page("app_pages/integrity.py", "Integrity", ":material/verified_user:", "integrity")
        )
    pages["Reference"] = [page("app_pages/scales.py", "Scales", ":material/menu_book:", "scales")]
    return pages


def run() -> None:
    """One run of the app: the page setup, the sign-in, then the page chosen."""
    st.set_page_config(page_title="ebp-fidelity", page_icon=ICON_URL, layout="wide")
    viewer = sign_in()  # the sign-in page, or "not registered", stops the run here
    # Built once per session and role: a session's runs take turns, so its page objects are never
    # shared by two runs at once (st.navigation marks the one it runs).
    key = f"fidelity_pages_{viewer.role}"  # the pages offered depend on the role alone
    if key not in st.session_state:
        st.session_state[key] = navigation(viewer)
    st.navigation(st.session_state[key]).run()
