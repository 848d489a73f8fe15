"""One consistent view of the database for many reads, and one retry when a hot standby cancels a read.

A `Snapshot` is a SQLAlchemy Engine whose every transaction is REPEATABLE READ READ ONLY and
imports one snapshot (`SET TRANSACTION SNAPSHOT`) exported by an anchor connection that stays
open, idle in its transaction, until `close()`. ADBC loads through it import the same snapshot,
so SQLAlchemy queries and bulk loads agree. Exported snapshots work on a hot standby too
(PostgreSQL 10 and later; tested on a streaming replica). Every kit call given a plain Engine
runs in a fresh Snapshot of its own (`consistent`), so its several queries see one moment.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import re
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import event

from .errors import ConfigError, ConnectionFailed, OpentierError, RecoveryConflict

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

_ID = re.compile(r"^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+$")
_BEGIN = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
_SETTINGS = "hot_standby_feedback = on on the standby, or a larger max_standby_streaming_delay"
#: Kit calls in progress in this context: only the outermost one opens snapshots and retries.
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("opentier_snapshot_depth", default=0)


class _Lost(Exception):
    """The snapshot's anchor is gone, so its snapshot can no longer be imported."""

    def __init__(self, snapshot_id: str | None, conflict: bool) -> None:
        super().__init__(f"snapshot {snapshot_id} lost")
        self.snapshot_id = snapshot_id
        self.conflict = conflict


class SessionLost(Exception):
    """The server closed a raw driver connection under a read (SQLAlchemy marks its own connections so)."""

    connection_invalidated = True


def _causes(exc: BaseException):
    """`exc`, then each error it was raised from or during (the driver's error under SQLAlchemy's too)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]


def is_recovery_conflict(exc: BaseException) -> bool:
    """True when `exc`, or an error it was raised from or during, is a standby's recovery-conflict cancel."""
    for e in _causes(exc):
        if isinstance(e, _Lost):
            return e.conflict
        if "conflict with recovery" in str(e):
            return True
    return False


def session_ended(exc: BaseException) -> bool:
    """True when the server closed the connection under a read: a hot standby ends the session (rather than
    cancelling its query) when a recovery conflict finds it between statements, and says why only sometimes."""
    return any(getattr(e, "connection_invalidated", False) for e in _causes(exc))


class Snapshot(sqlalchemy.Engine):
    """An Engine on which every read sees the database as of one moment; pass it wherever an engine goes.

    Use it as a context manager, or keep it (e.g. across notebook cells) and `close()` it when done:
    while it is open the server keeps the row versions it shows (VACUUM waits for it on a primary).
    """

    def __init__(self, source: sqlalchemy.Engine) -> None:
        from .db import engine_url, remember

        if isinstance(source, Snapshot):
            source = source.source
        # The source's pool and dialect: connections are reused; this Engine only adds its begin hook.
        super().__init__(source.pool, source.dialect, source.url, hide_parameters=source.hide_parameters)
        self.source = source
        remember(self, engine_url(source))  # the libpq URL, for ADBC and the kit's raw connections
        self.snapshot_id: str | None = None
        self.on_standby = False
        self.delivered = False  # True once a result read in this snapshot was handed out
        self._anchor = None
        self._lost_to_conflict = False
        self._finalizer: weakref.finalize | None = None
        event.listen(self, "begin", self._import)
        self._open()

    def _open(self) -> None:
        from .db import engine_url, raw_connect

        anchor = raw_connect(engine_url(self), read_only=True)
        try:
            anchor.execute(_BEGIN)
            snapshot_id, in_recovery = anchor.execute("SELECT pg_export_snapshot(), pg_is_in_recovery()").fetchone()
        except Exception:
            anchor.close()
            raise
        if not _ID.match(snapshot_id):  # it is pasted into SET TRANSACTION SNAPSHOT, which takes no parameters
            anchor.close()
            raise OpentierError(f"The server exported a snapshot named {snapshot_id!r}, which the kit cannot use.")
        self._anchor, self.snapshot_id, self.on_standby = anchor, snapshot_id, bool(in_recovery)
        self._finalizer = weakref.finalize(self, anchor.close)

    def renew(self) -> None:
        """Replace the snapshot with a new one of the present moment (only before any result was handed out)."""
        self.close()
        self.delivered = False
        self._lost_to_conflict = False
        self._open()

    def close(self) -> None:
        """Release the snapshot (end the anchor's transaction); later reads through it fail with one sentence."""
        if self._finalizer is not None:
            self._finalizer()  # closes the anchor once, even if called again or at garbage collection
        self._anchor = None

    def dispose(self, close: bool = True) -> None:
        """Close the snapshot; the source engine's pool, which it shares, stays as it is."""
        self.close()

    @property
    def closed(self) -> bool:
        """True once `close()` was called or the server ended the snapshot."""
        return self._anchor is None or self._anchor.closed

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"snapshot {self.snapshot_id}"
        where = " on a hot standby" if self.on_standby else ""
        from .db import engine_url, mask_url

        return f"Snapshot({mask_url(engine_url(self))}, {state}{where})"

    def start(self, execute: Callable[[str], Any]) -> None:
        """Start the current transaction in this snapshot, running its statements with `execute` (any driver's)."""
        self.check_open()
        try:
            execute(_BEGIN)
            execute(f"SET TRANSACTION SNAPSHOT '{self.snapshot_id}'")
        except Exception as exc:
            if "snapshot" in str(exc) and "does not exist" in str(exc):
                self._anchor_died()
            raise

    def check_open(self) -> None:
        """Raise _Lost (naming a recovery conflict when that was the cause) once the snapshot is closed."""
        if self.closed:
            raise _Lost(self.snapshot_id, self._lost_to_conflict)

    def _anchor_died(self) -> None:
        """Called when importing fails: learn from the anchor why the server ended it, then raise _Lost."""
        anchor = self._anchor
        if anchor is not None and not self._lost_to_conflict:
            try:
                anchor.execute("SELECT 1")
            except Exception as exc:  # the server's reason arrives with the first use after it ended the session
                self._lost_to_conflict = is_recovery_conflict(exc)
        self.close()
        raise _Lost(self.snapshot_id, self._lost_to_conflict)

    def _import(self, conn: sqlalchemy.Connection) -> None:
        self.start(conn.exec_driver_sql)
        if _depth.get() == 0:  # a caller's own query (pandas.read_sql, %sql, …) now sees this snapshot
            self.delivered = True


