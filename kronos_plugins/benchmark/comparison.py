"""Comparing models over many windows: skill scores with bootstrap intervals, and the Diebold-Mariano test.

The per-window metrics they compare are `kronos_plugins.benchmark.metrics`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

try:
    from scipy import stats as _sp_stats
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        f"`kronos_plugins.benchmark.comparison` needs scipy ({err.name} is missing); "
        "`pip install 'kronos-plugins[bench]'`."
    ) from err

__all__ = ["DMResult", "SkillScore", "diebold_mariano", "skill_score"]


def _check_level(name: str, level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(
            f"`{name}` must be in (0, 1), found: {level}; pass fractions, e.g. 0.95 rather than 95."
        )
    return level


class SkillScore(NamedTuple):
    """Skill of a model over a reference, with a bootstrap percentile confidence interval."""

    skill: float
    """``1 - geometric mean over windows of errors_model / errors_naive``; > 0 beats the reference."""
    lower: float
    upper: float
    n_windows: int


def skill_score(
    errors_model: object,
    errors_naive: object,
    n_boot: int = 1000,
    seed: int = 0,
    *,
    ci: float = 0.95,
    eps: float = 0.0,
) -> SkillScore:
    """Skill score ``1 - geomean(errors_model / errors_naive)`` with a window-bootstrap percentile CI.

    The geometric mean of relative errors is the aggregation Chronos and the M4/M5 reports use: it is
    scale-free across series and not dominated by a few hard windows.

    Parameters
    ----------
    errors_model, errors_naive : array_like
        One positive error per window (e.g. each window's mean CRPS or MASE), same shape ``(n_windows,)``,
        paired by window.
    n_boot : int, default=1000
        Bootstrap resamples of the windows (with replacement); 0 skips the interval (NaN bounds).
    seed : int, default=0
        Seed of the bootstrap.
    ci : float, default=0.95
        Confidence level of the percentile interval.
    eps : float, default=0.0
        Errors are clipped below at ``eps`` before the ratio. With the default 0 a zero error raises, since
        a zero in a geometric mean is degenerate; pass a small ``eps`` to accept exact hits.

    Returns
    -------
    SkillScore
        ``(skill, lower, upper, n_windows)``.
    """
    a = np.asarray(errors_model, dtype=np.float64).ravel()
    b = np.asarray(errors_naive, dtype=np.float64).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            "`errors_model` and `errors_naive` must be non-empty and paired by window, "
            f"found lengths {a.size} and {b.size}."
        )
    ci = _check_level("ci", ci)
    if eps < 0:
        raise ValueError(f"`eps` must be >= 0, found: {eps}.")
    for name, arr in (("errors_model", a), ("errors_naive", b)):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"`{name}` must be finite and non-negative; drop the failed windows first.")
        if eps == 0 and np.any(arr == 0):
            raise ValueError(
                f"`{name}` has {int(np.sum(arr == 0))} zero errors, which break the geometric mean; "
                "pass `eps` (e.g. 1e-12) to clip them or drop those windows."
            )
    log_rel = np.log(np.maximum(a, eps)) - np.log(np.maximum(b, eps))
    skill = float(1.0 - np.exp(log_rel.mean()))
    if n_boot <= 0:
        return SkillScore(skill, float("nan"), float("nan"), a.size)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, a.size, size=(int(n_boot), a.size))
    boot = 1.0 - np.exp(log_rel[idx].mean(axis=1))
    lower, upper = np.quantile(boot, [(1 - ci) / 2, (1 + ci) / 2])
    return SkillScore(skill, float(lower), float(upper), a.size)


class DMResult(NamedTuple):
    """Result of :func:`diebold_mariano`."""

    statistic: float
    """HLN-corrected DM statistic; negative when ``loss_a`` is smaller on average."""
    pvalue: float
    """Two-sided p-value from Student's t with ``n - 1`` degrees of freedom."""


def diebold_mariano(loss_a: object, loss_b: object, h: int = 1) -> DMResult:
    """Diebold-Mariano test of equal expected loss, with the Harvey-Leybourne-Newbold correction.

    With ``d_t = loss_a_t - loss_b_t`` over ``n`` windows, the long-run variance of ``mean(d)`` uses the
    autocovariances ``gamma_k`` of ``d`` up to lag ``h - 1``; ``DM = mean(d) / sqrt(V / n)`` and the HLN
    statistic ``DM * sqrt((n + 1 - 2h + h(h-1)/n) / n)`` is compared to ``t(n - 1)``.

    Parameters
    ----------
    loss_a, loss_b : array_like
        Per-window losses of two forecasts, paired by window, in time order, shaped ``(n,)``.
    h : int, default=1
        Forecast horizon of the losses: ``h``-step errors are MA(h-1) under optimality.

    Returns
    -------
    DMResult
        ``(statistic, pvalue)``. Identical losses give ``(0.0, 1.0)``; a constant non-zero difference gives
        ``(+-inf, 0.0)``. When the truncated long-run variance comes out non-positive (possible for
        ``h > 1``) it falls back to ``gamma_0``.

    References
    ----------
    Diebold, F. X. & Mariano, R. S. (1995). Comparing predictive accuracy. JBES 13(3).
    Harvey, D., Leybourne, S. & Newbold, P. (1997). Testing the equality of prediction mean squared
    errors. IJF 13(2).
    """
    a = np.asarray(loss_a, dtype=np.float64).ravel()
    b = np.asarray(loss_b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"`loss_a` and `loss_b` must be paired, found lengths {a.size} and {b.size}.")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("`loss_a` and `loss_b` must be finite; drop the failed windows first.")
    n = a.size
    if isinstance(h, bool) or int(h) != h or h < 1:
        raise ValueError(f"`h` must be a positive integer, found: {h!r}.")
    h = int(h)
    if n < 2 or h >= n:
        raise ValueError(f"the DM test needs more windows than `h`, found {n} windows and `h` {h}.")
    d = a - b
    d_bar = d.mean()
    if np.all(d == d[0]):
        if d_bar == 0:
            return DMResult(0.0, 1.0)
        return DMResult(float(np.copysign(np.inf, d_bar)), 0.0)
    dc = d - d_bar
    gamma = np.array([np.dot(dc[k:], dc[: n - k]) / n for k in range(h)])
    long_run = gamma[0] + 2.0 * gamma[1:].sum()
    if long_run <= 0:
        long_run = gamma[0]
    dm = d_bar / np.sqrt(long_run / n)
    hln = dm * np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    pvalue = 2.0 * _sp_stats.t.sf(abs(hln), df=n - 1)
    return DMResult(float(hln), float(pvalue))
