"""Review packages in the app (issue 21): the field-copy banner and the check-out / export
buttons on the Rate page, the Import page's review package section, and the conflict view
(server value and field value side by side, who and when) where the reviewer chooses.
"""

from __future__ import annotations

import streamlit as st
from streamlit.elements.lib.mutable_expander_container import ExpanderContainer

from app_pages.markup import md
from app_pages.shared import kept
from app_pages.widgets import show_error
from services.access import Actor
from services.database import Database
from services.errors import FidelityError
from services.field_checkout import CheckedOut, FieldCopyView, checkout_review, export_field_copy, field_copy
from services.field_sync import ConflictView, pending_conflicts, receive_package, settle_conflict

DOWNLOAD = "field-download"
RECEIVED = "field-received"


def show_field_copy(db: Database, review_id: int, acting: Actor) -> None:
    """On the Rate page: say plainly when this review is a field copy and where it came from,
    offer the check-out (server) or the export (field copy), and list conflicts to settle."""
    copy = kept(field_copy, review_id, who=acting)
    if copy is not None:
        st.warning(copy.banner, icon=":material/hiking:")
        previous = copy.previous_final
        if previous:
            mean = previous.get("total_mean")
            st.caption(
                f"For context: the previous final review, {previous['review_date']}, mean "
                f"{'-' if mean is None else f'{mean:.2f}'}, {previous.get('band') or 'band not determined'}."
            )
    # Drawn only when open (a rerun opens it): most visits rate here and never check out.
    box = st.expander("Field copy (rate without a network)", key=FIELD_COPY_OPEN, on_change="rerun")
    if box.open:
        _field_copy_box(box, db, review_id, acting, copy)
    show_conflicts(db, review_id, acting)


FIELD_COPY_OPEN = "field-copy-open"  # the expander's open state


def _field_copy_box(
    box: ExpanderContainer, db: Database, review_id: int, acting: Actor, copy: FieldCopyView | None
) -> None:
    with box:
        if copy is None:
            st.markdown(
                "Download a review package with your ratings so far, open it in the app on a laptop "
                "(Import page, or `fidelity field open FILE`), rate there, and bring the export back."
            )
            label, make = "Check out for the field", lambda: checkout_review(db, review_id, actor=acting)
        else:
            st.markdown("Export this field copy and check it in on the agency server's Import page.")
            label, make = "Export the field copy", lambda: export_field_copy(db, review_id, actor=acting)
        key = f"{DOWNLOAD}|{review_id}"
        if st.button(label, key=f"{key}|make", icon=":material/package_2:"):
            try:
                st.session_state[key] = make()
            except FidelityError as exc:
                show_error(exc)
        done: CheckedOut | None = st.session_state.get(key)
        if done is not None:
            st.download_button(
                f"Download {done.filename}",
                done.text,
                file_name=done.filename,
                mime="application/json",
                key=f"{key}|download",
                icon=":material/download:",
            )


def show_conflicts(db: Database, review_id: int, acting: Actor) -> None:
    """Each pending conflict side by side, with a choice that is saved (and audited) at once."""
    try:
        conflicts = kept(pending_conflicts, review_id, who=acting)
    except FidelityError as exc:
        show_error(exc)
        return
    if not conflicts:
        return
    st.subheader(f"Field conflicts to settle ({len(conflicts)})")
    st.markdown(
        "These entries were changed both here and in the field since the review was checked out. "
        "Nothing was overwritten: choose which value to keep."
    )
    for conflict in conflicts:
        _conflict_row(db, conflict, acting)


def _conflict_row(db: Database, c: ConflictView, acting: Actor) -> None:
    with st.container(border=True, key=f"field-conflict-{c.id}"):
        st.markdown(f"**{md(c.item_id)} {md(c.item_name)}** · rater {md(c.rater)}")
        server, field = st.columns(2)
        server.markdown(f"**Server value:** {md(c.server)}")
        server.caption(f"saved by {md(c.server_by)} at {c.server_at}")
        field.markdown(f"**Field value:** {md(c.field)}")
        field.caption(f"saved by {md(c.field_by)} at {c.field_at}")
        if server.button("Keep the server value", key=f"field-keep-server-{c.id}"):
            _settle(db, c, "server", acting)
        if field.button("Use the field value", key=f"field-keep-field-{c.id}"):
            _settle(db, c, "field", acting)


def _settle(db: Database, c: ConflictView, choice: str, acting: Actor) -> None:
    try:
        settle_conflict(db, c.id, choice, actor=acting)
    except FidelityError as exc:
        show_error(exc)
        return
    st.rerun()


def package_section(db: Database, acting: Actor) -> None:
    """The Import page's section: open a checkout package (on a laptop) or check in a field
    copy's export (on the agency server); the kind of package decides which."""
    st.subheader("Review package (field copy)")
    st.markdown(
        "On a laptop: open a review package checked out from the agency server, to rate without a "
        "network. On the agency server: check in a field copy's export; entries changed on both "
        "sides are shown for you to choose."
    )
    upload = st.file_uploader("Review package (.json)", type=["json"], key="field-package-upload")
    if upload is not None and st.button("Open or check in the package", key="field-package-go"):
        try:
            st.session_state[RECEIVED] = receive_package(
                db, upload.getvalue(), actor=acting, name=upload.name
            )
        except FidelityError as exc:
            st.session_state[RECEIVED] = None
            show_error(exc)
    received = st.session_state.get(RECEIVED)
    if received is None:
        return
    st.success(received.summary, icon=":material/check_circle:")
    show_conflicts(db, received.review_id, acting)
