"""The PDF site-visit report of one review (fpdf2, DejaVu Sans bundled for Unicode names).

`render_report(data)` returns the PDF as bytes. Everything reviewers typed (names, notes,
evidence) is written as plain text: no HTML or markdown is interpreted.
"""

from __future__ import annotations

from fpdf.enums import Align, TableBordersLayout, VAlign, XPos, YPos
from fpdf.fonts import FontFace

from reports.drawing import drift_chart, subscale_chart
from reports.model import ReportData
from reports.pdf_items import ItemSections
from reports.pdf_style import (
    DRAFT_LABEL,
    DRAFT_RED,
    DRIFT_HEADING,
    FAMILY,
    GROUP_FILL,
    HEAD_FILL,
    INK,
    MARGIN,
    MUTED,
    NAVY,
    NOT_RATED,
    RULE,
    STAGES,
    ZEBRA,
    band_color,
    band_text,
    bands_lowest_first,
    fmt_date,
    fmt_number,
    fmt_when,
    plain,
    tint,
)
from reports.plan_section import plan_section
from reports.wording import METHOD_TEXT, agreement_text
from scales.schema import TotalMethod

__all__ = ["DRAFT_LABEL", "DRIFT_HEADING", "ReportPDF", "plain", "render_report"]


def render_report(data: ReportData, *, charts: bool = True) -> bytes:
    """The report as PDF bytes. `charts=False` leaves out the charts (and the drift series)."""
    pdf = ReportPDF(data)
    pdf.render(charts=charts)
    return bytes(pdf.output())


class ReportPDF(ItemSections):
    """The report of one review, section by section."""

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
        plan_section(self, self.data.plan, self.data.generated_at.date())
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

    def summary_scores(self) -> None:
        self.heading("Summary of scores")
        self._score_cards()
        for line in self._score_lines():
            self.paragraph(line, size=9)
        self._subscale_table()
        self._body_font()

    def _score_cards(self) -> None:
        """The total mean, sum and items rated as cards, and the band in its colour."""
        score, scale = self.score, self.scale
        total = score.get("total", {})
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
        with self.local_context(fill_color=tint(edge), draw_color=edge, line_width=0.6):
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

    def _score_lines(self) -> list[str]:
        """What the total says in words: the value the bands read, the band's description, the
        required minimum, the items not rated."""
        score, scale = self.score, self.scale
        total = score.get("total", {})
        method = TotalMethod(score.get("method", scale.scoring.method.value))
        band = score.get("band")
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
        verdicts = {True: "met", False: "FAILED", None: "not determined"}
        for condition in score.get("conditions") or []:
            lines.append(f"Condition {verdicts[condition['met']]}: {condition['message']}.")
        if not total.get("complete", True):
            lines.append(
                f"{total.get('items', 0) - total.get('rated', 0)} item(s) not rated: the means are taken "
                "over the rated items (see Items not rated)."
            )
        return lines

    def _subscale_table(self) -> None:
        """Each subscale's items rated and mean rating, then all items'."""
        score = self.score
        total = score.get("total", {})
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

    def subscale_chart(self) -> None:
        if subscale_chart(self, FAMILY, self.scale, self.score):
            self.ln(1)
        self._body_font()

    def drift_section(self) -> None:
        series = self.data.drift
        if series is None or series.values.empty:
            return
        self.heading(DRIFT_HEADING, space_after=70)
        totals = series.values.loc[series.values["measure"] == "Total"]
        self.note(
            f"This review and the program's {len(totals) - 1} earlier final review(s) on "
            f"{self.scale.id.upper()}, oldest first. The total shown is {series.total_measure.lower()}, "
            "the value the bands read."
        )
        for message in self.data.drift_left_out:  # the integrity gate left these reviews out
            self.note(message)
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
        bands = "; ".join(band_text(b) for b in bands_lowest_first(scale))
        lines.append(f"Bands: {bands}.")
        if scale.scoring.action_plan_at_or_below is not None:
            due = scale.scoring.action_plan_due_days
            lines.append(
                f"Items rated {scale.scoring.action_plan_at_or_below} or lower are listed in the action plan"
                + (f", due within {due} days." if due else ".")
            )
        if scale.unverified_items:
            lines.append(
                "Not verified against a published source (see the scale file's provenance): "
                f"{', '.join(scale.unverified_items)}."
            )
        if self.data.agreement is not None:
            lines.append(agreement_text(self.data.agreement))
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
