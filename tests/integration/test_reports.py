"""PDF reports: parsed back with pypdf, rendered with pdftoppm, made from files, stored reviews and the CLI."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from pypdf import PdfReader
from typer.testing import CliRunner

from bench.longest import MAX_PAGES, longest_review_data
from cli.main import app
from reports.model import ItemDetail, ReportData, safe_filename
from reports.pdf import DRAFT_LABEL, DRIFT_HEADING, plain, render_report
from scales import Scale, ScaleRegistry
from services import reviews as svc
from services.access import local_admin
from services.database import Database, open_database
from services.report_data import (
    final_ratings_via_service,
    from_review_file,
    from_stored_review,
    load_final_ratings,
    stored_review_pdf,
)
from services.review_file import ReviewFile, ReviewFileError, parse_review_data, read_review_file
from services.review_import import import_review_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "riverside-dacts.yaml"
APP = str(REPO / "app.py")
PROGRAM = "Zoë Núñez ACT Team"
RATERS = ["Zoë Núñez", "Алексей Иванов", "Σοφία Παπαδοπούλου"]
runner = CliRunner()


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def variant(**changes: Any) -> dict[str, Any]:
    """The Riverside example as a Zoë Núñez review, with raters, notes and texts."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data.update(
        program=PROGRAM,
        provider="Łódź Community Services",
        region="Nordøst",
        type="follow-up",
        raters=RATERS,
        strengths="A stable, experienced team. Clients say the team knows them well.",
        summary="The team works as a full ACT team.\nThe gaps are consumer roles and crisis cover.",
        recommendations="Fill the peer specialist post and take over crisis cover at night.",
    )
    data["items"]["S7"] = {
        "rating": 3,
        "evidence": "Groups run weekly; <b>not bold</b> and **not markdown** stay as typed.",
        "recommendation": "Start a stage-wise group for clients in early stages of change.",
    }
    data["items"]["S10"] = {
        "rating": 3,
        "evidence": "The peer specialist post has been vacant since March.",
        "recommendation": "Fill the peer specialist post.",
        "data_sources": ["Staff roster", "Interview with the team leader"],
    }
    data.update(changes)
    return data


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def flat(text: str) -> str:
    return " ".join(text.split())


def pdf_text(pdf: bytes) -> str:
    """All the text of the PDF, whitespace collapsed (table cells wrap over lines)."""
    reader = PdfReader(BytesIO(pdf))
    return flat(" ".join(page.extract_text() or "" for page in reader.pages))


def page_count(pdf: bytes) -> int:
    return len(PdfReader(BytesIO(pdf)).pages)


