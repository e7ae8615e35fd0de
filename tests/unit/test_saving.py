"""The stale-save rule (domain/saving.py): a save refused as stale goes on top of the newer
entry only when the other window changed other parts of the entry."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from domain.saving import may_save_on_top, touched


@dataclass(frozen=True)
class Entry:
    rating: int | None = None
    source: str | None = None
    inputs: dict[str, Any] | None = None
    note: str | None = None
    data_sources: list[str] = field(default_factory=list)


SHOWN = Entry(rating=3, source="rated", note="seen", data_sources=["chart review"])


def test_touched_names_only_the_parts_a_save_changes() -> None:
    assert touched(SHOWN, {"note": "x"}) == {"note": "seen"}
    assert touched(SHOWN, {"data_sources": []}) == {"data_sources": ["chart review"]}
    assert touched(SHOWN, {"rating": 4}) == {"rating": (3, "rated", None)}
    assert touched(SHOWN, {"rating": 4, "note": "x"}) == {"rating": (3, "rated", None), "note": "seen"}


def test_rating_and_inputs_are_one_part() -> None:
    # the numbers decide the rating and its source: a save of either touches both
    assert touched(SHOWN, {"inputs": {"staff": 2}}) == touched(SHOWN, {"rating": 4})
    assert touched(SHOWN, {"inputs": {"staff": 2}, "rating": None}) == {"rating": (3, "rated", None)}


def test_nothing_saved_yet_reads_as_empty_parts() -> None:
    assert touched(None, {"rating": 4, "inputs": None, "note": "x", "data_sources": ["a"]}) == {
        "rating": (None, None, None),
        "note": None,
        "data_sources": [],
    }


@pytest.mark.parametrize(
    ("changed", "saving"),
    [
        ({"note": "theirs"}, {"rating": 4}),
        ({"note": "theirs"}, {"data_sources": ["interview"]}),
        ({"rating": 2}, {"note": "mine"}),
        ({"data_sources": ["interview"]}, {"inputs": {"staff": 2}}),
        ({"inputs": {"staff": 5}, "source": "computed"}, {"note": "mine"}),
    ],
)
def test_other_window_changed_other_parts_so_the_save_goes_on_top(
    changed: dict[str, Any], saving: dict[str, Any]
) -> None:
    assert may_save_on_top(SHOWN, replace(SHOWN, **changed), saving)


@pytest.mark.parametrize(
    ("changed", "saving"),
    [
        ({"note": "theirs"}, {"note": "mine"}),
        ({"data_sources": ["interview"]}, {"data_sources": ["chart review", "x"]}),
        ({"rating": 2}, {"rating": 4}),
        ({"rating": 2}, {"inputs": {"staff": 2}}),  # the rating part, changed by a direct rating
        ({"source": "computed", "inputs": {"staff": 5}}, {"rating": 4}),
        ({"inputs": {"staff": 5}}, {"inputs": {"staff": 2}}),
    ],
)
def test_other_window_changed_the_same_part_so_the_save_is_refused(
    changed: dict[str, Any], saving: dict[str, Any]
) -> None:
    assert not may_save_on_top(SHOWN, replace(SHOWN, **changed), saving)


def test_an_entry_saved_elsewhere_after_nothing_was_shown() -> None:
    # this window showed no entry; the other one saved a note: a rating still goes on top
    assert may_save_on_top(None, Entry(note="theirs"), {"rating": 4})
    assert not may_save_on_top(None, Entry(note="theirs"), {"note": "mine"})


def test_an_entry_gone_since_is_never_saved_over() -> None:
    assert not may_save_on_top(SHOWN, None, {"note": "mine"})
    assert not may_save_on_top(None, None, {"rating": 4})
