"""The PDF site-visit report of one review (fpdf2, DejaVu Sans bundled for Unicode names).

`render_report(data)` returns the PDF as bytes. Everything reviewers typed (names, notes,
evidence) is written as plain text: no HTML or markdown is interpreted.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, TableCellFillMode, VAlign, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from reports.model import ReportData
from reports.wording import METHOD_TEXT, computed_working
from scales.schema import Scale, TotalBand, TotalMethod

FONTS: Final = Path(__file__).resolve().parent / "fonts"
FAMILY: Final = "DejaVu"
DRAFT_LABEL: Final = "DRAFT — not final"
DRIFT_HEADING: Final = "Scores over time"
NOT_RATED: Final = "—"

# Colours (RGB)
NAVY: Final = (31, 58, 95)
INK: Final = (34, 34, 34)
MUTED: Final = (95, 95, 95)
RULE: Final = (190, 196, 204)
GROUP_FILL: Final = (232, 237, 243)
HEAD_FILL: Final = (31, 58, 95)
ZEBRA: Final = (247, 248, 250)
ACTION_FILL: Final = (251, 224, 211)
DRAFT_RED: Final = (176, 32, 32)
BAND_EDGES: Final = {  # lowest band first; the top band is always blue (Okabe-Ito)
    1: ((0, 114, 178),),
    2: ((213, 94, 0), (0, 114, 178)),
    3: ((213, 94, 0), (230, 159, 0), (0, 114, 178)),
    4: ((213, 94, 0), (230, 159, 0), (86, 180, 233), (0, 114, 178)),
}

STAGES: Final = {"draft": "a draft", "consensus": "at the consensus stage"}

# Layout (mm, A4 portrait)
MARGIN: Final = 18.0
BODY_PT: Final = 10.0
TABLE_PT: Final = 8.5
ITEM_COLUMNS: Final = (10.0, 46.0, 15.0, 56.0, 47.0)  # id, item, rating, evidence, recommendation


def render_report(data: ReportData, *, charts: bool = True) -> bytes:
    """The report as PDF bytes. `charts=False` leaves out the charts (and the drift series)."""
    pdf = ReportPDF(data)
    pdf.render(charts=charts)
    return bytes(pdf.output())


# ---------------------------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------------------------


def plain(text: object) -> str:
    """User text made safe to print: line ends normalised, tabs expanded, control characters
    (other than new lines) and unencodable code points dropped. Nothing is interpreted."""
    if text is None:
        return ""
    value = str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return "".join(c for c in value if c == "\n" or unicodedata.category(c) not in ("Cc", "Cs", "Cn")).strip()


def fmt_number(value: float | None, places: int = 2) -> str:
    return NOT_RATED if value is None else f"{value:.{places}f}"


def fmt_date(value: dt.date | None) -> str:
    return value.isoformat() if value is not None else "not given"


def fmt_when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return f"{value:%Y-%m-%d %H:%M} UTC"


def computed_text(entry: Mapping[str, Any], scale: Scale, item_id: str) -> str:
    """ "Computed: 10.1053 clients per FTE, rounded to 10" for a computed item, else ""."""
    working = computed_working(entry, scale, item_id) if entry.get("rating") is not None else None
    if working is None:
        return ""
    rounded = "" if working.rounded is None else f", rounded to {working.rounded}"
    return f"Computed: {working.value}{rounded}"


def _tint(rgb: tuple[int, int, int], amount: float = 0.82) -> tuple[int, int, int]:
    r, g, b = rgb
    return (round(r + (255 - r) * amount), round(g + (255 - g) * amount), round(b + (255 - b) * amount))


def bands_lowest_first(scale: Scale) -> list[TotalBand]:
    return sorted(scale.scoring.bands, key=lambda b: float("-inf") if b.min is None else b.min)


def band_color(scale: Scale, label: str | None) -> tuple[int, int, int]:
    bands = [b.label for b in bands_lowest_first(scale)]
    if label is None or label not in bands:
        return MUTED
    palette = BAND_EDGES.get(len(bands))
    if palette is None:
        return NAVY
    return palette[bands.index(label)]


# ---------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------


class ReportPDF(FPDF):
    def __init__(self, data: ReportData):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.data = data
        self.scale = data.scale
        self.score: Mapping[str, Any] = data.score
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(MARGIN, MARGIN + 2, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN)
        self.set_font(FAMILY, size=BODY_PT)
        self.set_text_color(*INK)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.set_title(f"Fidelity review report: {plain(data.program_name)}")
        self.set_subject(f"{self.scale.title} ({self.scale.id} {self.scale.version})")
        self.set_author("ebp-fidelity")
        self.set_creator("ebp-fidelity")
        self.set_lang("en")
        generated = data.generated_at
        self.set_creation_date(generated if generated.tzinfo else generated.replace(tzinfo=dt.UTC))
        self.long_notes: list[tuple[str, str, str]] = []  # (item label, column, full text)

    # ---- page furniture ----------------------------------------------------------------------

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(FAMILY, size=7.5)
        self.set_text_color(*MUTED)
        self.set_xy(MARGIN, 9)
        left = f"{plain(self.data.program_name)} · {self.scale.id.upper()} {self.scale.version}"
        if self.data.review_date:
            left += f" · {self.data.review_date.isoformat()}"
        self.cell(self.epw * 0.7, 4, left, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.cell(
            self.epw * 0.3, 4, "Fidelity review report", align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.set_draw_color(*RULE)
        self.line(MARGIN, 14, self.w - MARGIN, 14)
        self.set_y(MARGIN + 2)
        self._body_font()

    def footer(self) -> None:
        if self.data.is_draft:
            self._watermark()  # drawn last, see-through, so charts and table fills cannot hide it
        self.set_y(-12)
        self.set_draw_color(*RULE)
        self.line(MARGIN, self.get_y() - 1, self.w - MARGIN, self.get_y() - 1)
        self.set_font(FAMILY, size=7.5)
        self.set_text_color(*MUTED)
        third = self.epw / 3
        generated = f"Generated {fmt_when(self.data.generated_at)} by ebp-fidelity"
        self.cell(third * 1.4, 5, generated, new_x=XPos.RIGHT, new_y=YPos.TOP)
        if self.data.is_draft:
            self.set_font(FAMILY, "B", 7.5)
            self.set_text_color(*DRAFT_RED)
            self.cell(third * 0.8, 5, DRAFT_LABEL, align=Align.C, new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.set_font(FAMILY, size=7.5)
            self.set_text_color(*MUTED)
        else:
            self.cell(third * 0.8, 5, "", new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.cell(third * 0.8, 5, f"Page {self.page_no()} of {{nb}}", align=Align.R)
        self._body_font()

    def _watermark(self) -> None:
        with self.local_context(fill_opacity=0.16):
            self.set_font(FAMILY, "B", 54)
            self.set_text_color(*DRAFT_RED)
            width = self.get_string_width(DRAFT_LABEL)
            cx, cy = self.w / 2, self.h / 2
            with self.rotation(angle=50, x=cx, y=cy):
                self.text(cx - width / 2, cy + 8, DRAFT_LABEL)

    # ---- building blocks ---------------------------------------------------------------------

    def _body_font(self, size: float = BODY_PT, style: str = "") -> None:
        self.set_font(FAMILY, style, size)
        self.set_text_color(*INK)

    def heading(self, text: str, *, space_after: float = 10.0, level: int = 1) -> None:
        """A section heading, moved to the next page unless `space_after` mm fit below it."""
        size = 13.0 if level == 1 else 11.0
        if self.will_page_break(size * 0.6 + space_after + 6):
            self.add_page()
        elif self.get_y() > self.t_margin + 1:
            self.ln(4 if level == 1 else 2.5)
        self.set_font(FAMILY, "B", size)
        self.set_text_color(*NAVY)
        self.multi_cell(0, size * 0.5, text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if level == 1:
            self.set_draw_color(*NAVY)
            self.set_line_width(0.4)
            self.line(MARGIN, self.get_y() + 0.8, self.w - MARGIN, self.get_y() + 0.8)
            self.set_line_width(0.2)
            self.set_draw_color(*RULE)
            self.ln(3)
        else:
            self.ln(1)
        self._body_font()

    def paragraph(self, text: str, *, size: float = BODY_PT, color: tuple[int, int, int] = INK) -> None:
        self.set_font(FAMILY, size=size)
        self.set_text_color(*color)
        self.multi_cell(0, size * 0.48, plain(text), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)
        self._body_font()

    def note(self, text: str) -> None:
        self.paragraph(text, size=8.5, color=MUTED)

    def bullets(self, lines: Sequence[str], *, size: float = BODY_PT) -> None:
        self.set_font(FAMILY, size=size)
        for line in lines:
            self.set_x(MARGIN)
            self.cell(5, size * 0.48, "•")
            self.multi_cell(0, size * 0.48, plain(line), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(0.8)
        self.ln(1)

    @contextmanager
    def notice(self, color: tuple[int, int, int]) -> Iterator[None]:
        """A boxed notice with a coloured bar on the left."""
        start_page, start_y = self.page_no(), self.get_y()
        self.set_left_margin(MARGIN + 4)
        self.set_x(MARGIN + 4)
        self.ln(1.5)
        yield
        self.ln(1)
        self.set_left_margin(MARGIN)
        end_y = self.get_y()
        if self.page_no() == start_page:
            with self.local_context(fill_color=color, draw_color=color):
                self.rect(MARGIN, start_y, 1.6, end_y - start_y, style="F")
        self.ln(3)
        self.set_x(MARGIN)

    # ---- sections -----------------------------------------------------------------------------

    def render(self, *, charts: bool = True) -> None:
        self.add_page()
        self.cover()
        self.summary_scores()
        if charts:
            self.subscale_chart()
            self.drift_section()
        self.item_table()
        self.missing_items()
        self.action_plan()
        self.findings()
        self.long_item_notes()
        self.scoring_note()

    def cover(self) -> None:
        d, scale = self.data, self.scale
        self.set_font(FAMILY, "B", 9)
        self.set_text_color(*NAVY)
        self.cell(0, 5, "FIDELITY REVIEW REPORT", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)
        self.set_font(FAMILY, "B", 21)
        self.set_text_color(*INK)
        self.multi_cell(0, 9.5, plain(d.program_name), align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FAMILY, size=11.5)
        self.set_text_color(*MUTED)
        self.multi_cell(
            0,
            5.8,
            f"{scale.title} · version {scale.version}",
            align=Align.L,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.ln(2)
        self.set_draw_color(*NAVY)
        self.set_line_width(0.6)
        self.line(MARGIN, self.get_y(), self.w - MARGIN, self.get_y())
        self.set_line_width(0.2)
        self.set_draw_color(*RULE)
        self.ln(4)

        if d.is_draft:
            with self.notice(DRAFT_RED):
                self.set_font(FAMILY, "B", 10)
                self.set_text_color(*DRAFT_RED)
                self.multi_cell(0, 5, DRAFT_LABEL, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                stage = STAGES.get(str(d.status), f"at the {d.status} stage")
                self.paragraph(
                    f"This review is {stage} and not final: the scores below are those of the consensus "
                    "ratings agreed so far and may change before the review is finalized."
                )

        dates = fmt_date(d.review_date)
        if d.review_end_date and d.review_end_date != d.review_date:
            dates += f" to {d.review_end_date.isoformat()}"
        if d.status is None:
            status = "Review file (not stored in the database)"
        elif d.is_draft:
            status = f"{str(d.status).capitalize()} — not final"
        else:
            status = "Final"
            if d.finalized_by or d.finalized_at:
                status += (
                    f" — finalized by {plain(d.finalized_by or 'unknown')} on {fmt_when(d.finalized_at)}"
                )
        facts = [
            ("Program", d.program_name),
            ("Provider", d.provider or "—"),
            ("Region", d.region or "—"),
            ("Scale", f"{scale.title} ({scale.id} {scale.version})"),
            ("Review date", dates),
            ("Review type", plain(d.review_type)[:1].upper() + plain(d.review_type)[1:] or "—"),
            ("Reviewers", ", ".join(plain(r) for r in d.raters) or "—"),
            ("Status", status),
        ]
        if d.review_id is not None:
            facts.append(("Review number", f"#{d.review_id}"))
        if d.amendment_of is not None:
            reason = f" — reason: {plain(d.amendment_reason)}" if d.amendment_reason else ""
            facts.append(("Amendment", f"Amendment {d.amendment_number} of review #{d.amendment_of}{reason}"))
        self.fact_table(facts)

        if d.amended_by is not None:
            with self.notice(DRAFT_RED):
                self.paragraph(
                    f"This review has been amended: review #{d.amended_by} corrects it and replaces it. "
                    "Use the report of the amendment."
                )

    def fact_table(self, facts: Sequence[tuple[str, str]]) -> None:
        self.set_font(FAMILY, size=BODY_PT)
        with self.table(
            col_widths=(32, self.epw - 32),
            width=self.epw,
            first_row_as_headings=False,
            borders_layout=TableBordersLayout.NONE,
            text_align=(Align.L, Align.L),
            line_height=BODY_PT * 0.48,
            padding=(0.8, 1, 0.8, 0),
            v_align=VAlign.T,
        ) as table:
            for label, value in facts:
                row = table.row()
                row.cell(label, style=FontFace(color=MUTED))
                row.cell(plain(value))
        self.ln(3)

    def summary_scores(self) -> None:
        score, scale = self.score, self.scale
        total = score.get("total", {})
        method = TotalMethod(score.get("method", scale.scoring.method.value))
        self.heading("Summary of scores")

        band = score.get("band")
        cards = [
            ("Total mean", fmt_number(total.get("mean"))),
            ("Total sum", str(total.get("sum", 0))),
            ("Items rated", f"{total.get('rated', 0)} of {total.get('items', 0)}"),
        ]
        gap = 3.0
        band_w = self.epw * 0.40
        card_w = (self.epw - band_w - gap * len(cards)) / len(cards)
        card_h = 19.0
        if self.will_page_break(card_h + 4):
            self.add_page()
        y = self.get_y()
        x = MARGIN
        for label, value in cards:
            with self.local_context(fill_color=ZEBRA, draw_color=RULE):
                self.rect(x, y, card_w, card_h, style="DF")
            self.set_xy(x, y + 2.5)
            self.set_font(FAMILY, size=8)
            self.set_text_color(*MUTED)
            self.cell(card_w, 4, label, align=Align.C)
            self.set_xy(x, y + 8)
            self.set_font(FAMILY, "B", 17)
            self.set_text_color(*INK)
            self.cell(card_w, 8, value, align=Align.C)
            x += card_w + gap
        edge = band_color(scale, band)
        with self.local_context(fill_color=_tint(edge), draw_color=edge, line_width=0.6):
            self.rect(x, y, band_w, card_h, style="DF")
        self.set_xy(x, y + 2.5)
        self.set_font(FAMILY, size=8)
        self.set_text_color(*MUTED)
        self.cell(band_w, 4, "Band", align=Align.C)
        self.set_xy(x + 2, y + 7.5)
        self.set_font(FAMILY, "B", 13 if len(band or "") <= 24 else 10.5)
        self.set_text_color(*INK)
        self.multi_cell(band_w - 4, 5.5, band or "Not determined", align=Align.C, max_line_height=5.5)
        self.set_xy(MARGIN, y + card_h + 3)
        self._body_font()

        lines = []
        banded = score.get("banded_value")
        if banded is not None:
            places = scale.scoring.precision
            rounding = f", rounded half-up to {places} decimal{'' if places == 1 else 's'}" if places else ""
            lines.append(f"The bands read {METHOD_TEXT[method]}{rounding}: {banded:.{places}f}.")
        elif method is TotalMethod.SUM:
            lines.append("No band is given: the bands read the total sum, which needs every item rated.")
        else:
            lines.append("No band is given: no item is rated.")
        found = next((b for b in scale.scoring.bands if b.label == band), None)
        if found is not None and found.description:
            lines.append(f"{found.label}: {found.description}")
        if score.get("meets_minimum_total") is not None and scale.scoring.minimum_total is not None:
            verdict = "meets" if score["meets_minimum_total"] else "does not meet"
            lines.append(f"The total {verdict} the required minimum of {scale.scoring.minimum_total:g}.")
        if not total.get("complete", True):
            lines.append(
                f"{total.get('items', 0) - total.get('rated', 0)} item(s) not rated: the means are taken "
                "over the rated items (see Items not rated)."
            )
        for line in lines:
            self.paragraph(line, size=9)

        subscales = score.get("subscales", {})
        if subscales:
            self.ln(1)
            self.set_font(FAMILY, size=9)
            with self.table(
                col_widths=(self.epw - 60, 30, 30),
                width=self.epw,
                text_align=(Align.L, Align.C, Align.C),
                line_height=9 * 0.5,
                padding=(1.2, 2),
                borders_layout=TableBordersLayout.HORIZONTAL_LINES,
                headings_style=FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=HEAD_FILL),
                v_align=VAlign.M,
            ) as table:
                head = table.row()
                for text in ("Subscale", "Items rated", "Mean rating"):
                    head.cell(text)
                for sub_id, sub in subscales.items():
                    row = table.row()
                    row.cell(f"{sub_id} · {sub.get('name', '')}")
                    row.cell(f"{sub.get('rated', 0)} of {sub.get('items', 0)}")
                    row.cell(fmt_number(sub.get("mean")))
                row = table.row(style=FontFace(emphasis="BOLD", fill_color=GROUP_FILL))
                row.cell("All items")
                row.cell(f"{total.get('rated', 0)} of {total.get('items', 0)}")
                row.cell(fmt_number(total.get("mean")))
            self.ln(3)
        self._body_font()

    def subscale_chart(self) -> None:
        from reports.drawing import subscale_chart

        if subscale_chart(self, FAMILY, self.scale, self.score):
            self.ln(1)
        self._body_font()

    def drift_section(self) -> None:
        series = self.data.drift
        if series is None or series.values.empty:
            return
        from reports.drawing import drift_chart

        self.heading(DRIFT_HEADING, space_after=70)
        totals = series.values.loc[series.values["measure"] == "Total"]
        self.note(
            f"This review and the program's {len(totals) - 1} earlier final review(s) on "
            f"{self.scale.id.upper()}, oldest first. The total shown is {series.total_measure.lower()}, "
            "the value the bands read."
        )
        drift_chart(self, FAMILY, series, self.scale)
        self._body_font()
        precision = self.scale.scoring.precision if series.total_is_mean else 0
        self.set_font(FAMILY, size=8.5)
        with self.table(
            col_widths=(50, 24, 36, self.epw - 110),
            width=self.epw,
            text_align=(Align.L, Align.C, Align.C, Align.L),
            line_height=8.5 * 0.5,
            padding=(1, 2),
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            headings_style=FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=HEAD_FILL),
        ) as table:
            head = table.row()
            for text in ("Review date", "Scale version", series.total_measure, "Band"):
                head.cell(text)
            for review_id, date, version, value, band in totals.loc[
                :, ["review_id", "review_date", "scale_version", "value", "band"]
            ].itertuples(index=False, name=None):
                this = review_id == self.data.review_id
                row = table.row(style=FontFace(emphasis="BOLD") if this else None)
                day = f"{date:%Y-%m-%d}" + (" (this review)" if this else "")
                row.cell(day)
                row.cell(str(version))
                row.cell(NOT_RATED if value is None or value != value else f"{float(value):.{precision}f}")
                row.cell(plain(band) if isinstance(band, str) and band else "no band")
        self.ln(2)
        if series.note:
            self.note(series.note)
        self._body_font()

    def item_table(self) -> None:
        scale, score = self.scale, self.score
        items = score.get("items", {})
        threshold = scale.scoring.action_plan_at_or_below
        self.heading("Item ratings", space_after=45)
        low, high = scale.rating.min, scale.rating.max
        key = f"Ratings run from {low} (not implemented) to {high} (fully implemented)."
        if threshold is not None:
            key += f" Shaded ratings ({threshold} or lower) need an action plan."
        self.note(key)

        self.set_font(FAMILY, size=TABLE_PT)
        line_h = TABLE_PT * 0.45
        padding = 1.3
        max_row = (self.h - self.t_margin - self.b_margin) * 0.5
        with self.table(
            col_widths=ITEM_COLUMNS,
            width=sum(ITEM_COLUMNS),
            text_align=(Align.L, Align.L, Align.C, Align.L, Align.L),
            line_height=line_h,
            padding=padding,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            headings_style=FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=HEAD_FILL),
            v_align=VAlign.T,
            wrapmode=WrapMode.WORD,
            repeat_headings=1,
            cell_fill_mode=TableCellFillMode.NONE,
        ) as table:
            head = table.row()
            for text in ("ID", "Item", "Rating", "Evidence", "Recommendation"):
                head.cell(text)
            for sub in scale.subscales:
                group = table.row()
                group.cell(
                    f"{sub.id} · {sub.name}",
                    colspan=len(ITEM_COLUMNS),
                    style=FontFace(emphasis="BOLD", fill_color=GROUP_FILL, color=NAVY),
                )
                for item_id in sub.items:
                    item = scale.item(item_id)
                    entry = items.get(item_id, {})
                    rating = entry.get("rating")
                    detail = self.data.item(item_id)
                    name = item.name
                    working = computed_text(entry, scale, item_id)
                    if working:
                        name += f"\n{working}"
                    texts = [plain(name), self._evidence(item_id, rating), plain(detail.recommendation)]
                    texts = self._fit_row(item_id, item.name, texts, max_row, line_h, padding)
                    row = table.row()
                    row.cell(item_id)
                    row.cell(texts[0])
                    low = threshold is not None and rating is not None and rating <= threshold
                    row.cell(
                        NOT_RATED if rating is None else str(rating),
                        style=FontFace(emphasis="BOLD", size_pt=10, fill_color=ACTION_FILL if low else None),
                    )
                    row.cell(texts[1])
                    row.cell(texts[2])
        self.ln(2)
        self._body_font()

    def _evidence(self, item_id: str, rating: int | None) -> str:
        detail = self.data.item(item_id)
        parts = [plain(detail.evidence), plain(detail.note)]
        if rating is None:
            parts.insert(0, self._why_unrated(item_id))
        if detail.data_sources:
            parts.append("Sources: " + "; ".join(plain(s) for s in detail.data_sources))
        return "\n".join(p for p in parts if p)

    def _why_unrated(self, item_id: str) -> str:
        detail = self.data.item(item_id)
        if detail.not_rated_reason:
            return f"Not rated: {plain(detail.not_rated_reason)}"
        if detail.pending:
            return f"Not rated yet: {plain(detail.pending)}"
        return self._generic_unrated()

    def _generic_unrated(self) -> str:
        return "No consensus rating yet." if self.data.is_draft else "Not rated."

    def _fit_row(
        self, item_id: str, item_name: str, texts: list[str], max_height: float, line_h: float, padding: float
    ) -> list[str]:
        """Texts that fit one table row on a page: a text too long for that is cut, ending with a
        pointer to the full text printed after the table."""
        widths = ITEM_COLUMNS[1], ITEM_COLUMNS[3], ITEM_COLUMNS[4]
        columns = ("Item", "Evidence", "Recommendation")
        max_lines = max(3, int((max_height - 2 * padding) / line_h))
        fitted = []
        for text, width, column in zip(texts, widths, columns, strict=True):
            if len(text) < max_lines * 8 and text.count("\n") < max_lines // 2:
                fitted.append(text)  # too short to fill max_lines: skip measuring it
                continue
            lines = self._lines(text, width - 2 * padding)
            if len(lines) > max_lines:
                self.long_notes.append((f"{item_id} {item_name}", column, text))
                kept = " ".join(lines[: max_lines - 2]).rstrip()
                text = f"{kept} …\n(continued under “Item notes in full”)"
            fitted.append(text)
        return fitted

    def _lines(self, text: str, width: float) -> list[str]:
        if not text:
            return []
        result = self.multi_cell(width, 1, text, dry_run=True, output="LINES", wrapmode=WrapMode.WORD)
        return list(result)  # type: ignore[arg-type]

    def missing_items(self) -> None:
        missing = self.score.get("missing") or []
        if not missing:
            return
        self.heading("Items not rated", level=2)
        explained = [i for i in missing if self.data.item(i).not_rated_reason or self.data.item(i).pending]
        others = [i for i in missing if i not in explained]
        lines = [f"{i} {self._item_name(i)} — {self._why_unrated(i)}" for i in explained]
        if len(others) > 6:  # a draft's long to-do list: one line
            lines.append(f"{len(others)} items: {self._generic_unrated()} {', '.join(others)}.")
        else:
            lines.extend(f"{i} {self._item_name(i)} — {self._why_unrated(i)}" for i in others)
        self.bullets(lines, size=9)

    def action_plan(self) -> None:
        scale, score = self.scale, self.score
        threshold = scale.scoring.action_plan_at_or_below
        self.heading("Action plan")
        if threshold is None:
            self.paragraph("This scale sets no action-plan threshold.")
        else:
            plan = score.get("action_plan") or []
            if not plan:
                self.paragraph(f"No item is rated {threshold} or lower: no action plan is required.")
            else:
                self.paragraph(
                    f"Items rated {threshold} or lower need an improvement plan. The reviewers recommend:"
                )
                self.set_font(FAMILY, size=9)
                with self.table(
                    col_widths=(58, 16, self.epw - 74),
                    width=self.epw,
                    text_align=(Align.L, Align.C, Align.L),
                    line_height=9 * 0.47,
                    padding=(1.3, 1.5),
                    borders_layout=TableBordersLayout.HORIZONTAL_LINES,
                    headings_style=FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=HEAD_FILL),
                    v_align=VAlign.T,
                ) as table:
                    head = table.row()
                    for text in ("Item", "Rating", "Recommendation"):
                        head.cell(text)
                    for item_id in plan:
                        rating = score["items"][item_id]["rating"]
                        advice = (
                            plain(self.data.item(item_id).recommendation) or "No recommendation recorded."
                        )
                        if len(advice) > 1500:
                            advice = advice[:1500].rstrip() + " … (in full in the item table)"
                        row = table.row()
                        row.cell(f"{item_id} {self._item_name(item_id)}")
                        row.cell(str(rating), style=FontFace(emphasis="BOLD", fill_color=ACTION_FILL))
                        row.cell(advice)
                self.ln(2)
        below = score.get("below_minimum") or []
        if below:
            self.heading("Below the minimum rating set for the item", level=2)
            self.bullets(
                [
                    f"{i} {self._item_name(i)}: rated {score['items'][i]['rating']}, "
                    f"minimum {scale.item(i).minimum}"
                    for i in below
                    if scale.has_item(i)
                ],
                size=9,
            )
        self._body_font()

    def findings(self) -> None:
        d = self.data
        texts = [("Strengths", d.strengths), ("Summary", d.summary), ("Recommendations", d.recommendations)]
        if not any(plain(t) for _, t in texts):
            return
        self.heading("Findings")
        for title, text in texts:
            if plain(text):
                self.heading(title, level=2)
                self.paragraph(plain(text))

    def long_item_notes(self) -> None:
        if not self.long_notes:
            return
        self.heading("Item notes in full")
        for label, column, text in self.long_notes:
            self.heading(f"{label} — {column.lower()}", level=2)
            self.paragraph(text, size=9)

    def scoring_note(self) -> None:
        scale, score = self.scale, self.score
        method = TotalMethod(score.get("method", scale.scoring.method.value))
        self.heading("How this was scored")
        places = scale.scoring.precision
        lines = [
            f"Each item is rated from {scale.rating.min} to {scale.rating.max} against the anchors of "
            f"{scale.title}, version {scale.version}. Computed items are rated from the numbers the "
            "reviewers entered, as shown under the item's name.",
            f"A subscale score is the mean of its rated items. The band is read from {METHOD_TEXT[method]}"
            + (f", rounded half-up to {places} decimal{'' if places == 1 else 's'}." if places else "."),
        ]
        bands = "; ".join(_band_text(b) for b in bands_lowest_first(scale))
        lines.append(f"Bands: {bands}.")
        if scale.scoring.action_plan_at_or_below is not None:
            lines.append(
                f"Items rated {scale.scoring.action_plan_at_or_below} or lower are listed in the action plan."
            )
        for line in lines:
            self.paragraph(line, size=9)
        for extra in (scale.scoring.rounding_note, scale.scoring.missing_items_note):
            if extra:
                self.paragraph(" ".join(extra.split()), size=9)
        source = " ".join(scale.source.split())
        digest = score.get("content_hash") or scale.content_hash
        self.note(
            f"Scale source: {source} Scale file {scale.id} {scale.version}, content hash {digest[:12]}."
        )
        if self.data.source:
            self.note(f"Report made from {self.data.source}.")

    def _item_name(self, item_id: str) -> str:
        return self.scale.item(item_id).name if self.scale.has_item(item_id) else ""


def _band_text(band: TotalBand) -> str:
    if band.min is not None and band.max is not None:
        return f"{band.label} {band.min:g} to {band.max:g}"
    if band.min is not None:
        return f"{band.label} {band.min:g} or more"
    if band.max is not None:
        return f"{band.label} up to {band.max:g}"
    return band.label
