"""The app's page setup works with no network: its icon is a bundled picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_the_page_icon_is_a_bundled_png_not_a_font_or_emoji_from_the_internet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIDELITY_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    seen: list[dict[str, Any]] = []
    original = st.set_page_config

    def record(**kwargs: Any) -> None:
        seen.append(kwargs)
        original(**kwargs)

    monkeypatch.setattr(st, "set_page_config", record)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    icon = Path(str(seen[0]["page_icon"]))
    assert icon.suffix == ".png" and icon.is_file()  # served by the app itself
