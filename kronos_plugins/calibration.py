"""Calibration of sample paths from pseudo-forecasts inside the context.

Kronos' sample paths are often too narrow: their central intervals cover far fewer outcomes than they claim.
This module widens (or narrows) them using only what is known at the forecast origin. For each series it
makes `n_origins` *pseudo-forecasts* inside the context, from origins ``t = Tc - H - k * step``
(k = 0..K-1, ``Tc`` bars of context, horizon ``H``), each from ``context[:t]`` alone with the forecast's own
settings and random streams, and compares them with the bars ``t .. t+H-1`` that the context already holds.
Origins keep `min_context` bars before them (by default all the bars the forecast uses when the context has
room for that, else half of them: pseudo-forecasts from much shorter contexts are worse than the forecast and
would widen it too much) and are spread up to a horizon apart (overlapping outcomes make near-copies of the
same error). What the pseudo-forecasts got wrong,
step by step, fixes the real forecast:

``"conformal"`` (default)
    Nonconformity scores ``r = |y - median| / w`` per origin and step (``w``: the pseudo-forecast's mean
    deviation from its median on the side of ``y``). One factor per (step, central level) in `levels`: the
    median score of the step (and its `pool_steps` neighbours) sets how wide, and the split-conformal
    quantile of all K x H scores in units of their step's median sets the shape of the tails
    (``pool_shape=False``: each step's own conformal quantiles). The final forecast's paths are then remapped
    step by step with a monotone, piecewise-linear map of their standardised deviations from the median that
    sends the forecast's own central quantiles at each level to ``median +/- w * factor``; so each central
    interval in `levels` covers, on the pseudo-forecasts, what it claims.
``"scale"``
    One factor per step that minimises the pseudo-forecasts' mean CRPS when their deviations from the median
    are scaled by it (solved exactly over its breakpoints, steps within `pool_steps` pooled); the final
    paths' deviations from their median are scaled by it.

Prices are calibrated in log space (all of open/high/low/close with the map fitted on close, which is
monotone and the same for the four columns, so every candle keeps high >= max(open, close) >= ... >= low);
volume and amount each with their own map in ``asinh(v / s)`` space (``s``: `VOLUME_SCALE` times the
context's median positive value), which is log space for all but tiny volumes and defined at 0; calibrated
volumes are kept within the range of the context and the samples widened by the context's width (in that
space) and, where the sample was not negative, at or above 0 (counted). Columns the pipeline constructed
(volume/amount absent from the input) are left as they are. Series that are not prices (a non-positive
value in the context or the samples) are calibrated in price units.

Where it sits: calibration is a layer on top of the pipeline. `Calibrator` (or `calibrated(pipe, config)`)
drives the pipeline's steps itself: each context is validated once, the raw forecast made, and every
pseudo-forecast of every series run in one batched sampling call. ``KronosPipeline.forecast(...,
calibration=...)`` is sugar for it. `calibrate_samples` is the same engine for any forecaster.

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
Vovk, Gammerman and Shafer, "Algorithmic Learning in a Random World", Springer 2005 (conformal prediction).
Romano, Patterson and Candes, "Conformalized Quantile Regression", NeurIPS 2019.
Gneiting and Raftery, "Strictly Proper Scoring Rules, Prediction, and Estimation", JASA 2007 (CRPS).
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import candles
from .config import SamplingConfig
from .crps import mean_abs_difference
from .forecast import KronosForecast
from .preparation import MIN_CONTEXT_BARS, prepare_window, resolve_seed, series_streams
from .quantiles import sample_quantile
from .validation import KRONOS_COLUMNS, KronosInputError, check_positive_int, prepare_context

if TYPE_CHECKING:  # annotations only: this module never imports the pipeline (no cycle)
    from .pipeline import KronosPipeline

__all__ = [
    "METHODS",
    "CalibrationConfig",
    "Calibrator",
    "calibrate_forecast",
    "calibrate_samples",
    "calibrated",
]

#: Calibration methods (see the module docstring).
METHODS = ("conformal", "scale")

CALIBRATION_VERSION = 2
"""Bumped when calibrated paths of the same inputs change (2: the forecast's own quantiles are read at plotting
position ``q (n + 1)``, `kronos_plugins.quantiles`). The benchmark's forecast cache keys calibrated models on it."""
#: Central-interval levels at which ``"conformal"`` fits its factors (default of `CalibrationConfig.levels`).
DEFAULT_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)

_PRICES = [KRONOS_COLUMNS.index(c) for c in ("open", "high", "low", "close")]
_CLOSE = KRONOS_COLUMNS.index("close")
_VOLUMES = ("volume", "amount")
#: Volume and amount are calibrated in asinh(v / s) space, s = VOLUME_SCALE x the context's median positive
#: value: log-like above about s (so for almost every bar), linear near 0, and defined at 0.
VOLUME_SCALE = 0.01

