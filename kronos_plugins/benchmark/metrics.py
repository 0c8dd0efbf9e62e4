"""Per-window metrics of sample forecasts: point, probabilistic and financial.

Comparing models over many windows (skill scores, the Diebold-Mariano test) is
`kronos_plugins.benchmark.comparison`; its names are re-exported here for existing imports.

Data contract
-------------
A probabilistic forecast for one (model, series, origin) is ``samples`` shaped ``(num_samples, horizon)`` of
future close prices, scored against the realised ``target`` shaped ``(horizon,)`` and the ``context`` close
history (1-D, strictly before the origin), which supplies the scale of MASE/MSIS and the last close that
returns are measured from.

Per-step metrics return arrays of length ``horizon``; :func:`score_window` adds their mean over steps.
Standard building blocks come from libraries: absolute/squared errors, sMAPE, quantile loss, the interval
score and the seasonal scale from ``gluonts.ev``, and the KS, Pearson, Spearman and Student-t machinery from
``scipy.stats``; CRPS is the package's one implementation, `kronos_plugins.crps` (equal to
``properscoring.crps_ensemble``, which the tests check).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..crps import crps_ensemble
from ..quantiles import central_interval, sample_quantile

try:
    from gluonts.ev import stats as _gl_stats
    from gluonts.ev.ts_stats import seasonal_error as _gl_seasonal_error
    from scipy import stats as _sp_stats
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"`kronos_plugins.benchmark.metrics` needs scipy and gluonts ({err.name} is missing); "
        "`pip install 'kronos-plugins[bench]'`."
    ) from err

__all__ = [
    "DEFAULT_QUANTILES",
    "DMResult",
    "SkillScore",
    "crps",
    "diebold_mariano",
    "direction_accuracy",
    "information_coefficient",
    "interval_coverage",
    "interval_width",
    "mae",
    "mase",
    "msis",
    "pit",
    "pit_histogram",
    "pit_ks",
    "point_forecast",
    "predicted_returns",
    "rank_information_coefficient",
    "realised_returns",
    "rmse",
    "scale",
    "score_window",
    "skill_score",
    "smape",
    "weighted_quantile_loss",
]

from .comparison import DMResult, SkillScore, _check_level, diebold_mariano, skill_score  # noqa: E402

DEFAULT_QUANTILES: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Quantile levels of the weighted quantile loss (the Chronos / GluonTS WQL grid)."""


# --------------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------------


