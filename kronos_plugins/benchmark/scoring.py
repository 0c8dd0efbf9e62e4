"""Scoring one forecast of close-price paths against one window, for each benchmark target.

Every model returns close-price sample paths shaped ``(num_samples, horizon)``. The suite's ``target`` says
what is scored:

``close``
    The paths as they are, against the realised closes (:func:`~kronos_plugins.benchmark.metrics.score_window`
    unchanged).
``log_return``
    Cumulative log returns from the last context close, ``log(P_t / P_0)``, at every step. Scored on log
    prices, which leaves CRPS, MAE, RMSE, MASE, MSIS, coverage, width and PIT equal to their values on the
    returns themselves (they are shift-invariant); sMAPE and WQL are not meaningful on returns near zero
    and are NaN; direction accuracy is that of the close forecast (same signs).
``realised_vol``
    One value per window: ``sqrt(sum of squared one-step log returns over the horizon)``, of each path and
    of the realised bars. Its "context" for MASE/MSIS and direction is the realised volatility of
    consecutive ``horizon``-bar blocks of the context, so direction accuracy asks whether volatility rises
    or falls versus the last block. Reported as a single step numbered ``horizon``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kronos_plugins.benchmark.metrics import direction_accuracy, score_window
from kronos_plugins.benchmark.splits import Window

__all__ = ["Scored", "score_forecast"]


@dataclass
class Scored:
    """Scores of one (model, window) forecast.

    Attributes
    ----------
    steps : np.ndarray
        Horizon step numbers (1-based), shaped ``(n_steps,)``.
    y_true, y_pred : np.ndarray
        Realised and point-forecast (sample median) values of the target, shaped ``(n_steps,)``.
    per_step : dict of str to np.ndarray
        Per-step metrics (``mae``, ``crps``, ``coverage_80``, ``pit``, ...), each shaped ``(n_steps,)``.
    window : dict of str to float
        Window aggregates (``score_window``'s scalars plus ``scale``).
    """

    steps: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    per_step: dict[str, np.ndarray]
    window: dict[str, float]


def _realised_vol(log_prices: np.ndarray) -> np.ndarray:
    """sqrt(sum of squared increments) along the last axis."""
    return np.sqrt(np.sum(np.diff(log_prices, axis=-1) ** 2, axis=-1))


def score_forecast(
    samples: np.ndarray,
    window: Window,
    target: str = "close",
    intervals: Sequence[float] = (0.5, 0.8, 0.95),
    *,
    pit_seed: int = 0,
) -> Scored:
    """Score close-price paths against a window for one target.

    Parameters
    ----------
    samples : np.ndarray
        Close-price paths shaped ``(num_samples, horizon)``.
    window : Window
        The window the forecast was made for (its context and target hold ``close``).
    target : {"close", "log_return", "realised_vol"}
        What to score (see the module docstring).
    intervals : sequence of float
        Central interval levels for coverage and width.
    pit_seed : int
        Seed of the randomised PIT's tie-breaking.

    Returns
    -------
    Scored
    """
    s = np.asarray(samples, dtype=np.float64)
    ctx = window.context["close"].to_numpy(dtype=np.float64)
    y = window.target["close"].to_numpy(dtype=np.float64)
    horizon = y.shape[0]
    if s.ndim != 2 or s.shape[1] != horizon:
        raise ValueError(f"`samples` must be shaped (num_samples, {horizon}), found: {s.shape}.")

    if target == "close":
        out = score_window(s, y, ctx, intervals=intervals, rng=pit_seed)
        steps = np.arange(1, horizon + 1)
        y_true, y_pred = y, np.median(s, axis=0)
    elif target == "log_return":
        with np.errstate(divide="ignore", invalid="ignore"):
            out = score_window(np.log(s), np.log(y), np.log(ctx), intervals=intervals, rng=pit_seed)
        for name in ("smape", "wql"):
            out[f"{name}_by_step"] = np.full(horizon, np.nan)
            out[name] = float("nan")
        da = direction_accuracy(s, y, ctx)
        out["direction_accuracy_by_step"], out["direction_accuracy"] = da, float(np.mean(da))
        steps = np.arange(1, horizon + 1)
        y_true = np.log(y / ctx[-1])
        y_pred = np.median(np.log(s / ctx[-1]), axis=0)
    elif target == "realised_vol":
        log_ctx = np.log(ctx)
        path_rv = _realised_vol(np.concatenate([np.full((s.shape[0], 1), log_ctx[-1]), np.log(s)], axis=1))
        true_rv = _realised_vol(np.concatenate([[log_ctx[-1]], np.log(y)]))
        # realised volatility of consecutive `horizon`-bar blocks of the context, oldest first
        n_blocks = (len(log_ctx) - 1) // horizon
        if n_blocks < 2:
            raise ValueError(
                f"target `realised_vol` needs a context of at least {2 * horizon + 1} bars for horizon "
                f"{horizon}, found {len(log_ctx)}."
            )
        tail = log_ctx[len(log_ctx) - (n_blocks * horizon + 1) :]
        blocks = np.array([_realised_vol(tail[k * horizon : (k + 1) * horizon + 1]) for k in range(n_blocks)])
        out = score_window(path_rv[:, None], np.array([true_rv]), blocks, intervals=intervals, rng=pit_seed)
        steps = np.array([horizon])
        y_true, y_pred = np.array([true_rv]), np.array([np.median(path_rv)])
    else:
        raise ValueError(f"`target` must be 'close', 'log_return' or 'realised_vol', found: {target!r}.")

    per_step = {
        k[: -len("_by_step")]: np.asarray(v, dtype=np.float64)
        for k, v in out.items()
        if k.endswith("_by_step")
    }
    per_step = {k: v for k, v in per_step.items() if k not in ("pred_return", "real_return")}
    scalars = {k: float(v) for k, v in out.items() if not k.endswith("_by_step")}
    return Scored(steps=steps, y_true=y_true, y_pred=y_pred, per_step=per_step, window=scalars)
