"""The PDF report's look and its text helpers: colours, layout sizes, the font, how numbers,
dates and bands are written, and user text made safe to print."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from reports.wording import computed_working
from scales.schema import Scale, TotalBand

FONTS: Final = Path(__file__).resolve().parent / "fonts"
FAMILY: Final = "DejaVu"
DRAFT_LABEL: Final = "DRAFT — not final"
DRIFT_HEADING: Final = "Scores over time"
NOT_RATED: Final = "—"

# Colours (RGB)
NAVY: Final = (31, 58, 95)
INK: Final = (34, 34, 34)
MUTED: Final = (95, 95, 95)
RULE: Final = (190, 196, 204)
GROUP_FILL: Final = (232, 237, 243)
HEAD_FILL: Final = (31, 58, 95)
ZEBRA: Final = (247, 248, 250)
ACTION_FILL: Final = (251, 224, 211)
DRAFT_RED: Final = (176, 32, 32)
BAND_EDGES: Final = {  # lowest band first; the top band is always blue (Okabe-Ito)
    1: ((0, 114, 178),),
    2: ((213, 94, 0), (0, 114, 178)),
    3: ((213, 94, 0), (230, 159, 0), (0, 114, 178)),
    4: ((213, 94, 0), (230, 159, 0), (86, 180, 233), (0, 114, 178)),
}

STAGES: Final = {"draft": "a draft", "consensus": "at the consensus stage"}

# Layout (mm, A4 portrait)
MARGIN: Final = 18.0
BODY_PT: Final = 10.0
TABLE_PT: Final = 8.5
ITEM_COLUMNS: Final = (10.0, 46.0, 15.0, 56.0, 47.0)  # id, item, rating, evidence, recommendation


def plain(text: object) -> str:
    """User text made safe to print: line ends normalised, tabs expanded, control characters
    (other than new lines) and unencodable code points dropped. Nothing is interpreted."""
    if text is None:
        return ""
    value = str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    if value.replace("\n", "").isprintable():  # the usual case, checked in C: nothing to drop
        return value.strip()
    return "".join(c for c in value if c == "\n" or unicodedata.category(c) not in ("Cc", "Cs", "Cn")).strip()


def fmt_number(value: float | None, places: int = 2) -> str:
    return NOT_RATED if value is None else f"{value:.{places}f}"


def fmt_date(value: dt.date | None) -> str:
    return value.isoformat() if value is not None else "not given"


def fmt_when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return f"{value:%Y-%m-%d %H:%M} UTC"


def computed_text(entry: Mapping[str, Any], scale: Scale, item_id: str) -> str:
    """ "Computed: 10.1053 clients per FTE, rounded to 10" for a computed item, else ""."""
    working = computed_working(entry, scale, item_id) if entry.get("rating") is not None else None
    if working is None:
        return ""
    rounded = "" if working.rounded is None else f", rounded to {working.rounded}"
    return f"Computed: {working.value}{rounded}"


def tint(rgb: tuple[int, int, int], amount: float = 0.82) -> tuple[int, int, int]:
    r, g, b = rgb
    return (round(r + (255 - r) * amount), round(g + (255 - g) * amount), round(b + (255 - b) * amount))


def bands_lowest_first(scale: Scale) -> list[TotalBand]:
    return sorted(scale.scoring.bands, key=lambda b: float("-inf") if b.min is None else b.min)


def band_color(scale: Scale, label: str | None) -> tuple[int, int, int]:
    bands = [b.label for b in bands_lowest_first(scale)]
    if label is None or label not in bands:
        return MUTED
    palette = BAND_EDGES.get(len(bands))
    if palette is None:
        return NAVY
    return palette[bands.index(label)]


def band_text(band: TotalBand) -> str:
    if band.min is not None and band.max is not None:
        return f"{band.label} {band.min:g} to {band.max:g}"
    if band.min is not None:
        return f"{band.label} {band.min:g} or more"
    if band.max is not None:
        return f"{band.label} up to {band.max:g}"
    return band.label
