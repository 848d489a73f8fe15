"""Arrow columns, as the loader's SELECT delivers them, into the pandas dtypes load() promises (see loading.py)."""

from __future__ import annotations

import decimal
from itertools import chain, repeat
from operator import itemgetter, setitem
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import reflect

if TYPE_CHECKING:
    import pyarrow as pa

#: pandas 3's default string dtype (Arrow-backed, NaN for missing): text, UUID and INET columns.
STR = pd.StringDtype("pyarrow", na_value=np.nan)
#: How JSON/JSONB columns can load: parsed into dicts/lists, kept as Arrow's JSON type (`arrow.json`), or parsed into Arrow nested types.
JSON_MODES = ("objects", "arrow", "nested")

_NP_INT = {"int2": "int16", "int4": "int32", "int8": "int64"}
_NULLABLE_INT = {"int2": "Int16", "int4": "Int32", "int8": "Int64"}
_TEXT = ("uuid", "inet", "text", "text_cast")


class SharedStrings:
    """Equal strings in one JSON column's parsed values made one object, batch after batch: the string values of
    top-level objects and of objects in top-level arrays (cited chunks' ids and texts repeat across answers).

    Key by key, with itemgetter/setdefault/setitem maps (no Python loop per value); a key stops being shared once
    `TRIAL` of its strings show over half of them distinct. Only `str` values are shared: 1, 1.0 and True are one
    dict key. Costs CPU, saves memory: on `large` chat_messages 4.3 GB instead of 9.2 GB and, where fresh memory
    is dear (bench/RESULTS.md), time too.
    """

    #: How many strings of a key are shared before judging whether that pays: it stops if over half were distinct.
    TRIAL = 100_000

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, str]] = {}
        self._count: dict[str, int] = {}
        self._off: set = set()

    def apply(self, values: list) -> None:
        """Replace, in place, each shared string inside `values` by the first equal one seen."""
        dicts = [v for v in values if type(v) is dict]
        dicts += [d for d in chain.from_iterable(v for v in values if type(v) is list) if type(d) is dict]
        if not dicts:
            return
        for key in [k for k in dicts[0] if k not in self._off]:
            try:
                got = list(map(itemgetter(key), dicts))
            except KeyError:  # not in every object of this batch
                continue
            if set(map(type, got)) != {str}:
                continue
            seen = self._seen.setdefault(key, {})
            same = list(map(seen.setdefault, got, got))
            self._count[key] = count = self._count.get(key, 0) + len(got)
            if count >= self.TRIAL and len(seen) > count // 2:
                self._off.add(key)
                del self._seen[key]
            list(map(setitem, dicts, repeat(key), same))


def column(chunked: pa.ChunkedArray, col: reflect.Column, json: str = "objects", share: SharedStrings | None = None):
    """One converted piece of column `col`: a numpy array or a pandas extension array (`share`: see SharedStrings)."""
    kind = col.kind
    if kind in _TEXT:
        return STR.__from_arrow__(chunked)
    if kind == "json":
        return _json_objects(chunked, col.not_null, share) if json == "objects" else _json_arrow(chunked)
    if kind == "enum":
        return _categorical(chunked, col.labels)
    if kind == "vector":
        return _vectors(chunked)
    if kind == "int":
        if col.not_null:
            return chunked.to_numpy().astype(_NP_INT[col.type_name], copy=False)
        return pd.api.types.pandas_dtype(_NULLABLE_INT[col.type_name]).__from_arrow__(chunked)
    if kind == "bool":
        if col.not_null:
            return chunked.to_numpy().astype(bool, copy=False)
        return pd.BooleanDtype().__from_arrow__(chunked)
    if kind == "timestamptz":
        return chunked.to_pandas(coerce_temporal_nanoseconds=True).dt.tz_convert("UTC").array
    if kind == "native":
        return chunked.to_pandas(coerce_temporal_nanoseconds=True).array
    objs = chunked.to_numpy(zero_copy_only=False) if len(chunked) else np.empty(0, dtype=object)
    if kind == "interval":
        return pd.to_timedelta(np.asarray(objs, dtype="float64"), unit="s").as_unit("ns").array
    if kind == "numeric":
        return np.array([None if v is None else decimal.Decimal(v) for v in objs], dtype=object)
    if kind == "float":
        return np.asarray(objs, dtype="float32" if col.type_name == "float4" else "float64")
    if kind == "array":
        return objs
    return STR.__from_arrow__(chunked) if _is_text(chunked.type) else objs.astype(object, copy=False)


