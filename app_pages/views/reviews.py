"""Reviews (the start page): start a review, and find every review with its score so far."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app_pages.markup import md
from app_pages.shared import actor, allowed, database, identity_banner, kept, review_label
from app_pages.widgets import page_start, show_error
from domain.vocabulary import PERSON_LENGTH
from scales import Scale
from services.access import Action, Actor, Role
from services.database import Database
from services.errors import FidelityError
from services.reviews import (
    ProgramView,
    ReviewStatus,
    ReviewSummary,
    ReviewType,
    count_reviews,
    list_programs,
    list_reviews,
    start_review,
)
from services.scale_library import available_scales
from services.users import list_users

PROGRAM = "reviews_start_program"
SCALE = "reviews_start_scale"
VERSION = "reviews_start_version"
DATE = "reviews_start_date"
TYPE = "reviews_start_type"
RATER_1 = "reviews_start_rater_1"
RATER_2 = "reviews_start_rater_2"
REVIEWERS = "reviews_start_reviewers"
ALL = "all"
LIST_PAGE = 100  # reviews per page of the list, newest first: one query per page at agency scale
REVIEW_TYPES = [t.value for t in ReviewType]
STATUSES = [s.value for s in ReviewStatus]
STATUS_TEXT = {
    ALL: "All statuses",
    "draft": "Draft — raters are rating",
    "consensus": "Consensus — agreeing the ratings",
    "final": "Final",
}


def _versions(scales: list[Scale], scale_id: str) -> list[str]:
    """The scale's versions, newest first (the registry lists them oldest first)."""
    return [s.version for s in reversed(scales) if s.id == scale_id]


def _default_scale(scale_ids: list[str], scales: list[Scale], program: ProgramView | None) -> str:
    """The scale that measures the program's model: DACTS for ACT, IDDT for IDDT."""
    model = (program.model or "").upper() if program else ""
    for scale in scales:
        if model and (scale.model or "").upper() == model:
            return scale.id
    return scale_ids[0]


def _pick_defaults(by_id: dict[int, ProgramView], scale_ids: list[str], scales: list[Scale]) -> None:
    """Program changed: choose its scale and that scale's newest version."""
    state = st.session_state
    state[SCALE] = _default_scale(scale_ids, scales, by_id.get(state.get(PROGRAM)))
    state[VERSION] = _versions(scales, state[SCALE])[0]


def _pick_newest_version(scales: list[Scale]) -> None:
    st.session_state[VERSION] = _versions(scales, st.session_state[SCALE])[0]


def _program_from_url() -> int | None:
    """?program=ID, once: it is removed so the user's own choice stays on the next rerun."""
    raw = st.query_params.get("program")
    if raw is None:
        return None
    del st.query_params["program"]
    try:
        return int(raw)
    except ValueError:
        return None


def _start_section(by_id: dict[int, ProgramView], scales: list[Scale], *, has_reviews: bool) -> None:
    """The "Start a review" form, in a box open by default while there is no review yet or when a
    link from the Programs page (?program=) chose the program; drawn only when open: its seven
    fields (two of them the 1,000 programs) were half of every rerun of the list below."""
    state = st.session_state
    wanted = _program_from_url()  # a link from the Programs page picks the program to review
    if wanted is not None:
        state[START_OPEN] = True  # set before the box is drawn: the box opens with it
    box = st.expander(
        "Start a review", expanded=not has_reviews, key=START_OPEN, on_change="rerun", icon=":material/add:"
    )
    if not box.open:
        return
    with box:
        _start_form(by_id, scales, wanted)


START_OPEN = "reviews_start_open"  # the "Start a review" box's open state
# What was typed in the box is kept while it is closed (and dropped when another page opens).
KEEP: Literal["page"] = "page"


