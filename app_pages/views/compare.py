"""Compare: every program's latest final review of one scale, side by side.

Filters (scale, region, provider, date window) choose the reviews, and headline figures sum
them up. Tabs show each program's latest review among them ranked against the band thresholds,
the programs and providers below the scale's top band, the count by band, and item by item.
Clicking a program's bar, or choosing it by name, opens its Drift view. Every table downloads
as CSV. Only the open tab is drawn: a rerun (each click) draws one part of the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from app_pages.charts import arrow_spec, band_distribution, item_heatmap, program_ranking
from app_pages.markup import md
from app_pages.page_cache import page_cache
from app_pages.shared import actor, analytics_version, database, final_ratings, identity_banner
from app_pages.widgets import analytics_intro, csv_download, page_rows, page_start, view_tabs
from scales import Scale, ScaleRegistry, TotalMethod
from services.analytics import LOW_RATING, AgencyOverview, agency_overview, review_date_spans
from services.database import Database

DRIFT_PAGE = "app_pages/drift.py"
PICK = "program_pick"  # the ranking chart's selection parameter
PAGE = 25  # programs per page of the ranking, its table and the heatmap: what a reader takes in
LOWEST, HIGHEST = "Lowest totals first", "Highest totals first"
RANKING, BANDS, ITEMS, WEAK = "Ranking", "Bands", "Items", "Weak spots"
BELOW_PROGRAMS, BELOW_PROVIDERS = "Programs below", "Providers below"  # the scale's top band


@dataclass(frozen=True, eq=False)
class Drawn:
    """What the page draws of one comparison, made once per choice of filters (not on every
    rerun): the band chart's Vega-Lite spec, the tables as shown, the program choices."""

    headline: str  # headline_text
    distribution: dict[str, Any]
    ranking_table: pa.Table  # in rank order, a row per program (Arrow: a page is a take, not a conversion)
    below_programs: pd.DataFrame  # the downloads
    below_providers: pd.DataFrame
    below_programs_shown: pa.Table  # the same as shown
    below_providers_shown: pa.Table
    item_table: pd.DataFrame  # the item x program ratings download, every program
    item_means: pd.DataFrame
    item_means_shown: pa.Table
    names: dict[int, str]
    program_ids: np.ndarray  # in rank order


@page_cache(spinner="Comparing the programs…", max_entries=32)
def overview_for(
    url: str,
    version: str,
    scale_id: str,
    regions: tuple[str, ...],
    providers: tuple[str, ...],
    window: tuple[dt.date, dt.date] | None,
    _db: Database,
) -> tuple[AgencyOverview, Drawn | None]:
    """The comparison and what the page draws of it, for one choice of filters: from each
    program's latest final review of the scale in the window, read in one query. Cached per
    process (shared, not copied on every rerun; the page only reads it)."""
    ratings, _problems = final_ratings(
        url,
        version,
        _db,
        scale_id=scale_id,
        latest=1,
        evidence=False,
        reviewed_from=window[0] if window else None,
        reviewed_to=window[1] if window else None,
    )
    overview = agency_overview(
        ratings, _db.registry, scale_id, region=list(regions) or None, provider=list(providers) or None
    )
    if overview.programs.empty:
        return overview, None
    scale = _db.registry.get(scale_id, overview.versions[-1])
    programs = overview.programs
    ids = [int(i) for i in programs["program_id"]]
    filtered = filter_summary(regions, providers, window)
    below = below_programs(overview)
    below_by_provider = below_providers(overview, below)
    means = overview.item_means.assign(mean=overview.item_means["mean"].round(2)).rename(
        columns={"n": "programs rated", "low": f"programs below {LOW_RATING}"}
    )
    return overview, Drawn(
        headline=headline_text(overview, scale, filtered),
        distribution=arrow_spec(
            band_distribution(
                overview.distribution, f"Programs by band of their latest {scale.id.upper()} review"
            )
        ),
        ranking_table=arrow(ranking_table(programs)),
        below_programs=below,
        below_providers=below_by_provider,
        below_programs_shown=arrow(below),
        below_providers_shown=arrow(below_by_provider),
        item_table=item_table(overview),
        item_means=means,
        item_means_shown=arrow(means),
        names=dict(zip(ids, programs["program"], strict=True)),
        program_ids=np.asarray(ids),
    )


def arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


Filters = tuple[str, tuple[str, ...], tuple[str, ...], tuple[dt.date, dt.date] | None]  # see filters()


@page_cache(spinner=None, max_entries=64)
def page_chart(
    url: str,
    version: str,
    filters: Filters,
    chart: str,
    program_ids: tuple[int, ...],
    which: str,
    _overview: AgencyOverview,
    _scale: Scale,
) -> dict[str, Any]:
    """The ranking ("ranking") or the item heatmap ("items") of one page of programs as a
    Vega-Lite spec: a few dozen programs a reader can take in (not 1,000), made once per page;
    `which` of them they are goes in its title."""
    shown = _overview.programs.loc[_overview.programs["program_id"].isin(program_ids)]
    if chart == "ranking":
        return arrow_spec(ranking_chart(shown, _scale, which))
    return arrow_spec(items_chart(_overview, shown, _scale, which))


@dataclass(frozen=True, eq=False)
class Choices:
    """What the filters offer, made once per change of the data: the scales (most programs
    first) with their program counts, each scale's regions, providers and review dates."""

    scales: dict[str, int]  # scale id -> programs with a final review of it
    regions: dict[str, list[str]]
    providers: dict[str, list[str]]
    spans: dict[str, tuple[dt.date, dt.date]]
    problems: list[str]


@page_cache(spinner=None, max_entries=4)
def scale_choices(url: str, version: str, _db: Database) -> Choices:
    """The filters' choices, from each program's latest review of each scale, and the problems
    of the reviews left out. Shared, not copied: the page only reads it."""
    ratings, problems = final_ratings(url, version, _db, latest=1, evidence=False)
    reviews = ratings.drop_duplicates("review_id").loc[:, ["program_id", "provider", "region", "scale_id"]]
    counts = reviews.groupby("scale_id")["program_id"].nunique().sort_values(ascending=False)
    by_scale = dict(tuple(reviews.groupby("scale_id")))
    return Choices(
        scales={str(s): int(n) for s, n in counts.items()},
        regions={s: sorted(by_scale[s]["region"].dropna().unique()) for s in counts.index},
        providers={s: sorted(by_scale[s]["provider"].dropna().unique()) for s in counts.index},
        spans=review_date_spans(_db, actor=actor()),
        problems=problems,
    )


