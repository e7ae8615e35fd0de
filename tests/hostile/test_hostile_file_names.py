"""Program names become file names: the PDF report (`fidelity report --all-final`, the Results
page's download) and the Drift page's CSV downloads. Whatever the name (`../../etc/passwd`,
`a/b\\c:*?"<>|`, 200 CJK letters, NUL, RTL override, CON), the file name is one plain name:
letters, digits and "-", short enough for every file system (at most 255 bytes), no path,
no control or invisible characters, no Windows device name; and it stays in the folder given.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from reports import safe_filename
from scales import ScaleRegistry
from services.database import Database
from services.review_file import parse_review_data
from services.review_import import import_review_file
from storage.models import Program
from tests.hostile.conftest import ADMIN, FAST, REPO, example_review, fidelity

NASTY_NAMES = [
    "../../etc/passwd",
    "..\\..\\Windows\\System32\\drivers\\etc\\hosts",
    'a/b\\c:*?"<>|',
    "/absolute/path",
    "C:\\evil",
    "\u202egpj.exe",  # RTL override: shows as "exe.jpg"
    "a\u200bb\u200dc\ufeffd",  # zero-width characters
    "\x00\x01\x1f\x7f",
    "CON",
    "nul",
    "LPT1",
    ".",
    "..",
    "...",
    " ",
    "-rf --no-preserve-root",
    "東京" * 100,
    "\U00020000" * 200,  # 4-byte letters
    "ﷺ" * 50,  # one character that NFKD makes 18 letters
    "x" * 1000,
    "<script>alert(1)</script>.pdf",
    "name.pdf.exe",
    "Zoë Núñez\tACT\nTeam",
]
DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"{p}{i}" for p in ("COM", "LPT") for i in range(10))}


def assert_safe(name: str, suffix: str = ".pdf") -> None:
    assert name.endswith(suffix), name
    stem = name[: -len(suffix)]
    assert stem and re.fullmatch(r"[\w-]+", stem) and "_" not in stem, name
    assert not stem.startswith(("-", ".")) and not stem.endswith("-"), name
    assert all(unicodedata.category(c)[0] not in "CZ" for c in name), name  # control, format, spaces
    assert len(name.encode("utf-8")) <= 200, (len(name.encode("utf-8")), name)
    assert stem.upper() not in DEVICES, name
    assert Path(name).name == name and Path(name).parent == Path("."), name


@pytest.mark.parametrize("program", NASTY_NAMES)
@pytest.mark.parametrize("date", [dt.date(2026, 3, 14), None, "2026-03-14/../../x", "x" * 500])
@pytest.mark.parametrize("review_id", [7, None])
def test_a_report_file_name_is_always_safe(program: str, date: object, review_id: int | None) -> None:
    assert_safe(safe_filename(program, date, review_id=review_id))  # type: ignore[arg-type]


@FAST
@given(
    st.text(max_size=300),
    st.one_of(st.none(), st.dates(), st.text(max_size=40)),
    st.one_of(st.none(), st.integers(1, 10**9)),
)
def test_any_name_gives_a_safe_file_name(program: str, date: object, review_id: int | None) -> None:
    assert_safe(safe_filename(program, date, review_id=review_id))  # type: ignore[arg-type]
    assert_safe(safe_filename(program, date, review_id=review_id, suffix=".csv"), ".csv")  # type: ignore[arg-type]


def test_names_that_differ_keep_their_letters() -> None:
    assert safe_filename("東京 ACT", dt.date(2026, 1, 2)) == "東京-ACT-2026-01-02.pdf"
    assert safe_filename("CON", None) == "CON-report.pdf"
    long_cjk = safe_filename("東京" * 100, dt.date(2026, 1, 2), review_id=3)
    assert long_cjk.startswith("東京東京") and long_cjk.endswith("-2026-01-02-review-3.pdf")


# ---- fidelity report --all-final --------------------------------------------------------------------


def import_named(db: Database, registry: ScaleRegistry, names: list[str]) -> None:
    for i, name in enumerate(names):
        data = {**example_review(), "program": name, "date": f"20{10 + i}-03-14"}
        import_review_file(db, parse_review_data(data, registry, "r.yaml"), actor=ADMIN)


def test_fidelity_report_all_final_writes_every_report_inside_the_folder(
    db: Database, registry: ScaleRegistry, tmp_path: Path
) -> None:
    names = [
        "../../etc/passwd",
        'a/b\\c:*?"<>|',
        "gpj.exe",
        "CON",
        "..",
        "東京" * 100,
        "\U00020000" * 200,
    ]
    import_named(db, registry, names)
    with db.writing() as s:  # a name stored before names with bidi controls were refused
        s.execute(update(Program).where(Program.name == "gpj.exe").values(name="\u202egpj.exe"))
    root = tmp_path / "out"
    out = root / "deep" / "reports"
    code, stdout, err = fidelity("report", "--all-final", "--out-dir", str(out), "--no-charts")
    assert code == 0, err
    assert f"wrote {len(names)} report(s)" in stdout
    written = sorted(out.iterdir())
    assert len(written) == len(names)
    for path in written:
        assert path.parent == out and path.is_file()
        assert_safe(path.name)
        assert path.read_bytes().startswith(b"%PDF")
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == sorted(
        ["deep", "deep/reports", *(f"deep/reports/{p.name}" for p in written)]
    )


def test_a_nul_in_a_program_name_is_refused_before_it_can_become_a_file_name(
    db: Database, registry: ScaleRegistry
) -> None:
    from services.errors import ValidationProblem
    from tests.hostile.conftest import create_program

    with pytest.raises(ValidationProblem) as caught:
        create_program(db, "../\x00/etc")
    assert caught.value.problems == ["program name contains a NUL character (\\0), which cannot be stored"]


# ---- downloads in the app ---------------------------------------------------------------------------


DRIFT_VIEWS = [("drift_view", "Program")] + [
    ("drift_section", s)
    for s in ("Items that fell", "Low twice", "Scores over time", "Item ratings", "Every fall")
]


def two_reviews_with_falls(db: Database, registry: ScaleRegistry, name: str) -> None:
    for year, rating in ((2024, 4), (2025, 2)):
        data = {**example_review(), "program": name, "date": f"{year}-03-14"}
        data["items"].update({item: {"rating": rating} for item in ("H2", "H3", "O4", "S3")})
        import_review_file(db, parse_review_data(data, registry, "r.yaml"), actor=ADMIN)


@pytest.mark.parametrize("name", ["../../etc/passwd", "東京" * 100, "<gpj>.exe " + "x" * 150])
def test_the_drift_and_results_downloads_have_safe_names(
    sqlite_db: Database, registry: ScaleRegistry, recorded: dict[str, object], name: str
) -> None:
    two_reviews_with_falls(sqlite_db, registry, name)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/drift.py").run()
    for key, view in DRIFT_VIEWS:  # each tab and section offers its own downloads
        at.session_state[key] = view
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    at.query_params["review"] = "2"
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, [e.value for e in at.exception]
    csvs = [n for n in recorded if n.endswith(".csv")]
    assert len(csvs) >= 4 and any(n.startswith("falls-") for n in csvs), sorted(recorded)
    for file_name in recorded:
        assert_safe(file_name, Path(file_name).suffix)
    (pdf,) = [n for n in recorded if n.endswith(".pdf")]
    assert pdf == safe_filename(name, dt.date(2025, 3, 14), review_id=2)
