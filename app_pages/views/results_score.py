"""The score of a review on the Results page: the headline figures, what is missing or calls for
an action plan, the charts and the item table."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa
import streamlit as st

from app_pages.charts import arrow_spec
from app_pages.markup import md
from app_pages.page_cache import made_of, page_cache
from scales import Scale, TotalMethod
from scales.schema import TotalBand
from services.report_data import METHOD_TEXT, computed_working
from services.reviews import ReviewView

MEAN_METHODS = {TotalMethod.MEAN_OF_ITEMS, TotalMethod.MEAN_OF_SUBSCALE_MEANS}


def number(value: float | None, places: int = 2) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def item_label(scale: Scale, item_id: str) -> str:
    return f"{item_id} {scale.item(item_id).name}" if scale.has_item(item_id) else item_id


def metrics(score: dict[str, Any], scale: Scale, live: bool) -> None:
    if live:
        st.warning(
            "**Live score — not final.** It reads the consensus ratings agreed so far and changes "
            "as the review goes on.",
            icon=":material/pending:",
        )
    total = score["total"]
    # One row of cards and one line under them, not three columns each with its caption: every
    # element and column is drawn again on each rerun of the page.
    cards = st.container(horizontal=True)
    cards.metric(
        "Total mean",
        number(total["mean"]),
        help="The mean of the rated items, rounded half-up to 2 decimal places.",
        border=True,
    )
    cards.metric("Total sum", f"{total['sum']}", help="The sum of the rated items.", border=True)
    method = TotalMethod(score["method"])
    cards.metric("Band", score["band"] or "—", help=f"The bands read {METHOD_TEXT[method]}.", border=True)
    notes = [f"{total['rated']} of {total['items']} items rated"]
    if score.get("banded_value") is not None:
        notes.append(f"the band reads {METHOD_TEXT[method]}: {score['banded_value']:g}")
    elif method is TotalMethod.SUM:
        notes.append("No band until every item is rated (the bands read the total sum).")
    st.caption(" · ".join(notes))
    unrated = total["items"] - total["rated"]
    if score["band"] and unrated:
        st.warning(
            f"{unrated} of {total['items']} items are unrated: the band reads only the rated items "
            "and may change once they are rated.",
            icon=":material/warning:",
        )
    if score.get("meets_minimum_total") is not None and scale.scoring.minimum_total is not None:
        verdict = "meets" if score["meets_minimum_total"] else "does not meet"
        st.markdown(f"The total {verdict} the required minimum of {scale.scoring.minimum_total:g}.")
    conditions(score, scale)


_VERDICT = {True: ":green[**Met**]", False: ":red[**Failed**]", None: "**Not determined**"}


def conditions(score: dict[str, Any], scale: Scale) -> None:
    """Each condition a state variant sets (item minimums, required totals), met or failed."""
    found = score.get("conditions") or []
    if not found:
        return
    whose = f" set by {md(scale.scoring.set_by)}" if scale.scoring.set_by else ""
    lines = [f"**Conditions{whose}**\n"]  # the heading and its list as one element
    for condition in found:
        label = f" ({md(condition['label'])})" if condition.get("label") else ""
        lines.append(f"- {_VERDICT[condition['met']]}: {md(condition['message'])}{label}")
    st.markdown("\n".join(lines))


def _why_unrated(review: ReviewView, item_id: str, live: bool) -> str:
    consensus = review.consensus.get(item_id)
    if consensus is not None and consensus.not_rated_reason:
        return f"not rated: {consensus.not_rated_reason}"
    if consensus is not None and consensus.pending:
        return consensus.pending
    return "no consensus rating yet" if live else "not rated"


def missing_and_action_plan(score: dict[str, Any], review: ReviewView, scale: Scale, live: bool) -> None:
    missing = score.get("missing") or []
    # The review and its score are the kept reads' objects: while they are the same, so are the
    # texts made of them last time (28 items' labels and reasons were made on every rerun).
    missing_text, plan_text = made_of(
        PLAN_TEXTS,
        (review, score, scale, live),
        lambda: (_missing_text(missing, review, scale, live), _action_plan_text(score, review, scale)),
    )
    missing_col, plan_col = st.columns(2)
    with missing_col:
        if not missing:
            st.markdown("**Items without a rating**\n\n:gray[:small[Every item is rated.]]")
        else:
            # A final review's few unrated items matter; a draft's long to-do list can stay folded.
            with st.expander(
                f"Items without a rating ({len(missing)})", expanded=not live or len(missing) <= 5
            ):
                st.markdown(missing_text)
    # The heading, its note and its items as one element each, as they read.
    plan_col.markdown(plan_text)
    below = score.get("below_minimum") or []
    if below:
        plan_col.markdown(
            "**Below the minimum rating set for the item**\n\n"
            + "\n".join(f"- {item_label(scale, i)} (minimum {scale.item(i).minimum})" for i in below)
        )


PLAN_TEXTS = "results_plan_texts"  # session state: the missing items' and action plan's texts (made_of)


def _missing_text(missing: list[str], review: ReviewView, scale: Scale, live: bool) -> str:
    """The items without a rating, each with why."""
    return "\n".join(f"- {item_label(scale, i)} — {md(_why_unrated(review, i, live))}" for i in missing)


def _action_plan_text(score: dict[str, Any], review: ReviewView, scale: Scale) -> str:
    """The action plan's heading, what the scale asks for and the items that need a plan."""
    threshold = scale.scoring.action_plan_at_or_below
    if threshold is None:
        return "**Action plan**\n\n:gray[:small[This scale sets no action-plan threshold.]]"
    if not score.get("action_plan"):
        return f"**Action plan**\n\n:gray[:small[No item is rated {threshold} or lower.]]"
    due = score.get("action_plan_due_days")
    within = f" within {due} days" if due else ""
    need = f"Items rated {threshold} or lower need an improvement plan{within}:"
    lines = [f"**Action plan**\n\n:gray[:small[{need}]]\n"]
    for item_id in score.get("action_plan") or []:
        rating = score["items"][item_id]["rating"]
        consensus = review.consensus.get(item_id)
        advice = f" — {md(consensus.recommendation)}" if consensus and consensus.recommendation else ""
        lines.append(f"- {item_label(scale, item_id)}: **{rating}**{advice}")
    return "\n".join(lines)


