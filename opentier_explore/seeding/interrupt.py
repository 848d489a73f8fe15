"""Ctrl-C during a seeding, taken at safe points: a KeyboardInterrupt raised at an arbitrary bytecode can land inside
a queue's or a condition's lock that the COPY writer thread or the generator's reader thread then waits on forever."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import psycopg


class Interrupt:
    """A Ctrl-C noted by the handler: the server is asked to cancel the running statement, `check()` raises it."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn
        self.requested = False
        self._canceller: threading.Thread | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """SIGINT: note it and cancel the statement on another thread; a second Ctrl-C interrupts at once."""
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self._canceller = threading.Thread(target=self._cancel, name="seed-cancel", daemon=True)
        self._canceller.start()

    def _cancel(self) -> None:
        with contextlib.suppress(Exception):  # no statement running, or the server gone: the next check() stops
            self._conn.cancel_safe(timeout=5.0)

    def check(self) -> None:
        """Raise KeyboardInterrupt here, outside every lock, if Ctrl-C was pressed."""
        if self.requested:
            if self._canceller is not None:
                self._canceller.join(timeout=6.0)  # its cancel must not hit the ROLLBACK that follows
            raise KeyboardInterrupt


@contextlib.contextmanager
def deferred(conn: psycopg.Connection) -> Iterator[Interrupt]:
    """Within: Ctrl-C cancels the server's statement and raises KeyboardInterrupt at the next `check()`; a statement
    the cancel stopped raises KeyboardInterrupt too, not its QueryCanceled. The previous handler is restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield Interrupt(conn)  # no handler can be installed here: never requested, Ctrl-C as Python's default
        return
    interrupt = Interrupt(conn)
    previous = signal.signal(signal.SIGINT, interrupt.handle)
    try:
        yield interrupt
    except psycopg.Error:
        if interrupt.requested:
            interrupt.check()
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
