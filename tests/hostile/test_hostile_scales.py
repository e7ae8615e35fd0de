"""Hostile scale files: random mutations of the bundled scales, YAML bombs, deep nesting, huge
files, values YAML cannot build, wrong types, NaN and infinite bounds.

Whatever the file holds, loading it gives a Scale or a ScaleFileError whose every problem
names the file and a line and is one line of text; `fidelity scales validate` exits 0 or 2
with `PATH:LINE: message` lines and never a traceback.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scales import BUNDLED_DIR, ScaleFileError, load_registry, load_scale_file, parse_scale_text
from scales.loader import MAX_DEPTH, MAX_FILE_BYTES, scale_files
from tests.hostile.conftest import FAST, REPO, THOROUGH, assert_refused, fidelity

BUNDLED = {
    path.relative_to(BUNDLED_DIR).as_posix(): path.read_text(encoding="utf-8")
    for path in scale_files(BUNDLED_DIR)
}
GOI = BUNDLED["goi/1.0.yaml"]
DACTS = BUNDLED["dacts/1.0.yaml"]
NAME = "hostile.yaml"

HOSTILE_VALUES = [
    "", "~", "null", "true", "no", ".nan", ".NaN", ".inf", "-.inf", "1e999", "1.0e+999", "-1",
    "0", "1000000000", "1" + "0" * 5000, "0x" + "f" * 400, "2026-02-30", "2026-13-01 25:61:00",
    "!!int abc", "!!bool maybe", "!!float x", "!!binary '@@@'", "!!timestamp yesterday",
    "!!python/object/apply:os.system ['echo owned']", "!!python/name:os.system", "*nowhere",
    "&anchor [1, 2]", "[", "]", "{", "}", "'unterminated", '"\\x00"', '"\\ud800"', "\x00", "\x07",
    "\t", "\ufeff", "\u202e", "{a: [b, {c: d}]}", "[1, [2, [3, [4]]]]", "{min: 1, max: .nan}",
    '"<script>alert(1)</script>"', '"**md** [x](javascript:alert(1))"', "|\n  block", "? k\n: v",
    "<<: {a: 1}", "- a\n- b", "x" * 30_000, '"' + "y" * 30_000 + '"',
]  # fmt: skip


def assert_named(exc: ScaleFileError, path: str, text: str) -> None:
    """Every problem names `path` and a line in (or just past) the file, in one line of text."""
    assert exc.problems, "a ScaleFileError must say what is wrong"
    last = text.count("\n") + 2
    for problem in exc.problems:
        assert problem.path == path
        assert isinstance(problem.line, int) and 0 <= problem.line <= last, (problem.line, last)
        shown = str(problem)
        assert shown.startswith(f"{path}:{problem.line}: ") and "\n" not in shown and problem.message.strip()


def load_or_refuse(text: str | bytes, path: str = NAME) -> None:
    try:
        parse_scale_text(text, path)
    except ScaleFileError as exc:
        assert_named(exc, path, text if isinstance(text, str) else text.decode("utf-8", "replace"))


@st.composite
def mutated_scale(draw: st.DrawFn) -> str:
    """A bundled scale file with one to three random edits."""
    lines = BUNDLED[draw(st.sampled_from(sorted(BUNDLED)))].splitlines()
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["value", "delete", "duplicate", "indent", "insert", "swap", "text"]))
        line = lines[at]
        if kind == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[at] = f"{key}: {draw(st.sampled_from(HOSTILE_VALUES))}"
        elif kind == "delete":
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, line)
        elif kind == "indent":
            lines[at] = " " * draw(st.integers(0, 12)) + line.lstrip()
        elif kind == "insert":
            lines.insert(at, draw(st.sampled_from(HOSTILE_VALUES)))
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        else:
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(st.text(max_size=20)) + line[cut:]
        if not lines:
            lines = [""]
    text = "\n".join(lines) + "\n"
    return text[: draw(st.integers(0, len(text)))] if draw(st.booleans()) else text


@THOROUGH
@given(mutated_scale())
def test_a_mutated_bundled_scale_loads_or_is_refused_with_file_and_line(text: str) -> None:
    load_or_refuse(text)


@FAST
@given(st.binary(max_size=2000))
def test_random_bytes_are_refused_with_file_and_line(raw: bytes) -> None:
    load_or_refuse(raw)


@FAST
@given(mutated_scale())
def test_fidelity_scales_validate_prints_path_line_message_and_exits_2(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("validate") / NAME
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    code, _out, err = fidelity("scales", "validate", str(path))
    if code == 0:
        return
    for line in assert_refused(code, err):
        assert re.match(rf"^{re.escape(str(path))}:\d+: \S", line), line


def test_the_bundled_files_themselves_load() -> None:
    for name, text in BUNDLED.items():
        assert parse_scale_text(text, name).id


# ---- YAML bombs and sizes ---------------------------------------------------------------------


def test_a_billion_laughs_file_is_refused_before_anything_is_expanded() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text("\n".join(lines) + "\n", NAME)
    # Refused for its aliases, i.e. before composing them: an expanded file would never return.
    assert any("aliases" in p.message for p in caught.value.problems)
    assert_named(caught.value, NAME, "\n".join(lines))


def test_merge_keys_are_refused_at_their_line() -> None:
    text = GOI.replace("rating: {min: 1, max: 5}", "base: &b {min: 1, max: 5}\nrating:\n  <<: *b")
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(text, NAME)
    assert_named(caught.value, NAME, text)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 20_000])
def test_deep_nesting_is_refused_at_its_line(depth: int) -> None:
    text = "id: goi\nversion: '1.0'\nnotes: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(text, NAME)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (3, f"lists and mappings are nested more than {MAX_DEPTH} deep")
    ]


def test_a_hundred_thousand_nested_brackets_do_not_crash_the_command(tmp_path: Path) -> None:
    """libyaml's composer recursed through them and the interpreter died (SIGSEGV): a child process."""
    path = tmp_path / NAME
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    review = tmp_path / "review.yaml"
    review.write_text("scale: dacts\nitems: " + "{a: " * 100_000 + "1" + "}" * 100_000, encoding="utf-8")
    script = "from cli.main import main; main()"
    for args in (["scales", "validate", str(path)], ["score", str(review)]):
        done = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=REPO, timeout=120
        )
        lines = assert_refused(done.returncode, done.stderr, "nested more than")
        assert len(lines) == 1


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / NAME
    path.write_bytes(GOI.encode() + b"#" * MAX_FILE_BYTES)
    with pytest.raises(ScaleFileError) as caught:
        load_scale_file(path)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (1, f"file is larger than {MAX_FILE_BYTES:,} bytes")
    ]


