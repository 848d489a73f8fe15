"""moderation_latency in pandas on hand-built submissions (answers in metric_cases)."""

from __future__ import annotations

import pytest

import metric_cases as mc
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
