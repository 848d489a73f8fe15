"""Fast exact matching of id strings in numpy, on their bytes, falling back to hashing Python strings.

Hashing millions of Python strings (pd.factorize, Index.get_indexer) dominated the trees' pandas path.
load() returns UUIDs as Arrow strings of 36 bytes each, back to back in Arrow's buffers: viewed as rows of
nine uint32 (no copy), they hash in two integer matrix products. Parents are matched to ids by sorting, not
by a hash table: each hash keeps its row number in its low bits, so one np.sort (SIMD, no argsort) of each
side and a searchsorted of sorted needles pair them, reading memory in order; every pair is then checked on
all 36 bytes, so a match is exactly string equality, as in the string path. The texts stay in Arrow's chunks and
are hashed, paired and checked in blocks of rows (_BLOCK): a block's temporaries stay in the CPU's cache and in
memory malloc reuses, where arrays of millions of rows are fresh pages from the kernel, which a first call pays for
(about twice the work). The ids' side and the parents' side are hashed and sorted on two threads (numpy releases
the GIL). Conversations are told apart by
Arrow's dictionary encoding, and ordered by their UUID value (canonical lowercase UUID text parsed into
two uint64 halves by translate and unhexlify: UUID order is then text order). Anything else (strings not
all 36 bytes long, object arrays of other things) takes the string path.
"""

from __future__ import annotations

import binascii
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

#: deletes the dashes and turns uppercase hex digits into a non-hex byte, so that unhexlify rejects them
_STRIP = bytes.maketrans(b"ABCDEF", b"gggggg")
#: the bytes of a text the fast paths read: canonical UUID text is 36 bytes, nine uint32
_WIDTH = 36
#: odd multipliers of the two 32-bit hashes of a text's nine uint32 (the golden ratio's and murmur3's constants)
_K1 = np.array(
    [0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F, 0x165667B1, 0xCC9E2D51, 0x1B873593, 0xE6546B65, 0x85EBCA6B],
    np.uint32,
)
_K2 = np.array(
    [0xC2B2AE35, 0x27D4EB2D, 0x9E3779B9, 0x7FEB352D, 0x846CA68B, 0xE6546B63, 0x3C6EF372, 0xA54FF53B, 0x510E527F],
    np.uint32,
)
#: odd constants of splitmix64's finalizer, spreading every bit of the two hashes over the high bits
_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
#: rounds of the merge: more means that many ids share their hash's high bits, which only crafted ids do
_MAX_PROBES = 64
#: rows per block of the matching's passes (2.4 MB of text)
_BLOCK = 1 << 16


