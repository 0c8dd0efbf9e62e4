"""Calibration (`kronos_plugins.calibration`): coverage on a process whose law is known, leakage, shapes,
candles, seeds, settings errors, and the docs page.

The coverage test uses a synthetic stand-in forecaster (a random walk with a deliberately wrong volatility)
for speed; the mechanics run through the tiny random-weight checkpoint, whose forecasts are meaningless and
therefore badly miscalibrated.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kronos_plugins import KronosInputError
from kronos_plugins.calibration import CalibrationConfig, calibrate_forecast, calibrate_samples
from kronos_plugins.quantiles import central_interval
from kronos_plugins.validation import KRONOS_COLUMNS

from ..conftest import REFERENCE

ROOT = Path(__file__).resolve().parents[2]
CLOSE = KRONOS_COLUMNS.index("close")
FAST = CalibrationConfig(n_origins=6, min_origins=0)  # mechanics only: few pseudo-forecasts


def _frame(ohlcv_input, a, b):
    return ohlcv_input.iloc[a:b].set_index("timestamps")


def _random_walks(n_series: int, length: int, sigma: float, seed: int) -> list[pd.DataFrame]:
    """Geometric random walks with volatility `sigma` per bar, as OHLCV bars (open = previous close)."""
    rng = np.random.default_rng(seed)
    logc = np.log(100.0) + np.cumsum(rng.normal(0, sigma, (n_series, length)), axis=1)
    close = np.exp(logc)
    open_ = np.concatenate([np.full((n_series, 1), 100.0), close[:, :-1]], axis=1)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, sigma / 3, close.shape)))
    low = np.minimum(open_, close) / np.exp(np.abs(rng.normal(0, sigma / 3, close.shape)))
    volume = np.exp(rng.normal(7.0, 0.5, close.shape))
    index = pd.date_range("2024-01-02 09:30", periods=length, freq="5min")
    return [
        pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": v}, index=index)
        for o, h, lo, c, v in zip(open_, high, low, close, volume, strict=True)
    ]


def _stand_in(num_samples: int, seed: int, spread: float, window: int = 48):
    """A random-walk forecaster whose volatility is `spread` times the context's (1 would be calibrated)."""

    def forecast_fn(frames, horizon, future, offset):
        out = np.empty((len(frames), num_samples, horizon, len(KRONOS_COLUMNS)))
        for i, f in enumerate(frames):
            rng = np.random.default_rng([seed, offset + i])
            c = f["close"].to_numpy()
            s = spread * np.diff(np.log(c[-window - 1 :])).std()
            close = c[-1] * np.exp(np.cumsum(rng.normal(0, s, (num_samples, horizon)), axis=1))
            open_ = np.concatenate([np.full((num_samples, 1), c[-1]), close[:, :-1]], axis=1)
            vol = np.exp(rng.normal(np.log(f["volume"].to_numpy()).mean(), 0.1, close.shape))
            hl = [np.maximum(open_, close) * (1 + s / 4), np.minimum(open_, close) / (1 + s / 4)]
            out[i] = np.stack([open_, *hl, close, vol, vol * close], axis=-1)
        return out

    return forecast_fn


def _coverage(samples: np.ndarray, y: np.ndarray, level: float) -> float:
    lo, hi = central_interval(samples, level, axis=1)  # the intervals users read off a forecast
    return float(((y >= lo) & (y <= hi)).mean())


# ------------------------------------------------------------------------------------------------------------
# coverage where the truth is known


@pytest.mark.parametrize("spread", [0.35, 3.0], ids=["too-narrow", "too-wide"])
def test_conformal_intervals_reach_nominal_coverage_on_a_random_walk(spread):
    """800 independent windows of a geometric random walk (200 bars of context, horizon 5): the stand-in's raw
    intervals are far off, the calibrated 80% and 95% intervals within 3 points of nominal.

    The coverage over 800 windows has a standard error of about 1.2 points at 80% and 0.7 at 95% (clustered by
    window), so 3 points is a meaningful bound; seeds are fixed, so the result is deterministic.
    """
    n, context, horizon, num_samples = 800, 200, 5, 100
    frames = _random_walks(n, context + horizon, sigma=0.01, seed=1)
    contexts = [f.iloc[:context] for f in frames]
    y = np.stack([f["close"].to_numpy()[context:] for f in frames])  # (n, H)
    fn = _stand_in(num_samples, seed=2, spread=spread)
    raw = fn(contexts, horizon, None, 0)
    calibrated, info = calibrate_samples(fn, contexts, horizon, raw, "conformal")

    for level in (0.8, 0.95):
        raw_cov = _coverage(raw[..., CLOSE], y, level)
        cov = _coverage(calibrated[..., CLOSE], y, level)
        assert abs(raw_cov - level) > (0.15 if level == 0.8 else 0.045), (
            level,
            raw_cov,
        )  # raw fails the check
        assert abs(cov - level) <= 0.03, (level, raw_cov, cov)
    assert all(i["n_origins"] == CalibrationConfig().n_origins for i in info)
    assert all(i["price_space"] == "log" for i in info)


