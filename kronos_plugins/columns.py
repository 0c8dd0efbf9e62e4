"""Columns: which user column holds which Kronos column, and construction of columns a series lacks, by
documented rules (reported, never silent).

Kronos models six columns: open, high, low, close, volume, amount. `resolve_columns` is the one resolver of
user column names (``column_mapping`` first, then exact names, then names ignoring case; the pipeline's
validation and every adapter use it). Two construction rules come from the reference implementation
(`complete_volume_amount`); one serves univariate users of the adapters (`frame_from_close`).
"""

from __future__ import annotations

import pandas as pd

from .validation import KRONOS_COLUMNS, PRICE_COLUMNS, KronosInputError, resolve_columns


def complete_volume_amount(frame: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Add missing volume/amount by the reference's rules; return the frame and the constructed column names.

    - no volume: volume = amount = 0 (whatever amount held, as the reference does);
    - volume but no amount: amount = volume x mean(open, high, low, close).
    """
    if "volume" not in frame:
        return frame.assign(volume=0.0, amount=0.0), ("volume", "amount")
    if "amount" not in frame:
        return frame.assign(amount=frame["volume"] * frame[list(PRICE_COLUMNS)].mean(axis=1)), ("amount",)
    return frame, ()


def frame_from_close(close: pd.Series, name: str = "series") -> pd.DataFrame:
    """Build an OHLC frame from a close-only series, for univariate users.

    Rule: each bar opens at the previous close (the first bar at its own close), high = max(open, close),
    low = min(open, close); volume and amount stay absent (the pipeline then sets both to 0, as the reference does
    for a missing volume). Intrabar range information is therefore absent: this is a lower bound on the true
    range, and forecasts of high/low from such input carry no intrabar information. Forecasts of close are what
    univariate users read.
    """
    if not isinstance(close, pd.Series):
        raise KronosInputError(f"`{name}` must be a pandas Series of closes, got {type(close).__name__}.")
    c = close.astype(float)
    o = c.shift(1)
    if len(c):
        o.iloc[0] = c.iloc[0]
    return pd.DataFrame(
        {
            "open": o,
            "high": pd.concat([o, c], axis=1).max(axis=1),
            "low": pd.concat([o, c], axis=1).min(axis=1),
            "close": c,
        },
        index=close.index,
    )


__all__ = ["KRONOS_COLUMNS", "complete_volume_amount", "frame_from_close", "resolve_columns"]
