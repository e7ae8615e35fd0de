"""Rate: one rater rates one item at a time. Every entry is saved the moment it changes."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_pages.shared import (
    actor,
    attempt,
    choose_review,
    database,
    identity_banner,
    show_feedback,
    sync_widget,
)
from scales import Item, Scale
from scales.schema import ComputedInput
from scoring import ItemRatingError, compute
from services.reviews import RatingView, ReviewView, save_rating

identity_banner()
st.title("Rate")

review = choose_review(statuses=("draft", "consensus"), label="Review in progress")
if review is None:
    st.info("No review is in progress. Start one on the Reviews page.", icon=":material/info:")
    st.page_link("app_pages/reviews.py", label="Start a review", icon=":material/add:")
    st.stop()

db = database()
scale: Scale = db.registry.get(review.scale_id, review.scale_version)


def choose_rater(review: ReviewView) -> str:
    key = f"rater-{review.id}"
    wanted = st.query_params.get("rater")
    if key not in st.session_state:
        st.session_state[key] = wanted if wanted in review.raters else review.raters[0]
    rater = st.radio("Rating as", review.raters, horizontal=True, key=key)
    st.query_params["rater"] = rater
    return rater


def item_key(item: Item, field: str) -> str:
    return f"rate|{review.id}|{rater}|{item.id}|{field}"


def current_item(items: list[Item], ratings: dict[str, RatingView]) -> Item:
    ids = [i.id for i in items]
    key = f"rate-item|{review.id}|{rater}"
    wanted = st.query_params.get("item")
    if key not in st.session_state:
        st.session_state[key] = wanted if wanted in ids else ids[0]

    def label(item_id: str) -> str:
        # Stable labels: a label that changes once the item is rated loses the selection.
        return f"{item_id} {scale.item(item_id).name}"

    def step(offset: int) -> None:
        position = ids.index(st.session_state[key])
        st.session_state[key] = ids[(position + offset) % len(ids)]

    left, mid, right = st.columns([1, 6, 1], vertical_alignment="bottom")
    left.button("◀ Previous", on_click=step, args=(-1,), width="stretch", key=f"prev|{review.id}|{rater}")
    chosen = mid.selectbox("Jump to item", ids, format_func=label, key=key)
    right.button("Next ▶", on_click=step, args=(1,), width="stretch", key=f"next|{review.id}|{rater}")
    st.query_params["item"] = chosen
    return scale.item(chosen)


def show_progress(ratings: dict[str, RatingView]) -> None:
    rated = {item_id for item_id, r in ratings.items() if r.rating is not None}
    cols = st.columns(len(scale.subscales) + 1)
    cols[0].metric("Rated", f"{len(rated)} / {len(scale.items)}")
    for col, sub in zip(cols[1:], scale.subscales, strict=True):
        done = sum(1 for item_id in sub.items if item_id in rated)
        col.metric(f"{sub.id} · {sub.name}", f"{done} / {len(sub.items)}")
    st.progress(len(rated) / len(scale.items))


def number_value(spec: ComputedInput, value: Any) -> int | float | None:
    if value is None:
        return None
    return int(value) if spec.integer else float(value)


# --- saving: each callback is one committed transaction through the service ---------------


def save(item: Item, **fields: Any) -> None:
    saved = review.ratings.get(rater, {}).get(item.id)
    attempt(
        lambda: save_rating(
            db,
            review.id,
            rater,
            item.id,
            actor=actor(),
            expected_version=None if saved is None else saved.version,
            **fields,
        ),
        feedback_key=item_key(item, "feedback"),
    )


def save_inputs(item: Item) -> None:
    assert item.compute is not None
    values = {spec.name: st.session_state[item_key(item, spec.name)] for spec in item.compute.inputs}
    if item.compute.decides:
        save(item, inputs=values)
    else:  # the numbers replace a rating given directly
        save(item, inputs=values, rating=None)


def save_direct_rating(item: Item) -> None:
    rating = st.session_state[item_key(item, "rating")]
    if item.compute is not None and not item.compute.decides:
        save(item, rating=rating, inputs=None)
    else:
        save(item, rating=rating)


def save_note(item: Item) -> None:
    save(item, note=st.session_state[item_key(item, "note")] or None)


def save_sources(item: Item) -> None:
    save(item, data_sources=st.session_state[item_key(item, "sources")])


# --- the item panel ---------------------------------------------------------------------------


def show_item_reference(item: Item) -> None:
    st.subheader(f"{item.id} · {item.name}")
    st.markdown(item.definition)
    if item.data_sources:
        st.caption("Data sources: " + "; ".join(item.data_sources))
    if item.decision_rules:
        with st.expander("Decision rules"):
            st.markdown(item.decision_rules)
    st.dataframe(
        pd.DataFrame(
            [{"rating": r, "anchor": text} for r, text in sorted(item.anchors.items(), reverse=True)]
        ),
        hide_index=True,
        width="stretch",
    )


def show_computed_inputs(item: Item, saved: RatingView | None) -> bool:
    """Number inputs and the live working; True when the inputs give the rating."""
    assert item.compute is not None
    rule = item.compute
    saved_inputs = (saved.inputs if saved else None) or {}
    cols = st.columns(len(rule.inputs))
    for col, spec in zip(cols, rule.inputs, strict=True):
        key = item_key(item, spec.name)
        sync_widget(key, number_value(spec, saved_inputs.get(spec.name)))
        with col:
            st.number_input(
                f"{spec.label} ({spec.unit})",
                min_value=number_value(spec, spec.min),
                max_value=number_value(spec, spec.max),
                step=1 if spec.integer else (1.0 if (spec.max or 0) >= 50 else 0.1),
                format="%d" if spec.integer else None,
                key=key,
                help=spec.help,
                on_change=save_inputs,
                args=(item,),
                placeholder="not entered",
            )
    entered = {spec.name: st.session_state.get(item_key(item, spec.name)) for spec in rule.inputs}
    if any(v is None for v in entered.values()):
        if any(v is not None for v in entered.values()):
            missing = ", ".join(spec.label for spec in rule.inputs if entered[spec.name] is None)
            st.caption(f"Enter {missing} to compute the rating.")
        return False
    try:
        working = compute(item.id, rule, entered)
    except ItemRatingError as exc:
        for problem in exc.problems:
            st.warning(problem)
        return False
    value = (
        f"{working.value.normalize():f}"
        if working.value == working.value.to_integral()
        else f"{working.value:.4f}"
    )
    if rule.decides:
        st.info(
            f"{value} {working.unit} → rounded to {working.rounded} → decides **{working.rating}** "
            f"(if the judged rating is {' or '.join(map(str, rule.decides))})",
            icon=":material/calculate:",
        )
        return False
    st.success(
        f"{value} {working.unit} → rounded to {working.rounded} → rating **{working.rating}**",
        icon=":material/calculate:",
    )
    return True


def show_rating_radio(item: Item, saved: RatingView | None, *, label: str) -> None:
    key = item_key(item, "rating")
    given = saved.rating if saved and saved.source == "rated" else None
    sync_widget(key, given)
    st.radio(
        label,
        sorted(item.anchors, reverse=True),
        key=key,
        captions=[item.anchors[r] for r in sorted(item.anchors, reverse=True)],
        on_change=save_direct_rating,
        args=(item,),
    )


def show_entry(item: Item, saved: RatingView | None) -> None:
    computed = item.compute is not None and not item.compute.decides
    if item.compute is not None:
        st.markdown("**Numbers from the site visit**")
        from_inputs = show_computed_inputs(item, saved)
        if computed and not from_inputs:
            show_rating_radio(item, saved, label="…or give the rating directly")
        else:
            show_rating_radio(item, saved, label="Rating")
    else:
        show_rating_radio(item, saved, label="Rating")
    if saved is not None and saved.rating is not None:
        st.markdown(f"Saved rating: **{saved.rating}** ({saved.source})")
    elif saved and saved.pending:
        st.markdown(f"Not rated yet: {saved.pending}.")
    else:
        st.markdown("Not rated yet.")

    note_key = item_key(item, "note")
    sync_widget(note_key, (saved.note if saved else None) or "")
    st.text_area(
        "Evidence note",
        key=note_key,
        on_change=save_note,
        args=(item,),
        placeholder="What you saw or heard that supports the rating",
    )
    sources_key = item_key(item, "sources")
    sync_widget(sources_key, list(saved.data_sources) if saved else [])
    options = list(dict.fromkeys([*item.data_sources, *st.session_state[sources_key]]))
    st.multiselect(
        "Data sources used",
        options,
        key=sources_key,
        on_change=save_sources,
        args=(item,),
        accept_new_options=True,
        placeholder="Pick or type a source",
    )
    show_feedback(item_key(item, "feedback"))


rater = choose_rater(review)
ratings = review.ratings.get(rater, {})
show_progress(ratings)
item = current_item(scale.items, ratings)
saved = ratings.get(item.id)

reference, entry = st.columns([3, 2], gap="large")
with reference:
    show_item_reference(item)
with entry, st.container(border=True):
    show_entry(item, saved)
    if saved is not None:
        st.caption(f"Last saved by {saved.updated_by} at {saved.updated_at:%Y-%m-%d %H:%M} UTC")
