"""JSON texts, batch by batch, into Arrow nested types (struct, list, int64, float64, bool, dictionary strings), losslessly or not at all.

Each batch's texts are wrapped as NDJSON lines (``{"v":<text>}``) and parsed by `pyarrow.json.read_json`
(multithreaded, outside the GIL; measured 2.4× faster than orjson on `large` sources). A column stays nested
only while every batch reads back exactly as orjson parses it (see `NestedColumn`); the first batch that
would not makes the whole column fall back to the JSON extension type (`arrow.json`, the texts).
Strings inside the JSON are dictionary-encoded with one dictionary per place in the structure across all
batches (the cited chunks of chat_messages.sources repeat heavily), unless a place's strings are mostly distinct.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

#: Batches whose string dictionaries are merged into the column's dictionary at once (fewer passes over it).
_MERGE_EVERY = 8
#: A place whose distinct strings exceed this share of its values (after _MIN_VALUES) stops being dictionary-encoded.
_DISTINCT_SHARE = 0.5
_MIN_VALUES = 50_000
#: Numbers from 2**53 on may not be what the text said (Arrow reads integers past int64 as float64, and an
#: integer merged with fractions becomes float64): such columns keep their texts.
_EXACT = 2**53


class NestedColumn:
    """One JSON column's batches: nested while lossless, else (for the whole column) Arrow JSON texts.

    Lossless means each value's ``to_pylist()`` equals ``orjson.loads`` of its text, except that numbers at a
    place holding both integers and fractions all load as float (1 → 1.0; equal in Python and in jsonb).
    Falls back when a place holds values of different kinds (a number here, an object there), when objects at
    one place do not all have the same keys or hold a null (an absent key would read back as null, and the two
    cannot be told apart), when a number reaches 2**53 in magnitude, or when batches differ in those ways.
    """

    def __init__(self, type_name: str = "jsonb") -> None:
        self.type_name = type_name
        self.parts: list[pa.Array] = []
        self.texts: list[pa.Array] | None = None  # set once the column falls back
        self.type: pa.DataType | None = None  # the merged parsed type (strings plain)
        self.leaves: dict[tuple, _Leaf] = {}
        self.pending = 0

    def add(self, texts: pa.Array) -> None:
        """Convert one batch's texts (string array, SQL NULL as null); `texts` is not kept (its batch can go)."""
        if not len(texts):
            return
        if self.texts is None:
            parsed = parse(texts, self.type_name)
            merged = None if parsed is None else merge(self.type, parsed.type)
            if merged is not None:
                self.type = merged
                self.parts.append(_map_leaves(parsed, (), self._encode))
                self.pending += 1
                if self.pending >= _MERGE_EVERY:
                    self._merge_pending()
                return
            self._fall_back()
        self.texts.append(_own(texts))

    def finish(self, empty_type: pa.DataType) -> pa.ChunkedArray:
        """The column: nested (strings as dictionaries) or, after a fall-back, `arrow.json` of `empty_type` texts."""
        import pyarrow as pa

        from .convert import arrow_json

        if self.texts is not None:
            return arrow_json(pa.chunked_array([t.cast(empty_type) for t in self.texts], type=empty_type))
        if self.type is None:  # no rows: nothing says which nested type, so the (empty) texts
            return arrow_json(pa.chunked_array([], type=empty_type))
        self._merge_pending()
        final = _final_type(self.type, (), self.leaves)
        chunks = [_rebuild(part, self.type, (), self.leaves) for part in self.parts]
        self.parts = []
        return pa.chunked_array(chunks, type=final)

    def _encode(self, path: tuple, leaf: pa.Array) -> pa.Array:
        """A string leaf of a new batch: dictionary-encoded (batch-local dictionary) while its place is."""
        import pyarrow.compute as pc

        state = self.leaves.setdefault(path, _Leaf())
        state.values += len(leaf)
        return leaf if state.plain else pc.dictionary_encode(leaf)

    def _merge_pending(self) -> None:
        """Merge the batch-local dictionaries of the newest batches into each place's one dictionary."""
        if self.pending:
            new = self.parts[-self.pending :]
            for path, state in self.leaves.items():
                new = [_map_leaves(part, (), state.merger(path)) for part in new]
            self.parts[-self.pending :] = new
        self.pending = 0

    def _fall_back(self) -> None:
        """From now on keep texts; batches already parsed are written back as (compact) JSON texts."""
        import orjson
        import pyarrow as pa

        self._merge_pending()
        done = [_rebuild(part, self.type, (), self.leaves) for part in self.parts] if self.type is not None else []
        self.texts = [
            pa.array([None if v is None else orjson.dumps(v).decode() for v in arr.to_pylist()], pa.string())
            for arr in done
        ]
        self.parts, self.type, self.leaves = [], None, {}


