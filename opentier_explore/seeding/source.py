"""The generator in a process of its own (`seed.stream`), so generating and encoding run on another core than the
COPY relay; its frames are read ahead on a thread into a bounded buffer while the connection builds indexes."""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import seed
from seed.stream import FRAME

from ..errors import SeedError

if TYPE_CHECKING:
    from seed.profile import Profile

#: Bytes of COPY data read ahead of the connection (the generator waits beyond it).
READ_AHEAD = 256 << 20
_F_SETPIPE_SZ = 1031  # Linux fcntl: a 1 MiB pipe instead of 64 KiB (fewer switches between the processes)


class Source:
    """The generator process for one seeding; iterate `tables()`, and always `close()` (kills it if still running)."""

    def __init__(self, prof: Profile, seed_value: int, encoding: str) -> None:
        env = dict(os.environ)
        root = str(Path(seed.__file__).resolve().parents[1])  # the child runs this very copy of `seed`
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "seed.stream"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a terminal's Ctrl-C reaches the parent only; the parent stops the child
        )
        with contextlib.suppress(OSError, AttributeError):
            import fcntl

            fcntl.fcntl(self._proc.stdout.fileno(), _F_SETPIPE_SZ, 1 << 20)
        self._profile_name = prof.name
        self._queue: queue.Queue = queue.Queue()
        self._buffered = 0
        self._room = threading.Condition()
        self._closed = False
        request = pickle.dumps({"profile": prof, "seed": seed_value, "encoding": encoding})
        try:
            self._proc.stdin.write(struct.pack(">I", len(request)) + request)
            self._proc.stdin.flush()  # stdin stays open: the child exits when it closes
        except OSError:
            pass  # the child is gone already; the reader reports it
        self._reader = threading.Thread(target=self._read, name="seed-source", daemon=True)
        self._reader.start()

    def tables(self) -> Iterator[tuple[str, str, int, Iterator[tuple[int, bytes]]]]:
        """(name, COPY statement, rows, data pieces) per table; consume each table's pieces before the next."""
        while True:
            kind, rows, data = self._next()
            if kind == b"Z":
                return
            name, sql, total = pickle.loads(data)
            yield name, sql, total, self._pieces()

    def _pieces(self) -> Iterator[tuple[int, bytes]]:
        while True:
            kind, rows, data = self._next()
            if kind == b"E":
                return
            yield rows, data

    def _next(self) -> tuple[bytes, int, bytes]:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        kind, rows, data = item
        with self._room:
            self._buffered -= len(data)
            self._room.notify()
        return kind, rows, data

    def _read(self) -> None:
        """Read frames into the queue (at most READ_AHEAD bytes waiting); a failure or early end becomes an error."""
        stream = self._proc.stdout
        try:
            while True:
                head = stream.read(FRAME.size)
                if len(head) < FRAME.size:
                    self._queue.put(self._died())
                    return
                kind, rows, size = FRAME.unpack(head)
                data = stream.read(size) if size else b""
                if len(data) < size:
                    self._queue.put(self._died())
                    return
                if kind == b"X":
                    self._queue.put(self._failed(*pickle.loads(data)))
                    return
                with self._room:
                    while self._buffered > READ_AHEAD and not self._closed:
                        self._room.wait(0.5)
                    self._buffered += len(data)
                self._queue.put((kind, rows, data))
                if kind == b"Z":
                    return
        except BaseException as exc:  # a closed pipe while aborting, or a real failure: the main thread decides
            self._queue.put(exc)

    def _failed(self, type_name: str, message: str, memory: bool) -> BaseException:
        if memory:
            return MemoryError(message)
        return SeedError(
            f"Generating profile {self._profile_name!r}'s data failed ({type_name}: {message}), and the seeding "
            f"was rolled back, nothing changed: report this error to the kit's maintainers."
        )

    def _died(self) -> SeedError:
        code = self._proc.wait()
        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        return SeedError(
            f"The process generating profile {self._profile_name!r}'s data stopped unexpectedly ({how}; a lack of "
            f"memory does this), and the seeding was rolled back, nothing changed: free memory or use a smaller profile."
        )

    def close(self) -> None:
        """Stop the child (if it still runs), reap it and release the pipes."""
        self._closed = True
        with self._room:
            self._room.notify_all()
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        with contextlib.suppress(OSError):
            self._proc.stdout.close()
        self._reader.join(timeout=5)
