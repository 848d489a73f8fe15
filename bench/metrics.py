"""Benchmark: every metric's Engine path (inside PostgreSQL) and pandas path (load excluded); writes `## Metrics` of RESULTS.md.

python -m bench.metrics --database-url URL_OF_DEMO [--large-url URL_OF_LARGE] [--repeat 3] [--write]

The metrics with a goal (issue 12: the tree metrics) are timed at least three times on large too; their ratios use
the medians, against one hash self-join (merge and nested-loop joins off) and the load of their columns, and the
first call's time and ratio are shown beside them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from bench.load import machine, write_section

#: issue 12, large: Engine path ≤ 4× one hash self-join of chat_messages on parent_id; pandas path ≤ 0.7× loading its columns
GOALS = {"conversation_trees": (4.0, 0.7), "tree_faults": (4.0, 0.7)}
#: the least any tree walk must do: join every message to its parent once (same work_mem as the tree queries)
SELF_JOIN = "SELECT count(*) FROM chat_messages c JOIN chat_messages p ON p.id = c.parent_id"
#: issue 12's baseline is one *hash* self-join; left to itself, PostgreSQL picks a merge join of two index-only
#: scans once the table's visibility map is set (about half the hash join's time), so both are measured
HASH_ONLY = {"enable_mergejoin": "off", "enable_nestloop": "off"}


def self_joins(engine, repeat: int) -> tuple[float, float, float]:
    """Median seconds of the self-join as one hash join (the goals' baseline, parallel where PostgreSQL plans workers
    for it), as one hash join in one process (as a recursive walk runs: it cannot be parallel), and as planned."""
    from opentier_explore import config

    hashed = {"work_mem": config.TREE_WORK_MEM, **HASH_ONLY}
    serial = {**hashed, "max_parallel_workers_per_gather": "0"}
    t_hash, _ = _timed(lambda: _source_query(engine, SELF_JOIN, hashed), repeat)
    t_serial, _ = _timed(lambda: _source_query(engine, SELF_JOIN, serial), repeat)
    t_planned, _ = _timed(lambda: _source_query(engine, SELF_JOIN, {"work_mem": config.TREE_WORK_MEM}), repeat)
    return t_hash, t_serial, t_planned


#: the metrics with a goal are timed at least this often (median), on large too; their first call is shown beside it
GOAL_REPEAT = 3


def _timed(fn, repeat: int) -> tuple[float, object]:
    median, _, result = _timed_first(fn, repeat)
    return median, result


def _timed_first(fn, repeat: int) -> tuple[float, float, object]:
    """(median seconds, first call's seconds, last result) of `repeat` calls."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times[0], result


def bench(url: str, label: str, repeat: int, names: list[str]) -> list[str]:
    """Markdown rows for each metric on the database at `url`."""

    from opentier_explore import connect, load
    from opentier_explore.metrics import registry

    engine = connect(url)
    with engine.connect() as conn:
        n_msgs = conn.exec_driver_sql("SELECT count(*) FROM chat_messages").scalar()
        work_mem = conn.exec_driver_sql("SHOW work_mem").scalar()
    t_join, t_serial, t_planned = self_joins(engine, max(repeat, GOAL_REPEAT))
    rows = []
    for name in names:
        metric = registry.BY_NAME[name]
        fn, needs = metric.function, metric.needs
        t_load, frames = _timed(
            lambda needs=needs: {t: load(t, engine=engine, columns=list(c)) for t, c in needs.items()}, 1
        )
        times = max(repeat, GOAL_REPEAT) if name in GOALS else repeat
        t_sql, a = _timed(lambda fn=fn: fn(engine), times)
        t_pd, first_pd, b = _timed_first(lambda fn=fn, frames=frames: fn(frames), times)
        same = metric.same(a, b, frames)
        goal, pd_cell = "", f"{t_pd:.2f}"
        if name in GOALS:
            sql_goal, pd_goal = GOALS[name]
            x, y = t_sql / t_join, t_pd / t_load
            pd_cell += f" (first call {first_pd:.2f})"
            goal = (
                f"Engine {x:.2f}× the hash self-join ({t_join:.2f} s; goal ≤ {sql_goal:g}×{_met(label, x <= sql_goal)}; "
                f"{t_sql / t_serial:.2f}× it in one process, {t_serial:.2f} s; {t_sql / t_planned:.2f}× it as planned, "
                f"{t_planned:.2f} s); "
                f"pandas {y:.2f}× its load (goal ≤ {pd_goal:g}×{_met(label, y <= pd_goal)}; first call "
                f"{first_pd / t_load:.2f}×)"
            )
        rows.append(
            f"| {label} ({n_msgs:,} chat_messages, work_mem {work_mem}) | {name} | {t_sql:.2f} | {pd_cell} | "
            f"{t_load:.2f} | {'yes' if same else 'NO'} | {goal} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
        del frames, a, b
    engine.dispose()
    return rows


def _met(label: str, ok: bool) -> str:
    return (": met" if ok else ": MISSED") if label == "large" else ""


def _source_query(engine, sql: str, settings: dict[str, str]):
    from opentier_explore.metrics import _source

    return _source.query(engine, sql, settings=settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="a database seeded with the demo profile")
    parser.add_argument("--large-url", help="a database seeded with the large profile")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large-repeat", type=int, default=1)
    from opentier_explore.metrics import registry

    names = list(registry.BY_NAME)
    parser.add_argument(
        "--metrics", nargs="*", default=names, choices=names, help="the registered metrics to measure (default: all)"
    )
    parser.add_argument("--write", action="store_true", help="write the `## Metrics` section of bench/RESULTS.md")
    args = parser.parse_args()
    header = machine()
    names = args.metrics
    rows = bench(args.database_url, "demo", args.repeat, names)
    if args.large_url:
        rows += bench(args.large_url, "large", args.large_repeat, names)
    table = "\n".join(
        [
            "| data | metric | Engine path s (median) | pandas path s (median, load excluded) | load of its columns s | equal | ratios (goal on large) |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    if args.write:
        write_section("Metrics", f"## Metrics\n\nMeasured by `bench/metrics.py`: {header}.\n\n{table}\n")


if __name__ == "__main__":
    main()
