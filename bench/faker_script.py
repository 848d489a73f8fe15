"""The baseline issue 12 names: a typical hand-written seed script with Faker (pinned in the `bench` extra).

Per-row Python dicts of Faker values and `uuid4()` ids, one INSERT per row through `cursor.executemany`, into the
migrated tables, for the tables such scripts fill (users, sessions, documents, document_chunks, conversations,
chat_messages with cited sources, messages); `bench/seeding.py` extrapolates it to a profile's row counts.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass, field

import psycopg
from faker import Faker


@dataclass
class _Script:
    """What the script's rows draw on: Faker, a seeded random source, and the ids (and chunk texts) made so far."""

    fake: Faker
    rng: random.Random
    users: list = field(default_factory=list)
    documents: list = field(default_factory=list)
    texts: list = field(default_factory=list)
    conversations: list = field(default_factory=list)
    last: dict = field(default_factory=dict)  # each conversation's latest message, the next one's parent


def _user(s: _Script, i: int) -> dict:
    return {
        "id": uuid.uuid4(),
        "email": f"{i}.{s.fake.email()}",
        "email_verified": s.fake.boolean(90),
        "password_hash": s.fake.sha256(),
        "name": s.fake.name(),
        "username": f"{s.fake.user_name()}{i}",
        "role": "user",
        "created_at": s.fake.date_time_this_year(tzinfo=None),
    }


def _session(s: _Script, i: int) -> dict:
    return {
        "user_id": s.rng.choice(s.users),
        "session_token": s.fake.sha256(),
        "expires_at": s.fake.future_datetime(),
        "role": "user",
        "ip_address": s.fake.ipv4(),
        "user_agent": s.fake.user_agent(),
        "created_at": s.fake.past_datetime(),
    }


def _document(s: _Script, i: int) -> dict:
    return {
        "id": uuid.uuid4(),
        "user_id": str(s.rng.choice(s.users)),
        "title": s.fake.sentence(),
        "content": s.fake.text(2000),
        "document_type": "DOCUMENT_TYPE_PDF",
        "metadata": json.dumps({"title": s.fake.sentence()}),
    }


def _chunk(s: _Script, i: int) -> dict:
    return {
        "document_id": s.rng.choice(s.documents),
        "content": s.fake.text(512),
        "chunk_index": i,
        "embedding": "[" + ",".join(f"{s.rng.gauss(0, 1):.6f}" for _ in range(384)) + "]",
        "metadata": "{}",
    }


def _conversation(s: _Script, i: int) -> dict:
    return {
        "id": uuid.uuid4(),
        "user_id": str(s.rng.choice(s.users)),
        "title": s.fake.sentence(),
        "metadata": "{}",
        "created_at": s.fake.past_datetime(),
    }


def _chat_message(s: _Script, i: int) -> dict:
    conv, answer = s.rng.choice(s.conversations), i % 2 == 1
    sources = [
        {
            "chunk_id": str(uuid.uuid4()),
            "document_id": str(s.rng.choice(s.documents)),
            "relevance_score": s.rng.uniform(0.005, 0.016),
            "content": s.rng.choice(s.texts),
        }
        for _ in range(5 if answer else 0)
    ]
    row = {
        "id": uuid.uuid4(),
        "conversation_id": conv,
        "parent_id": s.last.get(conv),
        "role": "assistant" if answer else "user",
        "content": s.fake.paragraph(8) if answer else s.fake.sentence(12),
        "sources": json.dumps(sources),
        "metadata": json.dumps({"metrics": {"total_time_ms": s.rng.uniform(500, 9000)}} if answer else {}),
        "created_at": s.fake.past_datetime(),
    }
    s.last[conv] = row["id"]
    return row


def _message(s: _Script, i: int) -> dict:
    return {
        "conversation_id": s.rng.choice(s.conversations),
        "role": s.rng.choice(["user", "assistant"]),
        "content": s.fake.paragraph(5),
    }


#: Each table the script fills, parents first, with the row maker and where its ids (or texts) go for later rows.
_TABLES = (
    ("users", _user, lambda s, rows: s.users.extend(r["id"] for r in rows)),
    ("sessions", _session, None),
    ("documents", _document, lambda s, rows: s.documents.extend(r["id"] for r in rows)),
    ("document_chunks", _chunk, lambda s, rows: s.texts.extend(r["content"] for r in rows)),
    ("conversations", _conversation, lambda s, rows: s.conversations.extend(r["id"] for r in rows)),
    ("chat_messages", _chat_message, None),
    ("messages", _message, None),
)


def _insert(cur, table: str, rows: list[dict]) -> None:
    cols = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(f'%({c})s' for c in cols)})"
    cur.executemany(sql, rows)


def faker_script(url: str, sample: int) -> dict[str, tuple[int, float]]:
    """Fill `sample` rows per table the Faker way; (rows, seconds) per table, generation included."""
    Faker.seed(1)
    script = _Script(fake=Faker(), rng=random.Random(1))
    out: dict[str, tuple[int, float]] = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for table, make, keep in _TABLES:
            start = time.perf_counter()
            rows = [make(script, i) for i in range(sample)]
            _insert(cur, table, rows)
            out[table] = (len(rows), time.perf_counter() - start)
            if keep is not None:
                keep(script, rows)
        conn.commit()
    return out
