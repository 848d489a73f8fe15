"""moderation_latency in pandas on hand-built submissions (answers in metric_cases)."""

from __future__ import annotations

import metric_cases as mc
import pandas as pd
import pytest

from opentier_explore import metrics
from opentier_explore.errors import SchemaError


def test_moderation_matches_hand_computed_answers():
    mc.assert_moderation(mc.moderation_frames())


def test_no_reviewed_rows_gives_nat():
    frames = mc.moderation_frames()
    ks = frames["knowledge_submissions"]
    frames["knowledge_submissions"] = ks[ks["status"] == "pending"]
    m = metrics.moderation_latency(frames)
    assert m.percentiles.isna().all() and m.km_median is not None and str(m.km_median) == "NaT"
    assert m.by_reviewer.empty and m.by_status.tolist() == [3, 0, 0]


def test_missing_column_is_one_clear_error():
    frames = mc.moderation_frames()
    frames["knowledge_submissions"] = frames["knowledge_submissions"].drop(columns="reviewed_at")
    with pytest.raises(SchemaError, match="'reviewed_at' of table 'knowledge_submissions'"):
        metrics.moderation_latency(frames)


def test_empty_table_and_datetime_as_of():
    empty = {name: df.iloc[:0] for name, df in mc.moderation_frames().items()}
    m = metrics.moderation_latency(empty)
    assert pd.isna(m.as_of) and m.by_status.tolist() == [0, 0, 0] and m.backlog.empty and pd.isna(m.km_median)
    ref = metrics.moderation_latency(mc.moderation_frames(), as_of=mc.MOD_AS_OF)
    got = metrics.moderation_latency(mc.moderation_frames(), as_of=mc.MOD_AS_OF.to_pydatetime())
    assert got.as_of == ref.as_of and got.km_median == ref.km_median
    pd.testing.assert_series_equal(got.backlog, ref.backlog)
