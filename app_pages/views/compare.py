"""Compare: every program's latest final review of one scale, side by side.

Filters (scale, region, provider, date window) choose the reviews, and headline figures sum
them up. Tabs show each program's latest review among them ranked against the band thresholds,
the programs and providers below the scale's top band, the count by band, and item by item.
Clicking a program's bar, or choosing it by name, opens its Drift view. Every table downloads
as CSV. Only the open tab is drawn: a rerun (each click) draws one part of the page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from app_pages.item_links import show_item_links
from app_pages.shared import analytics_version, database, identity_banner
from app_pages.views.compare_data import (
    PICK,
    Choices,
    Drawn,
    Filters,
    overview_for,
    page_chart,
    scale_choices,
)
from app_pages.widgets import analytics_intro, csv_download, page_rows, view_switch
from scales import Scale
from services.analytics import AgencyOverview

DRIFT_PAGE = "app_pages/drift.py"
PAGE = 25  # programs per page of the ranking, its table and the heatmap: what a reader takes in
LOWEST, HIGHEST = "Lowest totals first", "Highest totals first"
RANKING, BANDS, ITEMS, WEAK = "Ranking", "Bands", "Items", "Weak spots"
BELOW_PROGRAMS, BELOW_PROVIDERS = "Programs below", "Providers below"  # the scale's top band


def open_drift(program_id: int) -> None:
    """Go to the program's drift view; the next visit here gets a fresh, unselected chart."""
    st.session_state["compare_chart_round"] = st.session_state.get("compare_chart_round", 0) + 1
    st.switch_page(DRIFT_PAGE, query_params={"program": str(program_id)})


# ---- filters ------------------------------------------------------------------------------------


def filters(choices: Choices) -> Filters:
    """The scale, and in a popover the regions, providers and review dates: drawn when opened
    (not on every rerun), and kept per scale while it is closed."""
    row = st.container(horizontal=True, vertical_alignment="bottom")
    scale_id = row.selectbox(
        "Scale",
        list(choices.scales),
        format_func=choices.labels.__getitem__,  # made with the choices, not on every rerun
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


# ---- sections -----------------------------------------------------------------------------------


def headline(overview: AgencyOverview, drawn: Drawn) -> None:
    st.markdown(drawn.headline)
    if overview.note:
        st.info(overview.note, icon=":material/difference:")


def programs_shown(drawn: Drawn, key: str) -> tuple[np.ndarray, str]:
    """The rank positions of the page of programs a chart and its table show, and which they are
    in words for the chart's title ("" when all fit): the lowest totals first by default (the
    ones to act on), a page at a time; the downloads have them all. The Ranking and Items tabs
    each keep their own order and page (`key`).

    The order and the page number are in a popover labelled with the ranks shown, drawn only
    while it is open (two widgets on every rerun otherwise), and kept while it is closed; new
    filters (another count of programs) start again on the first page."""
    programs = len(drawn.program_ids)
    if programs <= PAGE:
        return np.arange(programs), ""
    pages = -(-programs // PAGE)
    order, page = st.session_state.get(_shown_key(key, programs), (LOWEST, 1))
    page = min(max(int(page), 1), pages)
    start = (page - 1) * PAGE
    shown = np.arange(start, min(start + PAGE, programs))
    if order == LOWEST:
        shown = (programs - 1 - shown)[::-1]  # from the end
    which = f"ranks {shown.min() + 1:,}–{shown.max() + 1:,} of {programs:,}"
    label = f"{which.capitalize()}, {order.lower()}"
    box = st.popover(label, icon=":material/format_list_numbered:", key=f"{key}_shown", on_change="rerun")
    if box.open:
        keep = {"on_change": _keep_shown, "args": (key, programs)}
        # A segmented control, not a radio: the same two choices in a row, for half a radio's cost.
        box.segmented_control(
            "Order", [LOWEST, HIGHEST], default=order, required=True, key=f"{key}_order", **keep
        )
        box.number_input(
            f"Page (of {pages})",
            min_value=1,
            max_value=pages,
            value=page,
            step=1,
            key=f"{key}_page_{programs}",
            width=160,
            **keep,
        )
    return shown, which


def _keep_shown(key: str, programs: int) -> None:
    """Keep the order and page beyond the popover's widgets, which are gone once it closes (a
    callback of each)."""
    state = st.session_state
    order, page = state.get(_shown_key(key, programs), (LOWEST, 1))
    state[_shown_key(key, programs)] = (
        state.get(f"{key}_order", order) or order,
        state.get(f"{key}_page_{programs}", page) or page,
    )


def _shown_key(key: str, programs: int) -> str:
    """Where the order and page are kept: per count of programs, so new filters start on page 1."""
    return f"{key}_shown_{programs}"


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
    csv_download(
        lambda: distribution_table(overview.distribution),  # made when clicked, not on each rerun
        "Download the distribution (CSV)",
        f"bands-{scale.id}.csv",
        "compare_distribution_csv",
    )


def distribution_table(distribution: pd.DataFrame) -> pd.DataFrame:
    """The distribution as its download has it: "no band" named, shares to three places."""
    return distribution.assign(
        band=distribution["band"].fillna("no band"), share=distribution["share"].round(3)
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

    chosen = filters(choices)
    overview, drawn = overview_for(db.url, version, *chosen, db)
    if drawn is None:
        st.info("No final reviews of this scale match the filters.", icon=":material/filter_alt_off:")
        st.stop()
    scale = db.registry.get(chosen[0], overview.versions[-1])
    for problem in drawn.problems:  # left out of this comparison, if not said above
        if problem not in choices.problems:
            st.warning(problem, icon=":material/warning:")

    headline(overview, drawn)
    show_item_links([scale], db.registry)  # items matched across versions although their ids differ
    views = {
        RANKING: lambda: ranking(overview, scale, drawn, db.url, version, chosen),
        BELOW_PROGRAMS: lambda: programs_below(overview, scale, drawn),
        BELOW_PROVIDERS: lambda: providers_below(overview, scale, drawn),
        BANDS: lambda: distribution(overview, scale, drawn.distribution),
        ITEMS: lambda: items(overview, scale, drawn, db.url, version, chosen),
        WEAK: lambda: weak_spots(scale, drawn),
    }
    views[view_switch(list(views), "compare_view")]()  # only the open view is drawn
