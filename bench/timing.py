"""Interleaved timing with every round kept: medians and spreads, not a lucky best.

The machine the benchmarks run on is shared, so each figure is a list of rounds: the project
and its floor run alternately (floor, project, floor, project, ...), both sides see the same
conditions, and the figure a goal is held to is the ratio of the two medians. The spread (the
fastest and slowest round of each side, and the middle half of the per-round ratios) is
printed with it, so a reader sees how noisy the run was. A goal is checked once: no retries.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timing:
    """The seconds of each round of one side."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def worst(self) -> float:
        return max(self.samples)

    def spread_text(self) -> str:
        """e.g. "12.1 ms (11.8 to 15.0, 12 rounds)"."""
        return f"{_ms(self.median)} ({_ms(self.best)} to {_ms(self.worst)}, {len(self.samples)} rounds)"

    def figures(self, prefix: str) -> dict[str, Any]:
        return {
            f"{prefix}_s": self.median,
            f"{prefix}_best_s": self.best,
            f"{prefix}_worst_s": self.worst,
            f"{prefix}_rounds": len(self.samples),
        }


@dataclass(frozen=True)
class Paired:
    """A project side and its floor, timed in the same rounds."""

    project: Timing
    floor: Timing

    @property
    def ratio(self) -> float:
        """The goal's figure: median project over median floor."""
        return self.project.median / self.floor.median

    def round_ratios(self) -> list[float]:
        return sorted(p / f for p, f in zip(self.project.samples, self.floor.samples, strict=True))

    def ratio_spread(self) -> tuple[float, float]:
        """The middle half of the per-round ratios (25th to 75th percentile)."""
        ratios = self.round_ratios()
        if len(ratios) < 4:
            return ratios[0], ratios[-1]
        quartiles = statistics.quantiles(ratios, n=4, method="inclusive")
        return quartiles[0], quartiles[2]

    def text(self, project: str, floor: str) -> str:
        low, high = self.ratio_spread()
        return (
            f"project {self.project.spread_text()} ({project}), floor {self.floor.spread_text()} ({floor}); "
            f"per-round ratios {low:.2f} to {high:.2f} (middle half)"
        )

    def figures(self) -> dict[str, Any]:
        low, high = self.ratio_spread()
        return {
            **self.project.figures("project"),
            **self.floor.figures("floor"),
            "ratio_q1": low,
            "ratio_q3": high,
        }


def paired(
    project: Callable[[], Any],
    floor: Callable[[], Any],
    *,
    rounds: int,
    warmup: int = 1,
    collect: bool = True,
) -> Paired:
    """Run floor and project alternately `rounds` times after `warmup` runs each; `collect` runs
    the garbage collector before each pair (for runs long enough to matter)."""
    if rounds < 1:
        raise ValueError("at least one round")
    for _ in range(warmup):
        floor()
        project()
    project_s: list[float] = []
    floor_s: list[float] = []
    for _ in range(rounds):
        if collect:
            gc.collect()
        started = time.perf_counter()
        floor()
        floor_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        project()
        project_s.append(time.perf_counter() - started)
    return Paired(Timing(tuple(project_s)), Timing(tuple(floor_s)))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"
