"""Bring a raw source frame into the dataset schema, repairing only what can be justified and counting it.

The schema: a tz-naive, sorted, unique ``DatetimeIndex`` named ``timestamps`` and float64 columns
``open, high, low, close, volume, amount``.

Repairs, in the order applied (each counted in rows; only non-zero counts are reported):

``dropped_nat_rows``
    rows whose timestamp could not be parsed.
``dropped_duplicate_timestamps``
    later rows repeating an earlier timestamp (the first is kept).
``dropped_nan_rows``
    rows with a missing or infinite open, high, low or close: there is no honest value to put there.
``dropped_nonpositive_price_rows``
    rows with a price <= 0 (placeholders, not prices).
``filled_nan_volume``
    missing volume set to 0 (no recorded trade); prices are kept.
``dropped_negative_volume_rows``
    rows with a negative volume.
``widened_high_low``
    rows whose high is below ``max(open, close)`` or whose low is above ``min(open, close)`` (also
    ``high < low``). The high becomes the largest and the low the smallest of the four prices, so open and
    close (the traded prices most series are forecast on) are kept as they are. In these sources the
    violations are small (median 0.006 % of the price for SPY minutes, up to a few percent on illiquid
    Chinese futures), most likely from feeds that mix sources (e.g. a settlement price reported as close).
``zeroed_sparse_volume``
    non-zero volumes of a series whose volume is positive on fewer than 5 % of its bars: such a column is
    not a volume series, and the series is reported as having no volume.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["COLUMNS", "PRICE_COLUMNS", "standardise"]

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = (*PRICE_COLUMNS, "volume", "amount")
INDEX_NAME = "timestamps"
# A series "has volume" when at least this share of its bars carry a positive volume. Illiquid futures with
# many genuine zero-volume days stay well above it (SHFE wire rod: 39 %); a volume column that is almost
# always zero (the Hang Seng index: 2 bars in 1,472) is not a volume series.
_VOLUME_SHARE = 0.05


def standardise(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int], bool]:
    """Return ``(frame, repairs, has_volume)`` for a raw reader output.

    Parameters
    ----------
    raw : pd.DataFrame
        A ``DatetimeIndex`` and the columns ``open, high, low, close`` and optionally ``volume``.

    Returns
    -------
    frame : pd.DataFrame
        The series in the dataset schema.
    repairs : dict of str to int
        Rows affected per repair (see the module docstring); empty when the source was clean.
    has_volume : bool
        False when the source has no volume column or a positive volume on fewer than 5 % of its bars;
        ``volume`` and ``amount`` are then zero.
    """
    repairs: dict[str, int] = {}

    def count(key: str, n: int) -> None:
        if n:
            repairs[key] = repairs.get(key, 0) + int(n)

    index = pd.DatetimeIndex(raw.index)
    if index.tz is not None:  # readers convert to local time; guard against a new source forgetting to
        raise ValueError(f"reader returned tz-aware timestamps ({index.tz}); convert to local time first")
    df = pd.DataFrame(
        {c: pd.to_numeric(raw[c], errors="coerce").to_numpy(dtype=np.float64) for c in PRICE_COLUMNS},
        index=index,
    )
    has_volume_column = "volume" in raw.columns
    df["volume"] = (
        pd.to_numeric(raw["volume"], errors="coerce").to_numpy(dtype=np.float64) if has_volume_column else 0.0
    )

    nat = df.index.isna()
    count("dropped_nat_rows", nat.sum())
    df = df[~nat]
    df = df.sort_index(kind="mergesort")
    dup = df.index.duplicated(keep="first")
    count("dropped_duplicate_timestamps", dup.sum())
    df = df[~dup]

    prices = df[list(PRICE_COLUMNS)].to_numpy()
    bad = ~np.isfinite(prices).all(axis=1)
    count("dropped_nan_rows", bad.sum())
    df = df[~bad]
    nonpos = (df[list(PRICE_COLUMNS)].to_numpy() <= 0).any(axis=1)
    count("dropped_nonpositive_price_rows", nonpos.sum())
    df = df[~nonpos].copy()

    vol = df["volume"].to_numpy()
    missing = ~np.isfinite(vol)
    count("filled_nan_volume", missing.sum())
    df.loc[missing, "volume"] = 0.0
    negative = df["volume"].to_numpy() < 0
    count("dropped_negative_volume_rows", negative.sum())
    df = df[~negative].copy()

    o, h, lo, c = (df[k].to_numpy() for k in PRICE_COLUMNS)
    top = np.maximum.reduce([o, h, lo, c])
    bottom = np.minimum.reduce([o, h, lo, c])
    widened = (top != h) | (bottom != lo)
    count("widened_high_low", widened.sum())
    df["high"] = top
    df["low"] = bottom

    positive = df["volume"].to_numpy() > 0
    has_volume = bool(has_volume_column and len(df) and positive.mean() >= _VOLUME_SHARE)
    if not has_volume:
        count("zeroed_sparse_volume", positive.sum())
        df["volume"] = 0.0
    df["amount"] = df["volume"] * df[list(PRICE_COLUMNS)].mean(axis=1)
    df = df[list(COLUMNS)].astype(np.float64)
    df.index = pd.DatetimeIndex(df.index, name=INDEX_NAME)
    return df, repairs, has_volume
