"""Benchmark on the `huge` profile (~10 million chat_messages): its seeding (wall time, peak memory), every metric's
Engine path, and every notebook under OPENTIER_ENGINE_ONLY=1 (run time, the kernel's peak memory); writes the
`## Huge` section of bench/RESULTS.md. Never part of `make test`.

    .venv/bin/python -m bench.huge [--database-url URL] [--skip-seeding] [--twin] [--write]   # (make bench HUGE=1)

Without --database-url: a private local server in a temporary directory (~15 GB of disk), deleted at the end. The
seeding is `opentier-explore seed --profile huge` in a child process, its peak RSS read by wait4 (as /usr/bin/time -v
does). --skip-seeding: the database is already seeded (keeps the recorded seeding figures). Notebook 04 seeds a twin
as big as its source (another ~15 GB and the seeding time again): only with --twin. Seeding that twin takes longer
than the notebook's 600-s cell limit, so this script makes it first, exactly as the notebook's cells do (calibrate,
then `twin.make_twin(..., seed=7, name="opentier_twin_04")`), and the notebook reuses it; that time is recorded
apart; the twin goes to the kit's local server (this run's own without --database-url, else the one OPENTIER_HOME
names). On a huge database of your own, do the same before running notebook 04 (README, "A database too big for
pandas").
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.load import HERE, machine, write_section

ROOT = HERE.parent
TWIN_NOTEBOOK = "04_twin_fidelity"
TWIN_DATABASE = "opentier_twin_04"  # the name notebook 04 gives its twin
# VmHWM, the kernel process's own high-water mark: ru_maxrss would carry over the RSS of the process that forked it
# (Linux keeps it across exec), so every notebook launched after the metrics showed this script's peak.
_PEAK_CELL = (
    "import re\nprint('peak-rss-kb', re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1))"
)


def _local_server(stack: ExitStack) -> str:
    """A migrated, empty database on a private local server in a temporary directory (the kit's home for this run,
    so notebook 04's twin goes to the same server); its URL."""
    from opentier_explore import config, migrate, server

    home = Path(tempfile.mkdtemp(prefix="othuge-"))
    stack.callback(shutil.rmtree, home, ignore_errors=True)
    os.environ[config.HOME_ENV] = str(home)
    url = server.start(home / "pgdata")
    stack.callback(server.stop, home / "pgdata")
    migrate.up(url)
    return url


def seed(url: str, profile: str) -> tuple[float, int]:
    """`opentier-explore seed --profile PROFILE` into `url` in a child process: (wall seconds, peak RSS bytes)."""
    cli = Path(sys.executable).with_name("opentier-explore")
    t0 = time.perf_counter()
    child = subprocess.Popen([str(cli), "--database-url", url, "seed", "--profile", profile])
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"seeding {profile} failed (exit {child.returncode})")
    return seconds, usage.ru_maxrss * 1024


def metrics(url: str, names: list[str] | None = None) -> list[str]:
    """Markdown rows: each registered metric's Engine path (those in `names`, default all), timed once, and one hash
    self-join for scale."""
    from bench.metrics import self_joins
    from opentier_explore import connect
    from opentier_explore.metrics import registry

    if names == []:
        return []
    engine = connect(url)
    t_hash, t_serial, t_planned = self_joins(engine, 1)
    rows = [
        f"| (one hash self-join of chat_messages on parent_id, for scale) | {t_hash:.1f} |",
        f"| (the same hash self-join in one process, no parallel workers) | {t_serial:.1f} |",
        f"| (the same self-join as PostgreSQL plans it) | {t_planned:.1f} |",
    ]
    for metric in registry.METRICS:
        if names is not None and metric.name not in names:
            continue
        t0 = time.perf_counter()
        metric.function(engine)
        rows.append(f"| {metric.name} | {time.perf_counter() - t0:.1f} |")
        print(rows[-1], file=sys.stderr, flush=True)
    engine.dispose()
    return rows


def notebook(path: Path, url: str) -> tuple[float, int]:
    """Run one notebook (a copy with a last cell reading the kernel's peak RSS) with OPENTIER_ENGINE_ONLY=1:
    (wall seconds, the kernel's peak RSS bytes)."""
    import nbformat

    from opentier_explore import config, execute

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_PEAK_CELL))
    with tempfile.TemporaryDirectory(prefix="othuge-nb-") as tmp, execute.database_env(url):
        copy = Path(tmp) / path.name
        nbformat.write(nb, copy)
        os.environ[config.ENGINE_ONLY_ENV] = "1"
        try:
            t0 = time.perf_counter()
            done = execute.run(copy)
            seconds = time.perf_counter() - t0
        finally:
            os.environ.pop(config.ENGINE_ONLY_ENV, None)
    text = "".join(o.get("text", "") for o in done.cells[-1].outputs)
    return seconds, int(re.search(r"peak-rss-kb (\d+)", text).group(1)) * 1024