def test_a_long_but_allowed_file_is_read() -> None:
    text = GOI + "".join(f"# padding line {i} {'x' * 80}\n" for i in range(15_000))
    assert parse_scale_text(text, NAME).id == "goi"


# ---- characters and values YAML cannot build -----------------------------------------------------


def test_a_nul_character_is_reported_at_its_line() -> None:
    lines = GOI.splitlines()
    lines[5] = lines[5] + "\x00"
    text = "\n".join(lines)
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(text, NAME)
    assert [p.line for p in caught.value.problems] == [6]
    assert "#x0000" in caught.value.problems[0].message
    assert_named(caught.value, NAME, text)


def test_bytes_that_are_not_utf8_are_reported_at_their_line() -> None:
    raw = GOI.encode().replace(b"General Organizational Index (GOI)", b"General \xff\xfe Index", 1)
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(raw, NAME)
    assert [(p.line, p.message) for p in caught.value.problems] == [(6, "file is not valid UTF-8 text")]


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-30",
        "!!int abc",
        "!!bool maybe",
        "!!float x",
        "!!binary '@@@'",
        "!!timestamp yesterday",
        "!!python/object/apply:os.system ['echo owned']",
        "!!python/name:os.system",
        "1" + "0" * 5000,
        "0x" + "f" * 400,
    ],
)
def test_a_value_yaml_cannot_build_is_reported_at_its_line(value: str) -> None:
    text = GOI.replace("title: General Organizational Index (GOI)", f"title: {value}", 1)
    line = text.splitlines().index(f"title: {value}") + 1
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(text, NAME)
    assert [p.line for p in caught.value.problems] == [line], [str(p) for p in caught.value.problems]
    assert all(len(p.message) < 300 for p in caught.value.problems)  # a 5,000-digit value is not echoed


def test_a_huge_hexadecimal_number_is_refused_at_its_line() -> None:
    """0x… has no digit limit, but no message could print it (Python refuses 4,300+ digits)."""
    band = "        - {rating: 5, max: 10}"
    text = DACTS.replace(band, "        - {rating: 0x" + "f" * 4000 + ", max: 10}", 1)
    line = DACTS.splitlines().index(band) + 1
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(text, NAME)
    assert [p.line for p in caught.value.problems] == [line]
    assert caught.value.problems[0].message == f"YAML error: the number '0x{'f' * 38}…' is too large"


