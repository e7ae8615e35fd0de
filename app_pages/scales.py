"""Browse every scale version: items, definitions, data sources, anchors and scoring rules; and,
for agency admins, author, import and publish scales (app_pages/scale_authoring.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.scale_authoring import render_authoring
from app_pages.shared import allowed, database, identity_banner
from scales import Item, Scale
from scales.schema import Compute, Interval
from services.access import Action


def band_text(band: Interval, precision: int) -> str:
    fmt = f"{{:.{precision}f}}"
    if band.min is None and band.max is not None:
        return f"≤ {fmt.format(band.max)}"
    if band.max is None and band.min is not None:
        return f"≥ {fmt.format(band.min)}"
    return f"{fmt.format(band.min)} – {fmt.format(band.max)}"


def show_compute(compute: Compute) -> None:
    inputs = pd.DataFrame(
        [
            {
                "input": i.name,
                "label": i.label,
                "unit": i.unit,
                "min": i.min,
                "max": i.max,
                "whole number": i.integer,
            }
            for i in compute.inputs
        ]
    )
    value = compute.value
    formula = value.numerator
    if value.denominator:
        formula = f"{value.numerator} / {value.denominator}"
    if value.per != 1:
        formula = f"{formula} × {value.per:g}"
    st.markdown(
        f"**Computed:** {formula} = {compute.unit}, rounded half-up to "
        f"{compute.precision} decimal place(s), then rated:"
    )
    bands = " · ".join(
        f"{band_text(b, compute.precision)} → **{b.rating}**"  # type: ignore[attr-defined]
        for b in compute.bands
    )
    st.markdown(bands)
    if compute.decides:
        st.caption(f"The inputs only decide between ratings {' and '.join(map(str, compute.decides))}.")
    st.dataframe(inputs, hide_index=True, width="stretch")
    if compute.note:
        st.caption(compute.note)


def show_origin(scale: Scale) -> None:
    """Where the scale comes from, its licence, what it derives from and what is unverified."""
    st.markdown(f"**Source:** {scale.source}")
    if scale.licence:
        st.markdown(f"**Licence:** {scale.licence}")
    if scale.derived_from:
        st.markdown(f"**Derived from** {scale.derived_from}: only its changes are listed in the file.")
    if scale.unverified_items:
        st.warning(
            f"Not verified against a published source: {', '.join(scale.unverified_items)}. "
            "Each item's provenance says what was checked.",
            icon=":material/help:",
        )
    if scale.notes:
        with st.expander("Notes on this version"):
            st.markdown(scale.notes)


def show_requirements(scale: Scale) -> None:
    """What a state variant requires: its conditions on the total and its action plan."""
    scoring = scale.scoring
    lines = [
        f"- {c.measure.value.replace('_', ' ')} at least {c.at_least:g}"
        + (f" ({c.label})" if c.label else "")
        for c in scoring.conditions
    ]
    if scoring.action_plan_at_or_below is not None:
        due = f", within {scoring.action_plan_due_days} days" if scoring.action_plan_due_days else ""
        lines.append(f"- an action plan for every item rated {scoring.action_plan_at_or_below} or lower{due}")
    if lines:
        whose = f" ({scoring.set_by})" if scoring.set_by else ""
        st.markdown(f"**Requirements{whose}:**\n" + "\n".join(lines))


def show_scale(scale: Scale) -> None:
    st.title(scale.title)
    st.caption(f"{scale.id} version {scale.version} · {len(scale.items)} items · {scale.content_hash[:19]}…")
    show_origin(scale)
    scoring = scale.scoring
    st.subheader("Scoring")
    method = {
        "mean_of_items": "the mean of the rated items",
        "mean_of_subscale_means": "the mean of the subscale means",
        "sum": "the sum of all item ratings (only when every item is rated)",
    }[scoring.method.value]
    st.markdown(f"The interpretation bands read {method}:")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "band": b.label,
                    "range": band_text(b, scoring.precision),
                    "description": b.description or "",
                }
                for b in reversed(scoring.bands)
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    for note in (scoring.rounding_note, scoring.missing_items_note):
        if note:
            st.caption(note)
    show_requirements(scale)

    for sub in scale.subscales:
        st.subheader(f"{sub.id} · {sub.name}")
        for item_id in sub.items:
            show_item(scale.item(item_id))


def show_item(item: Item) -> None:
    kind = "computed" if item.compute and not item.compute.decides else "judged"
    with st.expander(f"{item.id} {item.name} ({kind})"):
        if item.published_id and item.published_id != item.id:
            st.caption(f"Published as item {item.published_id}")
        st.markdown(item.definition)
        if item.data_sources:
            st.markdown("**Data sources:** " + "; ".join(item.data_sources))
        st.dataframe(
            pd.DataFrame([{"rating": r, "anchor": text} for r, text in sorted(item.anchors.items())]),
            hide_index=True,
            width="stretch",
        )
        if item.decision_rules:
            st.markdown(f"**Decision rules:** {item.decision_rules}")
        if item.compute:
            show_compute(item.compute)
        if item.minimum is not None:
            st.markdown(f"**Minimum acceptable rating:** {item.minimum}")
        if item.provenance:
            where = f" — {item.provenance.source}" if item.provenance.source else ""
            note = f" {item.provenance.note}" if item.provenance.note else ""
            status = item.provenance.status.value.replace("_", " ")
            st.caption(f"Provenance: {status}{where}.{note}")


BROWSE, AUTHOR = "Browse", "Author and publish"


def render() -> None:
    identity_banner()
    if allowed(Action.AUTHOR_SCALES):
        mode = st.radio("Mode", [BROWSE, AUTHOR], horizontal=True, key="scales_mode")
        if mode == AUTHOR:
            render_authoring(show_scale)
            return
    db = database()
    db.refresh_published()  # a version published in another window or by the CLI
    registry = db.registry
    scales = registry.all()
    if registry.problems:
        with st.expander(f"{len(registry.problems)} scale file problem(s): those files were not loaded"):
            for problem in registry.problems:
                st.text(str(problem))
    if not scales:
        st.info("No scales are loaded. Bundled scales live in scales/<id>/<version>.yaml.")
        st.stop()

    st.sidebar.markdown("### Scales")
    labels = {s.key: f"{s.title} — {s.version}" for s in scales}
    choice = st.sidebar.radio(
        "Scale", list(labels), format_func=labels.__getitem__, key="scale_browser_choice"
    )
    st.sidebar.dataframe(
        pd.DataFrame([{"scale": s.id, "version": s.version, "items": len(s.items)} for s in scales]),
        hide_index=True,
    )
    shown = next(s for s in scales if s.key == choice)
    if registry.paths.get((shown.id, shown.version), "").startswith("database"):
        st.sidebar.caption(f"{shown.key}: {registry.paths[(shown.id, shown.version)]}")
    show_scale(shown)


if __name__ == "__main__":  # run as the page's script by st.navigation (app_pages/navigation.py)
    render()
