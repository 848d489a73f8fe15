"""Benchmarks of the kit, each run as a module from the repository root: `python -m bench.all` (make bench)."""
