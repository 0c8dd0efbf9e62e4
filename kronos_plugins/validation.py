"""Checks on user input: OHLCV frames, integer arguments and sampling settings.

Every check on data a user hands to Kronos lives here, so that the pipeline and the adapters raise the same
errors with the same wording. Each error is a `KronosInputError` (a ``ValueError``) whose message names
the frame, the column, the row (position and index label) and the offending value, and says how to fix it.

The accepted frame is described in `prepare_context`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .candles import high_below, low_above, widen

__all__ = [
    "KRONOS_COLUMNS",
    "OHLC_MODES",
    "PRICE_COLUMNS",
    "KronosInputError",
    "ValidatedFrame",
    "check_positive_int",
    "check_sampling",
    "prepare_context",
    "resolve_columns",
    "validate_context",
]

PRICE_COLUMNS = ("open", "high", "low", "close")
"""Columns every context must have, in this order."""

KRONOS_COLUMNS = ("open", "high", "low", "close", "volume", "amount")
"""All columns Kronos models, in the order the tokenizer expects them."""

TIMESTAMP_COLUMN = "timestamps"
"""Column read as timestamps when the frame has no ``DatetimeIndex`` (the upstream Kronos name)."""

OHLC_MODES = ("raise", "widen")
"""What to do with a bar whose high/low do not hold its open and close (see `validate_context`)."""

_REL_TOL = 1e-9  # relative slack on the high/low consistency checks, for float rounding
_SHOWN_COLUMNS = 12  # how many column names an error message lists before eliding the rest
SHOWN_ROWS = 5
"""How many widened rows a report lists (it always counts them all)."""


class KronosInputError(ValueError):
    """Raised when user input (a frame, an argument or a sampling setting) is invalid.

    It subclasses ``ValueError`` so that callers catching ``ValueError`` keep working. The message names the
    offending argument, column or row and says how to fix it.
    """


@dataclass(frozen=True)
class ValidatedFrame:
    """What `validate_context` returns: the frame, its timestamps, and the rows ``ohlc="widen"`` changed."""

    frame: pd.DataFrame  # float64, fresh RangeIndex, the Kronos columns found in KRONOS_COLUMNS order
    timestamps: pd.DatetimeIndex | None  # None for a frame without time information
    widened: dict | None = None  # ohlc="widen": {"count", "rows"}; None otherwise


def prepare_context(df: pd.DataFrame, **options: Any) -> tuple[pd.DataFrame, pd.DatetimeIndex | None]:
    """Validate one OHLCV frame and return it in the layout Kronos expects: ``(frame, timestamps)``.

    The checks and the keyword `options` (``name``, ``min_length``, ``column_mapping``, ``require_positive``,
    ``ohlc``) are those of `validate_context`, which also returns what ``ohlc="widen"`` changed.
    """
    valid = validate_context(df, **options)
    return valid.frame, valid.timestamps


def validate_context(
    df: pd.DataFrame,
    *,
    name: str = "context",
    min_length: int = 1,
    column_mapping: Mapping[str, str] | None = None,
    require_positive: bool = True,
    ohlc: str = "raise",
) -> ValidatedFrame:
    """Validate one OHLCV frame and return it in the layout Kronos expects.

    Columns are resolved as follows. Entries of ``column_mapping`` come first; every Kronos column it does not
    name is then looked up by exact name, and failing that case-insensitively (``"Close"`` is read as
    ``close``). ``open``, ``high``, ``low`` and ``close`` are required; ``volume`` and ``amount`` are
    optional. Columns that match no Kronos column (and are not the ``timestamps`` column) are ignored.

    Timestamps come from the index when it is a ``DatetimeIndex`` (a ``PeriodIndex`` is converted to its start
    times); otherwise from a column named ``timestamps`` (matched like the other columns and parsed with
    ``pd.to_datetime``); otherwise there are none, as for a ``RangeIndex`` or an integer index.
    Timezone-aware timestamps are kept as they are.

    Parameters
    ----------
    df
        One series of bars, one row per bar, oldest first.
    name
        What the frame is called in error messages, e.g. ``"context"`` or ``"series 3"``.
    min_length
        The fewest rows accepted.
    column_mapping
        Maps a Kronos column name to the user's column name, e.g. ``{"close": "Adj Close", "volume": "Vol"}``.
    require_positive
        Whether open, high, low and close must be > 0 (default True: they are prices). False accepts any finite
        values, for series that are not prices (spreads, rates, generic data).
    ohlc : {"raise", "widen"}, default="raise"
        A bar whose ``high`` is below ``max(open, close)`` or whose ``low`` is above ``min(open, close)``
        (real feeds send some): ``"raise"`` is a `KronosInputError` naming the row; ``"widen"`` keeps open and
        close and sets ``high = max(high, open, close)``, ``low = min(low, open, close)``
        (`kronos_plugins.candles.widen`) for exactly the rows ``"raise"`` would reject, and reports them.

    Returns
    -------
    ValidatedFrame
        ``frame``: float64 values with a fresh ``RangeIndex``; its columns are the Kronos columns found, in
        `KRONOS_COLUMNS` order. ``timestamps``: one timestamp per row, or ``None`` when the frame carries no
        time information. ``widened`` (``ohlc="widen"`` only): ``{"count": rows changed, "rows": the first
        SHOWN_ROWS of them}``, each row a dict with its position ``row``, index ``label``, ``open``,
        ``close``, ``high`` and ``low`` as given and ``high_widened`` / ``low_widened``.

    Raises
    ------
    KronosInputError
        If ``df`` is not a DataFrame; if a required column is missing, ambiguous or wrongly mapped; if a used
        column is not numeric or holds NaN or infinite values; if the timestamps hold NaT, decrease or repeat;
        if a price is not positive; if ``high`` is below ``max(open, close)`` or ``low`` above
        ``min(open, close)`` (beyond a relative tolerance of 1e-9); if ``volume`` or ``amount`` is negative;
        or if the frame has fewer than ``min_length`` rows.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Open": [10.0, 10.5], "High": [11.0, 11.0], "Low": [9.5, 10.0],
    ...                     "Close": [10.5, 10.8], "Ticker": ["X", "X"]})
    >>> valid = validate_context(raw)
    >>> list(valid.frame.columns), valid.timestamps is None
    (['open', 'high', 'low', 'close'], True)
    """
    if ohlc not in OHLC_MODES:
        raise KronosInputError(f"`ohlc` must be one of {list(OHLC_MODES)}, got {ohlc!r}.")
    if not isinstance(df, pd.DataFrame):
        raise KronosInputError(
            f"`{name}` must be a pandas DataFrame with open/high/low/close columns, got {type(df).__name__}; "
            "wrap your data with `pd.DataFrame(...)`."
        )
    min_length = check_positive_int(min_length, "min_length", minimum=0)

    sources = resolve_columns(df, name, column_mapping)
    used_labels = set(sources.values())
    ts_label = (
        None
        if isinstance(df.index, (pd.DatetimeIndex, pd.PeriodIndex))
        else _find_timestamp_column(df, name, exclude=used_labels)
    )

    if len(df) < min_length:
        raise KronosInputError(
            f"`{name}` has {len(df)} rows; Kronos needs at least {min_length}. Pass a longer history."
        )

    columns = {col: _numeric_values(df, name, col, label) for col, label in sources.items()}
    for col, values in columns.items():
        _check_finite(df, name, col, values)

    timestamps = _timestamps(df, name, ts_label)

    for col in PRICE_COLUMNS if require_positive else ():
        _check_first(
            df,
            name,
            columns[col] <= 0,
            f"column `{col}` must be > 0",
            lambda i, c=col: f"{c}={_num(columns[c][i])}",
            hint="; for series that are not prices (spreads, returns) pass `allow_non_positive=True`",
        )
    widened = _check_ohlc(df, name, columns) if ohlc == "raise" else _widen_ohlc(df, columns)
    for col in ("volume", "amount"):
        if col in columns:
            _check_first(
                df,
                name,
                columns[col] < 0,
                f"column `{col}` must be >= 0",
                lambda i, c=col: f"{c}={_num(columns[c][i])}",
            )

    frame = pd.DataFrame({col: columns[col] for col in KRONOS_COLUMNS if col in columns})
    return ValidatedFrame(frame, timestamps, widened)


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Check that ``value`` is an integer (not a bool) of at least ``minimum``.

    Parameters
    ----------
    value
        The value to check; Python and numpy integers are accepted, floats are not.
    name
        The argument's name, used in the error message.
    minimum
        The smallest value accepted.

    Returns
    -------
    int
        ``value`` as a Python ``int``.

    Raises
    ------
    KronosInputError
        If ``value`` is a bool, not an integer, or below ``minimum``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        integral = _is_real(value) and math.isfinite(value) and float(value).is_integer() and value >= minimum
        fix = f"pass `{name}={int(value)}`" if integral else f"pass an int of at least {minimum}"
        raise KronosInputError(
            f"`{name}` must be an integer >= {minimum}, got {_show(value)} ({type(value).__name__}); {fix}."
        )
    if value < minimum:
        raise KronosInputError(
            f"`{name}` must be >= {minimum}, got {value}; pass a value of at least {minimum}."
        )
    return int(value)


def check_anchor(anchor: Any, allow_none: bool = True) -> bool | None:
    """`anchor` as a bool (None passes through where the caller's default applies), else a `KronosInputError`."""
    if anchor is None and allow_none:
        return None
    if not isinstance(anchor, (bool, np.bool_)):
        allowed = "True, False or None" if allow_none else "True or False"
        raise KronosInputError(f"`anchor` must be {allowed}, got {anchor!r}.")
    return bool(anchor)


def check_sampling(
    temperature: float, top_k: int, top_p: float, num_samples: int, min_p: float = 0.0
) -> None:
    """Check the sampling settings of a forecast.

    Parameters
    ----------
    temperature
        Softmax temperature; must be finite and > 0.
    top_k
        Keep only the ``top_k`` most likely tokens; an integer >= 0, where 0 disables the filter.
    top_p
        Nucleus sampling mass; must satisfy ``0 < top_p <= 1``, where 1 disables the filter.
    num_samples
        Sample paths drawn per series; an integer >= 1.
    min_p
        Min-p threshold, relative to the most likely token; must satisfy ``0 <= min_p < 1``, where 0 disables it.

    Raises
    ------
    KronosInputError
        Naming the first invalid parameter, its value and the accepted range.
    """
    if not _is_real(temperature) or not math.isfinite(temperature) or temperature <= 0:
        raise KronosInputError(
            f"`temperature` must be a finite number > 0, got {_show(temperature)}; use 1.0 to sample from "
            "the model's distribution or a small value such as 0.1 for near-greedy paths."
        )
    check_positive_int(top_k, "top_k", minimum=0)
    if not _is_real(top_p) or not 0 < top_p <= 1:
        raise KronosInputError(
            f"`top_p` must satisfy 0 < top_p <= 1, got {_show(top_p)}; use 1.0 to disable nucleus sampling."
        )
    check_positive_int(num_samples, "num_samples", minimum=1)
    if not _is_real(min_p) or not 0 <= min_p < 1:
        raise KronosInputError(
            f"`min_p` must satisfy 0 <= min_p < 1, got {_show(min_p)}; use 0 to disable min-p filtering, or a small "
            "value such as 0.01 to drop tokens less likely than 1 % of the most likely one."
        )


# ----------------------------------------------------------------------------------------------------
# helpers


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _show(value: Any) -> str:
    """``repr`` without numpy's type wrapper, for values quoted in messages."""
    return repr(value.item()) if isinstance(value, np.generic) else repr(value)


def _num(value: Any) -> str:
    """Show a number without numpy's type wrapper (``10.5``, not ``np.float64(10.5)``)."""
    return repr(float(value))


def _show_columns(columns: pd.Index) -> str:
    shown = [repr(c) for c in columns[:_SHOWN_COLUMNS]]
    if len(columns) > _SHOWN_COLUMNS:
        shown.append(f"... ({len(columns) - _SHOWN_COLUMNS} more)")
    return "[" + ", ".join(shown) + "]"


def _where(df: pd.DataFrame, pos: int) -> str:
    """Describe row ``pos`` by position and index label."""
    label = df.index[pos]
    shown = repr(label) if isinstance(label, str) else str(label)
    return f"row {pos} (index label {shown})"


def _casefold_matches(df: pd.DataFrame, target: str, exclude: set) -> list:
    return [c for c in df.columns if isinstance(c, str) and c.casefold() == target and c not in exclude]


def resolve_columns(df: pd.DataFrame, name: str, column_mapping: Mapping[str, str] | None) -> dict[str, Any]:
    """Map each Kronos column found to the label of the user column holding it (public: adapters use it to
    name their outputs). Raises `KronosInputError` for a bad mapping or missing price columns."""
    if df.columns.has_duplicates:
        dup = df.columns[df.columns.duplicated()][0]
        raise KronosInputError(
            f"`{name}` has the column {dup!r} more than once; give each column a unique name."
        )
    sources: dict[str, Any] = {}
    if column_mapping is not None:
        if not isinstance(column_mapping, Mapping):
            raise KronosInputError(
                f"`column_mapping` must be a dict from Kronos column to your column, got "
                f"{type(column_mapping).__name__}; e.g. `column_mapping={{'close': 'Close'}}`."
            )
        for key, value in column_mapping.items():
            if key not in KRONOS_COLUMNS:
                raise KronosInputError(
                    f"`column_mapping` key {key!r} is not a Kronos column; keys must be among "
                    f"{list(KRONOS_COLUMNS)} and values are your column names, e.g. {{'close': 'Close'}}."
                )
            if value not in df.columns:
                raise KronosInputError(
                    f"`column_mapping` maps {key!r} to {value!r}, which is not a column of `{name}`; "
                    f"columns found: {_show_columns(df.columns)}."
                )
            sources[key] = value

    taken = set(sources.values())
    for col in KRONOS_COLUMNS:
        if col in sources:
            continue
        if col in df.columns and col not in taken:
            sources[col] = col
            taken.add(col)
            continue
        matches = _casefold_matches(df, col, taken)
        if len(matches) > 1:
            raise KronosInputError(
                f"`{name}` has several columns that match `{col}` ignoring case: {matches}; keep one or say "
                f"which to use with `column_mapping={{'{col}': {matches[0]!r}}}`."
            )
        if matches:
            sources[col] = matches[0]
            taken.add(matches[0])

    missing = [c for c in PRICE_COLUMNS if c not in sources]
    if missing:
        raise KronosInputError(
            f"`{name}` is missing the required column(s) {missing}; columns found: "
            f"{_show_columns(df.columns)}. Rename them or pass `column_mapping`, e.g. "
            "`column_mapping={'close': 'Adj Close'}`."
        )
    return sources


def _find_timestamp_column(df: pd.DataFrame, name: str, exclude: set) -> Any:
    if TIMESTAMP_COLUMN in df.columns and TIMESTAMP_COLUMN not in exclude:
        return TIMESTAMP_COLUMN
    matches = _casefold_matches(df, TIMESTAMP_COLUMN, exclude)
    if len(matches) > 1:
        raise KronosInputError(
            f"`{name}` has several columns that match `{TIMESTAMP_COLUMN}` ignoring case: {matches}; keep "
            "one, or set the timestamps as a DatetimeIndex with `df.set_index(...)`."
        )
    return matches[0] if matches else None


def _numeric_values(df: pd.DataFrame, name: str, col: str, label: Any) -> np.ndarray:
    series = df[label]
    source = f"column `{col}`" if label == col else f"column `{col}` (read from {label!r})"
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        coerced = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(coerced.isna().to_numpy() & series.notna().to_numpy())
        detail = (
            f"; first non-numeric value {series.iloc[bad[0]]!r} at {_where(df, bad[0])}" if len(bad) else ""
        )
        raise KronosInputError(
            f"`{name}` {source} must be numeric, got dtype {series.dtype}{detail}. "
            f"Convert it, e.g. with `pd.to_numeric(df[{label!r}])`."
        )
    try:
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as err:  # e.g. complex numbers
        raise KronosInputError(
            f"`{name}` {source} cannot be read as float64 ({err}); convert it to a real-valued numeric dtype."
        ) from err


def _check_finite(df: pd.DataFrame, name: str, col: str, values: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(np.argmax(bad))
        raise KronosInputError(
            f"`{name}` column `{col}` has {int(bad.sum())} NaN or infinite value(s), the first at "
            f"{_where(df, first)}: {_num(values[first])}. Fill or drop them first, e.g. `df.ffill()` or "
            "`df.dropna()`."
        )


def _check_first(df: pd.DataFrame, name: str, bad: np.ndarray, rule: str, show, hint: str = "") -> None:
    """Raise naming the first row where ``bad`` holds."""
    if bad.any():
        first = int(np.argmax(bad))
        raise KronosInputError(
            f"`{name}` {rule}, but {_where(df, first)} has {show(first)} ({int(bad.sum())} offending "
            f"row(s) in all); clean the data or check the column mapping{hint}."
        )


def _check_ohlc(df: pd.DataFrame, name: str, columns: dict[str, np.ndarray]) -> None:
    o, h, lo, c = (columns[k] for k in PRICE_COLUMNS)

    def show(i: int) -> str:
        return f"open={_num(o[i])}, high={_num(h[i])}, low={_num(lo[i])}, close={_num(c[i])}"

    hint = (
        "; or pass `ohlc='widen'` to widen high/low to hold open and close (the forecast's `info` lists the "
        "rows changed)"
    )
    # the slack scales with the magnitude, so it also works for negative values (allow_non_positive)
    _check_first(
        df, name, high_below(o, h, c, _REL_TOL), "column `high` must be >= max(open, close)", show, hint
    )
    _check_first(
        df, name, low_above(o, lo, c, _REL_TOL), "column `low` must be <= min(open, close)", show, hint
    )


def _widen_ohlc(df: pd.DataFrame, columns: dict[str, np.ndarray]) -> dict:
    """``ohlc="widen"``: widen the rows the check would reject, in place in `columns`; report them."""
    o, h, lo, c = (columns[k] for k in PRICE_COLUMNS)
    bad = high_below(o, h, c, _REL_TOL) | low_above(o, lo, c, _REL_TOL)
    fixed = widen(np.stack([o, h, lo, c], axis=-1), where=bad)
    rows = []
    for i in np.flatnonzero(bad)[:SHOWN_ROWS]:
        rows.append(
            {
                "row": int(i),
                "label": df.index[i],
                "open": float(o[i]),
                "high": float(h[i]),
                "low": float(lo[i]),
                "close": float(c[i]),
                "high_widened": float(fixed[i, 1]),
                "low_widened": float(fixed[i, 2]),
            }
        )
    columns["high"], columns["low"] = fixed[:, 1], fixed[:, 2]
    return {"count": int(bad.sum()), "rows": rows}


def _timestamps(df: pd.DataFrame, name: str, ts_label: Any) -> pd.DatetimeIndex | None:
    if isinstance(df.index, pd.DatetimeIndex):
        ts, source = df.index, "the index"
    elif isinstance(df.index, pd.PeriodIndex):
        ts, source = df.index.to_timestamp(), "the index"
    elif ts_label is not None:
        source = f"column {ts_label!r}"
        try:
            ts = pd.DatetimeIndex(pd.to_datetime(df[ts_label]))
        except (TypeError, ValueError, OverflowError) as err:
            raise KronosInputError(
                f"`{name}` {source} cannot be parsed as timestamps ({err}); convert it with "
                f"`pd.to_datetime(df[{ts_label!r}], format=...)` first."
            ) from err
    else:
        return None

    values = ts.asi8  # int64 nanoseconds (UTC for tz-aware), NaT as the minimum int64
    nat = np.asarray(ts.isna())
    if nat.any():
        first = int(np.argmax(nat))
        raise KronosInputError(
            f"`{name}` timestamps ({source}) have {int(nat.sum())} missing value(s) (NaT), the first at "
            f"{_where(df, first)}; drop those rows or fill the timestamps."
        )
    if len(values) > 1:
        step = np.diff(values)
        if (step < 0).any():
            pos = int(np.argmax(step < 0)) + 1
            raise KronosInputError(
                f"`{name}` timestamps ({source}) must increase, but {_where(df, pos)} has {ts[pos]}, earlier "
                f"than {ts[pos - 1]} in the row before; sort the rows first, e.g. `df.sort_index()`."
            )
        if (step == 0).any():
            pos = int(np.argmax(step == 0)) + 1
            raise KronosInputError(
                f"`{name}` timestamps ({source}) must be unique, but {ts[pos]} appears again at "
                f"{_where(df, pos)}; drop or aggregate the duplicate bars."
            )
    return pd.DatetimeIndex(ts, name=None)
