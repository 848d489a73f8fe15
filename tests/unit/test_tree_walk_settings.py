"""The tree walks' memory: their hash of the edges sized from PostgreSQL's row estimate (_trees_sql.walk_settings)."""

from __future__ import annotations

import math

import pytest

from opentier_explore import config
from opentier_explore.metrics import _trees_sql


def test_small_tables_keep_the_servers_multiplier():
    assert _trees_sql.walk_settings(4_645, 2.0) == {"work_mem": config.TREE_WORK_MEM, "hash_mem_multiplier": "2.0"}
    assert _trees_sql.walk_settings(-1, 2.0)["hash_mem_multiplier"] == "2.0"  # never analyzed, or a view
    assert _trees_sql.walk_settings(100, 8.0)["hash_mem_multiplier"] == "8.0"  # never lowered


def test_ten_million_messages_get_room_for_their_hash():
    got = float(_trees_sql.walk_settings(10_046_042, 2.0)["hash_mem_multiplier"])
    work = 256 << 20
    assert got * work >= 10_046_042 * config.TREE_HASH_BYTES_PER_EDGE > 2.0 * work


def test_the_raise_stops_at_the_configured_most(monkeypatch):
    monkeypatch.setattr(config, "TREE_HASH_MEM_MAX_MB", 1024)
    assert _trees_sql.walk_settings(1e9, 2.0)["hash_mem_multiplier"] == "4.0"  # 1024 MB / 256 MB


@pytest.mark.parametrize(("setting", "expected"), [("64kB", 65536), ("256MB", 256 << 20), ("2GB", 2 << 30)])
def test_memory_units(monkeypatch, setting, expected):
    monkeypatch.setattr(config, "TREE_WORK_MEM", setting)
    need = 1000 * config.TREE_HASH_BYTES_PER_EDGE / expected
    assert float(_trees_sql.walk_settings(1000, 1.0)["hash_mem_multiplier"]) == max(1.0, math.ceil(need * 10) / 10)
