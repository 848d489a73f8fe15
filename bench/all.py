"""Run every benchmark on throw-away local databases and write bench/RESULTS.md.

    .venv/bin/python -m bench.all [--large]      # (make bench; make bench LARGE=1)
    .venv/bin/python -m bench.all --huge         # (make bench HUGE=1): bench/huge.py alone, its `## Huge` section

Seeding is measured by bench/seeding.py on its own servers; loading and metrics on a
throw-away `demo` database (seed 42) and, with --large, a `large` one too (~100 s to seed),
where calibration is timed too.
--huge is a run of its own (~15 GB of disk, tens of minutes): the `huge` profile's seeding, every metric's
Engine path and every notebook under OPENTIER_ENGINE_ONLY=1 (bench/huge.py).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main() -> int:
    """Seed the databases, run the benchmarks with --write (calibration too with --large), stop the servers."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--large", action="store_true", help="also measure on the large profile")
    ap.add_argument("--huge", action="store_true", help="only the huge profile's run (bench/huge.py), on its own")
    ap.add_argument("--skip-seeding", action="store_true", help="keep the recorded seeding figures")
    args = ap.parse_args()
    if args.huge:
        subprocess.run([sys.executable, "-m", "bench.huge", "--write"], check=True, cwd=ROOT)
        print(f"results written to {HERE / 'RESULTS.md'}")
        return 0
    from opentier_explore.prepare import throwaway

    profiles = ["tiny", "demo", "large"] if args.large else ["tiny", "demo"]
    if not args.skip_seeding:
        subprocess.run([sys.executable, "-m", "bench.seeding", "--profiles", *profiles], check=True, cwd=ROOT)
    with ExitStack() as stack:
        demo = stack.enter_context(throwaway("demo", 42))
        extra = ["--large-url", stack.enter_context(throwaway("large", 42))] if args.large else []
        for module in ("bench.load", "bench.metrics"):
            subprocess.run(
                [sys.executable, "-m", module, "--database-url", demo, *extra, "--write"], check=True, cwd=ROOT
            )
        if args.large:  # issue 11's speed goal is set on large
            subprocess.run(
                [sys.executable, "-m", "bench.calibrate", "--database-url", extra[1], "--write"], check=True, cwd=ROOT
            )
    print(f"results written to {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
