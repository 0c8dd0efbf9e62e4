"""Portfolios built from a signal at each rebalance date, with turnover and transaction costs.

* ``long_short``: +1/k on the k assets with the highest signal, -1/k on the k lowest (gross exposure 2);
* ``long_only``: +1/k on the k highest.

Each portfolio is held from one rebalance date's close to the next (the horizon equals the rebalance step in
the suite, so periods do not overlap). Turnover at a date is ``sum |w_t - w_{t-1}|`` over the union of assets
(the previous target weights; the first date trades from cash), and costs are ``cost_in`` per unit of weight
bought (a weight increase, which also closes a short) plus ``cost_out`` per unit sold (a decrease, which also
opens a short): by default 10 bp in and 15 bp out, as the Kronos paper's backtest. The net return of a period
is ``sum_i w_i r_i - cost``. Nothing is charged to liquidate after the last period.

Only assets with a finite signal and a finite forward return at a date are ranked (the engine reports the
others). When fewer than 2k (long-short) or k (long-only) assets are eligible, k shrinks to what is there and
the date's ``k`` column says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "PORTFOLIOS",
    "Costs",
    "backtest",
    "bootstrap_ci",
    "max_drawdown",
    "portfolio_stats",
    "target_weights",
]

PORTFOLIOS = ("long_short", "long_only")


@dataclass(frozen=True)
class Costs:
    """Transaction costs as fractions of traded weight (``Costs(10e-4, 15e-4)`` is 10 bp in, 15 bp out)."""

    cost_in: float = 10e-4
    cost_out: float = 15e-4

    def __post_init__(self) -> None:
        for name in ("cost_in", "cost_out"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v < 1.0):
                raise ValueError(f"`{name}` must be a fraction in [0, 1) (10 bp = 0.001), got {v!r}.")

    @classmethod
    def from_bp(cls, cost_in_bp: float, cost_out_bp: float) -> Costs:
        return cls(cost_in_bp * 1e-4, cost_out_bp * 1e-4)


def target_weights(values: pd.Series, k: int, kind: str) -> tuple[pd.Series, int]:
    """Weights of one date from a signal indexed by asset; returns (weights of the held assets, k used).

    Ties are broken by asset id so the same input gives the same portfolio.
    """
    if kind not in PORTFOLIOS:
        raise ValueError(f"`kind` must be one of {list(PORTFOLIOS)}, got {kind!r}.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"`k` must be a positive integer, got {k!r}.")
    v = values[np.isfinite(values.to_numpy(dtype=np.float64))]
    order = pd.DataFrame({"asset": v.index.astype(str), "value": v.to_numpy()}, index=v.index)
    order = order.sort_values(["value", "asset"], ascending=[False, True], kind="mergesort")
    n = len(order)
    k_used = min(int(k), n // 2 if kind == "long_short" else n)
    if k_used < 1:
        return pd.Series(dtype=np.float64), 0
    w = pd.Series(1.0 / k_used, index=order.index[:k_used])
    if kind == "long_short":
        w = pd.concat([w, pd.Series(-1.0 / k_used, index=order.index[n - k_used :])])
    return w, k_used


def backtest(
    signal: pd.DataFrame, returns: pd.DataFrame, *, k: int, kind: str, costs: Costs = Costs()
) -> pd.DataFrame:
    """Period returns of one portfolio of one signal.

    Parameters
    ----------
    signal : pd.DataFrame
        ``date, asset, value`` of one signal.
    returns : pd.DataFrame
        ``date, asset, forward_return``: each asset's return from the date's close to the next rebalance.
    k : int
        Assets per leg.
    kind : {"long_short", "long_only"}
    costs : Costs

    Returns
    -------
    pd.DataFrame
        One row per date: ``date, n_eligible, k, gross, turnover, bought, sold, cost, net``.
    """
    for frame, cols, what in (
        (signal, ("date", "asset", "value"), "signal"),
        (returns, ("date", "asset", "forward_return"), "returns"),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"`{what}` lacks columns {missing}; it has {list(frame.columns)}.")
    merged = signal.merge(returns, on=["date", "asset"], how="inner")
    merged = merged[np.isfinite(merged["value"]) & np.isfinite(merged["forward_return"])]
    prev = pd.Series(dtype=np.float64)
    rows = []
    for date, g in merged.groupby("date", sort=True):
        values = pd.Series(g["value"].to_numpy(), index=g["asset"].to_numpy())
        r = pd.Series(g["forward_return"].to_numpy(), index=g["asset"].to_numpy())
        w, k_used = target_weights(values, k, kind)
        delta = w.reindex(w.index.union(prev.index), fill_value=0.0) - prev.reindex(
            w.index.union(prev.index), fill_value=0.0
        )
        bought = float(delta[delta > 0].sum())
        sold = float(-delta[delta < 0].sum())
        cost = costs.cost_in * bought + costs.cost_out * sold
        gross = float((w * r.reindex(w.index)).sum())
        rows.append(
            {
                "date": date,
                "n_eligible": len(values),
                "k": k_used,
                "gross": gross,
                "turnover": bought + sold,
                "bought": bought,
                "sold": sold,
                "cost": cost,
                "net": gross - cost,
            }
        )
        prev = w
    return pd.DataFrame(
        rows, columns=["date", "n_eligible", "k", "gross", "turnover", "bought", "sold", "cost", "net"]
    )


def max_drawdown(returns: np.ndarray) -> float:
    """Largest fall of the compounded equity curve from its running peak (a fraction in [0, 1]; a period
    return below -100 % ruins the portfolio: drawdown 1)."""
    equity = np.maximum(np.cumprod(1.0 + np.asarray(returns, dtype=np.float64)), 0.0)  # ruined stays at 0
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    return float(np.max(1.0 - equity / peak)) if len(equity) else float("nan")


def _ann_return(r: np.ndarray, periods_per_year: float) -> float:
    growth = float(np.prod(1.0 + r))
    return growth ** (periods_per_year / len(r)) - 1.0 if growth > 0 else -1.0


def _sharpe(r: np.ndarray, periods_per_year: float) -> float:
    sd = float(np.std(r, ddof=1))
    return float(np.mean(r) / sd * math.sqrt(periods_per_year)) if sd > 0 else float("nan")


def bootstrap_ci(
    r: np.ndarray, periods_per_year: float, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Percentile bootstrap CIs of the annualised return and Sharpe ratio, resampling dates with replacement."""
    r = np.asarray(r, dtype=np.float64)
    if len(r) < 3:
        return {k: float("nan") for k in ("ann_return_lo", "ann_return_hi", "sharpe_lo", "sharpe_hi")}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(r), size=(n_boot, len(r)))
    draws = r[idx]
    growth = np.prod(1.0 + draws, axis=1)
    ann = np.where(growth > 0, np.abs(growth) ** (periods_per_year / len(r)) - 1.0, -1.0)
    sd = draws.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(sd > 0, draws.mean(axis=1) / sd * math.sqrt(periods_per_year), np.nan)
    a = (1.0 - level) / 2.0
    return {
        "ann_return_lo": float(np.quantile(ann, a)),
        "ann_return_hi": float(np.quantile(ann, 1.0 - a)),
        "sharpe_lo": float(np.nanquantile(sharpe, a)),
        "sharpe_hi": float(np.nanquantile(sharpe, 1.0 - a)),
    }


