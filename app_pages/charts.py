"""Altair charts of the analytics results, for the Drift and Compare pages.

Pure functions: DataFrames in, an Altair chart out, no Streamlit here. (The PDF report draws
its own charts with fpdf2: reports/drawing.py.) Every chart has a title, axis titles and
tooltips; colours are colour-blind safe (Okabe-Ito for categories, viridis for ratings) and
every colour is doubled by a label, a dash pattern or a position, so charts also read in
black and white.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import altair as alt
import pandas as pd

WIDTH: Final = 640
"""Default chart width in pixels: fits an A4 page at scale 2 and a wide Streamlit column."""

OKABE_ITO: Final = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
TOTAL_COLOR: Final = "#222222"
MISSING_COLOR: Final = "#e4e4e4"
RATING_COLORS: Final = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
"""Viridis in five steps (dark purple = 1 ... yellow = 5): colour-blind safe, and darker means lower
in black and white too."""
_DASHES: Final = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3])
_BAND_COLORS: Final = {  # lowest band first; a scale's top band is always blue
    1: ("#0072B2",),
    2: ("#D55E00", "#0072B2"),
    3: ("#D55E00", "#E69F00", "#0072B2"),
    4: ("#D55E00", "#E69F00", "#56B4E9", "#0072B2"),
    5: ("#D55E00", "#E69F00", "#F0E442", "#56B4E9", "#0072B2"),
}
NO_BAND: Final = "No band (not every item rated)"


def _rating_colors(n: int) -> list[str]:
    if n == len(RATING_COLORS):
        return list(RATING_COLORS)
    return [RATING_COLORS[round(i * (len(RATING_COLORS) - 1) / max(n - 1, 1))] for i in range(n)]


def band_colors(labels: Sequence[str]) -> list[str]:
    """One colour per band, lowest band first (red-orange for the lowest, blue for the top)."""
    if len(labels) in _BAND_COLORS:
        return list(_BAND_COLORS[len(labels)])
    return [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(labels))]


def _title(title: str, subtitle: str | Sequence[str] = "") -> alt.TitleParams:
    return alt.TitleParams(title, subtitle=subtitle or alt.Undefined, anchor="start", fontSize=15)


def _configure(chart: alt.TopLevelMixin, *, fit_width: bool = True) -> alt.TopLevelMixin:
    if fit_width:
        # Fit the width only: a page that stretches a chart to its column must not squeeze the
        # plot's height to make room for the title, axes and legend.
        chart = chart.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    return chart.configure_axis(labelFontSize=11, titleFontSize=12).configure_legend(
        labelFontSize=11, titleFontSize=12, labelLimit=320
    )


def _band_rules(thresholds: pd.DataFrame, precision: int) -> pd.DataFrame:
    """The lower edge of every band but the lowest, with a label, for rules on a value axis."""
    rules = thresholds.loc[thresholds["min"].notna(), ["label", "min"]].copy()
    rules["text"] = [
        f"{label} from {value:.{precision}f}"
        for label, value in zip(rules["label"], rules["min"], strict=True)
    ]
    return rules.rename(columns={"min": "threshold"}).reset_index(drop=True)


def _value_domain(thresholds: pd.DataFrame, values: pd.Series, default: tuple[float, float]) -> list[float]:
    low, high = default
    present = pd.to_numeric(values, errors="coerce").dropna()
    if not present.empty:
        low, high = min(low, float(present.min())), max(high, float(present.max()))
    return [low, high]


# ---------------------------------------------------------------------------------------------
# A program over time
# ---------------------------------------------------------------------------------------------


def score_trend(
    series: pd.DataFrame,
    thresholds: pd.DataFrame,
    title: str,
    *,
    total_title: str = "Total mean",
    total_is_mean: bool = True,
    rating_range: tuple[int, int] = (1, 5),
    total_range: tuple[float, float] | None = None,
    precision: int = 2,
    width: int = WIDTH,
) -> alt.TopLevelMixin:
    """The total and subscale means of one program over its reviews, with the band thresholds.

    `series` has the columns of `ProgramSeries.values` (review_id, review_date, scale_version,
    measure, measure_name, value, band); `thresholds` those of `ProgramSeries.thresholds`
    (label, min, max). When the total shares the 1..5 axis with the subscale means, one chart
    shows them all; a sum total gets its own panel, with the subscale means below it.
    """
    data = series.copy()
    data["review_date"] = pd.to_datetime(data["review_date"])
    data["band"] = data["band"].astype(object).where(data["band"].notna(), "")
    data["label"] = [
        "Total" if m == "Total" else f"{m} · {name}"
        for m, name in zip(data["measure"], data["measure_name"], strict=True)
    ]
    totals = data.loc[data["measure"] == "Total"]
    subs = data.loc[data["measure"] != "Total"]
    x = alt.X(
        "review_date:T",
        title="Review date",
        scale=alt.Scale(padding=16),
        axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount=6),
    )
    tooltip = [
        alt.Tooltip("review_date:T", title="Review date", format="%Y-%m-%d"),
        alt.Tooltip("label:N", title="Measure"),
        alt.Tooltip("value:Q", title="Value", format=".2f"),
        alt.Tooltip("band:N", title="Band"),
        alt.Tooltip("scale_version:N", title="Scale version"),
    ]
    rules = _band_rules(thresholds, precision)

    def thresholds_layer(y_domain: list[float]) -> list[alt.Chart]:
        if rules.empty:
            return []
        y = alt.Y("threshold:Q", scale=alt.Scale(domain=y_domain, nice=False))
        line = alt.Chart(rules).mark_rule(color="#666666", strokeDash=[5, 4], strokeWidth=1.2)
        text = alt.Chart(rules).mark_text(
            align="right", baseline="bottom", dy=-2, fontSize=10, color="#444444"
        )
        return [
            line.encode(y=y, tooltip=[alt.Tooltip("text:N", title="Band threshold")]),
            text.encode(y=y, x=alt.XValue(alt.ExprRef("width - 4")), text="text:N"),
        ]

    measures = list(dict.fromkeys(data["label"]))
    colors = [
        TOTAL_COLOR if m == "Total" else OKABE_ITO[(i - 1) % len(OKABE_ITO)] for i, m in enumerate(measures)
    ]
    dashes = [_DASHES[i % len(_DASHES)] for i in range(len(measures))]
    legend = alt.Legend(
        title="Measure",
        orient="bottom",
        columns=2,
        symbolType="stroke",
        symbolStrokeWidth=2.5,
        symbolSize=400,
    )

    def lines(frame: pd.DataFrame, y: alt.Y, names: list[str]) -> list[alt.Chart]:
        keep = [measures.index(n) for n in names]
        color = alt.Color(
            "label:N", sort=names, scale=alt.Scale(domain=names, range=[colors[i] for i in keep])
        )
        dash = alt.StrokeDash(
            "label:N", sort=names, scale=alt.Scale(domain=names, range=[dashes[i] for i in keep])
        )
        size = alt.condition(alt.datum.measure == "Total", alt.value(3), alt.value(1.6))
        shown = legend if len(names) > 1 else None
        base = alt.Chart(frame).encode(x=x, y=y, tooltip=tooltip)
        return [
            base.mark_line().encode(
                color=color.legend(shown), strokeDash=dash.legend(shown), strokeWidth=size
            ),
            base.mark_point(filled=True, size=40, opacity=1).encode(color=color.legend(None)),
        ]

    low, high = rating_range
    mean_domain = [float(low), float(high)]
    mean_axis = alt.Axis(values=list(range(low, high + 1)), format="d")
    if total_is_mean:
        y = alt.Y("value:Q", title=f"Rating ({total_title.lower()} and subscale means)", scale=alt.Scale(
            domain=mean_domain, nice=False), axis=mean_axis)  # fmt: skip
        layers = [*thresholds_layer(mean_domain), *lines(data, y, measures)]
        chart = alt.layer(*layers).properties(
            title=_title(title, "Dashed lines: where the total's bands start"), width=width, height=300
        )
        return _configure(chart)

    domain = _value_domain(thresholds, totals["value"], total_range or (float(low), float(high)))
    y_total = alt.Y("value:Q", title=total_title, scale=alt.Scale(domain=domain, nice=False))
    top = alt.layer(*thresholds_layer(domain), *lines(totals, y_total, ["Total"])).properties(
        title=_title(title, "Dashed lines: where the total's bands start"), width=width, height=260
    )
    sub_names = [m for m in measures if m != "Total"]
    if len(sub_names) < 2:  # one subscale is the total again, in other units
        return _configure(top)
    y_sub = alt.Y(
        "value:Q", title="Subscale mean", scale=alt.Scale(domain=mean_domain, nice=False), axis=mean_axis
    )
    bottom = alt.layer(*lines(subs, y_sub, sub_names)).properties(
        title=_title("Subscale means"), width=width, height=200
    )
    return _configure(alt.vconcat(top, bottom).resolve_scale(color="independent", strokeDash="independent"))


# ---------------------------------------------------------------------------------------------
# Item heatmaps
# ---------------------------------------------------------------------------------------------


def item_heatmap(
    matrix: pd.DataFrame,
    title: str,
    *,
    item_names: Mapping[str, str] | None = None,
    column_title: str = "Review",
    subtitle: str = "",
    rating_range: tuple[int, int] = (1, 5),
    width: int | None = None,
    cell: int = 22,
) -> alt.TopLevelMixin:
    """Ratings as an item x column grid (columns: reviews by date, or programs by rank).

    `matrix`: rows are item ids in scale order, columns are labels in display order, values
    ratings (NA: not rated, drawn light grey with "–"). The colour scale is fixed to the
    rating range, so the same colour means the same rating in every heatmap.
    """
    names = dict(item_names or {})
    columns = [str(c) for c in matrix.columns]
    items = [str(i) for i in matrix.index]
    long = matrix.copy()
    long.columns = columns
    long.index = items
    long = (
        long.rename_axis("item_id")
        .reset_index()
        .melt(id_vars="item_id", var_name="column", value_name="rating")
    )
    long["rating"] = pd.to_numeric(long["rating"], errors="coerce")
    long["item"] = [f"{i} · {names[i]}" if i in names else i for i in long["item_id"]]
    long["shown"] = ["–" if pd.isna(r) else str(int(r)) for r in long["rating"]]
    long["rated"] = long["rating"].notna()
    item_order = [f"{i} · {names[i]}" if i in names else i for i in items]
    low, high = rating_range
    x = alt.X(
        "column:O",
        title=column_title,
        sort=columns,
        axis=alt.Axis(labelAngle=-40, labelLimit=180, orient="top", labelOverlap=False),
    )
    # The axis title sits above the item labels: PNG export cannot measure their width exactly.
    y_axis = alt.Axis(
        labelLimit=300, titleAngle=0, titleAlign="right", titleBaseline="bottom", titleX=-6, titleY=-6
    )
    y = alt.Y("item:O", title="Item", sort=item_order, axis=y_axis)
    tooltip = [
        alt.Tooltip("item:N", title="Item"),
        alt.Tooltip("column:N", title=column_title),
        alt.Tooltip("shown:N", title="Rating"),
    ]
    base = alt.Chart(long).encode(x=x, y=y, tooltip=tooltip)
    rated = (
        base.transform_filter(alt.datum.rated)
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(
            color=alt.Color(
                "rating:O",
                title="Rating",
                scale=alt.Scale(domain=list(range(low, high + 1)), range=_rating_colors(high - low + 1)),
                legend=alt.Legend(orient="right", direction="vertical"),
            )
        )
    )
    missing = base.transform_filter(~alt.datum.rated).mark_rect(
        color=MISSING_COLOR, stroke="white", strokeWidth=1
    )
    midpoint = low + (high - low) * 0.6  # viridis is dark up to the middle rating: white text there
    text = base.mark_text(fontSize=10).encode(
        text="shown:N",
        color=alt.condition(
            (alt.datum.rating < midpoint) & alt.datum.rated, alt.value("white"), alt.value("black")
        ),
    )
    size = {"width": width} if width else {"width": alt.Step(max(cell, 28))}
    chart = alt.layer(rated, missing, text).properties(
        title=_title(title, subtitle or "Grey cells with – : not rated"), height=alt.Step(cell), **size
    )
    return _configure(chart, fit_width=width is not None)


# ---------------------------------------------------------------------------------------------
# Programs compared
# ---------------------------------------------------------------------------------------------


_RANKING_COLUMNS: Final = (
    *("program_id", "program", "banded_value", "band"),
    *("provider", "region", "review_date", "scale_version"),
)


def program_ranking(
    programs: pd.DataFrame,
    thresholds: pd.DataFrame,
    title: str,
    *,
    value_title: str = "Total mean",
    value_range: tuple[float, float] = (1, 5),
    precision: int = 2,
    band_order: Sequence[str] | None = None,
    selection: alt.Parameter | None = None,
    width: int = WIDTH,
) -> alt.TopLevelMixin:
    """Each program's latest total as a horizontal bar, best first, with the band thresholds.

    `programs` needs program_id, program, banded_value, band, and may have provider, region,
    review_date, scale_version (the AgencyOverview.programs columns). A program whose total
    has no band (a sum scale with unrated items) is listed with no bar and "no band".
    `selection` (an alt.selection_point on program_id) makes bars clickable.
    """
    # Only the columns the chart draws or shows: the spec carries its data to the browser, and a
    # page sends the spec again on every rerun.
    data = programs.loc[:, [c for c in _RANKING_COLUMNS if c in programs.columns]].copy()
    data["band"] = data["band"].astype(object).where(data["band"].notna(), NO_BAND)
    data["value_text"] = [
        "no band" if pd.isna(v) else f"{v:.{precision}f}" for v in pd.to_numeric(data["banded_value"])
    ]
    if "review_date" in data:
        data["review_date"] = pd.to_datetime(data["review_date"]).dt.strftime("%Y-%m-%d")
    for column in ("provider", "region", "review_date", "scale_version"):
        if column not in data:
            data[column] = ""
        data[column] = data[column].astype(object).where(data[column].notna(), "—")
    data = data.sort_values(["banded_value", "program"], ascending=[False, True], na_position="last")
    order = list(data["program"])
    bands = list(band_order or thresholds["label"])
    domain = [*bands, NO_BAND] if (data["band"] == NO_BAND).any() else bands
    palette = [*band_colors(bands), MISSING_COLOR][: len(domain)]
    low, high = _value_domain(thresholds, data["banded_value"], value_range)
    y = alt.Y("program:N", title="Program", sort=order, axis=alt.Axis(labelLimit=260))
    x = alt.X(
        "banded_value:Q",
        title=value_title,
        scale=alt.Scale(domain=[low, high], nice=False),
        axis=alt.Axis(tickCount=int(2 * (high - low)) if high - low <= 5 else 10),
    )
    tooltip = [
        alt.Tooltip("program:N", title="Program"),
        alt.Tooltip("provider:N", title="Provider"),
        alt.Tooltip("region:N", title="Region"),
        alt.Tooltip("value_text:N", title=value_title),
        alt.Tooltip("band:N", title="Band"),
        alt.Tooltip("review_date:N", title="Latest review"),
        alt.Tooltip("scale_version:N", title="Scale version"),
    ]
    color = alt.Color(
        "band:N",
        title="Band",
        sort=domain,
        scale=alt.Scale(domain=domain, range=palette),
        legend=alt.Legend(orient="bottom", direction="horizontal"),
    )
    bars = (
        alt.Chart(data)
        .mark_bar(height={"band": 0.75})
        .encode(y=y, x=x, x2=alt.datum(low), color=color, tooltip=tooltip)
    )
    if selection is not None:
        bars = bars.add_params(selection).encode(
            opacity=alt.condition(selection, alt.value(1.0), alt.value(0.45))
        )
    labels = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, fontSize=11)
        .encode(
            y=y,
            x=alt.X("banded_value:Q", scale=alt.Scale(domain=[low, high])),
            text="value_text:N",
            tooltip=tooltip,
        )
    )
    labels = labels.transform_calculate(
        banded_value=f"isValid(datum.banded_value) ? datum.banded_value : {low}"
    )
    layers: list[alt.Chart] = [bars, labels]
    rules = _band_rules(thresholds, precision)
    if not rules.empty:
        layers.append(
            alt.Chart(rules)
            .mark_rule(color="#444444", strokeDash=[5, 4], strokeWidth=1.3)
            .encode(x="threshold:Q", tooltip=[alt.Tooltip("text:N", title="Band threshold")])
        )
    subtitle = [] if rules.empty else ["Dashed lines: where the bands start — " + "; ".join(rules["text"])]
    if selection is not None:
        subtitle.append("Click a program's bar to open its drift view.")
    chart = alt.layer(*layers).properties(title=_title(title, subtitle), width=width, height=alt.Step(24))
    return _configure(chart)


def band_distribution(
    distribution: pd.DataFrame, title: str, *, width: int = WIDTH, item_label: str = "programs"
) -> alt.TopLevelMixin:
    """How many programs are in each band (AgencyOverview.distribution: band, band_level,
    programs, share), in band order, lowest band first."""
    data = distribution.copy()
    data["band"] = data["band"].astype(object).where(data["band"].notna(), NO_BAND)
    data["share"] = pd.to_numeric(data["share"], errors="coerce").fillna(0.0)
    data["text"] = [f"{int(n)} ({s:.0%})" for n, s in zip(data["programs"], data["share"], strict=True)]
    bands = [b for b in data["band"] if b != NO_BAND]
    domain = [*bands, NO_BAND] if len(bands) < len(data) else bands
    palette = [*band_colors(bands), MISSING_COLOR][: len(domain)]
    x = alt.X(
        "band:N", title="Band of the latest review", sort=domain, axis=alt.Axis(labelAngle=0, labelLimit=200)
    )
    y = alt.Y("programs:Q", title=f"Number of {item_label}", axis=alt.Axis(tickMinStep=1, format="d"))
    tooltip = [
        alt.Tooltip("band:N", title="Band"),
        alt.Tooltip("programs:Q", title=item_label.capitalize()),
        alt.Tooltip("share:Q", title="Share", format=".0%"),
    ]
    color = alt.Color("band:N", sort=domain, scale=alt.Scale(domain=domain, range=palette), legend=None)
    bars = alt.Chart(data).mark_bar(width={"band": 0.6}).encode(x=x, y=y, color=color, tooltip=tooltip)
    text = (
        alt.Chart(data)
        .mark_text(baseline="bottom", dy=-3, fontSize=11)
        .encode(x=x, y=y, text="text:N", tooltip=tooltip)
    )
    chart = alt.layer(bars, text).properties(title=_title(title), width=width, height=240)
    return _configure(chart)


def arrow_spec(chart: alt.TopLevelMixin) -> dict[str, object]:
    """The chart's Vega-Lite spec with its datasets already in Arrow, the form Streamlit sends:
    a page caches this, and st.vega_lite_chart passes the bytes through instead of converting
    every row again on each rerun."""
    from streamlit import dataframe_util  # the conversion st.vega_lite_chart would make

    spec = chart.to_dict()
    datasets = spec.get("datasets") or {}
    spec["datasets"] = {
        name: values if isinstance(values, bytes) else dataframe_util.convert_anything_to_arrow_bytes(values)
        for name, values in datasets.items()
    }
    return spec
