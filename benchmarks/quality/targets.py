"""Pure functions of the quality gate (issue 15, item 3): the figures it measures and the checks of its targets.

Nothing here loads data, a checkpoint or the harness: `gate.py` computes the inputs and these functions turn
them into figures and PASS/FAIL verdicts, so ``tests/unit/test_quality_gate.py`` checks them on hand-made cases.

Figures
-------
- :func:`first_step_ratio`: ``|median of the first forecast step - last close| / typical move``, the typical move
  being the context's mean absolute one-bar close change (the harness' ``scale``, what scaled CRPS divides by).
- :func:`close_reconstruction_error`: a tokenizer round trip's close error in units of one bar's return standard
  deviation: the mean over the window's bars of ``|decoded close / close - 1|`` divided by the (population)
  standard deviation of the window's one-bar log returns.
- :func:`ohlc_consistent`: whether decoded candles are candles (``high >= max(open, close)`` and
  ``low <= min(open, close)``), before any repair.
- :func:`repaired_bars`: which sampled bars the synthetic module's repair changes (each bar once).
- :func:`median_of_medians`: the median over windows of each group (asset), then the median over groups.
- :func:`block_bootstrap` / :func:`bootstrap_band`: a moving-block bootstrap of a real return series and the
  central band of a statistic over its resamples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = [
    "COVERAGE_TOLERANCE",
    "Check",
    "block_bootstrap",
    "bootstrap_band",
    "check_above",
    "check_at_least",
    "check_at_most",
    "check_band",
    "check_coverage",
    "check_not_below",
    "candle_shape",
    "close_reconstruction_error",
    "first_step_ratio",
    "median_of_medians",
    "ohlc_consistent",
    "overall",
    "repaired_bars",
    "volume_shape",
    "roundtrip_decoded",
    "roundtrip_figures",
    "roundtrip_scores",
]

#: Coverage may miss its nominal level by this much (5 points) either way.
COVERAGE_TOLERANCE = 0.05
#: Slack for float round-off in the comparisons (0.80 - 0.75 is 0.05000000000000004 in binary).
EPS = 1e-9


@dataclass
class Check:
    """One target of the gate and what was measured.

    Attributes
    ----------
    section : str
        ``forecast``, ``lookback``, ``tokenizer`` or ``synthetic``.
    name : str
        What is measured (a short phrase).
    target : str
        The target as a reader sees it (``<= 0.5``, ``> 0.163 (hist-vol-rw)``, ...).
    measured : float or None
        The figure (None when it could not be measured).
    passed : bool or None
        The verdict; None for a figure reported without a target or one that could not be measured.
    detail : str
        Anything the reader needs to read the figure (the baseline it was compared with, a band, ...).
    """

    section: str
    name: str
    target: str
    measured: float | None
    passed: bool | None
    detail: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``PASS``, ``FAIL``, ``info`` (no target) or ``n/a`` (not measured)."""
        if self.passed is None:
            return "info" if self.measured is not None and self.target in ("", "-") else "n/a"
        return "PASS" if self.passed else "FAIL"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["verdict"] = self.verdict
        out["measured"] = _num(self.measured)
        return out


def _num(v):
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def _finite(v) -> bool:
    return v is not None and bool(np.isfinite(float(v)))


# ------------------------------------------------------------------------------------------------------------
# Target checks
# ------------------------------------------------------------------------------------------------------------
def check_at_most(section: str, name: str, value, limit: float, detail: str = "") -> Check:
    """``value <= limit`` (NaN or None: not measured)."""
    ok = (float(value) <= limit + EPS) if _finite(value) else None
    return Check(section, name, f"<= {limit:g}", _num(value), ok, detail)


def check_at_least(section: str, name: str, value, limit: float, detail: str = "") -> Check:
    """``value >= limit`` (NaN or None: not measured)."""
    ok = (float(value) >= limit - EPS) if _finite(value) else None
    return Check(section, name, f">= {limit:g}", _num(value), ok, detail)


def check_above(section: str, name: str, value, others: Mapping[str, float], detail: str = "") -> Check:
    """``value`` strictly above every finite value of ``others`` (e.g. the skill of every baseline).

    The target names the best of ``others``; with no finite other the verdict is None.
    """
    finite = {k: float(v) for k, v in others.items() if _finite(v)}
    if not finite or not _finite(value):
        return Check(section, name, "> every baseline", _num(value), None, detail)
    best = max(finite, key=finite.get)
    ok = float(value) > finite[best]
    text = f"> {finite[best]:.3f} ({best})"
    return Check(
        section, name, text, _num(value), ok, detail, extra={"best": best, "best_value": finite[best]}
    )


