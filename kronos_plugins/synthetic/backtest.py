"""Probabilistic backtests: run one trading strategy on the real future and on thousands of synthetic ones.

A backtest on the single real history gives one number per metric; running the same strategy on synthetic
futures of the same period gives its distribution, and the percentile rank of the real outcome says whether
the real result was typical or lucky.

Timing convention (no look-ahead)
---------------------------------
A strategy maps bars to positions ``p[:, t]`` in [-1, 1], known at the **close of bar t** (it may use every
column of bars ``0..t``, nothing later). The position is held over the next bar, so it earns the simple return
from close t to close t+1, and changing it costs ``cost_bps / 1e4`` per unit of ``|p_t - p_{t-1}|`` at that
close. The net return of period t -> t+1 is::

    g_t = p_t * (close_{t+1} / close_t - 1) - cost_bps / 1e4 * |p_t - p_{t-1}|,   p_{-1} = 0

The book starts flat (entering the first position costs too); the last bar's position earns nothing and is
not traded, and there is no closing cost at the end (the equity is marked to market). `backtest` checks at
run time that positions up to a cut-off bar do not change when the later bars are removed.

With ``context`` (real bars before the period), the strategy sees the context followed by each path (so its
indicators are warm on the first synthetic bar) and is evaluated from the last context close on: the first
period is last context close -> first path close.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from .trajectories import as_bars

__all__ = [
    "OHLCV",
    "BacktestResult",
    "LookAheadError",
    "backtest",
    "path_metrics",
    "percentile_rank",
    "periods_per_year",
    "strategy_returns",
]

METRICS = ("total_return", "sharpe", "max_drawdown")


class OHLCV(NamedTuple):
    """The columns a strategy sees, each shaped (n_paths, T), oldest bar first."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    amount: np.ndarray

    @classmethod
    def from_bars(cls, bars: np.ndarray) -> OHLCV:
        """Split bars shaped (n_paths, T, 6) into columns (views, not copies)."""
        return cls(*(bars[..., k] for k in range(6)))


Strategy = Callable[[OHLCV], np.ndarray]


class LookAheadError(ValueError):
    """Raised when a strategy's position at bar t depends on bars after t."""


def _positions(strategy: Strategy, bars: np.ndarray) -> np.ndarray:
    p = np.asarray(strategy(OHLCV.from_bars(bars)), dtype=np.float64)
    name = getattr(strategy, "name", getattr(strategy, "__name__", type(strategy).__name__))
    if p.shape != bars.shape[:2]:
        raise ValueError(f"strategy `{name}` returned positions shaped {p.shape}; expected {bars.shape[:2]}.")
    if not np.isfinite(p).all():
        raise ValueError(f"strategy `{name}` returned NaN or infinite positions; return 0 (flat) instead.")
    if np.abs(p).max(initial=0.0) > 1 + 1e-12:
        raise ValueError(
            f"strategy `{name}` returned positions up to {np.abs(p).max():.3g}; they must lie in "
            "[-1, 1] (clip them)."
        )
    return p


def strategy_returns(
    positions: np.ndarray, close: np.ndarray, cost_bps: float = 0.0, start: int = 0
) -> np.ndarray:
    """Net per-period returns of positions held from close t to close t+1, after costs.

    Parameters
    ----------
    positions : numpy.ndarray
        Shaped (n_paths, T), known at each bar's close.
    close : numpy.ndarray
        Closes shaped (n_paths, T).
    cost_bps : float, default=0
        Cost per unit of position change, in basis points of the traded notional.
    start : int, default=0
        First bar whose position is held (earlier bars are warm-up; the book is flat before ``start``).

    Returns
    -------
    numpy.ndarray
        Shaped (n_paths, T - 1 - start): ``g_t = p_t * (c_{t+1} / c_t - 1) - cost * |p_t - p_{t-1}|`` for
        ``t = start .. T-2``, with ``p_{start-1} = 0``.
    """
    p = positions[:, start:-1]
    r = close[:, start + 1 :] / close[:, start:-1] - 1.0
    turnover = np.abs(np.diff(p, axis=1, prepend=0.0))
    return p * r - (cost_bps / 1e4) * turnover


