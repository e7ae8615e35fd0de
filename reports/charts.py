"""The report's charts: Altair specs rendered to PNG with vl-convert (no browser).

Charts use the bundled DejaVu Sans, so names in any script print as they do in the PDF.
Colours are colour-blind safe (Okabe-Ito) and every series also differs by dash pattern or
point shape, so a black and white print still reads.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

    from scales.schema import Scale
    from scoring.analytics import ProgramSeries

FONTS: Final = Path(__file__).resolve().parent / "fonts"
FONT: Final = "DejaVu Sans"
WIDTH: Final = 560  # pixels at scale 1; the PDF places charts 170 mm wide
INK: Final = "#222222"
GRID: Final = "#dddddd"
OKABE_ITO: Final = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
DASHES: Final = ([1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3])
SHAPES: Final = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down")
BAR: Final = "#4C78A8"

_fonts_registered = False
_lock = threading.Lock()


def to_png(chart: alt.TopLevelMixin, *, scale: float = 2) -> bytes:
    """The chart as PNG bytes, rendered in-process by vl-convert with the bundled font."""
    import vl_convert as vlc

    global _fonts_registered
    with _lock:
        if not _fonts_registered:
            vlc.register_font_directory(str(FONTS))
            _fonts_registered = True
    return vlc.vegalite_to_png(chart.to_json(), scale=scale, allowed_base_urls=[])


def _configure(chart: Any) -> Any:
    return (
        chart.configure(font=FONT)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=11, labelColor=INK, titleColor=INK, gridColor=GRID)
        .configure_title(fontSize=13, anchor="start", color=INK, subtitleColor="#555555", subtitleFontSize=10)
        .configure_legend(labelFontSize=10, titleFontSize=10, labelLimit=360, orient="bottom", columns=2)
    )


def band_rules(scale: Scale) -> list[tuple[str, float]]:
    """(label, lower edge) of the bands that start inside the rating range: the thresholds a
    chart of means can mark. Empty when the bands read a sum."""
    from scales.schema import TotalMethod

    if scale.scoring.method is TotalMethod.SUM:
        return []
    low, high = scale.rating.min, scale.rating.max
    return [(b.label, float(b.min)) for b in scale.scoring.bands if b.min is not None and low < b.min <= high]


def subscale_chart(scale: Scale, score: Mapping[str, Any]) -> alt.TopLevelMixin | None:
    """Subscale means as horizontal bars on the rating axis, with the bands' thresholds when
    the bands read a mean. None when fewer than two subscales have a mean."""
    import altair as alt
    import pandas as pd

    rows = [
        {
            "subscale": f"{sub_id} · {sub['name']}",
            "mean": sub["mean"],
            "rated": f"{sub['rated']} of {sub['items']}",
        }
        for sub_id, sub in score.get("subscales", {}).items()
        if sub.get("mean") is not None
    ]
    if len(rows) < 2:
        return None
    low, high = scale.rating.min, scale.rating.max
    data = pd.DataFrame(rows)
    data["label"] = [f"{m:.2f}" for m in data["mean"]]
    x = alt.X(
        "mean:Q",
        title="Mean item rating",
        scale=alt.Scale(domain=[low, high], nice=False),
        axis=alt.Axis(values=list(range(low, high + 1)), format="d"),
    )
    y = alt.Y("subscale:N", title=None, sort=None, axis=alt.Axis(labelLimit=300, ticks=False))
    bars = alt.Chart(data).mark_bar(color=BAR, height={"band": 0.6}).encode(x=x, x2=alt.X2(datum=low), y=y)
    labels = (
        alt.Chart(data).mark_text(align="left", dx=4, fontSize=11, color=INK).encode(x=x, y=y, text="label:N")
    )
    layers: list[Any] = [bars, labels]
    rules = band_rules(scale)
    subtitle = ""
    if rules:
        precision = scale.scoring.precision
        frame = pd.DataFrame(
            [{"threshold": value, "text": f"{label} ≥ {value:.{precision}f}"} for label, value in rules]
        )
        layers.append(
            alt.Chart(frame)
            .mark_rule(color="#555555", strokeDash=[5, 4], strokeWidth=1.2)
            .encode(x="threshold:Q")
        )
        subtitle = "Dashed lines: where the total's bands start (" + "; ".join(frame["text"]) + ")"
    chart = alt.layer(*layers).properties(
        title=alt.TitleParams("Subscale means", subtitle=subtitle or alt.Undefined),
        width=380,
        height=alt.Step(34),
    )
    return _configure(chart)


def drift_chart(series: ProgramSeries, scale: Scale) -> alt.TopLevelMixin:
    """The total (as the bands read it) and the subscale means over the program's reviews,
    with the band thresholds as dashed rules."""
    import altair as alt
    import pandas as pd

    data = series.values.copy()
    data["review_date"] = pd.to_datetime(data["review_date"])
    data["value"] = pd.to_numeric(data["value"], errors="coerce")
    data["label"] = [
        series.total_measure if m == "Total" else f"{m} · {name}"
        for m, name in zip(data["measure"], data["measure_name"], strict=True)
    ]
    data = data.loc[data["value"].notna(), ["review_date", "measure", "label", "value"]].reset_index(
        drop=True
    )
    totals = data.loc[data["measure"] == "Total"]
    if not series.total_is_mean:
        data = totals  # a sum has its own axis: the subscale means are in the table instead
    names = list(dict.fromkeys(data["label"]))
    colors = [
        INK if n == series.total_measure else OKABE_ITO[i % len(OKABE_ITO)] for i, n in enumerate(names)
    ]
    dashes = [DASHES[i % len(DASHES)] for i in range(len(names))]
    shapes = [SHAPES[i % len(SHAPES)] for i in range(len(names))]

    low, high = float(scale.rating.min), float(scale.rating.max)
    thresholds = _thresholds(series.thresholds)
    if series.total_is_mean:
        domain = [low, high]
        y_title = "Rating (total and subscale means)"
        axis = alt.Axis(values=list(range(int(low), int(high) + 1)), format="d")
    else:
        values = [*totals["value"].dropna().tolist(), *thresholds["threshold"].tolist()]
        domain = [min(values, default=0.0), max(values, default=1.0)]
        pad = max((domain[1] - domain[0]) * 0.1, 1.0)
        domain = [max(0.0, domain[0] - pad), domain[1] + pad]
        y_title = series.total_measure
        axis = alt.Axis(format="d")
    y = alt.Y("value:Q", title=y_title, scale=alt.Scale(domain=domain, nice=False), axis=axis)
    dates = sorted(data["review_date"].dropna().unique())
    x = alt.X(
        "review_date:T",
        title="Review date",
        scale=alt.Scale(padding=24),
        axis=alt.Axis(format="%b %Y", labelAngle=0, values=[pd.Timestamp(d).isoformat() for d in dates]),
    )
    legend = alt.Legend(title=None, symbolSize=70)
    color = alt.Color("label:N", sort=names, scale=alt.Scale(domain=names, range=colors), legend=legend)
    dash = alt.StrokeDash("label:N", sort=names, scale=alt.Scale(domain=names, range=dashes), legend=None)
    shape = alt.Shape("label:N", sort=names, scale=alt.Scale(domain=names, range=shapes), legend=legend)
    width = alt.condition(alt.datum.measure == "Total", alt.value(3), alt.value(1.6))
    base = alt.Chart(data).encode(x=x, y=y)
    layers: list[Any] = []
    if not thresholds.empty:
        rule_y = alt.Y("threshold:Q", scale=alt.Scale(domain=domain, nice=False))
        layers.append(
            alt.Chart(thresholds)
            .mark_rule(color="#777777", strokeDash=[5, 4], strokeWidth=1)
            .encode(y=rule_y)
        )
        layers.append(
            alt.Chart(thresholds)
            .mark_text(align="right", baseline="top", dy=3, fontSize=9, color="#555555")
            .encode(y=rule_y, x=alt.value(WIDTH - 2), text="text:N")
        )
    layers.append(base.mark_line().encode(color=color, strokeDash=dash, strokeWidth=width))
    layers.append(base.mark_point(filled=True, size=50, opacity=1).encode(color=color, shape=shape))
    if len(names) == 1:
        layers.append(
            alt.Chart(totals)
            .mark_text(dy=-10, fontSize=10, color=INK)
            .encode(x=x, y=y, text=alt.Text("value:Q", format=".2f" if series.total_is_mean else "d"))
        )
    chart = alt.layer(*layers).properties(width=WIDTH, height=230)
    return _configure(chart)


def _thresholds(thresholds: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    rows = [
        {"threshold": float(value), "text": f"{label} from {value:g}"}
        for label, value in zip(thresholds["label"], thresholds["min"], strict=True)
        if value is not None and not pd.isna(value)
    ]
    return pd.DataFrame(rows, columns=["threshold", "text"])