def check_not_below(
    section: str, name: str, value, reference: float, ref_name: str, detail: str = ""
) -> Check:
    """``value >= reference`` (no worse than a named reference, e.g. hist-vol-rw's MAE skill)."""
    if not (_finite(value) and _finite(reference)):
        return Check(section, name, f">= {ref_name}", _num(value), None, detail)
    ok = float(value) >= float(reference) - EPS
    return Check(section, name, f">= {float(reference):.3f} ({ref_name})", _num(value), ok, detail)


def check_coverage(section: str, level: float, coverage, tolerance: float = COVERAGE_TOLERANCE) -> Check:
    """Coverage of the central ``level`` interval within ``tolerance`` of ``level``.

    Examples
    --------
    >>> check_coverage("forecast", 0.8, 0.76).verdict  # 4 points short: inside 5
    'PASS'
    >>> check_coverage("forecast", 0.8, 0.74).verdict
    'FAIL'
    """
    name = f"coverage of the {level:.0%} interval"
    target = f"{level - tolerance:.2f} .. {level + tolerance:.2f}"
    if not _finite(coverage):
        return Check(section, name, target, None, None)
    gap = float(coverage) - level
    ok = abs(gap) <= tolerance + EPS
    return Check(section, name, target, float(coverage), ok, f"{gap * 100:+.1f} points", extra={"gap": gap})


def check_band(section: str, name: str, value, lo: float, hi: float, detail: str = "") -> Check:
    """``lo <= value <= hi`` (a bootstrap band)."""
    target = f"{lo:.3g} .. {hi:.3g}"
    ok = (lo - EPS <= float(value) <= hi + EPS) if _finite(value) else None
    return Check(section, name, target, _num(value), ok, detail, extra={"lo": float(lo), "hi": float(hi)})


def overall(checks: Iterable[Check]) -> str:
    """``PASS`` when every check with a verdict passed, ``FAIL`` when one failed, ``INCOMPLETE`` when none
    failed but a target could not be measured."""
    checks = list(checks)
    if any(c.passed is False for c in checks):
        return "FAIL"
    if any(c.passed is None and c.verdict == "n/a" for c in checks):
        return "INCOMPLETE"
    return "PASS"


# ------------------------------------------------------------------------------------------------------------
# Forecast figures
# ------------------------------------------------------------------------------------------------------------
def typical_move(context_close: np.ndarray) -> float:
    """Mean absolute one-bar change of the context's closes (the harness' MASE/CRPS scale with m=1)."""
    c = np.asarray(context_close, dtype=np.float64)
    if c.size < 2:
        return float("nan")
    return float(np.mean(np.abs(np.diff(c))))


def first_step_ratio(samples: np.ndarray, context_close: np.ndarray) -> float:
    """``|median(samples[:, 0]) - last close| / typical_move(context)`` of one forecast.

    Parameters
    ----------
    samples : numpy.ndarray
        Close paths shaped (num_samples, horizon).
    context_close : numpy.ndarray
        The context's closes (the window's whole context, as the harness scores it).

    Returns
    -------
    float
        NaN for a constant context (no typical move).
    """
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] < 1:
        raise ValueError(f"`samples` must be shaped (num_samples, horizon), found {s.shape}.")
    move = typical_move(context_close)
    if not move > 0:
        return float("nan")
    last = float(np.asarray(context_close, dtype=np.float64)[-1])
    return abs(float(np.median(s[:, 0])) - last) / move


# ------------------------------------------------------------------------------------------------------------
# Tokenizer figures
# ------------------------------------------------------------------------------------------------------------
def close_reconstruction_error(close: np.ndarray, decoded_close: np.ndarray) -> float:
    """Mean over bars of ``|decoded / real - 1|`` in units of the std of the window's one-bar log returns.

    Returns NaN when the window's closes do not move (no return scale) or a real close is not positive.
    """
    c = np.asarray(close, dtype=np.float64)
    d = np.asarray(decoded_close, dtype=np.float64)
    if c.shape != d.shape or c.ndim != 1 or c.size < 3:
        raise ValueError(
            f"`close` and `decoded_close` must be equal 1-D arrays of >= 3 bars: {c.shape}, {d.shape}."
        )
    if not (c > 0).all():
        return float("nan")
    unit = float(np.std(np.diff(np.log(c))))
    if not unit > 0:
        return float("nan")
    return float(np.mean(np.abs(d / c - 1.0)) / unit)


def ohlc_consistent(bars: np.ndarray) -> np.ndarray:
    """Per bar: ``high >= max(open, close)`` and ``low <= min(open, close)`` (columns open, high, low, close
    first). Shaped ``bars.shape[:-1]``."""
    x = np.asarray(bars, dtype=np.float64)
    o, h, lo, c = x[..., 0], x[..., 1], x[..., 2], x[..., 3]
    return (h >= np.maximum(o, c)) & (lo <= np.minimum(o, c))


