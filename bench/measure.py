"""Timing, memory and the one-line report every benchmark prints.

Benchmarks share a 2-core machine with whatever else runs on it, so the project's code and
its floor run interleaved (floor, project, floor, project, ...) and each side counts its best
run: noise from elsewhere only ever adds time, so the minimum is the steadiest estimate of
what the code itself costs, and interleaving exposes both sides to the same conditions.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    """One benchmark's outcome: `ratio` against `goal` (lower is better), and what was measured."""

    dialect: str
    name: str
    detail: str  # the figures, e.g. "project 41.2 ms, floor 30.1 ms (hand-written SQL)"
    ratio: float
    goal: float  # PASS when ratio <= goal (and every check agreed)
    goal_text: str  # how the line states the goal, e.g. "<= 2x"
    checks: list[str] = field(default_factory=list)  # disagreements found by the correctness checks
    figures: dict[str, Any] = field(default_factory=dict)  # for --json and the README

    @property
    def passed(self) -> bool:
        return self.ratio <= self.goal and not self.checks

    def line(self) -> str:
        checks = f" [checks FAILED: {'; '.join(self.checks)}]" if self.checks else ""
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"[{self.dialect}] {self.name}: {self.detail}{checks} -> ratio {self.ratio:.2f} "
            f"(goal {self.goal_text}) {verdict}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "name": self.name,
            "ratio": round(self.ratio, 3),
            "goal": self.goal,
            "passed": self.passed,
            "detail": self.detail,
            "checks": self.checks,
            **self.figures,
        }


def best_of(fn: Callable[[], Any], rounds: int) -> float:
    """The fastest of `rounds` runs of fn(), in seconds."""
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def interleaved(
    project: Callable[[], Any],
    floor: Callable[[], Any],
    *,
    rounds: int,
    warmup: int = 1,
    collect: bool = True,
) -> tuple[float, float]:
    """(best project seconds, best floor seconds), the two run alternately after `warmup` runs
    each; `collect` runs the garbage collector before each pair (for runs long enough to matter)."""
    for _ in range(warmup):
        floor()
        project()
    best_project = best_floor = float("inf")
    for _ in range(rounds):
        if collect:
            gc.collect()
        started = time.perf_counter()
        floor()
        best_floor = min(best_floor, time.perf_counter() - started)
        started = time.perf_counter()
        project()
        best_project = min(best_project, time.perf_counter() - started)
    return best_project, best_floor


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def run_job(
    args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 600
) -> dict[str, Any]:
    """Run `python -m bench.jobs ARGS` in a fresh process; its last stdout line is JSON."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.jobs", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench job {' '.join(args)} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
