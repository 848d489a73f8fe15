"""session_churn in pandas on hand-built sessions (answers in metric_cases)."""

from __future__ import annotations

import pytest

import metric_cases as mc
from opentier_explore import metrics
from opentier_explore.errors import ConfigError, SchemaError


def test_churn_matches_hand_computed_answers():
    mc.assert_churn(mc.churn_frames())


def test_earlier_as_of_ignores_later_rows():
    c = metrics.session_churn(mc.churn_frames(), as_of=mc.T0 + 10 * mc.D)
    assert c.weekly_active.tolist() == [2, 2]
    assert c.sessions_per_user.tolist() == [2, 1, 1, 0]  # u5 has not signed up yet
    assert c.cohort_retention.shape == (1, 1) and c.cohort_retention.iloc[0, 0] == 1.0


def test_bad_window_and_missing_column():
    with pytest.raises(ConfigError, match="window"):
        metrics.session_churn(mc.churn_frames(), window=0)
    frames = mc.churn_frames()
    frames["sessions"] = frames["sessions"].drop(columns="role")
    with pytest.raises(SchemaError, match="'role' of table 'sessions'"):
        metrics.session_churn(frames)
