"""Candle consistency: the one place that says what a valid OHLC bar is and how an invalid one is widened.

A bar is *consistent* when ``high >= max(open, close)`` and ``low <= min(open, close)`` (so ``high >= low``).
The one repair rule, used by input validation (``ohlc="widen"``), calibration (after its per-step map) and the
synthetic futures (`kronos_plugins.synthetic.trajectories.repair_ohlcv`): open and close are kept and

    high := max(high, open, close),    low := min(low, open, close),

the smallest change that makes the bar consistent. (The data loaders in `kronos_plugins.datasets` clean raw
downloads with their own, documented variant.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["consistent", "high_below", "low_above", "widen"]


def high_below(o: np.ndarray, h: np.ndarray, c: np.ndarray, rtol: float = 0.0) -> np.ndarray:
    """Where ``high < max(open, close)`` beyond a relative slack `rtol` (scaled by |max(open, close)|)."""
    top = np.maximum(o, c)
    return h < top - np.abs(top) * rtol


def low_above(o: np.ndarray, lo: np.ndarray, c: np.ndarray, rtol: float = 0.0) -> np.ndarray:
    """Where ``low > min(open, close)`` beyond a relative slack `rtol` (scaled by |min(open, close)|)."""
    bottom = np.minimum(o, c)
    return lo > bottom + np.abs(bottom) * rtol


def consistent(prices: np.ndarray, rtol: float = 0.0) -> np.ndarray:
    """Whether each bar of `prices` (..., 4: open, high, low, close) is a consistent candle, shaped (...)."""
    o, h, lo, c = (prices[..., j] for j in range(4))
    return ~high_below(o, h, c, rtol) & ~low_above(o, lo, c, rtol)


def widen(prices: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
    """A copy of `prices` (..., 4) with high and low widened to hold open and close (the module's rule).

    With `where` (bool, shaped ``prices.shape[:-1]``) only those bars change.
    """
    out = np.array(prices, dtype=np.float64, copy=True)
    o, h, lo, c = (prices[..., j] for j in range(4))
    high, low = np.maximum.reduce([h, o, c]), np.minimum.reduce([lo, o, c])
    if where is not None:
        high, low = np.where(where, high, h), np.where(where, low, lo)
    out[..., 1], out[..., 2] = high, low
    return out
