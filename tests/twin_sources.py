"""Source databases for the calibration tests: seeded from the test profiles, or turned into the Feb-2026 generation."""

from __future__ import annotations

from pathlib import Path

import psycopg

PROFILES = Path(__file__).resolve().parent / "profiles"


def profile_path(name: str) -> str:
    """A built-in profile name as is, or the path of a test profile in tests/profiles/."""
    path = PROFILES / f"{name}.toml"
    return str(path) if path.is_file() else name


def to_feb2026(url: str) -> None:
    """Turn a seeded database into the Feb-2026 generation (real-opentier.md): no chat_messages.parent_id, no
    knowledge_submissions, user_role without 'contributor' (contributors become users). The one place a later
    fixture of a real Feb-2026 database can replace."""
    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute("ALTER TABLE chat_messages DROP COLUMN parent_id CASCADE")
        conn.execute("DROP TABLE knowledge_submissions CASCADE")
        conn.execute("CREATE TYPE user_role_feb AS ENUM ('user', 'admin')")
        for table in ("users", "sessions"):
            conn.execute(f"ALTER TABLE {table} ALTER COLUMN role DROP DEFAULT")
            conn.execute(
                f"ALTER TABLE {table} ALTER COLUMN role TYPE user_role_feb USING "
                f"(CASE WHEN role::text = 'contributor' THEN 'user' ELSE role::text END)::user_role_feb"
            )
        conn.execute("DROP TYPE user_role")
        conn.execute("ALTER TYPE user_role_feb RENAME TO user_role")
        conn.execute("ALTER TABLE users ALTER COLUMN role SET DEFAULT 'user'")
        conn.execute("DROP TABLE IF EXISTS _opentier_seed")
        conn.commit()
