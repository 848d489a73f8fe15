"""`display.readable`: what a table shows changes (dates, UTC wall time, rounded durations), the values never do."""

from __future__ import annotations

import pandas as pd
import pytest

from opentier_explore.display import readable, readable_scalar


def _weekly() -> pd.DataFrame:
    weeks = pd.date_range("2025-06-30", periods=3, freq="W-MON", tz="UTC", name="cohort")
    frame = pd.DataFrame(
        {
            "share": [1.0, 0.52, 0.6],
            "seen_at": pd.to_datetime(["2026-06-29 23:26:26.851835", "2026-01-01 01:02:03.5", None], utc=True),
            "latency": pd.to_timedelta(["1 days 12:29:47.207961", "15 days 19:42:35.464572", None]),
        },
        index=weeks,
    )
    frame.columns.name = "week"
    return frame


def test_week_index_prints_as_dates_and_timestamps_as_utc_seconds() -> None:
    text = repr(readable(_weekly()))
    assert "2025-06-30 " in text and "00:00:00" not in text and "+00:00" not in text
    assert "2026-06-29 23:26:26 " in text and ".851835" not in text
    html = readable(_weekly())._repr_html_()
    assert "<th>2025-06-30</th>" in html and "+00:00" not in html


def test_timedeltas_round_to_the_unit_their_size_calls_for() -> None:
    latency = readable(_weekly())["latency"]
    assert latency.iloc[0] == pd.Timedelta("1 days 12:30:00") and latency.iloc[1] == pd.Timedelta("15 days 19:43:00")
    assert pd.isna(latency.iloc[2])
    seconds = readable(pd.Series(pd.to_timedelta(["00:05:03.7", "00:01:00.2"])))
    assert list(seconds) == [pd.Timedelta("00:05:04"), pd.Timedelta("00:01:00")]
    assert readable(pd.Series(pd.to_timedelta(["00:00:00.123456"]))).iloc[0] == pd.Timedelta("00:00:00.123456")


def test_the_original_is_left_untouched() -> None:
    frame = _weekly()
    before = frame.copy()
    readable(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert str(frame.index.tz) == "UTC"


def test_timestamps_in_other_zones_show_their_utc_wall_time() -> None:
    paris = pd.Series(pd.to_datetime(["2026-01-01 10:00:00"]).tz_localize("Europe/Paris"))
    assert readable(paris).iloc[0] == pd.Timestamp("2026-01-01 09:00:00")


def test_multiindex_levels_and_object_columns() -> None:
    index = pd.MultiIndex.from_arrays(
        [pd.to_datetime(["2025-06-30", "2025-06-30"], utc=True), ["a", "b"]], names=["week", "kind"]
    )
    frame = pd.DataFrame({"value": [1, pd.Timestamp("2026-01-01 10:00:00.5", tz="UTC")]}, index=index, dtype=object)
    shown = readable(frame)
    assert list(shown.index.get_level_values("week").astype(str)) == ["2025-06-30", "2025-06-30"]
    assert shown["value"].tolist() == [1, "2026-01-01 10:00:00 UTC"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (pd.Timestamp("2026-06-29 23:26:26.851835", tz="UTC"), "2026-06-29 23:26:26 UTC"),
        (pd.Timestamp("2025-06-30", tz="UTC"), "2025-06-30"),
        (pd.Timestamp("2025-06-30 12:00"), "2025-06-30 12:00:00"),
        (pd.Timedelta("1 days 13:20:05.649068"), pd.Timedelta("1 days 13:20:00")),
        (pd.Timedelta("00:03:05.6"), pd.Timedelta("00:03:06")),
        (42, 42),
    ],
)
def test_scalars(value, shown) -> None:
    assert readable_scalar(value) == shown


def test_frames_without_dates_show_as_they_are() -> None:
    frame = pd.DataFrame({"n": [1, 2], "role": pd.Categorical(["user", "admin"])}, index=["x", "y"])
    assert repr(readable(frame)) == repr(frame)
    assert readable(frame)._repr_html_() == frame._repr_html_()
