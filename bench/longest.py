"""The longest review the input rules allow: every free text at its maximum length
(domain/vocabulary.py), and its PDF report measured in a fresh process (`python -m bench.jobs
pdf-limits - -`). The issue's goal: under 1 CPU second per report, with a bounded page count.

The review is a review file, so it is read by the same checks as any other: were a limit
raised without the PDF keeping up, the benchmark fails; were a text over its limit, reading fails.
"""

from __future__ import annotations

import time
from typing import Any

from domain.vocabulary import (
    DATA_SOURCE_LENGTH,
    DATA_SOURCES_COUNT,
    EVIDENCE_LENGTH,
    FINDINGS_LENGTH,
    NAME_LENGTH,
    PERSON_LENGTH,
    REASON_LENGTH,
    RECOMMENDATION_LENGTH,
    SUMMARY_LENGTH,
)
from scales import Scale

MAX_PAGES = 60  # the bound the longest review's report must stay within
RATERS = 10  # a review team is two to four people; ten names at their longest
WORDS = "The team reviewed every chart and met the staff; twelve of fifteen clients had a plan. "


def text(length: int, tag: str = "") -> str:
    """Realistic text (words, spaces, punctuation) of exactly `length` characters, as stored
    (it does not end in a space, which would be stripped)."""
    base = f"{tag} {WORDS}" if tag else WORDS
    out = (base * (length // len(base) + 1))[:length]
    return out[:-1] + "." if out.endswith(" ") else out


def longest_review_data(scale: Scale) -> dict[str, Any]:
    """A review file with every text at its limit. Half the items are rated 1 (each then has
    an action-plan line); the other half are not rated, with a reason at its limit."""
    items: dict[str, Any] = {}
    for number, item in enumerate(scale.items):
        entry: dict[str, Any] = {
            "evidence": text(EVIDENCE_LENGTH, item.id),
            "recommendation": text(RECOMMENDATION_LENGTH, item.id),
            "data_sources": [text(DATA_SOURCE_LENGTH, f"{item.id}.{n}") for n in range(DATA_SOURCES_COUNT)],
        }
        if number % 2:
            entry["rating"] = None
            entry["not_rated_reason"] = text(REASON_LENGTH, item.id)
        else:
            entry["rating"] = scale.rating.min
        items[item.id] = entry
    return {
        "scale": scale.id,
        "version": scale.version,
        "program": text(NAME_LENGTH, "Program"),
        "provider": text(NAME_LENGTH, "Provider"),
        "region": text(NAME_LENGTH, "Region"),
        "date": "2026-03-14",
        "end_date": "2026-03-15",
        "type": "follow-up",
        "raters": [text(PERSON_LENGTH, f"Rater {n}") for n in range(RATERS)],
        "strengths": text(FINDINGS_LENGTH, "Strengths"),
        "summary": text(SUMMARY_LENGTH, "Summary"),
        "recommendations": text(FINDINGS_LENGTH, "Recommendations"),
        "items": items,
    }


def pdf_limits_job() -> dict[str, Any]:
    """The longest DACTS review's PDF (with its charts): the first report of a fresh process,
    then the same again, warm. The imports (fpdf2, the report modules) are timed apart."""
    cpu = time.process_time()
    from reports.pdf import render_report  # timed here (the docstring): fpdf2 is the imports' cost
    from services.report_data import from_review_file  # timed with them
    from services.review_file import parse_review_data  # timed with them
    from services.settings import get_registry  # timed with them

    registry = get_registry()
    import_cpu = time.process_time() - cpu
    scale = registry.get("dacts", "1.0")
    data = from_review_file(parse_review_data(longest_review_data(scale), registry, "longest.yaml"))
    cpu = time.process_time()
    render_report(data)
    first_cpu = time.process_time() - cpu
    cpu, wall = time.process_time(), time.perf_counter()
    document = render_report(data)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "cpu_s": cpu,
        "seconds": wall,
        "first_cpu_s": first_cpu,
        "import_cpu_s": import_cpu,
        "pages": document.count(b"/Type /Page\n") or document.count(b"/Type /Page"),
        "bytes": len(document),
        "characters": _characters(longest_review_data(scale)),
    }


def _characters(value: Any) -> int:
    """The characters of every text in the review file."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_characters(v) for v in value.values())
    if isinstance(value, list):
        return sum(_characters(v) for v in value)
    return 0
