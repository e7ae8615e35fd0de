"""Compare: every program's latest final review of one scale, side by side.

Filters (scale, region, provider, date window) choose the reviews; each program's latest
review among them is ranked against the band thresholds, counted by band, and shown item by
item, with the programs and providers below the scale's top band. Clicking a program's bar,
or choosing it below the charts, opens its Drift view. Every table downloads as CSV.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from app_pages.charts import band_distribution, item_heatmap, program_ranking
from app_pages.shared import csv_download, database, final_ratings, identity_banner
from scales import Scale, ScaleRegistry, TotalMethod
from scoring.analytics import LOW_RATING, AgencyOverview, agency_overview
from services.analytics_data import data_version

DRIFT_PAGE = "app_pages/drift.py"
PICK = "program_pick"  # the ranking chart's selection parameter
HEATMAP_PROGRAMS = 40  # more columns than this do not read: the heatmap shows the lowest-ranked ones


@st.cache_data(show_spinner=False, max_entries=32)
def overview_for(
    url: str,
    version: str,
    scale_id: str,
    regions: tuple[str, ...],
    providers: tuple[str, ...],
    window: tuple[dt.date, dt.date] | None,
    _ratings: pd.DataFrame,
    _registry: ScaleRegistry,
) -> AgencyOverview:
    return agency_overview(
        _ratings,
        _registry,
        scale_id,
        region=list(regions) or None,
        provider=list(providers) or None,
        date_from=window[0] if window else None,
        date_to=window[1] if window else None,
    )


def day(value: object) -> str:
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def open_drift(program_id: int) -> None:
    """Go to the program's drift view; the next visit here gets a fresh, unselected chart."""
    st.session_state["compare_chart_round"] = st.session_state.get("compare_chart_round", 0) + 1
    st.switch_page(DRIFT_PAGE, query_params={"program": str(program_id)})


# ---- filters ------------------------------------------------------------------------------------


def filters(
    ratings: pd.DataFrame, registry: ScaleRegistry
) -> tuple[str, tuple[str, ...], tuple[str, ...], Any]:
    programs_per_scale = ratings.groupby("scale_id")["program_id"].nunique().sort_values(ascending=False)
    scales = list(programs_per_scale.index)
    titles = {s: registry.get(s).title for s in scales}
    scale_col, region_col, provider_col, window_col = st.columns([3, 2, 3, 3])
    scale_id = scale_col.selectbox(
        "Scale",
        scales,
        format_func=lambda s: f"{titles[s]} · {programs_per_scale[s]} programs",
        key="compare_scale",
    )
    rows = ratings.loc[ratings["scale_id"] == scale_id]
    region_options = sorted(r for r in rows["region"].dropna().unique())
    provider_options = sorted(p for p in rows["provider"].dropna().unique())
    regions = region_col.multiselect(
        "Region", region_options, placeholder="All regions", key=f"compare_regions_{scale_id}"
    )
    providers = provider_col.multiselect(
        "Provider", provider_options, placeholder="All providers", key=f"compare_providers_{scale_id}"
    )
    first, last = rows["review_date"].min().date(), rows["review_date"].max().date()
    chosen = window_col.date_input(
        "Review dates",
        value=(first, last),
        min_value=first,
        max_value=last,
        key=f"compare_window_{scale_id}",
        help="Only reviews in this window count: each program's latest review in it is compared.",
    )
    window = None
    if isinstance(chosen, tuple) and len(chosen) == 2 and (chosen[0], chosen[1]) != (first, last):
        window = (chosen[0], chosen[1])
    return scale_id, tuple(regions), tuple(providers), window


# ---- sections -----------------------------------------------------------------------------------


def headline(overview: AgencyOverview, scale: Scale) -> None:
    top = scale.scoring.bands[-1].label
    programs = overview.programs
    below = overview.below_full
    weakest = overview.item_means.iloc[0] if not overview.item_means.empty else None
    a, b, c, d = st.columns(4)
    a.metric("Programs", len(programs), border=True)
    b.metric(f"In {top}", len(programs) - len(below), border=True)
    c.metric(f"Below {top}", len(below), border=True)
    if weakest is not None and pd.notna(weakest["mean"]):
        d.metric(
            "Weakest item",
            f"{weakest['item_id']} · {weakest['mean']:.2f}",
            help=f"{weakest['item_name']}: the lowest mean rating across the programs' latest reviews.",
            border=True,
        )
    if overview.note:
        st.info(overview.note, icon=":material/difference:")


