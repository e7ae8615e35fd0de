"""What the Compare page draws, made once per choice of filters and shared by every session of the
server process (app_pages/page_cache.py): the comparison of the programs, its tables, charts and
the filters' choices. A rerun looks these up and draws them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa

from app_pages.charts import arrow_spec, band_distribution, item_heatmap, program_ranking
from app_pages.markup import md
from app_pages.page_cache import page_cache
from app_pages.shared import actor, final_ratings
from app_pages.views.final_read import checked, read_final
from scales import Scale, TotalMethod
from services.analytics import (
    LOW_RATING,
    AgencyOverview,
    agency_overview,
    of_scale,
    review_date_spans,
)
from services.database import Database

PICK = "program_pick"  # the ranking chart's selection parameter


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
    problems: list[str]  # reviews left out of this comparison (the integrity gate, a changed scale file)


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
    if window is None:  # the scale's part of the filters' read: no second read of the same rows
        ratings, problems = checked(of_scale(scale_choices(url, version, _db).read, scale_id), _db.registry)
    else:
        ratings, problems = final_ratings(
            url,
            version,
            _db,
            scale_id=scale_id,
            latest=1,
            evidence=False,
            reviewed_from=window[0],
            reviewed_to=window[1],
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
        problems=problems,
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
    labels: dict[str, str]  # scale id -> its label in the chooser (title and program count)
    regions: dict[str, list[str]]
    providers: dict[str, list[str]]
    spans: dict[str, tuple[dt.date, dt.date]]
    problems: list[str]
    read: pd.DataFrame  # each program's latest final review of each scale, as read (see overview_for)


@page_cache(spinner=None, max_entries=4)
def scale_choices(url: str, version: str, _db: Database) -> Choices:
    """The filters' choices, from each program's latest review of each scale, and the problems
    of the reviews left out. Shared, not copied: the page only reads it."""
    read = read_final(_db, latest=1, evidence=False)
    ratings, problems = checked(read, _db.registry)
    reviews = ratings.drop_duplicates("review_id").loc[:, ["program_id", "provider", "region", "scale_id"]]
    counts = reviews.groupby("scale_id")["program_id"].nunique().sort_values(ascending=False)
    by_scale = dict(tuple(reviews.groupby("scale_id")))
    scales = {str(s): int(n) for s, n in counts.items()}
    return Choices(
        scales=scales,
        labels={s: f"{_db.registry.get(s).title} · {n} programs" for s, n in scales.items()},
        regions={s: sorted(by_scale[s]["region"].dropna().unique()) for s in counts.index},
        providers={s: sorted(by_scale[s]["provider"].dropna().unique()) for s in counts.index},
        spans=review_date_spans(_db, actor=actor()),
        problems=problems,
        read=read,
    )


def days(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").astype(object).fillna("—")


def filter_summary(regions: tuple[str, ...], providers: tuple[str, ...], window: Any) -> str:
    def some(chosen: tuple[str, ...], noun: str) -> str:
        if not chosen:
            return f"all {noun}s"
        return md(chosen[0]) if len(chosen) == 1 else f"{len(chosen)} {noun}s"

    dates = f"reviews of {window[0]:%Y-%m-%d} to {window[1]:%Y-%m-%d}" if window else "all review dates"
    return f"{some(regions, 'region')} · {some(providers, 'provider')} · {dates}"


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