def fidelity(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def store_final_review(db: Database, review_file: ReviewFile, program_id: int) -> int:
    """Store a review file through the review workflow: start, consensus on every item, finalize."""
    review = svc.start_review(
        db,
        program_id,
        review_file.scale.id,
        review_file.scale.version,
        review_file.date or dt.date(2026, 3, 14),
        "follow-up",
        review_file.raters,
        actor=local_admin("test"),
    )
    for item_id, entry in review_file.entries.items():
        notes = review_file.notes[item_id]
        given: dict[str, Any] = {"inputs": dict(entry.inputs)} if entry.inputs else {"rating": entry.rating}
        svc.save_consensus(
            db,
            review.id,
            item_id,
            expected_version=0,
            actor=local_admin("test"),
            evidence=notes.evidence or notes.note,
            recommendation=notes.recommendation,
            **given,
        )
    svc.set_review_text(
        db,
        review.id,
        actor=local_admin("test"),
        strengths=review_file.strengths,
        summary=review_file.summary,
        recommendations=review_file.recommendations,
    )
    return svc.finalize(db, review.id, actor=local_admin("test")).id


@pytest.fixture
def db() -> Any:
    database = open_database()  # FIDELITY_DATABASE_URL: a temporary SQLite file (tests/conftest.py)
    yield database
    database.dispose()


@pytest.fixture
def seeded(db: Database, registry: ScaleRegistry) -> dict[str, int]:
    """A program with an earlier final review (imported) and a current one (rated and finalized)."""
    program = svc.create_program(
        db,
        PROGRAM,
        actor=local_admin("test"),
        provider="Łódź Community Services",
        region="Nordøst",
        model="ACT",
    )
    early = variant(date="2025-03-10")
    early["items"].update(S7={"rating": 2}, S10={"rating": 2}, O4={"rating": 3})
    earlier = import_review_file(
        db, parse_review_data(early, registry), actor=local_admin("test"), program=PROGRAM
    )
    current = store_final_review(db, parse_review_data(variant(), registry), program.id)
    return {"program": program.id, "earlier": earlier.review.id, "current": current}


@pytest.fixture(scope="module")
def file_report(
    tmp_path_factory: pytest.TempPathFactory, registry: ScaleRegistry
) -> tuple[ReviewFile, bytes]:
    path = write_yaml(tmp_path_factory.mktemp("report") / "zoe.yaml", variant())
    review_file = read_review_file(path, registry)
    return review_file, render_report(from_review_file(review_file, source="review file zoe.yaml"))


# ---------------------------------------------------------------------------------------------
# The report of a review file
# ---------------------------------------------------------------------------------------------


def test_report_has_program_every_item_total_and_band(
    file_report: tuple[ReviewFile, bytes], dacts: Scale
) -> None:
    review_file, pdf = file_report
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert PROGRAM in text
    for item in dacts.items:
        assert flat(item.name) in text, item.id
    for sub in dacts.subscales:
        assert flat(sub.name) in text
    assert review_file.score.total.sum == 115
    assert "4.11" in text and "115" in text and "28 of 28" in text
    assert "Full implementation" in text
    assert f"Page 1 of {page_count(pdf)}" in text


def test_non_latin_names_survive(file_report: tuple[ReviewFile, bytes]) -> None:
    text = pdf_text(file_report[1])
    for name in (PROGRAM, *RATERS, "Łódź Community Services", "Nordøst"):
        assert name in text
    reader = PdfReader(BytesIO(file_report[1]))
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[union-attr]
    }
    assert fonts and all("DejaVu" in f for f in fonts), fonts  # the bundled TrueType font, embedded


def test_notes_texts_and_scoring_are_in_the_report(file_report: tuple[ReviewFile, bytes]) -> None:
    text = pdf_text(file_report[1])
    assert "<b>not bold</b> and **not markdown** stay as typed" in text  # user text is never interpreted
    assert "Start a stage-wise group for clients in early stages of change." in text
    assert "Sources: Staff roster; Interview with the team leader" in text
    assert "Most clients see 2+ staff in a fortnight" in text  # a review file's item note
    assert "Computed: 10.1053 clients per FTE, rounded to 10" in text
    for heading in ("Summary of scores", "Item ratings", "Action plan", "Strengths", "Recommendations"):
        assert heading in text
    assert "Fill the peer specialist post and take over crisis cover at night." in text
    assert "How this was scored" in text and "rounded half-up to two decimals" in text
    assert DRAFT_LABEL not in text  # a review file is not a draft
    assert DRIFT_HEADING not in text  # no earlier reviews without a database


def test_pdftoppm_renders_the_expected_pages(file_report: tuple[ReviewFile, bytes], tmp_path: Path) -> None:
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm (poppler-utils) is needed to render the report"
    pdf = file_report[1]
    (tmp_path / "report.pdf").write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-png", "-r", "40", str(tmp_path / "report.pdf"), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == page_count(pdf)
    assert 3 <= len(pages) <= 6  # cover and scores; item table; action plan, findings, scoring note
    assert all(p.stat().st_size > 2_000 for p in pages)  # drawn pages, not blank ones


