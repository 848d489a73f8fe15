"""The seeded `tiny` database: integrity, and each reality the design asks for, checked by a query."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest

from opentier_explore import migrate, seeding
from seed import profile
from seed.generate import TABLES

TINY = profile.load("tiny")
AS_OF = TINY.as_of


@pytest.fixture(scope="module")
def conn(tiny_url: str):
    with psycopg.connect(tiny_url, autocommit=True) as c:
        yield c


def one(conn: psycopg.Connection, sql: str, *params: Any) -> Any:
    return conn.execute(sql, params or None).fetchone()[0]


def test_every_table_has_rows_and_the_ledger_records_them(conn):
    counts = {t: one(conn, f'SELECT count(*) FROM "{t}"') for t in TABLES}
    assert all(n > 0 for n in counts.values()), counts
    row = conn.execute("SELECT profile, seed, kit_version, as_of, row_counts FROM _opentier_seed").fetchall()
    assert len(row) == 1
    prof, seed, version, as_of, recorded = row[0]
    assert (prof, seed, as_of) == ("tiny", 42, AS_OF)
    assert version and recorded == counts


def test_sizes_match_the_tiny_profile(conn):
    assert one(conn, "SELECT count(*) FROM users") == 200
    assert 3500 <= one(conn, "SELECT count(*) FROM chat_messages") <= 7000


def test_nothing_happens_after_as_of(conn):
    for table, col in [
        ("users", "created_at"),
        ("users", "updated_at"),
        ("users", "deleted_at"),
        ("sessions", "created_at"),
        ("conversations", "updated_at"),
        ("chat_messages", "created_at"),
        ("messages", "created_at"),
        ("documents", "created_at"),
        ("document_chunks", "created_at"),
        ("knowledge_submissions", "reviewed_at"),
        ("knowledge_submissions", "created_at"),
        ("ingestion_jobs", "started_at"),
        ("user_memories", "updated_at"),
        ("accounts", "created_at"),
        ("verification_tokens", "created_at"),
        ("password_reset_tokens", "created_at"),
    ]:
        assert one(conn, f"SELECT count(*) FROM {table} WHERE {col} > %s", AS_OF) == 0, (table, col)


def test_user_growth_and_role_mix(conn):
    start = AS_OF - dt.timedelta(days=TINY["history_days"])
    third = (AS_OF - start) / 3
    early = one(conn, "SELECT count(*) FROM users WHERE created_at < %s", start + third)
    late = one(conn, "SELECT count(*) FROM users WHERE created_at >= %s", AS_OF - third)
    assert late > 1.5 * early
    roles = dict(conn.execute("SELECT role::text, count(*) FROM users GROUP BY 1").fetchall())
    assert roles["user"] > roles["contributor"] > roles["admin"] >= 1


def test_oauth_only_users_are_verified_and_linked(conn):
    assert one(conn, "SELECT count(*) FROM users WHERE password_hash IS NULL") > 20
    assert (
        one(
            conn,
            """SELECT count(*) FROM users u WHERE password_hash IS NULL
                          AND (NOT email_verified OR NOT EXISTS (SELECT 1 FROM accounts a WHERE a.user_id = u.id))""",
        )
        == 0
    )
    assert (
        one(
            conn,
            """SELECT count(*) FROM (SELECT user_id FROM accounts GROUP BY user_id
                          HAVING count(DISTINCT provider) = 2) s""",
        )
        > 0
    )
    assert set(r[0] for r in conn.execute("SELECT DISTINCT provider FROM accounts")) == {"github", "google"}


def test_password_hashes_are_bcrypt(conn):
    assert one(conn, "SELECT count(*) FROM users WHERE password_hash IS NOT NULL") > 50
    bad = one(
        conn,
        r"""SELECT count(*) FROM users WHERE password_hash IS NOT NULL
                         AND password_hash !~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'""",
    )
    assert bad == 0


def test_soft_deleted_users_stopped_logging_in(conn):
    assert one(conn, "SELECT count(*) FROM users WHERE deleted_at IS NOT NULL") > 0
    assert one(conn, "SELECT count(*) FROM users WHERE deleted_at < created_at") == 0
    assert (
        one(
            conn,
            """SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
                         WHERE s.created_at > u.deleted_at""",
        )
        == 0
    )


def test_sessions_are_seven_days_long_and_never_before_sign_up(conn):
    assert one(conn, "SELECT count(*) FROM sessions WHERE expires_at <> created_at + interval '168 hours'") == 0
    assert (
        one(
            conn,
            "SELECT count(*) FROM sessions WHERE created_at < (SELECT created_at FROM users u WHERE u.id = user_id)",
        )
        == 0
    )
    assert one(conn, "SELECT count(*) FROM sessions WHERE expires_at > %s", AS_OF) > 0  # live sessions


