"""The Import page's body: import historical reviews from the spreadsheets agencies keep, and
export reviews.

Every row of an uploaded file is checked first: any problem is listed with its row and
column, and nothing is imported. A clean file shows what will happen (reviews to import,
reviews already imported, new programs) and is imported in one step.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_pages.field import package_section
from app_pages.markup import md
from app_pages.shared import actor, database, identity_banner
from app_pages.widgets import show_error
from services.errors import FidelityError
from services.exports import (
    WIDE_COLUMNS,
    item_ratings_table,
    left_out,
    reviews_table,
    table_csv,
    tables_xlsx,
    wide_table,
    wide_template,
)
from services.historical_import import (
    DATE_FORMATS,
    ImportPlan,
    RowProblem,
    WideImportError,
    combine_wide,
    import_wide,
    plan_wide,
    read_wide_file,
)

UPLOAD_KEY = "import_files"
TEMPLATE_SCALE = "import_template_scale"
EXPORT_SCALE = "import_export_scale"
RESULT = "import_result"
ALL_SCALES = "All scales"


def _problems_table(problems: list[RowProblem]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {"file / sheet": p.source or "", "row": p.row, "column": p.column, "problem": p.message}
            for p in problems
        ],
        columns=["file / sheet", "row", "column", "problem"],
    )
    if not frame["file / sheet"].astype(bool).any():
        frame = frame.drop(columns=["file / sheet"])
    return frame


def _read(uploads: list[Any]) -> tuple[pd.DataFrame | None, list[RowProblem], list[str]]:
    """The uploaded files as one frame, or the problems that stop them being read."""
    frames, row_problems, messages = [], [], []
    for upload in uploads:
        label = upload.name if len(uploads) > 1 else None
        try:
            frames.append(read_wide_file(upload.getvalue(), upload.name, label=label))
        except WideImportError as exc:
            row_problems.extend(exc.row_problems)
        except FidelityError as exc:
            messages.extend(exc.problems)
    if row_problems or messages or not frames:
        return None, row_problems, messages
    return combine_wide(frames), [], []


def _show_problems(row_problems: list[RowProblem], messages: list[str]) -> None:
    count = len(row_problems) + len(messages)
    st.error(
        f"**{count} problem{'s' if count != 1 else ''} found — nothing was imported.** "
        "Correct the spreadsheet and upload it again.",
        icon=":material/error:",
    )
    for message in messages:
        st.error(md(message), icon=":material/error:")
    if row_problems:
        st.dataframe(_problems_table(row_problems), hide_index=True, width="stretch")


def _show_plan(plan: ImportPlan) -> None:
    new, stored = plan.to_create, plan.already_stored
    cols = st.columns(4)
    cols[0].metric("Reviews to import", len(new))
    cols[1].metric("Already imported", len(stored), help="Rows stored by an earlier import: skipped.")
    cols[2].metric("New programs", len(plan.programs_new))
    cols[3].metric("Existing programs", len(plan.programs_existing))
    for note in plan.notes:
        st.info(md(note), icon=":material/info:")
    preview = plan.preview()
    if not preview["source"].astype(bool).any():
        preview = preview.drop(columns=["source"])
    st.dataframe(preview, hide_index=True, width="stretch")
    if plan.programs_new:
        st.caption("New programs: " + md(", ".join(plan.programs_new)))


def _import(frame: pd.DataFrame, plan: ImportPlan, source: str | None) -> None:
    total = len(plan.reviews)
    bar = st.progress(0.0, text=f"Importing {len(plan.to_create)} reviews…")

    def progress(done: int, of: int) -> None:
        bar.progress(done / of if of else 1.0, text=f"Stored {done} of {of} rows")

    try:
        summary = import_wide(database(), frame, actor=actor(), progress=progress, source=source)
    except FidelityError as exc:
        bar.empty()
        show_error(exc)
        return
    bar.progress(1.0, text=f"Done: {total} rows")
    text = str(summary)
    st.session_state[RESULT] = text[:1].upper() + text[1:] + "."
    st.rerun()


def _import_section() -> None:
    st.subheader("Import historical reviews")
    st.markdown(
        "Upload the spreadsheets you keep — **one row per review** — as CSV or Excel (.xlsx). "
        "Every row becomes a final review; programs are created as needed."
    )
    registry = database().registry  # bundled and published scales
    scales = registry.all()
    with st.expander("Spreadsheet layout and template", icon=":material/table_view:"):
        st.markdown(
            "- Headings on **row 1**. Required: `program`, `date`, `scale` (e.g. `dacts`). "
            "Optional: `version` (default: the newest), `provider`, `region`, `type` (baseline, "
            "follow-up, self-assessment; default: baseline for a program's first review, then "
            "follow-up), `raters` (names separated by `;`).\n"
            "- **One column per item id** (`H1`, `H2`, …): a whole-number rating; leave it blank "
            "(or write NA) when the item was not rated.\n"
            f"- Dates as {DATE_FORMATS}; Excel date cells work too.\n"
            "- A workbook may have one sheet per year or per scale; several files can be uploaded together."
        )
        keys = [s.key for s in scales]
        chosen = st.selectbox(
            "Template for",
            keys,
            key=TEMPLATE_SCALE,
            format_func=lambda k: f"{registry.get(*k.split('@')).title} ({k})",
        )
        scale = registry.get(*chosen.split("@"))
        st.download_button(
            "Download the template (CSV)",
            data=wide_template(scale),
            file_name=f"{scale.id}-{scale.version}-import-template.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
        )
        st.caption(f"Columns: {', '.join([*WIDE_COLUMNS, *scale.item_ids])}")

    result = st.session_state.pop(RESULT, None)
    if result:
        st.success(result, icon=":material/check_circle:")

    uploads = st.file_uploader(
        "Spreadsheets (.csv or .xlsx)", type=["csv", "xlsx"], accept_multiple_files=True, key=UPLOAD_KEY
    )
    if not uploads:
        return
    frame, row_problems, messages = _read(list(uploads))
    if frame is None:
        _show_problems(row_problems, messages)
        return
    try:
        plan = plan_wide(database(), frame, actor=actor())
    except FidelityError as exc:
        show_error(exc)
        return
    if plan.problems:
        _show_problems(plan.problems, [])
        return
    st.success(
        f"All {len(plan.reviews)} rows are valid.",
        icon=":material/task_alt:",
    )
    _show_plan(plan)
    count = len(plan.to_create)
    label = f"Import {count} review{'s' if count != 1 else ''}"
    if st.button(label, type="primary", disabled=count == 0, icon=":material/upload:"):
        _import(frame, plan, uploads[0].name if len(uploads) == 1 else None)
    elif count == 0:
        st.caption("Nothing new to import: every row is already stored.")


def _export_section() -> None:
    st.subheader("Export reviews")
    st.caption(
        "Final reviews, with formula-like text made safe for spreadsheets. The wide layout is the "
        "one the import above reads."
    )
    db = database()
    scale_ids = sorted({s.id for s in db.registry.all()})
    chosen = st.selectbox("Scale", [ALL_SCALES, *scale_ids], key=EXPORT_SCALE)
    scale_id = None if chosen == ALL_SCALES else chosen
    try:
        reviews = reviews_table(db, actor=actor(), scale_id=scale_id)
        for message in left_out(reviews):  # failing final reviews: named, not exported
            st.warning(md(message), icon=":material/gpp_maybe:")
        if reviews.empty:
            st.info("No final reviews to export yet.", icon=":material/info:")
            return
        items = item_ratings_table(db, actor=actor(), scale_id=scale_id)
        wide = wide_table(db, actor=actor(), scale_id=scale_id)
    except FidelityError as exc:
        show_error(exc)
        return
    stem = f"fidelity-{scale_id or 'all'}"
    st.write(f"{len(reviews)} final review{'s' if len(reviews) != 1 else ''}.")
    cols = st.columns(4)
    downloads = [
        ("Reviews (CSV)", table_csv(reviews), f"{stem}-reviews.csv", "text/csv"),
        (
            "Reviews and item ratings (XLSX)",
            tables_xlsx({"reviews": reviews, "item ratings": items}),
            f"{stem}-reviews.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("Item ratings (CSV)", table_csv(items), f"{stem}-item-ratings.csv", "text/csv"),
        ("Wide layout (CSV)", table_csv(wide), f"{stem}-wide.csv", "text/csv"),
    ]
    for col, (label, data, name, mime) in zip(cols, downloads, strict=True):
        col.download_button(
            label, data=data, file_name=name, mime=mime, icon=":material/download:", on_click="ignore"
        )


# ---- page -----------------------------------------------------------------------------------


def render() -> None:
    """Draw the Import page (one run of it): the import section, then the exports."""
    identity_banner()
    st.title("Import and export")
    _import_section()
    st.divider()
    package_section(database(), actor())
    st.divider()
    _export_section()
