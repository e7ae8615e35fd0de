"""The report's charts, drawn with fpdf2's own vector drawing (lines, rectangles, text).

Drawn in the PDF instead of rendered to images, a report needs no chart renderer: no
JavaScript engine to start (vl-convert took about 1.3 CPU s for its first chart and 200 MB),
and the charts' text is real text (it prints sharp, and can be searched and read aloud).
Colours are colour-blind safe (Okabe-Ito) and every series also differs by dash pattern and
point shape, so a black and white print still reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

import pandas as pd

from scales.schema import TotalMethod

if TYPE_CHECKING:
    from fpdf import FPDF

    from scales.schema import Scale
    from scoring.analytics import ProgramSeries

RGB = tuple[int, int, int]
Style = tuple[RGB, tuple[float, float], str, float]  # a series' colour, dash, point shape, line width

INK: Final[RGB] = (34, 34, 34)
MUTED: Final[RGB] = (85, 85, 85)
AXIS: Final[RGB] = (136, 136, 136)
GRID: Final[RGB] = (221, 221, 221)
RULE: Final[RGB] = (119, 119, 119)
BAR: Final[RGB] = (76, 120, 168)
OKABE_ITO: Final[tuple[RGB, ...]] = (
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (213, 94, 0),
    (0, 0, 0),
)
DASHES: Final = ((0.0, 0.0), (1.8, 0.9), (0.6, 0.6), (2.4, 0.9), (1.2, 1.2), (0.3, 0.9))  # mm: dash, gap
SHAPES: Final = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down")

# Sizes (mm and pt)
TITLE_PT: Final = 11.0
LABEL_PT: Final = 8.0
SMALL_PT: Final = 6.8
ROW: Final = 7.5  # one subscale's row
PLOT_H: Final = 62.0  # the drift chart's plot area
LEGEND_ROW: Final = 4.6


def band_rules(scale: Scale) -> list[tuple[str, float]]:
    """(label, lower edge) of the bands that start inside the rating range: the thresholds a
    chart of means can mark. Empty when the bands read a sum."""
    if scale.scoring.method is TotalMethod.SUM:
        return []
    low, high = scale.rating.min, scale.rating.max
    return [(b.label, float(b.min)) for b in scale.scoring.bands if b.min is not None and low < b.min <= high]


def subscale_chart(pdf: FPDF, family: str, scale: Scale, score: Mapping[str, Any]) -> bool:
    """Subscale means as horizontal bars on the rating axis, with dashed lines where the bands
    start when they read a mean, drawn at the current position. False (nothing drawn) when
    fewer than two subscales have a mean."""
    rows = [
        (f"{sub_id} · {sub['name']}", float(sub["mean"]))
        for sub_id, sub in score.get("subscales", {}).items()
        if sub.get("mean") is not None
    ]
    if len(rows) < 2:
        return False
    low, high = scale.rating.min, scale.rating.max
    rules = band_rules(scale)
    subtitle = ""
    if rules:
        places = scale.scoring.precision
        subtitle = "Dashed lines: where the total's bands start (" + "; ".join(
            f"{label} ≥ {value:.{places}f}" for label, value in rules
        )
        subtitle += ")"
    left, width = pdf.l_margin, pdf.epw
    pdf.set_font(family, size=SMALL_PT + 1)
    sub_lines: list[str] = []
    if subtitle:  # output="LINES" gives the lines (fpdf2's return type covers every output)
        sub_lines = cast(list[str], pdf.multi_cell(width, 3.6, subtitle, dry_run=True, output="LINES"))
    height = 6.5 + 3.6 * len(sub_lines) + 2 + ROW * len(rows) + 11
    if pdf.will_page_break(height):
        pdf.add_page()
    top = pdf.get_y()
    with pdf.local_context():
        pdf.set_font(family, "B", TITLE_PT)
        pdf.set_text_color(*INK)
        pdf.text(left, top + 4.2, "Subscale means")
        y = top + 6.5
        if sub_lines:
            pdf.set_font(family, size=SMALL_PT + 1)
            pdf.set_text_color(*MUTED)
            for line in sub_lines:
                pdf.text(left, y + 2.6, line)
                y += 3.6
        y0 = y + 2
        y1 = y0 + ROW * len(rows)

        pdf.set_font(family, size=LABEL_PT)
        label_w = min(max(pdf.get_string_width(label) for label, _ in rows) + 3, width * 0.45)
        x0, x1 = left + label_w, left + width - 12  # room for the last bar's value

        def xpos(value: float) -> float:
            return x0 + (value - low) / (high - low) * (x1 - x0)

        pdf.set_line_width(0.2)
        pdf.set_draw_color(*GRID)
        for tick in range(low, high + 1):
            pdf.line(xpos(tick), y0, xpos(tick), y1)
        pdf.set_fill_color(*BAR)
        for i, (label, mean) in enumerate(rows):
            middle = y0 + (i + 0.5) * ROW
            pdf.rect(xpos(low), middle - ROW * 0.3, max(xpos(mean) - xpos(low), 0.0), ROW * 0.6, style="F")
            pdf.set_text_color(*INK)
            pdf.text(xpos(mean) + 1.2, middle + 1.1, f"{mean:.2f}")
            text = _fit(pdf, label, label_w - 3)
            pdf.text(x0 - 2 - pdf.get_string_width(text), middle + 1.1, text)
        if rules:
            pdf.set_draw_color(*MUTED)
            pdf.set_line_width(0.35)
            pdf.set_dash_pattern(dash=1.5, gap=1.2)
            for _label, value in rules:
                pdf.line(xpos(value), y0, xpos(value), y1)
            pdf.set_dash_pattern()
        _x_axis(pdf, x0, x1, y1, [(xpos(t), str(t)) for t in range(low, high + 1)], "Mean item rating")
    pdf.set_xy(left, y1 + 12)
    return True


@dataclass(frozen=True)
class _Plot:
    """The drift chart's plot area and its scales: review dates across, values up."""

    x0: float
    x1: float
    y0: float
    y1: float
    first: pd.Timestamp | None  # the first and last review dates
    last: pd.Timestamp | None
    domain: tuple[float, float]
    pad: float = 7.0  # between the plot's edges and the first and last review

    def xpos(self, date: pd.Timestamp) -> float:
        if self.first is None or self.last is None or self.last == self.first:
            return (self.x0 + self.x1) / 2
        span = self.x1 - self.x0 - 2 * self.pad
        return self.x0 + self.pad + (date - self.first) / (self.last - self.first) * span

    def ypos(self, value: float) -> float:
        low, high = self.domain
        return self.y1 - (value - low) / (high - low) * (self.y1 - self.y0)


