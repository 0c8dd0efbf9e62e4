"""Return processes: the one home of the volatility, jump and regime models the synthetic generators share.

Users: `kronos_plugins.datasets.synthetic_market` (the pretraining corpus: GARCH, GJR, EGARCH, stochastic
volatility with jumps and regimes, vectorised over series), `kronos_plugins.training.augment` (single daily
series for augmentation: `garch_returns`, `jump_diffusion_returns`, `regime_switching_returns`) and
``benchmarks/calibration/compare.py`` (GARCH prices whose law is known).

Conventions
-----------
- Arrays hold one series per row along the last axis, shaped ``(..., T)`` (a single series is ``(T,)``);
  parameters are scalars or arrays that broadcast against the leading axes (one value per series).
- Functions that take an ``rng`` draw from it in the order their docstring gives, so a caller that keeps the
  order reproduces its stream; the recursions (`garch_filter`, `egarch_filter`, `ar1`) draw nothing.
- ``eps`` are returns in units of the process (standardised shocks times the conditional volatility) and
  ``h`` the conditional variance of each bar (known at the bar's start).

The models
----------
GARCH(1,1) and GJR-GARCH (Bollerslev 1986; Glosten, Jagannathan and Runkle 1993), `garch_filter`::

    eps_t = sqrt(h_t) z_t,   h_{t+1} = omega + (alpha + gamma [eps_t < 0]) eps_t^2 + beta h_t

EGARCH (Nelson 1991), `egarch_filter`::

    log h_{t+1} = omega + beta log h_t + alpha (|z_t| - E|z|) + theta z_t

Stochastic volatility with leverage, `stochastic_volatility`: ``log h_t`` an AR(1) whose shock is correlated
with the previous return shock. Merton (1976) jumps, `compound_poisson_jumps`: a Poisson number of normal
jumps per bar. Hamilton (1989) regimes, `markov_chain`: a chain that stays with probability ``stay`` and
otherwise moves to one of the other states uniformly.

References
----------
Bollerslev, "Generalized autoregressive conditional heteroskedasticity", J. Econometrics 31 (1986).
Glosten, Jagannathan, Runkle, "On the relation between the expected value and the volatility of the nominal
excess return on stocks", J. Finance 48 (1993).
Nelson, "Conditional heteroskedasticity in asset returns: a new approach", Econometrica 59 (1991).
Merton, "Option pricing when underlying stock returns are discontinuous", J. Financial Economics 3 (1976).
Hamilton, "A new approach to the economic analysis of nonstationary time series", Econometrica 57 (1989).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "GARCH_BURN_IN",
    "ar1",
    "compound_poisson_jumps",
    "egarch_filter",
    "garch_filter",
    "garch_returns",
    "jump_diffusion_returns",
    "markov_chain",
    "regime_switching_returns",
    "stochastic_volatility",
    "student_t_mean_abs",
    "student_t_shocks",
]

#: Bars `garch_returns` simulates and discards first, so that the variance starts from its stationary law.
GARCH_BURN_IN = 500


# ------------------------------------------------------------------------------------------------------------
# Shocks


def student_t_shocks(rng: np.random.Generator, df, size, clip: float | None = None) -> np.ndarray:
    """Student-t shocks scaled to unit variance (``df > 2``), optionally clipped to ``[-clip, clip]``.

    Draws ``rng.standard_t(df, size)``; ``df`` broadcasts against ``size`` (e.g. ``df[:, None]`` for one
    value per row).
    """
    z = rng.standard_t(df, size=size) * np.sqrt((df - 2.0) / df)
    return z if clip is None else np.clip(z, -clip, clip)


def student_t_mean_abs(df) -> np.ndarray:
    """``E|z|`` of a unit-variance Student-t with ``df > 2`` degrees of freedom (``sqrt(2 / pi)`` as df grows)."""
    df = np.asarray(df, dtype=np.float64)
    lgamma = np.vectorize(math.lgamma, otypes=[np.float64])
    return 2 * np.sqrt((df - 2) / np.pi) * np.exp(lgamma((df + 1) / 2) - lgamma(df / 2)) / (df - 1)


def compound_poisson_jumps(rng: np.random.Generator, rate, mean, std, size) -> np.ndarray:
    """The sum of a Poisson(``rate``) number of ``N(mean, std^2)`` jumps per bar.

    Draws the counts (``rng.poisson``) then one standard normal per bar; the sum of ``k`` jumps is
    ``k mean + sqrt(k) std N(0, 1)``.
    """
    counts = rng.poisson(rate, size=size)
    return counts * mean + np.sqrt(counts) * std * rng.standard_normal(size)


# ------------------------------------------------------------------------------------------------------------
# Recursions


def _per_series(value, paths: np.ndarray) -> np.ndarray:
    """A starting value per series of `paths` (..., T): `value` broadcast to ``paths.shape[:-1]``, a copy."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64), paths.shape[:-1]).copy()