#: A forecaster: ``forecast_fn(frames, horizon, future_timestamps, series_offset)`` returns samples shaped
#: (len(frames), num_samples, horizon, 6) in price units, columns as `KRONOS_COLUMNS`. ``future_timestamps``
#: is None or one DatetimeIndex per frame; ``series_offset`` is the position of ``frames[0]`` in the
#: caller's collection (so a forecaster can keep one random stream per series).
ForecastFn = Callable[[list, int, "list | None", int], np.ndarray]


@dataclass(frozen=True)
class CalibrationConfig:
    """How to calibrate: method, pseudo-forecast origins and levels.

    Parameters
    ----------
    method : {"conformal", "scale"}, default="conformal"
        See `kronos_plugins.calibration`.
    n_origins : int, default=24
        Pseudo-forecasts per series (fewer when the context is too short: origin ``t`` needs ``t >= 8`` bars
        before it). Each costs one forecast, so a calibrated forecast costs ``1 + n_origins`` forecasts.
    step : int, optional
        Bars between consecutive origins. None (default): per series, as far apart as its context allows
        (``(Tc - H - 8) // (n_origins - 1)``), between 1 and the horizon. Origins one bar apart make
        pseudo-forecasts whose outcomes overlap in all but one bar, so their scores are nearly copies of each
        other and the wide levels come out too narrow; origins a horizon apart overlap in nothing.
    levels : tuple of float, default=(0.1, 0.2, ..., 0.9, 0.95, 0.98)
        ``"conformal"``: central-interval levels whose coverage is fitted (the map is linear between them and
        proportional beyond the widest). One level gives one factor per step.
    pool_steps : int, default=1
        Steps within ``pool_steps`` of a step share its width estimate (the median score for
        ``"conformal"``, the CRPS fit for ``"scale"``; with ``pool_shape=False``, its conformal quantiles).
        0: each step alone.
    pool_shape : bool, default=True
        ``"conformal"``: take the tails' shape from the scores of all steps (in units of each step's median
        score) rather than from each step's K scores alone, which are too few for wide levels.
    max_factor : float, default=50.0
        Factors are clipped to [1 / max_factor, max_factor] (``info["factors_clipped"]`` counts them).
    min_origins : int, default=10
        Fewer usable origins than this gives a warning (the factors are then rough).
    min_context : int, optional
        Fewest bars before an origin (at least 8). None (default): the bars the forecast itself uses (its
        `lookback`, else the pipeline's `max_context`, capped at the context's length; the whole context for
        other forecasters) when ``n_origins`` origins at least one bar apart fit after them, else half of
        them. Pseudo-forecasts from much shorter contexts than the real forecast's are worse than it, so they
        make the calibrated intervals too wide.
    pseudo_samples : int, optional
        Paths per pseudo-forecast (at least 2; `Calibrator` only): each draws the first ``pseudo_samples``
        of the paths it would draw with the forecast's ``num_samples`` (same streams). None (default): the
        forecast's ``num_samples``. The pseudo-forecasts are ``n_origins`` times the work of the forecast at
        that count (the generator's cost grows with rows, batched or not), so fewer paths are how a
        calibrated forecast gets cheap; their medians and widths are then noisier, which widens the
        calibrated intervals somewhat (see benchmarks/speed/bench_calibration_cost.py).

    Examples
    --------
    >>> config = CalibrationConfig(method="scale", n_origins=16)
    >>> config.levels[-3:], config.step
    ((0.9, 0.95, 0.98), None)
    >>> pipe.forecast(bars, horizon=12, num_samples=100, seed=0, calibration=config)  # doctest: +SKIP
    """

    method: str = "conformal"
    n_origins: int = 24
    step: int | None = None
    levels: tuple[float, ...] = DEFAULT_LEVELS
    pool_steps: int = 1
    pool_shape: bool = True
    max_factor: float = 50.0
    min_origins: int = 10
    min_context: int | None = None
    pseudo_samples: int | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise KronosInputError(
                f"calibration `method` must be one of {list(METHODS)}, got {self.method!r}."
            )
        check_positive_int(self.n_origins, "n_origins")
        if self.step is not None:
            check_positive_int(self.step, "step")
        check_positive_int(self.pool_steps, "pool_steps", minimum=0)
        check_positive_int(self.min_origins, "min_origins", minimum=0)
        if self.min_context is not None:
            check_positive_int(self.min_context, "min_context")
        if self.pseudo_samples is not None:
            check_positive_int(self.pseudo_samples, "pseudo_samples", minimum=2)
        levels = (self.levels,) if isinstance(self.levels, numbers.Real) else tuple(self.levels)
        if not levels or not all(isinstance(a, numbers.Real) and 0 < a < 1 for a in levels):
            raise KronosInputError(
                f"calibration `levels` must be central-interval levels in (0, 1), e.g. (0.5, 0.8, 0.95); "
                f"got {self.levels!r}."
            )
        object.__setattr__(self, "levels", tuple(sorted({float(a) for a in levels})))
        if not (isinstance(self.max_factor, numbers.Real) and self.max_factor > 1):
            raise KronosInputError(f"calibration `max_factor` must be a number > 1, got {self.max_factor!r}.")

    @classmethod
    def coerce(cls, value: str | Mapping | CalibrationConfig | None) -> CalibrationConfig | None:
        """The config meant by a ``calibration=`` argument: None, a method, a dict of fields, or a config."""
        if value is None or isinstance(value, CalibrationConfig):
            return value
        if isinstance(value, str):
            return cls(method=value)
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {f.name for f in dataclasses.fields(cls)})
            if unknown:
                raise KronosInputError(f"`calibration` has unknown fields {unknown}.")
            return cls(**value)
        raise KronosInputError(
            f"`calibration` must be None, one of {list(METHODS)}, a dict or a CalibrationConfig; "
            f"got {type(value).__name__} {value!r}."
        )

    def to_dict(self) -> dict[str, Any]:
        """Fields as plain values (lists for tuples), e.g. for JSON; `coerce` reads it back."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


# ------------------------------------------------------------------------------------------------------------
# The layer: a pipeline with calibrated forecasts


class Calibrator:
    """Calibrated forecasts of a `KronosPipeline`: a layer on top of it, not a mode of it.

    `forecast` checks the settings once, validates each whole context once, makes the raw forecast from the
    last `lookback` bars (the pipeline's `forecast_series`) and then every pseudo-forecast of every series in
    ONE batched `KronosPipeline.sample` call (windows of equal length share generator calls; each
    pseudo-forecast reuses its series' random streams). The raw paths are the uncalibrated forecast's, so
    ``Calibrator(pipe, c).forecast(ctx, ...)`` is the map of ``pipe.forecast(ctx, ...)``'s paths that
    ``pipe.forecast(ctx, ..., calibration=c)`` returns (that argument is sugar for this class).

    Parameters
    ----------
    pipeline : KronosPipeline
        The forecaster (anything with its `request`, `validate`, `forecast_series`, `sample` and
        `max_context`).
    config : str, dict or CalibrationConfig, default="conformal"
        The method and its settings (see `CalibrationConfig`).

    Examples
    --------
    >>> calibrated_pipe = Calibrator(pipe, CalibrationConfig(n_origins=16))  # doctest: +SKIP
    >>> fc = calibrated_pipe.forecast(bars, horizon=12, num_samples=100, seed=0)  # doctest: +SKIP
    >>> fc.calibration[0]["factors"]["close"].shape  # doctest: +SKIP
    (12, 11)
    """

    def __init__(self, pipeline: KronosPipeline, config: str | Mapping | CalibrationConfig = "conformal"):
        config = CalibrationConfig.coerce(config)
        if config is None:
            raise KronosInputError(
                "`Calibrator` needs a calibration config; got None (use the pipeline itself)."
            )
        self.pipeline = pipeline
        self.config = config

    def forecast(
        self,
        context: pd.DataFrame | Sequence[pd.DataFrame],
        horizon: int,
        sampling: SamplingConfig | Mapping | None = None,
        *,
        future_timestamps=None,
        item_ids: Sequence | None = None,
        seed: int | None = None,
        **settings,
    ) -> KronosForecast:
        """A calibrated forecast: the arguments and result of `KronosPipeline.forecast`, with ``calibration``
        filled (one dict per series, see `calibrate_samples`). With ``seed=None`` one fresh seed is drawn for
        the forecast and its pseudo-forecasts."""
        request = self.pipeline.request(horizon, sampling, seed=resolve_seed(seed), **settings)
        series = self.pipeline.validate(context, request, whole=True)
        raw = self.pipeline.forecast_series(series, request, future_timestamps, item_ids)
        return self._calibrate(raw, series, request)

    def calibrate(
        self,
        forecast: KronosForecast,
        context: pd.DataFrame | Sequence[pd.DataFrame],
        sampling: SamplingConfig | Mapping | None = None,
        **settings,
    ) -> KronosForecast:
        """Calibrate a forecast you already hold, made by ``pipeline.forecast(context, ...)`` with `settings`
        (pass those of the forecast, the seed included, so that the pseudo-forecasts reuse its random streams;
        ``num_samples`` defaults to the forecast's). ``future_timestamps`` and ``item_ids`` are accepted and not
        needed."""
        settings.pop("future_timestamps", None)
        settings.pop("item_ids", None)
        if settings.pop("calibration", None) is not None:
            raise KronosInputError("`calibration` cannot be among the forecast settings of a calibration.")
        if sampling is None and settings.get("num_samples") is None:
            settings["num_samples"] = forecast.num_samples
        request = self.pipeline.request(forecast.horizon, sampling, **settings)
        series = self.pipeline.validate(context, request, whole=True)
        if len(series) != forecast.n_series:
            raise KronosInputError(
                f"`context` has {len(series)} series but the forecast {forecast.n_series}; pass the forecast's "
                "own contexts."
            )
        return self._calibrate(forecast, series, request)

    def _calibrate(self, forecast: KronosForecast, series, request) -> KronosForecast:
        config, H = self.config, request.horizon
        if isinstance(request.seed, tuple) and len(request.seed) != len(series):
            raise KronosInputError(
                f"`seed` has {len(request.seed)} seeds for {len(series)} series; pass one per series."
            )
        window = request.lookback or self.pipeline.max_context
        realised = [s.realised() for s in series]
        samples = _check_samples(forecast.samples, len(series), H)
        origins, min_contexts = _plan([len(s) for s in series], H, config, window)
        _warn_short(origins, min_contexts, [len(s) for s in series], H, config)
        sampling = request.sampling
        if config.pseudo_samples is not None:
            sampling = dataclasses.replace(
                sampling, num_samples=min(config.pseudo_samples, sampling.num_samples)
            )
        # every pseudo-forecast of every series, in one call
        contexts, y_stamps, owner = [], [], []
        for i, (s, cuts) in enumerate(zip(series, origins, strict=True)):
            for t in cuts:
                start = 0 if request.lookback is None else max(0, t - request.lookback)
                contexts.append(prepare_window(s, start, t, self.pipeline.model.config.price_centre))
                y_stamps.append(s.stamps[t : t + H])
                owner.append(i)
        seed, streams = series_streams(request.seed, request.series_offset, owner)
        got = (
            self.pipeline.sample(contexts, y_stamps, streams, H, sampling, seed, anchor=request.anchor)
            if contexts
            else np.empty((0, sampling.num_samples, H, len(KRONOS_COLUMNS)))
        )
        owner = np.asarray(owner, dtype=int)
        pseudo = [got[owner == i] for i in range(len(series))]
        out, info = _calibrate_all(
            samples, pseudo, realised, origins, H, config, forecast.constructed_columns
        )
        return dataclasses.replace(forecast, samples=out, calibration=info)


def calibrated(
    pipeline: KronosPipeline, config: str | Mapping | CalibrationConfig = "conformal"
) -> Calibrator:
    """`pipeline` with calibrated forecasts: ``calibrated(pipe, "scale").forecast(ctx, 12, seed=0)``."""
    return Calibrator(pipeline, config)


def calibrate_forecast(
    pipeline: KronosPipeline,
    context: pd.DataFrame | Sequence[pd.DataFrame],
    horizon: int,
    forecast: KronosForecast,
    method: str | Mapping | CalibrationConfig = "conformal",
    n_origins: int | None = None,
    step: int | None = None,
    **forecast_kwargs,
) -> KronosForecast:
    """Calibrate `forecast` (made by ``pipeline.forecast(context, horizon, **forecast_kwargs)``).

    ``Calibrator(pipeline, method).calibrate(forecast, context, **forecast_kwargs)``, with `n_origins` and
    `step` overriding the config's. Pass the forecast's settings, the seed included, so each series'
    pseudo-forecasts reuse its random streams.

    Returns
    -------
    KronosForecast
        A copy with calibrated ``samples`` (same shape) and ``calibration``: one dict per series with the
        method, origins, factors and scores (see `calibrate_samples`).
    """
    config = CalibrationConfig.coerce(method)
    overrides = {k: v for k, v in (("n_origins", n_origins), ("step", step)) if v is not None}
    config = dataclasses.replace(config, **overrides) if overrides else config
    horizon = check_positive_int(horizon, "horizon")
    if horizon != forecast.horizon:
        raise KronosInputError(f"`horizon` {horizon} is not the forecast's ({forecast.horizon}).")
    return Calibrator(pipeline, config).calibrate(forecast, context, **forecast_kwargs)


def calibrate_samples(
    forecast_fn: ForecastFn,
    context: Sequence[pd.DataFrame],
    horizon: int,
    samples: np.ndarray,
    config: str | Mapping | CalibrationConfig = "conformal",
    column_mapping: Mapping[str, str] | None = None,
    allow_non_positive: bool = False,
    constructed: Sequence[Sequence[str]] | None = None,
    window: int | None = None,
) -> tuple[np.ndarray, list[dict]]:
    """Calibrate the sample paths of any forecaster (the engine `Calibrator` shares).

    Parameters
    ----------
    forecast_fn : callable
        ``forecast_fn(frames, horizon, future_timestamps, series_offset) -> samples`` (see `ForecastFn`),
        called once per origin rank k with the pseudo-contexts ``context[i].iloc[:t]`` of the series that have
        a k-th origin (in runs of consecutive series), never with a bar at or after an origin;
        ``frames[j]`` is a pseudo-context of series ``series_offset + j``, and ``future_timestamps`` the
        timestamps of its bars ``t .. t+H-1`` (None when the contexts have none).
    context : list of DataFrames
        The forecast's contexts, whole.
    horizon : int
        Steps of `samples`.
    samples : ndarray
        The forecast to calibrate, shaped (n_series, num_samples, horizon, 6), price units.
    config : str, dict or CalibrationConfig, default="conformal"
        Method and origins (``pseudo_samples`` is for `Calibrator`; here `forecast_fn` decides).
    column_mapping, allow_non_positive
        As for `KronosPipeline.forecast` (to read the realised bars of the contexts).
    constructed : list of tuple of str, optional
        Per series, the columns constructed by the pipeline (left uncalibrated).
    window : int, optional
        Bars the forecaster uses of a context (None: all); half of it is the default `min_context`.

    Returns
    -------
    samples : ndarray
        Calibrated, same shape; paths stay paths (one monotone map per step and column group).
    info : list of dict
        Per series: ``method``, ``origins`` (the origins t used), ``n_origins``, ``levels``, ``price_space``
        ("log" or "linear"), ``factors`` (column -> array (horizon, len(levels)) for conformal or
        (horizon,) for scale), ``scores`` (column -> pseudo-forecast scores (n_origins, horizon)),
        ``pseudo_coverage`` (level -> coverage of the raw pseudo-forecasts' central close intervals),
        ``factors_clipped`` (column -> how many factors were clipped to `max_factor` or its inverse),
        ``ohlc_repairs`` (candles whose high/low had to be repaired after the map; 0 for a monotone map) and
        ``volume_clipped`` (volume/amount draws pulled back within bounds).
    """
    config = CalibrationConfig.coerce(config)
    horizon = check_positive_int(horizon, "horizon")
    frames = list(context)
    samples = _check_samples(samples, len(frames), horizon)
    n_series, n_samples = samples.shape[:2]
    realised, stamps = [], []
    for i, df in enumerate(frames):
        frame, ts = prepare_context(
            df,
            name=f"context[{i}]" if n_series > 1 else "context",
            min_length=MIN_CONTEXT_BARS,
            column_mapping=column_mapping,
            require_positive=not allow_non_positive,
        )
        realised.append(frame)
        stamps.append(ts)
    lengths = [len(f) for f in realised]
    origins, min_contexts = _plan(lengths, horizon, config, window)
    _warn_short(origins, min_contexts, lengths, horizon, config)
    pseudo = _pseudo_forecasts(forecast_fn, frames, stamps, origins, horizon, n_samples)
    return _calibrate_all(samples, pseudo, realised, origins, horizon, config, constructed)


def _check_samples(samples, n_series: int, horizon: int) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 4 or samples.shape[0] != n_series or samples.shape[2] != horizon:
        raise KronosInputError(
            f"`samples` must be shaped ({n_series}, num_samples, {horizon}, {len(KRONOS_COLUMNS)}), "
            f"found: {samples.shape}."
        )
    if samples.shape[1] < 2:
        warnings.warn(
            "calibration needs num_samples >= 2: a single path has no spread to widen; it is returned as is.",
            UserWarning,
            stacklevel=4,
        )
    return samples


def _plan(lengths, horizon, config, window) -> tuple[list[list[int]], list[int]]:
    """Per series of `lengths` bars: the pseudo-forecast origins and the bars each needs before it."""
    origins, min_contexts = [], []
    for n in lengths:
        used = n if window is None else min(n, window)
        min_contexts.append(_min_context(n, horizon, used, config))
        origins.append(_origins(n, horizon, config, min_contexts[-1]))
    return origins, min_contexts


def _warn_short(origins, min_contexts, lengths, horizon, config) -> None:
    short = [i for i in range(len(origins)) if len(origins[i]) < config.min_origins]
    if short:
        i = short[0]
        warnings.warn(
            f"calibration: {len(short)} of {len(origins)} series with fewer than {config.min_origins} "
            f"pseudo-forecast origins (context[{i}]: {len(origins[i])} from {lengths[i]} bars, each "
            f"origin with {min_contexts[i]} bars before it and the horizon {horizon} after); their "
            f"calibration is rough{' or absent' if not origins[i] else ''}. Pass longer contexts.",
            UserWarning,
            stacklevel=4,
        )


def _calibrate_all(samples, pseudo, realised, origins, horizon, config, constructed):
    n_series = samples.shape[0]
    constructed = list(constructed) if constructed else [()] * n_series
    out = samples.copy()
    info = []
    for i in range(n_series):
        out[i], series_info = _calibrate_series(
            samples[i], pseudo[i], realised[i], origins[i], horizon, config, constructed[i]
        )
        info.append(series_info)
    return out, info


# ------------------------------------------------------------------------------------------------------------
# Pseudo-forecasts


def _min_context(n: int, horizon: int, used: int, config: CalibrationConfig) -> int:
    """Bars an origin needs before it: `config.min_context`, else all `used` bars of the forecast when the
    context leaves room for `n_origins` such origins (each pseudo-forecast then sees as much as the forecast),
    else half of them."""
    if config.min_context is not None:
        return max(MIN_CONTEXT_BARS, config.min_context)
    if n - horizon - used >= config.n_origins - 1:
        return max(MIN_CONTEXT_BARS, used)
    return max(MIN_CONTEXT_BARS, used // 2)


def _origins(n: int, horizon: int, config: CalibrationConfig, min_context: int) -> list[int]:
    """Origins t = n - horizon - k * step (k = 0..n_origins-1) with `min_context` bars or more before them."""
    step = config.step
    if step is None:
        room = n - horizon - min_context
        step = min(max(room // max(config.n_origins - 1, 1), 1), horizon)
    cuts = [n - horizon - k * step for k in range(config.n_origins)]
    return [t for t in cuts if t >= min_context]


def _pseudo_forecasts(forecast_fn, frames, stamps, origins, horizon, n_samples) -> list[np.ndarray]:
    """Per series, the pseudo-forecasts' samples (n_origins_i, S, H, 6), origin k at row k.

    Call k holds every series that has an origin k, in runs of consecutive series (so each series is passed
    with its own position as offset and keeps its random streams).
    """
    n_series = len(frames)
    pseudo = [np.empty((len(o), n_samples, horizon, len(KRONOS_COLUMNS))) for o in origins]
    for k in range(max((len(o) for o in origins), default=0)):
        have = [i for i in range(n_series) if len(origins[i]) > k]
        for run in _runs(have):
            cuts = [origins[i][k] for i in run]
            pieces = [frames[i].iloc[:t] for i, t in zip(run, cuts, strict=True)]
            future = [
                stamps[i][t : t + horizon] if stamps[i] is not None else None
                for i, t in zip(run, cuts, strict=True)
            ]
            got = forecast_fn(pieces, horizon, None if any(f is None for f in future) else future, run[0])
            got = np.asarray(got, dtype=np.float64)
            if got.shape != (len(run), n_samples, horizon, len(KRONOS_COLUMNS)):
                raise ValueError(
                    f"`forecast_fn` returned samples shaped {got.shape} for {len(run)} pseudo-contexts; "
                    f"expected ({len(run)}, {n_samples}, {horizon}, {len(KRONOS_COLUMNS)})."
                )
            for j, i in enumerate(run):
                pseudo[i][k] = got[j]
    return pseudo


def _runs(indices: list[int]) -> list[list[int]]:
    """Consecutive runs of sorted integers: [0, 1, 3] -> [[0, 1], [3]]."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


# ------------------------------------------------------------------------------------------------------------
# One series


def _calibrate_series(x, pseudo, frame, origins, horizon, config, constructed):
    """Calibrate one series' samples x (S, H, 6) from its pseudo-forecasts (K, S, H, 6)."""
    K = len(origins)
    info: dict[str, Any] = {
        "method": config.method,
        "origins": list(origins),
        "n_origins": K,
        "levels": list(config.levels) if config.method == "conformal" else None,
        "price_space": None,
        "factors": {},
        "scores": {},
        "pseudo_coverage": {},
        "factors_clipped": {},
        "ohlc_repairs": 0,
        "volume_clipped": 0,
    }
    if K == 0 or x.shape[0] < 2:
        return x, info
    # (K, H) realised bars after each origin
    truth = np.stack([frame.to_numpy()[t : t + horizon] for t in origins])  # (K, H, n_cols)
    cols = list(frame.columns)
    out = x.copy()

    # prices: one map, fitted on close, applied to open/high/low/close
    ctx_prices = frame[["open", "high", "low", "close"]].to_numpy()
    log_space = (ctx_prices > 0).all() and (x[..., _PRICES] > 0).all() and (pseudo[..., _CLOSE] > 0).all()
    fwd, inv = (np.log, np.exp) if log_space else (_identity, _identity)
    info["price_space"] = "log" if log_space else "linear"
    y_close = fwd(truth[..., cols.index("close")])
    p_close = fwd(pseudo[..., _CLOSE])  # (K, S, H)
    fitted = _fit(p_close, y_close, config)
    info["factors"]["close"], info["scores"]["close"] = fitted.factors, fitted.scores
    info["factors_clipped"]["close"] = fitted.clipped
    info["pseudo_coverage"] = _coverage(p_close, y_close, config.levels)
    prices = fwd(x[..., _PRICES])  # (S, H, 4)
    raw_ok = candles.consistent(x[..., _PRICES])
    out[..., _PRICES] = inv(fitted.apply(fwd(x[..., _CLOSE]), prices))
    broken = raw_ok & ~candles.consistent(out[..., _PRICES])
    if broken.any():  # keep every candle that was consistent consistent
        out[..., _PRICES] = candles.widen(out[..., _PRICES], where=broken)
    info["ohlc_repairs"] = int(broken.sum())

    # volume and amount: each its own map in asinh(v / s) space
    for name in _VOLUMES:
        if name in constructed or name not in cols:
            continue
        j = KRONOS_COLUMNS.index(name)
        ctx = frame[name].to_numpy()
        s = VOLUME_SCALE * (float(np.median(ctx[ctx > 0])) if (ctx > 0).any() else 1.0)
        fv = _fit(np.arcsinh(pseudo[..., j] / s), np.arcsinh(truth[..., cols.index(name)] / s), config)
        info["factors"][name], info["scores"][name] = fv.factors, fv.scores
        info["factors_clipped"][name] = fv.clipped
        v = np.arcsinh(x[..., j] / s)
        mapped = fv.apply(v, v[..., None])[..., 0]
        # bounds: the context's and the samples' range, widened by the context's width on each side (a
        # volume pseudo-forecast without spread gives huge factors); a non-negative volume stays non-negative
        c = np.arcsinh(ctx / s)
        lo, hi = min(c.min(), v.min()) - np.ptp(c), max(c.max(), v.max()) + np.ptp(c)
        lo = np.where(x[..., j] >= 0, max(lo, 0.0), lo)
        clipped = (mapped < lo) | (mapped > hi)
        out[..., j] = np.sinh(np.clip(mapped, lo, hi)) * s
        info["volume_clipped"] += int(clipped.sum())
    return out, info


def _identity(a):
    return a


def _coverage(pseudo, y, levels) -> dict[float, float]:
    """Coverage of the pseudo-forecasts' central intervals (K, S, H) vs (K, H), over origins and steps."""
    a = np.asarray(levels)
    lo, hi = np.split(sample_quantile(pseudo, np.r_[0.5 - a / 2, 0.5 + a / 2], axis=1), 2)  # each (L, K, H)
    inside = (y >= lo) & (y <= hi)
    return {level: float(c) for level, c in zip(levels, inside.mean(axis=(1, 2)), strict=True)}


# ------------------------------------------------------------------------------------------------------------
# Fitting and applying the maps


@dataclass
class _Fitted:
    """A fitted calibration of one column group: factors per step, and how to apply them."""

    method: str
    factors: np.ndarray  # (H, L) conformal or (H,) scale
    scores: np.ndarray  # (K, H)
    levels: tuple[float, ...]
    clipped: int = 0  # factors that fell outside [1 / max_factor, max_factor] and were clipped to it

    def apply(self, ref: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Map `values` (S, H, C) by the map built on the reference column `ref` (S, H) of the forecast."""
        m, wp, wm = _centre_and_widths(ref)  # (H,)
        d = values - m[None, :, None]
        if self.method == "scale":
            return m[None, :, None] + self.factors[None, :, None] * d
        out = values.copy()
        # (L, H) the forecast's own levels, by the estimator its intervals are read with
        upper = sample_quantile(ref, 0.5 + np.asarray(self.levels) / 2, axis=0)
        lower = sample_quantile(ref, 0.5 - np.asarray(self.levels) / 2, axis=0)
        for h in range(ref.shape[1]):
            for side, w, q in ((1.0, wp[h], upper[:, h]), (-1.0, wm[h], lower[:, h])):
                if w <= 0:  # no spread on this side: nothing to scale
                    continue
                sel = side * d[:, h] > 0  # (S, C) values on this side of the median
                u = side * d[:, h][sel] / w
                u_grid = side * (q - m[h]) / w  # (L,) standardised positions of the forecast's quantiles
                out[:, h][sel] = m[h] + side * w * _piecewise(u, u_grid, self.factors[h])
        return out


def _piecewise(u: np.ndarray, u_grid: np.ndarray, f_grid: np.ndarray) -> np.ndarray:
    """Monotone map of standardised deviations u >= 0 via (0, 0) and (u_grid, f_grid), then proportional."""
    keep = np.isfinite(u_grid) & (u_grid > 0)
    if not keep.any():
        return u
    xp = np.r_[0.0, np.maximum.accumulate(u_grid[keep])]
    fp = np.r_[0.0, f_grid[keep]]
    return np.where(u <= xp[-1], np.interp(u, xp, fp), u * fp[-1] / xp[-1])


def _centre_and_widths(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and mean deviations above/below it of samples (..., S, H) -> each (..., H).

    A side without spread borrows the other side's width; both zero means no spread.
    """
    m = np.median(x, axis=-2)
    d = x - m[..., None, :]
    up, down = d > 0, d < 0
    wp = np.where(up, d, 0.0).sum(-2) / np.maximum(up.sum(-2), 1)
    wm = np.where(down, -d, 0.0).sum(-2) / np.maximum(down.sum(-2), 1)
    return m, np.where(wp > 0, wp, wm), np.where(wm > 0, wm, wp)


def _fit(pseudo: np.ndarray, y: np.ndarray, config: CalibrationConfig) -> _Fitted:
    """Factors from pseudo-forecast samples (K, S, H) and realised values (K, H), in the calibration space."""
    m, wp, wm = _centre_and_widths(pseudo)  # (K, H)
    e = y - m
    w = np.where(e >= 0, wp, wm)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(e == 0, 0.0, np.abs(e) / w)  # (K, H); inf where the pseudo-forecast has no spread
    scores = np.minimum(scores, config.max_factor)
    H = scores.shape[1]
    near = [slice(max(0, h - config.pool_steps), h + config.pool_steps + 1) for h in range(H)]
    levels = np.asarray(config.levels)
    if config.method == "scale":
        factors = np.array([_crps_optimal_scale(pseudo[..., s] - m[:, None, s], e[:, s]) for s in near])
    elif config.pool_shape:
        # per step: the median score of the nearby steps (how wide); per level: the conformal quantile of all
        # scores in units of their step's median (the tails' shape, from K x H scores)
        scale = np.array([np.median(scores[:, s]) for s in near])  # (H,)
        scale = np.where(scale > 0, scale, 1.0)
        factors = scale[:, None] * _conformal_quantile((scores / scale).ravel(), levels)[None, :]
    else:
        factors = np.stack([_conformal_quantile(scores[:, s].ravel(), levels) for s in near])  # (H, L)
    lo, hi = 1.0 / config.max_factor, config.max_factor
    clipped = int(((factors <= lo) | (factors >= hi)).sum())  # at the cap (the scores are capped too)
    return _Fitted(config.method, np.clip(factors, lo, hi), scores, config.levels, clipped)


def _conformal_quantile(scores: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Split-conformal quantiles of n scores: level a (n + 1) / n (at most the largest), interpolated."""
    n = len(scores)
    return np.quantile(scores, np.minimum(levels * (n + 1) / n, 1.0))


def _crps_optimal_scale(d: np.ndarray, e: np.ndarray) -> float:
    """The f >= 0 minimising sum over origins of CRPS(ensemble m + f d, y), d (K, S, W), e = y - m (K, W).

    CRPS(f) = mean_j |f d_j - e| - f G / 2 with G = mean_jj' |d_j - d_j'|: convex and piecewise linear in f,
    so the minimum is at the breakpoint e / d_j where the right derivative turns non-negative.
    """
    K, S, W = d.shape
    d = np.moveaxis(d, 1, -1).reshape(K * W, S)  # (N, S) one ensemble per (origin, step)
    e = e.reshape(K * W)
    gini = mean_abs_difference(d, axis=1)  # mean |d_j - d_j'|
    # right derivative at f -> 0+: d * sign(f d - e) = -d sign(e) (or |d| where e = 0)
    slope0 = np.where(e[:, None] == 0, np.abs(d), -d * np.sign(e)[:, None]).sum() / S - 0.5 * gini.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        b = e[:, None] / d
    jump = np.where(np.isfinite(b) & (b > 0), 2.0 * np.abs(d) / S, 0.0).ravel()
    b = b.ravel()
    pos = jump > 0
    if slope0 >= 0 or not pos.any():
        return 0.0 if slope0 >= 0 else 1.0
    order = np.argsort(b[pos])
    cum = slope0 + np.cumsum(jump[pos][order])
    hit = np.searchsorted(cum, 0.0, side="left")
    return float(b[pos][order][min(hit, len(cum) - 1)])
