"""The app's page setup works with no network: its icon is a bundled picture."""

from __future__ import annotations

import base64
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
    # The bundled file itself, inline: served by the app, never fetched from elsewhere.
    icon = str(seen[0]["page_icon"])
    prefix = "data:image/png;base64,"
    assert icon.startswith(prefix)
    bundled = Path(APP).with_name("app_pages") / "icon.png"
    assert base64.b64decode(icon.removeprefix(prefix)) == bundled.read_bytes()
