"""The Rate page's steps around the item panel: whom the window rates as, what is left
(marks, "Next unrated"), submitting, and overriding a computed rating with a reason.

The services enforce the rules (services.blind); these only show them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import streamlit as st

from app_pages.markup import md
from app_pages.shared import actor
from app_pages.widgets import attempt, keep_param, show_feedback
from scales import Item
from services.access import Actor, Role, acting_for
from services.database import Database
from services.reviews import RatingState, RatingView, ReviewView, reopen_ratings, submit_ratings

RATED, UNRATED = "✓", "○"


class RatePage(Protocol):
    """What these steps need of app_pages.views.rate.Rate."""

    @property
    def review(self) -> ReviewView: ...
    @property
    def db(self) -> Database: ...
    @property
    def rater(self) -> str: ...
    @property
    def acting(self) -> Actor: ...
    @property
    def state(self) -> RatingState: ...


def choose_rater(review: ReviewView, state: RatingState) -> tuple[str | None, Actor]:
    """The rater this window rates as, and the actor the saves go under. A signed-in rater
    rates only as themselves; an agency admin (the local admin without sign-in) chooses."""
    me = actor()
    if state.acting_rater is not None or me.role != Role.AGENCY_ADMIN:
        if state.acting_rater is None:
            st.warning(
                f"You are not a rater on this review (its raters: {md(', '.join(review.raters))}). "
                "A reviewer rates only as themselves: an agency admin can add you as a rater "
                "under your name or e-mail address.",
                icon=":material/person_off:",
            )
            return None, me
        st.markdown(f"Rating as **{md(state.acting_rater)}** (you).")
        return state.acting_rater, me
    key = f"rater-{review.id}"
    wanted = st.query_params.get("rater")
    if key not in st.session_state:
        st.session_state[key] = wanted if wanted in review.raters else review.raters[0]
    rater = st.radio("Rating as", review.raters, horizontal=True, key=key, format_func=md)
    who = "the local admin (no sign-in)" if me.user_id is None else "an agency admin"
    st.caption(
        f"You are {who}: you enter the ratings of the rater chosen here, and they are saved under "
        "that rater's name. The other raters' ratings stay hidden until every rater has submitted."
    )
    keep_param("rater", rater)
    return rater, acting_for(me, rater)


def item_marks(items: Sequence[Item], ratings: Mapping[str, RatingView]) -> dict[str, str]:
    """✓ for a rated item, ○ for one still unrated: what the item picker shows."""
    return {
        i.id: RATED if (r := ratings.get(i.id)) is not None and r.rating is not None else UNRATED
        for i in items
    }


def picked_item(value: object, ids: list[str]) -> str:
    """The item id the picker holds. Its labels carry the ✓/○ marks, and when a mark changes
    Streamlit hands back the label the browser last sent ("○ H1 Small caseload"), not the id."""
    if value in ids:
        return str(value)
    words = str(value).split(" ")
    return words[1] if len(words) > 1 and words[1] in ids else ids[0]


def next_unrated(key: str, ids: list[str], ratings: Mapping[str, RatingView]) -> None:
    """A "Next unrated" button: the first unrated item after the current one (wrapping), drawn
    where the caller is (the item picker's row)."""
    unrated = [i for i in ids if (r := ratings.get(i)) is None or r.rating is None]

    def go() -> None:
        position = ids.index(picked_item(st.session_state[key], ids))
        after = [i for i in ids[position + 1 :] + ids[: position + 1] if i in unrated]
        st.session_state[key] = after[0]

    st.button(
        "Next unrated",
        on_click=go,
        disabled=not unrated,
        icon=":material/skip_next:",
        help="Every item is rated" if not unrated else f"{len(unrated)} item(s) still unrated",
    )


def show_submit(page: RatePage, unrated: int) -> bool:
    """The Submit step; True when the rater's ratings are submitted (locked)."""
    review, db, rater, acting = page.review, page.db, page.rater, page.acting
    progress = page.state.progress(rater)
    feedback = f"submit|{review.id}|{rater}"
    if progress is not None and progress.submitted:
        waiting = [r for r in page.state.waiting_for if r != rater]
        st.success(
            f"{md(rater)} submitted their ratings at {progress.submitted_at}; they are locked. "
            + (
                f"The consensus opens when {md(', '.join(waiting))} submit(s)."
                if waiting and not page.state.consensus_open
                else "The consensus is open."
            ),
            icon=":material/lock:",
        )
        if page.state.consensus_open:
            st.page_link("app_pages/consensus.py", label="Go to Consensus", icon=":material/handshake:")
        if actor().role == Role.AGENCY_ADMIN:
            with st.expander("Reopen these ratings (agency admin)"):
                reason = st.text_input("Reason for reopening", key=f"{feedback}|reason")
                if st.button("Reopen", key=f"{feedback}|reopen"):
                    attempt(
                        lambda: reopen_ratings(db, review.id, rater, reason, actor=actor()),
                        feedback_key=feedback,
                    )
                    st.rerun()
        show_feedback(feedback)
        return True
    # One element, not three columns; not wrapped: the button stays beside the text, as in columns.
    row = st.container(horizontal=True, vertical_alignment="center", wrap=False)
    row.markdown(
        f"**{unrated}** item(s) left unrated. Submit when you are done: your ratings are then locked, "
        "and the raters see each other's ratings once every rater has submitted."
    )

    def submit() -> None:
        attempt(lambda: submit_ratings(db, review.id, rater, actor=acting), feedback_key=feedback)

    row.button(
        f"Submit {md(rater)}'s ratings",
        type="primary",
        on_click=submit,
        icon=":material/send:",
    )  # unkeyed, as the item picker's buttons: its callback is all it does
    show_feedback(feedback)
    return False


def show_override(
    page: RatePage, item: Item, saved: RatingView | None, rating_key: str, save: Callable[..., None]
) -> None:
    """A rating other than the computed one is an override: saved only with a reason."""
    chosen: Any = st.session_state.get(rating_key)
    if saved is None or saved.source != "computed" or chosen is None or chosen == saved.rating:
        return
    st.warning(
        f"The numbers give rating **{saved.rating}**; rating **{chosen}** instead is an override "
        "and needs a reason.",
        icon=":material/edit:",
    )
    reason_key = f"{rating_key}|override-reason"
    st.text_input("Reason for the override", key=reason_key)
    left, right = st.columns(2)

    def override() -> None:
        save(page, item, rating=chosen, inputs=None, override_reason=st.session_state.get(reason_key))

    def keep() -> None:
        st.session_state[rating_key] = saved.rating

    left.button(f"Override with {chosen}", on_click=override, key=f"{rating_key}|override", type="primary")
    right.button(f"Keep the computed {saved.rating}", on_click=keep, key=f"{rating_key}|keep")
