"""Results: a review's score, band, item ratings with their evidence, charts, export, amending."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.markup import md
from app_pages.shared import actor, allowed, choose_review, database, identity_banner, show_error
from scales import Scale, TotalMethod
from scales.schema import TotalBand
from services.access import Action, Role
from services.errors import FidelityError
from services.report_data import METHOD_TEXT, computed_working, safe_filename, stored_review_pdf
from services.reviews import ReviewView, amend, audit_trail, count_reviews, live_score, review_json
from services.users import review_reviewers

MEAN_METHODS = {TotalMethod.MEAN_OF_ITEMS, TotalMethod.MEAN_OF_SUBSCALE_MEANS}
AMEND_REASON = "results_amend_reason"


def _when(at: dt.datetime | None) -> str:
    return "" if at is None else f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _number(value: float | None, places: int = 2) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def _item_label(scale: Scale, item_id: str) -> str:
    return f"{item_id} {scale.item(item_id).name}" if scale.has_item(item_id) else item_id


def _score_of(review: ReviewView) -> tuple[dict[str, Any], bool]:
    """The score as finalized (a final review keeps the score it was given), else the live one."""
    if review.is_final and review.final_score is not None:
        return review.final_score, False
    return live_score(database(), review.id, actor=actor()).to_dict(), True


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


# ---- score ------------------------------------------------------------------------------------


def _metrics(score: dict[str, Any], scale: Scale, live: bool) -> None:
    if live:
        st.warning(
            "**Live score — not final.** It reads the consensus ratings agreed so far and changes "
            "as the review goes on.",
            icon=":material/pending:",
        )
    total = score["total"]
    mean_col, sum_col, band_col = st.columns([1, 1, 2])
    mean_col.metric(
        "Total mean",
        _number(total["mean"]),
        help="The mean of the rated items, rounded half-up to 2 decimal places.",
        border=True,
    )
    sum_col.metric(
        "Total sum",
        f"{total['sum']}",
        help="The sum of the rated items.",
        border=True,
    )
    sum_col.caption(f"{total['rated']} of {total['items']} items rated")
    method = TotalMethod(score["method"])
    band_help = f"The bands read {METHOD_TEXT[method]}."
    band_col.metric("Band", score["band"] or "—", help=band_help, border=True)
    if score.get("banded_value") is not None:
        band_col.caption(f"From {METHOD_TEXT[method]}: {score['banded_value']:g}")
    elif method is TotalMethod.SUM:
        band_col.caption("No band until every item is rated (the bands read the total sum).")
    if score.get("meets_minimum_total") is not None and scale.scoring.minimum_total is not None:
        verdict = "meets" if score["meets_minimum_total"] else "does not meet"
        st.markdown(f"The total {verdict} the required minimum of {scale.scoring.minimum_total:g}.")


def _why_unrated(review: ReviewView, item_id: str, live: bool) -> str:
    consensus = review.consensus.get(item_id)
    if consensus is not None and consensus.not_rated_reason:
        return f"not rated: {consensus.not_rated_reason}"
    if consensus is not None and consensus.pending:
        return consensus.pending
    return "no consensus rating yet" if live else "not rated"


def _missing_and_action_plan(score: dict[str, Any], review: ReviewView, scale: Scale, live: bool) -> None:
    missing_col, plan_col = st.columns(2)
    with missing_col:
        missing = score.get("missing") or []
        if not missing:
            st.markdown("**Items without a rating**")
            st.caption("Every item is rated.")
        else:
            # A final review's few unrated items matter; a draft's long to-do list can stay folded.
            with st.expander(
                f"Items without a rating ({len(missing)})", expanded=not live or len(missing) <= 5
            ):
                st.markdown(
                    "\n".join(
                        f"- {_item_label(scale, i)} — {md(_why_unrated(review, i, live))}" for i in missing
                    )
                )
    with plan_col:
        threshold = scale.scoring.action_plan_at_or_below
        st.markdown("**Action plan**")
        if threshold is None:
            st.caption("This scale sets no action-plan threshold.")
        elif not score.get("action_plan"):
            st.caption(f"No item is rated {threshold} or lower.")
        else:
            st.caption(f"Items rated {threshold} or lower need an improvement plan:")
            for item_id in score.get("action_plan") or []:
                rating = score["items"][item_id]["rating"]
                consensus = review.consensus.get(item_id)
                advice = (
                    f" — {md(consensus.recommendation)}" if consensus and consensus.recommendation else ""
                )
                st.markdown(f"- {_item_label(scale, item_id)}: **{rating}**{advice}")
        below = score.get("below_minimum") or []
        if below:
            st.markdown("**Below the minimum rating set for the item**")
            for item_id in below:
                st.markdown(f"- {_item_label(scale, item_id)} (minimum {scale.item(item_id).minimum})")


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
        scale=alt.Scale(domain=[low, high], nice=False),
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
        .encode(y=y_axis, x=x_axis, x2=alt.X2(datum=low), color=color, tooltip=tooltip)
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


def _charts(score: dict[str, Any], scale: Scale) -> None:
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
            "item": _item_label(scale, item_id),
            "rating": entry["rating"],
            "subscale": subscale_of.get(item_id, ""),
            "source": _source_text(entry, scale, item_id),
        }
        for item_id, entry in score["items"].items()
        if entry["rating"] is not None
    ]
    if not item_rows:
        st.info("Nothing to chart yet: no item has a consensus rating.", icon=":material/bar_chart:")
        return
    if len(subscale_rows) > 1:
        st.altair_chart(
            _bar_chart(
                pd.DataFrame(subscale_rows),
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
            ),
            width="stretch",
            key="results_subscale_chart",
        )
    st.altair_chart(
        _bar_chart(
            pd.DataFrame(item_rows),
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
        ),
        width="stretch",
        key="results_item_chart",
    )


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


def _item_table(score: dict[str, Any], review: ReviewView, scale: Scale, live: bool) -> None:
    rows = []
    for item_id, entry in score["items"].items():
        consensus = review.consensus.get(item_id)
        rows.append(
            {
                "id": item_id,
                "name": scale.item(item_id).name if scale.has_item(item_id) else "",
                "rating": entry["rating"],
                "source": _source_text(entry, scale, item_id, _why_unrated(review, item_id, live)),
                "evidence": (consensus.evidence if consensus else None) or "",
                "recommendation": (consensus.recommendation if consensus else None) or "",
            }
        )
    table = pd.DataFrame(rows)
    table["rating"] = table["rating"].astype("Int64")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="results_item_table",
        height="content",
        placeholder="",
        column_config={
            "id": st.column_config.TextColumn("id", width=55, pinned=True),
            "name": st.column_config.TextColumn("name", width=220),
            "rating": st.column_config.NumberColumn("rating", width=60, format="%d"),
            "source": st.column_config.TextColumn("source", width=260),
            "evidence": st.column_config.TextColumn("consensus evidence", width="medium"),
            "recommendation": st.column_config.TextColumn("recommendation", width="medium"),
        },
    )


def _review_texts(review: ReviewView) -> None:
    texts = {
        "Strengths": review.strengths,
        "Summary": review.summary,
        "Recommendations": review.recommendations,
    }
    if not any(texts.values()):
        return
    st.subheader("Review summary")
    for heading, text in texts.items():
        if text:
            st.markdown(f"**{heading}**")
            st.markdown(md(text))


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
    return me.role != Role.REVIEWER or me.email in review_reviewers(database(), review.id, actor=me)


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
    with st.expander("History of changes"):
        try:
            records = audit_trail(database(), review.id, actor=actor())
        except FidelityError as exc:
            show_error(exc)
            return
        if not records:
            st.caption("No changes recorded.")
            return

        def text(value: Any) -> str:
            if value is None or isinstance(value, str):
                return value or ""
            return json.dumps(value, default=str)

        st.dataframe(
            pd.DataFrame(
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
            ),
            hide_index=True,
            width="stretch",
            key="results_history",
        )


# ---- page -------------------------------------------------------------------------------------

identity_banner()
st.title("Results")

review = choose_review()
if review is None:
    if not count_reviews(database(), actor=actor()):  # else choose_review has shown why it cannot open
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
_metrics(score, scale, live)
_missing_and_action_plan(score, review, scale, live)
if not review.is_final and allowed(Action.EDIT_REVIEW):
    rate_col, consensus_col = st.columns(2)
    with rate_col:
        st.page_link(
            "app_pages/rate.py",
            label="Go on rating on the Rate page",
            icon=":material/edit_note:",
            query_params={"review": str(review.id)},
        )
    with consensus_col:
        st.page_link(
            "app_pages/consensus.py",
            label="Agree the ratings on the Consensus page",
            icon=":material/handshake:",
            query_params={"review": str(review.id)},
        )
st.divider()
_charts(score, scale)
st.subheader("Items")
_item_table(score, review, scale, live)
_review_texts(review)
st.divider()
_download(review)
_amend_section(review)
_history(review)