# ---- charts -----------------------------------------------------------------------------------


def _thresholds(scale: Scale) -> list[TotalBand]:
    """Bands the chart marks with a rule: only when the bands read a mean (on the rating axis)."""
    if scale.scoring.method not in MEAN_METHODS:
        return []
    low, high = scale.rating.min, scale.rating.max
    return [b for b in scale.scoring.bands if b.min is not None and low < b.min <= high]


def _bar_chart(
    data: pd.DataFrame,
    *,
    y: str,
    legend: bool,
    value: str,
    x_title: str,
    title: str,
    scale: Scale,
    tooltip: list[alt.Tooltip],
    label_format: str,
) -> alt.LayerChart:
    low, high = scale.rating.min, scale.rating.max
    x_axis = alt.X(
        f"{value}:Q",
        title=x_title,
        # From one step below the lowest rating, so a rating of 1 draws a bar of its own length.
        scale=alt.Scale(domain=[low - 1, high], nice=False),
        axis=alt.Axis(values=list(range(low, high + 1)), format="d"),
    )
    # No y title: under Streamlit's theme it overlaps long labels; the chart's title names the rows.
    y_axis = alt.Y(f"{y}:N", title=None, sort=None, axis=alt.Axis(labelLimit=320))
    color = alt.Color(
        "subscale:N",
        title="Subscale",
        scale=alt.Scale(scheme="set2"),
        legend=alt.Legend(orient="bottom", labelLimit=400, direction="vertical") if legend else None,
    )
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(y=y_axis, x=x_axis, x2=alt.X2(datum=low - 1), color=color, tooltip=tooltip)
    )
    labels = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, fontSize=11)
        .encode(y=y_axis, x=x_axis, text=alt.Text(f"{value}:Q", format=label_format), tooltip=tooltip)
    )
    layers: list[alt.Chart] = [bars, labels]
    bands = _thresholds(scale)
    subtitle = ""
    if bands:
        precision = scale.scoring.precision
        rules = pd.DataFrame(
            [{"threshold": b.min, "band": f"{b.label} from {b.min:.{precision}f}"} for b in bands]
        )
        layers.append(
            alt.Chart(rules)
            .mark_rule(color="#555555", strokeDash=[5, 4], strokeWidth=1.5)
            .encode(x=alt.X("threshold:Q"), tooltip=[alt.Tooltip("band:N", title="Band")])
        )
        subtitle = "Dashed lines: where the total's bands start — " + "; ".join(rules["band"])
    return (
        alt.layer(*layers)
        .properties(title=alt.TitleParams(title, subtitle=subtitle, anchor="start"), height=alt.Step(22))
        .configure_axis(labelFontSize=12, titleFontSize=12)
    )


