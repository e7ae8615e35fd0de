"""Integrity (agency admins only): the database's tamper evidence checked on a button, as
`fidelity db check` does: every final review's checksum, the audit log's hash chain, the schema
and its triggers, and whether FIDELITY_INTEGRITY_KEY is configured."""

from __future__ import annotations

import streamlit as st

from app_pages.markup import md
from app_pages.shared import actor, allowed, database, identity_banner
from app_pages.widgets import show_error
from services.access import Action
from services.errors import FidelityError
from services.integrity import IntegrityReport, check_database

RUN = "integrity_run"
RESULT = "integrity_result"


def _run_check() -> None:
    try:
        st.session_state[RESULT] = check_database(database(), actor=actor())
    except FidelityError as exc:
        st.session_state[RESULT] = exc


def _show(report: IntegrityReport) -> None:
    for warning in report.warnings:
        st.warning(md(warning), icon=":material/key_off:")
    if report.ok:
        st.success(md(f"Everything holds: {report.summary()}."), icon=":material/verified:")
        return
    st.error(md(f"{len(report.problems)} problem(s) found: {report.summary()}."), icon=":material/gpp_bad:")
    st.dataframe({"problem": report.problems}, hide_index=True, width="stretch", key="integrity_problems")
    st.caption(
        "A review named here has been changed outside the application; an audit row named here was "
        "edited, or a row before it deleted, inserted or moved. Restore from a backup and find out who "
        "had write access to the database."
    )


def render() -> None:
    identity_banner()
    st.title("Integrity")
    if not allowed(Action.CHECK_INTEGRITY):  # not in this role's navigation; refused by the services too
        st.error("Only an agency admin checks the database's integrity.", icon=":material/block:")
        st.stop()
    key_configured = database().integrity_key is not None
    st.caption(
        "Checks every final review against its checksum, the audit log's hash chain row by row, the "
        "schema revision and the triggers that keep final reviews and the audit log unchangeable "
        "(the same check as `fidelity db check`)."
    )
    if key_configured:
        st.info(
            "FIDELITY_INTEGRITY_KEY is configured: checksums are keyed (HMAC-SHA256).", icon=":material/key:"
        )
    st.button("Check the database", key=RUN, type="primary", on_click=_run_check)
    result = st.session_state.get(RESULT)
    if isinstance(result, FidelityError):
        show_error(result)
    elif isinstance(result, IntegrityReport):
        _show(result)


if __name__ == "__main__":  # run as the page's script by st.navigation (app_pages/navigation.py)
    render()
