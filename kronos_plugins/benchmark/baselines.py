"""Probabilistic baselines that forecast close-price sample paths from an OHLCV context.

Every baseline implements :class:`Baseline`: ``forecast(context, horizon, num_samples, seed)`` returns
future close prices shaped ``(num_samples, horizon)``. A baseline sees nothing but ``context`` (rows strictly
before the origin), so it cannot leak the target by construction, and the same ``seed`` gives the same
array. Models of returns work on log returns of ``close``, which keeps every path positive.
"""

from __future__ import annotations

import warnings
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

__all__ = [
    "Baseline",
    "GarchRW",
    "HistoricalVolRW",
    "NaiveLast",
    "RandomWalkDrift",
    "SeasonalNaive",
    "StatsForecastModel",
]


@runtime_checkable
class Baseline(Protocol):
    """Interface of a benchmark baseline.

    Attributes
    ----------
    name : str
        Label used in results tables.
    """

    name: str

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        """Sample future close prices.

        Parameters
        ----------
        context : pd.DataFrame
            History before the origin: ``DatetimeIndex`` and columns open, high, low, close, volume, amount
            (only ``close`` is required by the baselines here).
        horizon : int
            Steps to forecast.
        num_samples : int
            Sample paths to draw.
        seed : int
            Seed that makes the draws reproducible.

        Returns
        -------
        np.ndarray
            Close prices shaped ``(num_samples, horizon)``, float64.
        """
        ...


# --------------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------------