Points = dict[str, list[tuple[pd.Timestamp, float]]]  # a series' name -> its (review date, value)


def drift_chart(pdf: FPDF, family: str, series: ProgramSeries, scale: Scale) -> None:
    """The total (as the bands read it) and the subscale means over the program's reviews, with
    the band thresholds as dashed lines, drawn at the current position."""
    points = _drift_points(series)
    names = list(points)
    thresholds = [
        (float(value), f"{label} from {value:g}")
        for label, value in zip(series.thresholds["label"], series.thresholds["min"], strict=True)
        if value is not None and not pd.isna(value)
    ]
    domain, y_title, y_ticks = _drift_axis(series, scale, points, thresholds)
    left, width = pdf.l_margin, pdf.epw
    columns = 2
    legend_rows = math.ceil(len(names) / columns)
    if pdf.will_page_break(PLOT_H + 12 + LEGEND_ROW * legend_rows + 3):
        pdf.add_page()
    top = pdf.get_y() + 1
    days = sorted({d for pts in points.values() for d, _v in pts})
    # The bands' names stand right of the plot, where no line can be drawn over them.
    with pdf.local_context():
        pdf.set_font(family, size=SMALL_PT)
        names_w = max((pdf.get_string_width(text) for _v, text in thresholds), default=0.0)
    right = min(names_w + 2, width * 0.3) if names_w else 1
    plot = _Plot(
        left + 15, left + width - right, top, top + PLOT_H,
        days[0] if days else None, days[-1] if days else None, domain,
    )  # fmt: skip
    styles = {name: _style(i, name == series.total_measure) for i, name in enumerate(names)}
    with pdf.local_context():
        _value_axis(pdf, family, plot, y_ticks, y_title, left)
        _thresholds(pdf, family, plot, thresholds)
        _drift_lines(pdf, family, plot, points, styles, series.total_is_mean)
        pdf.set_font(family, size=LABEL_PT)
        _x_axis(pdf, plot.x0, plot.x1, plot.y1, [(plot.xpos(d), f"{d:%b %Y}") for d in days], "Review date")
        _legend(pdf, family, plot, styles, columns)
    pdf.set_xy(left, plot.y1 + 13 + LEGEND_ROW * legend_rows + 1)


