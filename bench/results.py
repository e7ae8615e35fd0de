"""One JSON file of every figure per run, and the change per figure between two runs.

`python -m bench` writes `bench/.data/run-<UTC time>.json` (or `--json PATH`);
`python -m bench --compare OLD.json` also prints, for every figure both runs have, the old
value, the new one and the change (for times and ratios lower is better).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

FORMAT = "ebp-fidelity bench results 1"
KEY_FIELDS = ("dialect", "name")
NOT_FIGURES = frozenset({"dialect", "name", "detail", "checks", "passed", "goal"})


def default_path(directory: Path, now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return directory / f"run-{stamp}.json"


def document(
    machine: str, results: Iterable[Mapping[str, Any]], settings: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "settings": dict(settings),
        "results": [dict(r) for r in results],
    }


def write(path: Path, doc: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str, sort_keys=False) + "\n", encoding="utf-8")


def load(path: Path) -> dict[str, Any]:
    """A results file; ValueError naming the file when it is not one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable bench results file ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ValueError(f"{path}: not a bench results file (no 'results' list)")
    for i, result in enumerate(doc["results"]):
        if not isinstance(result, dict) or any(k not in result for k in KEY_FIELDS):
            raise ValueError(f"{path}: result {i + 1} lacks 'dialect' or 'name'")
    return doc


def figures(result: Mapping[str, Any]) -> dict[str, float]:
    """The numeric figures of one result (ratio, medians, spreads, rows/s, ...)."""
    return {
        key: float(value)
        for key, value in result.items()
        if key not in NOT_FIGURES
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    }


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """One line per figure both runs have: "[dialect] name: figure old -> new (+x%)"; then the
    benchmarks only one run has."""
    old_by = {(r["dialect"], r["name"]): r for r in old["results"]}
    new_by = {(r["dialect"], r["name"]): r for r in new["results"]}
    lines: list[str] = []
    for key, result in new_by.items():
        before = old_by.get(key)
        if before is None:
            continue
        was, now = figures(before), figures(result)
        for name in (n for n in now if n in was):
            change = _change(was[name], now[name])
            lines.append(f"[{key[0]}] {key[1]}: {name} {_fmt(was[name])} -> {_fmt(now[name])} ({change})")
        if before.get("passed") != result.get("passed"):
            verdict = "PASS" if result.get("passed") else "FAIL"
            lines.append(
                f"[{key[0]}] {key[1]}: now {verdict} (was {'PASS' if before.get('passed') else 'FAIL'})"
            )
    lines += [f"[{d}] {n}: only in the new run" for d, n in new_by if (d, n) not in old_by]
    lines += [f"[{d}] {n}: only in the old run" for d, n in old_by if (d, n) not in new_by]
    return lines


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _change(old: float, new: float) -> str:
    if old == 0:
        return "was 0" if new != 0 else "same"
    return f"{(new - old) / abs(old) * 100:+.1f}%"
