"""The seeder's generator process: `python -m seed.stream` generates a profile's tables and writes their COPY data.

It reads one request from stdin (a length word and a pickled dict: profile, seed, the connection's encoding) and
writes frames to stdout: a kind byte, a row count and a length (struct ">cII"), then that many bytes —
T (table: pickled name, COPY statement, rows), D (COPY data), E (end of table), Z (done) or X (failure: pickled
exception type name, message, whether memory ran out). It stops when stdin closes (its parent is gone), and it
ignores Ctrl-C: the parent decides. It imports no database code.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import threading
from typing import BinaryIO

from . import copy
from .generate import iter_tables

FRAME = struct.Struct(">cII")


def _watch_parent(stdin: BinaryIO) -> None:
    """Exit as soon as the parent closes our stdin (it finished, aborted or died)."""
    while stdin.read(1 << 16):
        pass
    os._exit(1)


def _frame(out: BinaryIO, kind: bytes, data: bytes = b"", rows: int = 0) -> None:
    try:
        out.write(FRAME.pack(kind, rows, len(data)))
        if data:
            out.write(data)
        if kind != b"D":
            out.flush()
    except (BrokenPipeError, OSError):  # the parent is gone
        os._exit(1)


def serve(stdin: BinaryIO, out: BinaryIO) -> None:
    """Answer one request: every table's COPY statement and data, then Z; or X on any failure."""
    (size,) = struct.unpack(">I", stdin.read(4))
    request = pickle.loads(stdin.read(size))
    threading.Thread(target=_watch_parent, args=(stdin,), daemon=True).start()
    encoding = request["encoding"]
    try:
        for table in iter_tables(request["profile"], request["seed"]):
            _frame(out, b"T", pickle.dumps((table.name, copy.copy_sql(table), len(table))))
            for rows, data in copy.wire_chunks(table, encoding):  # encoded here, as psycopg would for the connection
                _frame(out, b"D", data, rows)
            _frame(out, b"E")
        _frame(out, b"Z")
    except BaseException as exc:  # handed to the parent, which turns it into one sentence
        del request
        info = (type(exc).__name__, str(exc), isinstance(exc, MemoryError))
        _frame(out, b"X", pickle.dumps(info))


def main() -> None:
    """Serve the parent on stdin/stdout (stdout's descriptor kept for frames; stray prints go to stderr)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb", buffering=1 << 20)
    os.dup2(2, 1)
    serve(sys.stdin.buffer, out)
    out.flush()
    os._exit(0)  # not a normal shutdown: the watcher thread is still reading stdin


if __name__ == "__main__":
    main()
