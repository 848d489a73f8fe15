"""The lazily formatted columns: the same values as building them whole, and block-wise draws the same as one call."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from seed import copy as copy_mod
from seed import profile
from seed.generate import answers, generate
from seed.generate.common import Lazy, Table, texts, uuids


def _digests(tables: list[Table]) -> dict[str, str]:
    """SHA-256 of each table's COPY chunks."""
    out = {}
    for t in tables:
        h = hashlib.sha256()
        for _, data in copy_mod.chunks(t):
            h.update(data if isinstance(data, bytes) else data.encode("utf-8"))
        out[t.name] = h.hexdigest()
    return out


@pytest.fixture(scope="module")
def tiny() -> list[Table]:
    return generate(profile.load("tiny"), 42)


def test_the_big_tables_are_lazy(tiny):
    by_name = {t.name: t for t in tiny}
    for name in ("conversations", "chat_messages", "messages"):
        assert all(isinstance(c, Lazy) for c in by_name[name].data), name


def test_lazy_columns_slice_like_the_whole_list(tiny):
    for t in tiny:
        for name, column in zip(t.columns, t.data):
            if not isinstance(column, Lazy):
                continue
            whole = list(column)  # built 50,000 rows at a time
            assert len(whole) == len(t)
            cuts = sorted({min(c, len(whole)) for c in (0, 1, 7, 8, 333, len(whole) // 2, len(whole))})
            pieces = [v for a, b in zip(cuts, cuts[1:]) for v in column[a:b]]
            assert pieces == whole, (t.name, name)
            assert column[len(whole) // 3] == whole[len(whole) // 3]
            assert column[::5] == whole[::5]


def test_blockwise_draws_give_the_bytes_of_one_call(tiny, monkeypatch):
    # blocks of 3 rows instead of 2**20: every table's COPY bytes stay the same
    monkeypatch.setattr(answers, "_BLOCK", 3)
    assert _digests(generate(profile.load("tiny"), 42)) == _digests(tiny)


def test_blockwise_uniform_draws_equal_one_draw():
    one = np.random.default_rng(5).random((10, 4))
    rng = np.random.default_rng(5)
    assert np.array_equal(np.concatenate([rng.random((3, 4)), rng.random((7, 4))]), one)
    one = np.random.default_rng(5).geometric(0.6, (10, 4))
    rng = np.random.default_rng(5)
    assert np.array_equal(np.concatenate([rng.geometric(0.6, (3, 4)), rng.geometric(0.6, (7, 4))]), one)


def test_compact_uuids_are_the_same_text():
    wide = uuids(np.random.default_rng(3), 50)
    compact = uuids(np.random.default_rng(3), 50, compact=True)
    assert compact.dtype == np.dtype("S36")
    assert texts(compact) == wide.tolist()
    assert texts(wide) == wide.tolist()
