"""The `opentier-explore` command: a thin layer over the package's functions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import config
from .errors import OpentierError


def _db_start(args: argparse.Namespace) -> int:
    from . import db, server

    if args.database_url or config.database_url_from_env():
        print("DATABASE_URL is set: the embedded server is not used.", file=sys.stderr)
    url = server.start()
    print(f"embedded PostgreSQL running: {db.mask_url(url)}")
    return 0


def _db_stop(args: argparse.Namespace) -> int:
    from . import server

    print("embedded PostgreSQL stopped" if server.stop() else "embedded PostgreSQL was not running")
    return 0


def _db_status(args: argparse.Namespace) -> int:
    from . import server

    status = server.status()
    print(f"embedded PostgreSQL: {status}")
    return 0 if status.running else 3


def _db_url(args: argparse.Namespace) -> int:
    from . import db

    # Prints the URL to use; a password in DATABASE_URL is masked here as everywhere.
    print(db.mask_url(_target(args)))
    return 0


def _target(args: argparse.Namespace) -> str:
    """The URL the command works on: --database-url, else $DATABASE_URL, else the embedded server, started now."""
    from . import db, server

    return db.resolve_url(args.database_url) or server.start()


def _migrate(args: argparse.Namespace) -> int:
    from . import migrate

    url = _target(args)
    action = getattr(args, "action", None) or "up"
    if action == "up":
        applied = migrate.up(url)
        for m in applied:
            print(f"applied {m.version} {m.description}")
        print("database is up to date" if not applied else f"{len(applied)} migration(s) applied")
    elif action == "down":
        if args.to is not None and args.all:
            raise _usage("give either --to VERSION or --all, not both")
        reverted = migrate.down(url, to=args.to, all=args.all)
        for m in reverted:
            print(f"reverted {m.version} {m.description}")
        print("nothing to revert" if not reverted else f"{len(reverted)} migration(s) reverted")
    else:
        if _status_of_foreign(url, args.check):
            return 0
        rows = migrate.status(url)
        for r in rows:
            print(f"{r.version:>16}  {r.state:<8} {r.description}")
        if not rows:
            print("no migrations found")
        if args.check:
            migrate.require_migrated(url)
    return 0


def _status_of_foreign(url: str, check: bool) -> bool:
    """For a database the kit did not migrate: print whose ledgers it carries and what it holds; True if so."""
    from . import db, migrate, provenance
    from .errors import NotMigrated

    with db.connection(url, autocommit=True, read_only=True) as conn:
        prov = migrate.read_provenance(conn)
        if prov.writable:
            return False
        print(prov.summary())
        for line in provenance.listing(conn, prov):
            print(f"  {line}")
        if check:  # --check asks whether the kit's migrations are applied: they are not, by design
            raise NotMigrated(migrate.foreign_sentence(conn, prov, "migrate"))
    return True


def _seed(args: argparse.Namespace) -> int:
    import time

    from .seeding import run

    started = time.perf_counter()
    counts = run(_target(args), profile=args.profile, seed=args.seed, truncate=args.truncate)
    width = max(len(t) for t in counts)
    for table, n in counts.items():
        print(f"{table:<{width}}  {n:>10,}")
    print(
        f"seeded profile {args.profile!r} (seed {args.seed}): {sum(counts.values()):,} rows "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from . import calibrate

    target = calibrate.check_output(args.output)
    text = calibrate.calibrate(args.database_url, min_count=args.min_count, epsilon=args.epsilon)
    calibrate.write_profile(target, text)
    mode = "no differential privacy" if args.epsilon is None else f"differential privacy, epsilon {args.epsilon:g}"
    print(
        f"profile written: {target} (K = {args.min_count}, {mode}); seed a twin with "
        f"`opentier-explore seed --profile {target}`"
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from . import report

    done = report.report(args.notebooks, url=args.database_url)
    for path in done.written:
        print(f"report written: {path}")
    for name, sentence in done.stopped:
        print(f"{name} stopped at its first cell: {sentence}")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from . import refresh

    for path in refresh.refresh(args.notebooks):
        print(f"outputs recorded: {path}")
    return 0


def _lab(args: argparse.Namespace) -> int:
    from . import lab

    return lab.lab(url=args.database_url, extra_args=args.lab_args)


def _usage(message: str) -> OpentierError:
    from .errors import ConfigError

    return ConfigError(message[0].upper() + message[1:] + ".")


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one sentence and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`).\n")


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="any PostgreSQL server (default: $DATABASE_URL, else the embedded server)",
    )
    parser = _Parser(
        prog="opentier-explore",
        description="Explore the OpenTier database: a local PostgreSQL, sqlx migrations, synthetic data, notebooks.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    db = sub.add_parser("db", help="the embedded PostgreSQL server's life", parents=[common])
    dbsub = db.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for name, func, text in (
        ("start", _db_start, "start (or re-attach to) the embedded server"),
        ("stop", _db_stop, "stop the embedded server"),
        ("status", _db_status, "say whether the embedded server runs"),
        ("url", _db_url, "print the connection URL in use (password masked)"),
    ):
        dbsub.add_parser(name, help=text, parents=[common]).set_defaults(func=func)

    mig = sub.add_parser("migrate", help="apply, revert or list the sqlx migrations", parents=[common])
    mig.set_defaults(func=_migrate)
    migsub = mig.add_subparsers(dest="action", parser_class=_Parser)
    migsub.add_parser("up", help="apply every pending migration (the default)", parents=[common])
    down = migsub.add_parser("down", help="revert the last migration, or down to a version", parents=[common])
    down.add_argument("--to", type=int, metavar="VERSION", help="revert every migration newer than VERSION")
    down.add_argument("--all", action="store_true", help="revert every migration")
    status = migsub.add_parser(
        "status", help="list each version: applied, pending, changed or unknown", parents=[common]
    )
    status.add_argument("--check", action="store_true", help="exit non-zero unless every migration is applied")

    sd = sub.add_parser("seed", help="fill the database with synthetic OpenTier data", parents=[common])
    sd.add_argument(
        "--profile", default="tiny", help="tiny, demo, large, huge, or a path to a profile .toml (default: tiny)"
    )
    sd.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    sd.add_argument("--truncate", action="store_true", help="first empty a database this kit seeded")
    sd.set_defaults(func=_seed)

    _add_calibrate_command(sub, common)
    _add_notebook_commands(sub, common)
    return parser


def _add_calibrate_command(sub, common: argparse.ArgumentParser) -> None:
    """The command that writes a twin's profile: calibrate."""
    cal = sub.add_parser(
        "calibrate", help="write a profile estimated from this database's aggregates, privately", parents=[common]
    )
    cal.add_argument("--output", required=True, metavar="FILE.toml", help="where to write the profile")
    cal.add_argument(
        "--min-count",
        type=int,
        default=10,
        metavar="K",
        help="suppress or merge any released count below K (default: 10)",
    )
    cal.add_argument(
        "--epsilon",
        type=float,
        default=None,
        metavar="E",
        help="add differential-privacy noise, E being the total budget (default: none)",
    )
    cal.set_defaults(func=_calibrate)


