"""Fast exact matching of UUID strings: parse them into two uint64 halves with numpy, fall back to hashing strings.

Hashing millions of Python strings (pd.factorize, Index.get_indexer) dominates the trees' pandas path;
canonical UUID text (36 lowercase hex characters with dashes, as load() returns) parses into integers
in a few C-speed passes (join, unhexlify), and integers sort and search fast. Arrow-backed strings (load()'s
`str` columns) are parsed straight from their Arrow buffer, without making a Python string per value.
Anything else takes the string path.
"""

from __future__ import annotations

import binascii

import numpy as np
import pandas as pd


def uuid_halves(values, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(high, low) uint64 halves of canonical lowercase UUID strings (rows in `missing` get 0), or None."""
    if not isinstance(values, np.ndarray):
        found = _arrow_halves(values, missing)
        if found is not None:
            return found
        values = np.asarray(values, dtype=object)
    n = len(values)
    hi, lo = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
    present = values[~missing].tolist() if missing.any() else values.tolist()
    if not present:
        return hi, lo
    try:
        if set(map(len, present)) != {36}:
            return None
        joined = "".join(present).encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None
    return _halves(joined, len(present), hi, lo, missing)


def _halves(
    joined: bytes, m: int, hi: np.ndarray, lo: np.ndarray, missing: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Fill hi/lo (rows not `missing`) from `m` UUID texts of 36 bytes back to back in `joined`; None if any is not canonical."""
    if any(joined[pos::36] != b"-" * m for pos in (8, 13, 18, 23)) or any(c in joined for c in b"ABCDEF"):
        return None
    try:
        raw = binascii.unhexlify(joined.translate(None, b"-"))  # strict: any other character fails
    except (binascii.Error, ValueError):
        return None
    words = np.frombuffer(raw, dtype=">u8").reshape(m, 2)
    if missing.any():
        hi[~missing], lo[~missing] = words[:, 0], words[:, 1]
    else:
        hi[:], lo[:] = words[:, 0], words[:, 1]
    return hi, lo


def _arrow_halves(values, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """uuid_halves for an Arrow-backed string array whose present values lie back to back in one buffer; else None."""
    import pyarrow as pa

    try:
        arr = pa.array(values)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    large = pa.types.is_large_string(arr.type)  # pandas' Arrow strings are large_string
    if not (large or pa.types.is_string(arr.type)) or len(arr) != len(missing):
        return None
    _, off_buf, data_buf = arr.buffers()
    n = len(arr)
    hi, lo = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
    if data_buf is None or off_buf is None:
        return (hi, lo) if missing.all() else None
    offsets = np.frombuffer(off_buf, dtype=np.int64 if large else np.int32)[arr.offset : arr.offset + n + 1]
    lengths = np.diff(offsets)
    if not ((lengths[~missing] == 36).all() and (lengths[missing] == 0).all()):
        return None
    m = int((~missing).sum())
    start = int(offsets[0])
    return _halves(memoryview(data_buf)[start : start + 36 * m].tobytes(), m, hi, lo, missing)


def parent_rows(ids, parents) -> np.ndarray:
    """For each parent id, the row of `ids` holding it; -1 for NULL, -2 for an id no row holds (ids are unique)."""
    n = len(ids)
    null = np.asarray(pd.isna(parents), dtype=bool)
    out = np.full(len(parents), -1, dtype=np.int64)
    keys_i, keys_p = uuid_halves(ids, np.zeros(n, bool)), uuid_halves(parents, null)
    if keys_i is not None and keys_p is not None:
        for a, b in ((1, 0), (0, 1)):  # look up the half that is unique among ids, check the other
            index = pd.Index(keys_i[a])
            if not index.is_unique:
                continue
            row = index.get_indexer(keys_p[a]).astype(np.int64)
            hit = (row >= 0) & (keys_i[b][np.maximum(row, 0)] == keys_p[b]) if n else np.zeros(len(parents), bool)
            out[~null] = np.where(hit, row, -2)[~null]
            return out
    both = np.concatenate([np.asarray(ids, dtype=object), np.asarray(parents, dtype=object)])
    codes, _ = pd.factorize(both)  # string hashing: ids get codes 0..n-1
    pc = codes[n:].astype(np.int64)
    out[~null] = np.where(pc[~null] >= n, -2, pc[~null])
    return out


def sorted_codes(values) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques) with uniques in ascending string order, like pd.factorize(values, sort=True) but sorting only the uniques."""
    n = len(values)
    keys = uuid_halves(values, np.zeros(n, bool)) if n else None
    if keys is not None:  # canonical UUIDs: factorize the high halves (integers), if they tell the values apart
        hi, lo = keys
        codes, distinct = pd.factorize(hi)
        row = np.empty(len(distinct), np.int64)
        row[codes] = np.arange(n)
        if (lo[row][codes] == lo).all():
            order = np.lexsort((lo[row], distinct))  # UUID order is text order for canonical UUIDs
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            return rank[codes], np.asarray(values[row[order]], dtype=object)
    codes, uniques = pd.factorize(values)  # few distinct values (conversations): hashing strings is cheap here
    uniques = np.asarray(uniques, dtype=object)
    keys = uuid_halves(uniques, np.zeros(len(uniques), bool))
    order = np.lexsort((keys[1], keys[0])) if keys is not None else np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]
