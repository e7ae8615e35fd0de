"""The PDF report's item sections: the table of every item with its rating and evidence,
the items not rated, the action plan and the item notes too long for the table."""

from __future__ import annotations

from fpdf.enums import Align, TableBordersLayout, TableCellFillMode, VAlign, WrapMode
from fpdf.fonts import FontFace

from reports.pdf_document import ReportDocument
from reports.pdf_style import (
    ACTION_FILL,
    FAMILY,
    GROUP_FILL,
    HEAD_FILL,
    ITEM_COLUMNS,
    NAVY,
    NOT_RATED,
    TABLE_PT,
    computed_text,
    plain,
)

ADVICE_CHARACTERS = 80  # the most of a recommendation the action plan repeats
REASON_CHARACTERS = 100  # the most of a not-rated reason the list of items not rated repeats


def _shortened(text: str, characters: int) -> str:
    return text if len(text) <= characters else f"{text[:characters].rstrip()} … (in full in the item table)"


class ItemSections(ReportDocument):
    """The sections of the report that go item by item (reports/pdf.py puts them in order)."""

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
                    texts = self._fit_row(item_id, item.name, texts)
                    row = table.row()
                    row.cell(item_id)
                    row.cell(texts[0])
                    low = threshold is not None and rating is not None and rating <= threshold
                    overridden = rating is not None and detail.override_reason
                    row.cell(
                        NOT_RATED if rating is None else f"{rating}*" if overridden else str(rating),
                        style=FontFace(emphasis="BOLD", size_pt=10, fill_color=ACTION_FILL if low else None),
                    )
                    row.cell(texts[1])
                    row.cell(texts[2])
        self.ln(2)
        self._body_font()

    def _evidence(self, item_id: str, rating: int | None) -> str:
        detail = self.data.item(item_id)
        parts = [plain(detail.evidence), plain(detail.note)]
        if rating is not None and detail.override_reason:
            parts.insert(0, f"*Override of the computed rating: {plain(detail.override_reason)}")
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

    def missing_items(self) -> None:
        missing = self.score.get("missing") or []
        if not missing:
            return
        self.heading("Items not rated", level=2)
        explained = [i for i in missing if self.data.item(i).not_rated_reason or self.data.item(i).pending]
        others = [i for i in missing if i not in explained]
        lines = [
            f"{i} {self._item_name(i)} — {_shortened(self._why_unrated(i), REASON_CHARACTERS)}"
            for i in explained
        ]
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
                        if len(advice) > ADVICE_CHARACTERS:
                            cut = advice[:ADVICE_CHARACTERS].rstrip()
                            advice = f"{cut} … (in full in the item table and its notes)"
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

    def long_item_notes(self) -> None:
        if not self.long_notes:
            return
        self.heading("Item notes in full")
        for label, column, text in self.long_notes:
            self.heading(f"{label} — {column.lower()}", level=2)
            self.paragraph(text, size=9)

    def _item_name(self, item_id: str) -> str:
        return self.scale.item(item_id).name if self.scale.has_item(item_id) else ""