def _start_form(by_id: dict[int, ProgramView], scales: list[Scale], wanted: int | None) -> None:
    if not by_id:
        st.info("No programs yet — add the program you are reviewing first.", icon=":material/info:")
        st.page_link(
            "app_pages/programs.py", label="Add a program on the Programs page", icon=":material/add:"
        )
        return
    if not scales:
        st.error("No scales are loaded, so no review can be started. See the Scales page.")
        return

    scale_ids = list(dict.fromkeys(s.id for s in scales))
    titles = {s.id: s.title for s in scales}
    state = st.session_state
    if wanted in by_id and state.get(PROGRAM) != wanted:
        state[PROGRAM] = wanted
        _pick_defaults(by_id, scale_ids, scales)
    if state.get(PROGRAM) not in by_id:
        state[PROGRAM] = next(iter(by_id))
        _pick_defaults(by_id, scale_ids, scales)
    if state.get(SCALE) not in scale_ids:
        _pick_defaults(by_id, scale_ids, scales)
    if state.get(VERSION) not in _versions(scales, state[SCALE]):
        _pick_newest_version(scales)
    state.setdefault(DATE, dt.date.today())
    state.setdefault(TYPE, REVIEW_TYPES[0])

    program_col, scale_col, version_col = st.columns([2, 2, 1])
    program_col.selectbox(
        "Program",
        list(by_id),
        key=PROGRAM,
        persist_state=KEEP,
        format_func=lambda i: by_id[i].name + (f" ({by_id[i].model})" if by_id[i].model else ""),
        on_change=_pick_defaults,
        args=(by_id, scale_ids, scales),
    )
    scale_col.selectbox(
        "Scale",
        scale_ids,
        key=SCALE,
        persist_state=KEEP,
        format_func=titles.__getitem__,
        on_change=_pick_newest_version,
        args=(scales,),
        help="Chosen from the program's model: DACTS for ACT teams, IDDT for IDDT teams.",
    )
    version_col.selectbox("Version", _versions(scales, state[SCALE]), key=VERSION, persist_state=KEEP)
    date_col, type_col = st.columns(2)
    date_col.date_input("Review date", key=DATE, persist_state=KEEP, help="The first day of the site visit.")
    type_col.selectbox("Review type", REVIEW_TYPES, key=TYPE, persist_state=KEEP, format_func=str.capitalize)
    rater_1, rater_2 = st.columns(2)
    rater_1.text_input(
        "Rater 1",
        key=RATER_1,
        persist_state=KEEP,
        placeholder="Name of the first rater",
        max_chars=PERSON_LENGTH,
    )
    rater_2.text_input(
        "Rater 2",
        key=RATER_2,
        persist_state=KEEP,
        placeholder="Name of the second rater",
        max_chars=PERSON_LENGTH,
        help="Leave empty for a single rater.",
    )
    reviewers = _reviewers_field()
    clicked = st.button("Start review", type="primary", icon=":material/play_arrow:", key="reviews_start")

    if not clicked:
        return
    raters = [name.strip() for name in (state.get(RATER_1) or "", state.get(RATER_2) or "") if name.strip()]
    if not raters:
        st.error("Enter at least one rater's name to start the review.", icon=":material/error:")
        return
    try:
        review = start_review(
            database(),
            state[PROGRAM],
            state[SCALE],
            state[VERSION],
            state[DATE],
            state[TYPE],
            raters,
            actor=actor(),
            reviewers=reviewers,
        )
    except FidelityError as exc:
        show_error(exc)
        return
    state["current_review"] = review.id
    st.switch_page("app_pages/rate.py", query_params={"review": str(review.id)})


def _reviewers_field() -> list[str]:
    """Who is assigned to the new review: an agency admin picks registered reviewers; a reviewer
    who starts a review is assigned to it by the service."""
    if not allowed(Action.MANAGE_USERS):
        st.caption("You will be assigned to the review you start.")
        return []
    users = kept(list_users, include_inactive=False)
    emails = [u.email for u in users if u.role == Role.REVIEWER]
    if not emails:
        return []
    return st.multiselect(
        "Assigned reviewers",
        emails,
        key=REVIEWERS,
        persist_state=KEEP,
        placeholder="Registered reviewers who may rate it",
        help="With sign-in, a reviewer sees and rates only the reviews assigned to them.",
    )


def _amendment_text(r: ReviewSummary) -> str:
    parts = []
    if r.amendment_of is not None:
        parts.append(f"amendment {r.amendment_number} of #{r.amendment_of}")
    if r.amended_by is not None:
        parts.append(f"amended by #{r.amended_by}")
    return "; ".join(parts)


