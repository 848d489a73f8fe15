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

import psycopg
from faker import Faker


def _insert(cur, table: str, rows: list[dict]) -> None:
    cols = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(f'%({c})s' for c in cols)})"
    cur.executemany(sql, rows)


def faker_script(url: str, sample: int) -> dict[str, tuple[int, float]]:
    """Fill `sample` rows per table the Faker way; (rows, seconds) per table, generation included."""
    fake = Faker()
    Faker.seed(1)
    rng = random.Random(1)
    out: dict[str, tuple[int, float]] = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:

        def run(table: str, make) -> list[dict]:
            start = time.perf_counter()
            rows = [make(i) for i in range(sample)]
            _insert(cur, table, rows)
            out[table] = (len(rows), time.perf_counter() - start)
            return rows

        users = run(
            "users",
            lambda i: {
                "id": uuid.uuid4(),
                "email": f"{i}.{fake.email()}",
                "email_verified": fake.boolean(90),
                "password_hash": fake.sha256(),
                "name": fake.name(),
                "username": f"{fake.user_name()}{i}",
                "role": "user",
                "created_at": fake.date_time_this_year(tzinfo=None),
            },
        )
        uid = [u["id"] for u in users]
        run(
            "sessions",
            lambda i: {
                "user_id": rng.choice(uid),
                "session_token": fake.sha256(),
                "expires_at": fake.future_datetime(),
                "role": "user",
                "ip_address": fake.ipv4(),
                "user_agent": fake.user_agent(),
                "created_at": fake.past_datetime(),
            },
        )
        docs = run(
            "documents",
            lambda i: {
                "id": uuid.uuid4(),
                "user_id": str(rng.choice(uid)),
                "title": fake.sentence(),
                "content": fake.text(2000),
                "document_type": "DOCUMENT_TYPE_PDF",
                "metadata": json.dumps({"title": fake.sentence()}),
            },
        )
        did = [d["id"] for d in docs]
        chunks = run(
            "document_chunks",
            lambda i: {
                "document_id": rng.choice(did),
                "content": fake.text(512),
                "chunk_index": i,
                "embedding": "[" + ",".join(f"{rng.gauss(0, 1):.6f}" for _ in range(384)) + "]",
                "metadata": "{}",
            },
        )
        texts = [c["content"] for c in chunks]
        convs = run(
            "conversations",
            lambda i: {
                "id": uuid.uuid4(),
                "user_id": str(rng.choice(uid)),
                "title": fake.sentence(),
                "metadata": "{}",
                "created_at": fake.past_datetime(),
            },
        )
        cid = [c["id"] for c in convs]
        last: dict = {}

        def message(i: int) -> dict:
            conv, answer = rng.choice(cid), i % 2 == 1
            row = {
                "id": uuid.uuid4(),
                "conversation_id": conv,
                "parent_id": last.get(conv),
                "role": "assistant" if answer else "user",
                "content": fake.paragraph(8) if answer else fake.sentence(12),
                "sources": json.dumps(
                    [
                        {
                            "chunk_id": str(uuid.uuid4()),
                            "document_id": str(rng.choice(did)),
                            "relevance_score": rng.uniform(0.005, 0.016),
                            "content": rng.choice(texts),
                        }
                        for _ in range(5)
                    ]
                    if answer
                    else []
                ),
                "metadata": json.dumps({"metrics": {"total_time_ms": rng.uniform(500, 9000)}} if answer else {}),
                "created_at": fake.past_datetime(),
            }
            last[conv] = row["id"]
            return row

        run("chat_messages", message)
        run(
            "messages",
            lambda i: {
                "conversation_id": rng.choice(cid),
                "role": rng.choice(["user", "assistant"]),
                "content": fake.paragraph(5),
            },
        )
        conn.commit()
    return out
