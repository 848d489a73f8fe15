"""Database work on a background thread, in order, so PostgreSQL loads one table while Python generates the next."""

from __future__ import annotations

import queue
import sys
import threading
from typing import TYPE_CHECKING

from psycopg.copy import QueuedLibpqWriter

from seed import copy as copy_mod
from seed.generate.common import Table

if TYPE_CHECKING:
    import psycopg


class _Stopped(Exception):
    """Raised inside a running COPY to abandon it (psycopg then cancels it on the server)."""


def _bar(enabled: bool, total: int, desc: str, unit: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"{desc:<22}", unit=unit, unit_scale=unit == " rows", leave=True, file=sys.stderr)


class Pipeline:
    """A worker thread owning the connection: COPYs tables and runs statements in the order they are queued."""

    def __init__(self, conn: psycopg.Connection, progress: bool = False) -> None:
        self._conn = conn
        self._progress = progress
        self._queue: queue.Queue = queue.Queue(maxsize=3)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="seed-copy", daemon=True)
        self._thread.start()

    def copy(self, table: Table, then: list[str] | None = None) -> None:
        """Queue a COPY of the table's rows, then SQL statements for it (its indexes), under one progress bar."""
        self._put(("copy", table, then or []))

    def execute(self, statements: list[str], label: str) -> None:
        """Queue SQL statements (one progress bar named `label`)."""
        if statements:
            self._put(("sql", statements, label))

    def finish(self) -> None:
        """Wait until everything queued ran; re-raise the first failure."""
        self._put(None)
        self._thread.join()
        self._raise()

    def abort(self) -> None:
        """Stop as soon as possible (the caller then closes the connection, rolling everything back)."""
        self._stop.set()
        if self._thread.is_alive() and self._error is None:
            try:  # interrupt a long statement (an index build) on the server too
                self._conn.cancel_safe(timeout=5)
            except Exception:  # the connection is being closed anyway
                pass
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(timeout=30)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _put(self, item) -> None:
        while True:
            self._raise()
            if not self._thread.is_alive() and item is not None:
                raise RuntimeError("the seeding worker stopped unexpectedly")
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None or self._stop.is_set():
                continue
            try:
                if item[0] == "copy":
                    self._copy(item[1], item[2])
                else:
                    self._sql(item[1], item[2])
            except BaseException as exc:  # handed to the main thread
                self._error = exc

    def _copy(self, table: Table, then: list[str]) -> None:
        bar = _bar(self._progress, len(table), table.name, " rows")
        try:
            # The queued writer sends on its own thread: the next chunk is formatted while PostgreSQL parses this one.
            with self._conn.cursor() as cur, cur.copy(copy_mod.copy_sql(table), writer=QueuedLibpqWriter(cur)) as cp:
                for n, text in copy_mod.chunks(table):
                    if self._stop.is_set():
                        raise _Stopped()
                    cp.write(text)
                    if bar is not None:
                        bar.update(n)
            if bar is not None and then:
                bar.set_postfix_str("indexing")
            for sql in then:
                if self._stop.is_set():
                    raise _Stopped()
                self._conn.execute(sql)
            if bar is not None and then:
                bar.set_postfix_str("indexed")
        finally:
            if bar is not None:
                bar.close()

    def _sql(self, statements: list[str], label: str) -> None:
        bar = _bar(self._progress, len(statements), label, " keys")
        try:
            for sql in statements:
                if self._stop.is_set():
                    raise _Stopped()
                self._conn.execute(sql)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
