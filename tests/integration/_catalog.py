"""A plain-data snapshot of what the kit's migrations create in a database, read from the catalog."""

from __future__ import annotations

from typing import Any

import psycopg

LEDGER = "_sqlx_migrations"


def _rows(conn: psycopg.Connection, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


def catalog(url: str) -> dict[str, Any]:
    """Tables, columns, constraints, indexes, enums, triggers, functions and extensions of schema public."""
    with psycopg.connect(url, autocommit=True) as conn:
        columns: dict[str, list[tuple]] = {}
        for table, column, typ, nullable, default in _rows(
            conn,
            """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY c.relname, a.attnum""",
        ):
            columns.setdefault(table, []).append((column, typ, nullable, default))
        constraints = {
            (table, name): (kind, definition)
            for table, name, kind, definition in _rows(
                conn,
                """
                SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid)
                FROM pg_constraint k
                JOIN pg_class c ON c.oid = k.conrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                WHERE k.contype <> 'n'  -- PostgreSQL 18 lists NOT NULL too; columns cover nullability
                ORDER BY 1, 2""",
            )
        }
        indexes = dict(_rows(conn, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"))
        enums: dict[str, list[str]] = {}
        for name, label in _rows(
            conn,
            """
            SELECT t.typname, e.enumlabel FROM pg_enum e
            JOIN pg_type t ON t.oid = e.enumtypid
            JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = 'public'
            ORDER BY t.typname, e.enumsortorder""",
        ):
            enums.setdefault(name, []).append(label)
        triggers = dict(
            _rows(
                conn,
                """
            SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            WHERE NOT t.tgisinternal ORDER BY 1""",
            )
        )
        functions = dict(
            _rows(
                conn,
                """
            SELECT p.proname, pg_get_function_result(p.oid) FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public'
            WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
            ORDER BY 1""",
            )
        )
        extensions = [
            r[0] for r in _rows(conn, "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1")
        ]
        types = [
            r[0]
            for r in _rows(
                conn,
                """
            SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = 'public'
            WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
            ORDER BY 1""",
            )
        ]
    return {
        "columns": columns,
        "constraints": constraints,
        "indexes": indexes,
        "enums": enums,
        "triggers": triggers,
        "functions": functions,
        "extensions": extensions,
        "types": types,
    }


def ledger(url: str) -> list[tuple]:
    """The ledger's rows (version, description, success, checksum, execution_time), or [] without a ledger."""
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass(%s)", (LEDGER,)).fetchone()[0] is None:
            return []
        return [
            (v, d, s, bytes(c), t)
            for v, d, s, c, t in conn.execute(
                f"SELECT version, description, success, checksum, execution_time FROM {LEDGER} ORDER BY version"
            )
        ]


def without_ledger(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot minus the ledger table itself (which `down --all` may leave behind)."""
    out = dict(snapshot)
    out["columns"] = {t: c for t, c in snapshot["columns"].items() if t != LEDGER}
    out["constraints"] = {k: v for k, v in snapshot["constraints"].items() if k[0] != LEDGER}
    out["indexes"] = {k: v for k, v in snapshot["indexes"].items() if not k.startswith(LEDGER)}
    out["types"] = [t for t in snapshot["types"] if t not in (LEDGER, "_" + LEDGER)]  # row type, array type
    return out
