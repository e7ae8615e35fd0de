"""Results: a review's score, band, item ratings with their evidence, charts, export, amending."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import streamlit as st

from app_pages.markup import md
from app_pages.shared import actor, allowed, choose_review, database, identity_banner, kept
from app_pages.views.plan_follow_up import results_follow_up, review_plan
from app_pages.views.results_score import item_table, metrics, missing_and_action_plan, score_charts
from app_pages.widgets import show_error
from domain.vocabulary import REASON_LENGTH
from scales import Scale
from services.access import Action, Actor, Role
from services.database import Database
from services.errors import FidelityError
from services.report_data import safe_filename, stored_review_pdf
from services.reviews import ReviewView, amend, audit_trail, count_reviews, live_score, review_json
from services.users import review_reviewers

AMEND_REASON = "results_amend_reason"


def _when(at: dt.datetime | None) -> str:
    return "" if at is None else f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _score_of(review: ReviewView) -> tuple[dict[str, Any], bool]:
    """The score as finalized (a final review keeps the score it was given), else the live one."""
    if review.is_final and review.final_score is not None:
        return review.final_score, False
    return kept(_live_score, review.id), True


def _live_score(db: Database, review_id: int, *, actor: Actor) -> dict[str, Any]:
    """The live score as a dict, kept (app_pages.shared.kept) as one object per change of the data,
    so the items table made from it is kept too (results_score.item_table)."""
    return live_score(db, review_id, actor=actor).to_dict()


# ---- header -----------------------------------------------------------------------------------


def _header(review: ReviewView, scale: Scale) -> None:
    program = review.program
    st.subheader(md(program.name))
    dates = review.review_date.isoformat()
    if review.review_end_date and review.review_end_date != review.review_date:
        dates += f" to {review.review_end_date.isoformat()}"
    facts = {
        "Provider": program.provider or "—",
        "Region": program.region or "—",
        "Scale": f"{scale.title}, version {review.scale_version}",
        "Review": f"{dates} · {review.review_type}",
        "Raters": ", ".join(review.raters) or "—",
        "Status": review.status,
    }
    st.markdown("  \n".join(f"**{label}:** {md(value)}" for label, value in facts.items()))

    if review.is_final:
        st.success(
            f"Final — finalized by **{md(review.finalized_by)}** at {_when(review.finalized_at)}. "
            "A final review cannot change; amend it below to make a corrected version.",
            icon=":material/verified:",
        )
    if review.amendment_of is not None:
        st.info(
            f"Amendment {review.amendment_number} of review #{review.amendment_of}, made by "
            f"{md(review.created_by)} at {_when(review.created_at)}. "
            f"Reason: {md(review.amendment_reason or '—')}",
            icon=":material/history:",
        )
        st.page_link(
            "app_pages/results.py",
            label=f"Results of the amended review #{review.amendment_of}",
            icon=":material/arrow_back:",
            query_params={"review": str(review.amendment_of)},
        )
    if review.amended_by is not None:
        st.warning(
            f"This review has been amended: review #{review.amended_by} replaces it.",
            icon=":material/warning:",
        )
        st.page_link(
            "app_pages/results.py",
            label=f"Results of the amendment #{review.amended_by}",
            icon=":material/arrow_forward:",
            query_params={"review": str(review.amended_by)},
        )


# ---- review texts --------------------------------------------------------------------------


def _review_texts(review: ReviewView) -> None:
    texts = {
        "Strengths": review.strengths,
        "Summary": review.summary,
        "Recommendations": review.recommendations,
    }
    if not any(texts.values()):
        return
    # The section's heading, each text's heading and the text as one element, as they read.
    parts = [f"**{heading}**\n\n{md(text)}" for heading, text in texts.items() if text]
    st.markdown("\n\n".join(["### Review summary", *parts]))


# ---- actions ----------------------------------------------------------------------------------


def _download(review: ReviewView) -> None:
    # Both files are made only when their button is clicked (data is a callable), not on every
    # rerun; the review itself (and a final one's checksum) was checked when it was loaded.
    db, me = database(), actor()
    st.download_button(
        "Download the review as JSON",
        data=lambda: json.dumps(
            review_json(db, review.id, actor=me), indent=2, ensure_ascii=False, default=str
        ),
        file_name=f"review-{review.id}-{review.scale_id}-{review.review_date.isoformat()}.json",
        mime="application/json",
        icon=":material/download:",
        key="results_download_json",
        on_click="ignore",
    )
    st.download_button(
        "Download PDF report",
        data=lambda: stored_review_pdf(db, review.id, actor=me),
        file_name=safe_filename(review.program.name, review.review_date, review_id=review.id),
        mime="application/pdf",
        icon=":material/picture_as_pdf:",
        key="results_download_pdf",
        on_click="ignore",
        help="The site-visit report to send to the program" + ("" if review.is_final else " (marked DRAFT)"),
    )


def _may_amend(review: ReviewView) -> bool:
    """What services.reviews.amend allows: an agency admin, or a reviewer assigned to the review."""
    me = actor()
    if not allowed(Action.AMEND_REVIEW):
        return False
    return me.role != Role.REVIEWER or me.email in kept(review_reviewers, review.id, who=me)


def _amend_section(review: ReviewView) -> None:
    if not review.is_final or review.amended_by is not None or not _may_amend(review):
        return
    with st.expander("Amend this review", icon=":material/edit_document:"):
        st.markdown(
            "Amending makes a **new review** that copies every rating, the consensus and the texts of this "
            "one, for you to correct and finalize again. This final review stays as it is, on record."
        )
        st.text_area(
            "Reason for the amendment (required)",
            key=AMEND_REASON,
            placeholder="e.g. H1: the client count was taken from the wrong month",
            max_chars=REASON_LENGTH,
        )
        if not st.button("Create the amendment", type="primary", icon=":material/edit:", key="results_amend"):
            return
        reason = (st.session_state.get(AMEND_REASON) or "").strip()
        if not reason:
            st.error(
                "Give the reason for the amendment: it is kept with the new review.", icon=":material/error:"
            )
            return
        try:
            new = amend(database(), review.id, reason, actor=actor())
        except FidelityError as exc:
            show_error(exc)
            return
        st.session_state["current_review"] = new.id
        st.switch_page("app_pages/rate.py", query_params={"review": str(new.id)})


def _history(review: ReviewView) -> None:
    if not allowed(Action.READ_HISTORY):  # it holds every draft value: reviewers and admins only
        return
    # Drawn only when open: the audit trail is read when asked for, not on every click of the page.
    box = st.expander("History of changes", key=HISTORY, on_change="rerun")
    if not box.open:
        return
    with box:
        try:
            table = kept(_history_table, review.id)
        except FidelityError as exc:
            show_error(exc)
            return
        if table is None:
            st.caption("No changes recorded.")
            return
        st.dataframe(table, hide_index=True, width="stretch", key="results_history")


HISTORY = "results_history_open"  # the expander's open state


def _history_table(db: Database, review_id: int, *, actor: Actor) -> pa.Table | None:
    """The review's audit trail as the table shown (None: nothing recorded), made once per change
    of the data (kept): shared by the acting user's sessions, so never changed."""
    records = audit_trail(db, review_id, actor=actor)
    if not records:
        return None

    def text(value: Any) -> str:
        if value is None or isinstance(value, str):
            return value or ""
        return json.dumps(value, default=str)

    frame = pd.DataFrame(
        [
            {
                "at": _when(r.at),
                "by": r.actor,
                "review": r.review_id,
                "what": r.entity,
                "field": r.field,
                "from": text(r.old_value),
                "to": text(r.new_value),
            }
            for r in records
        ]
    )
    return pa.Table.from_pandas(frame, preserve_index=False)


