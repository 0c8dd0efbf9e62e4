"""The rebalance engine: at each rebalance date, every model scores every eligible asset from bars up to that
date only, and each asset's forward return is measured for scoring.

At an origin t (a trading day of the universe's calendar, see `universe.rebalance_schedule`):

* an asset is **eligible** when it has a bar on t and at least `min_history` bars up to t; otherwise it is
  excluded with the reason ``"no bar on the date"`` or ``"short history"``. Eligibility reads bars up to t
  only, so it cannot leak.
* each model receives, per eligible asset, its last `context_bars` bars up to and including t (a cut copy:
  later bars are not in the frame it gets) and returns its signals.
* the **forward return** is the close of the asset's last bar on or before the exit day (the `horizon`-th
  next trading day) over its close at t, minus 1, when that bar is after t; an asset with no bar after t up to
  the exit is unscored at t (reason ``"no bar after the date"``): it could not have been traded out at a known
  price. An asset whose close moves by more than a factor `max_bar_ratio` from one bar to the next inside
  the holding period is unscored too (reason ``"price break in the holding period"``): such a jump is an
  unadjusted split or a data error (a 200x "return" of one Philippine penny stock), not a return a portfolio
  could earn or lose. This is the only read of bars after t and it only feeds the scores.

Every exclusion is a row of `EngineResult.exclusions` and is counted in the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .universe import Universe, rebalance_schedule

__all__ = ["EXCLUSION_REASONS", "EngineResult", "run_engine"]

EXCLUSION_REASONS = (
    "no bar on the date",
    "short history",
    "no bar after the date",
    "price break in the holding period",
)


@dataclass
class EngineResult:
    """What one universe's run produced (all long tables).

    Attributes
    ----------
    universe : str
    schedule : pd.DataFrame
        ``origin, exit, position, n_assets, n_eligible, n_scored``.
    signals : pd.DataFrame
        ``date, asset, signal, value`` with ``signal = "<model>:<column>"`` (or ``"<model>"`` for a
        one-column model).
    returns : pd.DataFrame
        ``date, asset, forward_return``.
    exclusions : pd.DataFrame
        ``date, asset, reason`` (the universe's `dropped` assets come with date NaT).
    timings : pd.DataFrame
        ``date, model, n_assets, seconds``.
    """

    universe: str
    schedule: pd.DataFrame
    signals: pd.DataFrame
    returns: pd.DataFrame
    exclusions: pd.DataFrame
    timings: pd.DataFrame


def _signal_names(model, columns: Sequence[str]) -> list[str]:
    return [model.name] if len(columns) == 1 else [f"{model.name}:{c}" for c in columns]


def run_engine(
    universe: Universe,
    models: Sequence,
    *,
    horizon: int,
    step: int,
    min_history: int,
    seed: int = 0,
    max_dates: int | None = None,
    origins: Sequence[pd.Timestamp] | None = None,
    max_bar_ratio: float | None = 3.0,
    progress: Callable[[str], None] | None = None,
) -> EngineResult:
    """Run every model at every rebalance date of a universe.

    Parameters
    ----------
    universe : Universe
    models : sequence of signal models
        Each with ``name``, ``context_bars`` (bars it reads) and ``signals(contexts, assets, horizon, seed)``.
    horizon : int
        Trading days from origin to exit.
    step : int
        Trading days between origins.
    min_history : int
        Bars up to the origin an asset needs to be eligible (>= 2).
    seed : int
        The seed of origin position p is ``seed + p``: a date's forecasts do not depend on which other dates run.
    max_dates : int, optional
        Keep only the first `max_dates` origins (smoke runs).
    origins : sequence of timestamps, optional
        Keep only these origins of the schedule (tests).
    max_bar_ratio : float or None, default=3.0
        A bar-to-bar close ratio above it (or below its inverse) inside the holding period leaves the asset
        unscored at that date; None keeps every forward return.
    progress : callable, optional
        Called with a line per date.
    """
    if max_bar_ratio is not None and not max_bar_ratio > 1.0:
        raise ValueError(f"`max_bar_ratio` must be > 1 or None, got {max_bar_ratio!r}.")
    if not models:
        raise ValueError("`models` is empty: give at least one signal model.")
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f"model names must be unique, got {names}.")
    if isinstance(min_history, bool) or not isinstance(min_history, (int, np.integer)) or min_history < 2:
        raise ValueError(f"`min_history` must be an integer >= 2, got {min_history!r}.")
    calendar = universe.calendar()
    schedule = rebalance_schedule(calendar, universe.start, universe.end, step=step, horizon=horizon)
    if origins is not None:
        wanted = pd.DatetimeIndex(origins)
        unknown = wanted.difference(pd.DatetimeIndex(schedule["origin"]))
        if len(unknown):
            raise ValueError(
                f"`origins` {[str(d.date()) for d in unknown]} are not rebalance dates of {universe.name!r}; "
                f"the schedule's are {[str(d.date()) for d in schedule['origin']]}."
            )
        schedule = schedule[schedule["origin"].isin(wanted)].reset_index(drop=True)
    if max_dates is not None:
        schedule = schedule.iloc[: int(max_dates)].reset_index(drop=True)
    bars = max(int(getattr(m, "context_bars", min_history)) for m in models)
    bars = max(bars, min_history)
    assets = list(universe.frames)
    # positions of each asset's bars, for fast cuts: timestamps as int64 day stamps
    stamps = {a: universe.frames[a].index.normalize().asi8 for a in assets}
    closes = {a: universe.frames[a]["close"].to_numpy(dtype=np.float64) for a in assets}

    sig_rows, ret_rows, exc_rows, time_rows, sched_rows = [], [], [], [], []
    for asset, reason in universe.dropped.items():
        exc_rows.append((pd.NaT, asset, reason))
    for origin, exit_, position in schedule[["origin", "exit", "position"]].itertuples(index=False):
        t, e = pd.Timestamp(origin).value, pd.Timestamp(exit_).value
        eligible, contexts = [], []
        for a in assets:
            s = stamps[a]
            upto = int(np.searchsorted(s, t, side="right"))  # bars with day <= t
            if upto == 0 or s[upto - 1] != t:
                exc_rows.append((origin, a, "no bar on the date"))
                continue
            if upto < min_history:
                exc_rows.append((origin, a, "short history"))
                continue
            eligible.append(a)
            contexts.append(universe.frames[a].iloc[max(0, upto - bars) : upto].copy())
        n_scored = 0
        for a in eligible:  # forward returns: the only read after t, for scoring
            s = stamps[a]
            i0 = int(np.searchsorted(s, t, side="right")) - 1
            i1 = int(np.searchsorted(s, e, side="right")) - 1
            if i1 <= i0:
                exc_rows.append((origin, a, "no bar after the date"))
                continue
            path = closes[a][i0 : i1 + 1]
            ratios = path[1:] / path[:-1]
            if max_bar_ratio is not None and (
                ratios.max() > max_bar_ratio or ratios.min() < 1.0 / max_bar_ratio
            ):
                exc_rows.append((origin, a, "price break in the holding period"))
                continue
            ret_rows.append((origin, a, path[-1] / path[0] - 1.0))
            n_scored += 1
        sched_rows.append((origin, exit_, position, len(assets), len(eligible), n_scored))
        if len(eligible) < 2:
            if progress:
                progress(
                    f"{universe.name} {pd.Timestamp(origin).date()}: {len(eligible)} eligible assets, skipped"
                )
            continue
        for model in models:
            t0 = time.perf_counter()
            out = model.signals(contexts, eligible, horizon, seed + int(position))
            seconds = time.perf_counter() - t0
            time_rows.append((origin, model.name, len(eligible), seconds))
            columns = list(out.columns)
            for col, name in zip(columns, _signal_names(model, columns), strict=True):
                values = out[col].reindex(eligible).to_numpy(dtype=np.float64)
                sig_rows.extend(
                    zip([origin] * len(eligible), eligible, [name] * len(eligible), values, strict=True)
                )
        if progress:
            progress(
                f"{universe.name} {pd.Timestamp(origin).date()}: {len(eligible)}/{len(assets)} eligible, "
                f"{n_scored} scored"
            )
    return EngineResult(
        universe=universe.name,
        schedule=pd.DataFrame(
            sched_rows, columns=["origin", "exit", "position", "n_assets", "n_eligible", "n_scored"]
        ),
        signals=pd.DataFrame(sig_rows, columns=["date", "asset", "signal", "value"]),
        returns=pd.DataFrame(ret_rows, columns=["date", "asset", "forward_return"]),
        exclusions=pd.DataFrame(exc_rows, columns=["date", "asset", "reason"]),
        timings=pd.DataFrame(time_rows, columns=["date", "model", "n_assets", "seconds"]),
    )
