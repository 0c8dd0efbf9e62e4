"""A seeded synthetic-market corpus: OHLCV series with the stylized facts of real markets, for pretraining.

In the spirit of Chronos' KernelSynth / TSMixup and of prior-fitted forecasters, `generate_market` draws many
series at once (numpy, vectorised over the series) from a family of processes whose parameter ranges were
fitted to the real corpus of `kronos_plugins.datasets` (``benchmarks/data/fit_synthetic_ranges.py``; the
figures are quoted next to each range below).

How one series is built
-----------------------
1. **A calendar** (drawn from `SyntheticMarketConfig.calendar_weights` or named by ``freq``) gives the
   timestamps, from a random start date: ``equity_1d`` (US-like business days with the US holidays, Good
   Friday included), ``fx_1h`` (24x5, the week opens Sunday 22:00 and its last bar is Friday 21:00),
   ``crypto_1h`` / ``crypto_30min`` (24x7), ``us_equity_{30min,5min,1min}`` (09:30-16:00, US holidays) and
   ``cn_equity_{30min,5min,1min}`` (09:30-11:30 and 13:00-15:00, fixed-date approximations of the Chinese
   holidays). Bars are labelled by their start time (the last 1-minute US bar is 15:59).
2. **A volatility process** (drawn from `SyntheticMarketConfig.process_weights`) gives standardised returns
   ``eps_t`` of unit variance and a conditional variance ``h_t`` (mean about 1); the recursions are those of
   `kronos_plugins.datasets.processes`, which the augmentation series and the calibration benchmark share:

   ``garch``
       GARCH(1,1), ``h_t = omega + alpha eps_{t-1}^2 + beta h_{t-1}``, Student-t shocks.
   ``gjr``
       GJR-GARCH, as ``garch`` plus ``gamma eps_{t-1}^2 [eps_{t-1} < 0]``: falls raise the next variance
       (leverage).
   ``egarch``
       EGARCH, ``log h_t = omega + beta log h_{t-1} + alpha (|z_{t-1}| - E|z|) + theta z_{t-1}``, ``theta < 0``.
   ``sv_jump``
       Stochastic volatility, ``log h_t`` an AR(1) whose shock is correlated (``rho < 0``) with the previous
       return shock, Gaussian shocks plus compound-Poisson jumps.
   ``regime``
       A Markov chain over 2-3 volatility regimes (calm, turbulent) with their own drift, each with a mild
       GARCH-t inside.

   Leverage coefficients have the usual (negative) sign for most equity series (85-90 %), crypto (70 %) and
   half the FX series, as fitted.
3. **A drift** (`SyntheticMarketConfig.drift_weights`): ``none`` (a small constant), ``trend`` (piecewise
   constant drift with random change points) or ``mean_revert`` (the log price is pulled towards its start
   level, Ornstein-Uhlenbeck style).
4. **Scale, seasonality and session gaps.** The close-to-close log return of bar ``t`` is
   ``r_t = mu_t + sigma_bar sqrt(s_t^2 + g_t) eps_t``: ``sigma_bar`` is the series' per-bar volatility inside a
   session, ``s_t`` the intraday seasonal factor (U-shaped over an equity session, a cosine of the hour of day
   for FX and crypto, lower on crypto weekends; mean ``s^2`` = 1 over a day) and ``g_t`` the variance of the
   move while the market was closed, in bars: the overnight move on a session's first bar (larger after a
   weekend or holiday), the lunch break on the Chinese afternoon session, the weekend on FX's Sunday open;
   0 elsewhere (crypto never closes). Daily bars carry a share ``w`` of their variance in the opening gap.
5. **Candles from an intrabar path.** Given ``r_t``, the opening gap is drawn from its conditional law (open =
   previous close + gap; no gap inside a session), then the path from open to close takes ``substeps``
   Brownian-bridge steps, and the high / low are the exact extremes of a Brownian bridge on each sub-step.
   Microstructure noise (intraday; its std a fraction of ``sigma_bar``) is added to the observed open and
   close, which gives the negative lag-1 autocorrelation of intraday returns (and an open that differs from
   the previous close by the noise). Prices are ``exp`` of log prices and the high / low are the max / min
   over the observed open, close and path extremes, so every bar is positive and consistent.
6. **Volume** is ``log v_t = log v0 + L_t + c_season log s_t + b |eps_t| + c_h log(h_t) / 2 + noise``: a
   persistent AR(1) level ``L_t``, the intraday U-shape, the size of the move and the volatility level.
   ``amount = volume * mean(open, high, low, close)``, as in `kronos_plugins.datasets.load`.

Every draw comes from one ``numpy.random.Generator`` seeded by ``seed``: the same arguments give bitwise
identical output. Series are generated in one vectorised batch, so series ``i`` depends on ``n_series`` and on
the calendars drawn for the others (not only on ``seed``).

Examples
--------
>>> from kronos_plugins.datasets.synthetic_market import generate_market
>>> frames = generate_market(4, 300, freq="1d", seed=0)
>>> frames[0].attrs["asset_class"], frames[0].attrs["freq"], list(frames[0].columns)
('synthetic', '1d', ['open', 'high', 'low', 'close', 'volume', 'amount'])
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kronos_plugins.datasets.processes import (
    ar1,
    compound_poisson_jumps,
    egarch_filter,
    garch_filter,
    markov_chain,
    stochastic_volatility,
    student_t_mean_abs,
    student_t_shocks,
)

__all__ = [
    "BAR_LENGTHS",
    "CALENDARS",
    "DRIFTS",
    "PROCESSES",
    "SyntheticMarketBatch",
    "SyntheticMarketConfig",
    "generate_market",
    "generate_market_arrays",
    "iter_market",
]

PROCESSES = ("garch", "gjr", "egarch", "sv_jump", "regime")
"""Volatility processes, in the order their parameters are drawn."""

DRIFTS = ("none", "trend", "mean_revert")
"""Drift overlays."""

_DAY_NS = 86_400 * 10**9
_MIN_NS = 60 * 10**9
_FIRST_DAY = _dt.date(1990, 1, 1)
_LAST_DAY = _dt.date(2250, 12, 31)
_MAX_ELEMENTS = 1 << 20  # sub-path elements per chunk when building candles (~10 arrays of 8 MB)
_Z_CLIP = 15.0  # standardised shocks are clipped to +-15 (a 15-sigma bar is already extreme)
_H_CLIP = (1e-2, 50.0)  # conditional variance bounds, relative to the unconditional one
_LOG_H_CLIP = (-4.6, 3.9)  # EGARCH log-variance bounds (about log 1e-2 and log 50)

# ------------------------------------------------------------------------------------------------------------
# Fitted ranges
# ------------------------------------------------------------------------------------------------------------
# Figures from `python benchmarks/data/fit_synthetic_ranges.py` on the catalogue installed when this was
# written: p10 / p50 / p90 over series; 930 daily series with >= 200 bars ("all"; 376 of them with >= 1000
# bars, "long"), per daily asset class, 2 EUR/USD 1h series, 2 1min series (SPY ETF, ES future).
#
#   per-bar session return std   1d all 0.0128 / 0.0219 / 0.0501 (long 0.0139 / 0.0266 / 0.0545); index
#                                0.0107 / 0.0134 / 0.049; crypto 0.039 / 0.051 / 0.058; 1h FX 0.00090;
#                                1min 0.00022-0.00032
#   excess kurtosis              1d long 4.2 / 13.8 / 81.9 (index 2.3 / 6.0 / 8.3, ETF 6.0 / 10 / 22);
#                                1h FX in-session 9.4-10.8 (all bars 21.7-25.4); 1min in-session 6.3-30.1
#                                (SPY all bars 237: the overnight gaps)
#   |r| acf lag 1 (lag 10)       1d long 0.11 / 0.24 / 0.35 (0.031 / 0.099 / 0.22); 1h FX 0.16 (-0.02: the
#                                hour-of-day cycle); 1min 0.24-0.25 (0.21)
#   leverage corr(r_t,|r_t+1|)   1d all -0.14 / -0.041 / +0.080; index -0.12 / -0.100 / +0.032; ETF -0.15 /
#                                -0.11 / -0.038; equity -0.15 / -0.036 / +0.082; crypto -0.13 / -0.068 / 0.0;
#                                1h FX +0.011 / +0.014; 1min -0.057 / -0.011
#   return acf lag 1             1d all -0.16 / -0.028 / +0.056; 1h FX -0.014; 1min SPY -0.024, ES -0.125
#   volume / |r| (Spearman)      1d all 0.15 / 0.30 / 0.44; 1h FX 0.43; 1min 0.45-0.46
#   log-volume acf lag 1         1d all 0.41 / 0.57 / 0.78 (long 0.36 / 0.62 / 0.84); 1h FX 0.77; 1min 0.69
#   high-low range / |c - o|     1d all 1.60 / 2.00 / 2.18; 1h FX 2.05; 1min 1.84-1.92 (a Brownian bridge: 2)
#   opening-gap variance share   1d all 0.14 / 0.31 / 0.78
#   gap variance in session bars 1h FX weekend 7.1-8.7; 1min SPY overnight 172 (0.44 of a 390-bar session;
#                                the ES future trades nearly around the clock: 0.5)
#   intraday U-shape (SPY 1min)  first 5 % of the session / middle: return std 1.49, volume 2.17
#   hour-of-day volatility       1h FX max / min hourly rms 3.7, peak 12-14 UTC; 1min 2.1-3.2
#
# The ranges below bracket these figures (a little wider, so that the corpus covers more than the few real
# intraday series) and are expressed per bar; persistence is higher at intraday bars (volatility half-lives
# are long in bars). Statistics of one long series also include slow volatility swings that a window of a
# few thousand bars cannot show; `--window 2000` measures the corpus on windows of that length and
# `--synthetic 40` measures the generator's calendars the same way, side by side.

# process parameters per tier: "1d", "1h" (also crypto 30min) and "intraday" (equity 1-30 min)
_TIER_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "1d": {
        "df": (3.5, 8.0),  # Student-t shocks; with the GARCH feedback: excess kurtosis ~3-30 (fitted 4.2-82)
        "persistence": (0.90, 0.99),  # alpha + beta (+ gamma / 2): |r| acf lag 1 ~0.05-0.3 (fitted 0.11-0.35)
        "alpha": (0.04, 0.15),
        "gamma": (0.08, 0.30),  # GJR leverage term
        "theta": (0.06, 0.20),  # |EGARCH leverage| (theta = -this for the usual sign)
        "rho": (0.4, 0.9),  # |SV leverage correlation|
        "logvol_std": (0.3, 0.9),  # stationary std of log h in SV: excess kurtosis 3 exp(s^2) - 3 ~0.3-4
        "stay": (0.98, 0.998),  # regime stay probability: regimes last 50-500 bars
        "jump_rate": (0.002, 0.02),
    },
    "1h": {
        "df": (3.2, 7.0),  # fitted in-session excess kurtosis 9.4-10.8 at 1h FX
        "persistence": (0.93, 0.995),
        "alpha": (0.03, 0.10),
        "gamma": (0.02, 0.10),
        "theta": (0.02, 0.10),
        "rho": (0.1, 0.5),
        "logvol_std": (0.3, 0.9),
        "stay": (0.99, 0.999),
        "jump_rate": (0.001, 0.01),
    },
    "intraday": {
        "df": (2.8, 5.0),  # fitted in-session excess kurtosis 6.3-30 at 1min
        "persistence": (0.97, 0.999),  # fitted |r| acf 0.25 at lag 1 and still 0.21 at lag 10
        "alpha": (0.03, 0.10),
        "gamma": (0.03, 0.10),
        "theta": (0.03, 0.10),
        "rho": (0.2, 0.6),
        "logvol_std": (0.5, 1.1),
        "stay": (0.995, 0.9995),
        "jump_rate": (0.0005, 0.005),
    },
}

_TIER_OTHER = {
    # log-volume AR(1) persistence per bar (fitted log-volume acf lag 1: 1d 0.41-0.78, 1h 0.77, 1min 0.69;
    # the noise term lowers the observed acf below the level's own)
    "1d": {"volume_phi": (0.90, 0.995), "mr_half_life": (50.0, 1000.0), "trend_every": (100.0, 1000.0)},
    "1h": {"volume_phi": (0.95, 0.998), "mr_half_life": (100.0, 3000.0), "trend_every": (300.0, 3000.0)},
    "intraday": {
        "volume_phi": (0.98, 0.999),
        "mr_half_life": (200.0, 5000.0),
        "trend_every": (500.0, 5000.0),
    },
}

_US_1MIN_SIGMA = (0.00025, 0.0014)  # 1min session std: SPY 0.00033; daily 0.011-0.033 over ~550 bar-variances
# Chinese equities move more per minute (daily 0.012-0.031 over 240 bars)
_CN_1MIN_SIGMA = (0.0003, 0.0018)


@dataclass(frozen=True)
class _Calendar:
    name: str
    freq: str  # bar length, as in `load`'s attrs["freq"]
    step_min: int
    tier: str
    kind: str  # "daily", "session", "fx" or "crypto"
    sigma: tuple[float, float]  # per-bar session return std, drawn log-uniformly
    sessions: tuple[tuple[int, int], ...] = ()  # (start, end) minutes after midnight, end exclusive
    holidays: str = ""  # "us", "cn" or ""
    gap: tuple[float, float] = (0.0, 0.0)  # daily: opening-gap share w; session: overnight, in session-days
    lunch_gap: tuple[float, float] = (0.0, 0.0)  # lunch break, in session-days of bar variance
    weekend_gap: tuple[float, float] = (0.0, 0.0)  # fx: the weekend move, in bars
    u_amp: tuple[float, float] = (0.0, 0.0)  # equity U-shape: the open's bump (the close's is 0.3-0.8 of it)
    hod_amp: tuple[float, float] = (0.0, 0.0)  # fx / crypto: log-amplitude of the hour-of-day cycle
    hod_peak: tuple[float, float] = (12.0, 15.0)
    noise: tuple[float, float] = (0.0, 0.0)  # microstructure noise std over sigma_bar
    leverage_negative: float = 1.0  # probability that leverage has the usual (negative) sign


def _minutes(h: int, m: int = 0) -> int:
    return 60 * h + m


_US_SESSION = ((_minutes(9, 30), _minutes(16)),)
_CN_SESSION = ((_minutes(9, 30), _minutes(11, 30)), (_minutes(13), _minutes(15)))


def _equity(region: str, step: int) -> _Calendar:
    base = _US_1MIN_SIGMA if region == "us" else _CN_1MIN_SIGMA
    scale = math.sqrt(step)
    return _Calendar(
        name=f"{region}_equity_{step}min",
        freq=f"{step}min",
        step_min=step,
        tier="intraday",
        kind="session",
        sigma=(base[0] * scale, base[1] * scale),
        sessions=_US_SESSION if region == "us" else _CN_SESSION,
        holidays=region,
        # overnight variance = q x (bars in a session) bar-variances; fitted 172 / 390 = 0.44 at 1min
        gap=(0.15, 0.6),
        lunch_gap=(0.005, 0.03) if region == "cn" else (0.0, 0.0),
        # U-shape s(u) = 1 + A exp(-u / tau) + B exp(-(1 - u) / tau); fitted first-5 % / middle std 1.49 at 1min
        u_amp=(0.3, 1.5),
        # noise / sigma_bar k: acf1 = -k^2 / (1 + 2 k^2); fitted 1min -0.024 (SPY, k ~ 0.16), -0.125 (ES, k ~ 0.4)
        noise={1: (0.05, 0.4), 5: (0.02, 0.15), 30: (0.0, 0.06)}[step],
        leverage_negative=0.9,
    )


CALENDARS: dict[str, _Calendar] = {
    c.name: c
    for c in (
        _Calendar(
            name="equity_1d",
            freq="1d",
            step_min=1440,
            tier="1d",
            kind="daily",
            sigma=(0.009, 0.05),  # fitted 0.0128 / 0.0219 / 0.0501 (all): log-uniform median 0.021
            holidays="us",
            gap=(0.05, 0.6),  # opening-gap variance share, fitted 0.14 / 0.31 / 0.78
            leverage_negative=0.85,  # equities and indices negative, commodities mixed
        ),
        _Calendar(
            name="fx_1h",
            freq="1h",
            step_min=60,
            tier="1h",
            kind="fx",
            sigma=(0.0005, 0.0016),  # fitted 0.00090 (EUR/USD); other pairs and crosses differ
            weekend_gap=(3.0, 15.0),  # fitted 7.1-8.7 bars
            hod_amp=(0.3, 0.75),  # max / min hourly volatility exp(2 A): 1.8-4.5, fitted 3.7
            hod_peak=(11.0, 16.0),  # fitted 12-14 UTC
            noise=(0.0, 0.05),  # fitted acf1 -0.014
            leverage_negative=0.5,  # fitted +0.011 / +0.014: no sign
        ),
        _Calendar(
            name="crypto_1h",
            freq="1h",
            step_min=60,
            tier="1h",
            kind="crypto",
            sigma=(0.004, 0.013),  # daily crypto 0.044-0.053 over sqrt(24)
            hod_amp=(0.05, 0.35),
            hod_peak=(13.0, 17.0),
            noise=(0.0, 0.05),
            leverage_negative=0.7,  # fitted daily crypto -0.13 / -0.068 / 0.0
        ),
        _Calendar(
            name="crypto_30min",
            freq="30min",
            step_min=30,
            tier="1h",
            kind="crypto",
            sigma=(0.0028, 0.009),  # crypto_1h over sqrt(2)
            hod_amp=(0.05, 0.35),
            hod_peak=(13.0, 17.0),
            noise=(0.0, 0.08),
            leverage_negative=0.7,
        ),
        *(_equity(region, step) for region in ("us", "cn") for step in (30, 5, 1)),
    )
}
"""The calendars, by name. Each has a bar length (``freq``) and a trading schedule."""

BAR_LENGTHS = ("1d", "1h", "30min", "5min", "1min")
"""Bar lengths accepted by ``freq`` (each selects the calendars of that length)."""

_DEFAULT_CALENDAR_WEIGHTS = {
    "equity_1d": 0.30,
    "fx_1h": 0.10,
    "crypto_1h": 0.08,
    "crypto_30min": 0.07,
    "us_equity_30min": 0.10,
    "us_equity_5min": 0.10,
    "us_equity_1min": 0.08,
    "cn_equity_30min": 0.05,
    "cn_equity_5min": 0.07,
    "cn_equity_1min": 0.05,
}
_DEFAULT_PROCESS_WEIGHTS = {"garch": 0.2, "gjr": 0.25, "egarch": 0.2, "sv_jump": 0.2, "regime": 0.15}
_DEFAULT_DRIFT_WEIGHTS = {"none": 0.5, "trend": 0.3, "mean_revert": 0.2}


# ------------------------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------------------------
def _weights(value, allowed: Iterable[str], name: str) -> tuple[tuple[str, float], ...]:
    allowed = tuple(allowed)
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        try:
            items = [tuple(pair) for pair in value]
        except TypeError as err:
            raise ValueError(f"`{name}` must be a mapping name -> weight, got {value!r}.") from err
    out = {}
    for pair in items:
        if len(pair) != 2:
            raise ValueError(f"`{name}` must map names to weights, got the entry {pair!r}.")
        key, weight = pair
        if key not in allowed:
            raise ValueError(f"`{name}` has the unknown name {key!r}; known names: {', '.join(allowed)}.")
        try:
            weight = float(weight)
        except (TypeError, ValueError) as err:
            raise ValueError(f"`{name}[{key!r}]` must be a number, got {weight!r}.") from err
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"`{name}[{key!r}]` must be a finite weight >= 0, got {weight!r}.")
        out[key] = weight
    if not out or sum(out.values()) <= 0:
        raise ValueError(f"`{name}` needs at least one positive weight, got {dict(out)!r}.")
    return tuple((k, out[k]) for k in allowed if k in out)


def _range(value, name: str, positive: bool = True) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"`{name}` must be a pair (low, high), got {value!r}.") from err
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi and (lo > 0 or not positive)):
        raise ValueError(
            f"`{name}` must be a finite pair low <= high{' with low > 0' if positive else ''}, got {value!r}."
        )
    return lo, hi


@dataclass(frozen=True)
class SyntheticMarketConfig:
    """What `generate_market` draws from.

    Parameters
    ----------
    calendar_weights : mapping, optional
        Calendar name (see `CALENDARS`) -> weight; used when ``freq`` is not given, and restricted to the
        calendars of a bar length when ``freq`` is one. Default: 30 % daily equity, 25 % FX and crypto, 45 %
        intraday equity (US and Chinese sessions, 30/5/1 min).
    process_weights : mapping, optional
        Process name (see `PROCESSES`) -> weight. Default: garch 0.2, gjr 0.25, egarch 0.2, sv_jump 0.2,
        regime 0.15.
    drift_weights : mapping, optional
        Drift (see `DRIFTS`) -> weight. Default: none 0.5, trend 0.3, mean_revert 0.2.
    substeps : int, default=4
        Brownian-bridge steps of the intrabar path (the high / low are exact bridge extremes on each step, so
        a few are enough).
    microstructure_noise : bool, default=True
        Add noise to the observed prices of intraday bars (negative lag-1 return autocorrelation).
    seasonality : bool, default=True
        Intraday seasonality of volatility and volume (U-shape, hour of day, crypto weekends).
    session_gaps : bool, default=True
        Overnight / weekend / lunch moves on the first bar of a session (else the market is continuous).
    start_range : (str, str), default=("2000-01-01", "2024-12-31")
        Range of the first bar's date (moved earlier for a series too long to end before 2251).
    price_range : (float, float), default=(1.0, 1000.0)
        First close, drawn log-uniformly.
    volume_range : (float, float), default=(1e3, 1e7)
        Typical volume per bar, drawn log-uniformly.

    Weights are stored as tuples of ``(name, weight)`` pairs; ``dict(config.process_weights)`` reads them.
    """

    calendar_weights: tuple = field(default_factory=lambda: tuple(_DEFAULT_CALENDAR_WEIGHTS.items()))
    process_weights: tuple = field(default_factory=lambda: tuple(_DEFAULT_PROCESS_WEIGHTS.items()))
    drift_weights: tuple = field(default_factory=lambda: tuple(_DEFAULT_DRIFT_WEIGHTS.items()))
    substeps: int = 4
    microstructure_noise: bool = True
    seasonality: bool = True
    session_gaps: bool = True
    start_range: tuple = ("2000-01-01", "2024-12-31")
    price_range: tuple = (1.0, 1000.0)
    volume_range: tuple = (1e3, 1e7)

    def __post_init__(self) -> None:
        def put(name, value):
            object.__setattr__(self, name, value)

        put("calendar_weights", _weights(self.calendar_weights, CALENDARS, "calendar_weights"))
        put("process_weights", _weights(self.process_weights, PROCESSES, "process_weights"))
        put("drift_weights", _weights(self.drift_weights, DRIFTS, "drift_weights"))
        sub = self.substeps
        if isinstance(sub, bool) or not isinstance(sub, (int, np.integer)) or not 1 <= sub <= 64:
            raise ValueError(f"`substeps` must be an integer in [1, 64], got {sub!r}.")
        put("substeps", int(sub))
        for flag in ("microstructure_noise", "seasonality", "session_gaps"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise ValueError(f"`{flag}` must be True or False, got {getattr(self, flag)!r}.")
        try:
            lo, hi = (pd.Timestamp(v).normalize() for v in self.start_range)
        except (TypeError, ValueError) as err:
            raise ValueError(f"`start_range` must be two dates, got {self.start_range!r}.") from err
        if not (pd.Timestamp(_FIRST_DAY) <= lo <= hi <= pd.Timestamp(_LAST_DAY)):
            raise ValueError(
                f"`start_range` must be two dates in order between {_FIRST_DAY} and {_LAST_DAY}, got "
                f"{self.start_range!r}."
            )
        put("start_range", (str(lo.date()), str(hi.date())))
        put("price_range", _range(self.price_range, "price_range"))
        put("volume_range", _range(self.volume_range, "volume_range"))


# ------------------------------------------------------------------------------------------------------------
# Calendars
# ------------------------------------------------------------------------------------------------------------
def _observed(day: _dt.date) -> _dt.date:
    if day.weekday() == 5:
        return day - _dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + _dt.timedelta(days=1)
    return day


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> _dt.date:
    """The n-th (1-based; -1 for the last) given weekday of a month."""
    if n > 0:
        first = _dt.date(year, month, 1)
        return first + _dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = _dt.date(year + month // 12, month % 12 + 1, 1)
    last = nxt - _dt.timedelta(days=1)
    return last - _dt.timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> _dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return _dt.date(year, month, day)


def _holidays(kind: str) -> set[_dt.date]:
    out: set[_dt.date] = set()
    for year in range(_FIRST_DAY.year, _LAST_DAY.year + 1):
        if kind == "us":
            out.update(
                {
                    _observed(_dt.date(year, 1, 1)),
                    _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
                    _nth_weekday(year, 2, 0, 3),  # Presidents' Day
                    _easter(year) - _dt.timedelta(days=2),  # Good Friday
                    _nth_weekday(year, 5, 0, -1),  # Memorial Day
                    _observed(_dt.date(year, 7, 4)),
                    _nth_weekday(year, 9, 0, 1),  # Labor Day
                    _nth_weekday(year, 11, 3, 4),  # Thanksgiving
                    _observed(_dt.date(year, 12, 25)),
                }
            )
        elif kind == "cn":  # fixed-date approximation; the Spring Festival really follows the lunar calendar
            out.add(_dt.date(year, 1, 1))
            out.update(_dt.date(year, 2, d) for d in range(10, 17))
            out.update(_dt.date(year, 5, d) for d in range(1, 4))
            out.update(_dt.date(year, 10, d) for d in range(1, 8))
    return out


@dataclass(frozen=True)
class _Table:
    """A calendar laid out as trading days x bar slots."""

    days: np.ndarray  # (D,) int64 days since 1970-01-01 of the trading days
    pattern: np.ndarray  # (D,) int64 which row of the slot tables a day uses
    offset: np.ndarray  # (P, L) int64 ns after midnight of each bar
    position: np.ndarray  # (P, L) float64 position of the bar in its trading day, 0..1
    start: (
        np.ndarray
    )  # (P, L) int8: 1 first bar after the market was closed overnight / weekend, 2 lunch reopen
    cum: np.ndarray  # (D + 1,) int64 bars before each day
    closed_days: np.ndarray  # (D,) int64 calendar days since the previous trading day, minus 1
    day_grid: np.ndarray  # (L0,) positions (equity) or hours (fx, crypto) of one full day, for normalising


def _slots(sessions, step: int) -> tuple[np.ndarray, np.ndarray]:
    mins = [m for start, end in sessions for m in range(start, end, step)]
    starts = [int(i > 0 and mins[i] - mins[i - 1] > step) * 2 for i in range(len(mins))]
    starts[0] = 1
    return np.asarray(mins, np.int64), np.asarray(starts, np.int8)


@functools.cache
def _table(name: str) -> _Table:
    cal = CALENDARS[name]
    all_days = np.arange(
        (_FIRST_DAY - _dt.date(1970, 1, 1)).days, (_LAST_DAY - _dt.date(1970, 1, 1)).days + 1, dtype=np.int64
    )
    weekday = (all_days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    holidays = _holidays(cal.holidays) if cal.holidays else set()
    hol = np.zeros(len(all_days), bool)
    if holidays:
        idx = np.array([(d - _FIRST_DAY).days for d in holidays], np.int64)
        hol[idx] = True
    step = cal.step_min
    if cal.kind == "daily":
        rows = [(np.array([0], np.int64), np.array([1], np.int8))]
        pattern = np.zeros(len(all_days), np.int64)
        keep = (weekday < 5) & ~hol
    elif cal.kind == "session":
        rows = [_slots(cal.sessions, step)]
        pattern = np.zeros(len(all_days), np.int64)
        keep = (weekday < 5) & ~hol
    elif cal.kind == "fx":  # Sunday 22:00 .. Friday 21:00 (the last hourly bar before the 22:00 close)
        full = np.arange(0, 1440, step, dtype=np.int64)
        sunday = full[full >= _minutes(22)]
        friday = full[full < _minutes(22)]
        rows = [
            (full, np.zeros(len(full), np.int8)),
            (sunday, np.r_[1, np.zeros(len(sunday) - 1)].astype(np.int8)),
            (friday, np.zeros(len(friday), np.int8)),
        ]
        pattern = np.select([weekday == 6, weekday == 4], [1, 2], 0).astype(np.int64)
        keep = weekday != 5
    else:  # crypto: every bar of every day
        full = np.arange(0, 1440, step, dtype=np.int64)
        rows = [(full, np.zeros(len(full), np.int8))]
        pattern = np.zeros(len(all_days), np.int64)
        keep = np.ones(len(all_days), bool)
    width = max(len(r[0]) for r in rows)
    offset = np.zeros((len(rows), width), np.int64)
    position = np.zeros((len(rows), width))
    start = np.zeros((len(rows), width), np.int8)
    lengths = np.array([len(r[0]) for r in rows], np.int64)
    for p, (mins, st) in enumerate(rows):
        offset[p, : len(mins)] = mins * _MIN_NS
        position[p, : len(mins)] = np.arange(len(mins)) / max(len(mins) - 1, 1)
        start[p, : len(mins)] = st
    days = all_days[keep]
    pattern = pattern[keep]
    cum = np.r_[0, np.cumsum(lengths[pattern])].astype(np.int64)
    closed = np.r_[0, np.diff(days) - 1].astype(np.int64)
    day_grid = (
        position[0, : lengths[0]] if cal.kind in ("daily", "session") else offset[0, : lengths[0]] / 3.6e12
    )
    return _Table(days, pattern, offset, position, start, cum, closed, day_grid)


# ------------------------------------------------------------------------------------------------------------
# The batch
# ------------------------------------------------------------------------------------------------------------
_COLUMNS = ("open", "high", "low", "close", "volume", "amount")


@dataclass
class SyntheticMarketBatch:
    """Synthetic series as arrays, for training without pandas overhead.

    Attributes
    ----------
    bars : numpy.ndarray
        float64, shaped (n_series, n_bars, 6): ``open, high, low, close, volume, amount``.
    timestamps : numpy.ndarray
        ``datetime64[ns]``, shaped (n_series, n_bars), increasing along each row (tz-naive local time).
    session_start : numpy.ndarray
        bool (n_series, n_bars): the bar opens after the market was closed (overnight, weekend, holiday,
        lunch break; every daily bar), so its return carries the closed-market move.
    calendars, freqs, processes, drifts : list of str
        Per series: the calendar (`CALENDARS`), its bar length, the volatility process and the drift.
    params : list of dict
        Per series, the drawn parameters (floats).
    asset_ids : list of str
        ``"synthetic/<process>-<n>"``.
    seed : int
        The seed that generated the batch (``generate_market_arrays(..., seed=seed)`` reproduces it).

    Use `frame` / `frames` for pandas frames, and `kronos_plugins.calendar.time_features` on a row of
    ``timestamps`` for the calendar features.
    """

    bars: np.ndarray
    timestamps: np.ndarray
    session_start: np.ndarray
    calendars: list[str]
    freqs: list[str]
    processes: list[str]
    drifts: list[str]
    params: list[dict]
    asset_ids: list[str]
    seed: int = 0

    def __len__(self) -> int:
        return self.bars.shape[0]

    def frame(self, i: int) -> pd.DataFrame:
        """Series ``i`` as a frame with the schema of `kronos_plugins.datasets.load`."""
        frame = pd.DataFrame(self.bars[i], columns=list(_COLUMNS))
        frame.index = pd.DatetimeIndex(self.timestamps[i], name="timestamps")
        cal = CALENDARS[self.calendars[i]]
        frame.attrs = {
            "asset_id": self.asset_ids[i],
            "freq": self.freqs[i],
            "calendar": self.calendars[i],
            "asset_class": "synthetic",
            "process": self.processes[i],
            "drift": self.drifts[i],
            "params": dict(self.params[i]),
            "synthetic": True,
            "seed": self.seed,
            "has_volume": True,
            "source": "kronos_plugins.datasets.synthetic_market",
            "licence": "generated",
            "description": f"synthetic {self.processes[i]} series, {self.drifts[i]} drift, {cal.name} calendar",
            "timezone": "synthetic local time",
            "repairs": {},
        }
        return frame

    def frames(self) -> list[pd.DataFrame]:
        """Every series as a frame (see `frame`)."""
        return [self.frame(i) for i in range(len(self))]


# ------------------------------------------------------------------------------------------------------------
# Argument checks
# ------------------------------------------------------------------------------------------------------------
def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r} ({type(seed).__name__}).")
    if seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}.")
    return int(seed)


def _calendar_choices(freq, config: SyntheticMarketConfig) -> tuple[list[str], np.ndarray]:
    weights = dict(config.calendar_weights)
    if freq is None:
        names = [n for n, w in weights.items() if w > 0]
        return names, np.array([weights[n] for n in names])
    requested = [freq] if isinstance(freq, str) else list(freq) if isinstance(freq, (list, tuple)) else None
    if not requested:
        raise ValueError(
            f"`freq` must be None, a bar length ({', '.join(BAR_LENGTHS)}), a calendar name "
            f"({', '.join(CALENDARS)}) or a list of them, got {freq!r}."
        )
    names: list[str] = []
    for item in requested:
        if item in CALENDARS:
            names.append(item)
        elif item in BAR_LENGTHS:
            names.extend(n for n, c in CALENDARS.items() if c.freq == item)
        else:
            raise ValueError(
                f"unknown `freq` {item!r}: use a bar length ({', '.join(BAR_LENGTHS)}) or a calendar name "
                f"({', '.join(CALENDARS)})."
            )
    names = list(dict.fromkeys(names))
    w = np.array([weights.get(n, 0.0) for n in names])
    if w.sum() <= 0:  # the config gives them no weight: use them evenly
        w = np.ones(len(names))
    return names, w


def _choose(rng: np.random.Generator, n: int, names: list[str], weights: np.ndarray) -> np.ndarray:
    p = np.asarray(weights, float) / np.sum(weights)
    return rng.choice(len(names), size=n, p=p)


# ------------------------------------------------------------------------------------------------------------
# Generation
# ------------------------------------------------------------------------------------------------------------
def generate_market_arrays(
    n_series: int,
    n_bars: int,
    *,
    freq: str | list[str] | None = None,
    seed: int = 0,
    config: SyntheticMarketConfig | None = None,
    first_id: int = 0,
) -> SyntheticMarketBatch:
    """Generate ``n_series`` synthetic OHLCV series of ``n_bars`` bars as arrays.

    Parameters
    ----------
    n_series : int
        Series (>= 1).
    n_bars : int
        Bars per series (>= 2).
    freq : str or list of str, optional
        A bar length (``"1d"``, ``"1h"``, ``"30min"``, ``"5min"``, ``"1min"``: the calendars of that length,
        weighted as in ``config``), a calendar name (see `CALENDARS`) or a list of these; None draws from
        ``config.calendar_weights``.
    seed : int, default=0
        Non-negative; the same arguments give bitwise identical output.
    config : SyntheticMarketConfig, optional
        Weights and switches (default: `SyntheticMarketConfig()`).
    first_id : int, default=0
        Number of the first series in the asset ids (``"synthetic/<process>-<first_id + i>"``).

    Returns
    -------
    SyntheticMarketBatch

    Raises
    ------
    ValueError
        For a bad argument: ``n_series`` < 1, ``n_bars`` < 2 or longer than the calendar allows, an unknown
        ``freq``, a seed that is not a non-negative integer, a config that is not a `SyntheticMarketConfig`.
    """
    n = _check_int(n_series, "n_series", 1)
    T = _check_int(n_bars, "n_bars", 2)
    seed = _check_seed(seed)
    first_id = _check_int(first_id, "first_id", 0)
    if config is None:
        config = SyntheticMarketConfig()
    elif not isinstance(config, SyntheticMarketConfig):
        raise ValueError(f"`config` must be a SyntheticMarketConfig or None, got {type(config).__name__}.")
    cal_names, cal_w = _calendar_choices(freq, config)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4B524F4E]))

    cal_idx = _choose(rng, n, cal_names, cal_w)
    proc_names = [k for k, w in config.process_weights if w > 0]
    proc_idx = _choose(rng, n, proc_names, np.array([w for k, w in config.process_weights if w > 0]))
    drift_names = [k for k, w in config.drift_weights if w > 0]
    drift_idx = _choose(rng, n, drift_names, np.array([w for k, w in config.drift_weights if w > 0]))
    calendars = [cal_names[i] for i in cal_idx]
    processes = [proc_names[i] for i in proc_idx]
    drifts = [drift_names[i] for i in drift_idx]
    cals = [CALENDARS[c] for c in calendars]

    P = _draw_params(rng, cals, processes, drifts, config)
    ts, pos, hours, start, closed, weekend = _timestamps(rng, calendars, T, config)
    s2, g = _seasonal(cals, P, pos, hours, start, closed, weekend, config)
    eps, h, mu_reg = _volatility(rng, processes, P, T)
    r = _returns(rng, P, eps, h, s2, g, mu_reg, drifts, T)
    bars = _candles(rng, P, r, h, s2, g, config)
    _volume(rng, bars, P, eps, h, s2, T)

    params = []
    for i in range(n):
        keys = _PARAM_KEYS["common"] + _PARAM_KEYS[processes[i]] + _PARAM_KEYS[drifts[i]]
        params.append({k: float(P[k][i]) for k in keys})
    asset_ids = [f"synthetic/{processes[i]}-{first_id + i}" for i in range(n)]
    return SyntheticMarketBatch(
        bars=bars,
        timestamps=ts.view("datetime64[ns]"),
        session_start=start > 0,
        calendars=calendars,
        freqs=[c.freq for c in cals],
        processes=processes,
        drifts=drifts,
        params=params,
        asset_ids=asset_ids,
        seed=seed,
    )


def generate_market(
    n_series: int,
    n_bars: int,
    *,
    freq: str | list[str] | None = None,
    seed: int = 0,
    config: SyntheticMarketConfig | None = None,
) -> list[pd.DataFrame]:
    """Generate ``n_series`` synthetic OHLCV frames of ``n_bars`` bars (see the module docstring).

    Each frame follows the schema of `kronos_plugins.datasets.load`: a tz-naive ``DatetimeIndex`` named
    ``timestamps`` and float64 columns ``open, high, low, close, volume, amount``; ``attrs`` holds
    ``asset_id`` (``"synthetic/<process>-<n>"``), ``freq``, ``calendar``, ``asset_class`` (``"synthetic"``),
    ``process``, ``drift``, ``params`` (the drawn parameters), ``synthetic`` (True) and ``seed``. Every frame
    passes `kronos_plugins.validation.prepare_context`.

    Parameters and errors are those of `generate_market_arrays`.

    Examples
    --------
    >>> frames = generate_market(2, 100, freq="us_equity_5min", seed=1)
    >>> str(frames[0].index[0].time()) >= "09:30:00", frames[0].attrs["calendar"]
    (True, 'us_equity_5min')
    """
    return generate_market_arrays(n_series, n_bars, freq=freq, seed=seed, config=config).frames()


def iter_market(
    batch_size: int,
    n_bars: int,
    *,
    freq: str | list[str] | None = None,
    seed: int = 0,
    config: SyntheticMarketConfig | None = None,
    n_batches: int | None = None,
) -> Iterator[SyntheticMarketBatch]:
    """Yield batches of `batch_size` series (endlessly, or `n_batches` of them).

    Batch ``k`` is ``generate_market_arrays(batch_size, n_bars, seed=<derived from seed and k>, ...)`` (the
    derived seed is the batch's ``seed``), with asset ids numbered on from the previous batch; the stream is
    reproducible from ``seed``.
    """
    batch_size = _check_int(batch_size, "batch_size", 1)
    seed = _check_seed(seed)
    if n_batches is not None:
        n_batches = _check_int(n_batches, "n_batches", 0)
    k = 0
    while n_batches is None or k < n_batches:
        sub = int(np.random.SeedSequence([seed, k]).generate_state(1, np.uint32)[0])
        yield generate_market_arrays(
            batch_size, n_bars, freq=freq, seed=sub, config=config, first_id=k * batch_size
        )
        k += 1


# ------------------------------------------------------------------------------------------------------------
# Steps
# ------------------------------------------------------------------------------------------------------------
_PARAM_KEYS = {
    "common": (
        "sigma_bar start_price base_volume volume_phi volume_level_std volume_noise volume_abs_r volume_vol "
        "volume_season drift noise_ratio gap lunch_gap season_amp season_close season_tau season_peak "
        "weekend_factor"
    ).split(),
    "garch": ["df", "alpha", "beta"],
    "gjr": ["df", "alpha", "beta", "gamma"],
    "egarch": ["df", "alpha", "beta", "theta"],
    "sv_jump": ["phi", "logvol_std", "rho", "jump_rate", "jump_mean", "jump_std"],
    "regime": ["df", "alpha", "beta", "n_regimes", "stay", "calm", "turbulent"],
    "none": [],
    "trend": ["trend_std", "trend_every"],
    "mean_revert": ["half_life"],
}


def _uniform(rng, lo, hi, log: bool = False) -> np.ndarray:
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    u = rng.random(lo.shape)
    if log:
        return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
    return lo + u * (hi - lo)


def _draw_params(rng, cals, processes, drifts, config) -> dict[str, np.ndarray]:
    """Every parameter for every series (drawn whatever the process, so the stream does not depend on it)."""
    n = len(cals)

    def col(attr):
        return np.array([getattr(c, attr) for c in cals], float).reshape(n, 2).T

    def tier(key, table=_TIER_RANGES):
        return np.array([table[c.tier][key] for c in cals], float).T

    P: dict[str, np.ndarray] = {}
    P["sigma_bar"] = _uniform(rng, *col("sigma"), log=True)
    P["start_price"] = _uniform(rng, *np.full((2, n), np.array(config.price_range)[:, None]), log=True)
    P["base_volume"] = _uniform(rng, *np.full((2, n), np.array(config.volume_range)[:, None]), log=True)
    P["volume_phi"] = _uniform(rng, *tier("volume_phi", _TIER_OTHER))
    P["volume_level_std"] = _uniform(rng, np.full(n, 0.25), np.full(n, 0.7))
    P["volume_noise"] = _uniform(rng, np.full(n, 0.15), np.full(n, 0.4))
    # fitted Spearman(|r|, volume) 0.15-0.46: the move itself and the volatility level both raise volume
    P["volume_abs_r"] = _uniform(rng, np.full(n, 0.15), np.full(n, 0.5))
    P["volume_vol"] = _uniform(rng, np.full(n, 0.3), np.full(n, 1.0))
    # volume U-shape exponent on s: fitted log(2.17) / log(1.49) ~ 1.9 at 1min
    P["volume_season"] = _uniform(rng, np.full(n, 1.0), np.full(n, 2.2))
    P["drift"] = 0.01 * rng.standard_normal(n)  # constant drift, in sigma_bar per bar
    noise = _uniform(rng, *col("noise"))
    P["noise_ratio"] = noise if config.microstructure_noise else np.zeros(n)
    gap_lo = np.array([c.gap[0] if c.kind in ("daily", "session") else c.weekend_gap[0] for c in cals])
    gap_hi = np.array([c.gap[1] if c.kind in ("daily", "session") else c.weekend_gap[1] for c in cals])
    P["gap"] = _uniform(rng, gap_lo, gap_hi)
    P["lunch_gap"] = _uniform(rng, *col("lunch_gap"))
    amp = np.array([c.u_amp if c.kind == "session" else c.hod_amp for c in cals], float).T
    P["season_amp"] = _uniform(rng, *amp)
    P["season_close"] = _uniform(rng, np.full(n, 0.3), np.full(n, 0.8))  # close bump / open bump
    P["season_tau"] = _uniform(rng, np.full(n, 0.03), np.full(n, 0.12))
    P["season_peak"] = _uniform(rng, *col("hod_peak"))
    P["weekend_factor"] = _uniform(rng, np.full(n, 0.6), np.full(n, 1.0))  # crypto weekends are calmer
    P["df"] = _uniform(rng, *tier("df"))
    persistence = _uniform(rng, *tier("persistence"))
    alpha = _uniform(rng, *tier("alpha"))
    gamma = _uniform(rng, *tier("gamma"))
    theta = _uniform(rng, *tier("theta"))
    rho = _uniform(rng, *tier("rho"))
    negative = rng.random(n) < np.array([c.leverage_negative for c in cals])
    sign = np.where(negative, 1.0, -1.0)  # +1: the usual leverage (falls raise volatility)
    is_gjr = np.array([p == "gjr" for p in processes])
    # GJR: alpha smaller so that alpha + gamma / 2 stays in the GARCH range; a reversed sign moves gamma
    # onto the rises (implemented by flipping the indicator)
    P["alpha"] = np.where(is_gjr, 0.4 * alpha, alpha)
    P["gamma"] = gamma * sign
    P["beta"] = np.maximum(persistence - P["alpha"] - np.where(is_gjr, gamma / 2, 0.0), 0.0)
    is_eg = np.array([p == "egarch" for p in processes])
    P["alpha"] = np.where(is_eg, 1.5 * alpha + 0.05, P["alpha"])  # EGARCH alpha multiplies |z| - E|z|
    P["beta"] = np.where(is_eg, persistence, P["beta"])
    P["theta"] = -theta * sign
    P["phi"] = persistence
    P["logvol_std"] = _uniform(rng, *tier("logvol_std"))
    P["rho"] = -rho * sign
    P["jump_rate"] = _uniform(rng, *tier("jump_rate"), log=True)
    P["jump_std"] = _uniform(rng, np.full(n, 3.0), np.full(n, 8.0))  # in sigma_bar
    P["jump_mean"] = _uniform(rng, np.full(n, -0.5), np.full(n, 0.2)) * P["jump_std"] * sign
    P["n_regimes"] = rng.integers(2, 4, n).astype(float)
    P["stay"] = _uniform(rng, *tier("stay"))
    P["calm"] = _uniform(rng, np.full(n, 0.5), np.full(n, 0.9))
    P["turbulent"] = _uniform(rng, np.full(n, 1.5), np.full(n, 3.0))
    P["trend_std"] = _uniform(rng, np.full(n, 0.02), np.full(n, 0.15))  # drift in sigma_bar per bar
    P["trend_every"] = _uniform(rng, *tier("trend_every", _TIER_OTHER), log=True)
    P["half_life"] = _uniform(rng, *tier("mr_half_life", _TIER_OTHER), log=True)
    P["_regime_drift"] = 0.05 * rng.standard_normal((n, 3))
    return P


def _timestamps(rng, calendars, T, config):
    n = len(calendars)
    ts = np.empty((n, T), np.int64)
    pos = np.zeros((n, T))
    hours = np.zeros((n, T))
    start = np.zeros((n, T), np.int8)
    closed = np.zeros((n, T), np.int64)
    weekend = np.zeros((n, T), bool)
    u_day = rng.random(n)
    u_bar = rng.random(n)
    epoch = _dt.date(1970, 1, 1)
    lo_day = (pd.Timestamp(config.start_range[0]).date() - epoch).days
    hi_day = (pd.Timestamp(config.start_range[1]).date() - epoch).days
    for name in dict.fromkeys(calendars):
        rows = np.array([i for i, c in enumerate(calendars) if c == name])
        tab = _table(name)
        total = int(tab.cum[-1])
        first = int(np.searchsorted(tab.days, lo_day))
        last = int(np.searchsorted(tab.days, hi_day, side="right")) - 1
        # the latest start day that still leaves room for T bars
        room = int(np.searchsorted(tab.cum, total - T, side="right")) - 1
        if room < 0:
            raise ValueError(
                f"`n_bars`={T} is longer than the {name} calendar allows ({total} bars from {_FIRST_DAY} to "
                f"{_LAST_DAY}); ask for fewer bars."
            )
        last = min(last, room)
        first = min(first, last)
        day0 = first + np.floor(u_day[rows] * (last - first + 1)).astype(np.int64)
        per_day = tab.cum[day0 + 1] - tab.cum[day0]
        bar0 = tab.cum[day0] + np.minimum(np.floor(u_bar[rows] * per_day).astype(np.int64), per_day - 1)
        bar0 = np.minimum(bar0, total - T)
        b = bar0[:, None] + np.arange(T)[None, :]
        d = np.searchsorted(tab.cum, b, side="right") - 1
        k = b - tab.cum[d]
        p = tab.pattern[d]
        off = tab.offset[p, k]
        ts[rows] = tab.days[d] * _DAY_NS + off
        pos[rows] = tab.position[p, k]
        hours[rows] = off / 3.6e12
        start[rows] = tab.start[p, k]
        closed[rows] = tab.closed_days[d]
        weekend[rows] = ((tab.days[d] + 3) % 7) >= 5
    return ts, pos, hours, start, closed, weekend


def _seasonal(cals, P, pos, hours, start, closed, weekend, config):
    """Seasonal variance factor s^2 of the in-session move and closed-market variance g, in bar variances."""
    n, T = pos.shape
    s2 = np.ones((n, T))
    g = np.zeros((n, T))
    kinds = np.array([c.kind for c in cals])
    for kind in ("daily", "session", "fx", "crypto"):
        rows = np.flatnonzero(kinds == kind)
        if len(rows) == 0:
            continue
        if kind == "daily":
            w = P["gap"][rows, None]
            s2[rows] = 1.0 - w if config.session_gaps else 1.0
            if config.session_gaps:  # longer closures (weekends, holidays) carry a little more
                g[rows] = w * (1.0 + 0.15 * closed[rows])
            continue
        if config.seasonality:
            amp, tau = P["season_amp"][rows, None], P["season_tau"][rows, None]
            if kind == "session":
                close = P["season_close"][rows, None]

                def shape(u, amp=amp, tau=tau, close=close):
                    return (1.0 + amp * np.exp(-u / tau) + amp * close * np.exp(-(1.0 - u) / tau)) ** 2

                grid = _table(cals[rows[0]].name).day_grid[None, :]
                s2[rows] = shape(pos[rows]) / shape(grid).mean(axis=1, keepdims=True)
            else:
                peak = P["season_peak"][rows, None]

                def shape(hh, amp=amp, peak=peak):
                    return np.exp(2.0 * amp * np.cos(2 * np.pi * (hh - peak) / 24.0))

                grid = _table(cals[rows[0]].name).day_grid[None, :]
                s2[rows] = shape(hours[rows]) / shape(grid).mean(axis=1, keepdims=True)
                if kind == "crypto":
                    s2[rows] *= np.where(weekend[rows], P["weekend_factor"][rows, None] ** 2, 1.0)
        if not config.session_gaps:
            continue
        st = start[rows]
        if kind == "session":
            bars_per_day = np.array([len(_table(cals[i].name).day_grid) for i in rows], float)[:, None]
            overnight = P["gap"][rows, None] * bars_per_day * (1.0 + 0.15 * closed[rows])
            lunch = P["lunch_gap"][rows, None] * bars_per_day
            g[rows] = np.where(st == 1, overnight, np.where(st == 2, lunch, 0.0))
        elif kind == "fx":
            g[rows] = np.where(st == 1, P["gap"][rows, None], 0.0)
    return s2, g


def _volatility(rng, processes, P, T):
    """Standardised returns eps (n, T), conditional variance h and the regime drift (in sigma_bar).

    The recursions are those of `kronos_plugins.datasets.processes`; this draws, per process in `PROCESSES`
    order, the shocks and starting values of its series.
    """
    n = len(processes)
    procs = np.array(processes)
    eps = np.zeros((n, T))
    h = np.ones((n, T))
    mu = np.zeros((n, T))
    for proc in PROCESSES:
        rows = np.flatnonzero(procs == proc)
        if len(rows) == 0:
            continue
        m = len(rows)
        if proc in ("garch", "gjr", "regime"):
            z = student_t_shocks(rng, P["df"][rows, None], (m, T), clip=_Z_CLIP)
            alpha, beta = P["alpha"][rows], P["beta"][rows]
            gamma = np.abs(P["gamma"][rows]) if proc == "gjr" else np.zeros(m)
            flip = np.where(P["gamma"][rows] < 0, -1.0, 1.0)  # leverage on the rises instead
            if proc == "regime":
                alpha, beta = 0.5 * alpha, np.minimum(beta, 0.9 - 0.5 * alpha)
            omega = 1.0 - alpha - beta - gamma / 2
            h0 = np.exp(0.5 * rng.standard_normal(m) - 0.125)
            e, H = garch_filter(
                z, omega, alpha, beta, h0, gamma=gamma if proc == "gjr" else None, flip=flip, clip=_H_CLIP
            )
            if proc == "regime":
                k = P["n_regimes"][rows].astype(np.int64)
                levels = np.stack(
                    [P["calm"][rows], np.ones(m), P["turbulent"][rows]], axis=1
                )  # 2 regimes: calm and turbulent; 3: calm, normal, turbulent
                levels[k == 2, 1] = levels[k == 2, 2]
                var_mean = np.where(
                    k == 2, (levels[:, 0] ** 2 + levels[:, 2] ** 2) / 2, (levels**2).mean(axis=1)
                )
                levels = levels / np.sqrt(var_mean)[:, None]
                state = markov_chain(rng, k, P["stay"][rows], T)
                # k = 2 uses slots 0 and 2 (calm, turbulent) of the level table
                state = np.where((k[:, None] == 2) & (state == 1), 2, state)
                scale = np.take_along_axis(levels, state, axis=1)
                H = H * scale**2
                e = e * scale
                mu[rows] = np.take_along_axis(P["_regime_drift"][rows], state, axis=1)
            eps[rows], h[rows] = e, H
        elif proc == "egarch":
            z = student_t_shocks(rng, P["df"][rows, None], (m, T), clip=_Z_CLIP)
            mean_abs = student_t_mean_abs(P["df"][rows])
            alpha, beta, theta = P["alpha"][rows], P["beta"][rows], P["theta"][rows]
            var_lh = (alpha**2 * (1 - mean_abs**2) + theta**2) / np.maximum(1 - beta**2, 1e-3)
            omega = -(1 - beta) * var_lh / 2  # E[h] ~ 1 when log h is close to Gaussian
            lh0 = -var_lh / 2 + np.sqrt(var_lh) * rng.standard_normal(m)
            eps[rows], h[rows] = egarch_filter(
                z, omega, alpha, beta, theta, lh0, mean_abs=mean_abs, clip=_LOG_H_CLIP
            )
        else:  # sv_jump
            e, H = stochastic_volatility(
                rng, P["phi"][rows], P["logvol_std"][rows], P["rho"][rows], T, z_clip=_Z_CLIP, h_clip=_H_CLIP
            )
            jumps = compound_poisson_jumps(
                rng, P["jump_rate"][rows, None], P["jump_mean"][rows, None], P["jump_std"][rows, None], (m, T)
            )
            eps[rows], h[rows] = e + jumps, H
    return eps, h, mu


def _returns(rng, P, eps, h, s2, g, mu_reg, drifts, T):
    """Close-to-close efficient log returns (n, T)."""
    n = eps.shape[0]
    sigma = P["sigma_bar"][:, None]
    scale = sigma * np.sqrt(s2 + g)
    r = scale * eps
    drift = P["drift"][:, None] + mu_reg
    kinds = np.array(drifts)
    rows = np.flatnonzero(kinds == "trend")
    change = rng.random((n, T)) < 1.0 / P["trend_every"][:, None]
    level = rng.standard_normal((n, T)) * P["trend_std"][:, None]
    if len(rows):
        ch = change[rows]
        ch[:, 0] = True
        last = np.maximum.accumulate(np.where(ch, np.arange(T)[None, :], 0), axis=1)
        drift[rows] += np.take_along_axis(level[rows], last, axis=1)
    r += drift * sigma * np.sqrt(s2)
    rows = np.flatnonzero(kinds == "mean_revert")
    if len(rows):
        kappa = np.log(2.0) / P["half_life"][rows]
        # y_t = (1 - kappa) y_{t-1} + r_t is the log price's distance to its start level
        y = ar1(1.0 - kappa, r[rows], np.zeros(len(rows)))
        r[rows] = np.diff(y, axis=1, prepend=0.0)
    return r


def _candles(rng, P, r, h, s2, g, config):
    """Open, high, low, close from an intrabar Brownian-bridge path; volume and amount filled later."""
    n, T = r.shape
    M = config.substeps
    bars = np.empty((n, T, 6))
    sigma = P["sigma_bar"][:, None]
    x_close = np.log(P["start_price"])[:, None] + np.cumsum(r, axis=1)
    x_prev = np.concatenate([np.log(P["start_price"])[:, None], x_close[:, :-1]], axis=1)
    v_bar = sigma**2 * h * s2  # in-session variance of the bar
    v_gap = sigma**2 * h * g
    chunk = max(1, _MAX_ELEMENTS // (T * M))
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        sl = slice(a, b)
        m = b - a
        vb, vg, rr = v_bar[sl], v_gap[sl], r[sl]
        tot = vb + vg
        wg = np.where(tot > 0, vg / np.where(tot > 0, tot, 1.0), 0.0)
        gap = wg * rr + np.sqrt(wg * (1 - wg) * tot) * rng.standard_normal((m, T))
        x_open = x_prev[sl] + gap
        rest = rr - gap
        v = (vb / M)[..., None]
        e = rng.standard_normal((m, T, M)) * np.sqrt(v)
        d = e + ((rest - e.sum(axis=2)) / M)[..., None]
        path = x_open[..., None] + np.cumsum(d, axis=2)  # points 1..M
        path[..., -1] = x_close[sl]
        left = np.concatenate([x_open[..., None], path[..., :-1]], axis=2)
        diff2 = (path - left) ** 2
        mid = left + path
        up = np.sqrt(diff2 - 2.0 * v * np.log1p(-rng.random((m, T, M))))
        down = np.sqrt(diff2 - 2.0 * v * np.log1p(-rng.random((m, T, M))))
        hi = ((mid + up) / 2).max(axis=2)
        lo = ((mid - down) / 2).min(axis=2)
        eta = (P["noise_ratio"][sl] * P["sigma_bar"][sl])[:, None, None] * rng.standard_normal((m, T, 2))
        o = x_open + eta[..., 0]
        c = x_close[sl] + eta[..., 1]
        hi = np.maximum(np.maximum(hi, o), c)
        lo = np.minimum(np.minimum(lo, o), c)
        p_open, p_close = np.exp(o), np.exp(c)
        bars[sl, :, 0] = p_open
        bars[sl, :, 1] = np.maximum(np.exp(hi), np.maximum(p_open, p_close))
        bars[sl, :, 2] = np.minimum(np.exp(lo), np.minimum(p_open, p_close))
        bars[sl, :, 3] = p_close
    return bars


def _volume(rng, bars, P, eps, h, s2, T):
    n = bars.shape[0]
    phi = P["volume_phi"]
    level = ar1(
        phi,
        (P["volume_level_std"] * np.sqrt(1 - phi**2))[:, None] * rng.standard_normal((n, T)),
        P["volume_level_std"] * rng.standard_normal(n),
    )
    log_v = (
        np.log(P["base_volume"])[:, None]
        + level
        + P["volume_season"][:, None] * 0.5 * np.log(s2)
        + P["volume_abs_r"][:, None] * np.minimum(np.abs(eps), 10.0)
        + P["volume_vol"][:, None] * 0.5 * np.log(h)
        + P["volume_noise"][:, None] * rng.standard_normal((n, T))
    )
    bars[..., 4] = np.exp(log_v)
    bars[..., 5] = bars[..., 4] * bars[..., :4].mean(axis=2)
