"""branch_kinds computed inside PostgreSQL equals the pandas path: on the hand forest and on seeded data."""

from __future__ import annotations

import pandas.testing as pdt
import psycopg
from metric_cases.branching import branching_frames, insert_forest

from opentier_explore import connect, load
from opentier_explore.metrics.branching import branch_kinds


def test_sql_path_on_the_hand_forest(migrated_url: str) -> None:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        insert_forest(conn)
    engine = connect(migrated_url)
    try:
        pdt.assert_frame_equal(branch_kinds(engine), branch_kinds(branching_frames()))
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