class _Leaf:
    """One place's strings: its dictionary so far, or plain once mostly distinct."""

    def __init__(self) -> None:
        self.dictionary: pa.Array | None = None
        self.frozen: pa.Array | None = None  # the dictionary of the batches encoded before the place went plain
        self.values = 0
        self.plain = False

    def merger(self, path: tuple):
        """A leaf function: batch-local dictionary arrays at `path` → int32 indices into this place's dictionary."""
        import pyarrow as pa

        def merge_one(at: tuple, leaf: pa.Array) -> pa.Array:
            if at != path or not pa.types.is_dictionary(leaf.type):
                return leaf
            if self.dictionary is None:
                self.dictionary = pa.array([], leaf.type.value_type)
            head = pa.DictionaryArray.from_arrays(pa.array([], pa.int32()), self.dictionary)
            both = pa.chunked_array([head, leaf]).unify_dictionaries()
            self.dictionary = both.chunk(0).dictionary  # the old dictionary, then the new strings
            if len(self.dictionary) > max(_MIN_VALUES, _DISTINCT_SHARE * self.values):
                self.plain, self.frozen = True, self.dictionary
            return both.chunk(1).indices

        return merge_one


def parse(texts: pa.Array, type_name: str = "jsonb") -> pa.Array | None:
    """The batch's JSON texts as one Arrow array (SQL NULL and JSON null → null), or None if not lossless."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    if not len(texts):
        return None
    if type_name != "jsonb":  # json keeps its newlines, which NDJSON cannot; outside strings they are whitespace
        texts = pc.replace_substring_regex(texts, r"[\r\n]", " ")
    lines = pc.binary_join_element_wise('{"v":', pc.fill_null(texts, "null"), "}\n", "")
    import numpy as np

    ends = np.frombuffer(lines.buffers()[1], np.int64 if pa.types.is_large_string(lines.type) else np.int32)
    data = lines.buffers()[2].slice(0, int(ends[len(lines)]))
    try:
        value = pj.read_json(pa.BufferReader(data)).column(0).combine_chunks()
        if _has_temporal(value.type):  # strings Arrow took for dates: read them again as strings
            schema = pa.schema([pa.field("v", _strings_for_temporal(value.type))])
            value = pj.read_json(pa.BufferReader(data), parse_options=pj.ParseOptions(explicit_schema=schema))
            value = value.column(0).combine_chunks()
    except pa.ArrowInvalid:  # mixed kinds at one place, duplicate keys, numbers past float64
        return None
    return value if len(value) == len(texts) and _keys_all_present(value) and _numbers_exact(value) else None


def _numbers_exact(arr: pa.Array) -> bool:
    """Whether every number is below 2**53 in magnitude (so exact as int64 and as float64)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_list(arr.type):
        return _numbers_exact(arr.flatten())
    if pa.types.is_struct(arr.type):
        return all(_numbers_exact(arr.field(i)) for i in range(arr.type.num_fields))
    if pa.types.is_int64(arr.type) or pa.types.is_float64(arr.type):
        low, high = pc.min_max(arr).values()
        return low.as_py() is None or max(-low.as_py(), high.as_py()) < _EXACT
    return True


def merge(old: pa.DataType | None, new: pa.DataType) -> pa.DataType | None:
    """The type both batches' values take (null → any, int64 + float64 → float64), or None if there is none."""
    import pyarrow as pa

    t = pa.types
    if old is None or old == new or t.is_null(new):
        return new if old is None else old
    if t.is_null(old):
        return new
    if {old, new} == {pa.int64(), pa.float64()}:
        return pa.float64()
    if t.is_list(old) and t.is_list(new):
        inner = merge(old.value_type, new.value_type)
        return None if inner is None else pa.list_(inner)
    if t.is_struct(old) and t.is_struct(new) and old.names == new.names:
        fields = [merge(old.field(i).type, new.field(i).type) for i in range(old.num_fields)]
        return None if None in fields else pa.struct([pa.field(n, f) for n, f in zip(old.names, fields)])
    return None