def thresholds(scale: Scale) -> pd.DataFrame:
    return pd.DataFrame(
        [(b.label, b.min, b.max) for b in scale.scoring.bands], columns=["label", "min", "max"]
    )


def value_axis(scale: Scale) -> tuple[str, tuple[float, float]]:
    low, high = scale.rating.min, scale.rating.max
    if scale.scoring.method is TotalMethod.SUM:
        n = len(scale.items)
        return "Total (sum of item ratings)", (n * low, n * high)
    title = "Total mean" if scale.scoring.method is TotalMethod.MEAN_OF_ITEMS else "Mean of subscale means"
    return title, (low, high)


def ranking(overview: AgencyOverview, scale: Scale) -> None:
    value_title, value_range = value_axis(scale)
    pick = alt.selection_point(name=PICK, fields=["program_id"], on="click", clear="dblclick")
    chart = program_ranking(
        overview.programs,
        thresholds(scale),
        f"Latest {scale.id.upper()} total by program",
        value_title=value_title,
        value_range=value_range,
        precision=scale.scoring.precision,
        selection=pick,
    )
    round_ = st.session_state.get("compare_chart_round", 0)
    event = st.altair_chart(
        chart, width="stretch", on_select="rerun", selection_mode=PICK, key=f"compare_ranking_{round_}"
    )
    st.caption("Click a program's bar to open its drift view.")
    picked = (event.selection.get(PICK) if event is not None else None) or []
    if picked and picked[0].get("program_id") is not None:
        open_drift(int(picked[0]["program_id"]))
    table = overview.programs.loc[
        :, ["rank", "program", "provider", "region", "review_date", "scale_version", "rated", "items"]
    ].copy()
    table["review_date"] = table["review_date"].map(day)
    table["total mean"] = overview.programs["total_mean"].round(2)
    table["total sum"] = overview.programs["total_sum"]
    table["band"] = overview.programs["band"].fillna("no band")
    with st.expander("Ranking as a table"):
        st.dataframe(table, hide_index=True, width="stretch", key="compare_ranking_table")
    csv_download(
        overview.programs, "Download the ranking (CSV)", f"ranking-{scale.id}.csv", "compare_ranking_csv"
    )


def below_top(overview: AgencyOverview, scale: Scale) -> None:
    top = scale.scoring.bands[-1].label
    below = overview.below_full
    st.subheader(f"Below {top}")
    if below.empty:
        st.success(f"Every program's latest review is in {top}.", icon=":material/verified:")
        return
    programs = pd.DataFrame(
        {
            "program": below["program"],
            "provider": below["provider"].fillna("—"),
            "region": below["region"].fillna("—"),
            "latest review": below["review_date"].map(day),
            "total": below["banded_value"],
            "band": below["band"].fillna("no band"),
        }
    )
    everyone = overview.programs.assign(provider=overview.programs["provider"].fillna("—"))
    counts = everyone.groupby("provider")["program_id"].nunique()
    below_by = programs.groupby("provider")["program"].agg(list)
    providers = pd.DataFrame(
        {
            "provider": below_by.index,
            "below": [len(v) for v in below_by],
            "of programs": [int(counts.get(p, 0)) for p in below_by.index],
            "which": [", ".join(v) for v in below_by],
        }
    ).sort_values(["below", "provider"], ascending=[False, True])
    st.markdown(f"**Providers** with programs below {top}")
    st.dataframe(
        providers,
        hide_index=True,
        width="stretch",
        key="compare_below_providers",
        column_config={"which": st.column_config.TextColumn("programs below", width="large")},
    )
    csv_download(
        providers, "Download (CSV)", f"providers-below-top-band-{scale.id}.csv", "compare_providers_csv"
    )
    st.markdown(f"**Programs** whose latest review is below {top}")
    st.dataframe(
        programs,
        hide_index=True,
        width="stretch",
        key="compare_below_programs",
        column_config={
            "total": st.column_config.NumberColumn("total", format=f"%.{scale.scoring.precision}f")
        },
    )
    csv_download(programs, "Download (CSV)", f"below-top-band-{scale.id}.csv", "compare_below_csv")


