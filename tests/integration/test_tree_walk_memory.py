"""The tree walks' hash of the edges stays in memory (one batch) at the size walk_settings gives it, on a real server."""

from __future__ import annotations

import re

import psycopg
import pytest

from opentier_explore import config
from opentier_explore.metrics import _trees_sql


def _walk_batches(url: str, settings: dict[str, str]) -> int:
    """The batches of the walk's hash join (the Hash under the recursive union) in EXPLAIN ANALYZE of DEPTHS."""
    with psycopg.connect(url) as conn:
        for name, value in settings.items():
            conn.execute(f"SET LOCAL {name} = '{value}'")
        conn.execute("SET LOCAL enable_mergejoin = off")  # tiny's tables are small enough for other plans
        conn.execute("SET LOCAL enable_nestloop = off")
        plan = "\n".join(
            r[0] for r in conn.execute("EXPLAIN ANALYZE " + _trees_sql.fill(_trees_sql.DEPTHS, "chat_messages"))
        )
    walk = plan[plan.index("Recursive Union") :]
    return int(re.search(r"Batches: (\d+)", walk).group(1))


def test_the_edges_hash_fits_at_the_given_size(tiny_url, monkeypatch):
    with psycopg.connect(tiny_url) as conn:
        rows, multiplier = conn.execute(_trees_sql.WALK_SIZES_SQL).fetchone()
        assert rows == conn.execute("SELECT count(*) FROM chat_messages").fetchone()[0]  # the seeder analyzed it
    monkeypatch.setattr(config, "TREE_WORK_MEM", "64kB")  # tiny's ~4,600 edges need ~420 kB
    assert _walk_batches(tiny_url, {"work_mem": "64kB", "hash_mem_multiplier": "1.0"}) > 1
    sized = _trees_sql.walk_settings(rows, 1.0)
    assert float(sized["hash_mem_multiplier"]) > 1.0
    assert _walk_batches(tiny_url, sized) == 1


@pytest.mark.parametrize("metric", ["conversation_trees", "tree_faults", "message_depths"])
def test_the_walks_give_the_same_answers_sized_down(tiny_url, monkeypatch, metric):
    from opentier_explore import connect, metrics

    engine = connect(tiny_url)
    before = getattr(metrics, metric)(engine)
    monkeypatch.setattr(config, "TREE_WORK_MEM", "64kB")
    after = getattr(metrics, metric)(engine)
    assert before.equals(after)
    assert len(before) > 0 or metric == "tree_faults"  # tiny's data is clean: no faults