def arrow_json(chunked: pa.ChunkedArray) -> pa.ChunkedArray:
    """The JSON texts typed as Arrow's canonical JSON extension type, sharing their buffers."""
    import pyarrow as pa

    typ = pa.json_(chunked.type)
    return pa.chunked_array([pa.ExtensionArray.from_storage(typ, c) for c in chunked.chunks], type=typ)


def concat(parts: list):
    """One array from a column's converted pieces (numpy arrays or pandas extension arrays)."""
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return type(parts[0])._concat_same_type(parts)


def _is_text(typ: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_string(typ) or pa.types.is_large_string(typ)


def _json_arrow(chunked: pa.ChunkedArray):
    return pd.arrays.ArrowExtensionArray(arrow_json(chunked))


def _json_objects(chunked: pa.ChunkedArray, not_null: bool, share: SharedStrings | None = None) -> np.ndarray:
    """Parse each JSON text with one orjson.loads call, read in place from Arrow's buffer (no Python str); NULL → None.

    One call per text measured fastest (bench/RESULTS.md); memoryview slices of the data buffer save the
    str each text would cost and ~10% of the time. SQL NULL and JSON null both come out as None.
    """
    import orjson

    out = np.empty(len(chunked), dtype=object)
    loads, pos = orjson.loads, 0
    for arr in chunked.chunks:
        n = len(arr)
        if not n:
            continue
        offsets = np.frombuffer(arr.buffers()[1], dtype=_offset_type(arr))
        offsets = offsets[arr.offset : arr.offset + n + 1].tolist()
        data = memoryview(arr.buffers()[2] or b"")
        if not_null or not arr.null_count:
            values = [loads(data[a:b]) for a, b in zip(offsets, offsets[1:])]
        else:
            valid = arr.is_valid().to_numpy(zero_copy_only=False).tolist()
            values = [loads(data[a:b]) if ok else None for a, b, ok in zip(offsets, offsets[1:], valid)]
        if share is not None:
            share.apply(values)
        out[pos : pos + n] = values
        pos += n
    return out


def _offset_type(arr: pa.Array):
    import pyarrow as pa

    return np.int64 if pa.types.is_large_string(arr.type) else np.int32


def _objects(values: list) -> np.ndarray:
    """A 1-D object array holding `values` as they are (numpy would turn a list of lists into 2-D)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _categorical(chunked: pa.ChunkedArray, labels: tuple[str, ...]) -> pd.Categorical:
    """A Categorical whose categories are the enum's labels in declaration order; codes looked up in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = pc.index_in(chunked, value_set=pa.array(list(labels), type=chunked.type))
    codes = pc.fill_null(codes, -1).to_numpy().astype(np.int8 if len(labels) < 127 else np.int32, copy=False)
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(list(labels), dtype=STR)))


def _vectors(chunked: pa.ChunkedArray) -> np.ndarray:
    """One writable float32 array per row (disjoint views of one copied buffer), None for NULL."""
    import pyarrow as pa

    out = np.empty(len(chunked), dtype=object)
    if not len(chunked):
        return out
    arr = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
    offsets = arr.offsets.to_numpy()
    flat = np.array(pa.compute.cast(arr.values, pa.float32()).to_numpy(zero_copy_only=False), dtype=np.float32)
    flat = flat[offsets[0] : offsets[-1]]
    pieces = np.split(flat, offsets[1:-1] - offsets[0])
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    for i, (piece, ok) in enumerate(zip(pieces, valid)):
        out[i] = piece if ok else None
    return out
