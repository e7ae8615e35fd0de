"""Markdown, HTML and script in names and notes are shown as text, never as markup: in the app
(every element that reads Markdown, checked with AppTest) and in the PDF report.

The oracle for the app: each element's Markdown source is parsed with markdown-it (CommonMark)
and its visible text must hold the hostile string exactly; had any of it become bold text, a
link, an image, HTML or code, characters of it would be missing. Streamlit's own directives
(:red[…], $…$) are not CommonMark, so the source must hold them escaped.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from markdown_it import MarkdownIt
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from app_pages.markup import md
from reports import safe_filename
from reports.pdf import render_report
from scales import ScaleRegistry
from services import reviews as svc
from services.database import Database
from services.errors import ValidationProblem
from services.report_data import from_review_file, stored_review_pdf
from services.review_file import parse_review_data
from tests.hostile.conftest import ADMIN, REPO, call, create_program, example_review

APP = str(REPO / "app.py")
STREAMLIT_MARKUP = re.compile(r":[A-Za-z]|[$\[]|https?:|www\.", re.IGNORECASE)  # directives, maths, autolinks


def hostile(tag: str, limit: int = 200) -> str:
    """Markup of every kind, with a tag that says where it was typed."""
    text = (
        f"zq{tag} **bold** _em_ <b>tag</b> <script>alert('{tag}')</script> [link](https://evil.example/{tag}) "
        f"![img](https://evil.example/{tag}.png) :red[red] $x^2$ `code` # h &amp; :material/delete: \\ zq{tag}"
    )
    assert len(text) <= limit
    return text


PROGRAM = hostile("P")
PROVIDER = hostile("V")
REGION = hostile("G")
RATER_A, RATER_B = "zqA **Ana** <i>x</i> [a](https://e.example) zqA", "zqB `Ben` <b>y</b> # zqB"
TEXTS = {tag: hostile(tag, 10_000) for tag in ("N", "E", "C", "S", "W", "M", "R", "U", "X", "Y")}
# A data source takes at most 100 characters (domain/vocabulary.py): markup of each kind, shorter.
TEXTS["W"] = (
    "zqW **b** <b>t</b> <script>x</script> [l](https://e.x/W) ![i](https://e.x/i.png) :red[r] $x$ `c` zqW"
)
ALL = {"P": PROGRAM, "V": PROVIDER, "G": REGION, "A": RATER_A, "B": RATER_B, **TEXTS}
MD = MarkdownIt("commonmark")
STYLE = re.compile(r"<style>.*?</style>", re.DOTALL)
MARKDOWN_ELEMENTS = (
    "markdown",
    "caption",
    "title",
    "header",
    "subheader",
    "success",
    "info",
    "warning",
    "error",
)


def visible_text(source: str) -> str:
    """What a reader sees of Markdown: text only (no tag, link target, image or code survives)."""
    parts: list[str] = []
    for token in MD.parse(source):
        if token.type == "inline":
            for child in token.children or []:
                if child.type == "text":
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append(" ")
        elif token.type.endswith("_close"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def unescaped_markup(source: str) -> list[str]:
    """Streamlit directives (:red[…], :material/…:), maths ($), links ([) and autolinks
    (http://, www.) that no backslash escapes."""
    found, i = [], 0
    while i < len(source):
        if source[i] == "\\":
            i += 2
            continue
        if match := STREAMLIT_MARKUP.match(source, i):
            found.append(match.group())
        i += 1
    return found


def shown(source: str, text: str) -> bool:
    return " ".join(text.split()) in visible_text(source)


@dataclass
class Seeded:
    program: svc.ProgramView
    first: int  # final, with notes and a not-rated item
    second: int  # final, with falls since the first; amended
    amendment: int  # in consensus, made with a hostile reason


def seed(db: Database) -> Seeded:
    program = create_program(db, PROGRAM, provider=PROVIDER, region=REGION)
    ids = []
    for year, base in ((2025, 4), (2026, 3)):
        review = svc.start_review(
            db, program.id, "dacts", "1.0", dt.date(year, 3, 14), "baseline", [RATER_A, RATER_B], actor=ADMIN
        )
        for rater in (RATER_A, RATER_B):
            call(
                svc.save_rating,
                db,
                review.id,
                rater,
                "H2",
                rating=4,
                note=TEXTS["N"],
                data_sources=[TEXTS["W"]],
            )
        for item in db.registry.get("dacts", "1.0").item_ids:
            if item == "S10":
                call(svc.mark_not_rated, db, review.id, item, TEXTS["U"], expected_version=0)
                continue
            rating = 2 if item == "O4" else base
            call(
                svc.save_consensus, db, review.id, item, expected_version=0, rating=rating,
                evidence=TEXTS["E"] if item in ("H2", "O4", "H3") else None,
                recommendation=TEXTS["C"] if item == "O4" else None,
            )  # fmt: skip
        call(
            svc.update_review,
            db,
            review.id,
            strengths=TEXTS["S"],
            summary=TEXTS["M"],
            recommendations=TEXTS["R"],
        )
        call(svc.finalize, db, review.id)
        ids.append(review.id)
    amendment = call(svc.amend, db, ids[1], TEXTS["X"])
    return Seeded(program, ids[0], ids[1], amendment.id)


@pytest.fixture
def seeded(sqlite_db: Database) -> Seeded:
    return seed(sqlite_db)


@pytest.fixture
def app(sqlite_url: str) -> Iterator[AppTest]:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    yield at


def open_page(at: AppTest, page: str, **params: str) -> AppTest:
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def markdown_sources(at: AppTest) -> list[tuple[str, str]]:
    """(kind, Markdown source) of every element on the page that reads Markdown."""
    found: list[tuple[str, str]] = []
    for kind in MARKDOWN_ELEMENTS:
        # A <style> block (unsafe_allow_html, the app's own CSS, alone or after a save state's
        # caption) is not text anyone reads: the rest of the element is checked.
        sources = (STYLE.sub("", str(e.value)) for e in getattr(at, kind))
        found += [(kind, source) for source in sources if source.strip()]
    found += [("expander", e.label) for e in at.expander]
    found += [("button", b.label) for b in at.button]
    found += [("metric", m.label) for m in at.metric]
    for radio in at.radio:
        found += [("radio option", str(o)) for o in radio.options]
    return found


def assert_shown_as_text(at: AppTest, expected: set[str]) -> set[str]:
    """Every element holding a hostile string shows it as text; returns the tags that were seen."""
    seen: set[str] = set()
    for kind, source in markdown_sources(at):
        for tag, text in ALL.items():
            if f"zq{tag}" not in source:
                continue
            seen.add(tag)
            assert shown(source, text), f"{kind} shows {tag!r} as markup: {source!r}"
            # Streamlit's own markup is not CommonMark: the text must be there escaped, as md() does.
            assert md(text) in source, f"{kind} holds {tag!r} unescaped: {source!r}"
    assert expected <= seen, f"not shown at all: {expected - seen}"
    return seen


# ---- the helper itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", [*ALL.values(), "    four spaces", "1. a\n- b\n> c\n\n---\n| t |", "a\r\nb\u2028c", ""]
)
def test_md_escapes_everything_and_keeps_the_text(text: str) -> None:
    source = md(text)
    assert visible_text(source) == " ".join(text.split())
    assert not unescaped_markup(source), source
    html = MD.render(source)
    assert not any(
        tag in html
        for tag in ("<strong>", "<em>", "<a ", "<img", "<code>", "<h1>", "<pre>", "<b>", "<script")
    )


def test_the_markup_scanner_sees_unescaped_streamlit_markup() -> None:
    assert unescaped_markup(":red[x] $y$ http://a WWW.b") == [":r", "[", "$", "$", "http:", "WWW."]
    assert unescaped_markup(md(":red[x] $y$ http://a WWW.b")) == []


@pytest.mark.parametrize(
    "message",
    [
        "item H2: rating 6 is out of range 1..5",
        "active_to (2020-01-01) is before active_from (2021-01-01)",
        "a program named 'Riverside ACT Team' already exists",
        "dacts 1.0 measures ACT, but Lakeside IDDT Team is an IDDT program",
        "review #12 was changed at 10:15 UTC on 2026-03-14 since you loaded it; reload to see the change",
    ],
)
def test_plain_messages_are_left_as_they_are(message: str) -> None:
    assert md(message) == message


# ---- the pages ------------------------------------------------------------------------------------


def test_the_reviews_page_shows_names_as_text(app: AppTest, seeded: Seeded) -> None:
    at = open_page(app, "reviews")
    assert_shown_as_text(at, set())  # any Markdown holding a name holds it escaped
    # The review open is named above its links, its label escaped like any Markdown holding a name
    # (checked above); unescaped, it shows the program's name as typed.
    (line,) = [str(m.value) for m in at.markdown if "choose a row to open another" in m.value]
    assert md(PROGRAM) in line


def test_the_results_page_shows_names_notes_and_texts_as_text(app: AppTest, seeded: Seeded) -> None:
    at = open_page(app, "results", review=str(seeded.first))
    assert_shown_as_text(at, {"P", "V", "G", "A", "B", "U", "C", "S", "M", "R"})
    at = open_page(app, "results", review=str(seeded.amendment))
    assert_shown_as_text(at, {"P", "X"})


def test_the_consensus_page_shows_raters_and_their_notes_as_text(app: AppTest, seeded: Seeded) -> None:
    at = open_page(app, "consensus", review=str(seeded.amendment), item="H2")
    assert_shown_as_text(at, {"A", "B", "N", "W"})
    at.selectbox(key=f"consensus-item|{seeded.amendment}").set_value("S10").run()
    assert not at.exception, [e.value for e in at.exception]
    assert_shown_as_text(at, {"U"})


def test_the_rate_page_shows_rater_names_as_text(app: AppTest, seeded: Seeded) -> None:
    assert_shown_as_text(open_page(app, "rate", review=str(seeded.amendment)), {"A", "B"})


def test_the_drift_page_shows_names_and_evidence_as_text(app: AppTest, seeded: Seeded) -> None:
    at = open_page(app, "drift", program=str(seeded.program.id))
    assert_shown_as_text(at, {"P", "V", "G"})
    # The evidence is in the falls and low items tables, whose text cells are plain text: verbatim.
    cells = {
        str(v)
        for d in at.dataframe
        for column in ("evidence before", "evidence after")
        if column in d.value.columns
        for v in d.value[column]
    }
    assert TEXTS["E"] in cells


def test_the_programs_page_shows_a_new_programs_name_as_text(app: AppTest, sqlite_db: Database) -> None:
    at = open_page(app, "programs")
    at.text_input(key="programs_add_name").set_value(PROGRAM)
    at.text_input(key="programs_add_new_provider").set_value(PROVIDER)
    next(b for b in at.button if b.label == "Add program").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert_shown_as_text(at, {"P"})
    assert [p.name for p in call(svc.list_programs, sqlite_db)] == [PROGRAM]


def test_refusals_that_quote_what_was_typed_are_shown_as_text(app: AppTest, sqlite_db: Database) -> None:
    create_program(sqlite_db, PROGRAM)
    with pytest.raises(ValidationProblem) as caught:
        create_program(sqlite_db, PROGRAM)
    (message,) = caught.value.problems  # it quotes the name as typed
    at = open_page(app, "programs")
    at.text_input(key="programs_add_name").set_value(PROGRAM)
    next(b for b in at.button if b.label == "Add program").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [md(message)]
    assert shown(at.error[0].value, message)


def test_service_refusals_shown_by_show_error_are_text(app: AppTest, sqlite_db: Database) -> None:
    create_program(sqlite_db, PROGRAM)
    at = open_page(app, "reviews")
    at.text_input(key="reviews_start_rater_1").set_value(RATER_A)
    at.text_input(key="reviews_start_rater_2").set_value(RATER_A)
    at.button(key="reviews_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    message = f"rater {RATER_A} is listed twice"
    assert [e.value for e in at.error] == [md(message)]
    assert shown(at.error[0].value, message)
    assert not call(svc.list_reviews, sqlite_db)


# ---- the PDF report ------------------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    return "".join("".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_of_a_stored_review_prints_markup_as_text(sqlite_db: Database, seeded: Seeded) -> None:
    text = pdf_text(stored_review_pdf(sqlite_db, seeded.first, actor=ADMIN, charts=False))
    for tag in ("P", "V", "G", "E", "C", "S", "M", "R"):
        assert "".join(ALL[tag].split()) in text, tag


def test_the_pdf_of_a_review_file_prints_markup_and_control_characters_safely(
    registry: ScaleRegistry,
) -> None:
    data = {
        **example_review(),
        "program": PROGRAM,
        "provider": PROVIDER,
        "summary": TEXTS["M"] + "Acme\x07\x1b[31m\u202eTeam",
    }
    data["items"]["H2"]["note"] = TEXTS["N"]
    review = parse_review_data(data, registry, "review.yaml")
    pdf = render_report(from_review_file(review, source="review file <b>x</b>.yaml"), charts=False)
    text = pdf_text(pdf)
    for tag in ("P", "M", "N"):
        assert "".join(ALL[tag].split()) in text, tag
    assert "\x07" not in text and "\x1b" not in text
    assert PdfReader(io.BytesIO(pdf)).metadata.title == f"Fidelity review report: {PROGRAM}"


def test_the_report_download_on_the_results_page_is_the_same_safe_pdf(
    app: AppTest, seeded: Seeded, recorded: dict[str, object]
) -> None:
    open_page(app, "results", review=str(seeded.first))
    (name,) = [n for n in recorded if n.endswith(".pdf")]
    assert name == safe_filename(PROGRAM, dt.date(2025, 3, 14), review_id=seeded.first)
    assert re.fullmatch(r"zqP-bold-[\w-]+-2025-03-14-review-\d+\.pdf", name), name
    pdf = recorded[name]()  # type: ignore[operator]
    assert "".join(PROGRAM.split()) in pdf_text(pdf)
