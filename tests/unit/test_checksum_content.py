"""What a final review's checksum covers: an override's reason is in it once set, and a checksum
stored before overrides existed (rows without the field) stays valid."""

from __future__ import annotations

import datetime as dt
from typing import Any

from storage.integrity import content_checksum

REVIEW: dict[str, Any] = {"id": 7, "program_id": 1, "scale_id": "dacts", "review_date": dt.date(2024, 5, 1)}
ROW: dict[str, Any] = {"item_id": "H1", "rating": 3, "rating_source": "override", "inputs": None}


def checksum(consensus: dict[str, Any], rater: dict[str, Any] | None = None) -> str:
    raters = [{"rater": "Ana", **(rater or ROW)}]
    return content_checksum("key", REVIEW, ["Ana"], [consensus], raters)


def test_rows_from_before_overrides_keep_their_checksum() -> None:
    assert checksum({**ROW, "override_reason": None}) == checksum(dict(ROW))
    assert checksum(ROW, {**ROW, "override_reason": None}) == checksum(ROW, dict(ROW))


def test_an_override_reason_is_part_of_the_checksum() -> None:
    assert checksum({**ROW, "override_reason": "counted by hand"}) != checksum(dict(ROW))
    assert checksum({**ROW, "override_reason": "counted by hand"}) != checksum(
        {**ROW, "override_reason": "other"}
    )
    assert checksum(ROW, {**ROW, "override_reason": "counted by hand"}) != checksum(ROW, dict(ROW))
