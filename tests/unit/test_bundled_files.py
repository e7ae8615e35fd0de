"""Bundled files that users read: what they point at exists, and the app's settings hold."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_goi_scale_files_comments_name_no_path_outside_the_repository() -> None:
    comments = [
        line for line in (ROOT / "scales/goi/1.0.yaml").read_text().splitlines() if line.startswith("#")
    ]
    paths = [p for line in comments for p in re.findall(r"[\w./-]+\.(?:md|py|yaml)\b", line)]
    missing = [p for p in paths if not (ROOT / p.lstrip("/")).exists() or p.startswith("/")]
    assert not missing, f"scales/goi/1.0.yaml comments point at {missing}"


def test_streamlit_config_refuses_uploads_over_50_mb_and_hides_the_deploy_button() -> None:
    config = tomllib.loads((ROOT / ".streamlit/config.toml").read_text())
    assert config["server"]["maxUploadSize"] == 50  # MB, as the README and the importers say
    assert config["client"]["toolbarMode"] in ("viewer", "minimal")  # both hide the Deploy button
