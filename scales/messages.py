"""The project's words for what the parsers and validators refuse.

A library's own error text changes when the library releases (PyYAML 6.0.4 began refusing
deep nesting itself; pydantic rewords its messages between minor versions), so nothing a
user reads is taken from it: each refusal is named here by its kind (the exception class, or
pydantic's stable error `type` and `ctx`), and the user reads the same message whatever
version is installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

_NUMBER_BOUNDS = {
    "greater_than": "greater than",
    "greater_than_equal": "at least",
    "less_than": "less than",
    "less_than_equal": "at most",
}

_TYPE_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "decimal": "a number",
    "string": "text",
    "str": "text",
    "bool": "true or false",
    "list": "a list",
    "tuple": "a list",
    "set": "a list",
    "dict": "a mapping",
    "model": "a mapping",
    "model_attributes": "a mapping",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date and time (YYYY-MM-DDTHH:MM)",
    "time": "a time (HH:MM)",
    "url": "a web address",
    "uuid": "a UUID",
    "none": "empty (null)",
}


# Kinds whose message needs nothing from the error's context.
_FIXED_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_pattern_mismatch": "is not in the expected form",
    "int_from_float": "must be a whole number",
    "finite_number": "must be a finite number",
    "union_tag_invalid": "does not name a known kind",
    "union_tag_not_found": "does not name a known kind",
    "date_from_datetime_inexact": "must be a date without a time",
    "frozen_field": "cannot be changed",
}


def pydantic_message(err: Mapping[str, Any]) -> str:
    """One pydantic error (an entry of `ValidationError.errors()`) in the project's words."""
    kind = str(err.get("type", ""))
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])  # raised by our own validators: already our words
    if kind in _FIXED_MESSAGES:
        return _FIXED_MESSAGES[kind]
    bounded = _bound_message(kind, ctx)
    if bounded is not None:
        return bounded
    base = kind.split("_", 1)[0]
    if kind.endswith(("_type", "_parsing", "_from_datetime_parsing")) and base in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[base]}"
    return "is not a valid value"


def _bound_message(kind: str, ctx: Mapping[str, Any]) -> str | None:
    """The message of a kind that names a bound or the allowed values (from `ctx`); None for
    any other kind."""
    if kind in _NUMBER_BOUNDS:
        return f"must be {_NUMBER_BOUNDS[kind]} {_number(next(iter(ctx.values()), ''))}"
    if kind == "multiple_of":
        return f"must be a multiple of {ctx.get('multiple_of', '')}"
    if kind in ("string_too_short", "too_short"):
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"must have at least {least} entries or characters"
    if kind in ("string_too_long", "too_long"):
        return f"must have at most {ctx.get('max_length', '')} entries or characters"
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected")
        return f"must be one of {expected}" if expected else "is not one of the allowed values"
    return None


def _number(value: Any) -> str:
    """A bound as a person writes it: 0, not 0.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[int, str]:
    """(line, message) for a document that PyYAML (C or pure Python) could not read."""
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow, e.g. NUL
        line = text[: exc.position].count("\n") + 1
        return line, f"the character #x{exc.character:04x} is not allowed in a YAML file"
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    where = f" at column {mark.column + 1}" if mark is not None else ""
    if isinstance(exc, yaml.scanner.ScannerError):
        return line, (
            f"YAML syntax error{where}: a character that cannot stand here "
            "(a tab used for indentation, an unclosed quote, or a stray ':', '@' or '`')"
        )
    if isinstance(exc, yaml.parser.ParserError):
        return line, (
            f"YAML syntax error{where}: the structure breaks here "
            "(check the indentation, a missing ':' after a key, or an unclosed '[' or '{')"
        )
    if isinstance(exc, yaml.composer.ComposerError):
        return line, f"YAML syntax error{where}: a file holds one document, without anchors or aliases"
    if isinstance(exc, yaml.constructor.ConstructorError):
        return line, (
            f"YAML error{where}: a value that cannot be read (an unknown !tag, or a list or mapping as a key)"
        )
    return line, f"YAML syntax error{where}: the text cannot be read as YAML"