def repaired_bars(bars: np.ndarray) -> np.ndarray:
    """Per bar: whether `kronos_plugins.synthetic.repair_ohlcv` changes it (a bar counts once, whatever rules
    it breaks): a non-positive open/high/low/close, ``high < max(open, close)``, ``low > min(open, close)``, a
    negative volume or amount. Shaped ``bars.shape[:-1]``."""
    x = np.asarray(bars, dtype=np.float64)
    nonpositive = (x[..., :4] <= 0).any(axis=-1)
    return nonpositive | ~ohlc_consistent(x) | (x[..., 4] < 0) | (x[..., 5] < 0)


def roundtrip_decoded(
    raw: np.ndarray, normalise: Callable[[np.ndarray], tuple], roundtrip: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """A batch of windows sent through an encode/decode round trip, back in price units.

    Parameters
    ----------
    raw : numpy.ndarray
        Raw bars (N, T, 6) with columns open, high, low, close, volume, amount.
    normalise : callable
        ``window (T, 6) -> (x (T, 6), denormalise)``: the pipeline's normalisation of one window and the
        function that maps normalised bars back to prices.
    roundtrip : callable
        ``x (N, T, 6) -> decoded (N, T, 6)``, normalised units (the tokenizer's encode then decode).

    Returns
    -------
    numpy.ndarray
        The decoded bars (N, T, 6) in price units.
    """
    raw = np.asarray(raw, dtype=np.float64)
    prepared = [normalise(w) for w in raw]
    x = np.stack([p[0] for p in prepared]).astype(np.float32)
    z = np.asarray(roundtrip(x), dtype=np.float64)
    if z.shape != x.shape:
        raise ValueError(f"the round trip returned {z.shape}, expected {x.shape}.")
    return np.stack([p[1](zi) for p, zi in zip(prepared, z, strict=True)])


def roundtrip_scores(raw: np.ndarray, decoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Close error (N,) (:func:`close_reconstruction_error` per window) and OHLC consistency (N, T) of decoded
    bars against the raw ones, both (N, T, 6) in price units."""
    raw = np.asarray(raw, dtype=np.float64)
    errors = np.array(
        [close_reconstruction_error(w[:, 3], d[:, 3]) for w, d in zip(raw, decoded, strict=True)]
    )
    return errors, ohlc_consistent(decoded)


def roundtrip_figures(
    raw: np.ndarray, normalise: Callable[[np.ndarray], tuple], roundtrip: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Close error and OHLC consistency of a batch of windows sent through an encode/decode round trip
    (`roundtrip_decoded`, then `roundtrip_scores`)."""
    return roundtrip_scores(raw, roundtrip_decoded(raw, normalise, roundtrip))


def candle_shape(raw: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """What a round trip keeps of the other prices and of the candle's shape, windows (N, T, 6) in price units.

    - ``open_error``, ``high_error``, ``low_error``: median over windows of the mean ``|decoded / real - 1|`` of that
      price, in the window's one-bar close-return stds (the close's, `close_reconstruction_error`, is the gate's);
    - ``body_size_ratio``: mean ``|log(close / open)|`` decoded over real;
    - ``body_slope`` and ``close_move_slope``: least-squares slopes of the decoded ``log(close / open)`` and
      one-bar log close change on the real ones (1: kept; towards 0: lost, decoded candles all wick).

    The body and move figures use the windows whose decoded opens and closes are all positive (a "direct" candle
    head can decode a non-positive price); ``shape_windows_left_out`` counts the others.
    """
    raw, dec = np.asarray(raw, dtype=np.float64), np.asarray(decoded, dtype=np.float64)
    unit = np.std(np.diff(np.log(raw[..., 3]), axis=1), axis=1)  # (N,) one-bar close-return std
    ok = unit > 0
    out: dict[str, float] = {}
    for k, name in enumerate(("open", "high", "low")):
        err = np.mean(np.abs(dec[..., k] / raw[..., k] - 1.0), axis=1)
        out[f"{name}_error"] = float(np.median(err[ok] / unit[ok]))

    def slope(real, dec_):
        real, dec_ = real.ravel() - real.mean(), dec_.ravel() - dec_.mean()
        return float((real * dec_).sum() / (real * real).sum())

    pos = (dec[..., [0, 3]] > 0).all(axis=(1, 2))
    raw, dec = raw[pos], dec[pos]
    body, body_dec = np.log(raw[..., 3] / raw[..., 0]), np.log(dec[..., 3] / dec[..., 0])
    move, move_dec = np.diff(np.log(raw[..., 3]), axis=1), np.diff(np.log(dec[..., 3]), axis=1)
    return out | {
        "shape_windows_left_out": int((~pos).sum()),
        "body_size_ratio": float(np.abs(body_dec).mean() / np.abs(body).mean()),
        "body_slope": slope(body, body_dec),
        "close_move_slope": slope(move, move_dec),
    }


def volume_shape(raw: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
    """What a round trip keeps of volume and amount, windows (N, T, 6) in price units.

    - ``volume_negative_share``: the share of decoded bars whose volume or amount is negative (a path sampled
      from such tokens needs the bar repaired, `kronos_plugins.synthetic`);
    - ``volume_error``: median over windows of the mean ``|decoded - real|`` volume over the window's mean real
      volume (windows with no volume left out);
    - ``volume_corr``: median over windows of the correlation of decoded and real volume (windows where either
      is constant left out; 1: every rise and fall kept).
    """
    raw, dec = np.asarray(raw, dtype=np.float64), np.asarray(decoded, dtype=np.float64)
    v, v_dec = raw[..., 4], dec[..., 4]
    level = v.mean(axis=1)
    has = level > 0
    err = np.abs(v_dec - v).mean(axis=1)[has] / level[has]
    vc, dc = v - v.mean(axis=1, keepdims=True), v_dec - v_dec.mean(axis=1, keepdims=True)
    den = np.sqrt((vc * vc).sum(axis=1) * (dc * dc).sum(axis=1))
    varies = den > 0
    corr = (vc * dc).sum(axis=1)[varies] / den[varies]
    return {
        "volume_negative_share": float((dec[..., 4:] < 0).any(axis=-1).mean()),
        "volume_error": float(np.median(err)) if err.size else float("nan"),
        "volume_corr": float(np.median(corr)) if corr.size else float("nan"),
    }


def median_of_medians(values: Mapping[str, Sequence[float]]) -> tuple[float, dict[str, float]]:
    """Median over each group's finite values, then the median over groups (groups with none are left out).

    Returns
    -------
    overall : float
    per_group : dict
        Group -> its median (NaN for a group without a finite value).
    """
    per = {}
    for k, v in values.items():
        a = np.asarray(list(v), dtype=np.float64)
        a = a[np.isfinite(a)]
        per[k] = float(np.median(a)) if a.size else float("nan")
    finite = [v for v in per.values() if np.isfinite(v)]
    return (float(np.median(finite)) if finite else float("nan")), per


# ------------------------------------------------------------------------------------------------------------
# Bootstrap bands of a real series
# ------------------------------------------------------------------------------------------------------------
def block_bootstrap(
    x: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray | float],
    n_boot: int = 1000,
    block: int = 20,
    seed: int = 0,
) -> np.ndarray:
    """Moving-block bootstrap: ``statistic`` of ``n_boot`` resamples of ``x`` (1-D), each the concatenation of
    random blocks of ``block`` consecutive values cut to ``len(x)``, which keeps the dependence within blocks
    (volatility clustering) that an i.i.d. resample would destroy.

    Returns
    -------
    numpy.ndarray
        Shaped (n_boot,) or (n_boot, k) for a statistic returning k values.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    if n < 2 * block or block < 1:
        raise ValueError(f"a block bootstrap of {n} values needs 1 <= block <= n / 2, got block={block}.")
    rng = np.random.default_rng(seed)
    n_blocks = -(-n // block)
    offsets = np.arange(block)
    out = []
    for _ in range(n_boot):
        starts = rng.integers(0, n - block + 1, size=n_blocks)
        idx = (starts[:, None] + offsets[None, :]).ravel()[:n]
        out.append(np.asarray(statistic(x[idx]), dtype=np.float64))
    return np.array(out)


def fidelity_bands(
    real_returns: np.ndarray, max_lag: int, n_boot: int = 1000, block: int = 20, seed: int = 0
) -> tuple[tuple[float, float], tuple[np.ndarray, np.ndarray]]:
    """The synthetic checks' bands of a real return series: its excess kurtosis (lo, hi) and its |r|
    autocorrelation at lags 1..max_lag (lo, hi arrays), each the central 95 % of a moving-block bootstrap."""
    from kronos_plugins.synthetic.fidelity import autocorrelation, moments

    rr = np.asarray(real_returns, dtype=np.float64).ravel()
    k_lo, k_hi = bootstrap_band(
        block_bootstrap(rr, lambda x: moments(x)["excess_kurtosis"], n_boot, block, seed)
    )
    acf = block_bootstrap(rr, lambda x: autocorrelation(np.abs(x), max_lag), n_boot, block, seed)
    return (float(k_lo), float(k_hi)), bootstrap_band(acf)


def bootstrap_band(draws: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Central ``level`` band (lower and upper quantiles over axis 0) of bootstrap draws."""
    if not 0 < level < 1:
        raise ValueError(f"`level` must lie in (0, 1), got {level!r}.")
    a = (1 - level) / 2
    lo, hi = np.nanquantile(np.asarray(draws, dtype=np.float64), [a, 1 - a], axis=0)
    return lo, hi
