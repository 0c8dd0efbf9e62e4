"""The synthetic-market corpus: stylized facts, candle consistency, calendars, reproducibility and errors.

Each stylized fact is measured with the project's fidelity statistics (`kronos_plugins.synthetic.fidelity`)
over a pooled sample of tens of series x 1,500-2,000 bars (50k-130k returns). Returns are standardised per
series before pooling (series differ in scale by 4x and more, which would otherwise inflate the pooled
kurtosis and let a few volatile series dominate the correlations).

How the bounds were chosen: every statistic was computed for the seeds 0..19 of the same sample
(``_facts(seed)`` below; the figures are in the comment of each test: min / mean / max over the 20 seeds), and
each bound sits well outside the worst of the 20 seeds while still excluding what the fact rules out (a
Gaussian i.i.d. series has excess kurtosis 0, |r| autocorrelation 0, leverage 0, and so on).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.datasets.synthetic_market import (
    CALENDARS,
    PROCESSES,
    SyntheticMarketBatch,
    SyntheticMarketConfig,
    generate_market,
    generate_market_arrays,
    iter_market,
)
from kronos_plugins.synthetic.fidelity import (
    autocorrelation,
    leverage_correlation,
    moments,
    volume_volatility_correlation,
)
from kronos_plugins.validation import prepare_context

LEVERAGE = SyntheticMarketConfig(process_weights={"gjr": 1, "egarch": 1, "sv_jump": 1})
SYMMETRIC = SyntheticMarketConfig(process_weights={"garch": 1})


# ------------------------------------------------------------------------------------------------------------
# Helpers (also used to calibrate the bounds over 20 seeds)
# ------------------------------------------------------------------------------------------------------------
def _returns(batch: SyntheticMarketBatch, *, in_session: bool = False) -> np.ndarray:
    """Log close-to-close returns (n, T - 1), standardised per series; with ``in_session`` the returns of the
    bars that open a session (overnight / weekend / lunch moves) are set to 0 before standardising."""
    r = np.diff(np.log(batch.bars[..., 3]), axis=1)
    if in_session:
        r = np.where(batch.session_start[:, 1:], 0.0, r)
    r = r - r.mean(axis=1, keepdims=True)
    return r / r.std(axis=1, keepdims=True)


def _mean_volume_corr(batch: SyntheticMarketBatch) -> float:
    """Spearman(|r_t|, volume_t) per series, averaged (volume levels differ by orders of magnitude)."""
    r = np.diff(np.log(batch.bars[..., 3]), axis=1)
    return float(
        np.mean([volume_volatility_correlation(r[i], batch.bars[i, :, 4]) for i in range(len(batch))])
    )


def _facts(seed: int) -> dict[str, np.ndarray]:
    daily = generate_market_arrays(64, 1500, freq="equity_1d", seed=seed)
    hourly = generate_market_arrays(32, 2000, freq=["fx_1h", "crypto_1h"], seed=seed)
    lev = generate_market_arrays(64, 2000, freq="equity_1d", seed=seed, config=LEVERAGE)
    sym = generate_market_arrays(64, 2000, freq="equity_1d", seed=seed, config=SYMMETRIC)
    minute = generate_market_arrays(32, 2000, freq="us_equity_1min", seed=seed)
    rd, rh = _returns(daily), _returns(hourly)
    rm = _returns(minute, in_session=True)
    return {
        "kurt_daily": moments(rd)["excess_kurtosis"],
        "kurt_hourly": moments(rh)["excess_kurtosis"],
        "kurt_minute": moments(rm)["excess_kurtosis"],
        "acf_abs_daily": autocorrelation(np.abs(rd), 10),
        "acf_abs_crypto": autocorrelation(np.abs(rh[np.array(hourly.calendars) == "crypto_1h"]), 10),
        "lev_leverage": leverage_correlation(_returns(lev), 5),
        "lev_symmetric": leverage_correlation(_returns(sym), 5),
        "acf_r_daily": autocorrelation(rd, 10),
        "acf_r_hourly": autocorrelation(rh, 10),
        "acf_r1_minute": autocorrelation(rm, 1),
        "volvol_daily": _mean_volume_corr(daily),
        "volvol_minute": _mean_volume_corr(minute),
    }


@pytest.fixture(scope="module")
def facts() -> dict[str, np.ndarray]:
    return _facts(0)


# ------------------------------------------------------------------------------------------------------------
# Stylized facts
# ------------------------------------------------------------------------------------------------------------
def test_heavy_tails(facts):
    # excess kurtosis of the pooled standardised returns, 20 seeds (min / mean / max): daily 7.4 / 10.3 / 15.6,
    # hourly 9.2 / 14.1 / 20.9, 1min in-session 9.3 / 14.2 / 26.1; Gaussian returns give 0 (standard error
    # ~0.02 at these sizes). The sampling spread is skewed upwards, so the bounds sit ~2/3 of the lowest seed.
    # Real corpus (medians): 1d 13.8 over long series (indices 6.0), 1h FX in-session 10, 1min in-session 18.
    assert facts["kurt_daily"] > 5.0
    assert facts["kurt_hourly"] > 6.0
    assert facts["kurt_minute"] > 6.0


def test_volatility_clustering(facts):
    # |r| autocorrelation at lags 1..10, 20 seeds: daily min over lags and seeds 0.092, lag 1 0.16-0.21;
    # crypto 1h min 0.048 (lag 1 0.12-0.23). Without clustering each is 0 +- ~0.005 (1 / sqrt(n returns)).
    # Real (medians): 1d lag 1 0.24 over long series, 1h FX 0.16, 1min 0.25.
    assert (facts["acf_abs_daily"] > 0.05).all(), facts["acf_abs_daily"]
    assert (facts["acf_abs_crypto"] > 0.02).all(), facts["acf_abs_crypto"]
    assert facts["acf_abs_daily"][0] > 0.1
    assert facts["acf_abs_daily"][0] > facts["acf_abs_daily"][-1]  # decays


def test_leverage(facts):
    # corr(r_t, |r_{t+k}|), k = 1..5, GJR / EGARCH / SV (85 % of daily series with the usual sign), 20 seeds:
    # -0.059 / -0.040 / -0.024 over lags and seeds; symmetric GARCH: |corr| <= 0.013 (standard error ~0.004).
    # Real: daily indices -0.10, equities -0.036 (median), FX ~0.
    assert (facts["lev_leverage"] < -0.01).all(), facts["lev_leverage"]
    assert facts["lev_leverage"].mean() < -0.02
    assert (np.abs(facts["lev_symmetric"]) < 0.025).all(), facts["lev_symmetric"]


def test_no_linear_autocorrelation(facts):
    # return autocorrelation, lags 1..10, daily and hourly (FX + crypto), 20 seeds: max |acf| 0.011 (daily),
    # 0.015 (hourly); trends and mean reversion leave little, microstructure noise is small at these bars. The
    # bound, 0.03, is twice the worst seed (real 1d lag 1: -0.05 median over long series, 1h FX -0.014).
    assert (np.abs(facts["acf_r_daily"]) < 0.03).all(), facts["acf_r_daily"]
    assert (np.abs(facts["acf_r_hourly"]) < 0.03).all(), facts["acf_r_hourly"]


def test_intraday_noise_gives_negative_lag1():
    # 1min in-session lag-1 return autocorrelation, 20 seeds: -0.081 / -0.062 / -0.043 (real SPY 1min -0.024,
    # ES 1min -0.12); without microstructure noise: |acf| <= 0.013. Standard error ~0.004.
    acf1 = autocorrelation(_returns(_minute(0), in_session=True), 1)[0]
    assert acf1 < -0.02
    quiet = generate_market_arrays(
        32, 2000, freq="us_equity_1min", seed=0, config=SyntheticMarketConfig(microstructure_noise=False)
    )
    assert abs(autocorrelation(_returns(quiet, in_session=True), 1)[0]) < 0.025


def test_volume_volatility_correlation(facts):
    # per-series Spearman(|r_t|, volume_t), averaged, 20 seeds: daily 0.35 / 0.37 / 0.40, 1min 0.28 / 0.32 /
    # 0.35 (real medians: 1d 0.30, 1h FX 0.43, 1min 0.45); 0 for volume unrelated to the moves.
    assert facts["volvol_daily"] > 0.2
    assert facts["volvol_minute"] > 0.2


def _minute(seed: int) -> SyntheticMarketBatch:
    return generate_market_arrays(32, 2000, freq="us_equity_1min", seed=seed)


def test_session_gaps_carry_the_overnight_move():
    batch = _minute(0)
    r = np.diff(np.log(batch.bars[..., 3]), axis=1)
    gap = batch.session_start[:, 1:]
    rms_gap = np.sqrt(np.mean(r[gap] ** 2) / np.mean(r[~gap] ** 2))
    # overnight variance is 0.15-0.6 session-days, i.e. 58-234 one-minute bars; 20 seeds: rms ratio 7.5 / 11.4 /
    # 18.4, median |open - previous close| ratio 20 / 29 / 40; without gaps the rms ratio is 1.2 / 1.6 / 2.7
    # (only the U-shape's open bump)
    assert rms_gap > 5.0
    o, c = batch.bars[..., 0], batch.bars[..., 3]
    jump = np.abs(np.log(o[:, 1:] / c[:, :-1]))  # open against the previous close
    assert np.median(jump[gap]) > 5 * np.median(jump[~gap])
    flat = generate_market_arrays(
        32, 2000, freq="us_equity_1min", seed=0, config=SyntheticMarketConfig(session_gaps=False)
    )
    r = np.diff(np.log(flat.bars[..., 3]), axis=1)
    gap = flat.session_start[:, 1:]
    assert np.sqrt(np.mean(r[gap] ** 2) / np.mean(r[~gap] ** 2)) < 4.0


def test_intraday_u_shape():
    batch = generate_market_arrays(32, 3900, freq="us_equity_5min", seed=0)
    r = np.abs(np.diff(np.log(batch.bars[..., 3]), axis=1))
    r = r / np.median(r, axis=1, keepdims=True)
    t = pd.DatetimeIndex(batch.timestamps[:, 1:].ravel())
    minutes = (t.hour * 60 + t.minute).to_numpy().reshape(r.shape)
    inside = ~batch.session_start[:, 1:]
    early = inside & (minutes < 10 * 60)
    middle = inside & (minutes >= 12 * 60) & (minutes < 14 * 60)
    vol = batch.bars[:, 1:, 4] / np.median(batch.bars[:, 1:, 4], axis=1, keepdims=True)
    # first half hour / 12:00-14:00, 20 seeds: return rms 1.41 / 1.52 / 1.80, volume 1.88 / 2.00 / 2.29 (real SPY
    # 1min, first 5 % of the session / middle: 1.49 and 2.17); without seasonality both are ~1
    assert np.sqrt(np.mean(r[early] ** 2) / np.mean(r[middle] ** 2)) > 1.2
    assert np.mean(vol[early]) / np.mean(vol[middle]) > 1.5


# ------------------------------------------------------------------------------------------------------------
# Candles and schema
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed() -> list[pd.DataFrame]:
    return generate_market(40, 600, seed=3)


def test_bars_are_positive_and_consistent(mixed):
    for frame in mixed:
        o, h, lo, c, v, a = (
            frame[k].to_numpy() for k in ("open", "high", "low", "close", "volume", "amount")
        )
        assert np.isfinite(frame.to_numpy()).all()
        assert (lo > 0).all()
        assert (h >= np.maximum(o, c)).all() and (lo <= np.minimum(o, c)).all()
        assert (v > 0).all()
        np.testing.assert_allclose(a, v * (o + h + lo + c) / 4, rtol=1e-12)
        prepare_context(frame, name=frame.attrs["asset_id"], min_length=1)


def test_candle_range_matches_a_brownian_bridge():
    # daily bars have no microstructure noise: mean log(high/low) over mean |log(close/open)| is ~2 for a
    # Brownian path (real daily series: 2.0 median); 20 seeds: 2.01 / 2.04 / 2.06
    batch = generate_market_arrays(32, 1500, freq="equity_1d", seed=0)
    o, h, lo, c = (batch.bars[..., k] for k in range(4))
    ratio = np.mean(np.log(h / lo)) / np.mean(np.abs(np.log(c / o)))
    assert 1.9 < ratio < 2.2


def test_frame_schema(mixed):
    for i, frame in enumerate(mixed):
        assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.tz is None
        assert (
            frame.index.name == "timestamps" and frame.index.is_monotonic_increasing and frame.index.is_unique
        )
        assert list(frame.columns) == ["open", "high", "low", "close", "volume", "amount"]
        assert (frame.dtypes == np.float64).all()
        attrs = frame.attrs
        assert attrs["asset_id"] == f"synthetic/{attrs['process']}-{i}"
        assert attrs["asset_class"] == "synthetic" and attrs["synthetic"] is True
        assert attrs["process"] in PROCESSES
        assert attrs["freq"] == CALENDARS[attrs["calendar"]].freq
        assert attrs["params"] and all(isinstance(v, float) for v in attrs["params"].values())
    assert len({f.attrs["calendar"] for f in mixed}) >= 6  # the default mix covers the calendars


# ------------------------------------------------------------------------------------------------------------
# Calendars
# ------------------------------------------------------------------------------------------------------------
def _index(freq: str, n_series: int = 6, n_bars: int = 3000, seed: int = 0) -> pd.DatetimeIndex:
    frames = generate_market(n_series, n_bars, freq=freq, seed=seed)
    assert all(f.attrs["calendar"] == freq for f in frames)
    return pd.DatetimeIndex(np.concatenate([f.index.to_numpy() for f in frames]))


def test_daily_calendar_skips_weekends_and_holidays():
    t = _index("equity_1d", n_bars=2000)
    assert (t.weekday < 5).all() and (t.normalize() == t).all()
    dates = set(t.date)
    for year in range(2001, 2024):
        for day in (dt.date(year, 12, 25), dt.date(year, 7, 4), dt.date(year, 1, 1)):
            assert day not in dates
    assert dt.date(2019, 4, 19) not in dates  # Good Friday
    assert dt.date(2019, 11, 28) not in dates  # Thanksgiving


@pytest.mark.parametrize("step", [1, 5, 30])
def test_us_equity_session(step):
    t = _index(f"us_equity_{step}min")
    minutes = t.hour * 60 + t.minute
    assert (t.weekday < 5).all()
    assert minutes.min() >= 9 * 60 + 30 and minutes.max() <= 16 * 60 - step
    assert (minutes % step == 0).all() or step == 30
    assert len(np.unique(minutes)) == 390 // step


@pytest.mark.parametrize("step", [1, 5, 30])
def test_chinese_session_has_a_lunch_break(step):
    t = _index(f"cn_equity_{step}min")
    minutes = t.hour * 60 + t.minute
    assert (t.weekday < 5).all()
    morning = (minutes >= 9 * 60 + 30) & (minutes < 11 * 60 + 30)
    afternoon = (minutes >= 13 * 60) & (minutes < 15 * 60)
    assert (morning | afternoon).all() and morning.any() and afternoon.any()
    assert len(np.unique(minutes)) == 240 // step


def test_fx_calendar_is_24x5():
    t = _index("fx_1h")
    wd, hour = t.weekday, t.hour
    assert (wd != 5).all()  # nothing on Saturday
    assert (hour[wd == 6] >= 22).all() and (wd == 6).any()  # the week opens Sunday 22:00
    assert (hour[wd == 4] <= 21).all()  # and closes Friday 22:00
    steps = pd.Series(t[:3000]).diff().dropna().value_counts()
    assert set(steps.index) <= {pd.Timedelta("1h"), pd.Timedelta("2 days 1h")}


@pytest.mark.parametrize("freq, step", [("crypto_1h", "1h"), ("crypto_30min", "30min")])
def test_crypto_is_24x7(freq, step):
    frames = generate_market(4, 3000, freq=freq, seed=0)
    for frame in frames:
        assert (frame.index.to_series().diff().dropna() == pd.Timedelta(step)).all()
        assert frame.attrs["freq"] == step
    assert (pd.DatetimeIndex(frames[0].index).weekday >= 5).any()


def test_bar_length_selects_the_calendars_of_that_length():
    frames = generate_market(30, 50, freq="1h", seed=0)
    assert {f.attrs["calendar"] for f in frames} == {"fx_1h", "crypto_1h"}
    assert {f.attrs["freq"] for f in frames} == {"1h"}
    frames = generate_market(30, 50, freq="5min", seed=0)
    assert {f.attrs["calendar"] for f in frames} == {"us_equity_5min", "cn_equity_5min"}


# ------------------------------------------------------------------------------------------------------------
# Reproducibility, batches, errors
# ------------------------------------------------------------------------------------------------------------
def test_same_seed_is_bitwise_identical_and_seeds_differ():
    a = generate_market_arrays(12, 400, seed=7)
    b = generate_market_arrays(12, 400, seed=7)
    c = generate_market_arrays(12, 400, seed=8)
    assert a.bars.tobytes() == b.bars.tobytes()
    assert a.timestamps.tobytes() == b.timestamps.tobytes()
    assert a.params == b.params and a.calendars == b.calendars and a.processes == b.processes
    assert not np.array_equal(a.bars, c.bars)
    fa, fb = generate_market(3, 100, seed=7), generate_market(3, 100, seed=7)
    for x, y in zip(fa, fb, strict=True):
        pd.testing.assert_frame_equal(x, y)
        assert x.attrs == y.attrs


def test_iter_market_is_reproducible_with_unique_ids():
    first = list(iter_market(4, 100, seed=1, n_batches=3))
    again = list(iter_market(4, 100, seed=1, n_batches=3))
    assert len(first) == 3
    assert all(x.bars.tobytes() == y.bars.tobytes() for x, y in zip(first, again, strict=True))
    ids = [i for batch in first for i in batch.asset_ids]
    assert len(set(ids)) == 12
    assert not np.array_equal(first[0].bars, first[1].bars)


def test_config_is_frozen_and_validated():
    config = SyntheticMarketConfig(process_weights={"gjr": 2.0})
    assert dict(config.process_weights) == {"gjr": 2.0}
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.substeps = 3  # type: ignore[misc]
    frames = generate_market(5, 50, seed=0, config=config)
    assert {f.attrs["process"] for f in frames} == {"gjr"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_bars": 1}, "n_bars"),
        ({"n_bars": 10.5}, "n_bars"),
        ({"n_series": 0}, "n_series"),
        ({"freq": "2h"}, "unknown `freq` '2h'"),
        ({"freq": 5}, "freq"),
        ({"seed": 1.5}, "seed"),
        ({"seed": "1"}, "seed"),
        ({"seed": -1}, "seed"),
        ({"seed": True}, "seed"),
        ({"config": {"process_weights": {"garch": 1}}}, "config"),
        ({"freq": "equity_1d", "n_bars": 10**6}, "longer than the equity_1d calendar"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"n_series": 2, "n_bars": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        generate_market(args.pop("n_series"), args.pop("n_bars"), **args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"process_weights": {"garch": -1.0, "gjr": 1.0}}, r"process_weights\['garch'\].*>= 0"),
        ({"process_weights": {"heston": 1.0}}, "unknown name 'heston'"),
        ({"process_weights": {"garch": 0.0}}, "at least one positive weight"),
        ({"calendar_weights": {"fx_1h": float("nan")}}, "calendar_weights"),
        ({"calendar_weights": {"nyse_1d": 1.0}}, "unknown name 'nyse_1d'"),
        ({"drift_weights": {"trend": -0.5}}, "drift_weights"),
        ({"substeps": 0}, "substeps"),
        ({"seasonality": "yes"}, "seasonality"),
        ({"start_range": ("2020-01-01", "2010-01-01")}, "start_range"),
        ({"price_range": (0.0, 10.0)}, "price_range"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticMarketConfig(**kwargs)
