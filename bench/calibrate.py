"""Benchmark: `calibrate` on a database against the four metrics' Engine paths on it, in the same run (issue 11).

python -m bench.calibrate --database-url URL [--label large] [--write]     # writes `## Calibration` of RESULTS.md
"""

from __future__ import annotations

import argparse
import time

from bench.load import machine, write_section

METRICS = ("conversation_trees", "tree_faults", "moderation_latency", "session_churn")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench(url: str, label: str) -> str:
    """One markdown row: calibration time, each metric's Engine time, their sum, and whether calibration is faster."""
    from opentier_explore import calibrate, connect, metrics

    engine = connect(url)
    with engine.connect() as conn:
        n_msgs = conn.exec_driver_sql("SELECT count(*) FROM chat_messages").scalar()
    t_metrics = {name: _timed(lambda name=name: getattr(metrics, name)(engine)) for name in METRICS}
    t_cal = _timed(lambda: calibrate.calibrate(url))
    total = sum(t_metrics.values())
    cells = " | ".join(f"{t_metrics[m]:.2f}" for m in METRICS)
    return (
        f"| {label} ({n_msgs:,} chat_messages) | {t_cal:.2f} | {cells} | {total:.2f} | "
        f"{'met' if t_cal <= total else 'MISSED'} ({t_cal / total:.2f}×) |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--label", default="large")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    row = bench(args.database_url, args.label)
    table = "\n".join(
        [
            f"| data | calibrate s | {' s | '.join(METRICS)} s | four metrics s | calibrate ≤ metrics |",
            "|---|---|---|---|---|---|---|---|",
            row,
        ]
    )
    print(table)
    if args.write:
        write_section(
            "Calibration",
            f"## Calibration\n\nMeasured by `bench/calibrate.py` (one run each, metrics first, "
            f"then calibrate, same database, same process): {machine()}.\n\n{table}\n",
        )


if __name__ == "__main__":
    main()
