"""Tests for kronos_plugins.calendar: calendar features and inferred future timestamps.

Every expected timestamp below is written out by hand from a calendar, not computed with pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.calendar import infer_future_timestamps, time_features
from kronos_plugins.validation import KronosInputError


def _idx(*stamps: str, tz: str | None = None) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(list(stamps), tz=tz)


def _sessions(days: list[str], times: list[str], *, tz: str | None = None) -> pd.DatetimeIndex:
    """Bars at every time in ``times`` (HH:MM) on every day in ``days``."""
    return pd.DatetimeIndex([f"{d} {t}" for d in days for t in times], tz=tz)


# US equities, bars labelled by their start: 09:30, 09:35, ..., 15:55 (78 bars)
US_TIMES = [f"{h:02d}:{m:02d}" for h in range(9, 16) for m in range(0, 60, 5) if (h, m) >= (9, 30)]
# A-shares with a lunch break, bars labelled by their end: 09:35 ... 11:30, then 13:05 ... 15:00
CN_TIMES = [
    f"{h:02d}:{m:02d}"
    for h in range(9, 16)
    for m in range(0, 60, 5)
    if (9, 35) <= (h, m) <= (11, 30) or (13, 5) <= (h, m) <= (15, 0)
]


# ----------------------------------------------------------------------------------------------------
# time_features


def test_when_timestamps_are_given_then_time_features_are_minute_hour_weekday_day_month():
    ts = _idx("2024-02-29 13:45", "2023-12-31 23:59", "2024-01-01 00:00", "2025-07-04 09:30")

    feats = time_features(ts)

    assert feats.dtype == np.float32 and feats.shape == (4, 5)
    np.testing.assert_array_equal(
        feats,
        [
            [45, 13, 3, 29, 2],  # Thursday, leap day
            [59, 23, 6, 31, 12],  # Sunday
            [0, 0, 0, 1, 1],  # Monday
            [30, 9, 4, 4, 7],  # Friday
        ],
    )


def test_when_timestamps_are_tz_aware_then_time_features_use_local_time():
    ts = pd.DatetimeIndex(["2024-06-30 20:30"], tz="UTC").tz_convert("Asia/Tokyo")  # Monday 1 July, 05:30

    np.testing.assert_array_equal(time_features(ts), [[30, 5, 0, 1, 7]])


def test_when_input_is_a_list_of_strings_then_time_features_converts_it():
    np.testing.assert_array_equal(time_features(["2024-03-10 08:05"]), [[5, 8, 6, 10, 3]])


def test_when_timestamps_are_empty_then_time_features_has_zero_rows():
    assert time_features(pd.DatetimeIndex([])).shape == (0, 5)


@pytest.mark.parametrize(
    ("ts", "match"),
    [
        (
            pd.DatetimeIndex(["2024-01-01", None]),
            r"`ts` has 1 missing value\(s\) \(NaT\), the first at position 1",
        ),
        (["not a date"], r"`ts` must be a pandas DatetimeIndex"),
    ],
)
def test_when_timestamps_are_invalid_then_time_features_raises(ts, match):
    with pytest.raises(KronosInputError, match=match):
        time_features(ts)


# ----------------------------------------------------------------------------------------------------
# (a) regular frequencies


@pytest.mark.parametrize(
    ("history", "horizon", "expected"),
    [
        pytest.param(
            _idx("2024-01-29", "2024-01-30", "2024-01-31"),
            3,
            _idx("2024-02-01", "2024-02-02", "2024-02-03"),
            id="daily",
        ),
        pytest.param(
            _idx("2024-03-07 16:00", "2024-03-08 16:00", "2024-03-11 16:00"),
            3,  # Thu, Fri, Mon: 'B'
            _idx("2024-03-12 16:00", "2024-03-13 16:00", "2024-03-14 16:00"),
            id="business-days-regular",
        ),
        pytest.param(
            _idx("2024-12-31 22:00", "2024-12-31 23:00", "2025-01-01 00:00"),
            2,
            _idx("2025-01-01 01:00", "2025-01-01 02:00"),
            id="hourly-24-7",
        ),
        pytest.param(
            _idx("2024-01-05 09:50", "2024-01-05 09:55", "2024-01-05 10:00"),
            2,
            _idx("2024-01-05 10:05", "2024-01-05 10:10"),
            id="5min",
        ),
        pytest.param(
            _idx("2024-12-13", "2024-12-20", "2024-12-27"),
            2,
            _idx("2025-01-03", "2025-01-10"),
            id="weekly-friday",
        ),
        pytest.param(
            _idx("2024-10-01", "2024-11-01", "2024-12-01"),
            2,
            _idx("2025-01-01", "2025-02-01"),
            id="month-start",
        ),
        pytest.param(
            _idx("2024-01-31", "2024-02-29", "2024-03-31"),
            3,
            _idx("2024-04-30", "2024-05-31", "2024-06-30"),
            id="month-end",
        ),
    ],
)
def test_when_frequency_is_regular_then_future_timestamps_continue_it(history, horizon, expected):
    pd.testing.assert_index_equal(infer_future_timestamps(history, horizon), expected, check_exact=True)


def test_when_daily_tz_aware_series_crosses_daylight_saving_then_midnights_stay_local():
    # New York moves to daylight time at 02:00 on Sunday 10 March 2024
    history = _idx("2024-03-07", "2024-03-08", "2024-03-09", tz="America/New_York")

    future = infer_future_timestamps(history, 2)

    assert str(future.tz) == "America/New_York"
    assert list(future) == [
        pd.Timestamp("2024-03-10 05:00", tz="UTC"),  # 00:00 EST
        pd.Timestamp("2024-03-11 04:00", tz="UTC"),  # 00:00 EDT
    ]


def test_when_hourly_24_7_series_has_one_missing_bar_then_it_continues_hourly_through_the_weekend():
    history = pd.date_range("2024-03-01 00:00", "2024-03-09 23:00", freq="h").delete(100)  # a gap mid-week

    future = infer_future_timestamps(history, 3)

    pd.testing.assert_index_equal(future, _idx("2024-03-10 00:00", "2024-03-10 01:00", "2024-03-10 02:00"))


# ----------------------------------------------------------------------------------------------------
# (b) daily bars with gaps


def test_when_business_days_have_a_holiday_gap_then_future_is_business_days():
    # Wednesday 25 December is missing; the weekend after Friday 27 December is skipped
    history = _idx("2024-12-19", "2024-12-20", "2024-12-23", "2024-12-24", "2024-12-26", "2024-12-27")

    future = infer_future_timestamps(history, 4)

    pd.testing.assert_index_equal(future, _idx("2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02"))


def test_when_business_day_bars_have_a_time_of_day_then_it_is_kept():
    history = _idx("2024-03-27 16:00", "2024-03-28 16:00", "2024-04-01 16:00")  # Good Friday missing

    future = infer_future_timestamps(history, 4)

    pd.testing.assert_index_equal(
        future, _idx("2024-04-02 16:00", "2024-04-03 16:00", "2024-04-04 16:00", "2024-04-05 16:00")
    )


def test_when_a_short_history_has_not_seen_thursday_then_thursday_still_trades():
    history = _idx("2024-03-04", "2024-03-05", "2024-03-07")  # Mon, Tue, (Wed missing), Thu

    future = infer_future_timestamps(history, 3)

    pd.testing.assert_index_equal(future, _idx("2024-03-08", "2024-03-11", "2024-03-12"))


def test_when_a_market_trades_sunday_to_thursday_then_the_weekly_pattern_is_learned():
    days = pd.date_range("2024-03-03", "2024-03-21", freq="D")  # Sunday 3 March to Thursday 21 March
    history = days[(days.weekday != 4) & (days.weekday != 5)].delete(3)  # and Wednesday 6 March is a holiday

    future = infer_future_timestamps(history, 3)

    pd.testing.assert_index_equal(future, _idx("2024-03-24", "2024-03-25", "2024-03-26"))  # Sun, Mon, Tue


# ----------------------------------------------------------------------------------------------------
# (c) intraday sessions


def test_when_us_session_ends_on_friday_then_future_rolls_to_monday_open():
    # history: Wednesday from 14:00, all of Thursday, Friday up to 15:45
    history = _sessions(["2024-03-06"], US_TIMES[54:]).append(
        _sessions(["2024-03-07", "2024-03-08"], US_TIMES)
    )
    history = history[history <= pd.Timestamp("2024-03-08 15:45")]
    assert history[0] == pd.Timestamp("2024-03-06 14:00")

    future = infer_future_timestamps(history, 5)

    pd.testing.assert_index_equal(
        future,
        _idx(
            "2024-03-08 15:50", "2024-03-08 15:55", "2024-03-11 09:30", "2024-03-11 09:35", "2024-03-11 09:40"
        ),
    )


def test_when_us_session_closes_midweek_then_future_starts_at_next_mornings_open():
    history = _sessions(["2024-03-04", "2024-03-05"], US_TIMES)

    future = infer_future_timestamps(history, 2)

    pd.testing.assert_index_equal(future, _idx("2024-03-06 09:30", "2024-03-06 09:35"))


def test_when_session_has_a_lunch_break_then_future_skips_it():
    history = _sessions(["2024-03-04", "2024-03-05", "2024-03-06"], CN_TIMES)
    history = history[history <= pd.Timestamp("2024-03-06 11:25")]

    future = infer_future_timestamps(history, 4)

    pd.testing.assert_index_equal(
        future, _idx("2024-03-06 11:30", "2024-03-06 13:05", "2024-03-06 13:10", "2024-03-06 13:15")
    )


def test_when_tz_aware_session_rolls_over_daylight_saving_then_it_opens_at_local_0930():
    # Friday 8 March is still EST (UTC-5); Monday 11 March is EDT (UTC-4)
    history = _sessions(["2024-03-06", "2024-03-07", "2024-03-08"], US_TIMES, tz="America/New_York")

    future = infer_future_timestamps(history, 2)

    assert str(future.tz) == "America/New_York"
    assert list(future) == [
        pd.Timestamp("2024-03-11 13:30", tz="UTC"),
        pd.Timestamp("2024-03-11 13:35", tz="UTC"),
    ]


def test_when_fx_market_trades_24_5_then_future_skips_from_friday_close_to_sunday_open():
    # hourly UTC bars from Sunday 22:00 to Friday 21:00, two weeks
    hours = pd.date_range("2024-03-03 22:00", "2024-03-15 20:00", freq="h")
    closed = (
        ((hours.weekday == 4) & (hours.hour >= 22))
        | (hours.weekday == 5)
        | ((hours.weekday == 6) & (hours.hour < 22))
    )
    history = hours[~closed]

    future = infer_future_timestamps(history, 4)

    pd.testing.assert_index_equal(
        future, _idx("2024-03-15 21:00", "2024-03-17 22:00", "2024-03-17 23:00", "2024-03-18 00:00")
    )


# ----------------------------------------------------------------------------------------------------
# (d) and argument errors


@pytest.mark.parametrize(
    ("history", "horizon", "match"),
    [
        pytest.param(
            _idx("2024-01-01", "2024-01-02"),
            1,
            r"`ts` has 2 timestamp\(s\); .* needs at least 3",
            id="too-short",
        ),
        pytest.param(_idx("2024-01-01", None, "2024-01-03"), 1, r"`ts` contains NaT", id="nat"),
        pytest.param(
            _idx("2024-01-01", "2024-01-03", "2024-01-02"),
            1,
            r"`ts` must strictly increase, but position 2 has 2024-01-02 00:00:00 after 2024-01-03 00:00:00",
            id="unsorted",
        ),
        pytest.param(
            _idx("2024-01-01", "2024-01-02", "2024-01-02"),
            1,
            r"`ts` must strictly increase, but position 2",
            id="duplicate",
        ),
        pytest.param(
            _idx("2024-01-05", "2024-01-12", "2024-01-19", "2024-01-25", "2024-02-02"),
            1,
            r"Could not infer the frequency .* most common spacing is 7 days .* "
            r"Pass `future_timestamps` with the 1 timestamps",
            id="weekly-with-shift",
        ),
        pytest.param(
            _idx(
                "2024-01-05 09:30",
                "2024-01-05 09:35",
                "2024-01-05 09:40",
                "2024-01-05 09:42",
                "2024-01-05 09:47",
            ),
            3,
            r"Could not infer the frequency .* "
            r"2024-01-05 09:42:00 is not on the grid of 0 days 00:05:00 bars",
            id="off-grid",
        ),
        pytest.param(
            _idx("2024-01-01", "2024-01-02", "2024-01-03"), 0, r"`horizon` must be >= 1, got 0", id="h0"
        ),
        pytest.param(
            _idx("2024-01-01", "2024-01-02", "2024-01-03"),
            2.5,
            r"`horizon` must be an integer >= 1, got 2\.5",
            id="h-float",
        ),
        pytest.param(["a", "b", "c"], 1, r"`ts` must be a pandas DatetimeIndex", id="not-datetimes"),
    ],
)
def test_when_history_is_unsupported_then_infer_future_timestamps_raises(history, horizon, match):
    with pytest.raises(KronosInputError, match=match):
        infer_future_timestamps(history, horizon)


def test_when_horizon_is_long_then_future_timestamps_strictly_increase_after_the_history():
    history = _sessions(["2024-03-04", "2024-03-05"], US_TIMES)

    future = infer_future_timestamps(history, 1000)

    assert len(future) == 1000 and future.is_monotonic_increasing and future.is_unique
    assert future[0] > history[-1]
    assert set(future.strftime("%H:%M")) == set(US_TIMES)
    assert set(future.weekday) == {0, 1, 2, 3, 4}
