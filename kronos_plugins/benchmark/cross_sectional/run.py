"""Run a cross-sectional suite: universes -> engine -> IC tables and costed portfolios."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from .engine import EXCLUSION_REASONS, run_engine
from .metrics import ic_by_date, summarise_ic
from .portfolios import PORTFOLIOS, Costs, backtest, portfolio_stats
from .suite import CrossSectionalSuite, build_models
from .universe import Universe, load_universe
from .universe import leakage as universe_leakage

__all__ = ["SuiteResult", "evaluate", "run_suite"]

TRADING_DAYS = 252


TABLES = (
    "ic_daily",
    "ic_summary",
    "portfolios",
    "portfolio_returns",
    "coverage",
    "exclusions",
    "timings",
)  # the result's tables, in the order the report writes them as CSV


@dataclass
class SuiteResult:
    ic_daily: pd.DataFrame
    ic_summary: pd.DataFrame
    portfolios: pd.DataFrame
    portfolio_returns: pd.DataFrame
    coverage: pd.DataFrame
    exclusions: pd.DataFrame
    timings: pd.DataFrame
    leakage: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    checkpoints: dict = field(default_factory=dict)
    seconds: float = 0.0


def evaluate(
    result, *, top_k: int, step: int, costs: Costs, seed: int = 0, n_boot: int = 2000
) -> dict[str, pd.DataFrame]:
    """IC tables and portfolios of one `EngineResult` (plus an equal-weight universe, gross, for reference)."""
    daily = ic_by_date(result.signals, result.returns)
    summary = summarise_ic(daily)
    ppy = TRADING_DAYS / step
    stats_rows, period_rows = [], []
    for signal, g in result.signals.groupby("signal", sort=True):
        for kind in PORTFOLIOS:
            periods = backtest(g[["date", "asset", "value"]], result.returns, k=top_k, kind=kind, costs=costs)
            if len(periods) < 2:
                continue
            stats = portfolio_stats(periods, ppy, seed=seed, n_boot=n_boot)
            stats_rows.append({"signal": signal, "portfolio": kind, **stats})
            period_rows.append(periods.assign(signal=signal, portfolio=kind))
    market = result.returns.groupby("date", sort=True)["forward_return"].mean()
    if len(market) >= 2:
        periods = pd.DataFrame(
            {
                "date": market.index,
                "n_eligible": result.returns.groupby("date").size().to_numpy(),
                "k": 0,
                "gross": market.to_numpy(),
                "turnover": 0.0,
                "bought": 0.0,
                "sold": 0.0,
                "cost": 0.0,
                "net": market.to_numpy(),
            }
        )
        stats_rows.append(
            {
                "signal": "equal-weight universe",
                "portfolio": "long_only",
                **portfolio_stats(periods, ppy, seed=seed, n_boot=n_boot),
            }
        )
        period_rows.append(periods.assign(signal="equal-weight universe", portfolio="long_only"))
    return {
        "ic_daily": daily,
        "ic_summary": summary,
        "portfolios": pd.DataFrame(stats_rows),
        "portfolio_returns": pd.concat(period_rows, ignore_index=True) if period_rows else pd.DataFrame(),
    }


def _exclude_trained(universe: Universe, assets: list[str], why: str) -> Universe:
    frames = {a: f for a, f in universe.frames.items() if a not in set(assets)}
    dropped = {**universe.dropped, **{a: why for a in assets if a in universe.frames}}
    return Universe.from_frames(universe.name, frames, universe.start, universe.end, dropped=dropped)


def run_suite(
    suite: CrossSectionalSuite,
    *,
    progress: Callable[[str], None] | None = print,
    max_dates: int | None = None,
) -> SuiteResult:
    """Every universe of the suite with every model; assets a Kronos checkpoint trained on inside the
    universe's window are excluded for every model (same cross-section), with the reason."""
    from kronos_plugins.datasets import load_split

    t_start = time.perf_counter()
    models, checkpoints = build_models(suite)
    costs = Costs.from_bp(suite.cost_in_bp, suite.cost_out_bp)
    parts = {k: [] for k in TABLES}
    leakage = {}
    for us in suite.universes:
        universe = load_universe(us.name, split_version=suite.split_version)
        periods = load_split(version=suite.split_version).cross_sectional[us.name]
        leakage[us.name] = {}
        for name, ck in checkpoints.items():
            if ck["split_version"] is None:
                leakage[us.name][name] = {"assets": [], "contemporaneous": None, "context_only": []}
                continue
            overlap = universe_leakage(load_split(version=ck["split_version"]), periods, universe.end)
            leakage[us.name][name] = overlap
            if overlap["assets"]:
                universe = _exclude_trained(
                    universe,
                    overlap["assets"],
                    f"trained on by {name} (split v{ck['split_version']}) on its target days",
                )
        result = run_engine(
            universe,
            models,
            horizon=us.horizon,
            step=us.step,
            min_history=us.min_history,
            seed=suite.seed,
            max_bar_ratio=us.max_bar_ratio,
            max_dates=max_dates if max_dates is not None else us.max_dates,
            progress=progress,
        )
        for model in models:  # asset-dates a Kronos model forecast on the date's pooled calendar (reported)
            if model.name in checkpoints and hasattr(model, "calendar_fallbacks"):
                fallbacks = checkpoints[model.name].setdefault("calendar_fallbacks", {})
                fallbacks[us.name] = len(model.calendar_fallbacks)
                model.calendar_fallbacks.clear()
        ev = evaluate(
            result, top_k=us.top_k, step=us.step, costs=costs, seed=suite.seed, n_boot=suite.bootstrap
        )
        for key, frame in ev.items():
            parts[key].append(frame.assign(universe=us.name))
        cov = result.schedule.copy()
        dated = result.exclusions.dropna(subset=["date"])
        for reason in EXCLUSION_REASONS:
            counts = dated[dated["reason"] == reason].groupby("date").size()
            cov[reason] = cov["origin"].map(counts).fillna(0).astype(int)
        parts["coverage"].append(cov.assign(universe=us.name))
        exc = result.exclusions.copy()
        exc["reason"] = exc["reason"].astype(str)
        summary = (
            exc.groupby("reason")
            .agg(asset_dates=("asset", "size"), assets=("asset", "nunique"))
            .reset_index()
        )
        parts["exclusions"].append(summary.assign(universe=us.name))
        tim = (
            result.timings.groupby("model")
            .agg(dates=("date", "nunique"), asset_forecasts=("n_assets", "sum"), seconds=("seconds", "sum"))
            .reset_index()
        )
        tim["assets_per_s"] = tim["asset_forecasts"] / tim["seconds"]
        parts["timings"].append(tim.assign(universe=us.name))
    frames = {k: (pd.concat(v, ignore_index=True) if v else pd.DataFrame()) for k, v in parts.items()}
    return SuiteResult(
        **frames,
        leakage=leakage,
        settings={
            "universes": [us.__dict__ for us in suite.universes],
            "costs_bp": {"in": suite.cost_in_bp, "out": suite.cost_out_bp},
            "seed": suite.seed,
            "split_version": suite.split_version,
            "models": list(suite.models),
        },
        checkpoints=checkpoints,
        seconds=time.perf_counter() - t_start,
    )