def snapshot(engine: sqlalchemy.Engine | str | None = None) -> Snapshot:
    """A Snapshot of `engine` (an Engine from connect(), a URL, or None for connect()'s default) taken now."""
    if engine is None or isinstance(engine, str):
        from .db import connect

        engine = connect(engine)
    if not isinstance(engine, sqlalchemy.Engine):
        raise ConfigError(f"snapshot() needs an Engine from connect(), not {type(engine).__name__}: pass connect(url).")
    return _retrying(lambda: Snapshot(engine))


def retry_once(attempt: Callable[[], T]) -> T:
    """What `attempt()` returns: it reads in a snapshot of its own and hands nothing out before it returns, so after a
    recovery conflict or a closed session it runs once more, then fails in one sentence."""
    return _retrying(attempt)


def consistent(param: str, *, default_engine: bool = False) -> Callable[[F], F]:
    """Run the decorated kit call in one snapshot: its own when `param` is a plain Engine, the given one when a Snapshot.

    A recovery conflict is retried once in a new snapshot (for a given Snapshot, only while none of its
    results was handed out: renewing it then changes what nobody has seen), then reported in one sentence.
    With `default_engine`, `param` None means connect()'s default database.
    """

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if _depth.get() > 0:
                return fn(*args, **kwargs)  # an outer kit call owns the snapshot and the retry
            bound = signature.bind(*args, **kwargs)
            src = bound.arguments.get(param)
            if isinstance(src, Snapshot):
                return _retrying(lambda: _once_in(src, fn, bound), src)
            if src is None and default_engine:
                from .db import connect

                engine = connect()
                try:
                    return _retrying(lambda: _once_own(engine, fn, bound, param))
                finally:
                    engine.dispose()
            if isinstance(src, sqlalchemy.Engine):
                return _retrying(lambda: _once_own(src, fn, bound, param))
            return fn(*args, **kwargs)  # frames, or a wrong type the call itself reports

        return wrapper  # type: ignore[return-value]

    return decorate


def _call(fn: Callable[..., Any], bound: inspect.BoundArguments) -> Any:
    token = _depth.set(_depth.get() + 1)
    try:
        return fn(*bound.args, **bound.kwargs)
    finally:
        _depth.reset(token)


def _once_own(engine: sqlalchemy.Engine, fn: Callable[..., Any], bound: inspect.BoundArguments, param: str) -> Any:
    with Snapshot(engine) as snap:
        bound.arguments[param] = snap
        return _call(fn, bound)


def _once_in(snap: Snapshot, fn: Callable[..., Any], bound: inspect.BoundArguments) -> Any:
    snap.check_open()
    result = _call(fn, bound)
    snap.delivered = True
    return result


def _retrying(attempt: Callable[[], Any], snap: Snapshot | None = None) -> Any:
    """`attempt()`, once more after a recovery conflict or a closed session if nothing read so far was handed out;
    else one sentence."""
    for n in (1, 2):
        try:
            return attempt()
        except Exception as exc:
            conflict, ended = is_recovery_conflict(exc), session_ended(exc)
            if not (conflict or ended):
                if isinstance(exc, _Lost):
                    raise _lost_error(exc.snapshot_id, False) from None
                raise
            if snap is not None and snap.delivered:
                raise _lost_error(snap.snapshot_id, conflict) from None
            if n == 2:
                break
            if snap is not None:
                snap.renew()
    if not conflict:
        raise ConnectionFailed(
            "The database server closed the connection twice during this read (a hot standby does so in a "
            f"recovery conflict, a server when it restarts): check that it is up, on a standby set {_SETTINGS}, "
            "then run it again."
        )
    raise RecoveryConflict(
        "The hot standby cancelled this read twice because replaying the primary's changes (e.g. a VACUUM) "
        f"removed rows it still needed (a recovery conflict): set {_SETTINGS}, then run it again."
    )


def _lost_error(snapshot_id: str | None, conflict: bool) -> OpentierError:
    if conflict:
        return RecoveryConflict(
            f"The hot standby cancelled snapshot {snapshot_id} because replaying the primary's changes removed rows "
            f"it still showed (a recovery conflict): take a new one with snapshot(), and set {_SETTINGS} to keep snapshots longer."
        )
    return OpentierError(
        f"Snapshot {snapshot_id} is closed (by close(), or the server ended its session): take a new one with snapshot()."
    )