def score_charts(score: dict[str, Any], scale: Scale) -> None:
    # The score is a kept read's object (app_pages.shared.kept): while it is the same, so are its
    # charts' specs, made last time.
    specs = made_of(CHART_SPECS, (score, scale), lambda: _specs_of(score, scale))
    if specs is None:
        st.info("Nothing to chart yet: no item has a consensus rating.", icon=":material/bar_chart:")
        return
    subscale_spec, item_spec = specs
    if subscale_spec is not None:
        st.vega_lite_chart(spec=subscale_spec, width="stretch", key="results_subscale_chart")
    st.vega_lite_chart(spec=item_spec, width="stretch", key="results_item_chart")


CHART_SPECS = "results_chart_specs"  # session state: the charts' specs (made_of)


def _specs_of(
    score: dict[str, Any], scale: Scale
) -> tuple[dict[str, object] | None, dict[str, object]] | None:
    """The subscale and item charts' specs of the score (None: nothing rated to chart)."""
    subscale_rows = [
        {
            "subscale": f"{sub_id} · {sub['name']}",
            "mean": sub["mean"],
            "rated": f"{sub['rated']} of {sub['items']}",
        }
        for sub_id, sub in score["subscales"].items()
        if sub["mean"] is not None
    ]
    subscale_of = {item_id: f"{sub.id} · {sub.name}" for sub in scale.subscales for item_id in sub.items}
    item_rows = [
        {
            "item": item_label(scale, item_id),
            "rating": entry["rating"],
            "subscale": subscale_of.get(item_id, ""),
            "source": _source_text(entry, scale, item_id),
        }
        for item_id, entry in score["items"].items()
        if entry["rating"] is not None
    ]
    if not item_rows:
        return None
    return _chart_specs(
        scale.id,
        scale.version,
        tuple(tuple(row.items()) for row in subscale_rows),
        tuple(tuple(row.items()) for row in item_rows),
        scale,
    )


