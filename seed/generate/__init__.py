"""Synthetic OpenTier rows from a profile and a seed: pure numpy, no database, no clock."""

from __future__ import annotations

from collections.abc import Iterator

from ..profile import Profile
from . import auth, chat, knowledge, people
from .common import Ctx, Table, make_ctx

#: Tables in an order that satisfies every foreign key.
TABLES = (
    "users",
    "sessions",
    "accounts",
    "verification_tokens",
    "password_reset_tokens",
    "knowledge_submissions",
    "documents",
    "document_chunks",
    "ingestion_jobs",
    "conversations",
    "chat_messages",
    "messages",
    "user_memories",
)


def iter_tables(profile: Profile, seed: int) -> Iterator[Table]:
    """Every table's rows for `profile` and `seed`, in TABLES order, each as soon as it is generated."""
    ctx: Ctx = make_ctx(profile, seed)
    names = iter(TABLES)
    for step in (people.generate, auth.generate, knowledge.generate, chat.generate):
        for table in step(ctx):
            if table.name != next(names):
                raise AssertionError(f"generation order broke at {table.name}")
            yield table


def generate(profile: Profile, seed: int) -> list[Table]:
    """Every table's rows for `profile` and `seed`, in TABLES order; identical for identical arguments."""
    return list(iter_tables(profile, seed))


__all__ = ["TABLES", "Table", "generate", "iter_tables"]
