"""The rule for a stale save: when another window saved an entry since this one showed it,
may this window's change still go on top?

An entry has parts a save changes together: the rating (with its source and the numbers it
was computed from), the note, the data sources. A stale save goes through when the other
window changed other parts than the ones this save changes (both changes are kept); when it
changed the same part, the save is refused and the page shows the other window's entry.
Pure: no storage, no Streamlit (the Rate page applies it around the rating service).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

RATING_FIELDS = frozenset({"rating", "inputs"})  # together they decide the rating and its source


class SavedEntry(Protocol):
    """What the rule reads of a saved rating entry (services.reviews.RatingView has it)."""

    @property
    def rating(self) -> int | None: ...
    @property
    def source(self) -> str | None: ...
    @property
    def inputs(self) -> Mapping[str, Any] | None: ...
    @property
    def note(self) -> str | None: ...
    @property
    def data_sources(self) -> Sequence[str]: ...


def touched(entry: SavedEntry | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a saved entry (None: nothing saved yet) that saving `fields` would change."""
    parts: dict[str, Any] = {}
    if RATING_FIELDS & fields.keys():
        parts["rating"] = (entry.rating, entry.source, entry.inputs) if entry else (None, None, None)
    if "note" in fields:
        parts["note"] = entry.note if entry else None
    if "data_sources" in fields:
        parts["data_sources"] = list(entry.data_sources) if entry else []
    return parts


def may_save_on_top(shown: SavedEntry | None, latest: SavedEntry | None, fields: Mapping[str, Any]) -> bool:
    """Whether a save of `fields`, refused as stale because `latest` replaced the `shown`
    entry, may be made again on top of `latest`: only when the parts it changes are as shown.
    An entry deleted since (`latest` None) is never saved over."""
    return latest is not None and touched(latest, fields) == touched(shown, fields)