def poppler_pages(pdf: bytes, tmp_path: Path) -> list[str]:
    """Each page's text as pdftotext (poppler-utils) reads it, whitespace collapsed."""
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext (poppler-utils) is needed to read the charts' text"
    (tmp_path / "report.pdf").write_bytes(pdf)
    done = subprocess.run(
        [pdftotext, "-enc", "UTF-8", str(tmp_path / "report.pdf"), "-"], capture_output=True, check=True
    )
    return [flat(page) for page in done.stdout.decode("utf-8").split("\f")]


def test_charts_are_drawn_and_can_be_left_out(
    file_report: tuple[ReviewFile, bytes], dacts: Scale, tmp_path: Path
) -> None:
    """The subscale chart is vector drawing (no image, no chart renderer): its title, band
    thresholds, bar values and axis are text on page 1, after the subscale table."""
    review_file, with_charts = file_report
    assert not any(page.images for page in PdfReader(BytesIO(with_charts)).pages)
    page = poppler_pages(with_charts, tmp_path)[0]
    chart = page[page.index("Subscale means Dashed lines") :]
    assert "where the total's bands start (Fair implementation ≥ 3.00; Full implementation ≥ 4.00)" in chart
    for sub_id, sub in review_file.score.subscales.items():
        assert sub.mean is not None
        assert f"{sub_id} · {flat(sub.name)}" in chart
        assert f"{float(sub.mean):.2f}" in chart  # the bar's value
    assert len(review_file.score.subscales) == len(dacts.subscales)
    assert "1 2 3 4 5 Mean item rating" in chart
    without = render_report(from_review_file(review_file), charts=False)
    text = " ".join(poppler_pages(without, tmp_path))
    assert "Subscale means" not in text and "Mean item rating" not in text


def test_an_over_long_note_is_cut_in_the_table_and_printed_in_full(registry: ScaleRegistry) -> None:
    long_text = "The team meets on some days but not others. " * 45  # 1,980 characters
    data = variant()
    data["items"]["H3"] = {"rating": 2, "evidence": long_text, "recommendation": "x" * 400}
    pdf = render_report(from_review_file(parse_review_data(data, registry)), charts=False)
    text = pdf_text(pdf)
    assert "Item notes in full" in text
    assert "(continued under “Item notes in full”)" in text
    # the start of it in the table, then all 45 sentences (a page break may split one)
    assert text.count("but not others.") >= 45


def test_the_longest_review_the_input_rules_allow_makes_a_bounded_report(registry: ScaleRegistry) -> None:
    """Every text of a DACTS review at its maximum length (bench/longest.py, which also measures
    the CPU time): the file is accepted, and its report holds every text within MAX_PAGES pages."""
    data = longest_review_data(registry.get("dacts", "1.0"))
    review_file = parse_review_data(data, registry, "longest.yaml")
    pdf = render_report(from_review_file(review_file))
    assert page_count(pdf) <= MAX_PAGES
    text = "".join(pdf_text(pdf).split())
    # Every sentence of every long text is printed (review texts, and each item's evidence and
    # recommendation in full after the table); a page break may split one sentence per page.
    texts = [data[key] for key in ("strengths", "summary", "recommendations")]
    texts += [entry[key] for entry in data["items"].values() for key in ("evidence", "recommendation")]
    sentences = sum(t.count("twelve of fifteen clients") for t in texts)
    assert sentences > 1_000
    assert text.count("twelveoffifteenclients") >= sentences - page_count(pdf)
    over = {**data, "summary": data["summary"] + "x"}  # one character more is refused
    with pytest.raises(ReviewFileError):
        parse_review_data(over, registry, "longest.yaml")


def test_a_sum_scale_without_every_item_has_no_band(registry: ScaleRegistry) -> None:
    goi = registry.get("goi", "1.0")
    items = {item.id: {"rating": 4} for item in goi.items[:-1] if item.compute is None}
    data = {"scale": "goi", "version": "1.0", "program": "Partial GOI", "date": "2026-01-05", "items": items}
    pdf = render_report(from_review_file(parse_review_data(data, registry)))
    text = pdf_text(pdf)
    assert "Partial GOI" in text and "Not determined" in text
    assert "No band is given: the bands read the total sum, which needs every item rated." in text
    assert "Items not rated" in text and goi.items[-1].name in text