def days(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").astype(object).fillna("—")


def open_drift(program_id: int) -> None:
    """Go to the program's drift view; the next visit here gets a fresh, unselected chart."""
    st.session_state["compare_chart_round"] = st.session_state.get("compare_chart_round", 0) + 1
    st.switch_page(DRIFT_PAGE, query_params={"program": str(program_id)})


# ---- filters ------------------------------------------------------------------------------------


def filters(choices: Choices, registry: ScaleRegistry) -> Filters:
    """The scale, and in a popover the regions, providers and review dates: drawn when opened
    (not on every rerun), and kept per scale while it is closed."""
    counts = choices.scales
    row = st.container(horizontal=True, vertical_alignment="bottom")
    scale_id = row.selectbox(
        "Scale",
        list(counts),
        format_func=lambda s: f"{registry.get(s).title} · {counts[s]} programs",
        key="compare_scale",
        width=560,  # the longest title with its count
    )
    span = choices.spans[scale_id]
    regions, providers, window = st.session_state.get(f"compare_filters_{scale_id}", ((), (), None))
    box = row.popover("Filters", icon=":material/filter_alt:", key="compare_filters", on_change="rerun")
    if box.open:
        keep = {"on_change": keep_filters, "args": (scale_id, span)}
        box.multiselect(
            "Region",
            choices.regions[scale_id],
            default=list(regions),
            placeholder="All regions",
            key=f"compare_regions_{scale_id}",
            **keep,
        )
        box.multiselect(
            "Provider",
            choices.providers[scale_id],
            default=list(providers),
            placeholder="All providers",
            key=f"compare_providers_{scale_id}",
            **keep,
        )
        box.date_input(
            "Review dates",
            value=window or span,
            min_value=span[0],
            max_value=span[1],
            key=f"compare_window_{scale_id}",
            help="Only reviews in this window count: each program's latest review in it is compared.",
            **keep,
        )
    return scale_id, regions, providers, window


def keep_filters(scale_id: str, span: tuple[dt.date, dt.date]) -> None:
    """Keep the scale's filters beyond the popover's widgets, which are gone once it closes (a
    callback of each). A half-chosen date range counts as every date."""
    state = st.session_state
    chosen = state.get(f"compare_window_{scale_id}")
    window = None
    if isinstance(chosen, tuple | list) and len(chosen) == 2 and tuple(chosen) != span:
        window = (chosen[0], chosen[1])
    state[f"compare_filters_{scale_id}"] = (
        tuple(state.get(f"compare_regions_{scale_id}") or ()),
        tuple(state.get(f"compare_providers_{scale_id}") or ()),
        window,
    )


def filter_summary(regions: tuple[str, ...], providers: tuple[str, ...], window: Any) -> str:
    def some(chosen: tuple[str, ...], noun: str) -> str:
        if not chosen:
            return f"all {noun}s"
        return md(chosen[0]) if len(chosen) == 1 else f"{len(chosen)} {noun}s"

    dates = f"reviews of {window[0]:%Y-%m-%d} to {window[1]:%Y-%m-%d}" if window else "all review dates"
    return f"{some(regions, 'region')} · {some(providers, 'provider')} · {dates}"


# ---- sections -----------------------------------------------------------------------------------


def headline_text(overview: AgencyOverview, scale: Scale, filtered: str) -> str:
    """The comparison in one line: how many programs (and the filters that chose them), how many
    in and below the top band, and the weakest item (one Markdown element, not four metric cards
    and a caption: see README, Performance)."""
    top = md(scale.scoring.bands[-1].label)
    n, below = len(overview.programs), len(overview.below_full)
    parts = [
        f"**{n:,}** program{'s' if n != 1 else ''} ({filtered})",
        f"**{n - below:,}** in {top}",
        f"**{below:,}** below {top}",
    ]
    weakest = overview.item_means.iloc[0] if not overview.item_means.empty else None
    if weakest is not None and pd.notna(weakest["mean"]):
        parts.append(
            f"weakest item **{md(weakest['item_id'])}** {md(weakest['item_name'])} "
            f"(mean {weakest['mean']:.2f})"
        )
    return " · ".join(parts)


def headline(overview: AgencyOverview, drawn: Drawn) -> None:
    st.markdown(drawn.headline)
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


def ranking_chart(programs: pd.DataFrame, scale: Scale, which: str = "") -> alt.TopLevelMixin:
    value_title, value_range = value_axis(scale)
    pick = alt.selection_point(name=PICK, fields=["program_id"], on="click", clear="dblclick")
    return program_ranking(
        programs,
        thresholds(scale),
        f"Latest {scale.id.upper()} total by program" + (f", {which}" if which else ""),
        value_title=value_title,
        value_range=value_range,
        precision=scale.scoring.precision,
        selection=pick,
    )


def ranking_table(programs: pd.DataFrame) -> pd.DataFrame:
    table = programs.loc[
        :, ["rank", "program", "provider", "region", "review_date", "scale_version", "rated", "items"]
    ].copy()
    table["review_date"] = days(table["review_date"])
    table["total mean"] = programs["total_mean"].round(2)
    table["total sum"] = programs["total_sum"]
    table["band"] = programs["band"].fillna("no band")
    return table


def programs_shown(drawn: Drawn, key: str) -> tuple[np.ndarray, str]:
    """The rank positions of the page of programs a chart and its table show, and which they are
    in words for the chart's title ("" when all fit): the lowest totals first by default (the
    ones to act on), a page at a time; the downloads have them all. The Ranking and Items tabs
    each keep their own order and page (`key`)."""
    programs = len(drawn.program_ids)
    if programs <= PAGE:
        return np.arange(programs), ""
    order = st.radio("Order", [LOWEST, HIGHEST], horizontal=True, key=f"{key}_order")
    start = page_start(programs, PAGE, f"{key}_page", "programs", caption=False)  # the title says it
    shown = np.arange(start, min(start + PAGE, programs))
    if order == LOWEST:
        shown = (programs - 1 - shown)[::-1]  # from the end
    return shown, f"ranks {shown.min() + 1:,}–{shown.max() + 1:,} of {programs:,}"


def ranking(
    overview: AgencyOverview, scale: Scale, drawn: Drawn, url: str, version: str, filters: Filters
) -> None:
    shown, which = programs_shown(drawn, "compare")
    ids = tuple(drawn.program_ids[shown].tolist())
    spec = page_chart(url, version, filters, "ranking", ids, which, overview, scale)
    round_ = st.session_state.get("compare_chart_round", 0)
    event = st.vega_lite_chart(
        spec=spec, width="stretch", on_select="rerun", selection_mode=PICK, key=f"compare_ranking_{round_}"
    )
    picked = (event.selection.get(PICK) if event is not None else None) or []
    if picked and picked[0].get("program_id") is not None:
        open_drift(int(picked[0]["program_id"]))
    table = st.expander("Ranking as a table", key="compare_ranking_expander", on_change="rerun")
    if table.open:  # drawn only when open
        table.dataframe(
            drawn.ranking_table.take(shown),
            hide_index=True,
            width="stretch",
            key="compare_ranking_table",
        )
    csv_download(
        overview.programs, "Download the ranking (CSV)", f"ranking-{scale.id}.csv", "compare_ranking_csv"
    )
    drift_link(drawn)


def below_programs(overview: AgencyOverview) -> pd.DataFrame:
    below = overview.below_full
    return pd.DataFrame(
        {
            "program": below["program"],
            "provider": below["provider"].fillna("—"),
            "region": below["region"].fillna("—"),
            "latest review": days(below["review_date"]),
            "total": below["banded_value"],
            "band": below["band"].fillna("no band"),
        }
    )


def below_providers(overview: AgencyOverview, programs: pd.DataFrame) -> pd.DataFrame:
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
    return providers.reset_index(drop=True)


def all_in_top(overview: AgencyOverview, scale: Scale) -> bool:
    if overview.below_full.empty:
        top = scale.scoring.bands[-1].label
        st.success(f"Every program's latest review is in {top}.", icon=":material/verified:")
        return True
    return False


def programs_below(overview: AgencyOverview, scale: Scale, drawn: Drawn) -> None:
    if all_in_top(overview, scale):
        return
    top = scale.scoring.bands[-1].label
    st.markdown(f"**Programs whose latest review is below {top}**, the best total first.")
    st.dataframe(
        page_rows(drawn.below_programs_shown, PAGE, "compare_below_page", "programs"),
        hide_index=True,
        width="stretch",
        key="compare_below_programs",
        column_config={
            "total": st.column_config.NumberColumn("total", format=f"%.{scale.scoring.precision}f")
        },
    )
    csv_download(
        drawn.below_programs, "Download (CSV)", f"below-top-band-{scale.id}.csv", "compare_below_csv"
    )


def providers_below(overview: AgencyOverview, scale: Scale, drawn: Drawn) -> None:
    if all_in_top(overview, scale):
        return
    top = scale.scoring.bands[-1].label
    st.markdown(f"**Providers with programs below {top}**, the most first.")
    st.dataframe(
        page_rows(drawn.below_providers_shown, PAGE, "compare_providers_page", "providers"),
        hide_index=True,
        width="stretch",
        key="compare_below_providers",
        column_config={"which": st.column_config.TextColumn("programs below", width="large")},
    )
    csv_download(
        drawn.below_providers,
        "Download (CSV)",
        f"providers-below-top-band-{scale.id}.csv",
        "compare_providers_csv",
    )


def distribution(overview: AgencyOverview, scale: Scale, spec: dict[str, Any]) -> None:
    st.vega_lite_chart(spec=spec, width="stretch", key="compare_distribution")  # a bar per band
    table = overview.distribution.assign(
        band=overview.distribution["band"].fillna("no band"), share=overview.distribution["share"].round(3)
    )
    csv_download(
        table, "Download the distribution (CSV)", f"bands-{scale.id}.csv", "compare_distribution_csv"
    )


def item_matrix(overview: AgencyOverview, programs: pd.DataFrame) -> pd.DataFrame:
    """The item x program matrix of these programs (in rank order), by program name."""
    matrix = overview.item_matrix.loc[:, list(programs["program_id"])].copy()
    matrix.columns = list(programs["program"])
    return matrix


def item_names(overview: AgencyOverview) -> dict[str, str]:
    return dict(zip(overview.item_means["item_id"], overview.item_means["item_name"], strict=True))


def item_table(overview: AgencyOverview) -> pd.DataFrame:
    names = item_names(overview)
    table = item_matrix(overview, overview.programs).rename_axis("item").reset_index()
    table.insert(1, "name", [names.get(i, "") for i in table["item"]])
    return table


def items_chart(
    overview: AgencyOverview, programs: pd.DataFrame, scale: Scale, which: str = ""
) -> alt.TopLevelMixin:
    return item_heatmap(
        item_matrix(overview, programs),
        "Item ratings of each program's latest review" + (f", {which}" if which else ""),
        item_names=item_names(overview),
        column_title="Program (best total first)",
        rating_range=(scale.rating.min, scale.rating.max),
    )


def items(
    overview: AgencyOverview, scale: Scale, drawn: Drawn, url: str, version: str, filters: Filters
) -> None:
    shown, which = programs_shown(drawn, "compare_items")
    ids = tuple(drawn.program_ids[shown].tolist())
    spec = page_chart(url, version, filters, "items", ids, which, overview, scale)
    st.vega_lite_chart(spec=spec, width="content", key="compare_item_heatmap")
    csv_download(
        drawn.item_table,
        "Download the item ratings (CSV)",
        f"items-by-program-{scale.id}.csv",
        "compare_items_csv",
        help=f"Every program's item ratings, all {len(overview.programs):,} of them.",
    )


def weak_spots(scale: Scale, drawn: Drawn) -> None:
    st.markdown("Items by mean rating across the programs' latest reviews, lowest first.")
    st.dataframe(drawn.item_means_shown, hide_index=True, width="stretch", key="compare_item_means")
    csv_download(
        drawn.item_means,
        "Download the item means (CSV)",
        f"item-means-{scale.id}.csv",
        "compare_item_means_csv",
    )


def drift_link(drawn: Drawn) -> None:
    """Any program's drift, by name, in a popover: its 1,000 names are drawn when it is opened,
    not on every rerun. Choosing one opens it."""
    box = st.popover(
        "Open a program's drift", icon=":material/trending_down:", key="compare_open", on_change="rerun"
    )
    if not box.open:
        return
    names = drawn.names
    chosen = box.selectbox(
        "Program",
        list(names),
        index=None,
        placeholder="Type a program's name",
        format_func=names.__getitem__,
        key="compare_open_drift",
    )
    if chosen is not None:
        open_drift(int(chosen))


# ---- page ---------------------------------------------------------------------------------------


def render() -> None:
    """Draw the Compare page (one run of it): the filters, the headline and the open tab."""
    identity_banner()
    st.title("Compare")

    db = database()
    version = analytics_version(db)  # the data's fingerprint and the viewer's scope
    choices = scale_choices(db.url, version, db)
    analytics_intro(choices.problems, empty=not choices.scales)

    chosen = filters(choices, db.registry)
    overview, drawn = overview_for(db.url, version, *chosen, db)
    if drawn is None:
        st.info("No final reviews of this scale match the filters.", icon=":material/filter_alt_off:")
        st.stop()
    scale = db.registry.get(chosen[0], overview.versions[-1])

    headline(overview, drawn)
    views = {
        RANKING: lambda: ranking(overview, scale, drawn, db.url, version, chosen),
        BELOW_PROGRAMS: lambda: programs_below(overview, scale, drawn),
        BELOW_PROVIDERS: lambda: providers_below(overview, scale, drawn),
        BANDS: lambda: distribution(overview, scale, drawn.distribution),
        ITEMS: lambda: items(overview, scale, drawn, db.url, version, chosen),
        WEAK: lambda: weak_spots(scale, drawn),
    }
    tabs = view_tabs(list(views), "compare_view")
    for tab, draw in zip(tabs, views.values(), strict=True):
        if tab.open:
            with tab:
                draw()
