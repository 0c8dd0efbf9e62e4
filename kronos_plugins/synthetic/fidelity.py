"""How much synthetic OHLCV paths look like real bars of the same asset and frequency.

Stylised facts of returns, each computed the same way on the real series and on the synthetic paths (pooled
over paths, never across a path boundary):

- the log-return distribution: mean, standard deviation, skewness, excess kurtosis, the Hill tail index of
  ``|r|`` and the Kolmogorov-Smirnov distance between the real and the synthetic returns;
- autocorrelation of returns (should be near 0) and of absolute returns (volatility clustering: positive and
  slowly decaying), lags 1..10;
- the leverage effect ``corr(r_t, |r_{t+k}|)`` (negative for equities: falls raise later volatility);
- the volume-volatility correlation (Spearman, ``|r_t|`` against ``volume_t``);
- a discriminative score: the cross-validated accuracy of a logistic regression telling real windows from
  synthetic ones on simple window features (0.5 is perfect: indistinguishable; 1.0 trivially separable).

`compare` computes them all; `sampling_sweep` regenerates paths over a grid of temperature and top_p and
shows the trade-off between degenerate (too smooth, low volatility) and explosive paths. The discriminative
score needs scikit-learn.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .trajectories import SyntheticRepairWarning, as_bars, generate_trajectories, load_pipeline

__all__ = [
    "Discrimination",
    "FidelityResult",
    "autocorrelation",
    "compare",
    "discriminative_score",
    "hill_tail_index",
    "ks_distance",
    "leverage_correlation",
    "log_returns",
    "moments",
    "path_volatility_ratio",
    "sampling_sweep",
    "volume_volatility_correlation",
    "window_features",
]

#: Names of the columns returned by `window_features`.
WINDOW_FEATURES = (
    "mean_r",
    "std_r",
    "skew_r",
    "kurt_r",
    "max_abs_r",
    "acf1_r",
    "acf1_abs_r",
    "mean_log_range",
    "mean_body",
    "std_dlog_volume",
    "corr_abs_r_log_volume",
)


# ------------------------------------------------------------------------------------------------------------
# Input handling
# ------------------------------------------------------------------------------------------------------------
def _bars(data, name: str, series: int | str = 0) -> np.ndarray:
    return as_bars(data, name, series, min_bars=3)


def log_returns(close: np.ndarray) -> np.ndarray:
    """Log returns along the last axis: ``log(close[..., 1:] / close[..., :-1])``.

    Raises
    ------
    ValueError
        If a price is not positive and finite.
    """
    close = np.asarray(close, dtype=np.float64)
    if not (np.isfinite(close).all() and (close > 0).all()):
        raise ValueError("`close` must be positive and finite to take log returns; repair the bars first.")
    return np.diff(np.log(close), axis=-1)


def _2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x[None] if x.ndim == 1 else x.reshape(-1, x.shape[-1])


# ------------------------------------------------------------------------------------------------------------
# Statistics
# ------------------------------------------------------------------------------------------------------------
def moments(r: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation (ddof=1), skewness and excess kurtosis of all values of ``r``."""
    r = np.asarray(r, dtype=np.float64).ravel()
    mean = r.mean()
    d = r - mean
    m2 = np.mean(d**2)
    std = math.sqrt(m2 * len(r) / max(len(r) - 1, 1))
    skew = float(np.mean(d**3) / m2**1.5) if m2 > 0 else float("nan")
    kurt = float(np.mean(d**4) / m2**2 - 3.0) if m2 > 0 else float("nan")
    return {"mean": float(mean), "std": std, "skew": skew, "excess_kurtosis": kurt}


