"""Who migrated a database, read from the ledgers it carries: the kit's own, the services' sqlx ledger, the
intelligence runner's, or none. Reported, never required: what a notebook needs is checked against the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import config, db
from .ledger import discover

if TYPE_CHECKING:
    import psycopg

SQLX_LEDGER = "_sqlx_migrations"
INTELLIGENCE_LEDGER = "_intelligence_migrations"

#: Tables that mark a database as OpenTier's (those both schema generations have).
OPENTIER_TABLES = (
    "users",
    "sessions",
    "accounts",
    "verification_tokens",
    "password_reset_tokens",
    "conversations",
    "messages",
    "chat_messages",
    "documents",
    "document_chunks",
    "ingestion_jobs",
    "user_memories",
)

#: Tables of the kit's own schema that not every generation has (the Feb-2026 one lacks them).
LATER_TABLES = ("knowledge_submissions",)

_OWNERS = {  # owner: (before the table name, after it)
    "kit": ("the kit's own sqlx ledger", ""),
    "sqlx": ("a sqlx ledger", " of migrations the kit does not have"),
    "intelligence": ("the intelligence service runner's ledger", ""),
}


@dataclass(frozen=True)
class Ledger:
    """One migration ledger found in the database: its table, whose it is, and the versions it records."""

    table: str
    owner: str  # "kit", "sqlx" or "intelligence"
    versions: tuple[str, ...]  # sorted as the ledger's own type sorts them

    @property
    def latest(self) -> str | None:
        """The newest version recorded, or None for an empty ledger."""
        return self.versions[-1] if self.versions else None

    def describe(self) -> str:
        """E.g. "the intelligence service runner's ledger _intelligence_migrations (7 versions, the latest 20260115000009)"."""
        n = len(self.versions)
        before, after = _OWNERS[self.owner]
        return f"{before} {self.table}{after} ({n} version{'s' if n != 1 else ''}, the latest {self.latest})"


@dataclass(frozen=True)
class Provenance:
    """The ledgers a database carries and the OpenTier tables it holds."""

    ledgers: tuple[Ledger, ...]
    opentier_tables: tuple[str, ...]

    @property
    def kit(self) -> bool:
        """True when the kit migrated this database (its sqlx ledger records the kit's versions)."""
        return any(led.owner == "kit" for led in self.ledgers)

    @property
    def writable(self) -> bool:
        """True when the kit may write here: it migrated the database, or the database holds nothing OpenTier's yet."""
        return self.kit or (not self.ledgers and not self.opentier_tables)

    def who(self) -> str:
        """Whose ledgers the database carries, as a clause: "it carries …" or "it has no migration ledger"."""
        if self.ledgers:
            return "it carries " + " and ".join(led.describe() for led in self.ledgers)
        if self.opentier_tables:
            shown = ", ".join(self.opentier_tables[:3]) + (", …" if len(self.opentier_tables) > 3 else "")
            return f"it holds OpenTier tables ({shown}) but no migration ledger"
        return "it has no migration ledger"

    def summary(self) -> str:
        """One line: who migrated the database (whose ledgers, how many versions, the latest)."""
        if self.kit:
            return "Migrated by the kit: it carries " + " and ".join(led.describe() for led in self.ledgers) + "."
        if self.ledgers:
            return (
                "Not migrated by the kit: it carries "
                + " and ".join(led.describe() for led in self.ledgers)
                + "; the kit reads it as it is."
            )
        if self.opentier_tables:
            return f"Not migrated by the kit: {self.who()}; the kit reads it as it is."
        return "Not migrated yet: no migration ledger and no OpenTier tables."


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]


def _versions(conn: psycopg.Connection, table: str, strict: bool) -> list:
    import psycopg

    try:
        return [r[0] for r in conn.execute(f"SELECT version FROM {table} ORDER BY version").fetchall()]
    except psycopg.errors.InsufficientPrivilege:
        if strict or not conn.autocommit:
            raise
        return []  # an analyst who may not read a ledger can still read the data: the ledger is only reported


def read(conn: psycopg.Connection, folder: Path | str | None = None, *, strict: bool = False) -> Provenance:
    """The database's ledgers and OpenTier tables, on `conn` (read only; the caller's transaction state is its own).

    With `strict`, a ledger the user may not read raises psycopg's InsufficientPrivilege; else it counts as absent.
    """
    ledgers = []
    if _exists(conn, SQLX_LEDGER):
        versions = _versions(conn, SQLX_LEDGER, strict)
        kit_versions = {m.version for m in discover(folder if folder is not None else config.migrations_dir())}
        if versions:
            owner = "kit" if kit_versions & set(versions) else "sqlx"
            ledgers.append(Ledger(SQLX_LEDGER, owner, tuple(str(v) for v in versions)))
    if _exists(conn, INTELLIGENCE_LEDGER):
        versions = _versions(conn, INTELLIGENCE_LEDGER, strict)
        if versions:
            ledgers.append(Ledger(INTELLIGENCE_LEDGER, "intelligence", tuple(str(v) for v in versions)))
    present = set(db.tables(conn))
    return Provenance(tuple(ledgers), tuple(t for t in OPENTIER_TABLES if t in present))


def of_url(url: str | None = None, folder: Path | str | None = None) -> Provenance:
    """`read` on a read-only connection of its own to `url` (else $DATABASE_URL or the embedded server)."""
    with db.connection(url, autocommit=True, read_only=True) as conn:
        return read(conn, folder)


_LEDGER_ROWS = {
    SQLX_LEDGER: f"SELECT version::text, description FROM {SQLX_LEDGER} ORDER BY version",
    INTELLIGENCE_LEDGER: f"SELECT version::text, '' FROM {INTELLIGENCE_LEDGER} ORDER BY version",
}

_ENUMS_SQL = """
SELECT t.typname, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = current_schema() GROUP BY t.typname ORDER BY t.typname
"""
_FUNCTIONS_SQL = """
SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = current_schema()
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1
"""
_TABLES_SQL = """
SELECT c.relname, (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
       (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid),
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'parent_id' AND NOT a.attisdropped)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1
"""


def listing(conn: psycopg.Connection, prov: Provenance) -> list[str]:
    """What `migrate status` lists for a database the kit did not migrate: each ledger's versions, then the catalog."""
    lines = []
    for led in prov.ledgers:
        for version, description in conn.execute(_LEDGER_ROWS[led.table]).fetchall():
            lines.append(f"{version:>16}  {led.owner:<12} {description}".rstrip())
    tables = conn.execute(_TABLES_SQL).fetchall()
    for name, n_cols, n_idx, has_parent in tables:
        note = ", parent_id absent" if name == "chat_messages" and not has_parent else ""
        lines.append(f"table {name}: {n_cols} columns, {n_idx} index{'es' if n_idx != 1 else ''}{note}")
    absent = [t for t in (*OPENTIER_TABLES, *LATER_TABLES) if t not in {r[0] for r in tables}]
    if absent:
        lines.append("absent: " + ", ".join(absent))
    for typname, labels in conn.execute(_ENUMS_SQL).fetchall():
        lines.append(f"enum {typname}: {labels}")
    functions = [r[0] for r in conn.execute(_FUNCTIONS_SQL).fetchall()]
    if functions:
        lines.append("functions: " + ", ".join(functions))
    return lines
