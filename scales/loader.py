"""Load scale files with errors that name the file, the line and the field.

YAML is first composed into a node tree (which knows line numbers and refuses aliases,
so a "billion laughs" file is rejected before anything is expanded), then validated by
the pydantic schema, then by the cross-field rules in `scales.rules`. Nesting deeper than
MAX_DEPTH is refused before the tree is built (libyaml's composer recurses, and 100,000
nested brackets crash the interpreter), and values YAML cannot build (a date 2026-02-30,
`!!int abc`) are reported at their line like any other problem.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version
from pydantic import ValidationError

from scales.derived import DerivedScale, derived_loc, is_derived, resolve
from scales.messages import pydantic_message, yaml_problem
from scales.rules import Loc, check_scale
from scales.schema import Scale

BUNDLED_DIR = Path(__file__).resolve().parent
MAX_FILE_BYTES = 2_000_000
MAX_DEPTH = 64  # lists and mappings inside each other; a scale file needs 6, a review file 4
MAX_INT_BITS = 333  # integers up to about 10**100
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class ScaleProblem:
    path: str
    line: int
    message: str

    def __post_init__(self) -> None:
        # One line per problem (`PATH:LINE: message`), even when it quotes a key with a line break.
        object.__setattr__(self, "message", " ".join(self.message.splitlines()))

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class ScaleFileError(Exception):
    """A scale file that cannot be used; `problems` lists every reason found."""

    def __init__(self, problems: list[ScaleProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UnknownScaleError(LookupError):
    pass


def load_scale_file(path: str | os.PathLike[str], bases: ScaleRegistry | None = None) -> Scale:
    """Parse and validate one scale file, or raise ScaleFileError. A derived scale
    (`based_on: id@version`) is resolved against `bases` (default: the bundled scales)."""
    path_text = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ScaleFileError([ScaleProblem(path_text, 0, f"cannot read file: {exc.strerror}")]) from None
    return parse_scale_text(raw, path_text, bases)


def parse_scale_text(raw: bytes | str, path: str = "<scale>", bases: ScaleRegistry | None = None) -> Scale:
    data, lines = _parse_yaml(raw, path)
    return _build_scale(data, lines, path, bases)


def _build_scale(data: Any, lines: _LineMap, path: str, bases: ScaleRegistry | None) -> Scale:
    if not isinstance(data, dict):
        raise ScaleFileError(
            [ScaleProblem(path, 1, "a scale file must be a mapping with id, version, items…")]
        )
    if is_derived(data):
        return _build_derived(data, lines, path, bundled_registry() if bases is None else bases)

    try:
        scale = Scale.model_validate(data)
    except ValidationError as exc:
        raise ScaleFileError(
            [_problem_from_pydantic(err, path, lines, data) for err in exc.errors()]
        ) from None

    rule_problems = check_scale(scale)
    if rule_problems:
        raise ScaleFileError(
            [
                ScaleProblem(path, lines.line_of(loc), f"{_field_name(loc, data)}: {message}")
                for loc, message in rule_problems
            ]
        )
    return scale


def _build_derived(data: dict[str, Any], lines: _LineMap, path: str, bases: ScaleRegistry) -> Scale:
    """A derived scale resolved against its base; each problem at the derived file's field."""
    try:
        variant = DerivedScale.model_validate(data)
    except ValidationError as exc:
        raise ScaleFileError(
            [_problem_from_pydantic(err, path, lines, data) for err in exc.errors()]
        ) from None
    base_id, base_version = variant.based_on.split("@", 1)
    try:
        base = bases.get(base_id, base_version)
    except UnknownScaleError:
        known = ", ".join(s.version for s in bases.versions(base_id))
        why = f"known versions of {base_id}: {known}" if known else f"no scale '{base_id}' is loaded"
        message = f"based_on: the base {variant.based_on} is not loaded ({why})"
        raise ScaleFileError([ScaleProblem(path, lines.line_of(("based_on",)), message)]) from None

    def refuse(problems: list[tuple[Loc, str]], resolved: dict[str, Any]) -> ScaleFileError:
        found = []
        for loc, message in problems:
            at = derived_loc(loc, resolved, variant)
            name = (
                _field_name(at, data)
                if at[:1] in (("replace",), ("minimums",), ("drop",), ("scoring",))
                else (f"{_field_name(loc, resolved)} (after the changes to {variant.based_on})")
            )
            found.append(ScaleProblem(path, lines.line_of(at), f"{name}: {message}"))
        return ScaleFileError(found)

    resolved, problems = resolve(variant, base)
    if problems:
        raise refuse(problems, resolved)
    try:
        scale = Scale.model_validate(resolved)
    except ValidationError as exc:
        raise refuse(
            [(_pydantic_loc(err), pydantic_message(err)) for err in exc.errors()], resolved
        ) from None
    rule_problems = check_scale(scale)
    if rule_problems:
        raise refuse(rule_problems, resolved)
    return scale


def _pydantic_loc(err: Any) -> Loc:
    return tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))


