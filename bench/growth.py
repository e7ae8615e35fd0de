"""The growth figure: how the main costs grow with the agency (issue 22).

`python -m bench --growth` runs the chosen benchmarks (by default the dashboard, the drift
series of all programs and the scoring) at two sizes, 1,000 and 5,000 programs x 20 reviews
unless `--growth-sizes` says otherwise, and prints for each the project's median time at the
larger size over the smaller one. The goal: at most 1.2 times linear, i.e. 5x the data in at
most 6.0x the time. The machine's load average is written beside every figure, since a loaded
machine slows the larger (longer) runs more.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bench.measure import Result

GROWTH_CASES = ("dashboard", "series-all", "scoring")
DEFAULT_SIZES = (1000, 5000)
SLACK = 1.2
"""At most this many times linear growth: n times the data in at most SLACK * n times the time."""


def parse_sizes(text: str) -> tuple[int, int]:
    """Two program counts, smaller first: "1000,5000"."""
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if len(sizes) != 2 or not 0 < sizes[0] < sizes[1]:
        raise ValueError(f"--growth-sizes wants two program counts, smaller first, not {text!r}")
    return sizes[0], sizes[1]


def load_average() -> float:
    """The last minute's load average (0 where the system has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return 0.0


def at_size(results: Sequence[Result], programs: int) -> list[Result]:
    """The results of one size, named with it (so the run's JSON keeps both sizes apart), with
    the load average when they ended."""
    load = load_average()
    return [
        replace(r, name=f"{programs} programs: {r.name}", figures={**r.figures, "load_average": load})
        for r in results
    ]


def growth(dialect: str, sizes: tuple[int, int], by_size: Mapping[int, Sequence[Result]]) -> list[Result]:
    """One result per benchmark measured at both sizes: time(large) / time(small) of the
    project's median, against SLACK times the growth of the data."""
    small, large = sizes
    bound = SLACK * large / small
    found: list[Result] = []
    larger = {r.name.split(": ", 1)[1]: r for r in by_size[large]}
    for before in by_size[small]:
        name = before.name.split(": ", 1)[1]
        after = larger.get(name)
        if after is None or "project_s" not in before.figures or "project_s" not in after.figures:
            continue
        t_small, t_large = before.figures["project_s"], after.figures["project_s"]
        ratio = t_large / t_small
        figures: dict[str, Any] = {
            "programs_small": small,
            "programs_large": large,
            "project_small_s": t_small,
            "project_large_s": t_large,
            "growth": ratio,
            "bound": bound,
            "load_average_small": before.figures.get("load_average"),
            "load_average_large": after.figures.get("load_average"),
        }
        if "floor_s" in before.figures and "floor_s" in after.figures:
            figures["floor_growth"] = after.figures["floor_s"] / before.figures["floor_s"]
        floor_text = f", floor grew {figures['floor_growth']:.2f}x" if "floor_growth" in figures else ""
        found.append(
            Result(
                dialect,
                f"growth {small} -> {large} programs: {name}",
                f"project {t_small * 1000:.1f} ms -> {t_large * 1000:.1f} ms{floor_text} "
                f"(load average {figures['load_average_small']} then {figures['load_average_large']})",
                ratio,
                bound,
                f"<= {bound:.1f}x ({large / small:g}x the data x {SLACK})",
                [],
                figures,
            )
        )
    return found
