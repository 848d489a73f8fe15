"""Reflection of the live catalog: which tables and columns the database has, and how to load each column."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import db
from .errors import UnknownNameError

if TYPE_CHECKING:
    import sqlalchemy

#: pg_type names loaded natively by the bulk path (no SQL cast needed).
_INTS = {"int2": "Int16", "int4": "Int32", "int8": "Int64"}
_FLOATS = {"float4", "float8"}
_TEXTS = {"text", "varchar", "bpchar", "name", "char", "citext"}
_NATIVE_ARRAY_ELEMS = set(_INTS) | _FLOATS | _TEXTS | {"bool"}

_CATALOG_SQL = f"""
SELECT c.relname, c.relkind::text, a.attname, a.attnotnull,
       COALESCE(bt.typname, t.typname) AS typname,
       COALESCE(bt.typtype, t.typtype)::text AS typtype,
       COALESCE(bt.typcategory, t.typcategory)::text AS typcategory,
       et.typname AS elemname,
       COALESCE(bt.oid, t.oid)::int8 AS typoid,
       COALESCE(a.attnum = ANY(pk.conkey), false) AS in_pk,
       array_position(pk.conkey, a.attnum) AS pk_pos
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
LEFT JOIN pg_type et ON et.oid = COALESCE(bt.typelem, t.typelem) AND COALESCE(bt.typcategory, t.typcategory) = 'A'
LEFT JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
WHERE {db.READABLE}
  AND (CAST(:only AS text) IS NULL OR c.relname = :only)
ORDER BY c.relname, a.attnum
"""

_ENUM_SQL = "SELECT enumtypid::int8, enumlabel FROM pg_enum ORDER BY enumtypid, enumsortorder"


@dataclass(frozen=True)
class Column:
    """One column as the catalog describes it, and the loader's plan for it."""

    name: str
    type_name: str
    not_null: bool
    kind: str  # uuid, json, enum, inet, vector, timestamptz, int, bool, float, text, interval, numeric, array, native, text_cast
    labels: tuple[str, ...] = ()

    def select_expr(self) -> str:
        """The SQL expression that fetches this column in the form the converter expects."""
        q = quote_ident(self.name)
        if self.type_name == "inet":  # the inet output form: no /32 or /128 on a host address
            return f"abbrev({q}) AS {q}"
        if self.kind in ("uuid", "json", "enum", "inet", "numeric", "text_cast"):
            return f"{q}::text AS {q}"
        if self.kind == "vector":
            return f"{q}::real[] AS {q}"
        if self.kind == "interval":
            return f"extract(epoch FROM {q})::float8 AS {q}"
        return q


@dataclass(frozen=True)
class Table:
    """One table (or view) and its columns in catalog order."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    is_view: bool

    @property
    def column_names(self) -> list[str]:
        """The column names in catalog order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called `name`; UnknownNameError with suggestions when absent."""
        for col in self.columns:
            if col.name == name:
                return col
        raise UnknownNameError(f"Table {self.name!r} has no column {name!r}{suggest(name, self.column_names)}")


def quote_ident(name: str) -> str:
    """`name` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def suggest(name: str, candidates: Iterable[str]) -> str:
    """A '; did you mean …?' clause naming the closest candidates, or the list of known names."""
    candidates = sorted(candidates)
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    if not candidates:
        return " (there are none: is the database migrated?)."
    shown = ", ".join(candidates[:15]) + (", …" if len(candidates) > 15 else "")
    return f" (it has: {shown})."


def _kind(typname: str, typtype: str, typcategory: str, elemname: str | None) -> str:
    if typtype == "e":
        return "enum"
    if typname == "uuid":
        return "uuid"
    if typname in ("json", "jsonb"):
        return "json"
    if typname in ("inet", "cidr", "macaddr", "macaddr8"):
        return "inet"
    if typname == "vector":
        return "vector"
    if typname == "timestamptz":
        return "timestamptz"
    if typname in _INTS:
        return "int"
    if typname == "bool":
        return "bool"
    if typname in _FLOATS:
        return "float"
    if typname in _TEXTS:
        return "text"
    if typname == "interval":
        return "interval"
    if typname == "numeric":
        return "numeric"
    if typcategory == "A":
        return "array" if elemname in _NATIVE_ARRAY_ELEMS else "text_cast"
    if typname in ("timestamp", "date", "bytea", "time"):
        return "native"
    return "text_cast"


def catalog(engine: sqlalchemy.Engine, only: str | None = None) -> dict[str, Table]:
    """Every table and view of the current schema (or just the one named `only`), by name, with their columns."""
    import sqlalchemy

    with db.reading(engine) as conn:
        rows = conn.execute(sqlalchemy.text(_CATALOG_SQL), {"only": only}).all()
        enum_rows = conn.execute(sqlalchemy.text(_ENUM_SQL)).all()
    labels: dict[int, list[str]] = {}
    for oid, label in enum_rows:
        labels.setdefault(oid, []).append(label)
    grouped: dict[str, dict] = {}
    for relname, relkind, attname, notnull, typname, typtype, typcat, elemname, typoid, in_pk, pk_pos in rows:
        entry = grouped.setdefault(relname, {"cols": [], "pk": [], "view": relkind in ("v", "m")})
        kind = _kind(typname, typtype, typcat, elemname)
        entry["cols"].append(Column(attname, typname, bool(notnull), kind, tuple(labels.get(typoid, ()))))
        if in_pk:
            entry["pk"].append((pk_pos, attname))
    return {
        name: Table(name, tuple(e["cols"]), tuple(n for _, n in sorted(e["pk"])), e["view"])
        for name, e in grouped.items()
    }


def table(engine: sqlalchemy.Engine, name: str, tables: dict[str, Table] | None = None) -> Table:
    """The table called `name`; UnknownNameError with the closest names suggested when absent."""
    found = catalog(engine, only=name) if tables is None else tables
    if name in found:
        return found[name]
    if tables is None:
        found = db.relations(engine)
    raise UnknownNameError(f"The database has no table {name!r}{suggest(name, found)}")
