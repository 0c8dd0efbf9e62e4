"""Signals: each model scores every eligible asset of one rebalance date.

A signal model has a ``name`` and ``signals(contexts, assets, horizon, seed) -> DataFrame`` (index: the
assets, one column per signal); ``contexts[i]`` holds asset i's bars up to and including the rebalance date,
nothing later (the engine cuts them).

* `KronosSignals`: ONE batched `KronosPipeline.forecast` call over all assets of the date (ragged contexts
  in one batch; the pipeline groups equal lengths and chunks by ``max_batch_rows``), then `path_signals`.
* `BaselineSignals`: a forecaster of `kronos_plugins.benchmark.baselines` per asset, then `path_signals`.
* `Momentum`, `Reversal`: price-based signals, no forecast.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kronos_plugins.calendar import infer_future_timestamps
from kronos_plugins.validation import KronosInputError

__all__ = ["PATH_SIGNALS", "BaselineSignals", "KronosSignals", "Momentum", "Reversal", "path_signals"]

PATH_SIGNALS = ("exp_return", "prob_up", "mean_over_std")
"""Signals read from sample paths: expected return over the horizon, probability of a rise, and the paths'
mean return over their standard deviation (a risk-adjusted expected return)."""


def path_signals(paths: np.ndarray, last_close: np.ndarray) -> pd.DataFrame:
    """Signals from closes of sample paths.

    Parameters
    ----------
    paths : array (n_assets, n_samples, horizon)
        Forecast closes.
    last_close : array (n_assets,)
        Each asset's close at the rebalance date.

    Returns
    -------
    pd.DataFrame
        Columns `PATH_SIGNALS`, one row per asset (positional index). With ``R`` the paths' returns over the
        horizon, ``R = paths[:, :, -1] / last_close - 1``: ``exp_return = mean R``, ``prob_up = mean(R > 0)``,
        ``mean_over_std = mean R / std R`` (ddof=1; 0 when every path ends at the same price).
    """
    paths = np.asarray(paths, dtype=np.float64)
    last = np.asarray(last_close, dtype=np.float64)
    if paths.ndim != 3 or last.shape != paths.shape[:1]:
        raise ValueError(
            f"`paths` must be (assets, samples, horizon) and `last_close` (assets,); got {paths.shape}, {last.shape}."
        )
    r = paths[:, :, -1] / last[:, None] - 1.0
    mean = r.mean(axis=1)
    sd = r.std(axis=1, ddof=1) if r.shape[1] > 1 else np.zeros(len(r))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sd > 0, mean / sd, 0.0)
    return pd.DataFrame({"exp_return": mean, "prob_up": (r > 0).mean(axis=1), "mean_over_std": ratio})


def _last_close(contexts: Sequence[pd.DataFrame]) -> np.ndarray:
    return np.array([float(c["close"].iloc[-1]) for c in contexts])


class KronosSignals:
    """Kronos sample paths -> `PATH_SIGNALS`, one batched forecast per rebalance date.

    Parameters
    ----------
    pipeline : KronosPipeline
    num_samples : int
        Paths per asset.
    name : str, default="kronos"
    lookback : int, optional
        Passed to ``forecast`` (None: the pipeline's default lookback).
    temperature, top_p : optional
        Sampling settings (the pipeline's defaults when None).
    """

    def __init__(
        self,
        pipeline,
        num_samples: int,
        name: str = "kronos",
        lookback: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.num_samples = int(num_samples)
        self.name = name
        self.lookback = lookback
        self.temperature = temperature
        self.top_p = top_p
        self.columns = PATH_SIGNALS
        # (date, asset) pairs whose own bars gave no calendar to continue, forecast on the date's pooled calendar
        self.calendar_fallbacks: list[tuple[pd.Timestamp, str]] = []

    @property
    def context_bars(self) -> int:
        return int(self.lookback or self.pipeline.default_lookback or self.pipeline.max_context)

    def future_timestamps(
        self, contexts: Sequence[pd.DataFrame], assets: Sequence[str], horizon: int
    ) -> list[pd.DatetimeIndex]:
        """The forecast bars' timestamps of each asset: continued from its own last `context_bars` bars (what
        the pipeline would infer), or, where those follow no calendar (a thinly traded stock with a bar every few
        days), from the pooled bar dates of all the date's assets up to the date (the exchange's calendar; no bar
        after the date is read). Each fallback is recorded in `calendar_fallbacks`."""
        bars = self.context_bars
        futures: list[pd.DatetimeIndex | None] = []
        for ctx in contexts:
            try:
                futures.append(infer_future_timestamps(ctx.index[-bars:], horizon))
            except KronosInputError:
                futures.append(None)
        missing = [i for i, f in enumerate(futures) if f is None]
        if missing:
            last = max(c.index[-1] for c in contexts)
            pooled = contexts[0].index[-bars:]
            for c in contexts[1:]:
                pooled = pooled.union(c.index[-bars:])
            try:
                shared = infer_future_timestamps(pooled[-bars:], horizon)
            except KronosInputError as exc:
                names = [str(assets[i]) for i in missing]
                raise KronosInputError(
                    f"no calendar to continue for {names} on {last}: neither their own last {bars} bars nor the "
                    f"pooled dates of the date's {len(contexts)} assets follow one ({exc})"
                ) from exc
            for i in missing:
                if contexts[i].index[-1] != pooled[-1]:
                    raise KronosInputError(
                        f"{assets[i]!r}: its last bar {contexts[i].index[-1]} is not the date's last bar "
                        f"{pooled[-1]}, so the pooled calendar cannot continue it; pass contexts cut at one date."
                    )
                futures[i] = shared
                self.calendar_fallbacks.append((pd.Timestamp(last), str(assets[i])))
        return futures

    def signals(
        self, contexts: Sequence[pd.DataFrame], assets: Sequence[str], horizon: int, seed: int
    ) -> pd.DataFrame:
        fc = self.pipeline.forecast(
            list(contexts),
            horizon=horizon,
            num_samples=self.num_samples,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=seed,
            item_ids=list(assets),
            lookback=self.lookback,
            future_timestamps=self.future_timestamps(contexts, assets, horizon),
            ohlc="widen",
        )
        close = list(fc.columns).index("close")
        out = path_signals(fc.samples[..., close], _last_close(contexts))
        out.index = pd.Index(list(assets), name="asset")
        return out


class BaselineSignals:
    """A forecaster of `kronos_plugins.benchmark.baselines` (``forecast(context, horizon, num_samples, seed)``
    -> closes (num_samples, horizon)) on each asset's last `lookback` bars, then `path_signals`. An asset whose
    forecast fails gets NaN signals (counted as unscored at that date)."""

    def __init__(self, baseline, num_samples: int, lookback: int = 96, name: str | None = None) -> None:
        if not hasattr(baseline, "forecast"):
            raise TypeError(
                f"`baseline` must have a forecast(context, horizon, num_samples, seed) method, got {baseline!r}."
            )
        self.baseline = baseline
        self.num_samples = int(num_samples)
        self.lookback = int(lookback)
        self.name = name or str(getattr(baseline, "name", type(baseline).__name__))
        self.columns = PATH_SIGNALS
        self.context_bars = self.lookback

    def signals(
        self, contexts: Sequence[pd.DataFrame], assets: Sequence[str], horizon: int, seed: int
    ) -> pd.DataFrame:
        paths = np.full((len(contexts), self.num_samples, horizon), np.nan)
        for i, ctx in enumerate(contexts):
            try:
                paths[i] = self.baseline.forecast(
                    ctx.iloc[-self.lookback :], horizon, self.num_samples, seed + i
                )
            except (ValueError, RuntimeError, FloatingPointError, np.linalg.LinAlgError):
                pass
        out = path_signals(paths, _last_close(contexts))
        out.index = pd.Index(list(assets), name="asset")
        return out


class Momentum:
    """12-1 momentum scaled to the history available: the return from ``L`` bars ago to ``skip`` bars ago,
    with ``L = min(lookback, shortest context - 1)`` shared by the date's assets and ``skip`` scaled with it
    (``round(skip * L / lookback)``, at least 1): 252/21 (12-1 months) when a year of bars is there."""

    def __init__(self, lookback: int = 252, skip: int = 21, name: str = "momentum") -> None:
        if not (isinstance(lookback, int) and isinstance(skip, int) and 0 < skip < lookback):
            raise ValueError(
                f"momentum needs integers 0 < skip < lookback, got skip={skip!r}, lookback={lookback!r}."
            )
        self.lookback, self.skip, self.name = lookback, skip, name
        self.columns = ("value",)
        self.context_bars = lookback + 1

    def windows(self, shortest: int) -> tuple[int, int]:
        L = min(self.lookback, shortest - 1)
        return L, max(1, round(self.skip * L / self.lookback))

    def signals(
        self, contexts: Sequence[pd.DataFrame], assets: Sequence[str], horizon: int, seed: int
    ) -> pd.DataFrame:
        L, skip = self.windows(min(len(c) for c in contexts))
        if L <= skip:
            raise ValueError(
                f"momentum: the shortest context ({L + 1} bars) is too short for a skip of {skip}."
            )
        values = [float(c["close"].iloc[-1 - skip] / c["close"].iloc[-1 - L] - 1.0) for c in contexts]
        return pd.DataFrame({"value": values}, index=pd.Index(list(assets), name="asset"))


class Reversal:
    """Short-term reversal: minus the return of the last `window` bars (losers are expected to bounce)."""

    def __init__(self, window: int = 5, name: str = "reversal") -> None:
        if not (isinstance(window, int) and window >= 1):
            raise ValueError(f"reversal `window` must be a positive integer, got {window!r}.")
        self.window, self.name = window, name
        self.columns = ("value",)
        self.context_bars = window + 1

    def signals(
        self, contexts: Sequence[pd.DataFrame], assets: Sequence[str], horizon: int, seed: int
    ) -> pd.DataFrame:
        values = [-float(c["close"].iloc[-1] / c["close"].iloc[-1 - self.window] - 1.0) for c in contexts]
        return pd.DataFrame({"value": values}, index=pd.Index(list(assets), name="asset"))
