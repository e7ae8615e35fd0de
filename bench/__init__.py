"""Benchmarks at state-agency scale: each prints a ratio against a floor measured in the same run.

`python -m bench` runs them all (see bench/run.py); `python -m bench.generate` only builds the
seeded agency database (see bench/generate.py).
"""
