"""Benchmark: load() (five ways) against pandas.read_sql and the bytes-only binary COPY floor; writes `## Loading` of RESULTS.md.

Each contender runs in its own subprocess (time of the load alone, imports excluded; peak RSS from
ru_maxrss, which includes the interpreter and imports: the `base` column is that baseline).

    python bench/load.py --database-url URL_OF_DEMO [--large-url URL_OF_LARGE] [--repeat 3] [--write]
    python bench/load.py --large-url URL_OF_LARGE --large-repeat 3 [--contenders load floor]   # large only

Each round runs every contender once, in order, and the rounds repeat: the contenders of one round run
in the same minutes, so their ratios carry less of a shared machine's changing load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONTENDERS = (
    "load",
    "load_json_arrow",
    "load_json_nested",
    "load_as_arrow",
    "load_nested_as_arrow",
    "read_sql",
    "floor",
    "floor_table",
)
#: issue 12 on large chat_messages: (contender, at least × faster than read_sql, at most × floor, at most × read_sql's peak RSS)
GOALS = {
    "load": (8.0, 1.5, 0.5),
    "load_json_arrow": (None, None, 0.25),
    "load_json_nested": (None, None, 0.25),
    "load_nested_as_arrow": (None, None, 0.25),
}


def _select(url: str, table: str, where: str = "") -> str:
    """The loader's own SELECT (with its casts) for `table` (rows matching `where`): what the floor fetches."""
    from opentier_explore import connect, reflect

    engine = connect(url)
    spec = reflect.table(engine, table)
    engine.dispose()
    return f"SELECT {', '.join(c.select_expr() for c in spec.columns)} FROM {reflect.quote_ident(table)}" + _where(
        where
    )


def _where(where: str) -> str:
    return f" WHERE ({where})" if where else ""


def worker(contender: str, url: str, table: str, where: str = "") -> dict:
    """Run one contender once in this process (on the rows matching `where`, if given); its time, row count and memory."""
    import pandas as pd

    from opentier_explore import connect, load

    sql, rows_of = _select(url, table, where), {"where": where} if where else {}
    import psycopg

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if contender == "load":
        rows = len(load(table, engine=connect(url), **rows_of))
    elif contender == "load_json_arrow":
        rows = len(load(table, engine=connect(url), json="arrow", **rows_of))
    elif contender == "load_json_nested":
        rows = len(load(table, engine=connect(url), json="nested", **rows_of))
    elif contender == "load_as_arrow":
        rows = load(table, engine=connect(url), as_arrow=True, **rows_of).num_rows
    elif contender == "load_nested_as_arrow":
        rows = load(table, engine=connect(url), json="nested", as_arrow=True, **rows_of).num_rows
    elif contender == "read_sql":
        rows = len(pd.read_sql(f'SELECT * FROM "{table}"{_where(where)}', connect(url)))
    elif contender in ("floor", "floor_table"):
        source = (
            f"({sql})"
            if contender == "floor"
            else f'(SELECT * FROM "{table}"{_where(where)})'
            if where
            else f'"{table}"'
        )
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            with cur.copy(f"COPY {source} TO STDOUT (FORMAT binary)") as copy:
                for _chunk in copy:
                    pass
        rows = -1
    else:
        raise SystemExit(f"unknown contender {contender}")
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "rows": rows, "peak_mb": peak / 1024, "base_mb": base / 1024}


def _run(contender: str, url: str, table: str, where: str = "") -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", contender, url, table, where],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if out.returncode:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1][:160]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load_avg() -> str:
    return "load average {:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())