def test_engagement_is_heavy_tailed(conn):
    per_user = [
        r[0]
        for r in conn.execute(
            """SELECT count(m.id) FROM users u LEFT JOIN conversations c ON c.user_id = u.id::text
           LEFT JOIN chat_messages m ON m.conversation_id = c.id AND m.role = 'user' GROUP BY u.id ORDER BY 1"""
        )
    ]
    median = per_user[len(per_user) // 2]
    assert per_user[-1] >= 10 * max(median, 1)
    top = sum(per_user[-len(per_user) // 10 :]) / sum(per_user)
    assert top > 0.4  # the top 10% of users ask a large share of the questions


def test_promotions_leave_stale_role_snapshots_in_live_sessions(conn):
    # Sessions keep the role of their login (a refresh keeps it too); users promoted since have stale live sessions.
    live_stale = one(
        conn,
        """SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
                               WHERE s.role <> u.role AND s.expires_at > %s""",
        AS_OF,
    )
    assert live_stale > 0
    # A snapshot is never ahead of the user: no session claims a role the user never reached.
    assert (
        one(
            conn,
            """SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
                         WHERE s.role > u.role""",
        )
        == 0
    )


def test_orphan_conversations_share_is_as_configured(conn):
    total = one(conn, "SELECT count(*) FROM conversations")
    orphans = one(
        conn,
        "SELECT count(*) FROM conversations c WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id::text = c.user_id)",
    )
    share = TINY["conversations.orphan_share"]
    assert orphans > 0
    assert abs(orphans / total - share) <= 0.005


def test_message_trees_are_clean_branching_and_time_ordered(conn):
    assert (
        one(
            conn,
            """SELECT count(*) FROM chat_messages c JOIN chat_messages p ON p.id = c.parent_id
                         WHERE c.created_at < p.created_at OR c.conversation_id <> p.conversation_id""",
        )
        == 0
    )
    depths = conn.execute("""
        WITH RECURSIVE walk AS (
            SELECT id, conversation_id, 1 AS depth FROM chat_messages WHERE parent_id IS NULL
            UNION ALL
            SELECT c.id, c.conversation_id, w.depth + 1 FROM chat_messages c JOIN walk w ON c.parent_id = w.id
        ) SELECT count(*), max(depth) FROM walk""").fetchone()
    assert depths[0] == one(conn, "SELECT count(*) FROM chat_messages")  # every message reaches a root: no cycles
    assert 10 <= depths[1] <= TINY["conversations.max_depth"]
    branched = one(
        conn,
        """SELECT count(DISTINCT conversation_id) FROM chat_messages WHERE id IN
                             (SELECT parent_id FROM chat_messages GROUP BY parent_id HAVING count(*) >= 2)""",
    )
    total = one(conn, "SELECT count(*) FROM conversations")
    assert 0 < branched < 0.5 * total  # most conversations are linear
    kinds = dict(
        conn.execute("""SELECT role, count(*) FROM (SELECT parent_id, role FROM chat_messages
                                   WHERE parent_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) >= 2) s GROUP BY 1""").fetchall()
    )
    assert kinds.get("assistant", 0) > 0 and kinds.get("user", 0) > 0  # regenerated answers and edited questions
    assert one(conn, "SELECT count(*) FROM chat_messages WHERE role NOT IN ('user', 'assistant')") == 0
    assert (
        one(
            conn,
            "SELECT count(*) FROM conversations c WHERE NOT EXISTS (SELECT 1 FROM chat_messages m WHERE m.conversation_id = c.id)",
        )
        == 0
    )


def test_sources_cite_existing_chunks_that_existed_at_the_time(conn):
    cites = conn.execute("""
        SELECT count(*), count(k.id), count(*) FILTER (WHERE k.document_id::text = s->>'document_id'),
               count(*) FILTER (WHERE k.created_at <= m.created_at), count(*) FILTER (WHERE m.role <> 'assistant')
        FROM chat_messages m CROSS JOIN LATERAL jsonb_array_elements(m.sources) s
        LEFT JOIN document_chunks k ON k.id::text = s->>'chunk_id'""").fetchone()
    n, found, same_doc, earlier, non_assistant = cites
    assert n > 100
    assert found == same_doc == earlier == n and non_assistant == 0
    assert one(conn, "SELECT count(*) FROM chat_messages WHERE jsonb_typeof(sources) <> 'array'") == 0


def test_messages_mirror_part_of_chat_messages(conn):
    n = one(conn, "SELECT count(*) FROM messages")
    assert 0 < n < one(conn, "SELECT count(*) FROM chat_messages")
    unmatched = one(
        conn,
        """SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM chat_messages c
                              WHERE c.conversation_id = m.conversation_id AND c.role = m.role::text
                                AND c.content = m.content AND c.created_at = m.created_at)""",
    )
    assert unmatched == 0


def test_documents_and_unit_embeddings(conn):
    null, total = conn.execute(
        "SELECT count(*) FILTER (WHERE embedding IS NULL), count(*) FROM document_chunks"
    ).fetchone()
    assert 0 < null < 0.1 * total
    off = one(conn, "SELECT max(abs(vector_norm(embedding) - 1)) FROM document_chunks WHERE embedding IS NOT NULL")
    assert off < 1e-4
    assert one(conn, "SELECT min(vector_dims(embedding)) FROM document_chunks") == 384
    gaps = one(
        conn,
        """SELECT count(*) FROM (SELECT document_id FROM document_chunks GROUP BY document_id
                          HAVING min(chunk_index) <> 0 OR max(chunk_index) <> count(*) - 1) s""",
    )
    assert gaps == 0
    assert (
        one(
            conn,
            "SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM document_chunks k WHERE k.document_id = d.id)",
        )
        == 0
    )
    assert dict(conn.execute("SELECT is_global, count(*) > 0 FROM documents GROUP BY 1").fetchall()) == {
        True: True,
        False: True,
    }


def test_ingestion_jobs_in_every_status(conn):
    statuses = {r[0] for r in conn.execute("SELECT DISTINCT status FROM ingestion_jobs")}
    assert statuses == {"queued", "processing", "completed", "failed", "partial"}
    assert (
        one(
            conn,
            """SELECT count(*) FROM ingestion_jobs WHERE
        (status IN ('completed', 'failed', 'partial')) <> (completed_at IS NOT NULL) OR completed_at < started_at
        OR progress_percent <> 100.0 * (processed_documents + failed_documents) / total_documents
        OR (status IN ('failed', 'partial')) <> (jsonb_array_length(errors) > 0 AND failed_documents > 0)""",
        )
        == 0
    )


def test_user_memories_belong_to_users(conn):
    assert (
        one(
            conn,
            "SELECT count(*) FROM user_memories m WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id::text = m.user_id)",
        )
        == 0
    )


def test_submissions_reviewed_by_admins_with_uneven_latency(conn):
    statuses = dict(conn.execute("SELECT status, count(*) FROM knowledge_submissions GROUP BY 1").fetchall())
    assert set(statuses) == {"pending", "approved", "rejected"}
    assert (
        one(
            conn,
            """SELECT count(*) FROM knowledge_submissions k LEFT JOIN users r ON r.id = k.reviewed_by
                         WHERE (k.status = 'pending') <> (k.reviewed_at IS NULL) OR (k.status = 'pending') <> (k.reviewed_by IS NULL)
                            OR k.reviewed_at < k.created_at OR (k.reviewed_by IS NOT NULL AND r.role <> 'admin')
                            OR (k.status = 'rejected' AND k.admin_feedback IS NULL)""",
        )
        == 0
    )
    assert (
        one(
            conn,
            """SELECT count(*) FROM knowledge_submissions k JOIN users u ON u.id = k.contributor_id
                         WHERE u.role <> 'contributor'""",
        )
        == 0
    )
    per_reviewer = [
        r[0]
        for r in conn.execute("""
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM reviewed_at - created_at))
        FROM knowledge_submissions WHERE reviewed_at IS NOT NULL GROUP BY reviewed_by ORDER BY 1""")
    ]
    assert len(per_reviewer) >= 2 and per_reviewer[-1] > 2 * per_reviewer[0]  # one slow reviewer
    weekend, weekday = conn.execute("""
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM reviewed_at - created_at))
               FILTER (WHERE extract(isodow FROM created_at) IN (5, 6)),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM reviewed_at - created_at))
               FILTER (WHERE extract(isodow FROM created_at) IN (1, 2, 3))
        FROM knowledge_submissions WHERE reviewed_at IS NOT NULL""").fetchone()
    assert weekend > weekday  # Friday and Saturday submissions wait for Monday


def test_tokens_some_expired(conn):
    assert one(conn, "SELECT count(*) FROM verification_tokens WHERE otp !~ '^[0-9]{6}$'") == 0
    assert one(conn, "SELECT count(*) FROM verification_tokens WHERE expires_at < %s", AS_OF) > 0
    expired, live = conn.execute(
        "SELECT count(*) FILTER (WHERE expires_at < %s), count(*) FILTER (WHERE expires_at > %s) "
        "FROM password_reset_tokens",
        (AS_OF, AS_OF),
    ).fetchone()
    assert expired > 0 and live > 0
    assert (
        one(
            conn,
            "SELECT count(*) FROM password_reset_tokens t JOIN users u ON u.id = t.user_id WHERE u.password_hash IS NULL",
        )
        == 0
    )


def test_every_seeded_table_has_planner_statistics(conn):
    analyzed = {
        r[0] for r in conn.execute("SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()")
    }
    assert set(TABLES) <= analyzed


def test_a_seeded_database_reads_like_a_vacuumed_one(pg):
    url = pg.create_db("seed_frozen")
    try:
        migrate.up(url)
        seeding.run(url, profile="tiny", seed=42, truncate=False, progress=False)
        with psycopg.connect(url, autocommit=True) as conn:
            pages = conn.execute(
                "SELECT relname, relpages, relallvisible FROM pg_class WHERE relname = ANY(%s) ORDER BY 1",
                (list(TABLES),),
            ).fetchall()
            assert len(pages) == len(TABLES) and all(visible == n for _, n, visible in pages), pages
            conn.execute("SET enable_seqscan = off")
            plan = conn.execute(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
                "SELECT count(*) FROM chat_messages WHERE parent_id IS NOT NULL"
            ).fetchall()
            text = "\n".join(r[0] for r in plan)
            assert "Index Only Scan" in text and "Heap Fetches: 0" in text, text
    finally:
        pg.drop_db("seed_frozen")