def test_scale_method_improves_crps_on_a_random_walk():
    n, context, horizon = 300, 100, 5
    frames = _random_walks(n, context + horizon, sigma=0.01, seed=3)
    contexts = [f.iloc[:context] for f in frames]
    y = np.stack([f["close"].to_numpy()[context:] for f in frames])
    fn = _stand_in(50, seed=4, spread=0.35)
    raw = fn(contexts, horizon, None, 0)
    calibrated, info = calibrate_samples(fn, contexts, horizon, raw, "scale")

    def crps(s):
        x = s[..., CLOSE]
        return np.abs(x - y[:, None]).mean() - 0.5 * np.abs(x[:, :, None] - x[:, None]).mean()

    assert crps(calibrated) < 0.9 * crps(raw)
    assert info[0]["factors"]["close"].shape == (horizon,) and (info[0]["factors"]["close"] > 1.5).all()


def test_factors_beyond_the_cap_are_clipped_and_counted():
    """A forecaster 1000 times too narrow needs factors far above `max_factor`: they stop at the cap and the info
    says how many did; a forecaster about right clips none."""
    n, context, horizon = 20, 100, 4
    frames = _random_walks(n, context + horizon, sigma=0.01, seed=5)
    contexts = [f.iloc[:context] for f in frames]
    config = CalibrationConfig(n_origins=12, max_factor=20.0, min_origins=0)
    narrow = _stand_in(40, seed=6, spread=0.001)
    out, info = calibrate_samples(narrow, contexts, horizon, narrow(contexts, horizon, None, 0), config)
    f = info[0]["factors"]["close"]  # (horizon, levels)
    assert np.allclose(f, 20.0) and info[0]["factors_clipped"]["close"] == f.size
    right = _stand_in(40, seed=6, spread=1.0)
    _, info = calibrate_samples(right, contexts, horizon, right(contexts, horizon, None, 0), config)
    assert all(i["factors_clipped"]["close"] == 0 for i in info)
    assert max(i["factors"]["close"].max() for i in info) < 20.0


# ------------------------------------------------------------------------------------------------------------
# mechanics through the pipeline


def test_calibrated_forecast_keeps_shapes_candles_and_seeds(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 0, 90)
    raw = tiny_pipeline.forecast(ctx, horizon=6, num_samples=16, seed=3)
    fc = tiny_pipeline.forecast(ctx, horizon=6, num_samples=16, seed=3, calibration=FAST)
    again = tiny_pipeline.forecast(ctx, horizon=6, num_samples=16, seed=3, calibration=FAST)
    other = tiny_pipeline.forecast(ctx, horizon=6, num_samples=16, seed=4, calibration=FAST)

    assert fc.samples.shape == raw.samples.shape == (1, 16, 6, 6)
    assert np.isfinite(fc.samples).all() and raw.calibration is None
    np.testing.assert_array_equal(fc.samples, again.samples)
    assert not np.allclose(fc.samples, other.samples)
    assert not np.allclose(fc.samples, raw.samples)  # the random-weight model is far from calibrated
    # paths stay paths: each step's map is monotone, so the samples keep their order at each step
    order = np.argsort(raw.column("close"), axis=1)
    assert (np.diff(np.take_along_axis(fc.column("close"), order, axis=1), axis=1) >= 0).all()
    o, h, lo, c = (fc.samples[..., j] for j in range(4))
    ro, rh, rl, rc = (raw.samples[..., j] for j in range(4))
    raw_ok = (rh >= np.maximum.reduce([ro, rl, rc])) & (rl <= np.minimum(ro, rc))
    assert ((h >= np.maximum.reduce([o, lo, c])) & (lo <= np.minimum(o, c)))[raw_ok].all()
    assert (fc.column("volume")[raw.column("volume") >= 0] >= 0).all()
    info = fc.calibration[0]
    assert info["method"] == "conformal" and info["n_origins"] == 6 and info["ohlc_repairs"] == 0
    assert info["factors"]["close"].shape == (6, len(FAST.levels))
    assert info["scores"]["close"].shape == (6, 6)
    assert set(info["factors"]) == {"close", "volume", "amount"}


