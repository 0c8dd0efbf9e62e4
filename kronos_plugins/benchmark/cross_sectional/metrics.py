"""Cross-sectional metrics: per-date IC (Pearson) and RankIC (Spearman), their mean, ICIR and Newey-West t.

At each rebalance date a signal ranks the universe; its IC is the Pearson correlation between the signal and
the assets' forward returns over the horizon, and its RankIC the Spearman correlation (Pearson of the
average ranks, ties shared). A date with fewer than `MIN_ASSETS_PER_DATE` scored assets, or a constant signal
or return, has no IC (NaN) and is counted, not dropped silently.

The mean of a per-date series is tested with a Newey-West (Bartlett kernel) standard error, which allows for
the serial correlation of overlapping horizons and of slowly moving signals.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm, rankdata

__all__ = [
    "MIN_ASSETS_PER_DATE",
    "default_nw_lags",
    "ic_by_date",
    "newey_west_t",
    "pearson",
    "spearman",
    "summarise_ic",
]

MIN_ASSETS_PER_DATE = 3
"""A correlation over fewer assets than this is not computed."""


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two equal-length vectors; NaN when either is constant or shorter than 3."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"`x` and `y` must be 1-d of the same length, got shapes {x.shape} and {y.shape}.")
    if len(x) < MIN_ASSETS_PER_DATE:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= 0.0 or syy <= 0.0:
        return float("nan")
    return float(np.clip((dx @ dy) / math.sqrt(sxx * syy), -1.0, 1.0))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation: Pearson of the average ranks (ties share their mean rank)."""
    return pearson(rankdata(np.asarray(x, dtype=np.float64)), rankdata(np.asarray(y, dtype=np.float64)))


def ic_by_date(signals: pd.DataFrame, returns: pd.DataFrame) -> pd.DataFrame:
    """IC and RankIC of every signal at every date.

    Parameters
    ----------
    signals : pd.DataFrame
        Long table with columns ``date, asset, signal, value``.
    returns : pd.DataFrame
        Long table with columns ``date, asset, forward_return``.

    Returns
    -------
    pd.DataFrame
        One row per (signal, date): ``signal, date, n_assets, ic, rank_ic`` (NaN when not computable). Only
        assets with both a finite signal and a finite forward return count.
    """
    _require(signals, ("date", "asset", "signal", "value"), "signals")
    _require(returns, ("date", "asset", "forward_return"), "returns")
    merged = signals.merge(returns, on=["date", "asset"], how="inner")
    merged = merged[np.isfinite(merged["value"]) & np.isfinite(merged["forward_return"])]
    rows = []
    for (signal, date), g in merged.groupby(["signal", "date"], sort=True):
        x, y = g["value"].to_numpy(), g["forward_return"].to_numpy()
        rows.append(
            {
                "signal": signal,
                "date": date,
                "n_assets": len(g),
                "ic": pearson(x, y),
                "rank_ic": spearman(x, y),
            }
        )
    return pd.DataFrame(rows, columns=["signal", "date", "n_assets", "ic", "rank_ic"])


def default_nw_lags(n: int) -> int:
    """The usual automatic lag, ``floor(4 (n / 100) ** (2 / 9))`` (Newey and West, 1994)."""
    return int(math.floor(4.0 * (max(n, 1) / 100.0) ** (2.0 / 9.0)))


def newey_west_t(x: np.ndarray, lags: int | None = None) -> tuple[float, float]:
    """t-statistic of the mean of `x` with a Newey-West (Bartlett) standard error, and its two-sided p-value.

    ``S = g0 + 2 sum_{l=1..L} (1 - l / (L + 1)) g_l`` with ``g_l = (1/n) sum_{t>l} (x_t - m)(x_{t-l} - m)``;
    ``t = m / sqrt(S / n)``. NaNs are dropped first; fewer than 3 values (or S <= 0) give NaN.

    Parameters
    ----------
    x : array-like
        The per-date series (e.g. daily RankIC).
    lags : int, optional
        L; `default_nw_lags` of the series length when omitted.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 3:
        return float("nan"), float("nan")
    L = default_nw_lags(n) if lags is None else int(lags)
    if L < 0:
        raise ValueError(f"`lags` must be >= 0, got {lags!r}.")
    L = min(L, n - 1)
    d = x - x.mean()
    s = float(d @ d) / n
    for lag in range(1, L + 1):
        s += 2.0 * (1.0 - lag / (L + 1.0)) * float(d[lag:] @ d[:-lag]) / n
    if s <= 0.0:
        return float("nan"), float("nan")
    t = float(x.mean() / math.sqrt(s / n))
    return t, float(2.0 * norm.sf(abs(t)))


def summarise_ic(daily: pd.DataFrame, lags: int | None = None) -> pd.DataFrame:
    """Per signal: mean IC and RankIC, their standard deviation, ICIR (mean / std per date), the Newey-West t
    and p-value of each mean, the share of dates with a positive RankIC, and the dates used and missing."""
    _require(daily, ("signal", "date", "ic", "rank_ic"), "daily")
    rows = []
    for signal, g in daily.groupby("signal", sort=True):
        row = {
            "signal": signal,
            "dates": int(g["rank_ic"].notna().sum()),
            "dates_without_ic": int(g["rank_ic"].isna().sum()),
        }
        for col in ("ic", "rank_ic"):
            v = g[col].to_numpy(dtype=np.float64)
            v = v[np.isfinite(v)]
            mean = float(v.mean()) if len(v) else float("nan")
            std = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
            t, p = newey_west_t(v, lags)
            row.update(
                {
                    f"{col}_mean": mean,
                    f"{col}_std": std,
                    f"{col}_ir": mean / std if std and np.isfinite(std) and std > 0 else float("nan"),
                    f"{col}_t_nw": t,
                    f"{col}_p_nw": p,
                }
            )
        rank = g["rank_ic"].to_numpy(dtype=np.float64)
        rank = rank[np.isfinite(rank)]
        row["rank_ic_positive_share"] = float((rank > 0).mean()) if len(rank) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`{what}` must be a DataFrame, got {type(frame).__name__}.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"`{what}` lacks columns {missing}; it has {list(frame.columns)}, needs {list(columns)}."
        )
