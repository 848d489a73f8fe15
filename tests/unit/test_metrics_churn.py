"""session_churn in pandas on hand-built sessions and chat (answers in metric_cases)."""

from __future__ import annotations

import datetime

import metric_cases as mc
import pandas as pd
import pytest

from opentier_explore import metrics
from opentier_explore.errors import ConfigError, SchemaError


def test_churn_matches_hand_computed_answers():
    mc.assert_churn(mc.churn_frames())


def test_purged_sessions_table_gives_missing_figures_not_zeros_or_churn():
    mc.assert_purged_churn(mc.purged_frames())


def test_earlier_as_of_ignores_later_rows():
    c = metrics.session_churn(mc.churn_frames(), as_of=mc.T0 + 10 * mc.D, activity="sessions")
    assert c.weekly_active.tolist() == [pd.NA, 2]
    assert c.sessions_per_user.tolist() == [2, 1, 1, 0]  # u5 has not signed up yet
    assert c.cohort_retention.shape == (1, 1) and pd.isna(
        c.cohort_retention.iloc[0, 0]
    )  # week 0 began before any login
    chat = metrics.session_churn(mc.churn_frames(), as_of=mc.T0 + 10 * mc.D)
    assert chat.activity_per_user.tolist() == [2, 1, 1, 0] and chat.orphan_events == 1


def test_bad_window_activity_and_missing_column():
    with pytest.raises(ConfigError, match="window"):
        metrics.session_churn(mc.churn_frames(), window=0)
    with pytest.raises(ConfigError, match="`activity` must be 'chat'"):
        metrics.session_churn(mc.churn_frames(), activity="logins")
    frames = mc.churn_frames()
    frames["sessions"] = frames["sessions"].drop(columns="role")
    with pytest.raises(SchemaError, match="'role' of table 'sessions'"):
        metrics.session_churn(frames)
    frames = mc.churn_frames()
    del frames["conversations"]
    with pytest.raises(SchemaError, match="table 'conversations'"):
        metrics.session_churn(frames)
    metrics.session_churn(frames, activity="sessions")  # login churn does not read chat


def test_as_of_before_all_data_and_empty_tables():
    for activity in ("chat", "sessions"):
        early = metrics.session_churn(mc.churn_frames(), as_of=mc.T0 - 30 * mc.D, activity=activity)
        assert early.weekly_active.empty and early.cohort_retention.empty and early.churned is None
        assert early.churn_rate.empty and early.sessions_per_user.empty and early.stale_roles.empty
        assert pd.isna(early.observed_from)
        empty = {name: df.iloc[:0] for name, df in mc.churn_frames().items()}
        c = metrics.session_churn(empty, activity=activity)
        assert pd.isna(c.as_of) and c.weekly_active.empty and c.cohort_retention.empty and c.sessions_per_user.empty


def test_as_of_may_be_a_datetime_date_or_naive_string_meaning_utc():
    ref = metrics.session_churn(mc.churn_frames(), as_of=mc.T0 + 10 * mc.D)
    for as_of in (
        datetime.datetime(2025, 3, 13),
        datetime.date(2025, 3, 13),
        "2025-03-13 00:00",
        datetime.datetime(2025, 3, 13, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
    ):
        got = metrics.session_churn(mc.churn_frames(), as_of=as_of)
        assert got.as_of == ref.as_of
        pd.testing.assert_frame_equal(got.cohort_retention, ref.cohort_retention)
    with pytest.raises(ConfigError, match="'2025-13-01' is not a point in time"):
        metrics.session_churn(mc.churn_frames(), as_of="2025-13-01")


def test_signed_in_matches_hand_computed_answers():
    mc.assert_signed_in(mc.churn_frames())
    mc.assert_signed_in(mc.purged_frames(), purged=True)
    assert metrics.signed_in({"sessions": mc.churn_frames()["sessions"].iloc[:0]}).live_sessions == 0


def test_user_agents_are_named():
    assert metrics.signed_in.__module__.endswith("signed_in")
    from opentier_explore.metrics.signed_in import client_and_system

    assert client_and_system("OpenTier-Desktop/1.4.2 (Macintosh; Intel Mac OS X 14_5) Electron/31.2.0") == (
        "OpenTier desktop",
        "macOS",
    )
    assert client_and_system(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36"
    ) == ("Chrome", "Android")
    assert client_and_system(None) == (metrics.NO_AGENT, metrics.NO_AGENT)
