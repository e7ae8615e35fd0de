"""The project's words for parser and validator refusals, the same whatever the library version.

Each case runs with the C parser (libyaml, which since PyYAML 6.0.4 has a nesting limit of its
own) and the pure-Python one (which has none): the user reads the same message from both.
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scales import loader
from scales.loader import MAX_DEPTH, ScaleFileError, parse_scale_text
from scales.messages import pydantic_message

PARSERS = [pytest.param(yaml.SafeLoader, id="pure-python")]
if getattr(yaml, "CSafeLoader", None) is not None:
    PARSERS.append(pytest.param(yaml.CSafeLoader, id="libyaml"))

DEEP = f"lists and mappings are nested more than {MAX_DEPTH} deep"


@pytest.fixture(params=PARSERS)
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type[yaml.SafeLoader]:
    monkeypatch.setattr(loader, "_SafeLoader", request.param)
    return request.param


def refusal(text: str) -> tuple[int, str]:
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(text, "s.yaml")
    (problem,) = caught.value.problems
    return problem.line, problem.message


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 999, 1000, 1001, 5000])
def test_flow_nesting_past_the_limit_is_the_projects_rule_at_any_depth(parser: object, depth: int) -> None:
    assert refusal("id: x\nitems:\n  " + "[" * depth + "]" * depth + "\n") == (3, DEEP)


def test_nesting_at_the_limit_is_not_refused_for_depth(parser: object) -> None:
    _line, message = refusal("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    assert message != DEEP
    assert message == "a scale file must be a mapping with id, version, items…"


def test_block_nesting_past_the_limit_is_refused_at_its_line(parser: object) -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 1)) + "  " * (MAX_DEPTH + 1) + "v\n"
    assert refusal(text) == (MAX_DEPTH + 1, DEEP)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "id: x\nitems: [1, 2\n",
            3,
            "YAML syntax error at column 1: the structure breaks here (check the indentation, "
            "a missing ':' after a key, or an unclosed '[' or '{')",
        ),
        (
            "id: x\ntitle: a: b\n",
            2,
            "YAML syntax error at column 9: a character that cannot stand here (a tab used for "
            "indentation, an unclosed quote, or a stray ':', '@' or '`')",
        ),
        (
            "id: x\n\ttitle: y\n",
            2,
            "YAML syntax error at column 1: a character that cannot stand here (a tab used for "
            "indentation, an unclosed quote, or a stray ':', '@' or '`')",
        ),
        (
            "--- {id: x}\n--- {id: y}\n",
            2,
            "YAML syntax error at column 1: a file holds one document, without anchors or aliases",
        ),
        (
            "id: !custom x\n",
            1,
            "YAML error at column 5: a value that cannot be read (an unknown !tag, or a list or mapping as a key)",
        ),
        ("id: x\ntitle: \x00\n", 2, "the character #x0000 is not allowed in a YAML file"),
        ("id: x\ndate: 2026-02-30\n", 2, "YAML error: cannot read '2026-02-30' as YAML type timestamp"),
    ],
)
def test_yaml_refusals_read_the_same_from_either_parser(
    parser: object, text: str, line: int, message: str
) -> None:
    assert refusal(text) == (line, message)


class _Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = Field(ge=1, le=5)
    share: float = Field(gt=0)
    name: str = Field(min_length=1)
    when: str = "x"
    day: dt.date | None = None

    @field_validator("when")
    @classmethod
    def _ours(cls, value: str) -> str:
        if value == "bad":
            raise ValueError("when must not be 'bad'")
        return value


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"share": 1, "name": "n"}, "count", "is required"),
        ({"count": 0, "share": 1, "name": "n"}, "count", "must be at least 1"),
        ({"count": 6, "share": 1, "name": "n"}, "count", "must be at most 5"),
        ({"count": 1, "share": 0, "name": "n"}, "share", "must be greater than 0"),
        ({"count": "three", "share": 1, "name": "n"}, "count", "must be a whole number"),
        ({"count": 2.5, "share": 1, "name": "n"}, "count", "must be a whole number"),
        ({"count": 1, "share": "lots", "name": "n"}, "share", "must be a number"),
        ({"count": 1, "share": 1, "name": ""}, "name", "must not be empty"),
        ({"count": 1, "share": 1, "name": 7}, "name", "must be text"),
        ({"count": 1, "share": 1, "name": "n", "extra": 1}, "extra", "is not a known field"),
        ({"count": 1, "share": 1, "name": "n", "when": "bad"}, "when", "when must not be 'bad'"),
        ({"count": 1, "share": 1, "name": "n", "day": "2026-02-30"}, "day", "must be a date (YYYY-MM-DD)"),
    ],
)
def test_pydantic_refusals_in_the_projects_words(data: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _Sample.model_validate(data)
    (err,) = caught.value.errors()
    assert err["loc"] == (field,)
    assert pydantic_message(err) == message


def test_an_unknown_kind_of_refusal_has_a_plain_message() -> None:
    assert pydantic_message({"type": "some_future_kind", "msg": "Library wording", "loc": ("x",)}) == (
        "is not a valid value"
    )


def test_a_scale_field_of_the_wrong_type_is_named_in_the_projects_words() -> None:
    text = (loader.BUNDLED_DIR / "dacts" / "1.0.yaml").read_text(encoding="utf-8")
    broken = text.replace("\nversion: ", "\nversion: [1]\nold_version: ", 1)
    with pytest.raises(ScaleFileError) as caught:
        parse_scale_text(broken, "dacts.yaml")
    messages = [p.message for p in caught.value.problems]
    assert any(m.startswith("version") and m.endswith("must be text") for m in messages), messages
