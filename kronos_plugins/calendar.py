"""Calendar features and future timestamps for Kronos.

Kronos embeds five calendar features of every bar (`time_features`), so a forecast needs the
timestamps of the bars it predicts. When the caller does not pass them, `infer_future_timestamps`
continues the history. It supports, tried in this order:

- (a) **Regular frequencies** that ``pd.infer_freq`` recognises, calendar or business ones alike: ``"D"``,
  ``"B"``, ``"h"``, ``"5min"``, ``"W-FRI"``, ``"MS"``, ``"ME"`` and so on. The history's offset is
  continued.
- (b) **Daily bars with gaps**, such as weekday bars with holidays missing: one bar a day at a fixed time of
  day. They continue on business days (Monday to Friday), or on the trading weekdays the history shows (see
  below).
- (c) **Intraday sessions**: bars at a constant step (the most common spacing, less than a day) that stop
  each day at a session close and start again on the next trading day at the session open. US equities from
  09:30 to 16:00 in 5-minute bars are one example, a 24/5 FX market or an exchange with a lunch break are
  others. The set of bar times of day and the trading weekdays are learned from the history. The forecast
  continues within the current session and then rolls to the first bar time of the next trading weekday.
- (d) Anything else raises `KronosInputError`, which says that the frequency could not be inferred and that
  ``future_timestamps`` should be passed.

For (b) and (c), the weekly schedule is learned as follows. A weekday is a trading day if the history has
bars on it. Monday to Friday also count as trading days when the history spans fewer than two of them,
because a short history cannot show that a market is closed on that day. Bar times are learned per weekday
from the days strictly inside the history, since the first and last days are usually cut short by the
window. A weekday without such an inside day uses the union of all bar times seen. Future holidays cannot be
known and count as trading days.

Timestamps with a timezone keep it. Cases (b) and (c) work on the local wall-clock time, so a session that
opens at 09:30 New York time still opens at 09:30 after a daylight-saving change. Future wall-clock times
that do not exist in that timezone are skipped.
"""

from __future__ import annotations

import bisect
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from kronos_plugins.validation import KronosInputError, check_positive_int

__all__ = ["time_features", "infer_future_timestamps", "regular_calendar"]

TIME_FEATURE_NAMES = ("minute", "hour", "weekday", "day", "month")
"""Columns of `time_features`, in order."""

_DAY_NS = 86_400 * 10**9
_MIN_HISTORY = 3  # pd.infer_freq needs three timestamps, and so do the session rules


def time_features(ts: Any) -> np.ndarray:
    """Return the five calendar features Kronos embeds for each timestamp.

    The features follow the Kronos reference implementation and equal pandas' ``.minute``, ``.hour``,
    ``.weekday`` (Monday = 0), ``.day`` (1 to 31) and ``.month`` (1 to 12). For timezone-aware timestamps they
    are read in local time.

    Parameters
    ----------
    ts
        A ``pd.DatetimeIndex``, or anything ``pd.DatetimeIndex`` accepts, without NaT.

    Returns
    -------
    np.ndarray
        float32 array shaped (T, 5), with the columns in `TIME_FEATURE_NAMES` order.

    Raises
    ------
    KronosInputError
        If ``ts`` cannot be read as timestamps or contains NaT.

    Examples
    --------
    >>> time_features(pd.DatetimeIndex(["2024-02-29 13:45"]))
    array([[45., 13.,  3., 29.,  2.]], dtype=float32)
    """
    ts = _as_datetime_index(ts, "ts")
    if ts.hasnans:
        raise KronosInputError(
            f"`ts` has {int(np.asarray(ts.isna()).sum())} missing value(s) (NaT), the first at position "
            f"{int(np.argmax(np.asarray(ts.isna())))}; drop or fill them first."
        )
    columns = [ts.minute, ts.hour, ts.weekday, ts.day, ts.month]
    return np.stack([np.asarray(c) for c in columns], axis=1).astype(np.float32).reshape(len(ts), 5)