def _band_text(r: ReviewSummary) -> str:
    """The band, with a warning when items are unrated: the band reads only the rated ones."""
    if not r.band or r.rated is None or r.items is None or r.rated >= r.items:
        return r.band or ""
    return f"{r.band} (⚠ {r.items - r.rated} of {r.items} items unrated)"


def _reviews_table(reviews: list[ReviewSummary]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": r.id,
                "program": r.program,
                "scale": f"{r.scale_id.upper()} {r.scale_version}",
                "date": r.review_date,
                "type": r.review_type,
                "status": r.status,
                "total mean": r.total_mean,
                "total sum": r.total_sum,
                "rated": None if r.rated is None else f"{r.rated}/{r.items}",
                "band": _band_text(r),
                "amendment": _amendment_text(r),
                "problem": r.problem or "",
            }
            for r in reviews
        ]
    )


def _review_links(reviews: list[ReviewSummary], table: pa.Table, labels: dict[int, str]) -> None:
    """The list, whose row chosen opens a review: its label and its Rate, Consensus and Results
    links under the table (the review last open, or the newest, while no row is chosen).

    A row of links under every review (30 rows, 300 elements) was most of this page's rerun, and
    a chooser listing the page's 100 reviews again took a fifth of it."""
    ids = [r.id for r in reviews]
    event = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key=table_key(ids),
        column_config=LIST_COLUMNS,
        on_select="rerun",
        selection_mode="single-row",
    )
    rows = event.selection.rows
    current = st.session_state.get("current_review")
    if rows and rows[0] < len(reviews):
        chosen = reviews[rows[0]]
        st.session_state["current_review"] = chosen.id  # Rate, Consensus and Results open it too
    else:
        chosen = next((r for r in reviews if r.id == current), reviews[0])
    final = chosen.status == ReviewStatus.FINAL
    closed = "This review is final; amend it from Results to change it." if final else None
    params = {"review": str(chosen.id)}
    links = st.container(horizontal=True, vertical_alignment="center")  # one block, not columns
    links.markdown(f"**{md(labels[chosen.id])}** :gray[(choose a row to open another)]", width="content")
    if not allowed(Action.EDIT_REVIEW):  # a program manager only reads results: its link alone
        links.page_link(RESULTS, label="Results", icon=":material/insights:", query_params=params)
        return
    links.page_link(
        "app_pages/rate.py",
        label="Rate",
        icon=":material/edit_note:",
        query_params=params,
        disabled=final,
        help=closed,
    )
    links.page_link(
        "app_pages/consensus.py",
        label="Consensus",
        icon=":material/handshake:",
        query_params=params,
        disabled=final,
        help=closed,
    )
    links.page_link(RESULTS, label="Results", icon=":material/insights:", query_params=params)


def table_key(ids: list[int]) -> str:
    """The list's key, made of the reviews it shows in their order: a chosen row is a position,
    so when the list changes (a filter, another page, a new review) the choice starts again
    rather than landing on the review that moved into that position."""
    return f"reviews_table_{hash(tuple(ids)) & 0xFFFFFFFF:08x}"


RESULTS = "app_pages/results.py"


def _program_filter(row: DeltaGenerator, by_id: dict[int, ProgramView]) -> int | None:
    """The program the list shows (None: all), chosen in a popover labelled with it: the
    choice of 1,000 programs is drawn when opened, not on every rerun, and kept while closed."""
    state = st.session_state
    if state.get(FILTER_PROGRAM) not in by_id:  # e.g. a program the user no longer sees
        state[FILTER_PROGRAM] = None
    chosen: int | None = state[FILTER_PROGRAM]
    name = "All programs" if chosen is None else by_id[chosen].name
    box = row.popover(
        md(f"Program: {name}"), icon=":material/filter_alt:", key=FILTER_OPEN, on_change="rerun"
    )
    if box.open:
        options: list[int | None] = [None, *by_id]
        box.selectbox(
            "Program",
            options,
            index=options.index(chosen),
            format_func=lambda i: "All programs" if i is None else by_id[i].name,
            key=FILTER_PICK,
            on_change=_program_picked,
        )
    return chosen


