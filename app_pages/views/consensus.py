"""Consensus: the raters' ratings side by side, discrepancies first; agree each item; finalize."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from app_pages.consensus_steps import finalize_blockers, mark_all_not_rated, override_field, show_waiting
from app_pages.markup import md
from app_pages.shared import actor, choose_review, database, identity_banner, kept
from app_pages.views.agreement import review_agreement_box
from app_pages.widgets import attempt, keep_param, show_error, show_feedback, sync_widget
from domain.vocabulary import (
    EVIDENCE_LENGTH,
    FINDINGS_LENGTH,
    REASON_LENGTH,
    RECOMMENDATION_LENGTH,
    SUMMARY_LENGTH,
)
from scales import Item, Scale
from services.database import Database
from services.errors import FidelityError
from services.rating_rules import Agreement
from services.reviews import (
    RatingView,
    ReviewView,
    compare_raters,
    finalize,
    mark_not_rated,
    rating_state,
    save_consensus,
    update_review,
)


@dataclass(frozen=True)
class Consensus:
    """The review being agreed, where it is stored, its scale and the (first two) raters compared."""

    review: ReviewView
    db: Database
    scale: Scale
    raters: list[str]


def rating_of(page: Consensus, rater: str, item_id: str) -> RatingView | None:
    review = page.review
    return review.ratings.get(rater, {}).get(item_id)


def key(page: Consensus, item: Item, field: str) -> str:
    review = page.review
    return f"consensus|{review.id}|{item.id}|{field}"


def save(page: Consensus, item: Item, **fields: Any) -> None:
    review, db = page.review, page.db
    attempt(
        lambda: save_consensus(
            db,
            review.id,
            item.id,
            expected_version=review.consensus_version(item.id),
            actor=actor(),
            **fields,
        ),
        feedback_key=key(page, item, "feedback"),
    )


def save_rating(page: Consensus, item: Item) -> None:
    agreed = page.review.consensus.get(item.id)
    reason = st.session_state.get(key(page, item, "override"))
    if agreed is not None and agreed.source == "computed" and reason:  # replacing the numbers' rating
        save(
            page,
            item,
            rating=st.session_state[key(page, item, "rating")],
            inputs=None,
            override_reason=reason,
        )
        return
    save(page, item, rating=st.session_state[key(page, item, "rating")], inputs=None)


def adopt_inputs(page: Consensus, item: Item, rater: str) -> None:
    saved = rating_of(page, rater, item.id)
    save(page, item, inputs=dict(saved.inputs or {}) if saved else None, rating=None)


def save_text(page: Consensus, item: Item, field: str) -> None:
    save(page, item, **{field: st.session_state[key(page, item, field)] or None})


def save_not_rated(page: Consensus, item: Item) -> None:
    review, db = page.review, page.db
    reason = st.session_state[key(page, item, "not_rated_reason")]
    attempt(
        lambda: mark_not_rated(
            db, review.id, item.id, reason, expected_version=review.consensus_version(item.id), actor=actor()
        ),
        feedback_key=key(page, item, "feedback"),
    )


def accept_agreed(page: Consensus, items: list[Item]) -> None:
    """Where both raters gave the same rating and nothing is agreed yet, take it as consensus."""
    review, db, raters = page.review, page.db, page.raters
    saved = 0
    for item in items:
        a, b = (rating_of(page, r, item.id) for r in raters)
        if item.id in review.consensus or not a or not b or a.rating is None or a.rating != b.rating:
            continue
        notes = "\n".join(f"{r.rater}: {r.note}" for r in (a, b) if r.note) or None
        fields: dict[str, Any] = {"evidence": notes}
        if a.source == "computed":
            fields["inputs"] = dict(a.inputs or {})
        else:
            fields["rating"] = a.rating
        try:
            save_consensus(db, review.id, item.id, expected_version=0, actor=actor(), **fields)
            saved += 1
        except FidelityError as exc:
            st.session_state["consensus-bulk"] = ("error", exc.problems)
            return
    message = (
        f"Saved: {saved} agreed item(s) accepted" if saved else "No item left that both raters rated alike"
    )
    st.session_state["consensus-bulk"] = ("done", message)
    st.toast(message, icon=":material/done_all:")  # seen wherever the reader is on the page


def agreement_panel(page: Consensus) -> Agreement | None:
    review, scale, raters = page.review, page.scale, page.raters
    if len(raters) < 2:
        st.info("This review has one rater: agree each item below from their ratings.")
        return None
    a, b = raters
    result = kept(compare_raters, review.id, a, b)
    cols = st.columns(4)
    cols[0].metric("Items both rated", f"{result.compared} / {len(scale.items)}")
    cols[1].metric("Exact agreement", "–" if result.exact_pct is None else f"{result.exact_pct:.0f}%")
    cols[2].metric(
        "Within one point", "–" if result.within_one_pct is None else f"{result.within_one_pct:.0f}%"
    )
    cols[3].metric("Differ by 2 or more", len(result.discrepancies))
    return result


def item_order(page: Consensus, result: Agreement | None) -> list[Item]:
    """Discrepancies first (largest gap), then other differences, then the rest in scale order."""
    scale = page.scale
    if result is None:
        return list(scale.items)
    first = [d.item_id for d in result.differences]
    return [scale.item(i) for i in first] + [i for i in scale.items if i.id not in first]


def overview_table(page: Consensus, items: list[Item]) -> None:
    review, raters = page.review, page.raters
    rows = []
    for item in items:
        row: dict[str, Any] = {"item": item.id, "name": item.name}
        values = []
        for rater in raters:
            r = rating_of(page, rater, item.id)
            row[rater] = None if r is None else r.rating
            values.append(row[rater])
        row["gap"] = abs(values[0] - values[1]) if len(values) == 2 and None not in values else None
        agreed = review.consensus.get(item.id)
        row["consensus"] = (
            None if agreed is None else (agreed.rating if agreed.rating is not None else "not rated")
        )
        rows.append(row)
    frame = pd.DataFrame(rows, dtype=object).fillna("").astype(str)  # an empty cell, not "None"
    st.dataframe(frame, hide_index=True, width="stretch", height=min(38 + 35 * len(rows), 420))


def item_editor(page: Consensus, items: list[Item]) -> None:
    review, scale, raters = page.review, page.scale, page.raters
    ids = [i.id for i in items]
    pick_key = f"consensus-item|{review.id}"
    wanted = st.query_params.get("item")
    if pick_key not in st.session_state or st.session_state[pick_key] not in ids:
        st.session_state[pick_key] = wanted if wanted in ids else ids[0]

    def label(item_id: str) -> str:
        return f"{item_id} {scale.item(item_id).name}"  # stable, or the selection is lost

    chosen = st.selectbox("Item (discrepancies first)", ids, format_func=label, key=pick_key)
    keep_param("item", chosen)
    item = scale.item(chosen)
    agreed = review.consensus.get(item.id)

    st.subheader(f"{item.id} · {item.name}")
    st.caption(item.definition)
    if agreed is not None and agreed.rating is not None:
        st.markdown(f"Agreed rating: **{agreed.rating}**")
    elif agreed is not None and agreed.not_rated_reason:
        st.markdown(f"Not rated: {md(agreed.not_rated_reason)}")
    else:
        st.markdown("Not agreed yet.")
    cols = st.columns(len(raters) or 1)
    for col, rater in zip(cols, raters, strict=False):
        r = rating_of(page, rater, item.id)
        with col, st.container(border=True):
            st.markdown(f"**{md(rater)}**: {'not rated' if r is None or r.rating is None else r.rating}")
            if r is not None and r.inputs:
                st.caption(", ".join(f"{k} = {v}" for k, v in r.inputs.items()))
                if item.compute is not None and not item.compute.decides:
                    st.button(
                        f"Use {md(rater)}'s numbers",
                        key=key(page, item, f"adopt-{rater}"),
                        on_click=adopt_inputs,
                        args=(page, item, rater),
                    )
            if r is not None and r.note:
                st.markdown(f"> {md(r.note)}")
            if r is not None and r.data_sources:
                st.caption("Sources: " + md("; ".join(r.data_sources)))

    with st.container(border=True):
        override_field(agreed, key(page, item, "override"))
        rating_key = key(page, item, "rating")
        sync_widget(rating_key, None if agreed is None else agreed.rating)
        ordered = sorted(item.anchors, reverse=True)
        st.radio(
            "Consensus rating",
            ordered,
            key=rating_key,
            captions=[item.anchors[r] for r in ordered],
            on_change=save_rating,
            args=(page, item),
        )
        if agreed is not None and agreed.inputs:
            st.caption("From the numbers: " + ", ".join(f"{k} = {v}" for k, v in agreed.inputs.items()))
        for field, label_text, limit in (
            ("evidence", "Evidence", EVIDENCE_LENGTH),
            ("recommendation", "Recommendation", RECOMMENDATION_LENGTH),
        ):
            field_key = key(page, item, field)
            sync_widget(field_key, (getattr(agreed, field) if agreed else None) or "")
            st.text_area(
                label_text, key=field_key, on_change=save_text, args=(page, item, field), max_chars=limit
            )
        reason_key = key(page, item, "not_rated_reason")
        sync_widget(reason_key, (agreed.not_rated_reason if agreed else None) or "")
        reason_col, button_col = st.columns([4, 1], vertical_alignment="bottom")
        reason_col.text_input("Or: reason it cannot be rated", key=reason_key, max_chars=REASON_LENGTH)
        button_col.button(
            "Mark not rated", key=key(page, item, "mark"), on_click=save_not_rated, args=(page, item)
        )
        # Widget key -> label: "Saved at" only while every one of them shows what is stored.
        fields = {rating_key: "Consensus rating", key(page, item, "evidence"): "Evidence"}
        fields |= {
            key(page, item, "recommendation"): "Recommendation",
            reason_key: "Or: reason it cannot be rated",
        }
        show_feedback(key(page, item, "feedback"), fields)


def review_texts(page: Consensus) -> None:
    review, db = page.review, page.db
    st.subheader("Strengths, summary and recommendations")

    def save_texts(field: str) -> None:
        attempt(
            lambda: update_review(
                db, review.id, actor=actor(), expected_version=review.version,
                **{field: st.session_state[f"review|{review.id}|{field}"] or None},
            ),
            feedback_key=f"review|{review.id}|feedback",
        )  # fmt: skip

    limits = {"strengths": FINDINGS_LENGTH, "summary": SUMMARY_LENGTH, "recommendations": FINDINGS_LENGTH}
    for field, limit in limits.items():
        field_key = f"review|{review.id}|{field}"
        sync_widget(field_key, getattr(review, field) or "")
        st.text_area(field.capitalize(), key=field_key, on_change=save_texts, args=(field,), max_chars=limit)
    fields = {
        f"review|{review.id}|{field}": field.capitalize()
        for field in ("strengths", "summary", "recommendations")
    }
    show_feedback(f"review|{review.id}|feedback", fields)


def render() -> None:
    identity_banner()
    st.title("Consensus")

    review = choose_review(statuses=("draft", "consensus"), label="Review in progress")
    if review is None:
        st.info(
            "No review is waiting for consensus. Start one on the Reviews page; "
            "final reviews are on Results.",
            icon=":material/info:",
        )
        st.page_link("app_pages/reviews.py", label="Reviews", icon=":material/assignment:")
        st.stop()

    db = database()
    scale: Scale = db.registry.get(review.scale_id, review.scale_version)
    state = kept(rating_state, review.id)
    if not state.consensus_open:
        show_waiting(db, review, state)
        st.stop()
    if state.opened_by:
        st.caption(
            f"Opened by {md(state.opened_by)} before every rater submitted: {md(state.open_reason or '')}"
        )
    raters = review.raters[:2]
    page = Consensus(review, db, scale, raters)
    result = agreement_panel(page)
    review_agreement_box(db, review.id)
    items = item_order(page, result)
    overview_table(page, items)
    if len(raters) >= 2:
        st.button(
            "Accept every rating both raters agree on",
            on_click=accept_agreed,
            args=(page, items),
            icon=":material/done_all:",
            help="Items already agreed are left as they are; raters' notes become the evidence.",
        )
        show_feedback("consensus-bulk")
    item_editor(page, items)
    review_texts(page)

    st.divider()
    settled = sum(1 for c in review.consensus.values() if c.settled)
    st.markdown(
        f"**{settled} of {len(scale.items)}** items have a consensus rating or a reason they are not rated."
    )
    mark_all_not_rated(db, review, scale)
    if st.button("Finalize this review", type="primary", icon=":material/lock:") and not finalize_blockers(
        review, scale
    ):
        try:
            finalize(db, review.id, actor=actor())
        except FidelityError as exc:
            show_error(exc)
        else:
            st.switch_page("app_pages/results.py", query_params={"review": str(review.id)})
