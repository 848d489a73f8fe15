"""Synthetic OpenTier rows from a profile and a seed: pure numpy, no database, no clock."""

from __future__ import annotations

from ..profile import Profile
from . import auth, chat, knowledge, people
from .common import Ctx, Table, make_ctx

#: Tables in an order that satisfies every foreign key.
TABLES = (
    "users", "sessions", "accounts", "verification_tokens", "password_reset_tokens", "knowledge_submissions",
    "documents", "document_chunks", "ingestion_jobs", "conversations", "chat_messages", "messages", "user_memories",
)


def generate(profile: Profile, seed: int) -> list[Table]:
    """Every table's rows for `profile` and `seed`, in TABLES order; identical for identical arguments."""
    ctx: Ctx = make_ctx(profile, seed)
    tables: list[Table] = []
    for step in (people.generate, auth.generate, knowledge.generate, chat.generate):
        tables.extend(step(ctx))
    assert [t.name for t in tables] == list(TABLES)
    return tables


__all__ = ["TABLES", "Table", "generate"]