def _drift_points(series: ProgramSeries) -> Points:
    """Each series' values by review date; a sum's subscale means are left out (they have their
    own axis: the table lists them instead)."""
    data = series.values
    values = pd.to_numeric(data["value"], errors="coerce").to_numpy(dtype="float64")
    dates = pd.to_datetime(data["review_date"])
    measures = data["measure"].tolist()
    labels = [
        series.total_measure if m == "Total" else f"{m} · {name}"
        for m, name in zip(measures, data["measure_name"], strict=True)
    ]
    points: Points = {}
    for label, measure, date, value in zip(labels, measures, dates, values, strict=True):
        if math.isnan(value) or pd.isna(date):
            continue
        if not series.total_is_mean and measure != "Total":
            continue
        points.setdefault(label, []).append((date, float(value)))
    return points


def _drift_axis(
    series: ProgramSeries, scale: Scale, points: Points, thresholds: list[tuple[float, str]]
) -> tuple[tuple[float, float], str, list[float]]:
    """The value axis: its range, title and ticks (the rating range for means, else round
    numbers around the totals and thresholds)."""
    low, high = float(scale.rating.min), float(scale.rating.max)
    if series.total_is_mean:
        ticks = [float(t) for t in range(int(low), int(high) + 1)]
        return (low, high), "Rating (total and subscale means)", ticks
    every = [v for _d, v in points.get(series.total_measure, [])] + [t for t, _ in thresholds]
    lo, hi = min(every, default=0.0), max(every, default=1.0)
    pad = max((hi - lo) * 0.1, 1.0)
    domain = (max(0.0, lo - pad), hi + pad)
    return domain, series.total_measure, _nice_ticks(*domain)


def _value_axis(pdf: FPDF, family: str, plot: _Plot, ticks: list[float], title: str, left: float) -> None:
    """The grid lines with their values, the vertical axis and its title (turned on its side)."""
    pdf.set_line_width(0.2)
    pdf.set_draw_color(*GRID)
    pdf.set_font(family, size=LABEL_PT)
    pdf.set_text_color(*INK)
    for tick in ticks:
        pdf.line(plot.x0, plot.ypos(tick), plot.x1, plot.ypos(tick))
        text = f"{tick:.0f}"
        pdf.text(plot.x0 - 1.5 - pdf.get_string_width(text), plot.ypos(tick) + 1.1, text)
    pdf.set_draw_color(*AXIS)
    pdf.line(plot.x0, plot.y0, plot.x0, plot.y1)
    middle = (plot.y0 + plot.y1) / 2
    with pdf.rotation(angle=90, x=left + 2.5, y=middle):
        text = _fit(pdf, title, PLOT_H)
        pdf.text(left + 2.5 - pdf.get_string_width(text) / 2, middle + 1, text)


def _thresholds(pdf: FPDF, family: str, plot: _Plot, thresholds: list[tuple[float, str]]) -> None:
    """A dashed line, with its band's name, where each band starts inside the value axis."""
    if not thresholds:
        return
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.25)
    pdf.set_font(family, size=SMALL_PT)
    pdf.set_text_color(*MUTED)
    for value, text in thresholds:
        if not plot.domain[0] <= value <= plot.domain[1]:
            continue
        pdf.set_dash_pattern(dash=1.5, gap=1.2)
        pdf.line(plot.x0, plot.ypos(value), plot.x1, plot.ypos(value))
        pdf.set_dash_pattern()
        pdf.text(
            plot.x1 + 1.5, plot.ypos(value) + 1.0, _fit(pdf, text, pdf.l_margin + pdf.epw - plot.x1 - 1.5)
        )


