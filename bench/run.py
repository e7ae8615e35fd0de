"""Run every benchmark on SQLite and PostgreSQL and print one line each (see bench/cases.py).

    python -m bench                       # 1,000 programs x 20 reviews, SQLite and PostgreSQL
    python -m bench --db sqlite --only dashboard,scoring
    python -m bench --programs 20         # tiny: CI keeps the benchmarks working with this
    python -m bench --growth --db sqlite  # dashboard, series-all, scoring at 1,000 and 5,000 programs

The agency database is generated once per size and seed (bench/generate.py) and reused;
--regenerate builds it again and times it against its one-minute goal. The exit status is 0
when every benchmark met its goal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench import growth as bench_growth
from bench import results as results_file
from bench import targets as bench_targets
from bench.cases import BENCHMARKS, Context
from bench.generate import (
    DEFAULT_PROGRAMS,
    DEFAULT_REVIEWS,
    DEFAULT_SEED,
    count_rows,
    generate,
    parse_dialects,
)
from bench.measure import Result
from bench.mixed import has_mixed
from bench.targets import Target, default_target
from scales import ScaleRegistry
from services.database import Database
from services.settings import get_registry

GENERATE_GOAL_S = 60.0


def machine() -> str:
    """CPU model, cores and memory, for the report."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
            if line.startswith("MemTotal")
        )
        memory = f"{mem_kb / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration):
        memory = "RAM unknown"
    return f"{model}, {os.cpu_count()} cores, {memory}, Python {platform.python_version()}"


def ensure_database(
    target: Target, programs: int, reviews: int, seed: int, *, regenerate: bool
) -> Result | None:
    """Generate the agency database unless an identical one is there; the generation's result
    line when it ran."""
    if not regenerate:
        try:
            counts = count_rows(target)
        except Exception:  # no file, no schema, no tables yet
            counts = {}
        if (
            counts.get("programs") == programs
            and counts.get("final_reviews", 0) >= programs * reviews
            and counts.get("final_reviews") == counts.get("sealed_reviews")
            and has_mixed(target)
        ):
            return None
    summary = generate(target, programs=programs, reviews_per_program=reviews, seed=seed)
    return Result(
        target.dialect,
        "generate the agency database",
        summary.line().split(": ", 1)[1],
        summary.seconds / GENERATE_GOAL_S,
        1.0,
        f"< {GENERATE_GOAL_S:.0f} s: ratio = seconds / {GENERATE_GOAL_S:.0f}",
        figures={"seconds": summary.seconds},
    )


def measure_size(
    dialect: str, programs: int, args: argparse.Namespace, registry: ScaleRegistry, chosen: list[str]
) -> tuple[list[Result], list[Result]]:
    """The generation's result (when it ran) and the chosen benchmarks' results at one size,
    each printed as it ends; with --growth, named with the size and the load average added."""
    made: list[Result] = []
    measured: list[Result] = []
    target = default_target(dialect, programs, args.reviews_per_program, args.seed)
    generated = ensure_database(
        target, programs, args.reviews_per_program, args.seed, regenerate=args.regenerate
    )
    if generated is not None:
        made.append(generated)
        print(generated.line(), flush=True)
    db = Database(target.url, registry=registry)
    ctx = Context(target, db, registry, programs, args.reviews_per_program, args.seed, rounds=args.rounds)
    try:
        for name in chosen:
            outcome = BENCHMARKS[name](ctx)
            for result in outcome if isinstance(outcome, list) else [outcome]:
                if args.growth:
                    (result,) = bench_growth.at_size([result], programs)
                measured.append(result)
                print(result.line(), flush=True)
    finally:
        db.dispose()
    return made, measured


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=DEFAULT_PROGRAMS)
    parser.add_argument("--reviews-per-program", type=int, default=DEFAULT_REVIEWS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--db", default="both", help="sqlite, postgresql or both (default)")
    parser.add_argument("--only", default="", help=f"comma-separated: {', '.join(BENCHMARKS)}")
    parser.add_argument("--regenerate", action="store_true", help="build the agency database again (timed)")
    parser.add_argument("--rounds", type=int, default=12, help="interleaved rounds of the fast benchmarks")
    parser.add_argument(
        "--json",
        type=Path,
        help="write every figure to this JSON file (default bench/.data/run-<UTC time>.json)",
    )
    parser.add_argument(
        "--compare", type=Path, help="print the change of every figure against this earlier JSON"
    )
    parser.add_argument(
        "--growth",
        action="store_true",
        help="run the chosen benchmarks (default: dashboard, series-all, scoring) at two sizes and "
        "print how their times grow (bench/growth.py)",
    )
    parser.add_argument(
        "--growth-sizes", default="1000,5000", help="the two program counts of --growth (default 1000,5000)"
    )
    args = parser.parse_args(argv)
    default = list(bench_growth.GROWTH_CASES) if args.growth else list(BENCHMARKS)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or default
    try:
        sizes = bench_growth.parse_sizes(args.growth_sizes) if args.growth else (args.programs,)
    except ValueError as exc:
        parser.error(str(exc))
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    old = None
    if args.compare is not None:
        try:
            old = results_file.load(args.compare)
        except ValueError as exc:
            parser.error(str(exc))
    print(f"machine: {machine()}", flush=True)
    registry = get_registry()
    results: list[Result] = []
    started = time.perf_counter()
    for dialect in parse_dialects(args.db):
        by_size: dict[int, list[Result]] = {}
        for programs in sizes:
            made, by_size[programs] = measure_size(dialect, programs, args, registry, chosen)
            results += [*made, *by_size[programs]]
        if args.growth and len(sizes) == 2:
            for result in bench_growth.growth(dialect, (sizes[0], sizes[1]), by_size):
                results.append(result)
                print(result.line(), flush=True)
    failed = [r for r in results if not r.passed]
    print(
        f"{len(results) - len(failed)} of {len(results)} benchmarks within their goals "
        f"in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    doc = results_file.document(
        machine(),
        [r.as_json() for r in results],
        {
            "programs": list(sizes) if args.growth else args.programs,
            "reviews_per_program": args.reviews_per_program,
            "rounds": args.rounds,
            "load_average_at_end": bench_growth.load_average(),
        },
    )
    path = args.json or results_file.default_path(bench_targets.DATA_DIR)
    results_file.write(path, doc)
    print(f"every figure: {path}", flush=True)
    if old is not None:
        print(f"change against {args.compare}:", flush=True)
        for line in results_file.compare(old, doc):
            print(f"  {line}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