def machine() -> str:
    """Date, CPU, cores, RAM and load average, for the record."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    load1, load5, _ = os.getloadavg()
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {cpu}, nproc {os.cpu_count()}, "
        f"{mem / 1024 / 1024:.1f} GiB RAM; load average at start {load1:.2f} (1 min) / {load5:.2f} (5 min)"
    )


def bench(
    url: str, tables: list[str], repeat: int, label: str, contenders: tuple[str, ...] = CONTENDERS, where: str = ""
) -> list[str]:
    """Markdown rows: each table × contender, median of `repeat` interleaved rounds."""
    lines = []
    for table in tables:
        rounds: dict[str, list[dict]] = {c: [] for c in contenders}
        for round_no in range(repeat):
            for contender in contenders:
                rounds[contender].append(_run(contender, url, table, where))
                print(
                    label, table, contender, round_no, rounds[contender][-1], _load_avg(), file=sys.stderr, flush=True
                )
        results = {}
        for contender, runs in rounds.items():
            ok = [r for r in runs if "error" in r] == []
            results[contender] = {
                "seconds": statistics.median(r["seconds"] for r in runs) if ok else None,
                "peak_mb": max(r["peak_mb"] for r in runs) if ok else None,
                "base_mb": min(r["base_mb"] for r in runs) if ok else None,
                "rows": runs[0].get("rows"),
                "error": None if ok else next(r["error"] for r in runs if "error" in r),
            }
        missing = {"error": "not run", "seconds": None, "peak_mb": None}
        ref, floor = results.get("read_sql", missing), results.get("floor", missing)
        VERDICTS.extend(_verdicts(label, table, results))
        for contender in contenders:
            r = results[contender]
            if r["error"]:
                lines.append(f"| {label} | {table} | {contender} | failed: {r['error']} | | | | |")
                continue
            vs_sql = f"{ref['seconds'] / r['seconds']:.1f}× faster" if ref["seconds"] else ""
            vs_floor = f"{r['seconds'] / floor['seconds']:.2f}×" if floor["seconds"] else ""
            mem = f"{r['peak_mb'] / ref['peak_mb']:.2f}" if ref["peak_mb"] else ""
            lines.append(
                f"| {label} | {table} | {contender} | {r['seconds']:.3f} | {vs_sql} | {vs_floor} | "
                f"{r['peak_mb']:.0f} (base {r['base_mb']:.0f}) | {mem} |"
            )
    return lines


VERDICTS: list[str] = []


def _verdicts(label: str, table: str, results: dict) -> list[str]:
    """One line per goal of issue 12 (large chat_messages only): the ratio measured and met or MISSED."""
    if label != "large" or table != "chat_messages" or not {"read_sql", "floor"} <= results.keys():
        return []
    ref, floor, out = results["read_sql"], results["floor"], []
    for contender, (faster, over_floor, memory) in GOALS.items():
        if contender not in results:
            continue
        r = results[contender]
        if r["error"] or ref["error"] or floor["error"]:
            out.append(f"- {contender}: not measured ({r['error'] or ref['error'] or floor['error']})")
            continue
        checks = []
        if faster:
            x = ref["seconds"] / r["seconds"]
            checks.append(f"{x:.1f}× faster than read_sql (goal ≥ {faster:g}×: {'met' if x >= faster else 'MISSED'})")
        if over_floor:
            x = r["seconds"] / floor["seconds"]
            checks.append(f"{x:.2f}× the floor (goal ≤ {over_floor:g}×: {'met' if x <= over_floor else 'MISSED'})")
        if memory:
            x = r["peak_mb"] / ref["peak_mb"]
            checks.append(f"{x:.2f}× read_sql's peak RSS (goal ≤ {memory:g}×: {'met' if x <= memory else 'MISSED'})")
        out.append(f"- **{contender}**: " + "; ".join(checks))
    return out


def write_section(title: str, body: str) -> None:
    """Replace (or append) the `## title` section of bench/RESULTS.md, leaving the other sections alone."""
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == f"## {title}"), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + body.rstrip("\n") + "\n"
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = "\n".join(lines[:start] + body.rstrip("\n").splitlines() + [""] + lines[end:]).rstrip("\n") + "\n"
    path.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a database seeded with the demo profile (omit: large only)")
    parser.add_argument("--large-url", help="a database seeded with the large profile (chat_messages only)")
    parser.add_argument("--tables", nargs="*", default=["chat_messages", "sessions", "document_chunks"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large-repeat", type=int, default=1)
    parser.add_argument(
        "--large-where",
        default="",
        help="on large, only the rows matching this SQL condition (a slice, for read_sql's memory)",
    )
    parser.add_argument("--contenders", nargs="*", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--write", action="store_true", help="write the `## Loading` section of bench/RESULTS.md")
    args = parser.parse_args()
    if not args.database_url and not args.large_url:
        parser.error("give --database-url, --large-url or both")
    header, contenders, rows = machine(), tuple(args.contenders), []
    if args.database_url:
        rows += bench(args.database_url, args.tables, args.repeat, "demo", contenders)
    if args.large_url:
        rows += bench(args.large_url, ["chat_messages"], args.large_repeat, "large", contenders, args.large_where)
    table = "\n".join(
        [
            "| data | table | contender | seconds (median) | vs read_sql | × floor | peak RSS MB | RSS ÷ read_sql |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    verdicts = "\n".join(VERDICTS)
    if verdicts:
        print(verdicts)
    if args.write:
        body = f"## Loading\n\nMeasured by `bench/load.py`: {header}.\n\n{table}\n"
        if verdicts:
            body += f"\nAgainst the goals of issue 12 (`large` chat_messages, same run):\n\n{verdicts}\n"
        write_section("Loading", body)
    print(header, file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] == "--worker":
        print(json.dumps(worker(*sys.argv[2:])))
    else:
        main()
