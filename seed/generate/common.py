"""Shared pieces of generation: the context (one seeded Generator, the profile, word lists), ids, tokens, times, text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..profile import Profile

WORDS_DIR = Path(__file__).resolve().parent.parent / "words"

US = 1_000_000  # microseconds per second: every time is an int64 count of µs since the Unix epoch, UTC
MINUTE = 60 * US
HOUR = 3600 * US
DAY = 86400 * US
WEEK = 7 * DAY

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


@cache
def words(name: str) -> tuple[str, ...]:
    """The non-empty lines of `seed/words/<name>.txt`."""
    text = (WORDS_DIR / f"{name}.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@dataclass
class Table:
    """One table's rows, column by column.

    Without `types`, values are COPY-text strings (already escaped) or None for NULL. With `types` (one of
    uuid, text, int4, jsonb, timestamptz, vector per column), values are raw: str, int, int µs since the epoch,
    or the pgvector binary payload as bytes, and the table is loaded with binary COPY. `wire` (types of
    `seed.copy`'s converters: uuid, text, jsonb, timestamptz) sends a text table as binary COPY, converted on the way.
    """

    name: str
    columns: list[str]
    data: list[Sequence[Any]]
    types: list[str] | None = None
    wire: list[str] | None = None

    def __len__(self) -> int:
        return len(self.data[0]) if self.data else 0


class Lazy(Sequence):
    """A column whose values are built on demand, a slice at a time, by `build(start, stop)` (which draws no
    random numbers: every draw is made before), so formatting overlaps the COPY of earlier rows."""

    def __init__(self, n: int, build: Callable[[int, int], list]) -> None:
        self._n, self._build = n, build

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(self._n)
            values = self._build(start, max(start, stop))
            return values if step == 1 else values[::step]
        i = range(self._n)[key]
        return self._build(i, i + 1)[0]

    def __iter__(self):
        for a in range(0, self._n, 50_000):
            yield from self._build(a, min(a + 50_000, self._n))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


@dataclass
class Ctx:
    """What every generator step shares: the profile, the one Generator and the time frame."""

    profile: Profile
    rng: np.random.Generator
    as_of: int  # µs since epoch
    start: int  # µs since epoch: as_of - history_days

    def p(self, key: str) -> Any:
        """A profile value by its `section.key`."""
        return self.profile[key]


def make_ctx(profile: Profile, seed: int) -> Ctx:
    """The generation context for `profile` and `seed`."""
    as_of = int(profile.as_of.timestamp()) * US + profile.as_of.microsecond
    return Ctx(profile, np.random.default_rng(seed), as_of, as_of - int(profile["history_days"]) * DAY)


def uuids(rng: np.random.Generator, n: int, compact: bool = False) -> np.ndarray:
    """`n` random version-4 UUIDs as a numpy str array (from the generator, never the OS); `compact`: as ASCII bytes
    (dtype S36, a quarter of the memory; `texts` turns a slice of them into str)."""
    b = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    nib = np.empty((n, 32), dtype=np.uint8)
    nib[:, 0::2] = _HEX[b >> 4]
    nib[:, 1::2] = _HEX[b & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, 0:8], out[:, 9:13], out[:, 14:18] = nib[:, 0:8], nib[:, 8:12], nib[:, 12:16]
    out[:, 19:23], out[:, 24:36] = nib[:, 16:20], nib[:, 20:32]
    return out.view("S36").ravel() if compact else out.view("S36").ravel().astype("U36")


def texts(values: np.ndarray) -> list[str]:
    """A numpy bytes (S) or str (U) array's values as a list of str."""
    return values.astype(f"U{values.dtype.itemsize}").tolist() if values.dtype.kind == "S" else values.tolist()


def tokens(rng: np.random.Generator, n: int, length: int, alphabet: str = "alnum") -> np.ndarray:
    """`n` random strings of `length` characters (alphanumeric, hex or digits), as a numpy str array."""
    table = {"alnum": _ALNUM, "hex": _HEX, "digits": _ALNUM[52:]}[alphabet]
    idx = rng.integers(0, len(table), size=(n, length))
    return table[idx].astype(np.uint8).view(f"S{length}").ravel().astype(f"U{length}")


def ts(values: np.ndarray) -> list[str]:
    """µs-since-epoch ints as PostgreSQL timestamptz text in UTC."""
    arr = np.asarray(values, dtype=np.int64).astype("datetime64[us]")
    return np.char.add(np.datetime_as_string(arr, unit="us"), "+00").tolist()


def ts_or_null(values: np.ndarray, present: np.ndarray) -> list[str | None]:
    """Like `ts`, with None where `present` is false."""
    out = ts(np.where(present, values, 0))
    return [v if p else None for v, p in zip(out, np.asarray(present).tolist())]


def ints(values: np.ndarray) -> list[str]:
    """Integers as text."""
    return np.asarray(values, dtype=np.int64).astype(str).tolist()


def bools(values: np.ndarray) -> list[str]:
    """Booleans as PostgreSQL text."""
    return np.where(np.asarray(values, dtype=bool), "t", "f").tolist()


def esc(text: str) -> str:
    """`text` escaped for COPY's text format."""
    return text.translate(_COPY_ESCAPES)


def pick(rng: np.random.Generator, items: Sequence[Any], n: int, p: Sequence[float] | None = None) -> np.ndarray:
    """`n` indices into `items`, uniform or with weights `p` (normalized here)."""
    if n == 0 or len(items) == 0:
        return np.zeros(0, dtype=np.int64)
    if p is None:
        return rng.integers(0, len(items), size=n)
    w = np.asarray(p, dtype=float)
    return rng.choice(len(items), size=n, p=w / w.sum())


def stable(x: np.ndarray | float) -> np.ndarray:
    """`x` rounded to 9 significant decimal digits of its binary mantissa.

    Vectorized exp/log may differ in the last bit between CPUs (SIMD paths); snapping their results makes the
    later float → int conversions identical on any machine (unless a value lies within 1 ulp of a snapping
    boundary: about 1 in 10 million values). +, -, *, / and sqrt are exactly rounded and need no snapping.
    """
    m, e = np.frexp(x)
    return np.ldexp(np.round(m, 9), e)


def exp(x: np.ndarray | float) -> np.ndarray:
    """np.exp, reproducible across CPUs (see `stable`)."""
    return stable(np.exp(x))


def lognormal_us(rng: np.random.Generator, median_us: float, sigma: float, n: int) -> np.ndarray:
    """`n` log-normal durations in µs with the given median."""
    return (median_us * exp(sigma * rng.standard_normal(n))).astype(np.int64)


def weekday(t_us: np.ndarray) -> np.ndarray:
    """Day of week (Monday = 0) of µs timestamps."""
    return ((np.asarray(t_us) // DAY) + 3) % 7  # 1970-01-01 was a Thursday


def group_starts(counts: np.ndarray) -> np.ndarray:
    """Start offsets of consecutive groups of the given sizes."""
    starts = np.zeros(len(counts), dtype=np.int64)
    if len(counts) > 1:
        np.cumsum(counts[:-1], out=starts[1:])
    return starts


def position_in_group(counts: np.ndarray) -> np.ndarray:
    """For each element of consecutive groups of the given sizes, its 0-based position within its group."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(group_starts(counts), counts)


def unique_ints(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    """`n` distinct random integers in [low, high), in draw order."""
    out = np.zeros(0, dtype=np.int64)
    while len(out) < n:
        more = rng.integers(low, high, size=n - len(out) + 16)
        both = np.concatenate([out, more])
        _, first = np.unique(both, return_index=True)
        out = both[np.sort(first)][:n]
    return out
