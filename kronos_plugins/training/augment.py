"""Synthetic OHLCV series for training augmentation: GARCH(1,1), jump diffusion and regime switches.

Each generator draws log returns ``r_t`` and a per-bar volatility ``sigma_t`` (the single-series return processes
of `kronos_plugins.datasets.processes`, which the synthetic-market corpus shares); `bars_from_returns` turns
them into consistent bars:

- ``close_t = close_{t-1} * exp(r_t)``; ``open_t = close_{t-1} * exp(g_t)`` with an overnight gap
  ``g_t ~ N(0, (0.2 sigma_t)^2)``;
- ``high_t = max(open_t, close_t) * exp(|N(0, (0.5 sigma_t)^2)|)`` and
  ``low_t = min(open_t, close_t) * exp(-|N(0, (0.5 sigma_t)^2)|)``, so ``high >= max(open, close)`` and
  ``low <= min(open, close)`` always hold;
- ``volume_t = v0 * exp(0.5 |r_t| / sigma_bar + N(0, 0.3^2))`` (busier on large moves, never negative) and
  ``amount = volume * mean(open, high, low, close)``, as the datasets package defines it.

The three return models (one is drawn per series, with parameters drawn from the ranges below, in units of one
bar; the ranges suit daily bars):

``garch``
    GARCH(1,1) (Bollerslev 1986): ``sigma_t^2 = omega + alpha r_{t-1}^2 + beta sigma_{t-1}^2`` with Student-t
    innovations (4 to 10 degrees of freedom, unit variance). Unconditional volatility 0.8 % to 3 %, ``alpha``
    0.03 to 0.15, persistence ``alpha + beta`` 0.90 to 0.99. Shows volatility clustering: ``|r_t|`` is
    autocorrelated while ``r_t`` is not.
``jump``
    Merton jump diffusion: Gaussian returns (volatility 0.5 % to 2 %) plus a Poisson number of jumps per bar
    (rate 0.01 to 0.05), each ``N(mu_J, sigma_J^2)`` with ``mu_J`` in ±1 % and ``sigma_J`` 2 % to 6 %. Heavy
    tails without clustering.
``regime``
    A two- or three-state Markov chain (stay probability 0.95 to 0.995), each state with its own drift
    (±0.2 %) and volatility (calm 0.5 % to 1 %, turbulent 1.5 % to 4 %). Persistent shifts in level and risk.

Every series also gets a small drift ``N(0, 0.0005^2)``, a start price log-uniform in [1, 1000], and
timestamps from a random business day between 1995 and 2020 at the configured frequency.

In a training config, ``augment.enabled: true`` mixes these series into the training windows: a fraction
``augment.fraction`` of each batch's windows is drawn from ``augment.n_series`` synthetic series of
``augment.length`` bars (generated once from the run's seed); validation stays real.

References
----------
Bollerslev, "Generalized autoregressive conditional heteroskedasticity", J. Econometrics 31 (1986).
Merton, "Option pricing when underlying stock returns are discontinuous", J. Financial Economics 3 (1976).
Hamilton, "A new approach to the economic analysis of nonstationary time series", Econometrica 57 (1989).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..datasets.processes import (
    _check_length,
    garch_returns,
    jump_diffusion_returns,
    regime_switching_returns,
)

__all__ = [
    "KINDS",
    "bars_from_returns",
    "garch_returns",
    "generate_synthetic",
    "jump_diffusion_returns",
    "regime_switching_returns",
    "synthetic_series",
]

KINDS = ("garch", "jump", "regime")


def bars_from_returns(
    returns: np.ndarray,
    sigma: np.ndarray,
    *,
    rng: np.random.Generator,
    start_price: float = 100.0,
    index: pd.DatetimeIndex | None = None,
    base_volume: float = 1e6,
) -> pd.DataFrame:
    """Build consistent OHLCV bars from log returns and per-bar volatility (rules in the module docstring).

    Returns
    -------
    pd.DataFrame
        Columns ``open, high, low, close, volume, amount`` (float64), with `index` (default: business days
        from 2000-01-03).
    """
    r = np.asarray(returns, dtype=np.float64)
    sig = np.broadcast_to(np.asarray(sigma, dtype=np.float64), r.shape)
    n = len(r)
    if start_price <= 0:
        raise ValueError(f"`start_price` must be > 0, got {start_price}.")
    log_close = np.log(start_price) + np.cumsum(r)
    prev_close = np.concatenate([[np.log(start_price)], log_close[:-1]])
    log_open = prev_close + 0.2 * sig * rng.standard_normal(n)
    up = np.abs(0.5 * sig * rng.standard_normal(n))
    down = np.abs(0.5 * sig * rng.standard_normal(n))
    o, c = np.exp(log_open), np.exp(log_close)
    high = np.maximum(o, c) * np.exp(up)
    low = np.minimum(o, c) * np.exp(-down)
    scale = max(float(np.mean(sig)), 1e-12)
    volume = base_volume * np.exp(0.5 * np.abs(r) / scale + 0.3 * rng.standard_normal(n))
    frame = pd.DataFrame({"open": o, "high": high, "low": low, "close": c, "volume": volume})
    frame["amount"] = frame["volume"] * frame[["open", "high", "low", "close"]].mean(axis=1)
    if index is None:
        index = pd.bdate_range("2000-01-03", periods=n, name="timestamps")
    if len(index) != n:
        raise ValueError(f"`index` has {len(index)} timestamps for {n} returns.")
    frame.index = index
    return frame


def synthetic_series(kind: str, n: int, rng: np.random.Generator, freq: str = "B") -> pd.DataFrame:
    """One synthetic OHLCV series of `kind` (``"garch"``, ``"jump"`` or ``"regime"``) with random parameters.

    The parameters drawn are stored in ``attrs["params"]`` and the kind in ``attrs["kind"]``.
    """
    n = _check_length(n)
    mu = 0.0005 * rng.standard_normal()
    if kind == "garch":
        vol = rng.uniform(0.008, 0.03)
        alpha = rng.uniform(0.03, 0.15)
        persistence = rng.uniform(0.90, 0.99)
        params = {
            "omega": vol**2 * (1 - persistence),
            "alpha": alpha,
            "beta": persistence - alpha,
            "df": rng.uniform(4, 10),
        }
        r, sig = garch_returns(n, rng=rng, **params)
        r = r + mu
    elif kind == "jump":
        params = {
            "sigma": rng.uniform(0.005, 0.02),
            "jump_rate": rng.uniform(0.01, 0.05),
            "jump_mean": rng.uniform(-0.01, 0.01),
            "jump_std": rng.uniform(0.02, 0.06),
            "mu": mu,
        }
        r, sig = jump_diffusion_returns(n, rng=rng, **params)
    elif kind == "regime":
        k = int(rng.integers(2, 4))
        sigmas = np.sort(np.concatenate([[rng.uniform(0.005, 0.01)], rng.uniform(0.015, 0.04, k - 1)]))
        params = {
            "mus": (mu + rng.uniform(-0.002, 0.002, k)).tolist(),
            "sigmas": sigmas.tolist(),
            "p_stay": rng.uniform(0.95, 0.995),
        }
        r, sig, _ = regime_switching_returns(n, rng=rng, **params)
    else:
        raise ValueError(f"`kind` must be one of {list(KINDS)}, got {kind!r}.")
    start = pd.Timestamp("1995-01-02") + pd.offsets.BDay(int(rng.integers(0, 26 * 260)))
    index = pd.date_range(start, periods=n, freq=freq, name="timestamps")
    price = float(np.exp(rng.uniform(0, np.log(1000))))
    frame = bars_from_returns(
        r,
        sig,
        rng=rng,
        start_price=price,
        index=index,
        base_volume=float(np.exp(rng.uniform(np.log(1e3), np.log(1e7)))),
    )
    frame.attrs = {
        "kind": kind,
        "params": {k: (float(v) if np.isscalar(v) else v) for k, v in params.items()},
    }
    return frame


def generate_synthetic(
    n_series: int, length: int, *, kinds: Sequence[str] = KINDS, seed: int = 0, freq: str = "B"
) -> list[pd.DataFrame]:
    """Generate `n_series` synthetic OHLCV series of `length` bars, kinds drawn uniformly from `kinds`.

    Deterministic given `seed`.

    Examples
    --------
    >>> frames = generate_synthetic(2, 300, seed=0)
    >>> [f.attrs["kind"] for f in frames], frames[0].shape
    (['garch', 'regime'], (300, 6))
    """
    bad = [k for k in kinds if k not in KINDS]
    if not kinds or bad:
        raise ValueError(f"`kinds` must be a non-empty subset of {list(KINDS)}, got {list(kinds)}.")
    rng = np.random.default_rng([seed, 0x5EED])
    return [
        synthetic_series(kinds[int(rng.integers(len(kinds)))], length, rng, freq=freq)
        for _ in range(n_series)
    ]