def _drift_lines(
    pdf: FPDF, family: str, plot: _Plot, points: Points, styles: dict[str, Style], total_is_mean: bool
) -> None:
    """Each series as a line with its point shapes; a lone series has its values written on."""
    for name, pts in points.items():
        color, dash, shape, line_w = styles[name]
        xy = [(plot.xpos(d), plot.ypos(v)) for d, v in sorted(pts, key=lambda p: p[0])]
        pdf.set_draw_color(*color)
        pdf.set_line_width(line_w)
        if dash[0]:
            pdf.set_dash_pattern(dash=dash[0], gap=dash[1])
        if len(xy) > 1:
            pdf.polyline(xy)
        pdf.set_dash_pattern()
        for x, y in xy:
            _marker(pdf, shape, x, y, color)
    if len(points) == 1:
        pdf.set_font(family, size=LABEL_PT - 0.5)
        pdf.set_text_color(*INK)
        for date, value in next(iter(points.values())):
            text = f"{value:.2f}" if total_is_mean else f"{value:.0f}"
            pdf.text(plot.xpos(date) - pdf.get_string_width(text) / 2, plot.ypos(value) - 2.2, text)


def _legend(pdf: FPDF, family: str, plot: _Plot, styles: dict[str, Style], columns: int) -> None:
    """The legend under the plot: each series' line, dash and point shape, then its name."""
    pdf.set_font(family, size=LABEL_PT - 0.5)
    pdf.set_text_color(*INK)
    column_w = (pdf.l_margin + pdf.epw - plot.x0) / columns  # under the bands' names too
    for i, (name, (color, dash, shape, line_w)) in enumerate(styles.items()):
        lx = plot.x0 + (i % columns) * column_w
        ly = plot.y1 + 13 + (i // columns) * LEGEND_ROW
        pdf.set_draw_color(*color)
        pdf.set_line_width(line_w)
        if dash[0]:
            pdf.set_dash_pattern(dash=dash[0], gap=dash[1])
        pdf.line(lx, ly, lx + 8, ly)
        pdf.set_dash_pattern()
        _marker(pdf, shape, lx + 4, ly, color)
        pdf.text(lx + 10, ly + 1.1, _fit(pdf, name, column_w - 12))


# ---- helpers ----------------------------------------------------------------------------------


def _style(i: int, total: bool) -> Style:
    """(colour, dash, point shape, line width) of the i-th series; the total is dark and thick."""
    color = INK if total else OKABE_ITO[i % len(OKABE_ITO)]
    return color, DASHES[i % len(DASHES)], SHAPES[i % len(SHAPES)], 0.8 if total else 0.45


def _marker(pdf: FPDF, shape: str, x: float, y: float, color: RGB, r: float = 1.1) -> None:
    pdf.set_fill_color(*color)
    if shape == "circle":
        pdf.circle(x, y, r, style="F")
    elif shape == "square":
        pdf.rect(x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8, style="F")
    elif shape == "cross":
        arm = r * 0.35
        pdf.rect(x - r, y - arm, 2 * r, 2 * arm, style="F")
        pdf.rect(x - arm, y - r, 2 * arm, 2 * r, style="F")
    else:
        corners: dict[str, Sequence[tuple[float, float]]] = {
            "triangle-up": ((x, y - r * 1.2), (x + r * 1.1, y + r * 0.8), (x - r * 1.1, y + r * 0.8)),
            "triangle-down": ((x, y + r * 1.2), (x + r * 1.1, y - r * 0.8), (x - r * 1.1, y - r * 0.8)),
            "diamond": ((x, y - r * 1.3), (x + r, y), (x, y + r * 1.3), (x - r, y)),
        }
        pdf.polygon(corners[shape], style="F")


def _x_axis(
    pdf: FPDF, x0: float, x1: float, y: float, ticks: Sequence[tuple[float, str]], title: str
) -> None:
    """A horizontal axis at y: its line, ticks, labels (a label that would overlap the one
    after it is left out) and title. Uses the current font."""
    pdf.set_draw_color(*AXIS)
    pdf.set_line_width(0.2)
    pdf.line(x0, y, x1, y)
    pdf.set_text_color(*INK)
    drawn_from = math.inf
    for x, text in reversed(ticks):  # from the right: the newest label is always drawn
        pdf.line(x, y, x, y + 1.3)
        half = pdf.get_string_width(text) / 2
        if x + half < drawn_from - 1.5:
            pdf.text(x - half, y + 4.6, text)
            drawn_from = x - half
    pdf.text((x0 + x1) / 2 - pdf.get_string_width(title) / 2, y + 9.2, title)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """The text, cut with an ellipsis to fit the width in the current font."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round whole-number ticks (steps of 1, 2 or 5 times a power of ten) within [low, high]."""
    raw = max((high - low) / count, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [float(first + k * step) for k in range(int((high - first) // step) + 1)]
