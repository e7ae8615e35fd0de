"""Rate: one rater rates one item at a time. Every entry is saved the moment it changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from app_pages.field import show_field_copy
from app_pages.markup import md
from app_pages.rate_steps import (
    choose_rater,
    item_marks,
    next_unrated,
    picked_item,
    show_override,
    show_submit,
)
from app_pages.shared import actor, choose_review, database, identity_banner, kept
from app_pages.views.plan_follow_up import rate_follow_up
from app_pages.widgets import attempt, keep_param, show_feedback, sync_widget
from domain.saving import may_save_on_top
from domain.vocabulary import EVIDENCE_LENGTH
from scales import Item, Scale
from scales.schema import ComputedInput
from services.access import Actor
from services.database import Database
from services.errors import StaleWriteError
from services.rating_rules import ItemRatingError, compute
from services.reviews import RatingState, RatingView, ReviewView, get_review, rating_state, save_rating


@dataclass(frozen=True)
class Rate:
    """The review being rated, where it is stored, its scale, the rater this window rates as
    and the person acting (the signed-in rater, or the admin acting for the rater)."""

    review: ReviewView
    db: Database
    scale: Scale
    rater: str
    acting: Actor
    state: RatingState


def item_key(page: Rate, item: Item, field: str) -> str:
    review, rater = page.review, page.rater
    return f"rate|{review.id}|{rater}|{item.id}|{field}"


def current_item(page: Rate, items: list[Item], ratings: dict[str, RatingView]) -> Item:
    review, scale, rater = page.review, page.scale, page.rater
    ids = [i.id for i in items]
    key = f"rate-item|{review.id}|{rater}"
    wanted = st.query_params.get("item")
    if key not in st.session_state:
        st.session_state[key] = wanted if wanted in ids else ids[0]
    st.session_state[key] = picked_item(st.session_state[key], ids)
    marks = item_marks(items, ratings)

    def label(item_id: str) -> str:
        return f"{marks[item_id]} {item_id} {scale.item(item_id).name}"

    def step(offset: int) -> None:
        position = ids.index(picked_item(st.session_state[key], ids))
        st.session_state[key] = ids[(position + offset) % len(ids)]

    # One row (a horizontal container: one element, where columns were one per cell and a row).
    # The buttons work by their callbacks and keep no state: unkeyed, they are not session keys,
    # which every keyed widget of a rerun walks (Streamlit's filtered state).
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.button("◀ Previous", on_click=step, args=(-1,))
        chosen = st.selectbox("Jump to item", ids, format_func=label, key=key)
        st.button("Next ▶", on_click=step, args=(1,))
        next_unrated(key, ids, ratings)
    keep_param("item", chosen)
    return scale.item(chosen)


def show_progress(page: Rate, ratings: dict[str, RatingView]) -> None:
    scale = page.scale
    rated = {item_id for item_id, r in ratings.items() if r.rating is not None}
    # One element (the bar and its line of counts): a metric card per subscale in columns cost
    # more of every rerun than the rest of the rater's item panel.
    subscales = " · ".join(
        f"{md(sub.id)} {md(sub.name)}: {sum(1 for i in sub.items if i in rated)} / {len(sub.items)}"
        for sub in scale.subscales
    )
    st.progress(
        len(rated) / len(scale.items), text=f"**Rated {len(rated)} / {len(scale.items)}** — {subscales}"
    )


def number_value(spec: ComputedInput, value: Any) -> int | float | None:
    if value is None:
        return None
    return int(value) if spec.integer else float(value)


def widget_values(page: Rate, item: Item, saved: RatingView | None) -> dict[str, Any]:
    """What each of the item's widgets shows when it shows the saved entry, by widget key."""
    values: dict[str, Any] = {}
    if item.compute is not None:
        saved_inputs = (saved.inputs if saved else None) or {}
        for spec in item.compute.inputs:
            values[item_key(page, item, spec.name)] = number_value(spec, saved_inputs.get(spec.name))
    # A computed rating shows as the selected one; choosing another is an override (with a reason).
    values[item_key(page, item, "rating")] = saved.rating if saved and saved.source else None
    values[item_key(page, item, "note")] = (saved.note if saved else None) or ""
    values[item_key(page, item, "sources")] = list(saved.data_sources) if saved else []
    return values


SHOWN = "rate-shown"  # session state: (review, rater, item) of the item panel last drawn


