"""Drift: how each program's fidelity changed over time, and what fell since its previous review.

The top of the page answers "which programs drift, and on which items" for the whole agency at
once; below it, one program (from ?program=ID, so Compare can link here) in detail: the band
change, the items that fell with the evidence from both reviews, the items rated low twice in
a row, its scores over time against the band thresholds, and every item rating as a heatmap.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.charts import item_heatmap, score_trend
from app_pages.shared import csv_download, database, final_ratings, identity_banner
from scales import ScaleRegistry
from scoring.analytics import LOW_RATING, DriftReport, drift, item_series, program_series
from services.analytics_data import data_version, drift_overview

PROGRAM_PARAM = "program"
SCALE_PARAM = "scale"


# ---- data: one query per change of the data, shared by every rerun and session -----------------


@st.cache_data(show_spinner=False, max_entries=4)
def agency_drift(url: str, version: str, _ratings: pd.DataFrame, _registry: ScaleRegistry) -> pd.DataFrame:
    return drift_overview(_ratings, _registry)


def day(value: object) -> str:
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def number(value: object, places: int) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):.{places}f}"


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


# ---- the agency at a glance ---------------------------------------------------------------------


def band_text(row: pd.Series) -> str:
    if row["band_direction"] is None:
        return f"{row['band'] or 'no band'} (one review)"
    if row["band_direction"] == "same":
        return f"{row['band']} (unchanged)"
    return f"{row['previous_band'] or 'no band'} → {row['band'] or 'no band'}"


def glance(overview: pd.DataFrame) -> None:
    compared = overview.loc[overview["band_direction"].notna()]
    fell = compared.loc[compared["band_direction"] == "fell"]
    with_falls = compared.loc[compared["falls"].fillna(0) > 0]
    st.subheader("Programs at a glance")
    st.caption(
        "Each program's latest final review against its previous one on the same scale. "
        f"A fall is a lower item rating; a low is a rating below {LOW_RATING} on both reviews."
    )
    a, b, c = st.columns(3)
    a.metric(
        "Programs compared",
        len(compared),
        help="Programs with at least two final reviews of a scale.",
        border=True,
    )
    b.metric("Band fell", len(fell), border=True)
    c.metric("Programs with falling items", len(with_falls), border=True)
    if not fell.empty:
        names = ", ".join(
            f"**{p}** ({s.upper()})" for p, s in zip(fell["program"], fell["scale_id"], strict=True)
        )
        st.error(f"Band fell since the previous review: {names}.", icon=":material/trending_down:")
    table = pd.DataFrame(
        {
            "program": overview["program"],
            "scale": overview["scale_id"].str.upper(),
            "band": overview.apply(band_text, axis=1),
            "falls": overview["falls"],
            "items that fell": overview["fallen_items"].fillna(""),
            f"below {LOW_RATING} twice": overview["low_items"].fillna(""),
            "previous review": overview["previous_review_date"].map(day),
            "latest review": overview["review_date"].map(day),
            "reviews": overview["reviews"],
            "provider": overview["provider"],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="drift_overview_table",
        column_config={
            "reviews": st.column_config.NumberColumn("reviews", width="small"),
            "falls": st.column_config.NumberColumn("falls", width="small"),
            "items that fell": st.column_config.TextColumn("items that fell", width="medium"),
        },
    )
    csv_download(overview, "Download the overview (CSV)", "drift-overview.csv", "drift_overview_csv")


# ---- one program --------------------------------------------------------------------------------


def choose_program(overview: pd.DataFrame) -> int:
    """The program shown: ?program=ID, else the last one chosen, else the one that drifted most."""
    names = overview.drop_duplicates("program_id").set_index("program_id")["program"]
    ids = sorted(names.index, key=lambda i: (str(names[i]).casefold(), i))
    first = overview.iloc[0]  # the overview lists the worst drift first
    marks = {}
    for pid, rows in overview.groupby("program_id"):
        if (rows["band_direction"] == "fell").any():
            marks[pid] = " — band fell"
        elif (rows["falls"].fillna(0) > 0).any():
            marks[pid] = " — items fell"
    wanted = st.query_params.get(PROGRAM_PARAM) or st.session_state.get("drift_current_program")
    try:
        wanted_id = int(wanted) if wanted is not None else int(first["program_id"])
    except ValueError:
        wanted_id = int(first["program_id"])
    if wanted_id not in ids:
        if wanted is not None:
            st.warning(
                f"No program with id {wanted} has a final review; showing another.", icon=":material/info:"
            )
        wanted_id = int(first["program_id"])
    chosen = st.selectbox(
        "Program",
        ids,
        index=ids.index(wanted_id),
        format_func=lambda i: f"{names[i]}{marks.get(i, '')}",
    )
    st.query_params[PROGRAM_PARAM] = str(chosen)
    st.session_state["drift_current_program"] = chosen
    return int(chosen)


def choose_scale(overview: pd.DataFrame, program_id: int, registry: ScaleRegistry) -> str:
    """The scale shown, when the program was reviewed on several: ?scale=, else the one it has
    the most final reviews of."""
    rows = overview.loc[overview["program_id"] == program_id]
    rows = rows.sort_values(["reviews", "review_date"], ascending=[False, False])
    scales = list(rows["scale_id"])
    if len(scales) == 1:
        st.query_params.pop(SCALE_PARAM, None)
        return scales[0]
    wanted = st.query_params.get(SCALE_PARAM)
    chosen = st.radio(
        "Scale",
        scales,
        index=scales.index(wanted) if wanted in scales else 0,
        horizontal=True,
        format_func=lambda s: (
            f"{registry.get(s).title} ({int(rows.loc[rows['scale_id'] == s, 'reviews'].iloc[0])} reviews)"
        ),
        key=f"drift_scale_{program_id}",
    )
    st.query_params[SCALE_PARAM] = chosen
    return chosen


def band_alert(report: DriftReport, precision: int) -> None:
    change = report.band_change
    if change is None:
        return
    when = f"review of {day(report.review_date)} against that of {day(report.previous_review_date)}"
    values = f"({number(change.previous_value, precision)} → {number(change.value, precision)})"
    if change.direction == "fell":
        st.error(
            f"**Band fell: {change.previous_band} → {change.band}** {values}, {when}.",
            icon=":material/trending_down:",
        )
    elif change.direction == "rose":
        st.success(
            f"**Band rose: {change.previous_band} → {change.band}** {values}, {when}.",
            icon=":material/trending_up:",
        )
    elif change.direction == "same":
        st.info(f"Band unchanged: **{change.band}** {values}, {when}.", icon=":material/trending_flat:")
    else:
        st.warning(
            f"Band change unknown: {change.previous_band or 'no band'} → {change.band or 'no band'} "
            "(a sum is banded only when every item is rated).",
            icon=":material/help:",
        )


def pair_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": frame["item_id"],
            "name": frame["item_name"],
            "before": frame["previous_rating"].astype("Int64"),
            "after": frame["rating"].astype("Int64"),
            "change": frame["change"].astype("Int64"),
            "evidence before": frame["previous_evidence"].fillna(""),
            "evidence after": frame["evidence"].fillna(""),
        }
    )


PAIR_COLUMNS = {
    "item": st.column_config.TextColumn("item", width=50, pinned=True),
    "name": st.column_config.TextColumn("name", width=170),
    "before": st.column_config.NumberColumn("before", width=55, format="%d"),
    "after": st.column_config.NumberColumn("after", width=50, format="%d"),
    "change": st.column_config.NumberColumn("change", width=60, format="%+d"),
    "evidence before": st.column_config.TextColumn("evidence before", width=300),
    "evidence after": st.column_config.TextColumn("evidence after", width=300),
}


def evidence(frame: pd.DataFrame, key: str) -> None:
    """Each item with both ratings and the evidence from both reviews, side by side."""
    for row in frame.itertuples(index=False):
        with st.container(border=True, key=f"{key}_{row.item_id}"):
            st.markdown(
                f"**{row.item_id} {row.item_name}** · {int(row.previous_rating)} → {int(row.rating)}"
                f" ({int(row.change):+d})"
            )
            before, after = st.columns(2)
            before.markdown(
                f":gray[Previous review, {day(row.previous_review_date)}]  \n{row.previous_evidence or '—'}"
            )
            after.markdown(f":gray[Latest review, {day(row.review_date)}]  \n{row.evidence or '—'}")


def alerts(report: DriftReport, program: str, registry: ScaleRegistry) -> None:
    file_stem = slug(f"{program}-{report.scale_id}")
    scale = registry.get(str(report.scale_id), report.scale_version)
    band_alert(report, scale.scoring.precision)
    if report.mixed_versions:
        st.info(report.note, icon=":material/difference:")
    falls = report.falls
    if falls.empty:
        st.success("No item rating fell since the previous review.", icon=":material/check_circle:")
    else:
        n = len(falls)
        st.markdown(
            f"**{n} item{'s' if n != 1 else ''} fell** since the previous review: "
            + ", ".join(f"{i} ({int(c):+d})" for i, c in zip(falls["item_id"], falls["change"], strict=True))
        )
        evidence(falls, "drift_fall")
        with st.expander("The falls as a table"):
            st.dataframe(
                pair_table(falls),
                hide_index=True,
                width="stretch",
                key="drift_falls",
                column_config=PAIR_COLUMNS,
            )
        csv_download(falls, "Download the falls (CSV)", f"falls-{file_stem}.csv", "drift_falls_csv")
    low = report.consecutive_low
    if not low.empty:
        st.warning(
            f"**Rated below {LOW_RATING} on both reviews:** "
            + ", ".join(f"{i} {name}" for i, name in zip(low["item_id"], low["item_name"], strict=True)),
            icon=":material/priority_high:",
        )
        evidence(low, "drift_low_item")
        with st.expander("The low items as a table"):
            st.dataframe(
                pair_table(low), hide_index=True, width="stretch", key="drift_low", column_config=PAIR_COLUMNS
            )
        csv_download(low, "Download the low items (CSV)", f"low-twice-{file_stem}.csv", "drift_low_csv")
    if not report.mixed_versions:
        st.caption(report.note)


def charts(
    ratings: pd.DataFrame, registry: ScaleRegistry, program_id: int, scale_id: str, program: str
) -> None:
    file_stem = slug(f"{program}-{scale_id}")
    series = program_series(ratings, registry, program_id, scale_id=scale_id)
    scale = registry.get(scale_id, series.versions[-1]) if series.versions else registry.get(scale_id)
    low, high = scale.rating.min, scale.rating.max
    n_items = len(scale.items)
    st.altair_chart(
        score_trend(
            series.values,
            series.thresholds,
            f"{program}: {scale.title} over time",
            total_title=series.total_measure,
            total_is_mean=series.total_is_mean,
            rating_range=(low, high),
            total_range=None if series.total_is_mean else (n_items * low, n_items * high),
            precision=scale.scoring.precision,
        ),
        width="stretch",
        key="drift_trend_chart",
    )
    if series.note:
        st.caption(series.note)
    csv_download(
        series.values, "Download the scores over time (CSV)", f"scores-{file_stem}.csv", "drift_trend_csv"
    )

    items = item_series(ratings, registry, program_id, scale_id=scale_id)
    dates = [day(d) for d in items.reviews["review_date"]]
    repeated = {d for d in dates if dates.count(d) > 1}
    labels = [
        f"{d} (#{rid})" if d in repeated else d
        for d, rid in zip(dates, items.reviews["review_id"], strict=True)
    ]
    matrix = items.matrix.copy()
    matrix.columns = labels
    st.altair_chart(
        item_heatmap(
            matrix,
            f"{program}: item ratings by review",
            item_names=dict(zip(items.items["item_id"], items.items["item_name"], strict=True)),
            column_title="Review date",
            rating_range=(low, high),
        ),
        width="content",
        key="drift_item_heatmap",
    )
    if items.note:
        st.caption(items.note)
    table = matrix.rename_axis("item").reset_index()
    table.insert(1, "name", items.items["item_name"].to_numpy())
    csv_download(table, "Download the item ratings (CSV)", f"items-{file_stem}.csv", "drift_items_csv")


def earlier_falls(report: DriftReport, program: str) -> None:
    everything = report.all_falls
    if everything.empty or len(everything) == len(report.falls):
        return
    with st.expander(
        f"Every fall between consecutive reviews ({len(everything)})", icon=":material/history:"
    ):
        table = pair_table(everything)
        table.insert(0, "review", everything["review_date"].map(day))
        table.insert(1, "previous", everything["previous_review_date"].map(day))
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            key="drift_all_falls",
            column_config=PAIR_COLUMNS,
        )
        csv_download(
            everything,
            "Download every fall (CSV)",
            f"all-falls-{slug(f'{program}-{report.scale_id}')}.csv",
            "drift_all_falls_csv",
        )


# ---- page ---------------------------------------------------------------------------------------

identity_banner()
st.title("Drift")

db = database()
version = data_version(db)
ratings, problems = final_ratings(db.url, version, db)
for problem in problems:
    st.warning(problem, icon=":material/warning:")
if ratings.empty:
    st.info("No final reviews yet: run `fidelity demo` or finalize a review.", icon=":material/info:")
    st.page_link("app_pages/reviews.py", label="Go to Reviews", icon=":material/assignment:")
    st.stop()

overview = agency_drift(db.url, version, ratings, db.registry)
glance(overview)
st.divider()

st.subheader("One program")
program_id = choose_program(overview)
scale_id = choose_scale(overview, program_id, db.registry)
row = overview.loc[(overview["program_id"] == program_id) & (overview["scale_id"] == scale_id)].iloc[0]
program = str(row["program"])
facts = {
    "Provider": row["provider"] or "—",
    "Region": row["region"] or "—",
    "Final reviews": f"{int(row['reviews'])} on {db.registry.get(scale_id).title}",
    "Latest": f"{day(row['review_date'])} · {row['band'] or 'no band'}",
}
st.markdown("  \n".join(f"**{label}:** {value}" for label, value in facts.items()))

report = drift(ratings, db.registry, program_id, scale_id=scale_id)
if report.previous_review_id is None:
    st.info("This program has one final review: drift needs two.", icon=":material/info:")
else:
    alerts(report, program, db.registry)
st.page_link(
    "app_pages/results.py",
    label="Results of the latest review",
    icon=":material/insights:",
    query_params={"review": str(int(row["review_id"]))},
)
st.divider()
charts(ratings, db.registry, program_id, scale_id, program)
if report.previous_review_id is not None:
    earlier_falls(report, program)