def path_metrics(returns: np.ndarray, periods_per_year: float = 252.0) -> dict[str, np.ndarray]:
    """Total return, annualised Sharpe ratio and maximum drawdown of each path of net returns.

    Parameters
    ----------
    returns : numpy.ndarray
        Net per-period returns shaped (n_paths, n_periods).
    periods_per_year : float, default=252
        Annualisation factor of the Sharpe ratio (252 for daily bars, 252 * 24 for hourly FX, ...).

    Returns
    -------
    dict of str to numpy.ndarray
        ``total_return = prod(1 + g) - 1``; ``sharpe = mean(g) / std(g, ddof=1) * sqrt(periods_per_year)``
        (0 when ``std(g)`` is 0, e.g. a path never traded); ``max_drawdown = max_t (1 - E_t / max_{s<=t} E_s)``
        of the equity ``E`` starting at 1 (0.25 = a 25 % fall from the peak). Each shaped (n_paths,).
    """
    g = np.asarray(returns, dtype=np.float64)
    equity = np.cumprod(1.0 + g, axis=1)
    total = equity[:, -1] - 1.0 if g.shape[1] else np.zeros(g.shape[0])
    mean = g.mean(axis=1)
    std = g.std(axis=1, ddof=1) if g.shape[1] > 1 else np.zeros(g.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(std > 0, mean / np.where(std > 0, std, 1.0), 0.0) * np.sqrt(periods_per_year)
    peak = np.maximum(np.maximum.accumulate(equity, axis=1), 1.0)
    drawdown = (1.0 - equity / peak).max(axis=1, initial=0.0)
    return {"total_return": total, "sharpe": sharpe, "max_drawdown": drawdown}


def periods_per_year(timestamps, min_span_days: float = 28.0) -> float:
    """Bars per year of a series, from its timestamps: the annualisation factor of a Sharpe ratio.

    Over a span of at least `min_span_days` days, the bars the series really has per year:
    ``(n - 1) * 365.25 / span in days``. That is about 252 for exchange-traded daily bars (weekends and holidays
    are gaps), 365 for daily bars of a 7-day market, 24 x 5 x 52 for hourly bars of a 24/5 market, and 12 for
    monthly bars, with no table of frequency names to go wrong. A shorter span cannot show the weekly schedule,
    so the median gap between bars is used: 12 per year for monthly bars (a gap of 28 days or more), 52 for
    weekly ones (5 days or more), else 252 trading days of as many bars as the series has per calendar day.

    Parameters
    ----------
    timestamps : DatetimeIndex or sequence of datetimes
        The bars' times, oldest first (at least two).
    min_span_days : float, default=28
        Shortest span measured directly.

    Returns
    -------
    float

    Examples
    --------
    >>> import pandas as pd
    >>> round(periods_per_year(pd.date_range("2020-01-01", periods=731, freq="D")))
    365
    """
    ts = pd.DatetimeIndex(timestamps)
    if len(ts) < 2:
        raise ValueError(f"`timestamps` needs at least two bars to measure their spacing, got {len(ts)}.")
    seconds = np.diff(ts.asi8) / 1e9
    if (seconds <= 0).any():
        raise ValueError("`timestamps` must increase strictly; sort the bars and drop duplicates first.")
    day = 86_400.0
    span_days = (ts.asi8[-1] - ts.asi8[0]) / 1e9 / day
    if span_days >= min_span_days:
        return float((len(ts) - 1) * 365.25 / span_days)
    gap_days = float(np.median(seconds)) / day
    if gap_days >= 28:
        return 12.0
    if gap_days >= 5:
        return 52.0
    per_day = len(ts) / len(pd.Index(ts.normalize()).unique())
    return float(252 * max(per_day, 1.0))


def percentile_rank(values: np.ndarray, x: float) -> float:
    """Percentage of ``values`` below ``x`` (ties count half): 50 is the median, 95 beats 95 % of them."""
    v = np.asarray(values, dtype=np.float64)
    return float(100.0 * (np.sum(v < x) + 0.5 * np.sum(v == x)) / len(v))


@dataclass
class BacktestResult:
    """Outcome of `backtest`.

    Attributes
    ----------
    metrics : pandas.DataFrame
        One row per synthetic path; columns ``total_return``, ``sharpe``, ``max_drawdown``.
    real : dict of str to float
        The same metrics on the real bars (empty when no real bars were given).
    alpha : float
        Tail probability of ``var`` and ``cvar``.
    var, cvar : float
        Value at risk and conditional value at risk of the total return over synthetic paths, as positive
        losses: ``var = -quantile(total_return, alpha)``, ``cvar = -mean(total_return | total_return <=
        quantile)``.
    returns : numpy.ndarray
        Net per-period returns of every synthetic path, shaped (n_paths, n_periods).
    real_returns : numpy.ndarray or None
        Net per-period returns on the real bars, shaped (n_periods,).
    elapsed_s : float
        Wall time of the backtest (strategy, P&L and metrics over every path).
    settings : dict
        Strategy name, cost, annualisation factor and path counts.
    """

    metrics: pd.DataFrame
    real: dict[str, float]
    alpha: float
    var: float
    cvar: float
    returns: np.ndarray = field(repr=False)
    real_returns: np.ndarray | None = field(repr=False)
    elapsed_s: float
    settings: dict

    def summary(self) -> pd.DataFrame:
        """Distribution of each metric over synthetic paths and where the real outcome falls.

        Returns
        -------
        pandas.DataFrame
            Index ``total_return, sharpe, max_drawdown``; columns ``mean, std, q05, q50, q95`` over paths,
            ``real`` and ``real_percentile`` (percentile rank of the real value among the paths; NaN without
            real bars).
        """
        rows = {}
        for m in METRICS:
            v = self.metrics[m].to_numpy()
            real = self.real.get(m, float("nan"))
            rows[m] = {
                "mean": v.mean(),
                "std": v.std(ddof=1) if len(v) > 1 else 0.0,
                "q05": np.quantile(v, 0.05),
                "q50": np.quantile(v, 0.5),
                "q95": np.quantile(v, 0.95),
                "real": real,
                "real_percentile": percentile_rank(v, real) if np.isfinite(real) else float("nan"),
            }
        return pd.DataFrame(rows).T

    def risk(self) -> pd.Series:
        """VaR and CVaR of the total return at ``alpha`` (positive numbers are losses)."""
        pct = f"{100 * self.alpha:g}%"
        return pd.Series({f"VaR {pct}": self.var, f"CVaR {pct}": self.cvar}, name="total_return")


def backtest(
    strategy: Strategy,
    real_ohlcv,
    synthetic_paths,
    cost_bps: float = 0.0,
    periods_per_year: float = 252.0,
    alpha: float = 0.05,
    context=None,
    series: int | str = 0,
    check_lookahead: bool = True,
) -> BacktestResult:
    """Run ``strategy`` on the real bars and on every synthetic path, vectorised over paths.

    Parameters
    ----------
    strategy : callable
        ``strategy(OHLCV) -> positions`` shaped (n_paths, T) in [-1, 1], the position held from bar t's
        close to bar t+1's close (see the module's timing convention). See `kronos_plugins.synthetic.strategies`.
    real_ohlcv : DataFrame, array (T, 6) or None
        The real bars of the period the synthetic paths cover (None: synthetic distribution only).
    synthetic_paths : Trajectories or array (n_paths, L, 6)
        Synthetic bars (series ``series`` of `Trajectories`).
    cost_bps : float, default=0
        Cost per unit of position change, in basis points (10 = 0.1 % of the traded notional).
    periods_per_year : float, default=252
        Annualisation factor of the Sharpe ratio.
    alpha : float, default=0.05
        Tail probability of VaR and CVaR.
    context : DataFrame or array (Tc, 6), optional
        Real bars before the period, prepended to the real bars and to every path for warm-up; evaluation
        starts at the last context close.
    series : int or str, default=0
        Which series of `Trajectories` to use.
    check_lookahead : bool, default=True
        Recompute the positions of a few paths on bars cut at a mid-period bar and raise `LookAheadError`
        when the positions up to that bar differ.

    Returns
    -------
    BacktestResult

    Raises
    ------
    LookAheadError
        If the strategy's positions use bars after t.
    ValueError
        For malformed bars, positions outside [-1, 1], or bad arguments.

    Examples
    --------
    >>> from kronos_plugins.synthetic.strategies import MovingAverageCrossover
    >>> res = backtest(MovingAverageCrossover(10, 30), real, traj, cost_bps=5)  # doctest: +SKIP
    >>> res.summary()  # doctest: +SKIP
    """
    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must lie in (0, 1), got {alpha!r}; e.g. 0.05 for a 5 % VaR.")
    if not (np.isfinite(cost_bps) and cost_bps >= 0):
        raise ValueError(f"`cost_bps` must be a finite number >= 0, got {cost_bps!r}.")
    if not periods_per_year > 0:
        raise ValueError(f"`periods_per_year` must be positive, got {periods_per_year!r}.")
    t0 = time.perf_counter()
    syn = as_bars(synthetic_paths, "synthetic_paths", series)
    real = None if real_ohlcv is None else as_bars(real_ohlcv, "real_ohlcv")
    if real is not None and real.shape[0] != 1:
        raise ValueError(f"`real_ohlcv` must be one series (T, 6), found: {real.shape}.")
    start = 0
    if context is not None:
        ctx = as_bars(context, "context", min_bars=1)[0]
        start = len(ctx) - 1
        syn = np.concatenate([np.broadcast_to(ctx, (syn.shape[0], *ctx.shape)), syn], axis=1)
        real = None if real is None else np.concatenate([ctx[None], real], axis=1)
    if syn.shape[1] - start < 2:
        raise ValueError(
            f"`synthetic_paths` has {syn.shape[1] - start - 1} bars to trade; at least 1 is needed."
        )
    if real is not None and syn.shape[1] != real.shape[1]:
        warnings.warn(
            f"real and synthetic periods differ in length ({real.shape[1] - start - 1} and "
            f"{syn.shape[1] - start - 1} bars); total returns and drawdowns are then not comparable.",
            stacklevel=2,
        )
    pos = _positions(strategy, syn)
    if check_lookahead:
        _check_lookahead(strategy, syn, pos, start)
    g = strategy_returns(pos, syn[..., 3], cost_bps, start)
    metrics = pd.DataFrame(path_metrics(g, periods_per_year))
    real_metrics: dict[str, float] = {}
    g_real = None
    if real is not None:
        g_real = strategy_returns(_positions(strategy, real), real[..., 3], cost_bps, start)
        real_metrics = {k: float(v[0]) for k, v in path_metrics(g_real, periods_per_year).items()}
        g_real = g_real[0]
    total = metrics["total_return"].to_numpy()
    q = np.quantile(total, alpha)
    var, cvar = float(-q), float(-total[total <= q].mean())
    elapsed = time.perf_counter() - t0
    name = getattr(strategy, "name", getattr(strategy, "__name__", type(strategy).__name__))
    settings = dict(
        strategy=name,
        cost_bps=cost_bps,
        periods_per_year=periods_per_year,
        n_paths=syn.shape[0],
        n_periods=g.shape[1],
        context_bars=start + 1 if context is not None else 0,
    )
    return BacktestResult(metrics, real_metrics, alpha, var, cvar, g, g_real, elapsed, settings)


def _check_lookahead(strategy: Strategy, bars: np.ndarray, pos: np.ndarray, start: int, n: int = 8) -> None:
    """Positions up to a cut bar must not change when the bars after it are removed."""
    T = bars.shape[1]
    for cut in sorted({start + (T - start) // 2, T - 2}):
        if cut < 1 or cut >= T - 1:
            continue
        short = _positions(strategy, np.ascontiguousarray(bars[:n, : cut + 1]))
        if not np.allclose(short, pos[:n, : cut + 1], rtol=1e-9, atol=1e-12, equal_nan=True):
            bad = int(np.argmax(np.any(~np.isclose(short, pos[:n, : cut + 1]), axis=0)))
            name = getattr(strategy, "name", type(strategy).__name__)
            raise LookAheadError(
                f"strategy `{name}` looks ahead: its position at bar {bad} changes when bars after bar {cut} "
                "are removed. A position at bar t may only use bars 0..t (shift signals by one bar)."
            )