def garch_filter(
    z: np.ndarray,
    omega,
    alpha,
    beta,
    h0,
    *,
    gamma=None,
    flip=1.0,
    clip: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the GARCH(1,1) / GJR-GARCH variance recursion on standardised shocks.

    ``h_0 = h0``; ``eps_t = sqrt(h_t) z_t``; ``h_{t+1} = omega + (alpha + gamma [flip eps_t < 0]) eps_t^2 +
    beta h_t``, clipped to ``clip`` when given.

    Parameters
    ----------
    z : np.ndarray
        (..., T) shocks (unit variance).
    omega, alpha, beta, h0 : float or np.ndarray
        Per series (broadcast against ``z.shape[:-1]``).
    gamma : float or np.ndarray, optional
        GJR leverage term (None: plain GARCH).
    flip : float or np.ndarray, default=1.0
        -1 puts the leverage term on the rises instead of the falls.
    clip : (float, float), optional
        Bounds of the variance.

    Returns
    -------
    eps, h : np.ndarray
        (..., T) float64: the returns and the conditional variance of each bar.
    """
    z = np.asarray(z, dtype=np.float64)
    eps = np.empty_like(z)
    h = np.empty_like(z)
    hh = _per_series(h0, z)
    for t in range(z.shape[-1]):
        h[..., t] = hh
        e = np.sqrt(hh) * z[..., t]
        eps[..., t] = e
        e2 = e * e
        a = alpha if gamma is None else alpha + gamma * (e * flip < 0)
        hh = omega + a * e2 + beta * hh
        if clip is not None:
            hh = np.clip(hh, clip[0], clip[1])
    return eps, h


def egarch_filter(
    z: np.ndarray, omega, alpha, beta, theta, log_h0, *, mean_abs, clip: tuple[float, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Run the EGARCH(1,1) recursion on standardised shocks.

    ``log h_0 = log_h0``; ``log h_{t+1} = omega + beta log h_t + alpha (|z_t| - mean_abs) + theta z_t``
    (``mean_abs`` = ``E|z|``, see `student_t_mean_abs`), clipped to ``clip`` (bounds of ``log h``) when given;
    ``eps_t = sqrt(h_t) z_t``. Shapes and broadcasting as in `garch_filter`.

    Returns
    -------
    eps, h : np.ndarray
        (..., T) float64.
    """
    z = np.asarray(z, dtype=np.float64)
    log_h = np.empty_like(z)
    lh = _per_series(log_h0, z)
    for t in range(z.shape[-1]):
        log_h[..., t] = lh
        zt = z[..., t]
        lh = omega + beta * lh + alpha * (np.abs(zt) - mean_abs) + theta * zt
        if clip is not None:
            lh = np.clip(lh, clip[0], clip[1])
    h = np.exp(log_h)
    return np.sqrt(h) * z, h


def ar1(phi, shocks: np.ndarray, x0) -> np.ndarray:
    """``x_t = phi x_{t-1} + shocks_t`` along the last axis (``phi`` per row), with ``x_{-1} = x0``."""
    shocks = np.asarray(shocks, dtype=np.float64)
    out = np.empty_like(shocks)
    x = _per_series(x0, shocks)
    for t in range(shocks.shape[-1]):
        x = phi * x + shocks[..., t]
        out[..., t] = x
    return out


# ------------------------------------------------------------------------------------------------------------
# Processes that draw


def stochastic_volatility(
    rng: np.random.Generator,
    phi: np.ndarray,
    logvol_std: np.ndarray,
    rho: np.ndarray,
    T: int,
    *,
    z_clip: float | None = None,
    h_clip: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Stochastic volatility with leverage, one series per entry of ``phi`` (mean of ``h`` about 1).

    ``x_t = log h_t + s^2 / 2`` is a stationary AR(1) with persistence ``phi`` and standard deviation ``s =
    logvol_std``; its shock at ``t`` has correlation ``rho`` with the return shock at ``t - 1`` (``rho < 0``:
    falls raise the volatility). ``eps_t = sqrt(h_t) z_t`` with Gaussian ``z``.

    Draws, in order: ``z`` (m, T), the independent part of the volatility shocks (m, T), ``x_{-1}`` (m,).

    Returns
    -------
    eps, h : np.ndarray
        (m, T) float64; ``h`` clipped to ``h_clip`` when given.
    """
    m = len(phi)
    z = rng.standard_normal((m, T))
    if z_clip is not None:
        z = np.clip(z, -z_clip, z_clip)
    xi = rng.standard_normal((m, T))
    sig_v = logvol_std * np.sqrt(1 - phi**2)
    eta = np.empty((m, T))
    eta[:, 0] = xi[:, 0]
    eta[:, 1:] = rho[:, None] * z[:, :-1] + np.sqrt(1 - rho[:, None] ** 2) * xi[:, 1:]
    x = ar1(phi, sig_v[:, None] * eta, logvol_std * rng.standard_normal(m))
    log_h = x - logvol_std[:, None] ** 2 / 2
    if h_clip is not None:
        log_h = np.clip(log_h, np.log(h_clip[0]), np.log(h_clip[1]))
    h = np.exp(log_h)
    return np.sqrt(h) * z, h


def markov_chain(rng: np.random.Generator, k: np.ndarray, stay: np.ndarray, T: int) -> np.ndarray:
    """States (m, T), in ``0 .. k[i] - 1``, of chains that stay with probability ``stay[i]``, else move to one
    of the other ``k[i] - 1`` states uniformly; the first state is uniform.

    Draws, in order: the move decisions (m, T), the hops (m, T) and the first states (m,), all uniforms.
    """
    m = len(k)
    move = rng.random((m, T)) > stay[:, None]
    hops = np.floor(rng.random((m, T)) * (k[:, None] - 1)).astype(np.int64) + 1
    steps = np.where(move, hops, 0)
    steps[:, 0] = np.floor(rng.random(m) * k).astype(np.int64)
    return np.cumsum(steps, axis=1) % k[:, None]


# ------------------------------------------------------------------------------------------------------------
# Single series, with checked parameters (the augmentation generators of `kronos_plugins.training.augment`)


def _check_length(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be an integer >= 1 (bars to generate), got {n!r}.")
    return int(n)


def garch_returns(
    n: int, *, omega: float, alpha: float, beta: float, rng: np.random.Generator, df: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate ``n`` GARCH(1,1) log returns, started from the unconditional variance and
    `GARCH_BURN_IN` bars earlier.

    Parameters
    ----------
    n : int
        Bars.
    omega, alpha, beta : float
        ``sigma_t^2 = omega + alpha r_{t-1}^2 + beta sigma_{t-1}^2``; needs ``omega > 0``, ``alpha, beta >= 0``
        and ``alpha + beta < 1`` (covariance stationarity).
    rng : np.random.Generator
        Draws the ``n + GARCH_BURN_IN`` shocks.
    df : float, optional
        Student-t degrees of freedom (> 2) of the unit-variance innovations; None for Gaussian.

    Returns
    -------
    returns, sigma : np.ndarray
        Both (n,) float64; ``sigma`` is the conditional volatility of each bar.
    """
    n = _check_length(n)
    if not (omega > 0 and alpha >= 0 and beta >= 0 and alpha + beta < 1):
        raise ValueError(
            f"GARCH(1,1) needs `omega` > 0, `alpha`, `beta` >= 0 and `alpha` + `beta` < 1; got omega={omega}, "
            f"alpha={alpha}, beta={beta}. Lower `alpha` or `beta`."
        )
    if df is not None and df <= 2:
        raise ValueError(f"`df` must be > 2 (finite variance), got {df}.")
    total = n + GARCH_BURN_IN
    z = rng.standard_normal(total) if df is None else student_t_shocks(rng, df, total)
    r, h = garch_filter(z, omega, alpha, beta, omega / (1 - alpha - beta))
    return r[GARCH_BURN_IN:], np.sqrt(h[GARCH_BURN_IN:])


def jump_diffusion_returns(
    n: int,
    *,
    sigma: float,
    jump_rate: float,
    jump_mean: float,
    jump_std: float,
    rng: np.random.Generator,
    mu: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate ``n`` Merton jump-diffusion log returns (one bar = one time unit):
    ``r_t = mu - sigma^2 / 2 + sigma N(0, 1) + jumps_t`` (`compound_poisson_jumps`).

    Returns
    -------
    returns, sigma : np.ndarray
        (n,) float64; ``sigma`` is the diffusion volatility (constant).
    """
    n = _check_length(n)
    if sigma <= 0 or jump_rate < 0 or jump_std < 0:
        raise ValueError(
            f"`sigma` must be > 0, `jump_rate` and `jump_std` >= 0; got {sigma}, {jump_rate}, {jump_std}."
        )
    jumps = compound_poisson_jumps(rng, jump_rate, jump_mean, jump_std, n)
    r = mu - 0.5 * sigma**2 + sigma * rng.standard_normal(n) + jumps
    return r, np.full(n, sigma)


def regime_switching_returns(
    n: int, *, mus: Sequence[float], sigmas: Sequence[float], p_stay: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate ``n`` log returns of a Markov regime-switching model: regime ``s_t`` (`markov_chain`: stays
    with probability `p_stay`, else moves to another regime uniformly), ``r_t = mus[s_t] + sigmas[s_t] N(0, 1)``.

    Returns
    -------
    returns, sigma, regimes : np.ndarray
        (n,) arrays: returns and volatility (float64), and the regime of each bar (int).
    """
    n = _check_length(n)
    mus, sigmas = np.asarray(mus, float), np.asarray(sigmas, float)
    if len(mus) != len(sigmas) or len(mus) < 2 or (sigmas <= 0).any() or not 0 <= p_stay <= 1:
        raise ValueError(
            f"`mus` and `sigmas` must have the same length >= 2 with `sigmas` > 0, and `p_stay` in [0, 1]; "
            f"got mus={mus.tolist()}, sigmas={sigmas.tolist()}, p_stay={p_stay}."
        )
    regimes = markov_chain(rng, np.array([len(mus)]), np.array([float(p_stay)]), n)[0]
    sig = sigmas[regimes]
    return mus[regimes] + sig * rng.standard_normal(n), sig, regimes