# ---- page -------------------------------------------------------------------------------------


def render() -> None:
    identity_banner()
    st.title("Results")

    review = choose_review()
    if review is None:
        if not kept(count_reviews):  # else choose_review has shown why it cannot open
            if allowed(Action.START_REVIEW):
                st.info("No reviews yet — start one on the Reviews page.", icon=":material/info:")
                st.page_link("app_pages/reviews.py", label="Start a review", icon=":material/add:")
            else:
                st.info("No final reviews of your programs yet.", icon=":material/info:")
        st.stop()

    scale = database().registry.get(review.scale_id, review.scale_version)
    _header(review, scale)
    try:
        score, live = _score_of(review)
    except FidelityError as exc:
        show_error(exc)
        st.stop()

    st.divider()
    metrics(score, scale, live)
    missing_and_action_plan(score, review, scale, live)
    results_follow_up(review.id, score)
    review_plan(review.id, {i.id: i.name for i in scale.items}, review.is_final, scale.ratings)
    if not review.is_final and allowed(Action.EDIT_REVIEW):
        links = st.container(horizontal=True)  # one block, not two columns' three
        links.page_link(
            "app_pages/rate.py",
            label="Go on rating on the Rate page",
            icon=":material/edit_note:",
            query_params={"review": str(review.id)},
        )
        links.page_link(
            "app_pages/consensus.py",
            label="Agree the ratings on the Consensus page",
            icon=":material/handshake:",
            query_params={"review": str(review.id)},
        )
    st.divider()
    score_charts(score, scale)
    st.subheader("Items")
    item_table(score, review, scale, live)
    _review_texts(review)
    st.divider()
    _download(review)
    _amend_section(review)
    _history(review)
