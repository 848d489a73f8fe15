"""The metrics' Engine path (computed inside PostgreSQL) on the hand-built fixtures, and both paths on seeded data."""

from __future__ import annotations

import metric_cases as mc
import pandas as pd
import psycopg
import pytest

from opentier_explore import connect, load_all, metrics
from opentier_explore.errors import SchemaError

pytestmark = pytest.mark.integration


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
    names = {
        "trees": mc.insert_trees,
        "moderation": mc.insert_moderation,
        "churn": mc.insert_churn,
        "churn_purged": mc.insert_churn_purged,
    }
    made = {key: connect(_db(pg, f"m_metrics_{key}", insert)) for key, insert in names.items()}
    yield made
    for key, engine in made.items():
        engine.dispose()
        pg.drop_db(f"m_metrics_{key}")


CHECKS = {
    "trees": mc.assert_trees,
    "moderation": mc.assert_moderation,
    "churn": lambda src: (mc.assert_churn(src), mc.assert_signed_in(src)),
    "churn_purged": lambda src: (mc.assert_purged_churn(src), mc.assert_signed_in(src, purged=True)),
}


@pytest.mark.parametrize("key", list(CHECKS))
def test_engine_path_gives_the_hand_computed_answers(engines, key):
    CHECKS[key](engines[key])


@pytest.mark.parametrize("key", list(CHECKS))
def test_loaded_frames_give_the_same_answers(engines, key):
    CHECKS[key](load_all(engine=engines[key]))


def _assert_same(a, b) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
        return
    for field in a.__dataclass_fields__:
        x, y = getattr(a, field), getattr(b, field)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, obj=field)
        elif isinstance(x, pd.Series):
            pd.testing.assert_series_equal(x, y, obj=field)
        else:
            assert (pd.isna(x) and pd.isna(y)) or x == y, field


def test_both_paths_equal_on_seeded_tiny(tiny_url):
    engine = connect(tiny_url)
    frames = load_all(engine=engine)
    for name, kwargs in [
        ("conversation_trees", {}),
        ("tree_faults", {}),
        ("moderation_latency", {}),
        ("session_churn", {}),
        ("session_churn", {"window": 7}),
        ("session_churn", {"activity": "sessions"}),
        ("session_churn", {"activity": "sessions", "window": 7}),
        ("signed_in", {}),
    ]:
        fn = getattr(metrics, name)
        _assert_same(fn(engine, **kwargs), fn(frames, **kwargs))
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


def test_both_paths_agree_on_empty_tables_and_early_or_odd_as_of(pg, engines):
    import datetime

    url = _db(pg, "m_metrics_empty", lambda conn: None)
    empty = connect(url)
    try:
        for engine in (empty, engines["churn"], engines["churn_purged"], engines["moderation"]):
            frames = load_all(engine=engine)
            for as_of in (None, mc.T0 - 30 * mc.D, datetime.datetime(2025, 3, 13, 12), "2025-03-20"):
                for fn, kw in (
                    (metrics.moderation_latency, {}),
                    (metrics.session_churn, {}),
                    (metrics.session_churn, {"activity": "sessions"}),
                ):
                    _assert_same(fn(engine, as_of=as_of, **kw), fn(frames, as_of=as_of, **kw))
    finally:
        empty.dispose()
        pg.drop_db("m_metrics_empty")