def distribution(overview: AgencyOverview, scale: Scale) -> None:
    st.altair_chart(
        band_distribution(
            overview.distribution, f"Programs by band of their latest {scale.id.upper()} review"
        ),
        width="stretch",
        key="compare_distribution",
    )
    table = overview.distribution.assign(
        band=overview.distribution["band"].fillna("no band"), share=overview.distribution["share"].round(3)
    )
    csv_download(
        table, "Download the distribution (CSV)", f"bands-{scale.id}.csv", "compare_distribution_csv"
    )


def items(overview: AgencyOverview, scale: Scale) -> None:
    names = dict(zip(overview.programs["program_id"], overview.programs["program"], strict=True))
    matrix = overview.item_matrix.copy()
    matrix.columns = [names[c] for c in matrix.columns]
    shown = matrix if matrix.shape[1] <= HEATMAP_PROGRAMS else matrix.iloc[:, -HEATMAP_PROGRAMS:]
    item_names = dict(zip(overview.item_means["item_id"], overview.item_means["item_name"], strict=True))
    st.altair_chart(
        item_heatmap(
            shown,
            "Item ratings of each program's latest review",
            item_names=item_names,
            column_title="Program (best total first)",
            rating_range=(scale.rating.min, scale.rating.max),
        ),
        width="content",
        key="compare_item_heatmap",
    )
    if shown is not matrix:
        st.caption(
            f"The {HEATMAP_PROGRAMS} programs with the lowest totals of {matrix.shape[1]}; "
            "the download has them all."
        )
    table = matrix.rename_axis("item").reset_index()
    table.insert(1, "name", [item_names.get(i, "") for i in table["item"]])
    csv_download(
        table, "Download the item ratings (CSV)", f"items-by-program-{scale.id}.csv", "compare_items_csv"
    )
    st.markdown("**Weak spots:** items by mean rating across the programs, lowest first")
    means = overview.item_means.assign(mean=overview.item_means["mean"].round(2)).rename(
        columns={"n": "programs rated", "low": f"programs below {LOW_RATING}"}
    )
    st.dataframe(means, hide_index=True, width="stretch", key="compare_item_means")
    csv_download(
        means, "Download the item means (CSV)", f"item-means-{scale.id}.csv", "compare_item_means_csv"
    )


def drift_link(overview: AgencyOverview) -> None:
    programs = overview.programs
    ids = [int(i) for i in programs["program_id"]]
    names = dict(zip(ids, programs["program"], strict=True))
    choice, button = st.columns([4, 1], vertical_alignment="bottom")
    chosen = choice.selectbox(
        "Open a program's drift",
        ids,
        index=None,
        placeholder="Choose a program",
        format_func=lambda i: names[i],
        key="compare_open_drift",
    )
    if button.button(
        "Open drift", icon=":material/trending_down:", disabled=chosen is None, key="compare_open"
    ):
        open_drift(int(chosen))


# ---- page ---------------------------------------------------------------------------------------

identity_banner()
st.title("Compare")

db = database()
version = data_version(db)
ratings, problems = final_ratings(db.url, version, db)
for problem in problems:
    st.warning(problem, icon=":material/warning:")
if ratings.empty:
    st.info("No final reviews yet: run `fidelity demo` or finalize a review.", icon=":material/info:")
    st.page_link("app_pages/reviews.py", label="Go to Reviews", icon=":material/assignment:")
    st.stop()

scale_id, regions, providers, window = filters(ratings, db.registry)
overview = overview_for(db.url, version, scale_id, regions, providers, window, ratings, db.registry)
if overview.programs.empty:
    st.info("No final reviews of this scale match the filters.", icon=":material/filter_alt_off:")
    st.stop()
scale = db.registry.get(scale_id, overview.versions[-1])

headline(overview, scale)
ranking(overview, scale)
drift_link(overview)
st.divider()
below_top(overview, scale)
st.divider()
distribution(overview, scale)
st.divider()
st.subheader("Items")
items(overview, scale)
