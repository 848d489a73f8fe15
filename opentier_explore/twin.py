"""A synthetic twin in a throw-away database beside the source: calibrate, create, migrate, seed, drop."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import db
from .errors import ConfigError, SeedError

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def sibling_url(url: str, name: str) -> str:
    """The URL of database `name` on the same server as `url` (same user, host, port and options)."""
    if not _NAME.match(name):
        raise ConfigError(f"The twin database name {name!r} must be lower-case letters, digits and underscores.")
    parts = urlsplit(db.normalize_url(url))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _database_name(url: str) -> str:
    """The database a libpq URL points at."""
    from psycopg import conninfo

    params = conninfo.conninfo_to_dict(url)
    return str(params.get("dbname") or params.get("user") or "postgres")


def _admin(url: str):
    return db.raw_connect(sibling_url(url, "postgres"), autocommit=True)


def _is_disposable(url: str) -> bool:
    """Whether the database holds nothing but what the kit seeded (or nothing at all)."""
    with db.connection(url, read_only=True) as conn:
        seeded = conn.execute("SELECT to_regclass('_opentier_seed') IS NOT NULL").fetchone()[0]
        if seeded:
            return True
        have = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}
        if have <= {"_sqlx_migrations"}:
            return True
        if not {"users", "chat_messages"} <= have:
            return False
        # Migrated by the kit but never seeded (an interrupted make_twin): nothing in it to protect.
        return not conn.execute(
            "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM chat_messages)"
        ).fetchone()[0]


def drop_twin(url: str) -> None:
    """Drop a twin database made by `make_twin` (refused for a database the kit did not seed)."""
    from psycopg import sql

    name = _database_name(url)
    with _admin(url) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
    if not _is_disposable(url):
        raise SeedError(f"The database {name!r} holds data the kit did not seed: it is not a twin, drop it yourself.")
    with _admin(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def make_twin(source_url: str, profile: str | Path, *, seed: int = 7, name: str = "opentier_twin") -> str:
    """A fresh database `name` beside the source, migrated and seeded from `profile`; its URL."""
    from psycopg import sql

    from . import migrate, seeding

    url = sibling_url(source_url, name)
    if _database_name(db.normalize_url(source_url)) == name:
        raise ConfigError(f"The twin database {name!r} would replace its source: choose another name.")
    drop_twin(url)
    with _admin(source_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate.up(url)
    seeding.run(url, profile=str(profile), seed=seed, truncate=False, progress=False)
    return url
