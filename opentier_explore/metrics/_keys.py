"""Fast exact matching of UUID strings: parse them into two uint64 halves with numpy, fall back to hashing strings.

Hashing millions of Python strings (pd.factorize, Index.get_indexer) dominates the trees' pandas path;
canonical UUID text (36 lowercase hex characters with dashes, as load() returns) parses into integers
in a few C-speed passes (join, fromhex), and integers sort and search fast. Anything else takes the string path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_FILLER = "00000000-0000-0000-0000-000000000000"


def uuid_halves(values: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(high, low) uint64 halves of canonical lowercase UUID strings (rows in `missing` are ignored), or None."""
    n = len(values)
    if n == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    filled = (np.where(missing, _FILLER, values) if missing.any() else values).tolist()
    try:
        if set(map(len, filled)) != {36}:
            return None
        joined = "".join(filled)
    except TypeError:
        return None
    if any(joined[pos::36] != "-" * n for pos in (8, 13, 18, 23)) or any(c in joined for c in "ABCDEF"):
        return None
    try:
        raw = bytes.fromhex(joined.replace("-", ""))
    except ValueError:
        return None
    if len(raw) != 16 * n:  # fromhex skips whitespace: a space in place of a digit shortens the result
        return None
    words = np.frombuffer(raw, dtype=">u8").reshape(n, 2).astype(np.uint64)
    return np.ascontiguousarray(words[:, 0]), np.ascontiguousarray(words[:, 1])


def parent_rows(ids: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """For each parent id, the row of `ids` holding it; -1 for NULL, -2 for an id no row holds (ids are unique)."""
    n = len(ids)
    null = pd.isna(parents)
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
    codes, _ = pd.factorize(np.concatenate([ids, parents]))  # string hashing: ids get codes 0..n-1
    pc = codes[n:].astype(np.int64)
    out[~null] = np.where(pc[~null] >= n, -2, pc[~null])
    return out


def sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques) with uniques in ascending string order, like pd.factorize(values, sort=True) but sorting only the uniques."""
    codes, uniques = pd.factorize(values)  # few distinct values (conversations): hashing strings is cheap here
    uniques = np.asarray(uniques, dtype=object)
    keys = uuid_halves(uniques, np.zeros(len(uniques), bool))
    # UUID order is text order for canonical UUIDs, and integers sort much faster than strings
    order = np.lexsort((keys[1], keys[0])) if keys is not None else np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]