def uuid_halves(values, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(high, low) uint64 halves of canonical lowercase UUID strings (rows in `missing` get 0), or None."""
    text = _texts(values, missing)
    words = _words(bytes(text), len(text) // _WIDTH) if text is not None else None
    if words is None:
        return None
    hi, lo = np.zeros(len(missing), np.uint64), np.zeros(len(missing), np.uint64)
    if missing.any():
        hi[~missing], lo[~missing] = words[:, 0], words[:, 1]
    else:
        hi[:], lo[:] = words[:, 0], words[:, 1]
    return hi, lo


def _words(joined: bytes, m: int) -> np.ndarray | None:
    """The (m, 2) big-endian uint64 of `m` UUID texts of 36 bytes back to back in `joined`; None if any is not canonical."""
    if any(joined[pos::_WIDTH] != b"-" * m for pos in (8, 13, 18, 23)):
        return None
    try:
        raw = binascii.unhexlify(joined.translate(_STRIP, b"-"))  # strict: any other character fails
    except (binascii.Error, ValueError):
        return None
    return np.frombuffer(raw, dtype=">u8").reshape(m, 2)


def text_rows(values, missing: np.ndarray) -> np.ndarray | None:
    """The bytes of each present (not `missing`) value as a row of nine uint32, if every one is 36 bytes long; else None."""
    text = _texts(values, missing)
    if text is None:
        return None
    return np.frombuffer(text, dtype=np.uint32).reshape(len(text) // _WIDTH, _WIDTH // 4)


class _Texts:
    """36-byte texts as rows of nine uint32, held in parts (one per Arrow chunk, not copied), read block by block."""

    def __init__(self, parts: list[np.ndarray]) -> None:
        self.parts = [p for p in parts if len(p)] or [np.empty((0, _WIDTH // 4), np.uint32)]
        self.starts = np.cumsum([0, *map(len, self.parts)])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def blocks(self):
        """(first row, rows) of consecutive blocks of at most _BLOCK rows."""
        for start, part in zip(self.starts.tolist(), self.parts):
            for a in range(0, len(part), _BLOCK):
                yield start + a, part[a : a + _BLOCK]

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The texts at `rows` (row numbers over all parts), as one array."""
        if len(self.parts) == 1:
            return np.take(self.parts[0], rows, axis=0)  # take, not [rows]: ten times faster for rows of a 2-d array
        part = np.searchsorted(self.starts[1:], rows, side="right")
        order = np.argsort(part.astype(np.uint16 if len(self.parts) < 2**16 else np.int64), kind="stable")  # radix
        bounds = np.searchsorted(part[order], np.arange(len(self.parts) + 1))
        out = np.empty((len(rows), _WIDTH // 4), np.uint32)
        for k in np.flatnonzero(np.diff(bounds)).tolist():
            at = order[bounds[k] : bounds[k + 1]]
            out[at] = np.take(self.parts[k], rows[at] - self.starts[k], axis=0)
        return out


def text_parts(values, missing: np.ndarray) -> _Texts | None:
    """text_rows without joining Arrow's chunks: the present values' texts, part by part; else None."""
    if not isinstance(values, np.ndarray):
        chunks = _arrow(values)
        if chunks is not None and sum(map(len, chunks)) == len(missing):
            texts = _chunk_texts(chunks, missing)
            if texts is None:
                return None
            return _Texts([np.frombuffer(t, dtype=np.uint32).reshape(-1, _WIDTH // 4) for t in texts])
    rows = text_rows(values, missing)
    return _Texts([rows]) if rows is not None else None


def _texts(values, missing: np.ndarray):
    """The present values' bytes back to back (a buffer, not copied from a single Arrow chunk), or None unless each is 36 bytes long."""
    if not isinstance(values, np.ndarray):
        chunks = _arrow(values)
        if chunks is not None and sum(map(len, chunks)) == len(missing):
            return _arrow_texts(chunks, missing)
        values = np.asarray(values, dtype=object)
    present = values[~missing].tolist() if missing.any() else values.tolist()
    try:
        if present and set(map(len, present)) != {_WIDTH}:
            return None
        return "".join(present).encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None


def _arrow(values) -> list | None:
    """The chunks of `values` as pyarrow string arrays (not copied), or None when they are not Arrow strings."""
    import pyarrow as pa

    try:
        arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    if not (pa.types.is_large_string(arr.type) or pa.types.is_string(arr.type)):  # pandas' are large_string
        return None
    return chunks


def _chunk_texts(chunks: list, missing: np.ndarray) -> list[memoryview] | None:
    """Each Arrow chunk's present values' bytes (_chunk_text), or None unless every chunk has them back to back."""
    texts, at = [], 0
    for arr in chunks:
        text = _chunk_text(arr, missing[at : at + len(arr)])
        if text is None:
            return None
        texts.append(text)
        at += len(arr)
    return texts


def _arrow_texts(chunks: list, missing: np.ndarray):
    """_texts of Arrow chunks: each chunk's present values must lie back to back in its buffer, 36 bytes each."""
    texts = _chunk_texts(chunks, missing)
    if texts is None:
        return None
    texts = [np.frombuffer(t, dtype=np.uint8) for t in texts if len(t)]
    if len(texts) == 1:
        return texts[0]
    return np.concatenate(texts) if texts else b""  # numpy's memory: huge pages, where b"".join faults 4 kB by 4 kB


def _chunk_text(arr, missing: np.ndarray) -> memoryview | None:
    """The bytes of one chunk's present values, if each is 36 bytes long and the missing ones take none; else None."""
    import pyarrow as pa

    n, m = len(arr), int((~missing).sum())
    _, off_buf, data_buf = arr.buffers()
    if not m or off_buf is None or data_buf is None:
        return memoryview(b"") if not m else None
    offsets = np.frombuffer(off_buf, dtype=np.int64 if pa.types.is_large_string(arr.type) else np.int32)
    offsets = offsets[arr.offset : arr.offset + n + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    if end - start != _WIDTH * m or not ((lengths[~missing] if m < n else lengths) == _WIDTH).all():
        return None  # (the missing ones then have length 0)
    return memoryview(data_buf)[start:end]


def parent_rows(ids, parents) -> np.ndarray:
    """For each parent id, the row of `ids` holding it; -1 for NULL, -2 for an id no row holds (ids are unique)."""
    n = len(ids)
    null = np.asarray(pd.isna(parents), dtype=bool)
    out = np.full(len(parents), -1, dtype=np.int64)
    rows_i = text_parts(ids, np.zeros(n, bool))
    rows_p = text_parts(parents, null) if rows_i is not None else None
    found = _merged_rows(rows_i, rows_p) if rows_p is not None else None
    if found is not None:
        out[~null] = found
        return out
    both = np.concatenate([np.asarray(ids, dtype=object), np.asarray(parents, dtype=object)])
    codes, _ = pd.factorize(both)  # string hashing: ids get codes 0..n-1
    pc = codes[n:].astype(np.int64)
    out[~null] = np.where(pc[~null] >= n, -2, pc[~null])
    return out


def _hashed(rows: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each text row, its high bits depending on every byte (two dot products, splitmix64's finalizer)."""
    h = ((rows @ _K1).astype(np.uint64) << np.uint64(32)) | (rows @ _K2)  # uint32 products wrap, as hashes do
    h ^= h >> np.uint64(30)
    h *= _MIX[0]
    h ^= h >> np.uint64(27)
    h *= _MIX[1]
    h ^= h >> np.uint64(31)
    return h


def _merged_rows(rows_i, rows_p, hashed=None) -> np.ndarray | None:
    """For each text row of rows_p, the first row of rows_i equal to it (-2 if none); None if too many hashes collide.

    Rows are _Texts or 2-d arrays. `hashed` (rows → uint64) is _hashed unless a test gives a worse one, to make every
    hash collide.
    """
    hashed = hashed or _hashed
    rows_i, rows_p = (r if isinstance(r, _Texts) else _Texts([r]) for r in (rows_i, rows_p))
    n, m = len(rows_i), len(rows_p)
    if not n or not m:
        return np.full(m, -2, dtype=np.int64)
    low = np.uint64((1 << max(int(max(n, m) - 1).bit_length(), 1)) - 1)
    high = ~low
    with ThreadPoolExecutor(1) as pool:  # the ids' side on a second core
        side = pool.submit(_sorted_keys, rows_i, hashed, high)
        want = _sorted_keys(rows_p, hashed, high)
        ids = side.result()
    out = np.empty(m, dtype=np.int64)
    for a in range(0, m, _BLOCK):  # sorted needles: each block's search walks `ids` forward
        w = want[a : a + _BLOCK]
        sought = w & high
        found = ids[np.minimum(np.searchsorted(ids, sought), n - 1)]  # the first id of that hash prefix, if any
        # back in the parents' order, so that their texts are read in order below
        out[(w & low).astype(np.int64)] = np.where((found & high) == sought, (found & low).astype(np.int64), -2)
    wrong = []
    for a, texts in rows_p.blocks():
        cand = out[a : a + len(texts)]  # a view: corrected in place
        same = (rows_i.take(np.maximum(cand, 0)) == texts).all(axis=1)
        wrong.append(np.flatnonzero(~same & (cand >= 0)) + a)  # a prefix shared by several ids: try the next ones
        cand[~same] = -2
    wrong = np.concatenate(wrong)
    return _probe(rows_i, rows_p, ids, hashed, high, wrong, out) if wrong.size else out


def _sorted_keys(rows: _Texts, hashed, high: np.uint64) -> np.ndarray:
    """Each row's hash prefix, then its row number, sorted: (hash & high) | row; hashed block by block."""
    keys = np.empty(len(rows), np.uint64)
    for a, texts in rows.blocks():
        keys[a : a + len(texts)] = hashed(texts)
    keys &= high
    keys |= np.arange(len(rows), dtype=np.uint64)
    keys.sort()
    return keys


def _probe(rows_i: _Texts, rows_p: _Texts, ids, hashed, high: np.uint64, wrong: np.ndarray, out) -> np.ndarray | None:
    """_merged_rows for the parents `wrong`, whose first candidate shared only its hash prefix: the next ones in turn."""
    n, low = len(ids), ~high
    texts = rows_p.take(wrong)
    sought = hashed(texts) & high
    at = np.searchsorted(ids, sought)  # the first candidate, already tried
    for _ in range(_MAX_PROBES):
        at = at + 1
        live = at < n
        np.minimum(at, n - 1, out=at)
        live &= (ids[at] & high) == sought
        cand = (ids[at] & low).astype(np.int64)
        hit = live & (rows_i.take(cand) == texts).all(axis=1)
        out[wrong[hit]] = cand[hit]
        keep = live & ~hit
        wrong, at, sought, texts = wrong[keep], at[keep], sought[keep], texts[keep]
        if not wrong.size:
            return out
    return None


def sorted_codes(values) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques) with uniques in ascending string order, like pd.factorize(values, sort=True) but sorting only the uniques."""
    if not isinstance(values, np.ndarray):
        found = _arrow_codes(values)
        if found is not None:
            return found
    n = len(values)
    keys = uuid_halves(values, np.zeros(n, bool)) if n else None
    if keys is not None:  # canonical UUIDs: factorize the high halves (integers), if they tell the values apart
        hi, lo = keys
        codes, distinct = pd.factorize(hi)
        row = np.empty(len(distinct), np.int64)
        row[codes] = np.arange(n)
        if (lo[row][codes] == lo).all():
            order = _uuid_order(distinct, lo[row])  # UUID order is text order for canonical UUIDs
            return _ranked(order)[codes], np.asarray(values[row[order]], dtype=object)
    codes, uniques = pd.factorize(values)  # few distinct values (conversations): hashing strings is cheap here
    uniques = np.asarray(uniques, dtype=object)
    keys = uuid_halves(uniques, np.zeros(len(uniques), bool))
    order = _uuid_order(*keys) if keys is not None else np.argsort(uniques, kind="stable")
    return _ranked(order)[codes], uniques[order]


def _uuid_order(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """The order of the UUIDs (hi, lo): by hi alone when no two share it (a SIMD argsort), else lexicographic (10× slower)."""
    order = np.argsort(hi)
    top = hi[order]
    if len(top) > 1 and not (top[1:] != top[:-1]).all():
        order = np.lexsort((lo, hi))
    return order


def _ranked(order: np.ndarray) -> np.ndarray:
    """The inverse permutation of `order`: the rank of each position."""
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _arrow_codes(values):
    """sorted_codes of a pandas Arrow string array without nulls (uniques as such an array too), by Arrow's dictionary encoding; else None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = _arrow(values) if isinstance(getattr(values, "dtype", None), pd.StringDtype) else None
    if chunks is None or not len(values) or any(c.null_count for c in chunks):
        return None
    encoded = pc.dictionary_encode(pa.chunked_array(chunks)).chunks  # one dictionary shared by every chunk
    uniques = encoded[-1].dictionary  # (were they snapshots of the growing memo, the last would hold them all)
    keys = uuid_halves(uniques, np.zeros(len(uniques), bool))
    if keys is not None:
        order = _uuid_order(*keys)  # UUID order is text order for canonical UUIDs
    else:
        order = pc.sort_indices(uniques).to_numpy()  # byte order of UTF-8 is code point order, as Python sorts str
    rank = _ranked(order).astype(np.int32)  # Arrow's indices are int32
    codes = np.concatenate([rank[c.indices.to_numpy()] for c in encoded])
    return codes, values.dtype.__from_arrow__(uniques.take(order))