def forget_other_items(page: Rate, item: Item) -> None:
    """Drop the saved values (`…|db`) and the version saved on (`…|base`) that the item panel kept
    for the items drawn before this one. They are only read while their item is drawn (its
    widgets' callbacks run before the next run draws another item), Streamlit already drops the
    widgets' own values once they are not drawn, and an item drawn again reads them afresh from
    the database. Kept, they grew by four or five keys an item visited, and every keyed widget
    of a rerun walks all session keys (Streamlit's filtered state). Swept when the item changes."""
    shown = (page.review.id, page.rater, item.id)
    if st.session_state.get(SHOWN) == shown:
        return
    st.session_state[SHOWN] = shown
    this_item = item_key(page, item, "")  # "rate|review|rater|item|": no other item's prefix
    stale = [
        key
        for key in st.session_state
        if isinstance(key, str)
        and key.startswith("rate|")
        and key.endswith(("|db", "|base"))
        and not key.startswith(this_item)
    ]
    for key in stale:
        del st.session_state[key]


# --- saving: each callback is one committed transaction through the service ---------------

_NOT_SHOWN = object()


def save(page: Rate, item: Item, **fields: Any) -> None:
    """Save on top of the entry the page showed (its version, kept in session state and moved
    on by each of this session's own saves, so quick successive edits never refuse each
    other). When another window saved the item since, the save still goes through if that
    window changed other parts of it than these (both entries are kept); if it changed the
    same part, the save is refused as stale and the rerun shows the other window's entry."""
    review, db, rater, acting = page.review, page.db, page.rater, page.acting
    base_key = item_key(page, item, "base")
    base = st.session_state.get(base_key, _NOT_SHOWN)
    shown: RatingView | None = review.ratings.get(rater, {}).get(item.id) if base is _NOT_SHOWN else base

    def put(expected_version: int) -> RatingView:
        return save_rating(
            db, review.id, rater, item.id, actor=acting, expected_version=expected_version, **fields
        )

    def write() -> RatingView:
        try:
            return put(0 if shown is None else shown.version)  # 0: nothing saved yet
        except StaleWriteError:
            latest = get_review(db, review.id, actor=acting).ratings.get(rater, {}).get(item.id)
            if not may_save_on_top(shown, latest, fields):
                raise
            assert latest is not None
            return put(latest.version)

    result = attempt(write, feedback_key=item_key(page, item, "feedback"))
    if result is not None:
        st.session_state[base_key] = result


def save_inputs(page: Rate, item: Item) -> None:
    assert item.compute is not None
    values = {spec.name: st.session_state[item_key(page, item, spec.name)] for spec in item.compute.inputs}
    if item.compute.decides:
        save(page, item, inputs=values)
    else:  # the numbers replace a rating given directly
        save(page, item, inputs=values, rating=None)


def save_direct_rating(page: Rate, item: Item) -> None:
    rating = st.session_state[item_key(page, item, "rating")]
    saved = st.session_state.get(item_key(page, item, "base"))
    if isinstance(saved, RatingView) and saved.source == "computed":
        return  # another rating than the computed one is an override: saved with its reason (show_override)
    if item.compute is not None and not item.compute.decides:
        save(page, item, rating=rating, inputs=None)
    else:
        save(page, item, rating=rating)


def save_note(page: Rate, item: Item) -> None:
    save(page, item, note=st.session_state[item_key(page, item, "note")] or None)


def save_sources(page: Rate, item: Item) -> None:
    save(page, item, data_sources=st.session_state[item_key(page, item, "sources")])


# --- the item panel ---------------------------------------------------------------------------


def show_item_reference(item: Item) -> None:
    # The heading, the definition and its data sources as one element (a caption's small grey
    # text): each element is a share of every rerun of this page.
    listed = "; ".join(item.data_sources).replace("[", "\\[").replace("]", "\\]")  # inside :gray[…]
    sources = f"\n\n:gray[:small[Data sources: {listed}]]" if item.data_sources else ""
    st.markdown(f"### {item.id} · {item.name}\n\n{item.definition}{sources}")
    if item.decision_rules:
        with st.expander("Decision rules"):
            st.markdown(item.decision_rules)
    # The anchors are the Rating choices' captions below: not repeated here in a table.


def show_computed_inputs(page: Rate, item: Item, in_db: dict[str, Any], labels: dict[str, str]) -> bool:
    """Number inputs and the live working; True when the inputs give the rating."""
    assert item.compute is not None
    rule = item.compute
    # Boxes in line under any label: a horizontal container is one element (columns: one a box).
    with st.container(horizontal=True, vertical_alignment="bottom"):
        for spec in rule.inputs:
            key = item_key(page, item, spec.name)
            sync_widget(key, in_db[key])
            unit_named = spec.unit.lower() in spec.label.lower()
            labels[key] = spec.label if unit_named else f"{spec.label} ({spec.unit})"
            st.number_input(
                labels[key],
                min_value=number_value(spec, spec.min),
                max_value=number_value(spec, spec.max),
                step=1 if spec.integer else (1.0 if (spec.max or 0) >= 50 else 0.1),
                format="%d" if spec.integer else None,
                key=key,
                help=spec.help,
                on_change=save_inputs,
                args=(page, item),
                placeholder="not entered",
            )
    entered = {spec.name: st.session_state.get(item_key(page, item, spec.name)) for spec in rule.inputs}
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