def _as_samples(samples: object) -> np.ndarray:
    arr = np.asarray(samples, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(
            f"`samples` must be shaped (num_samples, horizon) with both >= 1, found: {arr.shape}; "
            "for a single point forecast pass `samples[None, :]`."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("`samples` contains NaN or inf; drop or repair those forecasts before scoring.")
    return arr


def _as_target(target: object, horizon: int | None = None) -> np.ndarray:
    arr = np.asarray(target, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"`target` must be 1-D shaped (horizon,), found: {arr.shape}.")
    if horizon is not None and arr.shape[0] != horizon:
        raise ValueError(
            f"`target` has length {arr.shape[0]} but the forecast horizon is {horizon}; "
            "score the forecast against the matching target rows."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("`target` contains NaN or inf; drop those windows before scoring.")
    return arr


def _as_point(point: object, horizon: int | None = None) -> np.ndarray:
    arr = np.asarray(point, dtype=np.float64)
    if arr.ndim != 1 or (horizon is not None and arr.shape[0] != horizon):
        raise ValueError(f"`point` must be shaped ({horizon or 'horizon'},), found: {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("`point` contains NaN or inf.")
    return arr


def _as_context(context: object) -> np.ndarray:
    arr = np.asarray(context, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ValueError(f"`context` must be a non-empty 1-D close history, found shape: {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("`context` contains NaN or inf; fill or drop those rows first.")
    return arr


def _level_key(level: float) -> str:
    return f"{level * 100:g}"


# --------------------------------------------------------------------------------------------------------
# Point metrics
# --------------------------------------------------------------------------------------------------------


def point_forecast(samples: object) -> np.ndarray:
    """Median of the samples at each step, shaped ``(horizon,)``.

    The median is the Bayes point forecast for absolute error, so it is what MAE/MASE score.
    """
    return np.median(_as_samples(samples), axis=0)


def _point_or_median(samples: object, target: np.ndarray, point: object | None) -> np.ndarray:
    if point is not None:
        return _as_point(point, target.shape[0])
    arr = _as_samples(samples)
    _as_target(target, arr.shape[1])
    return np.median(arr, axis=0)


def _gl(point: np.ndarray, target: np.ndarray, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {"label": target, "point": point}
    data.update(extra)
    return data


def mae(samples: object, target: object, point: object | None = None) -> np.ndarray:
    """Absolute error ``|y_t - yhat_t|`` per step, of ``point`` or else of the sample median.

    Parameters
    ----------
    samples : array_like
        Forecast samples shaped ``(num_samples, horizon)``; ignored when ``point`` is given (may be None).
    target : array_like
        Realised values shaped ``(horizon,)``.
    point : array_like, optional
        A point forecast shaped ``(horizon,)`` to score instead of the sample median.

    Returns
    -------
    np.ndarray
        Shaped ``(horizon,)``; its mean is the window's MAE.
    """
    y = _as_target(target)
    yhat = _point_or_median(samples, y, point)
    return _gl_stats.absolute_error(_gl(yhat, y), "point")


def rmse(samples: object, target: object, point: object | None = None) -> np.ndarray:
    """Root squared error per step (equal to the absolute error at a single step).

    Aggregate with ``sqrt(mean(rmse(...) ** 2))``, not with the mean of this array; :func:`score_window`
    reports both ``mse`` and ``rmse`` that way.
    """
    y = _as_target(target)
    yhat = _point_or_median(samples, y, point)
    return np.sqrt(_gl_stats.squared_error(_gl(yhat, y), "point"))


def smape(samples: object, target: object, point: object | None = None) -> np.ndarray:
    """Symmetric absolute percentage error ``2|y - yhat| / (|y| + |yhat|)`` per step (M4 definition).

    A fraction in ``[0, 2]``; multiply by 100 for the percentage M4 reports. NaN where both are zero.
    """
    y = _as_target(target)
    yhat = _point_or_median(samples, y, point)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _gl_stats.symmetric_absolute_percentage_error(_gl(yhat, y), "point")


def scale(context: object, m: int = 1) -> float:
    """In-sample seasonal-naive MAE of the context, ``mean |y_t - y_{t-m}|``: the MASE/MSIS denominator.

    Parameters
    ----------
    context : array_like
        Close history before the origin, 1-D, at least ``m + 1`` values.
    m : int, default=1
        Seasonality; ``m=1`` is the one-step naive forecast.

    Returns
    -------
    float
        The scale. It is 0 for a constant context, which makes scaled metrics infinite.
    """
    ctx = _as_context(context)
    if isinstance(m, bool) or int(m) != m or m < 1:
        raise ValueError(f"`m` must be a positive integer seasonality, found: {m!r}.")
    if ctx.shape[0] <= m:
        raise ValueError(
            f"`context` has {ctx.shape[0]} values but seasonality `m` {m} needs at least {m + 1}; "
            "pass a longer context or a smaller `m`."
        )
    return float(_gl_seasonal_error(ctx, int(m))[0])


def mase(
    samples: object, target: object, context: object, m: int = 1, point: object | None = None
) -> np.ndarray:
    """Absolute error per step divided by :func:`scale` of the context (Hyndman & Koehler, 2006).

    Returns
    -------
    np.ndarray
        Shaped ``(horizon,)``; its mean is the window's MASE.
    """
    y = _as_target(target)
    yhat = _point_or_median(samples, y, point)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _gl_stats.absolute_scaled_error(_gl(yhat, y, seasonal_error=scale(context, m)), "point")


# --------------------------------------------------------------------------------------------------------
# Probabilistic metrics
# --------------------------------------------------------------------------------------------------------


def crps(samples: object, target: object) -> np.ndarray:
    """Continuous ranked probability score of the sample ensemble per step.

    `kronos_plugins.crps.crps_ensemble`: ``E|X - y| - 0.5 E|X - X'|`` under the empirical distribution of
    the samples (as ``properscoring.crps_ensemble``). For a single sample (or all samples equal) it is the
    absolute error.

    Returns
    -------
    np.ndarray
        Shaped ``(horizon,)``, in price units.
    """
    s = _as_samples(samples)
    y = _as_target(target, s.shape[1])
    return crps_ensemble(s, y, axis=0)


def _quantile_losses(s: np.ndarray, y: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    qs = [_check_level("quantiles", q) for q in quantiles]
    if not qs:
        raise ValueError("`quantiles` is empty; pass levels such as (0.1, ..., 0.9).")
    qvals = sample_quantile(s, qs, axis=0)  # (Q, horizon)
    # GluonTS convention: QL_q = 2 * |(y - q_hat) * (1{q_hat >= y} - q)|, twice the pinball loss.
    return np.stack(
        [_gl_stats.quantile_loss({"label": y, str(q): qv}, q) for q, qv in zip(qs, qvals, strict=True)]
    )


def weighted_quantile_loss(
    samples: object, target: object, quantiles: Sequence[float] = DEFAULT_QUANTILES
) -> tuple[np.ndarray, float]:
    """Weighted quantile loss (WQL) at the given levels, per step and for the window.

    Quantiles of the samples are :func:`kronos_plugins.quantiles.sample_quantile` (plotting position
    ``q (n + 1)``), the quantiles a `KronosForecast` reports. With
    ``QL_q(t) = 2 * pinball_q(y_t, q_hat_t)``:

    * per step: ``mean_q QL_q(t) / |y_t|``;
    * window: ``sum_t mean_q QL_q(t) / sum_t |y_t|`` (the GluonTS ``MeanWeightedSumQuantileLoss`` for one
      series; a ratio of sums, so it is not the mean of the per-step values).

    Returns
    -------
    per_step : np.ndarray
        Shaped ``(horizon,)``.
    total : float
        The window's WQL.
    """
    s = _as_samples(samples)
    y = _as_target(target, s.shape[1])
    ql = _quantile_losses(s, y, quantiles).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ql / np.abs(y), float(ql.sum() / np.abs(y).sum())


def _central_interval(s: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    return central_interval(s, _check_level("level", level), axis=0)


def interval_coverage(samples: object, target: object, level: float = 0.9) -> np.ndarray:
    """Whether ``target`` lies in the central ``level`` interval of the samples, per step (1.0 or 0.0).

    The interval is ``[q_{(1-level)/2}, q_{(1+level)/2}]`` of the samples at plotting positions ``q (n + 1)``
    (:func:`kronos_plugins.quantiles.central_interval`), closed on both ends: a forecast whose samples and
    target come from one distribution covers ``level`` in expectation at any sample count (numpy's linear
    interpolation would cover 93.2 % of a 95 % interval with 100 samples). Averaged over windows it estimates
    the interval's coverage, which should be ``level``.
    """
    s = _as_samples(samples)
    y = _as_target(target, s.shape[1])
    lower, upper = _central_interval(s, level)
    return ((lower <= y) & (y <= upper)).astype(np.float64)


def interval_width(samples: object, level: float = 0.9) -> np.ndarray:
    """Width ``upper - lower`` of the central ``level`` sample interval per step, in price units."""
    lower, upper = _central_interval(_as_samples(samples), level)
    return upper - lower


def msis(samples: object, target: object, context: object, alpha: float = 0.05, m: int = 1) -> np.ndarray:
    """Scaled interval score of the central ``1 - alpha`` interval per step (M4 MSIS, Gneiting & Raftery).

    ``[(U - L) + 2/alpha (L - y) 1{y < L} + 2/alpha (y - U) 1{y > U}] / scale(context, m)``, whose mean over
    the horizon is the M4 MSIS. ``L`` and ``U`` are the ``alpha/2`` and ``1 - alpha/2`` sample quantiles.
    """
    s = _as_samples(samples)
    y = _as_target(target, s.shape[1])
    alpha = _check_level("alpha", alpha)
    lower, upper = central_interval(s, 1.0 - alpha, axis=0)
    data = {
        "label": y,
        str(alpha / 2): lower,
        str(1.0 - alpha / 2): upper,
        "seasonal_error": scale(context, m),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        return _gl_stats.scaled_interval_score(data, alpha)


def pit(samples: object, target: object, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Probability integral transform of ``target`` under the samples' empirical CDF, per step.

    ``PIT = F(y-) + V * (F(y) - F(y-))`` with ``F`` the empirical CDF and ``V ~ U(0, 1)`` drawn from
    ``rng``: the fraction of samples ``<= y`` when no sample equals ``y``, and a uniform draw across the
    jump when some do (randomised PIT, so a degenerate ensemble that hits the target is not scored 1).

    Notes
    -----
    With ``n`` distinct samples the values lie on the grid ``{0, 1/n, ..., 1}``, so even a perfectly
    calibrated forecast's PIT differs from U(0, 1) by up to ``1/(n+1)`` in CDF; the KS statistic of
    :func:`pit_ks` has that floor.

    Parameters
    ----------
    samples : array_like
        Shaped ``(num_samples, horizon)``.
    target : array_like
        Shaped ``(horizon,)``.
    rng : np.random.Generator or int, optional
        Source of the tie-breaking draws (a seed is passed to ``np.random.default_rng``).

    Returns
    -------
    np.ndarray
        Shaped ``(horizon,)``, values in ``[0, 1]``.
    """
    s = _as_samples(samples)
    y = _as_target(target, s.shape[1])
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n = s.shape[0]
    below = (s < y).sum(axis=0) / n
    at_or_below = (s <= y).sum(axis=0) / n
    v = gen.random(y.shape[0])
    return below + v * (at_or_below - below)


def pit_histogram(pit_values: object, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Normalised histogram of PIT values on ``[0, 1]``: flat for a calibrated forecast.

    A U shape means the forecast is too narrow (targets fall in the tails), a hump means too wide, a slope
    means bias.

    Returns
    -------
    density : np.ndarray
        Shaped ``(bins,)``; ``1.0`` everywhere for a perfectly uniform PIT.
    edges : np.ndarray
        Shaped ``(bins + 1,)``.
    """
    values = np.asarray(pit_values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("`pit_values` is empty; collect PIT values over windows first.")
    if isinstance(bins, bool) or int(bins) != bins or bins < 1:
        raise ValueError(f"`bins` must be a positive integer, found: {bins!r}.")
    density, edges = np.histogram(values, bins=int(bins), range=(0.0, 1.0), density=True)
    return density, edges


def pit_ks(pit_values: object) -> tuple[float, float]:
    """Kolmogorov-Smirnov statistic and p-value of PIT values against U(0, 1) (``scipy.stats.kstest``).

    Pool PIT values over windows (and steps, keeping in mind that steps of one window are dependent).
    """
    values = np.asarray(pit_values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("`pit_values` is empty; collect PIT values over windows first.")
    res = _sp_stats.kstest(values, "uniform")
    return float(res.statistic), float(res.pvalue)


# --------------------------------------------------------------------------------------------------------
# Financial metrics
# --------------------------------------------------------------------------------------------------------


def predicted_returns(samples: object, context: object, point: object | None = None) -> np.ndarray:
    """Simple return of the point forecast (sample median) relative to the last context close, per step."""
    last = _as_context(context)[-1]
    yhat = point_forecast(samples) if point is None else _as_point(point)
    return yhat / last - 1.0


def realised_returns(target: object, context: object) -> np.ndarray:
    """Simple return of the realised target relative to the last context close, per step."""
    return _as_target(target) / _as_context(context)[-1] - 1.0


def direction_accuracy(
    samples: object, target: object, context: object, point: object | None = None
) -> np.ndarray:
    """Whether the predicted and realised returns (from the last context close) have the same sign, per step.

    Scores 1.0 for the same strict sign, 0.0 for opposite signs, and 0.5 where either return is exactly
    zero: a forecast that makes no directional call (such as ``NaiveLast``) scores chance level, the
    expected score of a coin flip, rather than 0.
    """
    y = _as_target(target)
    pred = predicted_returns(samples, context, point)
    if pred.shape != y.shape:
        raise ValueError(f"`target` has length {y.shape[0]} but the forecast horizon is {pred.shape[0]}.")
    real = realised_returns(y, context)
    prod = np.sign(pred) * np.sign(real)
    return np.where(prod == 0, 0.5, (prod > 0).astype(np.float64))


def _cross_section(predicted: object, realised: object) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predicted, dtype=np.float64)
    r = np.asarray(realised, dtype=np.float64)
    if p.shape != r.shape or p.ndim not in (1, 2):
        raise ValueError(
            "`predicted` and `realised` must share a shape (n_assets,) or (n_assets, horizon), "
            f"found: {p.shape} and {r.shape}."
        )
    return (p[:, None], r[:, None]) if p.ndim == 1 else (p, r)


def _cross_corr(predicted: object, realised: object, method: str) -> float | np.ndarray:
    p, r = _cross_section(predicted, realised)
    out = np.full(p.shape[1], np.nan)
    for t in range(p.shape[1]):
        ok = np.isfinite(p[:, t]) & np.isfinite(r[:, t])
        pt, rt = p[ok, t], r[ok, t]
        # Undefined with fewer than 2 assets or a constant side; NaN instead of scipy's warning.
        if pt.size < 2 or np.ptp(pt) == 0 or np.ptp(rt) == 0:
            continue
        fn = _sp_stats.pearsonr if method == "pearson" else _sp_stats.spearmanr
        out[t] = float(fn(pt, rt).statistic)
    return float(out[0]) if np.ndim(predicted) == 1 else out


def information_coefficient(predicted: object, realised: object) -> float | np.ndarray:
    """Information coefficient: Pearson correlation across assets of predicted and realised returns.

    Parameters
    ----------
    predicted, realised : array_like
        Returns at ONE origin, shaped ``(n_assets,)`` or ``(n_assets, horizon)`` (one IC per step), for
        example stacked :func:`predicted_returns` and :func:`realised_returns`. Non-finite pairs are dropped.

    Returns
    -------
    float or np.ndarray
        A float for 1-D input, else shaped ``(horizon,)``. NaN where fewer than 2 assets remain or either
        side is constant.
    """
    return _cross_corr(predicted, realised, "pearson")


def rank_information_coefficient(predicted: object, realised: object) -> float | np.ndarray:
    """Rank IC: Spearman correlation across assets of predicted and realised returns at one origin.

    Same arguments and return convention as :func:`information_coefficient`.
    """
    return _cross_corr(predicted, realised, "spearman")


# --------------------------------------------------------------------------------------------------------
# One-window scorecard
# --------------------------------------------------------------------------------------------------------


def score_window(
    samples: object,
    target: object,
    context: object,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    intervals: Sequence[float] = (0.5, 0.8, 0.95),
    m: int = 1,
    *,
    point: object | None = None,
    msis_alpha: float = 0.05,
    rng: np.random.Generator | int | None = 0,
) -> dict[str, np.ndarray | float]:
    """Every metric of one (model, series, origin) forecast, per step and aggregated over the horizon.

    Parameters
    ----------
    samples : array_like
        Forecast close prices shaped ``(num_samples, horizon)``.
    target : array_like
        Realised close prices shaped ``(horizon,)``.
    context : array_like
        Close history strictly before the origin, 1-D; supplies the MASE/MSIS scale and the last close.
    quantiles : sequence of float, default=(0.1, ..., 0.9)
        Levels of the weighted quantile loss.
    intervals : sequence of float, default=(0.5, 0.8, 0.95)
        Central interval levels for coverage and width.
    m : int, default=1
        Seasonality of the MASE/MSIS scale.
    point : array_like, optional
        Point forecast for the point metrics; defaults to the sample median.
    msis_alpha : float, default=0.05
        MSIS scores the central ``1 - msis_alpha`` interval.
    rng : np.random.Generator or int, default=0
        Tie-breaking draws of the randomised PIT.

    Returns
    -------
    dict
        For each metric ``name``: ``name + "_by_step"`` shaped ``(horizon,)`` and ``name`` a float (the mean
        over steps) for ``mae``, ``mse``, ``mase``, ``smape``, ``crps``, ``scaled_crps`` (CRPS / scale),
        ``wql``, ``msis``, ``direction_accuracy`` and, per interval level ``L`` in percent (``"95"``),
        ``coverage_L`` and ``width_L``. Exceptions to "mean over steps": ``rmse`` is ``sqrt(mse)`` and
        ``wql`` is the ratio of sums (see :func:`weighted_quantile_loss`). Also ``pit_by_step``,
        ``pred_return_by_step`` and ``real_return_by_step`` (for :func:`information_coefficient` across
        assets) and ``scale``.
    """
    s = _as_samples(samples)
    y = _as_target(target, s.shape[1])
    ctx = _as_context(context)
    sc = scale(ctx, m)
    yhat = np.median(s, axis=0) if point is None else _as_point(point, s.shape[1])

    out: dict[str, np.ndarray | float] = {}

    def put(name: str, per_step: np.ndarray, total: float | None = None) -> None:
        out[f"{name}_by_step"] = np.asarray(per_step, dtype=np.float64)
        out[name] = float(np.mean(per_step)) if total is None else float(total)

    ae = mae(None, y, point=yhat)
    put("mae", ae)
    put("mse", ae**2)
    put("rmse", ae, np.sqrt(np.mean(ae**2)))
    put("mase", mase(None, y, ctx, m=m, point=yhat))
    put("smape", smape(None, y, point=yhat))
    crps_t = crps(s, y)
    put("crps", crps_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        put("scaled_crps", crps_t / sc)
    wql_t, wql_total = weighted_quantile_loss(s, y, quantiles)
    put("wql", wql_t, wql_total)
    for level in intervals:
        key = _level_key(_check_level("intervals", level))
        put(f"coverage_{key}", interval_coverage(s, y, level))
        put(f"width_{key}", interval_width(s, level))
    put("msis", msis(s, y, ctx, alpha=msis_alpha, m=m))
    put("direction_accuracy", direction_accuracy(s, y, ctx, point=yhat))
    out["pit_by_step"] = pit(s, y, rng)
    out["pred_return_by_step"] = yhat / ctx[-1] - 1.0
    out["real_return_by_step"] = y / ctx[-1] - 1.0
    out["scale"] = sc
    return out