def _keys_all_present(arr: pa.Array) -> bool:
    """Whether no object lacks a key its place has elsewhere (a null child under a non-null struct)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_list(arr.type):
        return _keys_all_present(arr.flatten())
    if not pa.types.is_struct(arr.type):
        return True
    valid = pc.is_valid(arr)
    for i in range(arr.type.num_fields):
        child = arr.field(i)
        if child.null_count and pc.any(pc.and_(pc.is_null(child), valid)).as_py():
            return False
        if not _keys_all_present(pc.filter(child, valid) if arr.null_count else child):
            return False
    return True


def _has_temporal(typ: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_list(typ):
        return _has_temporal(typ.value_type)
    if pa.types.is_struct(typ):
        return any(_has_temporal(typ.field(i).type) for i in range(typ.num_fields))
    return pa.types.is_temporal(typ)


def _strings_for_temporal(typ: pa.DataType) -> pa.DataType:
    import pyarrow as pa

    if pa.types.is_list(typ):
        return pa.list_(_strings_for_temporal(typ.value_type))
    if pa.types.is_struct(typ):
        return pa.struct([pa.field(f.name, _strings_for_temporal(f.type)) for f in typ])
    return pa.string() if pa.types.is_temporal(typ) else typ


def _map_leaves(arr: pa.Array, path: tuple, fn) -> pa.Array:
    """`arr` with each string or dictionary leaf replaced by fn(path, leaf) (lists and structs rebuilt around them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = arr.type
    if pa.types.is_list(typ):
        values = _map_leaves(arr.values, (*path, "[]"), fn)
        mask = pc.is_null(arr) if arr.null_count else None
        return pa.ListArray.from_arrays(arr.offsets, values, mask=mask)
    if pa.types.is_struct(typ):
        children = [_map_leaves(arr.field(i), (*path, typ.field(i).name), fn) for i in range(typ.num_fields)]
        mask = pc.is_null(arr) if arr.null_count else None
        if not children:
            return arr
        return pa.StructArray.from_arrays(children, names=typ.names, mask=mask)
    if pa.types.is_string(typ) or pa.types.is_dictionary(typ):
        return fn(path, arr)
    return arr


def _rebuild(arr: pa.Array, typ: pa.DataType, path: tuple, leaves: dict) -> pa.Array:
    """A stored part as the final type: indices → the place's dictionary, nulls and int64 cast to the merged type."""
    import pyarrow as pa
    import pyarrow.compute as pc

    final = _final_type(typ, path, leaves)
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), final)
    if pa.types.is_list(typ):
        values = _rebuild(arr.values, typ.value_type, (*path, "[]"), leaves)
        return pa.ListArray.from_arrays(arr.offsets, values, mask=pc.is_null(arr) if arr.null_count else None)
    if pa.types.is_struct(typ):
        if not typ.num_fields:
            return arr
        children = [
            _rebuild(arr.field(i), typ.field(i).type, (*path, typ.field(i).name), leaves) for i in range(typ.num_fields)
        ]
        return pa.StructArray.from_arrays(
            children, fields=list(final), mask=pc.is_null(arr) if arr.null_count else None
        )
    if pa.types.is_string(typ):
        leaf = leaves[path]
        if pa.types.is_string(arr.type):
            return arr if leaf.plain else pc.dictionary_encode(arr)  # pragma: no cover - merged before
        if leaf.plain:
            return pc.take(leaf.frozen, arr)
        return pa.DictionaryArray.from_arrays(arr, leaf.dictionary)
    return arr if arr.type == final else arr.cast(final)


def _final_type(typ: pa.DataType, path: tuple, leaves: dict) -> pa.DataType:
    """The merged type with each dictionary-encoded place's strings as dictionary<int32, string>."""
    import pyarrow as pa

    if pa.types.is_list(typ):
        return pa.list_(_final_type(typ.value_type, (*path, "[]"), leaves))
    if pa.types.is_struct(typ):
        return pa.struct([pa.field(f.name, _final_type(f.type, (*path, f.name), leaves)) for f in typ])
    if pa.types.is_string(typ) and path in leaves and not leaves[path].plain:
        return pa.dictionary(pa.int32(), pa.string())
    return typ


def _own(arr: pa.Array) -> pa.Array:
    """A copy of `arr` in buffers of its own, so the batch it came from can be freed."""
    import pyarrow as pa

    return pa.concat_arrays([arr, arr.slice(0, 0)])