def test_a_state_variant_report_lists_its_conditions_and_unverified_items(registry: ScaleRegistry) -> None:
    oregon = registry.get("dacts-oregon", "1.0")
    items = {item_id: {"rating": 4} for item_id in oregon.item_ids} | {"H3": {"rating": 2}}
    data = {
        "scale": "dacts-oregon",
        "version": "1.0",
        "program": "Oregon Team",
        "date": "2026-01-05",
        "items": items,
    }
    text = " ".join(pdf_text(render_report(from_review_file(parse_review_data(data, registry)))).split())
    assert "Condition FAILED: total 110 below the required 114." in text  # 27 x 4 + 2
    assert "listed in the action plan, due within 90 days." in text
    assert "Not verified against a published source (see the scale file's provenance): ST8." in text


def test_report_data_accepts_a_review_score(file_report: tuple[ReviewFile, bytes]) -> None:
    review_file = file_report[0]
    data = ReportData(scale=review_file.scale, score=review_file.score, program=PROGRAM)
    assert data.score == review_file.score.to_dict()
    assert data.item("H1") == ItemDetail()
    assert not data.is_draft and ReportData(scale=review_file.scale, score={}, status="draft").is_draft


@pytest.mark.parametrize(
    ("program", "date", "review_id", "expected"),
    [
        (PROGRAM, dt.date(2026, 3, 14), None, "Zoe-Nunez-ACT-Team-2026-03-14.pdf"),
        ("../../etc/passwd", dt.date(2026, 3, 14), 7, "etc-passwd-2026-03-14-review-7.pdf"),
        ('A<b>:"C|D?*\\E/F', None, None, "A-b-C-D-E-F.pdf"),
        ("", dt.date(2026, 1, 2), None, "review-2026-01-02.pdf"),
        (None, None, 3, "review-review-3.pdf"),
        ("東京 ACT", "2026-01-02/../x", None, "東京-ACT-2026-01-02-x.pdf"),
        ("  .hidden team.  ", dt.date(2026, 1, 2), None, "hidden-team-2026-01-02.pdf"),
    ],
)
def test_safe_filename(program: str | None, date: Any, review_id: int | None, expected: str) -> None:
    name = safe_filename(program, date, review_id=review_id)
    assert name == expected
    assert "/" not in name and "\\" not in name and ".." not in name


def test_plain_drops_control_characters_and_keeps_markup_literal() -> None:
    assert plain("a\x00b\x07c\r\nd\te") == "abc\nd    e"
    assert plain("<script>alert(1)</script> **x**") == "<script>alert(1)</script> **x**"
    assert plain(None) == ""


# ---------------------------------------------------------------------------------------------
# Stored reviews
# ---------------------------------------------------------------------------------------------


def test_final_review_with_an_earlier_one_has_the_drift_chart(
    db: Database, seeded: dict[str, int], tmp_path: Path
) -> None:
    data = from_stored_review(db, seeded["current"], actor=local_admin())
    assert data.status == "final" and data.drift is not None
    assert data.score == svc.get_review(db, seeded["current"], actor=local_admin()).final_score
    pdf = render_report(data)
    text = pdf_text(pdf)
    assert DRIFT_HEADING in text
    assert "2025-03-10" in text and "2026-03-14 (this review)" in text
    assert "program's 1 earlier final review(s)" in text
    assert PROGRAM in text and "4.11" in text and "Full implementation" in text
    assert "Final — finalized by test" in text and DRAFT_LABEL not in text
    assert not any(page.images for page in PdfReader(BytesIO(pdf)).pages)  # both charts are drawn
    pages = poppler_pages(pdf, tmp_path)
    assert sum("Mean item rating" in page for page in pages) == 1  # the subscale chart
    drift = next(page for page in pages if DRIFT_HEADING in page)
    chart = drift[drift.index("the value the bands read.") : drift.index("Review date Scale version")]
    # the y axis, the band thresholds, the review dates on the x axis and the legend
    y_axis = (
        "Rating (total and subscale means) 5 4 Full implementation from 4 3 Fair implementation from 3 2 1"
    )
    assert y_axis in chart
    assert "Mar 2025 Mar 2026 Review date" in chart
    assert "Total mean" in chart and "H · Human resources" in chart and "S · Nature of services" in chart

    first = from_stored_review(db, seeded["earlier"], actor=local_admin())
    assert first.drift is None  # nothing earlier than the first review
    assert DRIFT_HEADING not in pdf_text(render_report(first, charts=False))


