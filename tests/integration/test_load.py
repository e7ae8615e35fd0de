"""Many raters on one database at once (issue 21, part 5), at a CI size: 20 raters x 20 saves in
two rater processes while two processes rerun the Rate page (bench/load.py; the full 20 and 50
raters x 100 saves, with nginx and two real app processes, is `python -m bench.load`).

Nothing may be lost, overwritten or left unaudited, and nothing may fail ("database is locked",
a deadlock, a pool timeout). Timings are printed (pytest -s), never asserted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load import report, run_load
from bench.targets import Target, postgres_target, sqlite_target
from storage.migrate import upgrade_to_head

RATERS = 20
SAVES = 20


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        made = sqlite_target(tmp_path / "load.db")
    else:
        made = postgres_target(request.getfixturevalue("postgres_url"), f"load_test_{uuid.uuid4().hex[:10]}")
    made.reset()
    upgrade_to_head(made.url)
    try:
        yield made
    finally:
        made.drop()


@pytest.mark.load
def test_twenty_raters_saving_at_once_lose_nothing(target: Target) -> None:
    result = run_load(target.url, target.dialect, RATERS, SAVES)
    print("\n" + "\n".join(report(result, None)))

    assert result.errors == []
    assert result.saved == RATERS * SAVES
    assert (result.lost, result.overwritten, result.unaudited) == (0, 0, 0)
    assert result.integrity_ok  # `fidelity db check` holds afterwards: checksums, chain, sealed head
    assert result.rerun_ms, "the pages were rerun while the raters saved"
