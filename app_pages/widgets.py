"""The widgets every page shares: errors and save states beside a field, a widget that shows
the database's value, CSV downloads, the analytics pages' start, tabs kept in the URL and
pages of long tables."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa
import streamlit as st

from app_pages.markup import md
from services.errors import FidelityError, StaleWriteError

T = TypeVar("T")


def show_error(exc: FidelityError) -> None:
    icon = ":material/sync_problem:" if isinstance(exc, StaleWriteError) else ":material/error:"
    for problem in exc.problems:
        st.error(md(problem), icon=icon)  # messages quote names and cell values


def attempt(action: Callable[[], T], *, feedback_key: str) -> T | None:
    """Run a service call; a refusal is kept in session state to show beside the field.

    A save refused because another window or user saved the same thing first is kept as
    "stale": the rerun that follows shows the database's entry (sync_widget), so the user
    sees what is saved and can make their change again on top of it."""
    try:
        result = action()
    except StaleWriteError as exc:
        st.session_state[feedback_key] = ("stale", exc.problems)
        return None
    except FidelityError as exc:
        st.session_state[feedback_key] = ("error", exc.problems)
        return None
    st.session_state[feedback_key] = ("saved", dt.datetime.now().strftime("%H:%M:%S"))
    return result


STALE_ADVICE = "Not saved. The page now shows what is saved; make your change again to save it on top."
NOT_CONFIRMED = "Not saved yet: waiting for the server to confirm this entry"


def show_feedback(feedback_key: str, fields: Mapping[str, str] | None = None) -> None:
    """The visible save state of a field or a group of fields: saved at a time, or the refusal
    in words.

    `fields` (widget key -> label, for widgets kept in step with the database by sync_widget)
    makes the state exact: "Saved at" is shown only while every one of those widgets shows
    what the database holds. A refused entry, or one the server has not confirmed (a note
    still being typed, a dropped connection, a server that died mid-save), shows "Not saved
    yet" instead of an older "Saved at": checked here on each run and, between runs (when
    the server cannot answer), by a small script in the browser that compares what each
    widget shows with the database's value it was last sent.
    """
    state = st.session_state.get(feedback_key)
    kind, payload = state if state is not None else (None, None)
    if fields is None:
        if kind is not None:
            _show_state(kind, payload)
        return
    shown = {key: label for key, label in fields.items() if f"{key}|db" in st.session_state}
    unsaved = [
        label
        for key, label in shown.items()
        if not _same(st.session_state.get(key), st.session_state[f"{key}|db"])
    ]
    box = _css_key(f"save-state-{feedback_key}")
    with st.container(key=box):
        # The style comes first in the box on every run, in the first element (a <style> applies
        # even where hidden; a markdown's as soon as it is drawn, st.html's only once its code has
        # loaded): a run cut short, by a dropped connection or a server that died, leaves this
        # run's first elements and the last run's others on screen, and the style must be there.
        # The confirmation ("Saved at") and the wait ("Not saved yet: waiting…") are both drawn,
        # each marked by an empty span: the browser guard's data-unsaved decides which shows.
        # Captions, not keyed containers around them: each element is a share of every rerun.
        me = f".st-key-{box}"
        style = (
            f"\n\n<style>{me}:not([data-unsaved]) [data-testid='stElementContainer']:has(.{_PENDING}),"
            f" {me}[data-unsaved] [data-testid='stElementContainer']:has(.{_SAVED}),"
            f" {me} [data-testid='stElementContainer']:has(script, [data-testid='stHtml']),"
            f" {me} [data-testid='stElementContainer']:has(style)"
            ":not(:has([data-testid='stCaptionContainer']))"
            " { display: none; }</style>"
        )
        if kind in ("error", "stale"):  # rare (a refused save): the style as an element of its own
            st.markdown(style, unsafe_allow_html=True)
            style = ""
            _show_state(kind, payload)
        if unsaved:
            text = f":orange[:material/edit_note: Not saved yet: {md(', '.join(unsaved))}]"
            st.caption(text + style, unsafe_allow_html=True)
        else:
            if kind in ("saved", "done"):
                text = _state_text(kind, payload if kind == "saved" else md(payload))  # HTML allowed here
                st.caption(f"{text}<span class='{_SAVED}'></span>{style}", unsafe_allow_html=True)
                style = ""
            pending = f":orange[:material/hourglass_top: {NOT_CONFIRMED}]<span class='{_PENDING}'></span>"
            st.caption(pending + style, unsafe_allow_html=True)
        watched = [{"label": label, "saved": st.session_state[f"{key}|db"]} for key, label in shown.items()]
        st.html(
            re.sub(
                r"__(BOX|FIELDS)__", lambda m: box if m[1] == "BOX" else _json_for_script(watched), _GUARD
            ),
            unsafe_allow_javascript=True,
        )


# The marks (CSS classes) of the save state's two captions: the confirmation and the wait.
_SAVED, _PENDING = "fidelity-saved", "fidelity-pending"


def _state_text(kind: str, payload: Any) -> str:
    """The confirmation's caption text: "Saved at 14:03:12", or what was done ("done")."""
    return f":green[:material/cloud_done: {'Saved at ' + payload if kind == 'saved' else payload}]"


