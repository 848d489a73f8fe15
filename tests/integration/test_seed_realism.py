"""The seeded values are shaped as the OpenTier services write them (shared/real-opentier.md), checked from the
database on `tiny` and `demo`; sessions are what the API's clean-up leaves, or the full history when a profile asks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import psycopg
import pytest

from opentier_explore import migrate, seeding
from seed import profile

TTL = dt.timedelta(hours=168)


@pytest.fixture(scope="module", params=["tiny", "demo"])
def db(request, pg, tiny_template):
    """(profile, connection) for a database seeded with that profile and seed 42."""
    name = f"real_{request.param}"
    if request.param == "tiny":
        url = pg.create_db(name, template=tiny_template)
    else:
        url = pg.create_db(name)
        migrate.up(url)
        seeding.run(url, profile="demo", seed=42, progress=False)
    with psycopg.connect(url, autocommit=True) as conn:
        yield profile.load(request.param), conn
    pg.drop_db(name)


def one(conn: psycopg.Connection, sql: str, *params: Any) -> Any:
    return conn.execute(sql, params or None).fetchone()[0]


def test_sources_are_the_services_top_five_hybrid_search_hits(db):
    _, conn = db
    keys = {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT jsonb_object_keys(s) FROM chat_messages m CROSS JOIN LATERAL jsonb_array_elements(m.sources) s"
        )
    }
    assert keys == {"chunk_id", "document_id", "relevance_score", "content"}
    lo, hi = conn.execute("""SELECT min((s->>'relevance_score')::float), max((s->>'relevance_score')::float)
                              FROM chat_messages m CROSS JOIN LATERAL jsonb_array_elements(m.sources) s""").fetchone()
    assert 0.004 <= lo and hi <= 0.0165  # reciprocal-rank fusion, not cosine similarity
    assert (
        one(
            conn,
            """SELECT count(*) FROM chat_messages m CROSS JOIN LATERAL jsonb_array_elements(m.sources) s
                        JOIN document_chunks k ON k.id::text = s->>'chunk_id' WHERE k.content <> s->>'content'""",
        )
        == 0
    )
    unsorted = one(
        conn,
        """SELECT count(*) FROM chat_messages m CROSS JOIN LATERAL jsonb_array_elements(m.sources)
                             WITH ORDINALITY AS s(v, i) JOIN LATERAL jsonb_array_elements(m.sources) WITH ORDINALITY AS t(w, j)
                             ON t.j = s.i + 1 WHERE (t.w->>'relevance_score')::float > (s.v->>'relevance_score')::float""",
    )
    assert unsorted == 0  # best first
    with_sources, five = conn.execute("""SELECT count(*), count(*) FILTER (WHERE jsonb_array_length(sources) = 5)
                                          FROM chat_messages WHERE jsonb_array_length(sources) > 0""").fetchone()
    answers = one(conn, "SELECT count(*) FROM chat_messages WHERE role = 'assistant'")
    assert with_sources > 0.8 * answers and five > 0.9 * with_sources  # usually top_k = 5
    assert one(conn, "SELECT count(*) FROM chat_messages WHERE role = 'user' AND sources <> '[]'") == 0
    assert (
        one(
            conn,
            """SELECT count(*) FROM chat_messages m CROSS JOIN LATERAL jsonb_array_elements(m.sources) s
                        JOIN documents d ON d.id::text = s->>'document_id' WHERE NOT d.is_global""",
        )
        == 0
    )


def test_metadata_holds_the_answers_metrics_and_nothing_on_questions(db):
    _, conn = db
    assert one(conn, "SELECT count(*) FROM chat_messages WHERE role = 'user' AND metadata <> '{}'") == 0
    assert one(conn, "SELECT count(*) FROM chat_messages WHERE role = 'system'") == 0
    assert (
        one(
            conn,
            """SELECT count(*) FROM chat_messages WHERE role = 'assistant'
                        AND (metadata - 'metrics' <> '{}' OR jsonb_typeof(metadata->'metrics') <> 'object')""",
        )
        == 0
    )
    bad = one(
        conn,
        """SELECT count(*) FROM chat_messages WHERE role = 'assistant' AND (
        abs((metadata->'metrics'->>'total_time_ms')::float - (metadata->'metrics'->>'retrieval_time_ms')::float
            - (metadata->'metrics'->>'generation_time_ms')::float) > 0.01
        OR (metadata->'metrics'->>'sources_retrieved')::int <> jsonb_array_length(sources)
        OR NOT (metadata->'metrics' ?& array['retrieval_time_ms', 'generation_time_ms', 'total_time_ms',
                                             'sources_retrieved', 'avg_similarity', 'tokens_generated']))""",
    )
    assert bad == 0
    streamed, full = conn.execute("""SELECT count(*) FILTER (WHERE NOT metadata->'metrics' ? 'prompt_tokens'),
                                            count(*) FILTER (WHERE metadata->'metrics' ? 'prompt_tokens')
                                     FROM chat_messages WHERE role = 'assistant'""").fetchone()
    assert streamed > 0 and full > 0  # streamed answers lack the prompt/completion counts


def test_failed_generations_and_streams_look_as_the_service_leaves_them(db):
    name, conn = db
    failed = one(
        conn,
        """SELECT count(*) FROM chat_messages WHERE role = 'assistant'
                          AND content = 'I encountered an error generating a response.'""",
    )
    assert failed > 0 if name.name == "demo" else failed >= 0
    assert (
        one(
            conn,
            """SELECT count(*) FROM chat_messages WHERE content = 'I encountered an error generating a response.'
                        AND (metadata->'metrics'->>'completion_tokens')::int <> 0""",
        )
        == 0
    )
    unanswered = one(
        conn,
        """SELECT count(*) FROM chat_messages q WHERE q.role = 'user'
                              AND NOT EXISTS (SELECT 1 FROM chat_messages a WHERE a.parent_id = q.id)""",
    )
    assert unanswered > 0  # a failed stream leaves the question without an answer


def test_one_ingestion_job_per_document(db):
    _, conn = db
    assert {r[0] for r in conn.execute("SELECT DISTINCT status FROM ingestion_jobs")} <= {
        "queued",
        "processing",
        "completed",
        "failed",
        "partial",
    }
    assert one(conn, "SELECT count(*) FROM ingestion_jobs WHERE total_documents <> 1") == 0
    assert (
        one(
            conn,
            """SELECT count(*) FROM ingestion_jobs j CROSS JOIN LATERAL jsonb_array_elements(j.errors) e
                        WHERE jsonb_typeof(e) <> 'string'""",
        )
        == 0
    )
    assert (
        one(
            conn,
            "SELECT count(*) FROM documents d LEFT JOIN ingestion_jobs j ON j.id::text = d.metadata->>'job_id' WHERE j.id IS NULL",
        )
        == 0
    )
    per_job = dict(
        conn.execute("""SELECT j.status, max(n) FROM ingestion_jobs j CROSS JOIN LATERAL
        (SELECT count(*) AS n FROM documents d WHERE d.metadata->>'job_id' = j.id::text) c GROUP BY 1""").fetchall()
    )
    assert per_job["completed"] == 1 and per_job.get("failed", 0) == 0 and per_job.get("queued", 0) == 0
    assert (
        one(
            conn,
            """SELECT count(*) FROM ingestion_jobs j WHERE j.status IN ('completed', 'partial')
                        AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.metadata->>'job_id' = j.id::text)""",
        )
        == 0
    )


def test_documents_chunks_and_their_metadata(db):
    _, conn = db
    assert one(conn, "SELECT count(*) FROM documents WHERE document_type !~ '^DOCUMENT_TYPE_[A-Z]+$'") == 0
    assert (
        one(
            conn,
            """SELECT count(*) FROM documents WHERE (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(metadata) k)
                        <> array['job_id', 'original_type', 'title']
                        OR EXISTS (SELECT 1 FROM jsonb_each(metadata) e WHERE jsonb_typeof(e.value) <> 'string')
                        OR metadata->>'title' <> title""",
        )
        == 0
    )
    assert (
        one(conn, "SELECT count(*) FROM documents d JOIN users u ON u.id::text = d.user_id WHERE u.role <> 'admin'")
        == 0
    )
    assert one(conn, "SELECT max(length(content)) FROM document_chunks") <= 512
    assert (
        one(
            conn,
            """SELECT count(*) FROM document_chunks a JOIN document_chunks b
                        ON b.document_id = a.document_id AND b.chunk_index = a.chunk_index + 1
                        WHERE left(b.content, 50) <> right(a.content, 50)""",
        )
        == 0
    )  # 50 characters of overlap
    assert (
        one(
            conn,
            """SELECT count(*) FROM document_chunks k JOIN documents d ON d.id = k.document_id
                        WHERE k.metadata <> jsonb_build_object('document_id', d.id::text, 'title', d.title)
                           OR k.created_at <> d.created_at""",
        )
        == 0
    )  # one created_at per document


def test_accounts_tokens_memories_and_usernames(db):
    _, conn = db
    assert (
        one(
            conn,
            """SELECT count(*) FROM accounts WHERE access_token IS NULL OR refresh_token IS NOT NULL
                        OR expires_at IS NOT NULL OR token_type IS NOT NULL OR scope IS NOT NULL OR id_token IS NOT NULL""",
        )
        == 0
    )
    for table in ("verification_tokens", "password_reset_tokens"):
        assert one(conn, f"SELECT count(*) FROM {table} WHERE token !~ '^[A-Za-z0-9]{{32}}$'") == 0
        assert one(conn, f"SELECT count(*) FROM (SELECT user_id FROM {table} GROUP BY 1 HAVING count(*) > 1) s") == 0
    assert (
        one(
            conn,
            """SELECT count(*) FROM verification_tokens t JOIN users u ON u.id = t.user_id WHERE u.email_verified""",
        )
        == 0
    )
    assert one(conn, "SELECT count(*) FROM user_memories WHERE metadata <> '{}'") == 0
    assert (
        one(
            conn,
            """SELECT count(*) FROM user_memories m CROSS JOIN LATERAL regexp_split_to_table(m.memory, E'\\n') l
                        WHERE l !~ '^- User '""",
        )
        == 0
    )
    assert one(conn, "SELECT count(*) FROM users WHERE password_hash IS NULL AND username IS NOT NULL") == 0


def test_conversation_titles_metadata_and_updated_at(db):
    _, conn = db
    bad = one(
        conn,
        """SELECT count(*) FROM conversations c
        JOIN LATERAL (SELECT content FROM chat_messages m WHERE m.conversation_id = c.id AND m.parent_id IS NULL
                      ORDER BY created_at LIMIT 1) q ON true
        WHERE c.title <> 'New Chat' AND c.title <> btrim(left(regexp_replace(q.content, E'[\\r\\n]', ' ', 'g'), 50))""",
    )
    assert bad == 0
    assert one(conn, "SELECT count(*) FROM conversations WHERE title = 'New Chat' AND updated_at <> created_at") == 0
    assert one(conn, "SELECT count(*) FROM conversations WHERE title <> 'New Chat' AND updated_at <= created_at") == 0
    kinds = dict(conn.execute("SELECT metadata::text, count(*) FROM conversations GROUP BY 1").fetchall())
    assert set(kinds) == {"null", "{}"} and kinds["null"] > kinds["{}"]  # usually JSON null
    late = one(
        conn,
        """SELECT count(*) FROM conversations c WHERE updated_at <
                        (SELECT max(created_at) FROM chat_messages m WHERE m.conversation_id = c.id)""",
    )
    assert late > 0  # updated_at moves with the title, not with new messages


def test_sessions_are_what_the_api_leaves_at_as_of(db):
    prof, conn = db
    as_of = prof.as_of
    assert one(conn, "SELECT count(*) FROM sessions WHERE expires_at <> created_at + interval '168 hours'") == 0
    assert one(conn, "SELECT count(*) FROM sessions WHERE session_token !~ '^[A-Za-z0-9]{64}$'") == 0
    assert one(conn, "SELECT min(created_at) FROM sessions") >= as_of - TTL - dt.timedelta(hours=1)
    assert one(conn, "SELECT min(expires_at) FROM sessions") >= as_of - dt.timedelta(hours=1)  # the hourly clean-up
    assert one(conn, "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE NOT u.email_verified") == 0
    assert (
        one(conn, "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.deleted_at IS NOT NULL")
        == 0
    )
    assert one(conn, "SELECT count(*) FROM sessions WHERE (ip_address IS NULL) <> (user_agent IS NULL)") == 0
    assert one(conn, "SELECT count(DISTINCT ip_address) FROM sessions") <= 2  # the web client's proxy
    assert one(conn, "SELECT count(*) FROM sessions WHERE ip_address IS NULL") > 0  # OAuth sign-ins
    password_only_null = one(
        conn,
        """SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
                                      WHERE u.password_hash IS NOT NULL AND s.ip_address IS NULL
                                      AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.user_id = u.id)""",
    )
    assert password_only_null == 0


def test_a_profile_may_keep_the_full_login_history(pg, tmp_path: Path):
    text = (profile.PROFILES_DIR / "tiny.toml").read_text().replace("keep_history = false", "keep_history = true")
    path = tmp_path / "archive.toml"
    path.write_text(text)
    url = pg.create_db("real_archive")
    try:
        migrate.up(url)
        seeding.run(url, profile=str(path), seed=42, progress=False)
        as_of = profile.load("tiny").as_of
        with psycopg.connect(url) as conn:
            first, n = conn.execute("SELECT min(created_at), count(*) FROM sessions").fetchone()
            assert first < as_of - dt.timedelta(days=90) and n > 1000
            # every promoted user's first login was as 'user'
            assert (
                one(
                    conn,
                    """SELECT count(*) FROM users u WHERE role = 'contributor' AND NOT EXISTS
                                (SELECT 1 FROM sessions s WHERE s.user_id = u.id AND s.role = 'user')""",
                )
                == 0
            )
            assert (
                one(conn, "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE NOT u.email_verified")
                == 0
            )
    finally:
        pg.drop_db("real_archive")


def test_cells_written_against_the_services_shapes_run_on_the_seeded_data(tiny_url):
    from opentier_explore import connect, load

    engine = connect(tiny_url)
    try:
        chat = load("chat_messages", engine=engine, where="role = 'assistant'")
        cited = chat[chat["sources"].map(len) > 0]
        best = cited["sources"].map(lambda s: s[0]["relevance_score"])
        assert (best >= cited["sources"].map(lambda s: s[-1]["relevance_score"])).all()
        total = chat["metadata"].map(lambda m: m["metrics"]["total_time_ms"])
        assert (total > 0).all()
        conv = load("conversations", engine=engine)
        assert conv["metadata"].map(lambda m: m is None or m == {}).all()  # JSON null loads as None
    finally:
        engine.dispose()