def _check_args(horizon: int, num_samples: int) -> None:
    for name, value in (("horizon", horizon), ("num_samples", num_samples)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer, found: {value!r}.")


def _close(context: pd.DataFrame, min_rows: int, who: str) -> np.ndarray:
    if not isinstance(context, pd.DataFrame) or "close" not in context.columns:
        found = list(context.columns) if isinstance(context, pd.DataFrame) else type(context).__name__
        raise ValueError(f"`context` must be a DataFrame with a `close` column, found: {found}.")
    close = context["close"].to_numpy(dtype=np.float64)
    if close.shape[0] < min_rows:
        raise ValueError(
            f"`context` has {close.shape[0]} rows but {who} needs at least {min_rows}; pass a longer context."
        )
    if not np.all(np.isfinite(close)) or np.any(close <= 0):
        raise ValueError(
            f"`context['close']` must be finite and positive for {who}; fill or drop bad rows first."
        )
    return close


def _log_returns(close: np.ndarray) -> np.ndarray:
    return np.diff(np.log(close))


def _paths_from_returns(last_close: float, log_returns: np.ndarray) -> np.ndarray:
    """Price paths ``last_close * exp(cumsum(r))`` from log returns shaped (num_samples, horizon)."""
    return last_close * np.exp(np.cumsum(log_returns, axis=1))


# --------------------------------------------------------------------------------------------------------
# Simple baselines
# --------------------------------------------------------------------------------------------------------


class NaiveLast:
    """Last observed close repeated over the horizon; all samples equal (a point forecast).

    Its CRPS equals its MAE, and it is the usual reference of skill scores.
    """

    name = "NaiveLast"

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        """Repeat the last close. ``seed`` is accepted for the interface and unused."""
        _check_args(horizon, num_samples)
        close = _close(context, 1, self.name)
        return np.full((num_samples, horizon), close[-1], dtype=np.float64)


class RandomWalkDrift:
    """Random walk with drift on log returns.

    The drift is the mean log return of the context. ``mode="normal"`` draws i.i.d. returns from
    ``N(drift, sigma)`` with ``sigma`` the returns' standard deviation (ddof=1); ``mode="bootstrap"`` draws
    the context's own log returns with replacement (mean = drift, fat tails kept).

    Parameters
    ----------
    mode : {"normal", "bootstrap"}, default="normal"
        How future returns are drawn.
    """

    def __init__(self, mode: Literal["normal", "bootstrap"] = "normal") -> None:
        if mode not in ("normal", "bootstrap"):
            raise ValueError(f"`mode` must be 'normal' or 'bootstrap', found: {mode!r}.")
        self.mode = mode
        self.name = f"RandomWalkDrift[{mode}]"

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        """Sample ``num_samples`` log-return random-walk paths from the last close."""
        _check_args(horizon, num_samples)
        close = _close(context, 3, self.name)
        r = _log_returns(close)
        rng = np.random.default_rng(seed)
        if self.mode == "normal":
            draws = rng.normal(r.mean(), r.std(ddof=1), size=(num_samples, horizon))
        else:
            draws = rng.choice(r, size=(num_samples, horizon), replace=True)
        return _paths_from_returns(close[-1], draws)


class HistoricalVolRW:
    """Zero-drift log random walk with volatility from the last ``window`` log returns.

    Future log returns are i.i.d. ``N(0, sigma)``, ``sigma`` the standard deviation (ddof=1) of the last
    ``window`` log returns, so the median path stays at the last close.

    Parameters
    ----------
    window : int, default=20
        Number of most recent log returns that set the volatility.
    """

    def __init__(self, window: int = 20) -> None:
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 2:
            raise ValueError(f"`window` must be an integer >= 2, found: {window!r}.")
        self.window = int(window)
        self.name = f"HistoricalVolRW[{self.window}]"

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        """Sample zero-drift paths at the recent historical volatility."""
        _check_args(horizon, num_samples)
        close = _close(context, self.window + 1, self.name)
        sigma = _log_returns(close)[-self.window :].std(ddof=1)
        rng = np.random.default_rng(seed)
        return _paths_from_returns(close[-1], rng.normal(0.0, sigma, size=(num_samples, horizon)))


class SeasonalNaive:
    """Seasonal naive forecast with a seasonal-residual bootstrap, in log prices.

    The point forecast repeats the last ``season`` closes. Sample paths follow the seasonal random walk
    ``log y_t = log y_{t-season} + e_t`` forward from the context, where ``e_t`` is drawn with replacement
    from the context's demeaned seasonal differences ``log y_t - log y_{t-season}``, so uncertainty grows
    with each season ahead and the median path stays at the seasonal naive forecast. ``season=1`` is a
    bootstrapped driftless random walk.

    Parameters
    ----------
    season : int
        Season length in rows (e.g. 24 for hourly data with a daily cycle).
    """

    def __init__(self, season: int) -> None:
        if isinstance(season, bool) or not isinstance(season, (int, np.integer)) or season < 1:
            raise ValueError(f"`season` must be a positive integer, found: {season!r}.")
        self.season = int(season)
        self.name = f"SeasonalNaive[{self.season}]"

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        """Sample seasonal-random-walk paths with bootstrapped seasonal residuals."""
        _check_args(horizon, num_samples)
        m = self.season
        close = _close(context, m + 2, self.name)
        log_close = np.log(close)
        resid = log_close[m:] - log_close[:-m]
        resid = resid - resid.mean()
        rng = np.random.default_rng(seed)
        shocks = rng.choice(resid, size=(num_samples, horizon), replace=True)
        # Path buffer: the last `m` observed log closes followed by the simulated horizon.
        buf = np.empty((num_samples, m + horizon))
        buf[:, :m] = log_close[-m:]
        for t in range(horizon):
            buf[:, m + t] = buf[:, t] + shocks[:, t]
        return np.exp(buf[:, m:])


# --------------------------------------------------------------------------------------------------------
# Library-backed baselines
# --------------------------------------------------------------------------------------------------------


class StatsForecastModel:
    """A statsforecast model (AutoARIMA, AutoETS or Theta) fitted to log closes, sampled per step.

    The model is fitted on ``log(close)`` and asked for its point forecast and its central ``level``%
    prediction interval. Samples are drawn at each step from the normal distribution that interval
    implies: mean the point forecast, ``sigma = (hi - lo) / (2 z_{(1 + level/100)/2})``, then exponentiated
    (so paths are positive and the median is ``exp(point)``). Draws are independent across steps: each
    step's marginal is the model's, but a sample row is not a coherent path; per-step metrics are unaffected.

    Parameters
    ----------
    model : {"AutoARIMA", "AutoETS", "Theta"}
        statsforecast model class to use.
    season_length : int, default=1
        Passed to the model.
    level : int, default=95
        Prediction-interval level (percent) whose implied normal is sampled; 80 or 95 are typical.
    **model_kwargs
        Extra keyword arguments for the model's constructor.
    """

    _MODELS = ("AutoARIMA", "AutoETS", "Theta")

    def __init__(
        self,
        model: Literal["AutoARIMA", "AutoETS", "Theta"],
        season_length: int = 1,
        level: int = 95,
        **model_kwargs: object,
    ) -> None:
        if model not in self._MODELS:
            raise ValueError(f"`model` must be one of {self._MODELS}, found: {model!r}.")
        if not 1 <= level < 100:
            raise ValueError(
                f"`level` must be a percentage in [1, 100), found: {level!r}; e.g. 95, not 0.95."
            )
        try:
            import statsforecast.models as sf_models
        except ImportError as err:  # pragma: no cover - exercised only without the extra
            raise ImportError(
                "`StatsForecastModel` needs statsforecast; `pip install 'kronos-plugins[bench]'`."
            ) from err
        if (
            isinstance(season_length, bool)
            or not isinstance(season_length, (int, np.integer))
            or season_length < 1
        ):
            raise ValueError(f"`season_length` must be a positive integer, found: {season_length!r}.")
        self.model = model
        self.season_length = int(season_length)
        self.level = level
        self.model_kwargs = model_kwargs
        self._cls = getattr(sf_models, model)
        self.name = model if self.season_length == 1 else f"{model}[{self.season_length}]"

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        """Fit on the context's log closes and sample the interval-implied normal at each step."""
        from scipy.stats import norm

        _check_args(horizon, num_samples)
        close = _close(context, max(2 * self.season_length, 3) + 1, self.name)
        estimator = self._cls(season_length=self.season_length, **self.model_kwargs)
        out = estimator.forecast(y=np.log(close), h=int(horizon), level=[self.level])
        # statsforecast returns some entries as pandas Series; normalise to float arrays.
        mean = np.asarray(out["mean"], dtype=np.float64)
        lo = np.asarray(out[f"lo-{self.level}"], dtype=np.float64)
        hi = np.asarray(out[f"hi-{self.level}"], dtype=np.float64)
        z = norm.ppf(0.5 + self.level / 200.0)
        sigma = np.maximum(hi - lo, 0.0) / (2.0 * z)
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sigma))):
            raise RuntimeError(f"{self.name} produced a non-finite forecast on this context.")
        rng = np.random.default_rng(seed)
        return np.exp(mean + sigma * rng.standard_normal((num_samples, horizon)))