def test_a_key_with_a_line_break_gives_one_line_per_problem() -> None:
    text = GOI.replace("rating: {min: 1, max: 5}", 'rating: {min: 1, max: 5, "evil\\nkey\\r\\nhere": 1}', 1)
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(text, NAME)
    assert any("unknown key" in p.message for p in caught.value.problems)
    assert_named(caught.value, NAME, text)


# ---- wrong types and impossible numbers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("rating: {min: 1, max: 5}", "rating: {min: 1, max: .nan}", "rating.max"),
        ("rating: {min: 1, max: 5}", "rating: {min: 1, max: 1000000000}", "rating.max"),
        ("rating: {min: 1, max: 5}", "rating: {min: -5, max: 5}", "rating.min"),
        ("rating: {min: 1, max: 5}", "rating: {min: 1, max: five}", "rating.max"),
        ("rating: {min: 1, max: 5}", "rating: [1, 5]", "rating"),
        ("id: goi", "id: [goi]", "id"),
        ("id: goi", "id: ../../etc/passwd", "id"),
        ("id: goi", 'id: "goi\\u202e"', "id"),
        ('version: "1.0"', "version: {major: 1}", "version"),
        ("subscales:", "subscales: 5\nunused:", "subscales"),
        ("    items: [G1, G2", "    items: G1\n    unused: [G1, G2", "subscales[0].items"),
    ],
)
def test_a_wrong_type_or_impossible_value_names_the_field_and_line(old: str, new: str, field: str) -> None:
    text = GOI.replace(old, new, 1)
    assert text != GOI
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(text, NAME)
    assert any(p.message.startswith(f"{field}:") for p in caught.value.problems), [
        str(p) for p in caught.value.problems
    ]
    assert_named(caught.value, NAME, text)


@pytest.mark.parametrize("bound", [".nan", ".inf", "-.inf", "1.0e+999"])
def test_nan_or_infinite_band_bounds_are_refused_by_field(bound: str) -> None:
    """NaN compares false with everything: a band "max: .nan" would silently match every value."""
    lines = DACTS.splitlines()
    at = next(i for i, line in enumerate(lines) if re.match(r"\s+- \{rating: \d, max: ", line))
    lines[at] = re.sub(r"max: [^,}]+", f"max: {bound}", lines[at])
    text = "\n".join(lines) + "\n"
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(text, NAME)
    problems = caught.value.problems
    assert any(p.line == at + 1 and ".bands[" in p.message for p in problems), [str(p) for p in problems]
    assert_named(caught.value, NAME, text)


@pytest.mark.parametrize("bound", ["1.0e+300", "1.7e+308", "123456789012345678901234567890.0"])
def test_huge_but_finite_band_bounds_are_checked_not_crashed_on(bound: str) -> None:
    """Checking a bound against the precision needs more digits than Decimal's default 28."""
    lines = DACTS.splitlines()
    at = next(i for i, line in enumerate(lines) if re.match(r"\s+- \{rating: \d, max: ", line))
    lines[at] = re.sub(r"max: [^,}]+", f"max: {bound}", lines[at])
    load_or_refuse("\n".join(lines) + "\n")


@pytest.mark.parametrize("bound", [".nan", ".inf", "-.inf"])
def test_nan_or_infinite_input_bounds_and_totals_are_refused(bound: str) -> None:
    text = DACTS.replace("integer: true, min: 1}", f"integer: true, min: {bound}}}", 1)
    assert text != DACTS
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(text, NAME)
    assert any(".inputs[" in p.message and ".min" in p.message for p in caught.value.problems)
    assert_named(caught.value, NAME, text)


# ---- extra scale folders -------------------------------------------------------------------------


def test_a_hostile_file_in_an_extra_folder_is_reported_and_the_bundled_scales_still_load(
    tmp_path: Path,
) -> None:
    (tmp_path / "bomb.yaml").write_text("a: &a [1]\nb: [*a, *a]\n", encoding="utf-8")
    (tmp_path / "deep.yaml").write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    (tmp_path / "nul.yaml").write_bytes(b"id: x\x00\n")
    registry = load_registry([tmp_path])
    assert {s.id for s in registry.all()} >= {"dacts", "iddt", "goi"}
    assert {Path(p.path).name for p in registry.problems} == {"bomb.yaml", "deep.yaml", "nul.yaml"}
    for problem in registry.problems:
        assert "\n" not in str(problem) and problem.line >= 1
