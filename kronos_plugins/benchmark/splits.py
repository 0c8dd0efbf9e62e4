"""Rolling-origin evaluation windows shared by every model in the benchmark.

One engine cuts every series into ``(context, target)`` windows so that Kronos and each baseline see exactly
the same inputs, and :func:`fingerprint` gives a process-stable hash of a window's inputs so a test or a
results file can prove it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd

__all__ = ["Window", "fingerprint", "make_windows"]


@dataclass(frozen=True, eq=False)
class Window:
    """One forecast origin of one series.

    Parameters
    ----------
    asset_id : str
        Identifier of the series the window was cut from.
    origin_index : int
        Row position, in the full series, of the first target row. The context is rows
        ``[origin_index - context_length, origin_index)`` and the target is rows
        ``[origin_index, origin_index + horizon)``.
    origin_timestamp : pd.Timestamp
        Timestamp of the first target row.
    context : pd.DataFrame
        Exactly ``context_length`` rows ending just before the origin (a copy, not a view).
    target : pd.DataFrame
        The next ``horizon`` rows (a copy, not a view).

    Notes
    -----
    Equality is identity (``eq=False``) because DataFrames have no boolean ``==``; compare windows with
    :func:`fingerprint`.
    """

    asset_id: str
    origin_index: int
    origin_timestamp: pd.Timestamp
    context: pd.DataFrame
    target: pd.DataFrame


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, found: {value!r}.")
    return int(value)


def make_windows(
    series: pd.DataFrame,
    context_length: int,
    horizon: int,
    n_origins: int,
    step: int,
    start: int | str | pd.Timestamp | None = None,
    *,
    asset_id: str | None = None,
) -> list[Window]:
    """Cut one series into rolling-origin ``(context, target)`` windows.

    Parameters
    ----------
    series : pd.DataFrame
        One asset's rows (for example OHLCV columns) with a strictly increasing ``DatetimeIndex``.
    context_length : int
        Rows of history each window's context holds.
    horizon : int
        Rows each window's target holds.
    n_origins : int
        Number of windows to make.
    step : int
        Rows between consecutive origins. ``step >= horizon`` gives non-overlapping targets.
    start : int, str or pd.Timestamp, optional
        Where the first origin (first target row) goes, as a row position or as a timestamp (the first row
        at or after it). Origins then go forwards by ``step``. By default the origins are placed at the END
        of the series: the last window's target ends at the last row and earlier origins go backwards by
        ``step``.
    asset_id : str, optional
        Identifier stored on each window. Defaults to ``series.attrs["asset_id"]`` when present, else
        ``"series"``.

    Returns
    -------
    list of Window
        ``n_origins`` windows in chronological order of origin.

    Raises
    ------
    ValueError
        If an integer argument is not positive, the index is not a strictly increasing ``DatetimeIndex``,
        or the series is too short for the requested windows (the message gives the lengths).

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=10, freq="D")
    >>> df = pd.DataFrame({"close": np.arange(10.0)}, index=idx)
    >>> [w.origin_index for w in make_windows(df, context_length=4, horizon=2, n_origins=3, step=2)]
    [4, 6, 8]
    """
    context_length = _check_positive_int("context_length", context_length)
    horizon = _check_positive_int("horizon", horizon)
    n_origins = _check_positive_int("n_origins", n_origins)
    step = _check_positive_int("step", step)
    if not isinstance(series, pd.DataFrame):
        raise TypeError(f"`series` must be a pandas DataFrame, found: {type(series).__name__}.")
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError(
            f"`series` must have a DatetimeIndex, found: {type(series.index).__name__}; "
            "set one with `df.set_index('timestamps')`."
        )
    if not (series.index.is_monotonic_increasing and series.index.is_unique):
        raise ValueError(
            "`series` index must be strictly increasing (sorted, no duplicate timestamps); "
            "use `df.sort_index()` and drop duplicates first."
        )

    n_rows = len(series)
    span = (n_origins - 1) * step  # rows between the first and the last origin
    if start is None:
        last_origin = n_rows - horizon
        first_origin = last_origin - span
    else:
        if isinstance(start, Integral) and not isinstance(start, bool):
            first_origin = int(start)
        else:
            first_origin = int(series.index.searchsorted(pd.Timestamp(start), side="left"))
        last_origin = first_origin + span

    needed = context_length + span + horizon
    if first_origin - context_length < 0 or last_origin + horizon > n_rows:
        where = "at the end" if start is None else f"from row {first_origin}"
        raise ValueError(
            f"`series` has {n_rows} rows but {n_origins} origins {where} with `context_length` "
            f"{context_length}, `horizon` {horizon} and `step` {step} need rows "
            f"[{first_origin - context_length}, {last_origin + horizon}) ({needed} rows); "
            "lower `n_origins`, `step` or `context_length`, or pass a longer series."
        )

    if asset_id is None:
        asset_id = str(series.attrs.get("asset_id", "series"))
    windows = []
    for origin in range(first_origin, last_origin + 1, step):
        windows.append(
            Window(
                asset_id=asset_id,
                origin_index=origin,
                origin_timestamp=series.index[origin],
                context=series.iloc[origin - context_length : origin].copy(),
                target=series.iloc[origin : origin + horizon].copy(),
            )
        )
    return windows


def _index_bytes(index: pd.Index) -> bytes:
    if isinstance(index, pd.DatetimeIndex):
        # int64 nanoseconds since the epoch (UTC for tz-aware indexes), plus the zone name.
        values = index.as_unit("ns").asi8.astype("<i8")
        return str(index.tz).encode() + b"|" + values.tobytes()
    return "\x1f".join(map(str, index)).encode()


def fingerprint(window: Window) -> str:
    """SHA-256 of everything a model may see in a window, plus the target timestamps.

    Hashes the context's column names, its values (as little-endian float64) and its index, and the
    target's index; target VALUES are left out so the hash describes the inputs, not the answer. The digest
    depends only on those bytes, so it is stable across processes and machines (unlike ``hash()``).

    Parameters
    ----------
    window : Window
        The window to hash.

    Returns
    -------
    str
        Hex digest, 64 characters.
    """
    h = hashlib.sha256()
    context = window.context
    h.update(("\x1f".join(map(str, context.columns)) + "\x1e").encode())
    h.update(np.asarray(context.shape, dtype="<i8").tobytes())
    for column in context.columns:
        col = context[column]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            h.update(np.ascontiguousarray(col.to_numpy(dtype=np.float64), dtype="<f8").tobytes())
        else:
            h.update("\x1f".join(map(str, col)).encode())
        h.update(b"\x1e")
    h.update(_index_bytes(context.index))
    h.update(b"\x1d")
    h.update(_index_bytes(window.target.index))
    return h.hexdigest()