@page_cache(spinner=None, max_entries=256)
def _chart_specs(
    scale_id: str,
    version: str,
    subscale_rows: tuple[tuple[tuple[str, Any], ...], ...],
    item_rows: tuple[tuple[tuple[str, Any], ...], ...],
    _scale: Scale,
) -> tuple[dict[str, object] | None, dict[str, object]]:
    """The two charts' Vega-Lite specs, made once per score drawn: Altair builds and checks a
    chart against its schema in about 40 ms, which every rerun of the Results page paid."""
    scale = _scale
    subscales = None
    if len(subscale_rows) > 1:
        subscales = arrow_spec(
            _bar_chart(
                pd.DataFrame([dict(row) for row in subscale_rows]),
                y="subscale",
                legend=False,  # the rows are the subscales
                value="mean",
                x_title="Mean rating",
                title="Subscale means",
                scale=scale,
                tooltip=[
                    alt.Tooltip("subscale:N", title="Subscale"),
                    alt.Tooltip("mean:Q", title="Mean", format=".2f"),
                    alt.Tooltip("rated:N", title="Items rated"),
                ],
                label_format=".2f",
            )
        )
    items = arrow_spec(
        _bar_chart(
            pd.DataFrame([dict(row) for row in item_rows]),
            y="item",
            legend=True,
            value="rating",
            x_title="Consensus rating",
            title="Item ratings",
            scale=scale,
            tooltip=[
                alt.Tooltip("item:N", title="Item"),
                alt.Tooltip("rating:Q", title="Rating"),
                alt.Tooltip("subscale:N", title="Subscale"),
                alt.Tooltip("source:N", title="Source"),
            ],
            label_format="d",
        )
    )
    return subscales, items


# ---- item table -------------------------------------------------------------------------------


def _source_text(entry: dict[str, Any], scale: Scale, item_id: str, unrated: str = "not rated") -> str:
    """ "rated", or "computed: 10.1053 clients per FTE (rounded to 10)": the working of the rating."""
    source = entry.get("source")
    if source == "missing" or entry.get("rating") is None:
        return unrated
    working = computed_working(entry, scale, item_id)
    if working is None:
        return str(source)
    rounded = "" if working.rounded is None else f" (rounded to {working.rounded})"
    return f"{source}: {working.value}{rounded}"


EVIDENCE_ROW = 84  # px: about four lines of evidence in the items table


ITEM_TABLE = "results_item_frame"  # session state: the items table (made_of)


def item_table(score: dict[str, Any], review: ReviewView, scale: Scale, live: bool) -> None:
    # The review and its score are the kept reads' objects (app_pages.shared.kept): while none of
    # them changed, the table made of them last time is this session's again.
    table = made_of(ITEM_TABLE, (review, score, scale, live), lambda: _item_frame(score, review, scale, live))
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="results_item_table",
        height="content",
        row_height=EVIDENCE_ROW,  # rows taller than 4rem wrap their text: the evidence is read, not cut
        placeholder="",
        column_config=ITEM_COLUMNS,
    )


ITEM_COLUMNS = {  # made once: Streamlit copies it on each use
    "id": st.column_config.TextColumn("id", width=55, pinned=True),
    "name": st.column_config.TextColumn("name", width=220),
    "rating": st.column_config.NumberColumn("rating", width=60, format="%d"),
    "source": st.column_config.TextColumn("source", width=260),
    "evidence": st.column_config.TextColumn("consensus evidence", width="large"),
    "recommendation": st.column_config.TextColumn("recommendation", width="medium"),
}


def _item_frame(score: dict[str, Any], review: ReviewView, scale: Scale, live: bool) -> pa.Table:
    rows = []
    for item_id, entry in score["items"].items():
        consensus = review.consensus.get(item_id)
        rows.append(
            {
                "id": item_id,
                "name": scale.item(item_id).name if scale.has_item(item_id) else "",
                "rating": entry["rating"],
                "source": (
                    f"override: {consensus.override_reason}"
                    if consensus is not None and consensus.override_reason and entry["rating"] is not None
                    else _source_text(entry, scale, item_id, _why_unrated(review, item_id, live))
                ),
                "evidence": (consensus.evidence if consensus else None) or "",
                "recommendation": (consensus.recommendation if consensus else None) or "",
            }
        )
    table = pd.DataFrame(rows)
    table["rating"] = table["rating"].astype("Int64")
    # Arrow once: st.dataframe converts a pandas frame again on every rerun.
    return pa.Table.from_pandas(table, preserve_index=False)