def make_twin(url: str) -> tuple[float, str]:
    """Notebook 04's twin of `url`, made as its cells make it (so the notebook reuses it): (seconds, twin URL)."""
    from opentier_explore import calibrate, twin

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="othuge-twin-") as tmp:
        profile_path = Path(tmp) / "twin.toml"
        calibrate.write_profile(profile_path, calibrate.calibrate(url))
        twin_url = twin.make_twin(url, profile_path, seed=7, name=TWIN_DATABASE)
    return time.perf_counter() - t0, twin_url


def _database_oid(url: str) -> int:
    """The pg_database oid of the database at `url` (it changes when make_twin drops and seeds it again)."""
    from opentier_explore import db

    with db.connection(url, read_only=True) as conn:
        return conn.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()[0]


def notebooks(url: str, twin: bool, names: list[str] | None = None) -> list[str]:
    """Markdown rows: each notebook's run time and its kernel's peak memory (04 only with `twin`; `names`: those only)."""
    from opentier_explore import execute
    from opentier_explore import twin as twin_mod

    rows = []
    for path in execute.notebooks(names):
        if path.stem == TWIN_NOTEBOOK and not twin:
            rows.append(f"| {path.stem} | not run (seeds a twin as big as its source: `--twin`) | |")
            continue
        if path.stem == TWIN_NOTEBOOK:
            made, twin_url = make_twin(url)
            rows.append(f"| (before {path.stem}: calibrate and seed its twin, `{TWIN_DATABASE}`) | {made:.0f} | |")
            print(rows[-1], file=sys.stderr, flush=True)
            made_oid = _database_oid(twin_url)
        seconds, peak = notebook(path, url)
        rows.append(f"| {path.stem} | {seconds:.0f} | {peak / 2**30:.2f} |")
        if path.stem == TWIN_NOTEBOOK:
            if _database_oid(twin_url) != made_oid:
                rows[-1] = rows[-1].replace(f"| {path.stem} |", f"| {path.stem} (seeded its twin again) |")
            twin_mod.drop_twin(twin_url)  # another ~15 GB of disk
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def _kept_seeding() -> str:
    """The `### Seeding` part of the recorded `## Huge` section (for --skip-seeding)."""
    text = (HERE / "RESULTS.md").read_text()
    text = text[text.find("## Huge\n") :] if "## Huge\n" in text else ""
    found = re.search(r"^### Seeding\n.*?(?=^##|\Z)", text, flags=re.S | re.M)
    return found.group(0).rstrip("\n") if found else "### Seeding\n\n(not measured in this run)"


def main() -> None:
    """Seed (unless told not to), time the metrics and the notebooks, print or write the `## Huge` section."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", help="a migrated database: empty, or seeded with huge (--skip-seeding)")
    ap.add_argument("--profile", default="huge", help="the profile to seed (another one only to try this script)")
    ap.add_argument("--skip-seeding", action="store_true", help="the database is seeded already")
    ap.add_argument("--twin", action="store_true", help=f"also run {TWIN_NOTEBOOK} (a second database as big)")
    ap.add_argument("--metrics", nargs="*", help="only these metrics (default: every registered one)")
    ap.add_argument("--notebooks", nargs="*", help="only these notebooks (default: all; none: `--notebooks`)")
    ap.add_argument("--write", action="store_true", help="write the `## Huge` section of bench/RESULTS.md")
    args = ap.parse_args()
    header = machine()
    with ExitStack() as stack:
        url = args.database_url or _local_server(stack)
        if args.skip_seeding:
            seeding = _kept_seeding()
        else:
            seconds, peak = seed(url, args.profile)
            seeding = (
                f"### Seeding\n\n`opentier-explore seed --profile {args.profile}` (a child process; peak RSS by wait4): "
                f"**{seconds:.0f} s, peak RSS {peak / 2**30:.2f} GiB** (goal < 6 GB)."
            )
        print(seeding, file=sys.stderr, flush=True)
        metric_rows = metrics(url, args.metrics)
        notebook_rows = notebooks(url, args.twin, args.notebooks) if args.notebooks != [] else []
    body = "\n".join(
        [
            "## Huge",
            "",
            f"Measured by `bench/huge.py` on the `{args.profile}` profile (seed 42): {header}.",
            "Absolute times on this shared 2-core machine are noisy (other work shares the cores); no ratio is set.",
            "",
            seeding,
            "",
            "### Metrics (Engine paths, inside PostgreSQL; one run each)",
            "",
            "| metric | s |",
            "|---|---|",
            *metric_rows,
            "",
            "### Notebooks (`OPENTIER_ENGINE_ONLY=1`: every metric on the Engine path)",
            "",
            "Each notebook run by `execute.run` in a fresh kernel (600 s per cell at most); a last cell reads the",
            "kernel's own peak memory (`VmHWM`).",
            "",
            "| notebook | run s | kernel peak RSS GiB |",
            "|---|---|---|",
            *notebook_rows,
        ]
    )
    print(body)
    if args.write:
        write_section("Huge", body + "\n")


if __name__ == "__main__":
    main()