def _add_notebook_commands(sub, common: argparse.ArgumentParser) -> None:
    """The commands that run the notebooks: report, refresh, lab."""
    rp = sub.add_parser("report", help="execute notebooks into reports/*.html", parents=[common])
    rp.add_argument("notebooks", nargs="*", help="notebooks to run (default: all in notebooks/)")
    rp.set_defaults(func=_report)

    rf = sub.add_parser(
        "refresh",
        help="re-execute notebooks in place on a throw-away demo database (what nbval compares); commit the result",
        epilog=f"DATABASE_URL is not used: the stored outputs are always the {config.DEMO_PROFILE} profile's, "
        f"seed {config.DEMO_SEED}, on a private server.",
    )
    rf.add_argument("notebooks", nargs="*", help="notebooks to refresh (default: all in notebooks/)")
    rf.set_defaults(func=_refresh)

    lab = sub.add_parser(
        "lab",
        help="start JupyterLab on notebooks/ with the database URL set",
        parents=[common],
        epilog="Any further arguments (e.g. --no-browser --ServerApp.port=8899) are passed to jupyter lab.",
    )
    lab.set_defaults(func=_lab)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line; arguments `lab` does not know are kept for jupyter lab."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.lab_args = extra
    if not hasattr(args, "database_url"):
        args.database_url = None
    elif not args.database_url.strip():
        # Never fall back to $DATABASE_URL or the embedded server when a URL was given but is empty.
        parser.error(
            "argument --database-url: the URL is empty; give postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
            "or leave the option out"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; expected errors become one line on stderr and a non-zero exit."""
    args = parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except OpentierError as exc:
        print(f"opentier-explore: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("opentier-explore: interrupted; nothing was left half-done.", file=sys.stderr)
        return 130
    except Exception as exc:
        # A database error no step turned into a sentence (a lost connection, a missing privilege): still one line.
        if not type(exc).__module__.startswith("psycopg"):
            raise
        from .db import driver_message

        print(
            f"opentier-explore: The database server reported an error ({driver_message(exc)}): check that it is running "
            f"and that the user in DATABASE_URL has the privileges this command needs, then retry.",
            file=sys.stderr,
        )
        return 1