def portfolio_stats(
    periods: pd.DataFrame, periods_per_year: float, *, seed: int = 0, n_boot: int = 2000
) -> dict[str, float]:
    """Summary of a `backtest` table: annualised gross and net return, net volatility and Sharpe (no risk-free
    rate) with bootstrap CIs, max drawdown of the net equity, mean turnover per rebalance, yearly cost."""
    net = periods["net"].to_numpy(dtype=np.float64)
    gross = periods["gross"].to_numpy(dtype=np.float64)
    if len(net) < 2:
        raise ValueError(f"a portfolio needs at least 2 periods for its statistics, got {len(net)}.")
    out = {
        "periods": len(net),
        "ann_return_gross": _ann_return(gross, periods_per_year),
        "ann_return_net": _ann_return(net, periods_per_year),
        "ann_vol_net": float(np.std(net, ddof=1) * math.sqrt(periods_per_year)),
        "sharpe_gross": _sharpe(gross, periods_per_year),
        "sharpe_net": _sharpe(net, periods_per_year),
        "max_drawdown_net": max_drawdown(net),
        "turnover_mean": float(periods["turnover"].mean()),
        "cost_per_year": float(periods["cost"].mean() * periods_per_year),
    }
    out.update(
        {f"{k}_net": v for k, v in bootstrap_ci(net, periods_per_year, n_boot=n_boot, seed=seed).items()}
    )
    return out