class GarchRW:
    """Constant-mean GARCH(1,1) on percentage log returns, simulated forward with ``arch``.

    Fits ``arch_model(100 * log_returns, mean="Constant", vol="GARCH", p=1, q=1, dist=dist)`` to the
    context, simulates ``num_samples`` return paths with ``forecast(method="simulation")`` and turns them
    into price paths ``last_close * exp(cumsum(r / 100))``. When the percentage returns are badly scaled for
    the optimiser (tiny intraday returns), arch's ``rescale=True`` rescales them by a power of 10 and the
    simulations are scaled back. Volatility clustering makes its intervals
    react to the recent regime, unlike :class:`HistoricalVolRW`.

    Parameters
    ----------
    dist : str, default="normal"
        Innovation distribution passed to ``arch_model`` (e.g. ``"t"``).
    """

    def __init__(self, dist: str = "normal") -> None:
        try:
            import arch  # noqa: F401
        except ImportError as err:  # pragma: no cover - exercised only without the extra
            raise ImportError("`GarchRW` needs arch; `pip install 'kronos-plugins[bench]'`.") from err
        self.dist = dist
        self.name = "GarchRW" if dist == "normal" else f"GarchRW[{dist}]"

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        """Fit GARCH(1,1) to the context and simulate ``num_samples`` price paths."""
        from arch import arch_model

        _check_args(horizon, num_samples)
        close = _close(context, 10, self.name)
        returns_pct = 100.0 * _log_returns(close)
        model = arch_model(returns_pct, mean="Constant", vol="GARCH", p=1, q=1, dist=self.dist, rescale=True)
        # arch's `random_state` only seeds method="bootstrap"; simulation draws from the distribution's own
        # generator, so install a seeded copy of the same distribution before fitting.
        model.distribution = type(model.distribution)(seed=np.random.default_rng(seed))
        with warnings.catch_warnings():
            # Convergence chatter on short or quiet contexts; the fitted parameters are still usable.
            warnings.simplefilter("ignore")
            result = model.fit(disp="off", show_warning=False)
            fc = result.forecast(
                horizon=int(horizon),
                method="simulation",
                simulations=int(num_samples),
                reindex=False,
            )
        sims = np.asarray(fc.simulations.values, dtype=np.float64)[-1]  # (num_samples, horizon)
        # `rescale=True` lets arch multiply the returns by a power of 10 when their scale would hurt the
        # optimiser (e.g. minute bars); the simulations are in those units, so undo it.
        paths = _paths_from_returns(close[-1], sims / (100.0 * result.scale))
        if not np.all(np.isfinite(paths)):
            raise RuntimeError(f"{self.name} simulated non-finite paths on this context.")
        return paths
