"""branch_kinds computed inside PostgreSQL equals the pandas path: on the hand forest and on seeded data."""

from __future__ import annotations

import uuid

import pandas.testing as pdt
import psycopg
from branching_cases import ROWS, frames

from opentier_explore import connect, load
from opentier_explore.metrics.branching import branch_kinds


def _uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, name))


def test_sql_path_on_the_hand_forest(migrated_url: str) -> None:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        for conv in sorted({r[1] for r in ROWS}):
            conn.execute("INSERT INTO conversations (id, user_id) VALUES (%s, 'u')", (_uuid(conv),))
        conn.execute("SET session_replication_role = replica")  # insert children before parents
        for mid, conv, parent, role in ROWS:
            conn.execute(
                "INSERT INTO chat_messages (id, conversation_id, parent_id, role, content) VALUES (%s, %s, %s, %s, '')",
                (_uuid(mid), _uuid(conv), _uuid(parent) if parent else None, role),
            )
    engine = connect(migrated_url)
    try:
        pdt.assert_frame_equal(branch_kinds(engine), branch_kinds(frames()))
    finally:
        engine.dispose()


def test_both_paths_agree_on_seeded_data(tiny_url: str) -> None:
    engine = connect(tiny_url)
    try:
        chat = load("chat_messages", engine=engine, columns=["id", "conversation_id", "parent_id", "role"])
        in_sql = branch_kinds(engine)
        pdt.assert_frame_equal(in_sql, branch_kinds({"chat_messages": chat}))
        assert in_sql.loc["regenerated_answer", "branch_points"] > 0
        assert in_sql.loc["edited_question", "branch_points"] > 0
    finally:
        engine.dispose()
