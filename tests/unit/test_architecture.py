"""The shape of the code, checked so it lasts: module size, private names, imports at the top.

The layers themselves (which package may import which) and import cycles are import-linter's
contracts in pyproject.toml, run by `.ci/run`; these are the rules it has no contract for.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "scales", "scoring", "storage", "services", "exchange", "reports", "app_pages", "cli", "bench")
MAX_LINES = 500


def _sources() -> list[Path]:
    files = [ROOT / "app.py"]
    for package in PACKAGES:
        files += sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)
    return files


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


SOURCES = _sources()
PROJECT = {_module_name(p) for p in SOURCES}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@dataclass(frozen=True)
class Finding:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def _imported_modules(tree: ast.Module, module: str) -> dict[str, str]:
    """Local names bound to project modules (`import services.reviews as svc`, `from services import reviews`)."""
    bound: dict[str, str] = {}
    package = module if (ROOT / module.replace(".", "/")).is_dir() else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in PROJECT and alias.asname:
                    bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            for alias in node.names:
                target = f"{base}.{alias.name}" if base else alias.name
                if target in PROJECT:
                    bound[alias.asname or alias.name] = target
    return bound


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - node.level + 1] if package else []
    return ".".join([*base, *([node.module] if node.module else [])])


def _private_uses(path: Path, module: str | None = None) -> list[Finding]:
    module = module or _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found: list[Finding] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(node, package)
            if source in PROJECT and source != module:
                found += [
                    Finding(f"{where}:{node.lineno}", f"imports {source}.{alias.name}")
                    for alias in node.names
                    if _private(alias.name)
                ]
    modules = _imported_modules(tree, module)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and modules[node.value.id] != module
        ):
            found.append(
                Finding(f"{where}:{node.lineno}", f"uses {modules[node.value.id]}.{node.attr}")
            )
    return found


def _comment_lines(text: str) -> set[int]:
    return {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.COMMENT
    }


def _unexplained_inner_imports(path: Path) -> list[Finding]:
    """Imports inside functions with no comment on their line or the line above."""
    text = path.read_text(encoding="utf-8")
    comments = _comment_lines(text)
    lines = text.splitlines()
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found: list[Finding] = []
    for func in ast.walk(ast.parse(text)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        inner = sorted(
            (n for n in ast.walk(func) if isinstance(n, ast.Import | ast.ImportFrom)), key=lambda n: n.lineno
        )
        explained_to = -1  # last line of a run of imports that a comment explains
        for node in inner:
            end = node.end_lineno or node.lineno
            follows = explained_to > 0 and all(not lines[i - 1].strip() for i in range(explained_to + 1, node.lineno))
            if {node.lineno, node.lineno - 1, end} & comments or follows:
                explained_to = end
            else:
                found.append(Finding(f"{where}:{node.lineno}", "import inside a function"))
    return found


def test_no_module_is_over_500_lines() -> None:
    long = [
        Finding(str(p.relative_to(ROOT)), f"{n} lines")
        for p in SOURCES
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert not long, "\n".join(map(str, long))


def test_no_module_uses_another_modules_private_names() -> None:
    found = [f for p in SOURCES for f in _private_uses(p)]
    assert not found, "\n".join(map(str, found))


def test_imports_sit_at_the_top_unless_a_comment_says_why() -> None:
    found = [f for p in SOURCES for f in _unexplained_inner_imports(p)]
    assert not found, "\n".join(map(str, found))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from services.reviews import _Log\n", ["imports services.reviews._Log"]),
        ("from services import reviews as svc\nsvc._score(1)\n", ["uses services.reviews._score"]),
        ("from services import reviews\nreviews.save_rating\n", []),
        ("from .reviews import _Log\n", ["imports services.reviews._Log"]),
    ],
)
def test_the_private_name_check_sees_each_form(tmp_path: Path, source: str, expected: list[str]) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    assert [f.what for f in _private_uses(path, "services.probe")] == expected


def test_the_inner_import_check_accepts_a_reason_and_refuses_none(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text(
        "def a():\n    import json\n\ndef b():\n    # fpdf2 loads only when a report is made\n    import fpdf\n    import fpdf.enums\n\n"
        "def c():\n    import csv  # start-up time\n\n    import json\n    x = 1\n    import io\n",
        encoding="utf-8",
    )
    assert [f.where for f in _unexplained_inner_imports(path)] == ["probe.py:2", "probe.py:14"]
