"""Synthetic OpenTier rows from a profile and a seed: pure numpy, no database, no clock."""

from __future__ import annotations

from collections.abc import Iterator

from ..profile import Profile
from . import auth, chat, knowledge, people
from .common import Table, make_ctx

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
    """Every table's rows for `profile` and `seed`, in TABLES order, each step's as soon as it is generated."""
    ctx = make_ctx(profile, seed)
    tables, everyone = people.generate(ctx)
    yield from tables
    yield from auth.generate(ctx, everyone)
    tables, citable = knowledge.generate(ctx, everyone)
    yield from tables
    yield from chat.generate(ctx, everyone, citable)


def generate(profile: Profile, seed: int) -> list[Table]:
    """Every table's rows for `profile` and `seed`, in TABLES order; identical for identical arguments."""
    return list(iter_tables(profile, seed))


__all__ = ["TABLES", "Table", "generate", "iter_tables"]
