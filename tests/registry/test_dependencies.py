"""The lock: installs come from it, and a range changed without relocking is caught.

Both tests ask the package registry, so they carry the `registry` mark and run only with
`pytest -m registry` (the default run is offline and reproducible).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.registry


def _uv() -> str:
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH: install it with the README's command (pip install uv==…)"
    return uv


def test_a_range_changed_without_relocking_names_the_command_to_run(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copy(ROOT / "uv.lock", tmp_path / "uv.lock")
    check = [_uv(), "lock", "--check", "--directory", str(tmp_path)]
    assert subprocess.run(check, capture_output=True, text=True).returncode == 0

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pandas>=2.2"', '"pandas>=2.2.1"'))
    done = subprocess.run(check, capture_output=True, text=True)
    assert done.returncode != 0
    assert "uv lock" in done.stderr


def test_the_suite_passes_on_the_newest_allowed_releases() -> None:
    done = subprocess.run(
        ["bash", str(ROOT / ".ci" / "newest-releases"), "-q", "-x", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    print(done.stdout[-5000:])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