def test_calibrate_forecast_on_a_held_forecast_equals_the_pipeline_option(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 20, 100)
    kw = dict(num_samples=8, seed=5, temperature=0.9, top_p=0.95, lookback=60)
    raw = tiny_pipeline.forecast(ctx, horizon=4, **kw)
    config = {"method": "scale", "n_origins": 5, "min_origins": 0}
    held = calibrate_forecast(tiny_pipeline, ctx, 4, raw, method=config, **kw)
    direct = tiny_pipeline.forecast(ctx, horizon=4, calibration=config, **kw)
    np.testing.assert_array_equal(held.samples, direct.samples)
    assert held.calibration[0]["factors"]["close"].shape == (4,)


def test_a_series_calibrates_the_same_alone_and_in_a_batch(tiny_pipeline, ohlcv_input):
    """Pseudo-forecasts reuse each series' random streams: batching and offsets change nothing."""
    a, b = _frame(ohlcv_input, 0, 40), _frame(ohlcv_input, 100, 190)
    both = tiny_pipeline.forecast([a, b], horizon=3, num_samples=6, seed=1, calibration=FAST)
    alone = tiny_pipeline.forecast(b, horizon=3, num_samples=6, seed=1, series_offset=1, calibration=FAST)
    np.testing.assert_allclose(both.samples[1], alone.samples[0], rtol=1e-6)
    assert both.calibration[0]["origins"] != both.calibration[1]["origins"]


def test_constructed_volume_is_left_alone(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 0, 70)[["open", "high", "low", "close"]]
    fc = tiny_pipeline.forecast(ctx, horizon=3, num_samples=6, seed=0, calibration=FAST)
    raw = tiny_pipeline.forecast(ctx, horizon=3, num_samples=6, seed=0)
    np.testing.assert_array_equal(fc.samples[..., 4:], raw.samples[..., 4:])
    assert set(fc.calibration[0]["factors"]) == {"close"}


def test_non_price_series_are_calibrated_in_their_units(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 0, 70)
    ctx[["open", "high", "low", "close"]] -= 100.5  # crosses zero
    fc = tiny_pipeline.forecast(
        ctx, horizon=3, num_samples=6, seed=0, allow_non_positive=True, calibration=FAST
    )
    assert fc.calibration[0]["price_space"] == "linear" and np.isfinite(fc.samples).all()


def test_volume_stays_within_bounds_when_its_pseudo_forecasts_have_no_spread():
    """Volume pseudo-forecasts without spread give the largest factor; the draws stay finite and bounded."""
    frames = _random_walks(4, 120, sigma=0.01, seed=5)
    base = _stand_in(20, seed=6, spread=1.0)

    def flat_volume(fr, h, future, offset):
        out = base(fr, h, future, offset)
        out[..., 4:] = out[..., 4:].mean(axis=1, keepdims=True) * (
            1 + 1e-9 * out[..., 4:] / out[..., 4:].max()
        )
        return out

    raw = base(frames, 6, None, 0)
    raw[..., 4] *= np.exp(np.random.default_rng(0).normal(0, 2.0, raw.shape[:3]))  # very wide volume draws
    calibrated, info = calibrate_samples(flat_volume, frames, 6, raw, "conformal")
    volume = calibrated[..., 4]
    assert np.isfinite(calibrated).all() and (volume >= 0).all()
    assert volume.max() < 1e4 * max(f["volume"].max() for f in frames)
    assert all(i["volume_clipped"] > 0 for i in info)


# ------------------------------------------------------------------------------------------------------------
# leakage


def test_bars_at_and_after_a_pseudo_origin_change_nothing_forecast_from_it(tiny_pipeline, ohlcv_input):
    """Calibration cuts its context at each pseudo-forecast origin t; the pseudo-forecast from t must see only
    the bars before t. Changing every bar from t on (prices and volumes) leaves the pseudo-forecasts from the
    origins up to t bit-identical and changes the later ones; one that read the bar at its origin fails.

    The row count cannot change here (origins are counted back from the context's end). That bars after the
    calibrated forecast's own origin change nothing is checked end to end in tests/unit/test_harness.py
    (`kronos-calibrated` in the leakage run)."""
    full = _frame(ohlcv_input, 0, 120)
    n, horizon, kw = 90, 4, dict(num_samples=6, seed=2)

    def pseudo_samples(frame) -> tuple[dict[int, np.ndarray], list[int]]:
        got = {}

        def recording(frames, h, future, offset):
            fc = tiny_pipeline.forecast(frames, h, future_timestamps=future, series_offset=offset, **kw)
            got[len(frames[0])] = fc.samples
            return fc.samples

        raw = tiny_pipeline.forecast(frame, horizon, **kw).samples
        _, info = calibrate_samples(recording, [frame], horizon, raw, FAST)
        return got, info[0]["origins"]

    before, origins = pseudo_samples(full.iloc[:n])
    # each pseudo-forecast is passed exactly the bars before its origin
    assert sorted(before) == sorted(origins) and max(origins) == n - horizon and len(origins) == 6
    t = sorted(origins)[2]  # two origins before it, three after
    late = full.iloc[:n].copy()
    late.iloc[t:, :4] *= 1.5  # prices (bars stay valid OHLC)
    late.iloc[t:, 4:] *= 3.0  # volume and amount
    after, same_origins = pseudo_samples(late)
    assert same_origins == origins
    for origin in origins:
        if origin <= t:
            np.testing.assert_array_equal(before[origin], after[origin], err_msg=f"origin {origin}")
        else:
            assert not np.allclose(before[origin], after[origin]), origin


