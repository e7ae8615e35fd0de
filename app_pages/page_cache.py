"""What the analytics pages draw, made once and shared by every session of the server process
(`page_cache`); what a session reads on every rerun, kept for a second (`session_kept`).

Like `st.cache_resource` (shared, never copied; arguments named with a leading underscore are
not part of the key; a spinner while a value is made) but looked up in a dict: Streamlit's
lookup hashes every argument and inspects the function on each call, about 0.35 ms, which a
rerun that only draws from cached data pays on every click (see README, Performance).
"""

from __future__ import annotations

import inspect
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec, TypeVar, cast

import streamlit as st

P = ParamSpec("P")
R = TypeVar("R")


def page_cache(*, spinner: str | None, max_entries: int) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Keep the last `max_entries` results of the function, keyed on its arguments whose names
    do not start with "_" (those must be hashable). A call that raises keeps nothing."""

    def decorate(make: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(make)
        names = list(signature.parameters)
        keyed = [name for name in names if not name.startswith("_")]
        # A call with every argument by position (the pages' lookups) keys on these positions
        # without binding the signature: Signature.bind costs more than the rest of a lookup.
        positions = [i for i, name in enumerate(names) if not name.startswith("_")]
        plain = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in signature.parameters.values())
        kept: OrderedDict[tuple[Hashable, ...], R] = OrderedDict()
        lock = threading.Lock()

        @wraps(make)
        def cached(*args: P.args, **kwargs: P.kwargs) -> R:
            if plain and not kwargs and len(args) == len(names):
                key = tuple(args[i] for i in positions)
            else:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                key = tuple(bound.arguments[name] for name in keyed)
            with lock:
                if key in kept:
                    kept.move_to_end(key)
                    return kept[key]
            # Made outside the lock: two sessions asking at once may both make it, neither waits
            # on the other's pages.
            if spinner:
                with st.spinner(spinner):
                    value = make(*args, **kwargs)
            else:
                value = make(*args, **kwargs)
            with lock:
                kept[key] = value
                kept.move_to_end(key)
                while len(kept) > max_entries:
                    kept.popitem(last=False)
            return value

        def clear() -> None:
            with lock:
                kept.clear()

        cached.clear = clear  # type: ignore[attr-defined]
        return cached

    return decorate


def session_kept(
    name: str, key: object, writes: int, make: Callable[[], R], *, max_age: float, now: float | None = None
) -> R:
    """What `make()` gave, kept in this session under `name` for `max_age` seconds while `key`
    (compared with ==) and `writes` (the Database's count of transactions written, see
    services.database) stay the same: for what a rerun would read again unchanged, which a save
    through this server must show at once and another process's within `max_age`. Only the last
    key is kept. `writes` is read before `make()`: a save during it makes the next run read again."""
    now = time.monotonic() if now is None else now
    kept = st.session_state.get(name)
    if isinstance(kept, _Kept) and kept.key == key and kept.writes == writes and 0 <= now - kept.at < max_age:
        return cast("R", kept.value)
    value = make()
    st.session_state[name] = _Kept(key, writes, now, value)
    return value


def made_of(name: str, inputs: tuple[object, ...], make: Callable[[], R]) -> R:
    """What `make()` gave last time in this session (under `name`) while `inputs` are the same:
    the same objects (a kept read's, `is`, no comparison) or equal ones. For what a page builds
    of kept reads on every rerun (a table, a chart's spec). Only the last inputs are kept."""
    made = st.session_state.get(name)
    if (
        isinstance(made, tuple)
        and len(made) == 2
        and len(made[0]) == len(inputs)
        and all(old is new or old == new for old, new in zip(made[0], inputs, strict=True))
    ):
        return cast("R", made[1])
    value = make()
    st.session_state[name] = (inputs, value)
    return value


@dataclass(frozen=True)
class _Kept:
    key: object
    writes: int
    at: float  # time.monotonic() when made
    value: object
