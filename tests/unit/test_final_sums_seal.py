"""storage.final_sums.SumsSeals: the dashboard's per-row seal check gives exactly what
sums_seal and seal_matches give (same text, same digest), and fails every changed value."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from storage.final_sums import SUMS_VERSION, SumsSeals, seal_matches, sums_seal

HEADS = [
    (1, 2, "dacts", "1.0", "abc123", dt.date(2024, 1, 31), None),
    (10, 20, "dacts", "1.0", None, "2024-01-31", 7),
    (3, 4, 'we"ird\\id', "v\u00e9r\n\t\x01", "h\u2028x", dt.datetime(2024, 5, 1, 12, 0), None),
    (5, 6, "iddt", "2.0", "", "2025-12-01", 0),
]
SUMS = [(0, 0, ""), (28, 110, "H=8/30;O=12/44;S=8/36"), (1, 5, 'x="/\\;é')]


@pytest.mark.parametrize("key", [None, "a key", "k\u00e9y"])
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("sums", SUMS)
def test_the_same_seal_as_sums_seal(key: str | None, head: tuple, sums: tuple[int, int, str]) -> None:
    seals = SumsSeals(key)
    rated, total, text = sums
    review_id, program_id, scale_id, version, digest, day, amendment_of = head
    values = [
        SUMS_VERSION, review_id, program_id, scale_id, version, digest,
        day.isoformat() if isinstance(day, dt.date) else day, amendment_of, rated, total, text,
    ]  # fmt: skip
    assert seals.text(head, rated, total, text) == json.dumps(
        values, separators=(",", ":"), ensure_ascii=False
    )
    seal = sums_seal(key, head, rated, total, text)
    assert seals.matches(head, rated, total, text, seal)
    assert seal_matches(key, head, rated, total, text, seal)
    assert not seals.matches(head, rated + 1, total, text, seal)
    assert not seals.matches(head, rated, total - 1, text, seal)
    assert not seals.matches(head, rated, total, text + ";", seal)
    assert not seals.matches((head[0] + 1, *head[1:]), rated, total, text, seal)
    assert not seals.matches(
        head, rated, total, text, seal[:-1] + "0" if seal[-1] != "0" else seal[:-1] + "1"
    )
    assert not seals.matches(head, rated, total, text, "héllo")
    assert not seals.matches(head, None, total, text, seal)
    assert not seals.matches(head, rated, total, text, None)


def test_a_keyed_seal_fails_without_the_key_and_the_other_way_round() -> None:
    head = HEADS[0]
    assert not SumsSeals(None).matches(head, 1, 2, "H=1/2", sums_seal("k", head, 1, 2, "H=1/2"))
    assert not SumsSeals("k").matches(head, 1, 2, "H=1/2", sums_seal(None, head, 1, 2, "H=1/2"))


def test_a_verified_row_is_remembered_and_any_change_is_checked_in_full(monkeypatch) -> None:
    import storage.final_sums as final_sums

    monkeypatch.setattr(final_sums, "_VERIFIED", set())
    head, key = HEADS[1], "a key"
    seal = sums_seal(key, head, 28, 110, "H=8/30")
    seals = SumsSeals(key)
    checked: list[tuple] = []
    full = seals._verify
    monkeypatch.setattr(seals, "_verify", lambda *a: checked.append(a) or full(*a))
    assert seals.matches(head, 28, 110, "H=8/30", seal)
    assert seals.matches(head, 28, 110, "H=8/30", seal)  # the same values and seal: remembered
    assert len(checked) == 1
    # Every changed value, seal or key misses the memo and fails the full check, each time.
    assert not seals.matches(head, 28, 111, "H=8/30", seal)
    assert not seals.matches(head, 28, 111, "H=8/30", seal)
    assert not seals.matches(head, 28, 110, "H=8/31", seal)
    assert not seals.matches((*head[:5], "2024-02-01", head[6]), 28, 110, "H=8/30", seal)
    assert not seals.matches(head, 28, 110, "H=8/30", seal[:-1] + ("0" if seal[-1] != "0" else "1"))
    assert len(checked) == 6
    assert not SumsSeals("another key").matches(head, 28, 110, "H=8/30", seal)
    assert not SumsSeals(None).matches(head, 28, 110, "H=8/30", seal)


def test_the_memo_is_bounded(monkeypatch) -> None:
    import storage.final_sums as final_sums

    monkeypatch.setattr(final_sums, "_VERIFIED", set())
    monkeypatch.setattr(final_sums, "_VERIFIED_MAX", 3)
    seals = SumsSeals("k")
    for review_id in range(10):
        head = (review_id, *HEADS[0][1:])
        assert seals.matches(head, 1, 2, "H=1/2", sums_seal("k", head, 1, 2, "H=1/2"))
        assert len(final_sums._VERIFIED) <= 3


@pytest.mark.parametrize("key", [None, "a key"])
def test_matching_is_matches_row_by_row(key: str | None) -> None:
    seals = SumsSeals(key)
    good = [(head, 28, 110, "H=8/30;O=12/44;S=8/36") for head in HEADS]
    rows = [(*row, sums_seal(key, *row)) for row in good]
    rows += [
        (HEADS[0], 28, 111, "H=8/30;O=12/44;S=8/36", rows[0][4]),  # a changed sum
        (HEADS[1], 28, 110, "H=8/30;O=12/44;S=8/37", rows[1][4]),  # a changed subscale
        (HEADS[2], 28, 110, "H=8/30;O=12/44;S=8/36", None),  # no seal
        (HEADS[3], None, 110, "H=8/30;O=12/44;S=8/36", rows[3][4]),  # no count
    ]
    expected = [True] * len(HEADS) + [False] * 4
    assert seals.matching(rows) == expected
    assert seals.matching(rows) == expected  # again, once the good ones are remembered
    assert [SumsSeals(key).matches(*row) for row in rows] == expected