def test_drift_frame_from_the_service_api_matches_the_analytics_loader(
    db: Database, seeded: dict[str, int]
) -> None:
    via_service = final_ratings_via_service(db, actor=local_admin())
    loaded = load_final_ratings(db, actor=local_admin())
    assert set(via_service["review_id"]) == set(loaded["review_id"]) == {seeded["earlier"], seeded["current"]}
    a = from_stored_review(db, seeded["current"], final_ratings=via_service, actor=local_admin()).drift
    b = from_stored_review(db, seeded["current"], final_ratings=loaded, actor=local_admin()).drift
    assert a is not None and b is not None
    assert a.values["value"].round(6).tolist() == b.values["value"].round(6).tolist()


def test_draft_and_amendment_reports_are_labelled(db: Database, seeded: dict[str, int]) -> None:
    amendment = svc.amend(db, seeded["current"], "H1: wrong client count", actor=local_admin("test"))
    draft = from_stored_review(db, amendment.id, actor=local_admin())
    assert draft.is_draft
    text = pdf_text(render_report(draft, charts=False))
    assert DRAFT_LABEL in text and "not final" in text
    assert f"Amendment 1 of review #{seeded['current']} — reason: H1: wrong client count" in text

    svc.finalize(db, amendment.id, actor=local_admin("test"))
    replaced = pdf_text(
        render_report(from_stored_review(db, seeded["current"], actor=local_admin()), charts=False)
    )
    assert f"review #{amendment.id} corrects it and replaces it" in replaced


def test_a_draft_lists_what_is_not_rated_yet(db: Database, seeded: dict[str, int]) -> None:
    draft = svc.start_review(
        db,
        seeded["program"],
        "dacts",
        "1.0",
        dt.date(2026, 9, 1),
        "follow-up",
        ["Zoë Núñez"],
        actor=local_admin("test"),
    )
    svc.save_consensus(
        db, draft.id, "H2", expected_version=0, actor=local_admin("test"), rating=4, evidence="Seen in charts"
    )
    svc.mark_not_rated(
        db, draft.id, "S3", reason="No records available", actor=local_admin("test"), expected_version=0
    )
    pdf = stored_review_pdf(db, draft.id, actor=local_admin())
    text = pdf_text(pdf)
    assert DRAFT_LABEL in text and "Consensus — not final" in text
    assert "S3 Assertive engagement mechanisms — Not rated: No records available" in text
    assert "26 items: No consensus rating yet." in text
    assert DRIFT_HEADING in text  # two earlier final reviews of the program, plus this draft


def test_results_page_offers_the_pdf_download(db: Database, seeded: dict[str, int]) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["review"] = str(seeded["current"])
    at.run()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, at.exception
    labels = [element.proto.label for element in at.get("download_button")]
    assert "Download PDF report" in labels
    pdf = stored_review_pdf(
        db, seeded["current"], charts=False, actor=local_admin()
    )  # what the button's callable returns
    assert PROGRAM in pdf_text(pdf)


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def test_cli_report_of_a_review_file(tmp_path: Path) -> None:
    source = write_yaml(tmp_path / "zoe.yaml", variant())
    out = tmp_path / "zoe.pdf"
    code, stdout, stderr = fidelity("report", str(source), "--out", str(out), "--no-charts")
    assert code == 0, stderr
    assert stdout.strip() == f"wrote {out}"
    text = pdf_text(out.read_bytes())
    assert PROGRAM in text and "4.11" in text