def infer_future_timestamps(ts: Any, horizon: int) -> pd.DatetimeIndex:
    """Return the ``horizon`` timestamps that follow ``ts[-1]``.

    The supported histories are described in this module's docstring: regular frequencies, daily bars with
    holidays, and intraday sessions.

    Parameters
    ----------
    ts
        The history's timestamps, strictly increasing, at least three of them. A ``pd.DatetimeIndex`` or
        anything ``pd.DatetimeIndex`` accepts.
    horizon
        How many future timestamps to return; an integer >= 1.

    Returns
    -------
    pd.DatetimeIndex
        ``horizon`` strictly increasing timestamps after ``ts[-1]``, in the timezone of ``ts``.

    Raises
    ------
    KronosInputError
        If ``horizon`` is not a positive integer, ``ts`` has fewer than three timestamps, holds NaT or does
        not strictly increase, or if its frequency cannot be inferred (then pass ``future_timestamps``).

    Examples
    --------
    >>> ts = pd.DatetimeIndex(["2024-12-23", "2024-12-24", "2024-12-26", "2024-12-27"])  # 25th: a holiday
    >>> infer_future_timestamps(ts, 2)
    DatetimeIndex(['2024-12-30', '2024-12-31'], dtype='datetime64[ns]', freq=None)
    """
    horizon = check_positive_int(horizon, "horizon")
    ts = _as_datetime_index(ts, "ts")
    if len(ts) < _MIN_HISTORY:
        raise KronosInputError(
            f"`ts` has {len(ts)} timestamp(s); inferring future timestamps needs at least {_MIN_HISTORY}. "
            "Pass a longer history or `future_timestamps` explicitly."
        )
    if ts.hasnans:
        raise KronosInputError("`ts` contains NaT; drop or fill the missing timestamps first.")
    steps = np.diff(ts.asi8)
    if (steps <= 0).any():
        pos = int(np.argmax(steps <= 0)) + 1
        raise KronosInputError(
            f"`ts` must strictly increase, but position {pos} has {ts[pos]} after {ts[pos - 1]}; "
            "sort the rows and drop duplicate bars first."
        )

    freq = pd.infer_freq(ts)
    if freq is not None:
        future = pd.date_range(start=ts[-1], periods=horizon + 1, freq=to_offset(freq))
        future = future[1:] if future[0] == ts[-1] else future[:horizon]
        return pd.DatetimeIndex(future, freq=None)
    return _continue_sessions(ts, horizon)


# ----------------------------------------------------------------------------------------------------
# helpers


def _as_datetime_index(ts: Any, name: str) -> pd.DatetimeIndex:
    if isinstance(ts, pd.DatetimeIndex):
        return ts
    try:
        return pd.DatetimeIndex(ts)
    except (TypeError, ValueError) as err:
        raise KronosInputError(
            f"`{name}` must be a pandas DatetimeIndex (or convertible to one), got {type(ts).__name__} "
            f"({err}); convert it with `pd.DatetimeIndex(pd.to_datetime(...))`."
        ) from err


def _unsupported(reason: str, horizon: int) -> KronosInputError:
    return KronosInputError(
        f"Could not infer the frequency of the timestamps: {reason}. Pass `future_timestamps` with the "
        f"{horizon} timestamps to forecast."
    )


