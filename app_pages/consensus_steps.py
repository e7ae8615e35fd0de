"""The Consensus page's steps: waiting for the raters to submit (or an admin opening the
consensus early, with a reason), marking every unrated item not rated at once, and the
finalize check that lists everything that blocks it in one message, with links."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from app_pages.markup import md
from app_pages.shared import actor
from app_pages.widgets import attempt, show_feedback
from scales import Scale
from services.access import Role
from services.database import Database
from services.reviews import ConsensusView, RatingState, ReviewView, mark_unrated_not_rated, open_consensus


def show_waiting(db: Database, review: ReviewView, state: RatingState) -> None:
    """Before the consensus opens: who has submitted, what is left; an admin may open it."""
    st.info(
        "The consensus opens when every rater has submitted their ratings: until then the raters "
        "rate independently and nobody sees the others' ratings.",
        icon=":material/visibility_off:",
    )
    for p in state.raters:
        done = (
            f"submitted at {p.submitted_at}" if p.submitted else f"still rating ({p.unrated} item(s) unrated)"
        )
        st.markdown(f"- **{md(p.rater)}**: {done}")
    if actor().role != Role.AGENCY_ADMIN:
        return
    feedback = f"open-consensus|{review.id}"
    with st.expander("Open the consensus now (agency admin)"):
        reason = st.text_input(
            "Reason for opening before every rater has submitted", key=f"{feedback}|reason"
        )
        opened = st.button("Open the consensus", key=f"{feedback}|go") and attempt(
            lambda: open_consensus(db, review.id, reason, actor=actor()), feedback_key=feedback
        )
        if opened:
            st.rerun()
        show_feedback(feedback)


def unsettled(review: ReviewView, scale: Scale) -> list[str]:
    """The items with neither a consensus rating nor a reason they are not rated, in scale order."""
    return [i.id for i in scale.items if (c := review.consensus.get(i.id)) is None or not c.settled]


def item_link(review: ReviewView, item_id: str, name: str) -> str:
    """A Markdown link to the item on this page (the page keeps the item in the URL)."""
    return f"[{item_id} {md(name)}](consensus?{urlencode({'review': review.id, 'item': item_id})})"


def finalize_blockers(review: ReviewView, scale: Scale) -> list[str]:
    """Show everything that blocks finalizing in ONE message (with links); the blocking items."""
    missing = unsettled(review, scale)
    if missing:
        links = ", ".join(item_link(review, i, scale.item(i).name) for i in missing)
        st.error(
            f"This review cannot be finalized yet: {len(missing)} item(s) have neither a consensus "
            f"rating nor a reason they are not rated: {links}. Agree them, or mark them all not rated "
            "below.",
            icon=":material/block:",
        )
    return missing


def mark_all_not_rated(db: Database, review: ReviewView, scale: Scale) -> None:
    """One reason, one action: every item not agreed yet is marked not rated."""
    missing = unsettled(review, scale)
    feedback = f"bulk-not-rated|{review.id}"
    if not missing:
        show_feedback(feedback)  # what the last batch did
        return
    with st.container(border=True):
        st.markdown(f"**{len(missing)}** item(s) are not agreed yet.")
        reason = st.text_input(
            "Reason they cannot be rated (one reason for all of them)", key=f"{feedback}|reason"
        )

        def mark() -> None:
            marked = attempt(
                lambda: mark_unrated_not_rated(db, review.id, reason, actor=actor()), feedback_key=feedback
            )
            if marked is not None:
                st.session_state[feedback] = ("done", f"Saved: {len(marked)} item(s) marked not rated")

        st.button(
            f"Mark all {len(missing)} not rated",
            key=f"{feedback}|go",
            on_click=mark,
            icon=":material/playlist_remove:",
        )
        show_feedback(feedback)


def override_field(agreed: ConsensusView | None, field_key: str) -> None:
    """A computed consensus rating is replaced by another only with a reason (an override)."""
    if agreed is not None and agreed.source == "computed":
        st.text_input("Reason for an override (choosing another rating than the numbers give)", key=field_key)
    elif agreed is not None and agreed.override_reason:
        st.markdown(f"Override of the computed rating: {md(agreed.override_reason)}")