def test_cli_report_of_stored_reviews(db: Database, seeded: dict[str, int], tmp_path: Path) -> None:
    out = tmp_path / "one.pdf"
    code, _, stderr = fidelity("report", "--review", str(seeded["current"]), "--out", str(out))
    assert code == 0, stderr
    assert DRIFT_HEADING in pdf_text(out.read_bytes())

    folder = tmp_path / "all" / "reports"
    code, stdout, stderr = fidelity("report", "--all-final", "--out-dir", str(folder), "--no-charts")
    assert code == 0, stderr
    written = sorted(p.name for p in folder.iterdir())
    assert written == [
        f"Zoe-Nunez-ACT-Team-2025-03-10-review-{seeded['earlier']}.pdf",
        f"Zoe-Nunez-ACT-Team-2026-03-14-review-{seeded['current']}.pdf",
    ]
    assert "wrote 2 report(s)" in stdout
    for name in written:
        assert PROGRAM in pdf_text((folder / name).read_bytes())


def test_cli_all_final_with_no_final_reviews(tmp_path: Path) -> None:
    code, stdout, _ = fidelity("report", "--all-final", "--out-dir", str(tmp_path / "none"))
    assert code == 0 and "no final reviews" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give one of REVIEW_FILE, --review ID or --all-final"),
        (["{example}"], "missing --out FILE.pdf"),
        (["{example}", "--review", "1", "--out", "{tmp}/x.pdf"], "give one of REVIEW_FILE"),
        (["{tmp}/missing.yaml", "--out", "{tmp}/x.pdf"], "cannot read file"),
        (["{bad}", "--out", "{tmp}/x.pdf"], "unknown scale 'nope'"),
        (["{example}", "--out", "{tmp}/no/such/folder/x.pdf"], "does not exist"),
        (["{example}", "--out", "{tmp}"], "is a folder"),
        (["--review", "999", "--out", "{tmp}/x.pdf"], "999"),
        (["--all-final"], "--all-final needs --out-dir"),
        (["--all-final", "--out", "{tmp}/x.pdf"], "give --out-dir DIR, not --out"),
        (["{example}", "--out-dir", "{tmp}"], "--out-dir goes with --all-final"),
    ],
)
def test_cli_bad_input_exits_2_with_one_clear_line(args: list[str], message: str, tmp_path: Path) -> None:
    bad = write_yaml(tmp_path / "bad.yaml", {"scale": "nope", "items": {}})
    values = {"example": str(EXAMPLE), "tmp": str(tmp_path), "bad": str(bad)}
    code, stdout, stderr = fidelity("report", *[a.format(**values) for a in args])
    assert code == 2, (stdout, stderr)
    assert message in stderr
    assert "Traceback" not in stderr + stdout
    assert not (tmp_path / "x.pdf").exists()


def test_installed_command_exits_2_without_traceback_and_score_does_not_load_pdf_libraries(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "report",
            str(tmp_path / "nope.yaml"),
            "--out",
            str(tmp_path / "x.pdf"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith("cannot read file: No such file or directory")
    assert "Traceback" not in done.stderr
    check = "import sys, cli.main; print(sorted(m for m in ('fpdf', 'vl_convert') if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_drift_chart_band_names_stand_clear_of_the_plot(db: Database, seeded: dict[str, int]) -> None:
    """The bands' names are drawn right of the plot (no line can cross them) and whole."""
    pdf = render_report(from_stored_review(db, seeded["current"], actor=local_admin()))
    placed: dict[str, float] = {}

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if text.strip():
            placed.setdefault(text.strip(), tm[4] * cm[0] + cm[4])

    for page in PdfReader(BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    assert "Full implementation from 4" in placed and "Fair implementation from 3" in placed
    newest = placed["Mar 2026"]  # the last review's date, centred under the plot's right end
    assert placed["Full implementation from 4"] > newest and placed["Fair implementation from 3"] > newest