FILTER_PROGRAM = "reviews_filter_program"  # the program the list shows (None: all)
FILTER_OPEN = "reviews_filter_program_open"  # the popover's open state
FILTER_PICK = "reviews_filter_program_pick"  # the popover's choice


def _program_picked() -> None:
    """The program chosen filters the list and the popover closes (a callback: before the rerun)."""
    st.session_state[FILTER_PROGRAM] = st.session_state.get(FILTER_PICK)
    st.session_state[FILTER_OPEN] = False


def _list_section(by_id: dict[int, ProgramView]) -> None:
    st.subheader("Reviews")
    row = st.container(horizontal=True, vertical_alignment="bottom")
    status = row.selectbox(
        "Status", [ALL, *STATUSES], key="reviews_filter_status", format_func=STATUS_TEXT.__getitem__
    )
    program_id = _program_filter(row, by_id)
    chosen = {"program_id": program_id, "status": None if status == ALL else status}
    try:
        found = kept(count_reviews, **chosen)
        anything = bool(found) or bool(kept(count_reviews))
        start = page_start(found, LIST_PAGE, "reviews_page", "reviews")
        reviews, table, labels = kept(_listed_page, limit=LIST_PAGE, offset=start, **chosen)
    except FidelityError as exc:
        show_error(exc)
        return
    if not reviews:
        if anything:
            st.info("No reviews match these filters.", icon=":material/search_off:")
        elif allowed(Action.START_REVIEW):
            st.info("No reviews yet — start one above.", icon=":material/info:")
        else:
            st.info("No final reviews of your programs yet.", icon=":material/info:")
        return
    for r in reviews:  # a final review's problem is the integrity gate's: listed, marked, no score
        if r.status == ReviewStatus.FINAL and r.problem:
            st.warning(md(r.problem), icon=":material/gpp_maybe:")
    _review_links(reviews, table, labels)


LIST_COLUMNS = {  # made once: Streamlit copies it on each use
    "id": st.column_config.NumberColumn("id", format="#%d", width="small"),
    "date": st.column_config.DateColumn("date", format="YYYY-MM-DD"),
    "total mean": st.column_config.NumberColumn(
        "total mean", format="%.2f", help="Mean of the consensus ratings so far (final: as finalized)"
    ),
    "total sum": st.column_config.NumberColumn("total sum", format="%d"),
}


def _listed_page(
    db: Database, *, actor: Actor, **filters: Any
) -> tuple[list[ReviewSummary], pa.Table, dict[int, str]]:
    """One page of the list with its table and labels, made once per change of the data (kept):
    shared by every session, so neither is changed after. The table is Arrow, as st.dataframe
    sends it: a pandas frame is converted again on every rerun."""
    reviews = list_reviews(db, actor=actor, **filters)
    table = _reviews_table(reviews)
    if not table.empty and not table["problem"].any():
        table = table.drop(columns="problem")
    registry = db.registry
    labels = {r.id: review_label(r, registry) for r in reviews}
    return reviews, pa.Table.from_pandas(table, preserve_index=False), labels


# ---- page -----------------------------------------------------------------------------------


def _scales(db: Database, *, actor: Actor) -> list[Scale]:
    """The scales a review can be started on (any actor may list them: kept() passes one)."""
    return available_scales(db)


def _programs_by_id(db: Database, *, actor: Actor) -> dict[int, ProgramView]:
    """The programs by id, in the list's order, made once per change of the data (kept): shared
    by the acting user's sessions, so never changed (1,000 programs took a rerun 0.1 ms more)."""
    return {p.id: p for p in list_programs(db, actor=actor)}


def render() -> None:
    identity_banner()
    st.title("Reviews")
    if allowed(Action.START_REVIEW):
        st.caption(
            "A review goes: start it here → each rater rates on **Rate** → agree the ratings on "
            "**Consensus** and finalize → read and export the score on **Results**."
        )
    else:
        st.caption("The final reviews of your programs: open one for its score, charts and PDF report.")
    try:
        by_id = kept(_programs_by_id)
    except FidelityError as exc:
        show_error(exc)
        st.stop()
    if allowed(Action.START_REVIEW):  # bundled and published scales, no drafts
        _start_section(by_id, kept(_scales), has_reviews=bool(kept(count_reviews)))
    _list_section(by_id)
