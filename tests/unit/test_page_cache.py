"""The analytics pages' process-wide cache (app_pages/page_cache.py)."""

from __future__ import annotations

import pytest

from app_pages.page_cache import page_cache


def counted() -> tuple[list[tuple[str, int]], object]:
    calls: list[tuple[str, int]] = []

    @page_cache(spinner=None, max_entries=2)
    def make(url: str, n: int, _db: object = None, *, scope: str = "all") -> tuple[str, int, str]:
        calls.append((url, n))
        return (url, n, scope)

    return calls, make


def test_a_value_is_made_once_per_key_and_shared() -> None:
    calls, make = counted()
    first = make("a", 1, object())
    assert make("a", 1, object()) is first  # "_db" is not part of the key, as with st.cache_resource
    assert make("a", n=1) is first  # however the arguments are passed
    assert calls == [("a", 1)]
    assert make("a", 1, scope="mine") == ("a", 1, "mine")  # a keyword with a default is part of it
    assert calls == [("a", 1), ("a", 1)]


def test_the_least_recently_used_value_goes_first() -> None:
    calls, make = counted()
    make("a", 1)
    make("a", 2)
    make("a", 1)  # used again: now "a", 2 is the oldest
    make("a", 3)
    assert calls == [("a", 1), ("a", 2), ("a", 3)]
    make("a", 1)
    assert calls == [("a", 1), ("a", 2), ("a", 3)]
    make("a", 2)  # it was dropped, so made again
    assert calls[-1] == ("a", 2)


def test_a_failure_keeps_nothing_and_clear_empties_it() -> None:
    attempts = []

    @page_cache(spinner=None, max_entries=4)
    def flaky(n: int) -> int:
        attempts.append(n)
        if len(attempts) == 1:
            raise RuntimeError("database away")
        return n

    with pytest.raises(RuntimeError):
        flaky(1)
    assert flaky(1) == 1 and flaky(1) == 1
    assert attempts == [1, 1]
    flaky.clear()  # type: ignore[attr-defined]
    flaky(1)
    assert attempts == [1, 1, 1]


def test_every_argument_by_position_keys_as_the_signature_does() -> None:
    """The pages pass every argument by position (the fast path): the same entry as by keyword
    or with a default left out, and the "_" argument still not part of the key."""
    calls: list[tuple[str, str]] = []

    @page_cache(spinner=None, max_entries=4)
    def make(url: str, version: str, _db: object, shown: str = "all") -> tuple[str, str, str]:
        calls.append((url, version))
        return (url, version, shown)

    first = make("a", "v1", object(), "all")
    assert make("a", "v1", object()) is first  # the default, bound
    assert make(url="a", version="v1", _db=None, shown="all") is first
    assert make("a", "v1", object(), "all") is first
    assert calls == [("a", "v1")]
    assert make("a", "v2", object(), "all") == ("a", "v2", "all")  # another version: made again
    assert make("a", "v1", object(), "mine") == ("a", "v1", "mine")
    assert calls == [("a", "v1"), ("a", "v2"), ("a", "v1")]


def test_made_of_makes_again_only_when_its_inputs_change(monkeypatch: pytest.MonkeyPatch) -> None:
    from app_pages import page_cache

    monkeypatch.setattr(page_cache.st, "session_state", {})
    made: list[str] = []

    def make(text: str) -> str:
        made.append(text)
        return text.upper()

    score = {"total": 3.5}
    assert page_cache.made_of("table", (score, True), lambda: make("a")) == "A"
    assert page_cache.made_of("table", (score, True), lambda: make("b")) == "A"  # the same object
    assert page_cache.made_of("table", ({"total": 3.5}, True), lambda: make("c")) == "A"  # an equal one
    assert page_cache.made_of("table", ({"total": 4.0}, True), lambda: make("d")) == "D"  # changed
    assert page_cache.made_of("table", ({"total": 4.0}, False), lambda: make("e")) == "E"
    assert page_cache.made_of("other", ({"total": 4.0}, False), lambda: make("f")) == "F"  # its own name
    assert made == ["a", "d", "e", "f"]