# ------------------------------------------------------------------------------------------------------------
# settings


@pytest.mark.parametrize(
    "value, match",
    [
        ("isotonic", "must be one of"),
        ({"method": "conformal", "origins": 3}, "unknown fields"),
        ({"levels": (0.5, 1.2)}, "levels"),
        ({"n_origins": 0}, "n_origins"),
        ({"step": 2.5}, "step"),
        ({"max_factor": 1}, "max_factor"),
        (0.9, "must be None"),
    ],
)
def test_when_calibration_is_invalid_then_forecast_raises(tiny_pipeline, ohlcv_input, value, match):
    with pytest.raises(KronosInputError, match=match):
        tiny_pipeline.forecast(_frame(ohlcv_input, 0, 40), horizon=2, num_samples=2, calibration=value)


def test_config_round_trips_through_a_dict():
    cfg = CalibrationConfig(method="scale", n_origins=12, step=2, levels=(0.95, 0.5))
    assert cfg.levels == (0.5, 0.95)
    assert CalibrationConfig.coerce(cfg.to_dict()) == cfg
    assert CalibrationConfig.coerce("scale") == CalibrationConfig(method="scale")
    assert CalibrationConfig.coerce(None) is None


def test_short_contexts_warn_and_a_single_path_is_returned_as_is(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 0, 20)
    with pytest.warns(UserWarning, match="with fewer than 10 pseudo-forecast origins"):
        fc = tiny_pipeline.forecast(ctx, horizon=4, num_samples=4, seed=0, calibration="conformal")
    assert fc.calibration[0]["origins"] == list(range(16, 9, -1))  # min_context: half of the 20 bars
    raw = tiny_pipeline.forecast(ctx, horizon=4, num_samples=1, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = tiny_pipeline.forecast(ctx, horizon=4, num_samples=1, seed=0, calibration=FAST)
    np.testing.assert_array_equal(one.samples, raw.samples)


# ------------------------------------------------------------------------------------------------------------
# docs


def test_calibration_page_runs(monkeypatch, tmp_path):
    """Every ```python block of docs/calibration.md runs (on the tiny checkpoint when none is bundled)."""
    import kronos_plugins.pipeline as pipeline
    from kronos_plugins.checkpoints import BUNDLED_DIR

    tiny = REFERENCE / "tiny-learnte"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pipeline, "_LOADED", {})
    if not (BUNDLED_DIR / "bundle.json").is_file():
        monkeypatch.setattr(
            pipeline, "bundled_checkpoint", lambda *a, **k: (tiny / "model", tiny / "tokenizer", 128)
        )
    text = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)
    assert blocks
    namespace: dict = {"__name__": "__docs__"}
    for code in blocks:
        exec(compile(code, "docs/calibration.md", "exec"), namespace)


def test_origins_keep_the_forecasts_whole_window_when_the_context_has_room(tiny_pipeline, ohlcv_input):
    """Default `min_context`: the bars the forecast uses when K origins fit after them, else half of them."""
    kw = dict(num_samples=4, seed=0, lookback=24)
    config = {"method": "conformal", "n_origins": 5, "min_origins": 0}
    # 60 bars, horizon 4, window 24: 60 - 4 - 24 = 32 >= 4 -> origins at least 24 bars in, spaced 4 apart
    fc = tiny_pipeline.forecast(_frame(ohlcv_input, 0, 60), horizon=4, calibration=config, **kw)
    assert fc.calibration[0]["origins"] == [56, 52, 48, 44, 40]
    # horizon 20 leaves 60 - 20 - 24 = 16 >= 4 still: step min(16 // 4, 20) = 4, all origins >= 24
    fc = tiny_pipeline.forecast(_frame(ohlcv_input, 0, 60), horizon=20, calibration=config, **kw)
    assert fc.calibration[0]["origins"] == [40, 36, 32, 28, 24]
    # 30 bars: 30 - 4 - 24 = 2 < 4 -> half the window (12); step min((30 - 4 - 12) // 4, 4) = 3
    fc = tiny_pipeline.forecast(_frame(ohlcv_input, 0, 30), horizon=4, calibration=config, **kw)
    assert fc.calibration[0]["origins"] == [26, 23, 20, 17, 14]