def hill_tail_index(r: np.ndarray, tail_fraction: float = 0.025) -> float:
    """Hill estimator of the tail index of ``|r|`` (both tails pooled).

    ``alpha = 1 / mean(log(x_(i) / x_(k+1)))`` over the ``k = tail_fraction * n`` largest ``|r|``. A
    Student-t with ``nu`` degrees of freedom has tail index ``nu`` (3 is typical of daily returns); a normal
    has none, and the estimate grows with the sample (around 7 at 2.5 %).

    Parameters
    ----------
    r : numpy.ndarray
        Returns (any shape; zeros are ignored).
    tail_fraction : float, default=0.025
        Share of the largest ``|r|`` used; at least 10 values.
    """
    if not 0 < tail_fraction < 0.5:
        raise ValueError(f"`tail_fraction` must lie in (0, 0.5), got {tail_fraction!r}.")
    x = np.sort(np.abs(np.asarray(r, dtype=np.float64).ravel()))[::-1]
    x = x[x > 0]
    k = max(10, int(tail_fraction * len(x)))
    if len(x) <= k:
        return float("nan")
    return float(1.0 / np.mean(np.log(x[:k] / x[k])))


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs of ``a`` and ``b``."""
    a = np.sort(np.asarray(a, dtype=np.float64).ravel())
    b = np.sort(np.asarray(b, dtype=np.float64).ravel())
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def autocorrelation(x: np.ndarray, max_lag: int = 10) -> np.ndarray:
    """Sample autocorrelation at lags 1..max_lag, pooled over paths.

    ``x`` shaped (T,) or (n_paths, T). Values are centred on their overall mean; lagged products are summed
    within each path only and divided by the total sum of squares (the usual biased estimator).

    Returns
    -------
    numpy.ndarray
        Shaped (max_lag,).
    """
    x = _2d(x)
    if not 1 <= max_lag < x.shape[1]:
        raise ValueError(
            f"`max_lag` must lie in [1, {x.shape[1] - 1}] for paths of {x.shape[1]} values, got {max_lag!r}."
        )
    d = x - x.mean()
    denom = np.sum(d * d)
    if denom == 0:
        return np.full(max_lag, np.nan)
    return np.array([np.sum(d[:, :-k] * d[:, k:]) / denom for k in range(1, max_lag + 1)])


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = math.sqrt(float(np.sum(a * a) * np.sum(b * b)))
    return float(np.sum(a * b) / den) if den > 0 else float("nan")


def leverage_correlation(r: np.ndarray, max_lag: int = 10) -> np.ndarray:
    """Leverage effect ``corr(r_t, |r_{t+k}|)`` for k = 1..max_lag, pooled over paths.

    Negative values mean that falls are followed by higher volatility (typical of equities).

    Returns
    -------
    numpy.ndarray
        Shaped (max_lag,).
    """
    r = _2d(r)
    if not 1 <= max_lag < r.shape[1]:
        raise ValueError(f"`max_lag` must lie in [1, {r.shape[1] - 1}], got {max_lag!r}.")
    return np.array([_corr(r[:, :-k].ravel(), np.abs(r[:, k:]).ravel()) for k in range(1, max_lag + 1)])


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    # average ranks of ties
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def volume_volatility_correlation(r: np.ndarray, volume: np.ndarray) -> float:
    """Spearman correlation of ``|r_t|`` with the volume of the bar that ends return t, pooled over paths.

    Parameters
    ----------
    r : numpy.ndarray
        Returns shaped (T-1,) or (n_paths, T-1).
    volume : numpy.ndarray
        Volumes shaped (T,) or (n_paths, T); ``volume[..., 1:]`` is paired with ``r``.

    Returns
    -------
    float
        NaN when the volume is constant (e.g. a series without volume).
    """
    r, v = _2d(r), _2d(volume)
    if v.shape[1] != r.shape[1] + 1 or v.shape[0] != r.shape[0]:
        raise ValueError(
            f"`volume` must have one more bar than `r` per path, found: {v.shape} and {r.shape}."
        )
    a, b = np.abs(r).ravel(), v[:, 1:].ravel()
    if np.ptp(b) == 0 or np.ptp(a) == 0:
        return float("nan")
    return _corr(_ranks(a), _ranks(b))


# ------------------------------------------------------------------------------------------------------------
# Discriminative score
# ------------------------------------------------------------------------------------------------------------
def window_features(bars: np.ndarray, window: int = 20) -> np.ndarray:
    """Simple scale-free features of non-overlapping windows of ``window`` bars.

    Parameters
    ----------
    bars : numpy.ndarray
        Bars shaped (T, 6) or (n_paths, T, 6); each path is cut into ``T // window`` windows (never across a
        path boundary).
    window : int, default=20
        Bars per window (at least 5).

    Returns
    -------
    numpy.ndarray
        Shaped (n_windows, len(WINDOW_FEATURES)): per window the mean, std, skewness, excess kurtosis and
        largest absolute value of the log returns, the lag-1 autocorrelation of returns and of absolute
        returns, the mean log(high / low), the mean candle body ``|close - open| / (high - low)``, the std of
        log-volume changes and the correlation of ``|r|`` with log volume. Undefined values (flat windows)
        are 0.
    """
    x = _bars(bars, "bars")
    if window < 5:
        raise ValueError(f"`window` must be at least 5 bars, got {window!r}.")
    n_per = x.shape[1] // window
    if n_per == 0:
        return np.empty((0, len(WINDOW_FEATURES)))
    w = x[:, : n_per * window].reshape(-1, window, 6)  # (n_windows, window, 6)
    o, h, lo, c, v = (w[..., k] for k in range(5))
    r = np.diff(np.log(c), axis=1)  # (n, window-1)
    d = r - r.mean(axis=1, keepdims=True)
    m2 = np.mean(d**2, axis=1)
    safe = np.where(m2 > 0, m2, 1.0)
    feats = {
        "mean_r": r.mean(axis=1),
        "std_r": np.sqrt(m2),
        "skew_r": np.mean(d**3, axis=1) / safe**1.5,
        "kurt_r": np.mean(d**4, axis=1) / safe**2 - 3.0,
        "max_abs_r": np.abs(r).max(axis=1),
        "acf1_r": np.sum(d[:, 1:] * d[:, :-1], axis=1) / (safe * (window - 1)),
    }
    a = np.abs(r) - np.abs(r).mean(axis=1, keepdims=True)
    ma = np.mean(a**2, axis=1)
    feats["acf1_abs_r"] = np.sum(a[:, 1:] * a[:, :-1], axis=1) / (np.where(ma > 0, ma, 1.0) * (window - 1))
    feats["mean_log_range"] = np.mean(np.log(h / lo), axis=1)
    rng = h - lo
    feats["mean_body"] = np.mean(np.where(rng > 0, np.abs(c - o) / np.where(rng > 0, rng, 1.0), 0.0), axis=1)
    lv = np.log1p(v)
    feats["std_dlog_volume"] = np.diff(lv, axis=1).std(axis=1)
    lv1 = lv[:, 1:] - lv[:, 1:].mean(axis=1, keepdims=True)
    den = np.sqrt(np.sum(lv1**2, axis=1) * np.sum(a**2, axis=1))
    feats["corr_abs_r_log_volume"] = np.sum(lv1 * a, axis=1) / np.where(den > 0, den, 1.0)
    out = np.column_stack([feats[k] for k in WINDOW_FEATURES])
    out[~np.isfinite(out)] = 0.0
    out[:, [WINDOW_FEATURES.index(k) for k in ("skew_r", "kurt_r", "acf1_r")]] *= (m2 > 0)[:, None]
    return out


@dataclass
class Discrimination:
    """Result of `discriminative_score`.

    Attributes
    ----------
    accuracy : float
        Mean cross-validated accuracy (0.5: real and synthetic windows are indistinguishable; NaN: too few
        windows).
    accuracy_std : float
        Standard deviation of the accuracy over folds.
    n_windows : int
        Windows per class (the classes are balanced by subsampling the larger one).
    folds : int
        Cross-validation folds.
    """

    accuracy: float
    accuracy_std: float
    n_windows: int
    folds: int


def discriminative_score(
    real,
    synthetic,
    window: int = 20,
    folds: int = 5,
    seed: int = 0,
    max_windows: int = 5000,
    features: Sequence[str] | None = None,
) -> Discrimination:
    """Cross-validated accuracy of a logistic regression telling real windows from synthetic ones.

    Both inputs are cut into non-overlapping windows of ``window`` bars and described by `window_features`.
    The larger class is subsampled to the size of the smaller one (at most ``max_windows`` each), so chance
    is 0.5. The classifier is ``StandardScaler`` + ``LogisticRegression``, scored by stratified k-fold.

    Parameters
    ----------
    real, synthetic
        Bars: a DataFrame, an array (T, 6) or (n_paths, T, 6), or `Trajectories` (first series).
    window : int, default=20
        Bars per window.
    folds : int, default=5
        Cross-validation folds (fewer when there are fewer windows per class).
    seed : int, default=0
        Seeds the subsampling and the fold assignment.
    max_windows : int, default=5000
        Most windows per class.
    features : sequence of str, optional
        The `WINDOW_FEATURES` the classifier sees (default all). With one feature, or all but one, the score
        says which differences give the synthetic windows away (the same windows and folds for any subset).

    Returns
    -------
    Discrimination
        The accuracy is NaN (with a warning) when either side has fewer than 4 windows.
    """
    if features is None:
        cols = list(range(len(WINDOW_FEATURES)))
    else:
        unknown = [f for f in features if f not in WINDOW_FEATURES]
        if unknown or not len(features):
            raise ValueError(
                f"`features` must be a non-empty subset of {list(WINDOW_FEATURES)}; unknown: {unknown}."
            )
        cols = [WINDOW_FEATURES.index(f) for f in features]
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("`discriminative_score` needs scikit-learn; `pip install scikit-learn`.") from err
    fr, fs = window_features(real, window), window_features(synthetic, window)
    n = min(len(fr), len(fs), max_windows)
    if n < 4:
        warnings.warn(
            f"too few windows of {window} bars for a discriminative score (real: {len(fr)}, synthetic: "
            f"{len(fs)}); pass a smaller `window` or more data.",
            stacklevel=2,
        )
        return Discrimination(float("nan"), float("nan"), n, 0)
    rng = np.random.default_rng(seed)
    fr = fr[rng.choice(len(fr), n, replace=False)]
    fs = fs[rng.choice(len(fs), n, replace=False)]
    X = np.vstack([fr, fs])[:, cols]
    y = np.r_[np.zeros(n), np.ones(n)]
    k = min(folds, n)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    scores = cross_val_score(clf, X, y, cv=cv, scoring="accuracy")
    return Discrimination(float(scores.mean()), float(scores.std()), n, k)


# ------------------------------------------------------------------------------------------------------------
# Everything at once
# ------------------------------------------------------------------------------------------------------------
@dataclass
class FidelityResult:
    """Synthetic against real: every statistic of this module.

    Attributes
    ----------
    stats : pandas.DataFrame
        Index: statistic (``mean``, ``std``, ``skew``, ``excess_kurtosis``, ``hill_tail_index``,
        ``ks_distance``, ``volume_volatility_corr``, ``discriminative_accuracy``, ``n_returns``); columns
        ``real`` and ``synthetic`` (KS distance and accuracy are comparisons, stored under ``synthetic``).
    acf : pandas.DataFrame
        Index: lag 1..max_lag; columns ``real_r``, ``synthetic_r``, ``real_abs_r``, ``synthetic_abs_r``.
    leverage : pandas.DataFrame
        Index: lag; columns ``real``, ``synthetic`` (``corr(r_t, |r_{t+k}|)``).
    discrimination : Discrimination
        The classifier's score.
    real_returns, synthetic_returns : numpy.ndarray
        Log returns, shaped (1, T-1) and (n_paths, L-1) (kept for plots).
    """

    stats: pd.DataFrame
    acf: pd.DataFrame
    leverage: pd.DataFrame
    discrimination: Discrimination
    real_returns: np.ndarray = field(repr=False)
    synthetic_returns: np.ndarray = field(repr=False)


def compare(
    real,
    synthetic,
    max_lag: int = 10,
    window: int = 20,
    tail_fraction: float = 0.025,
    seed: int = 0,
    series: int | str = 0,
) -> FidelityResult:
    """Compute every fidelity statistic on real bars and on synthetic paths.

    Parameters
    ----------
    real
        Held-out real bars of the same asset and frequency: a DataFrame with OHLCV columns or an array
        (T, 6); several real paths may be passed as (n, T, 6).
    synthetic
        `Trajectories` (series ``series``) or bars shaped (n_paths, L, 6).
    max_lag : int, default=10
        Autocorrelation and leverage lags 1..max_lag (must be below the path length).
    window : int, default=20
        Window of the discriminative score.
    tail_fraction : float, default=0.025
        Share of the largest |r| used by the Hill estimator.
    seed : int, default=0
        Seeds the discriminative score.
    series : int or str, default=0
        Which series of `Trajectories` to use.

    Returns
    -------
    FidelityResult
    """
    xr, xs = _bars(real, "real"), _bars(synthetic, "synthetic", series)
    rr, rs = log_returns(xr[..., 3]), log_returns(xs[..., 3])
    stats = {}
    for name, r, x in (("real", rr, xr), ("synthetic", rs, xs)):
        col = moments(r)
        col["hill_tail_index"] = hill_tail_index(r, tail_fraction)
        col["volume_volatility_corr"] = volume_volatility_correlation(r, x[..., 4])
        col["n_returns"] = float(r.size)
        stats[name] = col
    disc = discriminative_score(xr, xs, window=window, seed=seed)
    stats["real"].update(ks_distance=0.0, discriminative_accuracy=0.5)
    stats["synthetic"].update(ks_distance=ks_distance(rr, rs), discriminative_accuracy=disc.accuracy)
    order = [
        "mean",
        "std",
        "skew",
        "excess_kurtosis",
        "hill_tail_index",
        "ks_distance",
        "volume_volatility_corr",
        "discriminative_accuracy",
        "n_returns",
    ]
    table = pd.DataFrame(stats).loc[order]
    lags = pd.Index(range(1, max_lag + 1), name="lag")
    acf = pd.DataFrame(
        {
            "real_r": autocorrelation(rr, max_lag),
            "synthetic_r": autocorrelation(rs, max_lag),
            "real_abs_r": autocorrelation(np.abs(rr), max_lag),
            "synthetic_abs_r": autocorrelation(np.abs(rs), max_lag),
        },
        index=lags,
    )
    lev = pd.DataFrame(
        {"real": leverage_correlation(rr, max_lag), "synthetic": leverage_correlation(rs, max_lag)},
        index=lags,
    )
    return FidelityResult(table, acf, lev, disc, rr, rs)


def path_volatility_ratio(real_returns: np.ndarray, synthetic_returns: np.ndarray) -> np.ndarray:
    """Realised volatility of each synthetic path divided by the real realised volatility.

    Parameters
    ----------
    real_returns : numpy.ndarray
        Real log returns (pooled).
    synthetic_returns : numpy.ndarray
        Synthetic log returns shaped (n_paths, L-1).

    Returns
    -------
    numpy.ndarray
        Shaped (n_paths,).
    """
    real_vol = np.std(np.asarray(real_returns, dtype=np.float64), ddof=1)
    if not real_vol > 0:
        raise ValueError("the real returns have zero volatility; the ratio is undefined.")
    return np.std(_2d(synthetic_returns), axis=1, ddof=1) / real_vol


def sampling_sweep(
    pipeline,
    context: pd.DataFrame,
    real,
    temperatures: Sequence[float] = (0.5, 1.0, 1.5),
    top_ps: Sequence[float] = (0.7, 1.0),
    n_paths: int = 100,
    length: int = 60,
    seed: int = 0,
    top_k: int = 0,
    explode_factor: float = 3.0,
    window: int = 20,
    lookback: int | None = None,
) -> pd.DataFrame:
    """Regenerate paths over a grid of temperature x top_p and measure how calm or wild they are.

    A path is *explosive* when its realised volatility exceeds ``explode_factor`` times the real one, or when
    one of its prices was non-positive and floored; it is *degenerate* when its volatility is below
    ``1 / explode_factor`` times the real one (too smooth). Low temperature and top_p cut off the tails of
    the token distribution and give degenerate paths; high temperature gives explosive ones.

    Parameters
    ----------
    pipeline : KronosPipeline, str, path or None
        The pipeline or a checkpoint (see `load_pipeline`).
    context : pandas.DataFrame
        History before the real period.
    real
        Real bars after the context (see `compare`).
    temperatures, top_ps : sequence of float
        The grid.
    n_paths, length : int
        Paths per setting and bars per path.
    seed : int, default=0
        One seed for every setting (common random numbers: settings differ only by the sampling rule).
    top_k : int, default=0
        Kept fixed over the grid.
    explode_factor : float, default=3.0
        Volatility ratio beyond which a path is explosive (below its inverse: degenerate).
    window : int, default=20
        Window of the discriminative score.
    lookback : int, optional
        Passed to `generate_trajectories`.

    Returns
    -------
    pandas.DataFrame
        One row per setting: ``temperature, top_p, vol_ratio`` (pooled synthetic / real volatility),
        ``median_path_vol_ratio``, ``exploding_fraction``, ``degenerate_fraction``, ``ks_distance``,
        ``excess_kurtosis``, ``acf_abs_lag1``, ``discriminative_accuracy``, ``repaired_bars``.
    """
    if not explode_factor > 1:
        raise ValueError(f"`explode_factor` must be > 1, got {explode_factor!r}.")
    pipe = load_pipeline(pipeline)
    xr = _bars(real, "real")
    rr = log_returns(xr[..., 3])
    real_vol = np.std(rr, ddof=1)
    rows = []
    for temperature in temperatures:
        for top_p in top_ps:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntheticRepairWarning)
                traj = generate_trajectories(
                    pipe,
                    context,
                    n_paths=n_paths,
                    length=length,
                    temperature=temperature,
                    top_k=top_k,
                    top_p=top_p,
                    seed=seed,
                    lookback=lookback,
                )
            xs = traj.paths(0)
            rs = log_returns(xs[..., 3])
            ratio = path_volatility_ratio(rr, rs)
            explode = (ratio > explode_factor) | traj.floored[0]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                acc = discriminative_score(xr, xs, window=window, seed=seed).accuracy
            rows.append(
                {
                    "temperature": float(temperature),
                    "top_p": float(top_p),
                    "vol_ratio": float(np.std(rs, ddof=1) / real_vol),
                    "median_path_vol_ratio": float(np.median(ratio)),
                    "exploding_fraction": float(explode.mean()),
                    "degenerate_fraction": float((ratio < 1 / explode_factor).mean()),
                    "ks_distance": ks_distance(rr, rs),
                    "excess_kurtosis": moments(rs)["excess_kurtosis"],
                    "acf_abs_lag1": float(autocorrelation(np.abs(rs), 1)[0]) if rs.shape[1] > 1 else np.nan,
                    "discriminative_accuracy": acc,
                    "repaired_bars": int(sum(traj.repairs.values())),
                }
            )
    return pd.DataFrame(rows)
