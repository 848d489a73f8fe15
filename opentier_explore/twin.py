"""A synthetic twin on the kit's own local server: created, migrated and seeded from a profile, reused, dropped.

The source is never written: whatever server it lives on (a production replica, a hot standby), the twin goes to
the embedded server `opentier-explore db` manages, into a database the kit creates itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import config, db
from .errors import ConfigError, SeedError

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _local_url(name: str) -> str:
    """The URL of database `name` on the kit's local server, which is started if it is not running."""
    from . import server

    server.start()
    return server.url(database=name)


def _where(url: str) -> tuple[str, str, str]:
    """(host, port, database) of a libpq URL; a socket directory's host resolved, so two spellings compare equal."""
    from psycopg import conninfo

    params = conninfo.conninfo_to_dict(db.normalize_url(url))
    host = str(params.get("host") or "")
    host = os.path.realpath(host) if host.startswith("/") else host
    return host, str(params.get("port") or "5432"), str(params.get("dbname") or params.get("user") or "postgres")


def _on_database(url: str, name: str) -> str:
    parts = urlsplit(db.normalize_url(url))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _admin(url: str):
    return db.raw_connect(_on_database(url, "postgres"), autocommit=True)


def _exists(url: str) -> bool:
    with _admin(url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (_where(url)[2],)).fetchone() is not None


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

    name = _where(url)[2]
    if not _exists(url):
        return
    if not _is_disposable(url):
        raise SeedError(f"The database {name!r} holds data the kit did not seed: it is not a twin, drop it yourself.")
    with _admin(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _kept_profile(profile: str | Path, name: str) -> str:
    """The profile to seed from, at a path that stays the same from run to run (its path is part of its record)."""
    from seed import profile as profile_mod

    path = profile_mod.resolve(str(profile))
    if path.parent == profile_mod.PROFILES_DIR:
        return path.stem
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"Cannot read profile file {str(path)!r} ({exc.__class__.__name__}): check the path.") from None
    kept = config.home() / "twins" / f"{name}.toml"
    kept.parent.mkdir(parents=True, exist_ok=True)
    if not kept.is_file() or kept.read_text(encoding="utf-8") != text:
        kept.write_text(text, encoding="utf-8")
    return str(kept)


def _digest(profile: str) -> str:
    """The profile digest the seeding record holds (the seeding ledger's)."""
    from seed import profile as profile_mod

    from .seeding.ledger import profile_digest

    return profile_digest(profile_mod.load(profile))


def _holds(url: str, profile: str, seed: int) -> bool:
    """Whether the database holds exactly what seeding `profile` with `seed` writes, and nothing changed since."""
    from seed.generate import TABLES

    from .version import __version__

    with db.connection(url, read_only=True) as conn:
        if conn.execute("SELECT to_regclass('_opentier_seed')").fetchone()[0] is None:
            return False
        rows = conn.execute("SELECT seed, kit_version, profile_sha256, row_counts FROM _opentier_seed").fetchall()
        if len(rows) != 1 or tuple(rows[0][:3]) != (seed, __version__, _digest(profile)):
            return False
        counts = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in TABLES)
        now = {t: int(n) for t, n in conn.execute(counts).fetchall()}
    return now == {t: int(rows[0][3].get(t, 0)) for t in TABLES}


def make_twin(source_url: str, profile: str | Path, *, seed: int = 7, name: str = "opentier_twin") -> str:
    """Database `name` on the kit's local server, migrated and seeded from `profile` (reused when it already holds
    exactly that profile and seed); its URL. The source is not touched."""
    from psycopg import sql

    from . import migrate, seeding

    if not _NAME.match(name):
        raise ConfigError(f"The twin database name {name!r} must be lower-case letters, digits and underscores.")
    url = _local_url(name)
    if _where(source_url) == _where(url):
        raise ConfigError(f"The twin database {name!r} would replace its source: choose another name.")
    kept = _kept_profile(profile, name)
    if _exists(url) and _is_disposable(url) and not migrate.up(url) and _holds(url, kept, seed):
        return url
    drop_twin(url)
    with _admin(url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    migrate.up(url)
    seeding.run(url, profile=kept, seed=seed, truncate=False, progress=False)
    return url
