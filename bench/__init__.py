"""Benchmarks: `python -m bench FAMILY` prints a table and, last, one JSON line of every figure."""
