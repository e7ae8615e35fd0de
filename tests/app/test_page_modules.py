"""Every page is a module with a `render()`: importing it draws nothing and keeps no state, and
the page file registered in the navigation runs `render()` only when run as the page's script."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
PAGES = [
    "reviews",
    "rate",
    "consensus",
    "results",
    "drift",
    "compare",
    "programs",
    "users",
    "integrity",
    "scales",
    "outcomes",
]


@pytest.mark.parametrize("name", PAGES)
def test_a_page_module_exposes_render_and_runs_it_only_as_a_page(name: str) -> None:
    module = importlib.import_module(f"app_pages.{name}")
    assert callable(module.render)
    tree = ast.parse((REPO / "app_pages" / f"{name}.py").read_text(encoding="utf-8"))
    calls = [node for node in tree.body if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)]
    assert not calls, "a page module draws nothing when imported"
    guard = tree.body[-1]
    assert isinstance(guard, ast.If) and ast.unparse(guard.test) == "__name__ == '__main__'"
    assert ast.unparse(guard.body[0]) == "render()"


def test_a_page_render_draws_the_page_from_a_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`render` registered as a callable page draws what the page file draws."""
    monkeypatch.setenv("FIDELITY_DATABASE_URL", f"sqlite:///{tmp_path}/t.db")
    entry = tmp_path / "entry.py"
    entry.write_text(
        "import streamlit as st\n"
        "from app_pages import scales\n"
        'st.navigation([st.Page(scales.render, title="Scales", url_path="scales")]).run()\n',
        encoding="utf-8",
    )
    at = AppTest.from_file(str(entry), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.radio(key="scale_browser_choice").options
