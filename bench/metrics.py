"""Benchmark: every metric's Engine path (inside PostgreSQL) and pandas path (load excluded); writes `## Metrics` of RESULTS.md.

    python bench/metrics.py --database-url URL_OF_DEMO [--large-url URL_OF_LARGE] [--repeat 3] [--write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import machine, write_section  # noqa: E402  (bench/load.py)

NEEDS = {
    "conversation_trees": {"chat_messages": ["id", "conversation_id", "parent_id"]},
    "tree_faults": {"chat_messages": ["id", "conversation_id", "parent_id"]},
    "moderation_latency": {"knowledge_submissions": None, "users": ["id", "role", "created_at"]},
    "session_churn": {"sessions": None, "users": ["id", "role", "created_at"]},
}
TARGETS = {"conversation_trees": (15.0, 3.0)}  # large: SQL path, pandas path (seconds)


def _timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def bench(url: str, label: str, repeat: int, names: list[str]) -> list[str]:
    """Markdown rows for each metric on the database at `url`."""
    import pandas as pd

    from opentier_explore import connect, load, metrics

    engine = connect(url)
    with engine.connect() as conn:
        n_msgs = conn.exec_driver_sql("SELECT count(*) FROM chat_messages").scalar()
        work_mem = conn.exec_driver_sql("SHOW work_mem").scalar()
    rows = []
    for name in names:
        fn = getattr(metrics, name)
        t_load, frames = _timed(lambda: {t: load(t, engine=engine, columns=c) for t, c in NEEDS[name].items()}, 1)
        t_sql, a = _timed(lambda: fn(engine), repeat)
        t_pd, b = _timed(lambda: fn(frames), repeat)
        same = _equal(a, b)
        target = ""
        if label == "large" and name in TARGETS:
            sql_t, pd_t = TARGETS[name]
            target = f"SQL < {sql_t:.0f} s: {'met' if t_sql < sql_t else 'MISSED'}; pandas < {pd_t:.0f} s: {'met' if t_pd < pd_t else 'MISSED'}"
        rows.append(f"| {label} ({n_msgs:,} chat_messages, work_mem {work_mem}) | {name} | {t_sql:.2f} | {t_pd:.2f} | "
                    f"{t_load:.2f} | {'yes' if same else 'NO'} | {target} |")
        print(rows[-1], file=sys.stderr, flush=True)
        del frames, a, b
    engine.dispose()
    return rows


def _equal(a, b) -> bool:
    import pandas as pd

    try:
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b)
        else:
            for field in a.__dataclass_fields__:
                x, y = getattr(a, field), getattr(b, field)
                if isinstance(x, pd.DataFrame):
                    pd.testing.assert_frame_equal(x, y)
                elif isinstance(x, pd.Series):
                    pd.testing.assert_series_equal(x, y)
                elif not ((pd.isna(x) and pd.isna(y)) or x == y):
                    return False
    except AssertionError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="a database seeded with the demo profile")
    parser.add_argument("--large-url", help="a database seeded with the large profile")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large-repeat", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="write the `## Metrics` section of bench/RESULTS.md")
    args = parser.parse_args()
    header = machine()
    names = list(NEEDS)
    rows = bench(args.database_url, "demo", args.repeat, names)
    if args.large_url:
        rows += bench(args.large_url, "large", args.large_repeat, names)
    table = "\n".join([
        "| data | metric | Engine path s (median) | pandas path s (median, load excluded) | load of its columns s | equal | target |",
        "|---|---|---|---|---|---|---|", *rows])
    print(table)
    if args.write:
        write_section("Metrics", f"## Metrics\n\nMeasured by `bench/metrics.py`: {header}.\n\n{table}\n")


if __name__ == "__main__":
    main()