def show_rating_radio(
    page: Rate, item: Item, in_db: dict[str, Any], labels: dict[str, str], *, label: str
) -> None:
    key = item_key(page, item, "rating")
    sync_widget(key, in_db[key])
    labels[key] = label
    st.radio(
        label,
        sorted(item.anchors, reverse=True),
        key=key,
        captions=[item.anchors[r] for r in sorted(item.anchors, reverse=True)],
        on_change=save_direct_rating,
        args=(page, item),
    )


def show_entry(page: Rate, item: Item, saved: RatingView | None) -> None:
    in_db = widget_values(page, item, saved)
    labels: dict[str, str] = {}  # widget key -> label, for the save state
    st.session_state[item_key(page, item, "base")] = saved  # what the widgets below are based on
    computed = item.compute is not None and not item.compute.decides
    if item.compute is not None:
        st.markdown("**Numbers from the site visit**")
        from_inputs = show_computed_inputs(page, item, in_db, labels)
        if computed and not from_inputs:
            show_rating_radio(page, item, in_db, labels, label="…or give the rating directly")
        else:
            show_rating_radio(page, item, in_db, labels, label="Rating")
        show_override(page, item, saved, item_key(page, item, "rating"), save)
    else:
        show_rating_radio(page, item, in_db, labels, label="Rating")
    if saved is not None and saved.override_reason:
        st.markdown(f"Saved rating: **{saved.rating}** (override: {md(saved.override_reason)})")
    elif saved is not None and saved.rating is not None:
        st.markdown(f"Saved rating: **{saved.rating}** ({saved.source})")
    elif saved and saved.pending:
        st.markdown(f"Not rated yet: {saved.pending}.")
    else:
        st.markdown("Not rated yet.")

    note_key = item_key(page, item, "note")
    sync_widget(note_key, in_db[note_key])
    labels[note_key] = "Evidence note"
    st.text_area(
        labels[note_key],
        key=note_key,
        on_change=save_note,
        args=(page, item),
        placeholder="What you saw or heard that supports the rating",
        max_chars=EVIDENCE_LENGTH,
    )
    sources_key = item_key(page, item, "sources")
    sync_widget(sources_key, in_db[sources_key])
    labels[sources_key] = "Data sources used"
    options = list(dict.fromkeys([*item.data_sources, *st.session_state[sources_key]]))
    st.multiselect(
        labels[sources_key],
        options,
        key=sources_key,
        on_change=save_sources,
        args=(page, item),
        accept_new_options=True,
        placeholder="Pick or type a source",
    )
    show_feedback(item_key(page, item, "feedback"), labels)


def render() -> None:
    identity_banner()
    st.title("Rate")

    review = choose_review(statuses=("draft", "consensus"), label="Review in progress")
    if review is None:
        st.info("No review is in progress. Start one on the Reviews page.", icon=":material/info:")
        st.page_link("app_pages/reviews.py", label="Start a review", icon=":material/add:")
        st.stop()

    db = database()
    scale: Scale = db.registry.get(review.scale_id, review.scale_version)
    state = kept(rating_state, review.id)
    rater, acting = choose_rater(review, state)
    if rater is None:
        st.stop()
    if acting != actor():  # acting for the rater: only what the rater may see
        review = kept(get_review, review.id, who=acting)
    page = Rate(review, db, scale, rater, acting, state)
    show_field_copy(db, review.id, acting)  # a field copy says so; check out, export, conflicts
    ratings = review.ratings.get(rater, {})
    show_progress(page, ratings)
    item = current_item(page, scale.items, ratings)
    saved = ratings.get(item.id)
    forget_other_items(page, item)
    locked = show_submit(page, len(scale.items) - sum(1 for r in ratings.values() if r.rating is not None))

    reference, entry = st.columns([3, 2], gap="large")
    with reference:
        show_item_reference(item)
        rate_follow_up(review.id, item.id, saved.rating if saved is not None else None)
    with entry, st.container(border=True):
        if locked:
            rating = "not rated" if saved is None or saved.rating is None else saved.rating
            st.markdown(f"Submitted rating: **{rating}**")
            if saved is not None and saved.note:
                st.markdown(f"> {md(saved.note)}")
        else:
            show_entry(page, item, saved)
        if saved is not None:
            st.caption(f"Last saved by {md(saved.updated_by)} at {saved.updated_at:%Y-%m-%d %H:%M} UTC")
