"""Two example strategies for `kronos_plugins.synthetic.backtest`, vectorised over paths.

A strategy is any callable ``strategy(OHLCV) -> positions`` shaped (n_paths, T) in [-1, 1]; the position at
bar t may use bars 0..t only (it is held from t's close to t+1's close). Both strategies here are flat until
their indicators are defined.
"""

from __future__ import annotations

import numpy as np

from .backtest import OHLCV

__all__ = ["MovingAverageCrossover", "ZScoreMeanReversion", "rolling_mean", "rolling_mean_std"]


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` values along the last axis of ``x`` (n_paths, T); NaN before ``window - 1``."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    if window > x.shape[1]:
        return out
    c = np.cumsum(x, axis=1)
    s = c[:, window - 1 :].copy()
    s[:, 1:] -= c[:, : x.shape[1] - window]
    out[:, window - 1 :] = s / window
    return out


def rolling_mean_std(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing mean and population standard deviation over ``window`` values along the last axis.

    Uses cumulative sums (O(T) per path, whatever the window). Values at positions ``t < window - 1`` are NaN.

    Parameters
    ----------
    x : numpy.ndarray
        Shaped (n_paths, T).
    window : int
        Values per window, including the current one.

    Returns
    -------
    mean, std : numpy.ndarray
        Each shaped like ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    n, T = x.shape
    mean = np.full((n, T), np.nan)
    std = np.full((n, T), np.nan)
    if window > T:
        return mean, std
    c1 = np.cumsum(x, axis=1)
    c2 = np.cumsum(x * x, axis=1)
    s1 = c1[:, window - 1 :].copy()
    s2 = c2[:, window - 1 :].copy()
    s1[:, 1:] -= c1[:, : T - window]
    s2[:, 1:] -= c2[:, : T - window]
    m = s1 / window
    mean[:, window - 1 :] = m
    std[:, window - 1 :] = np.sqrt(np.maximum(s2 / window - m * m, 0.0))
    return mean, std


def _relative_close(bars: OHLCV) -> np.ndarray:
    # Closes relative to each path's first close: same signals, better-conditioned running sums.
    close = np.asarray(bars.close, dtype=np.float64)
    return close / close[:, :1]


class MovingAverageCrossover:
    """Trend following: long when the fast moving average of closes is above the slow one, short below.

    ``position_t = sign(MA_fast(t) - MA_slow(t))`` over closes ``0..t`` (0 when equal, and flat until
    ``slow`` bars exist). With ``long_only=True`` the short side is flat instead.

    Parameters
    ----------
    fast : int, default=10
        Bars of the fast average.
    slow : int, default=30
        Bars of the slow average (greater than ``fast``).
    long_only : bool, default=False
        Never short.
    """

    def __init__(self, fast: int = 10, slow: int = 30, long_only: bool = False) -> None:
        if not (isinstance(fast, int) and isinstance(slow, int) and 1 <= fast < slow):
            raise ValueError(
                f"`fast` and `slow` must be integers with 1 <= fast < slow, got {fast!r}, {slow!r}."
            )
        self.fast, self.slow, self.long_only = fast, slow, long_only
        self.name = f"ma_crossover({fast},{slow}{',long_only' if long_only else ''})"

    def __call__(self, bars: OHLCV) -> np.ndarray:
        close = _relative_close(bars)
        fast, slow = rolling_mean(close, self.fast), rolling_mean(close, self.slow)
        pos = np.sign(np.nan_to_num(fast - slow))  # NaN (warm-up) -> flat
        return np.maximum(pos, 0.0) if self.long_only else pos


class ZScoreMeanReversion:
    """Mean reversion: short when the close is ``entry`` standard deviations above its trailing mean.

    ``z_t = (close_t - mean(close_{t-w+1..t})) / std(close_{t-w+1..t})``; the position is -1 when
    ``z_t > entry``, +1 when ``z_t < -entry`` and 0 otherwise (also during the first ``window - 1`` bars and
    when the window is flat).

    Parameters
    ----------
    window : int, default=20
        Bars of the trailing mean and standard deviation (at least 2).
    entry : float, default=1.0
        Z-score threshold.
    """

    def __init__(self, window: int = 20, entry: float = 1.0) -> None:
        if not (isinstance(window, int) and window >= 2):
            raise ValueError(f"`window` must be an integer >= 2, got {window!r}.")
        if not entry > 0:
            raise ValueError(f"`entry` must be positive, got {entry!r}.")
        self.window, self.entry = window, float(entry)
        self.name = f"zscore_reversion({window},{entry:g})"

    def __call__(self, bars: OHLCV) -> np.ndarray:
        close = _relative_close(bars)
        mean, std = rolling_mean_std(close, self.window)
        with np.errstate(invalid="ignore", divide="ignore"):
            # A flat window gives round-off "std" around 1e-9 of the price: treat it as 0.
            z = np.where(std > 1e-9 * np.abs(mean), (close - mean) / std, 0.0)
        z = np.nan_to_num(z)
        return np.where(z > self.entry, -1.0, np.where(z < -self.entry, 1.0, 0.0))
