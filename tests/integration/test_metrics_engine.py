"""The metrics' Engine path (computed inside PostgreSQL) on the hand-built fixtures, and both paths on seeded data."""

from __future__ import annotations

import datetime

import metric_cases as mc
import pandas as pd
import psycopg
import pytest

from opentier_explore import connect, load_all, metrics
from opentier_explore.errors import SchemaError


def _db(pg, name: str, insert) -> str:
    from opentier_explore import migrate

    url = pg.create_db(name)
    migrate.up(url)
    with psycopg.connect(url, autocommit=True) as conn:
        insert(conn)
        # a zone with a DST change inside the fixtures' weeks: results must not depend on the session's zone
        conn.execute(f"ALTER DATABASE \"{name}\" SET timezone = 'America/New_York'")
    return url


@pytest.fixture(scope="module")
def engines(pg):
    """An Engine on a database of each hand-worked case (`m_metrics_<case>`), and on an empty one."""
    inserts = {case.name: case.insert for case in mc.CASES} | {"empty": lambda conn: None}
    made = {key: connect(_db(pg, f"m_metrics_{key}", insert)) for key, insert in inserts.items()}
    yield made
    for key, engine in made.items():
        engine.dispose()
        pg.drop_db(f"m_metrics_{key}")


CASES = {case.name: case for case in mc.CASES}
#: the as_of values every metric that takes one is compared at: default, before all data, naive datetime, date string
AS_OFS = (None, mc.T0 - 30 * mc.D, datetime.datetime(2025, 3, 13, 12), "2025-03-20")


@pytest.mark.parametrize("key", list(CASES))
def test_engine_path_gives_the_hand_computed_answers(engines, key):
    CASES[key].check(engines[key])


@pytest.mark.parametrize("key", list(CASES))
def test_loaded_frames_give_the_same_answers(engines, key):
    CASES[key].check(load_all(engine=engines[key]))


#: conversation_trees' Engine path walks config.TREE_WALK_PARTS parts of the conversations at once
PARTS = (1, 2, 3, 5)


@pytest.mark.parametrize("parts", PARTS)
@pytest.mark.parametrize("key", ["trees", "trees_cross"])
def test_conversation_trees_walked_in_parts_gives_the_hand_computed_answers(engines, key, parts, monkeypatch):
    from opentier_explore import config

    monkeypatch.setattr(config, "TREE_WALK_PARTS", parts)
    CASES[key].check(engines[key])


def test_the_parts_separate_a_cross_conversation_parent_from_its_child(engines):
    """At least one part count puts C9 and C10 (parents and children across them) in different parts."""
    from opentier_explore.db import engine_url
    from opentier_explore.metrics._trees_sql import part

    def part_of(conn, n: int) -> dict[str, int]:
        sql = "SELECT DISTINCT conversation_id::text FROM {} AS q"
        found = [(c, i) for i in range(n) for (c,) in conn.execute(sql.format(part("chat_messages", i, n))).fetchall()]
        assert len(found) == len(dict(found)) == 2, "every conversation lands in exactly one part"
        return dict(found)

    with psycopg.connect(engine_url(engines["trees_cross"])) as conn:
        placed = {n: part_of(conn, n) for n in PARTS}
    assert any(p[mc.conv(9)] != p[mc.conv(10)] for p in placed.values())


def test_every_registered_metric_has_hand_worked_answers():
    named = {name for case in mc.CASES for name in case.metrics}
    assert named == set(metrics.registry.BY_NAME), "a case names an unregistered metric, or a metric has no case"


def _assert_paths_agree(engine, frames, metric, as_ofs=(None,)) -> None:
    for kwargs in metric.variants:
        for as_of in as_ofs if metric.takes_as_of else (None,):
            kw = {**kwargs, "as_of": as_of} if metric.takes_as_of else dict(kwargs)
            metric.assert_same(metric.function(engine, **kw), metric.function(frames, **kw), frames)


def test_both_paths_equal_on_seeded_tiny(tiny_url):
    engine = connect(tiny_url)
    frames = load_all(engine=engine)
    for metric in metrics.METRICS:
        _assert_paths_agree(engine, frames, metric)
    assert len(metrics.conversation_trees(engine)) == frames["chat_messages"]["conversation_id"].nunique()
    engine.dispose()


def test_schema_without_parent_id_or_created_at_is_one_clear_error(pg):
    url = _db(pg, "m_metrics_noparent", mc.insert_trees)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE chat_messages DROP COLUMN parent_id, DROP COLUMN created_at")
    engine = connect(url)
    try:
        for src in (engine, load_all(engine=engine)):
            for fn in (metrics.conversation_trees, metrics.tree_faults, metrics.branch_kinds):
                with pytest.raises(
                    SchemaError, match="'parent_id' of table 'chat_messages', or at least 'created_at'"
                ) as err:
                    fn(src)
                assert "\n" not in str(err.value)
    finally:
        engine.dispose()
        pg.drop_db("m_metrics_noparent")


@pytest.mark.parametrize("order", [1, -1])
def test_a_long_cycle_is_found_not_hung_on(pg, order):
    n = 3000
    ids = [mc.uid(100_000 + i) for i in range(n)][::order]  # ids rising, then falling, along the cycle

    def insert(conn) -> None:
        conn.execute("INSERT INTO conversations (id, user_id) VALUES (%s, 'u')", (mc.conv(1),))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO chat_messages (id, conversation_id, parent_id, role, content) VALUES (%s, %s, %s, 'user', 'x')",
                [(m, mc.conv(1), ids[i - 1] if i else None) for i, m in enumerate(ids)],
            )
        conn.execute(
            "UPDATE chat_messages SET parent_id = %s WHERE id = %s", (ids[-1], ids[0])
        )  # one cycle through all

    url = _db(pg, "m_metrics_longcycle", insert)
    engine = connect(url)
    try:
        faults = metrics.tree_faults(engine)
        assert len(faults) == n and set(faults["fault"]) == {"cycle"}
        trees = metrics.conversation_trees(engine)
        assert (
            trees["n_roots"].tolist() == [0] and trees["max_depth"].isna().all() and trees["n_leaves"].tolist() == [0]
        )
        pd.testing.assert_frame_equal(faults, metrics.tree_faults(load_all(engine=engine)))
    finally:
        engine.dispose()
        pg.drop_db("m_metrics_longcycle")


@pytest.mark.parametrize("key", [*CASES, "empty"])
def test_both_paths_agree_on_every_case_and_empty_tables_at_early_or_odd_as_of(engines, key):
    frames = load_all(engine=engines[key])
    for metric in metrics.METRICS:
        _assert_paths_agree(engines[key], frames, metric, AS_OFS)