def load_yaml_data(raw: bytes | str, path: str) -> Any:
    """Safely parse a YAML (or JSON) document: size-capped, no aliases, no duplicate keys."""
    return _parse_yaml(raw, path)[0]


def _parse_yaml(raw: bytes | str, path: str) -> tuple[Any, _LineMap]:
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_FILE_BYTES:
        raise ScaleFileError([ScaleProblem(path, 1, f"file is larger than {MAX_FILE_BYTES:,} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScaleFileError([ScaleProblem(path, line, "file is not valid UTF-8 text")]) from None
    _check_depth(text, path)
    node = _compose(text, path)
    lines = _LineMap()
    structure_problems = lines.walk(node)
    if structure_problems:
        raise ScaleFileError([ScaleProblem(path, ln, msg) for ln, msg in structure_problems])
    return _construct(node, path), lines


def _compose(text: str, path: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_SafeLoader)
    except yaml.YAMLError as exc:
        line, message = yaml_problem(exc, text)
        raise ScaleFileError([ScaleProblem(path, line, message)]) from None


def _check_depth(text: str, path: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, whatever limit the installed parser has itself.

    The event stream is flat and is stopped at the first level too deep. libyaml (since
    PyYAML 6.0.4) refuses flow nesting past its own limit while scanning ahead, before an
    event reaches us; so when the C parser fails, the pure-Python parser (which has no limit
    and does not scan ahead) counts again, and a real syntax error is left to _compose.
    """
    try:
        _count_depth(text, path, _SafeLoader)
    except yaml.YAMLError:
        if _SafeLoader is yaml.SafeLoader:
            return
        try:
            _count_depth(text, path, yaml.SafeLoader)
        except yaml.YAMLError:
            return


def _count_depth(text: str, path: str, loader: type[yaml.SafeLoader]) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark is not None else 1
                message = f"lists and mappings are nested more than {MAX_DEPTH} deep"
                raise ScaleFileError([ScaleProblem(path, line, message)])
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            depth -= 1


class _ValueProblem(yaml.constructor.ConstructorError):
    """A value the constructor cannot build, described in the project's words."""


class _Constructor(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe constructor, with values it cannot build reported at their line.

    PyYAML raises plain ValueError, KeyError or AttributeError for a scalar that matches a
    tag but is not a valid value of it (`2026-02-30`, `!!bool maybe`, `!!int abc`, an int of
    more than 4,300 digits); those become a ConstructorError that carries the node's mark.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            value = super().construct_object(node, deep=deep)
        except yaml.MarkedYAMLError:
            raise
        except (ArithmeticError, AttributeError, KeyError, TypeError, ValueError):
            raise _ValueProblem(
                None, None, f"cannot read {_shown(node)} as YAML type {_kind(node)}", node.start_mark
            ) from None
        # A 0xfff… int has no digit limit, but printing it (in any message) raises ValueError.
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise _ValueProblem(None, None, f"the number {_shown(node)} is too large", node.start_mark)
        return value


def _kind(node: yaml.Node) -> str:
    return str(node.tag).rsplit(":", 1)[-1]


def _shown(node: yaml.Node) -> str:
    value = str(node.value) if isinstance(node, yaml.ScalarNode) else f"a {_kind(node)}"
    return repr(value if len(value) <= 40 else f"{value[:40]}…")


def _construct(node: yaml.Node | None, path: str) -> Any:
    if node is None:
        return None
    loader = _Constructor("")
    try:
        return loader.construct_document(node)
    except _ValueProblem as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ScaleFileError([ScaleProblem(path, line, f"YAML error: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        line, message = yaml_problem(exc, "")
        raise ScaleFileError([ScaleProblem(path, line, message)]) from None
    finally:
        loader.dispose()


class _LineMap:
    """Line number of every key and list entry, keyed by its path of string parts."""

    def __init__(self) -> None:
        self._lines: dict[tuple[str, ...], int] = {}

    def walk(self, root: yaml.Node | None) -> list[tuple[int, str]]:
        problems: list[tuple[int, str]] = []
        if root is None:
            return [(1, "the file is empty")]
        seen: set[int] = set()
        stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
        while stack:
            node, path = stack.pop()
            line = node.start_mark.line + 1
            self._lines.setdefault(path, line)
            if id(node) in seen:
                problems.append((line, "YAML aliases (*name) are not allowed in scale files"))
                continue
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                keys_seen: set[str] = set()
                for key_node, value_node in node.value:
                    key = str(key_node.value)
                    key_line = key_node.start_mark.line + 1
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        problems.append((key_line, "YAML merge keys (<<) are not allowed"))
                        continue
                    if key in keys_seen:
                        problems.append((key_line, f"duplicate key '{key}'"))
                    keys_seen.add(key)
                    self._lines[(*path, key)] = key_line
                    stack.append((value_node, (*path, key)))
            elif isinstance(node, yaml.SequenceNode):
                for index, child in enumerate(node.value):
                    stack.append((child, (*path, str(index))))
        return sorted(problems)

    def line_of(self, loc: Loc) -> int:
        parts = tuple(str(p) for p in loc)
        while parts:
            if parts in self._lines:
                return self._lines[parts]
            parts = parts[:-1]
        return self._lines.get((), 1)


def _field_name(loc: Loc, data: Any) -> str:
    """`items[3].compute.bands[1].min (item H4)`: the field and, inside items, the item id."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
        try:
            item_id = data["items"][loc[1]]["id"]
        except (KeyError, IndexError, TypeError):
            item_id = None
        if isinstance(item_id, str):
            text += f" (item {item_id})"
    return text or "(top level)"


def _problem_from_pydantic(err: Any, path: str, lines: _LineMap, data: Any) -> ScaleProblem:
    loc: tuple[Any, ...] = tuple(err["loc"])
    # pydantic reports dict keys and model fields alike; drop the validator suffixes.
    loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
    kind = err["type"]
    if kind == "extra_forbidden":
        message = f"unknown key '{loc[-1]}'"
        field_loc = loc
    elif kind == "missing":
        message = f"missing required field '{loc[-1]}'"
        field_loc = loc
    else:
        message = pydantic_message(err)
        field_loc = loc
    return ScaleProblem(path, lines.line_of(field_loc), f"{_field_name(field_loc, data)}: {message}")


@dataclass
class ScaleRegistry:
    """Every loaded scale version, plus the problems of the files that could not be used."""

    scales: dict[tuple[str, str], Scale] = field(default_factory=dict)
    paths: dict[tuple[str, str], str] = field(default_factory=dict)
    problems: list[ScaleProblem] = field(default_factory=list)

    def get(self, scale_id: str, version: str | None = None) -> Scale:
        if version is None:
            versions = self.versions(scale_id)
            if not versions:
                raise UnknownScaleError(f"unknown scale '{scale_id}'")
            return versions[-1]
        try:
            return self.scales[(scale_id, str(version))]
        except KeyError:
            known = ", ".join(s.version for s in self.versions(scale_id)) or "none"
            raise UnknownScaleError(
                f"unknown scale version '{scale_id}' {version} (known versions: {known})"
            ) from None

    def versions(self, scale_id: str) -> list[Scale]:
        found = [s for (sid, _), s in self.scales.items() if sid == scale_id]
        return sorted(found, key=lambda s: _version_key(s.version))

    def all(self) -> list[Scale]:
        return sorted(self.scales.values(), key=lambda s: (s.id, _version_key(s.version)))

    def add(self, scale: Scale, path: str) -> None:
        key = (scale.id, scale.version)
        existing = self.scales.get(key)
        if existing is None:
            self.scales[key] = scale
            self.paths[key] = path
        elif existing.content_hash != scale.content_hash:
            self.problems.append(
                ScaleProblem(
                    path,
                    1,
                    f"scale {scale.id} version {scale.version} is already defined with different "
                    f"content in {self.paths[key]}; a published version never changes, so give "
                    "this file a new version or id",
                )
            )


def _version_key(version: str) -> tuple[int, Any]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def scale_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())


def load_registry(extra_dirs: Iterable[str | os.PathLike[str]] = ()) -> ScaleRegistry:
    """The bundled scales, then those in `extra_dirs`; broken files are reported, not fatal.

    Derived scales are resolved after every full scale is loaded (then after each other, so a
    variant of a variant works), whichever folder their base is in."""
    registry = ScaleRegistry()
    dirs: Sequence[Path] = [BUNDLED_DIR, *(Path(d) for d in extra_dirs)]
    derived: list[tuple[Any, _LineMap, str]] = []
    for directory in dirs:
        if not directory.is_dir():
            registry.problems.append(ScaleProblem(str(directory), 0, "scale folder does not exist"))
            continue
        for path in scale_files(directory):
            try:
                data, lines = _parse_yaml(_read(path), str(path))
                if is_derived(data):
                    derived.append((data, lines, str(path)))
                    continue
                registry.add(_build_scale(data, lines, str(path), registry), str(path))
            except ScaleFileError as exc:
                registry.problems.extend(exc.problems)
    _add_derived(registry, derived)
    return registry


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ScaleFileError([ScaleProblem(str(path), 0, f"cannot read file: {exc.strerror}")]) from None


def _add_derived(registry: ScaleRegistry, pending: list[tuple[Any, _LineMap, str]]) -> None:
    """Resolve derived scales whose base is loaded, until no more can be; the rest are refused."""
    while pending:
        waiting: list[tuple[Any, _LineMap, str]] = []
        failed: list[ScaleProblem] = []
        for data, lines, path in pending:
            try:
                registry.add(_build_scale(data, lines, path, registry), path)
            except ScaleFileError as exc:
                waiting.append((data, lines, path))
                failed.extend(exc.problems)
        if len(waiting) == len(pending):
            registry.problems.extend(failed)
            return
        pending = waiting


@functools.cache
def bundled_registry() -> ScaleRegistry:
    """The bundled scales, loaded once: the bases of a derived file parsed on its own."""
    return load_registry()