def _show_state(kind: str, payload: Any) -> None:
    if kind in ("saved", "done"):
        st.caption(_state_text(kind, payload))
    else:
        icon = ":material/sync_problem:" if kind == "stale" else ":material/error:"
        for problem in payload:
            st.error(md(problem), icon=icon)
        if kind == "stale":
            st.caption(STALE_ADVICE)


def _same(shown: Any, saved: Any) -> bool:
    """Whether a widget shows the saved value, as the services would store it (text trimmed,
    empty text and empty lists as nothing)."""

    def norm(value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        if isinstance(value, list | tuple):
            return [v for v in (norm(v) for v in value) if v is not None] or None
        return value

    return bool(norm(shown) == norm(saved))


def _css_key(key: str) -> str:
    """A container key that is also the CSS class Streamlit gives it (st-key-<key>)."""
    return re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


def _json_for_script(value: Any) -> str:
    return json.dumps(value, default=str).replace("<", "\\u003c")


# Marks the save-state box `data-unsaved` while any watched widget shows something other than
# the database's value: CSS then hides "Saved at" and shows "Not saved yet". One document-wide
# listener and timer serve every box; each run re-registers its box with the values it sent.
_GUARD = """<script>
(() => {
  const box = document.currentScript && document.currentScript.closest(".st-key-__BOX__");
  if (!box) return;
  const guards = (window.fidelitySaveGuards = window.fidelitySaveGuards || new Map());
  guards.set("__BOX__", { box, fields: __FIELDS__ });
  if (!window.fidelitySaveGuardCheck) {
    const labelled = (scope, label) =>
      Array.from(scope.querySelectorAll("[aria-label]")).find(
        (el) => el.getAttribute("aria-label") === label);
    const multiselect = (scope, label) =>
      Array.from(scope.querySelectorAll("[data-testid='stMultiSelect']")).find(
        (el) => el.querySelector("[data-testid='stWidgetLabel']")?.textContent.trim() === label);
    const read = (scope, label) => {
      const multi = multiselect(scope, label);
      if (multi) {
        const tags = multi.querySelectorAll("[data-testid='stMultiSelectTagsContainer'] [data-tag]");
        return { kind: "list", value: Array.from(tags, (t) => t.getAttribute("aria-label")) };
      }
      const el = labelled(scope, label);
      if (!el) return null;
      if (el.getAttribute("role") === "radiogroup") {
        const checked = el.querySelector("input[type='radio']:checked");
        const text = checked?.closest("label")?.querySelector("[data-testid='stMarkdownContainer']");
        return { kind: "option", value: text ? text.textContent.trim() : null };
      }
      if (el.matches("input[type='number']")) return { kind: "number", value: el.value };
      if (el.matches("textarea, input")) return { kind: "text", value: el.value };
      return null;
    };
    const clean = (v) => (v === null || v === undefined ? "" : String(v).trim());
    const same = (shown, saved) => {
      if (shown.kind === "list") {
        const a = shown.value.map(clean).filter(Boolean).sort();
        const b = (saved || []).map(clean).filter(Boolean).sort();
        return a.length === b.length && a.every((v, i) => v === b[i]);
      }
      if (shown.kind === "number") {
        if (shown.value.trim() === "") return saved === null;
        return saved !== null && Number(shown.value) === Number(saved);
      }
      return clean(shown.value) === clean(saved);
    };
    const check = () => {
      for (const [name, guard] of guards) {
        if (!guard.box.isConnected || !guard.box.classList.contains("st-key-" + name)) {
          guards.delete(name);
          continue;
        }
        let scope = guard.box.parentElement;
        const first = guard.fields[0]?.label;
        while (first && scope && scope.parentElement && !read(scope, first)) scope = scope.parentElement;
        const unsaved = guard.fields.filter((f) => {
          const shown = scope ? read(scope, f.label) : null;
          return shown !== null && !same(shown, f.saved);
        });
        if (unsaved.length) guard.box.setAttribute("data-unsaved", unsaved.map((f) => f.label).join(", "));
        else guard.box.removeAttribute("data-unsaved");
      }
    };
    window.fidelitySaveGuardCheck = check;
    for (const type of ["input", "change", "click", "keyup"]) {
      document.addEventListener(type, () => { check(); setTimeout(check, 0); }, true);
    }
    setInterval(check, 200);
  }
  window.fidelitySaveGuardCheck();
})();
</script>"""


_UNSEEN = object()


def sync_widget(key: str, saved: Any) -> None:
    """Show the database's value in a widget: on first sight, and whenever the database
    changes under it (another window saved). An entry this session could not save stays
    on screen, with its error, until the user fixes it."""
    known = f"{key}|db"
    if key not in st.session_state or st.session_state.get(known, _UNSEEN) != saved:
        st.session_state[key] = saved
    st.session_state[known] = saved


def csv_download(
    frame: pd.DataFrame | Callable[[], pd.DataFrame],
    label: str,
    file_name: str,
    key: str,
    *,
    help: str | None = None,
) -> None:
    """A CSV download of the table, or of what `frame()` makes: made when clicked, not on every
    rerun (a table a page would reshape only for the download is passed as a function)."""
    # Formula-like text (a program "=HYPERLINK(…)") made inert. Imported when a page draws a
    # download, not with every page: the exports module brings the FHIR and REDCap formats.
    from services.exports import table_csv

    st.download_button(
        label,
        data=lambda: table_csv(frame() if callable(frame) else frame),  # made when clicked
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        key=key,
        on_click="ignore",
        help=help,
    )


def analytics_intro(problems: list[str], *, empty: bool) -> None:
    """The analytics pages' start: the data's problems (e.g. a changed scale file), and a stop
    with what to do when there are no final reviews to analyse."""
    for problem in problems:
        st.warning(problem, icon=":material/warning:")
    if empty:
        st.info("No final reviews yet: run `fidelity demo` or finalize a review.", icon=":material/info:")
        st.page_link("app_pages/reviews.py", label="Go to Reviews", icon=":material/assignment:")
        st.stop()


def view_tabs(labels: Sequence[str], key: str, *, default: str | None = None) -> Sequence[Any]:
    """Tabs of which only the open one is drawn (see each tab's `.open`): a rerun draws one part of
    a page, not all of it. The open tab is kept in the URL (?view=), so a reload or a link opens it.

    Kept by a callback rather than bind="query-params", which costs twice as much on every rerun.
    """
    wanted = st.query_params.get(VIEW_PARAM)
    return st.tabs(
        labels,
        key=key,
        default=wanted if wanted in labels else (default or labels[0]),
        on_change=_keep_view,
        args=(key,),
    )


def view_switch(labels: Sequence[str], key: str, *, default: str | None = None) -> str:
    """The open view of a page, chosen in one row of buttons (a segmented control): the page then
    draws that view alone. Kept in the URL (?view=) as view_tabs keeps a tab, so a reload or a
    link opens it. One element where tabs are a block each (n + 1 nodes) on every rerun."""
    wanted = st.query_params.get(VIEW_PARAM)
    chosen = st.segmented_control(
        "View",
        labels,
        default=wanted if wanted in labels else (default or labels[0]),
        required=True,  # a click on the open view keeps it open: some view is always shown
        key=key,
        on_change=_keep_view,
        args=(key,),
        label_visibility="collapsed",
    )
    return str(chosen)


def section_switch(labels: Sequence[str], key: str) -> str:
    """The open section inside a view, chosen as view_switch chooses a view (not in the URL)."""
    return str(
        st.segmented_control(
            "Section", labels, default=labels[0], required=True, key=key, label_visibility="collapsed"
        )
    )


def keep_param(name: str, value: str) -> None:
    """Put `value` in the URL as ?name=, unless it is there already: each assignment sends the
    browser the whole query string again, which a rerun need not do when nothing changed."""
    if st.query_params.get(name) != value:
        st.query_params[name] = value


def _keep_view(key: str) -> None:
    st.query_params[VIEW_PARAM] = st.session_state[key]


VIEW_PARAM = "view"


Rows = TypeVar("Rows", pd.DataFrame, pa.Table)


def page_start(rows: int, size: int, key: str, noun: str = "rows", *, caption: bool = True) -> int:
    """The first row of the page a reader chose, with a page number to reach the rest (none
    when everything fits on one page): a reader scans `size` rows, not 20,000. The caption
    says which rows these are (a chart says it in its title instead)."""
    if rows <= size:
        return 0
    pages = -(-rows // size)
    page = st.number_input(
        f"Page (of {pages})", min_value=1, max_value=pages, value=1, step=1, key=f"{key}_{rows}", width=160
    )  # keyed by the row count: new filters start again on page 1
    start = (int(page) - 1) * size
    if caption:
        st.caption(_span(start, size, rows, noun))
    return start


def page_span(rows: int, size: int, key: str, noun: str = "rows") -> str:
    """Which rows the page chosen with page_start's number shows, in words ("" when all fit), for
    a page that says it in a line of its own above the number (page_start(caption=False)): the
    number's value from the last run, which is the one this run's page_start returns."""
    if rows <= size:
        return ""
    pages = -(-rows // size)
    page = min(max(int(st.session_state.get(f"{key}_{rows}") or 1), 1), pages)
    return _span((page - 1) * size, size, rows, noun)


def _span(start: int, size: int, rows: int, noun: str) -> str:
    return (
        f"{noun.capitalize()} {start + 1}–{min(start + size, rows)} of {rows:,} ({-(-rows // size)} pages)."
    )


def page_rows(frame: Rows, size: int, key: str, noun: str = "rows") -> Rows:
    """One page of a long table (see page_start); the CSV downloads keep every row. An Arrow
    table's page is a slice of it: nothing is converted on a rerun."""
    if len(frame) <= size:
        return frame
    start = page_start(len(frame), size, key, noun)
    if isinstance(frame, pa.Table):
        return frame.slice(start, size)
    return frame.iloc[start : start + size]