def _continue_sessions(ts: pd.DatetimeIndex, horizon: int) -> pd.DatetimeIndex:
    """Cases (b) and (c): continue a weekly schedule of bar times learned from the history."""
    tz = ts.tz
    wall = ts.tz_localize(None) if tz is not None else ts  # local wall-clock time
    wall_ns = wall.asi8
    diffs = np.diff(wall_ns)
    diffs = diffs[diffs > 0]  # a daylight-saving change can repeat a wall-clock time
    if len(diffs) == 0:
        raise _unsupported("the timestamps have no positive spacing in local time", horizon)
    values, counts = np.unique(diffs, return_counts=True)
    step = int(values[np.argmax(counts)])  # most common spacing; ties go to the shortest
    if step > _DAY_NS:
        raise _unsupported(
            f"the most common spacing is {pd.Timedelta(step, unit='ns')} and the bars follow no regular "
            "calendar",
            horizon,
        )

    day_ns = wall.normalize().asi8
    tod = wall_ns - day_ns  # time of day in ns
    off_grid = (tod - tod[0]) % step != 0
    if off_grid.any():
        pos = int(np.argmax(off_grid))
        raise _unsupported(
            f"{ts[pos]} is not on the grid of {pd.Timedelta(step, unit='ns')} bars starting at "
            f"{pd.Timedelta(int(tod[0]), unit='ns')} each day",
            horizon,
        )

    weekday = np.asarray(wall.weekday)
    span = pd.date_range(pd.Timestamp(day_ns[0]), pd.Timestamp(day_ns[-1]), freq="D")
    days_in_span = np.bincount(np.asarray(span.weekday), minlength=7)
    observed = set(weekday.tolist())
    trading = observed | {d for d in range(5) if days_in_span[d] < 2}

    inside = (day_ns != day_ns[0]) & (day_ns != day_ns[-1])
    all_times = set(tod.tolist())
    schedule: dict[int, list[int]] = {}
    for d in range(7):
        if (inside & (weekday == d)).any():
            schedule[d] = sorted(set(tod[weekday == d].tolist()))
        else:
            schedule[d] = sorted(all_times | set(tod[weekday == d].tolist()))

    out: list[pd.Timestamp] = []
    last = ts[-1]
    day = pd.Timestamp(int(day_ns[-1]))
    after = int(tod[-1])
    while len(out) < horizon:
        times = schedule[day.weekday()] if day.weekday() in trading else []
        i = bisect.bisect_right(times, after)
        if i == len(times):  # session over: next calendar day, before its first bar
            day += pd.Timedelta(days=1)
            after = -1
            continue
        after = times[i]
        stamp = day + pd.Timedelta(after, unit="ns")
        if tz is not None:
            stamp = stamp.tz_localize(tz, ambiguous=True, nonexistent="NaT")
            if pd.isna(stamp) or stamp <= last:  # skipped or repeated by a daylight-saving change
                continue
        out.append(stamp)
        last = stamp
    return pd.DatetimeIndex(out)


def regular_calendar(index: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, str]:
    """A regular timestamp grid for hosts that need one (Darts, GluonTS), and its frequency.

    A regular index (``pd.infer_freq`` finds a frequency) is returned unchanged. Otherwise the modal spacing
    sets the frequency (daily bars with no weekend bar: business days ``"B"``) and the grid is the
    ``len(index)`` bars of that frequency ENDING at the last timestamp, so the most recent bars and the
    forecast bars keep their real calendar and only bars before a gap are relabelled.

    Raises
    ------
    ValueError
        If no frequency can be found (e.g. monthly bars with an irregular spacing).
    """
    freq = pd.infer_freq(index) if len(index) >= 3 else None
    if freq is not None:
        return pd.DatetimeIndex(index, freq=freq), freq
    diffs = np.diff(index.asi8)
    values, counts = np.unique(diffs, return_counts=True)
    modal = pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")
    if modal == pd.Timedelta(days=1):
        freq = "D" if (np.asarray(index.weekday) >= 5).any() else "B"
    elif modal < pd.Timedelta(days=1):
        freq = pd.tseries.frequencies.to_offset(modal).freqstr
    else:
        raise ValueError(
            f"cannot put bars spaced {modal} (modal spacing) on a regular grid for Darts/GluonTS; "
            "give the dataset a regular index."
        )
    grid = pd.date_range(end=index[-1], periods=len(index), freq=freq, name=index.name)
    return grid, freq
