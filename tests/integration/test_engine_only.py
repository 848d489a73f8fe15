"""OPENTIER_ENGINE_ONLY: the notebooks' tree source is the Engine itself (nothing loaded), with the same results."""

from __future__ import annotations

import pytest

from opentier_explore import config, connect, metrics


@pytest.fixture(scope="module")
def engine(tiny_url):
    eng = connect(tiny_url)
    yield eng
    eng.dispose()


@pytest.mark.parametrize(
    ("value", "on"), [("", False), ("0", False), ("no", False), ("1", True), ("TRUE", True), (" yes ", True)]
)
def test_engine_only_reads_its_variable(monkeypatch, value, on):
    monkeypatch.setenv(config.ENGINE_ONLY_ENV, value)
    assert config.engine_only() is on


def test_by_default_the_edges_are_loaded_into_pandas(engine, monkeypatch):
    monkeypatch.delenv(config.ENGINE_ONLY_ENV, raising=False)
    source = metrics.edges_source(engine, extra=["role"])
    frame = source["chat_messages"]
    assert list(frame.columns) == ["id", "conversation_id", "parent_id", "role", "created_at"]
    assert metrics.edges_shape(source) == frame.shape == metrics.edges_shape(engine, extra=["role"])


def test_engine_only_hands_back_the_engine_with_the_same_results(engine, monkeypatch):
    monkeypatch.delenv(config.ENGINE_ONLY_ENV, raising=False)
    loaded = metrics.edges_source(engine, extra=["role"])
    monkeypatch.setenv(config.ENGINE_ONLY_ENV, "1")
    source = metrics.edges_source(engine, extra=["role"])
    assert source is engine
    assert metrics.edges_shape(source) == metrics.edges_shape(loaded)
    assert metrics.conversation_trees(source).equals(metrics.conversation_trees(loaded))
