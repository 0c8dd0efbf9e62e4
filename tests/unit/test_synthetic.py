"""Synthetic futures: trajectories and repairs, fidelity statistics on data with known properties, backtests."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.cli import synth_main
from kronos_plugins.datasets.processes import garch_filter
from kronos_plugins.synthetic import (
    OHLCV,
    LookAheadError,
    MovingAverageCrossover,
    SyntheticRepairWarning,
    Trajectories,
    ZScoreMeanReversion,
    backtest,
    compare,
    discriminative_score,
    generate_trajectories,
    path_metrics,
    repair_ohlcv,
    sampling_sweep,
    strategy_returns,
)
from kronos_plugins.synthetic.fidelity import (
    autocorrelation,
    hill_tail_index,
    ks_distance,
    leverage_correlation,
    moments,
    volume_volatility_correlation,
)
from tests.conftest import REFERENCE

CHECKPOINT = REFERENCE / "tiny-learnte"


# ------------------------------------------------------------------------------------------------------------
# helpers: bars with known return properties
# ------------------------------------------------------------------------------------------------------------
def bars_from_returns(r: np.ndarray, volume: np.ndarray | None = None) -> np.ndarray:
    """Consistent candles (n_paths, T+1, 6) whose closes have log returns ``r`` (n_paths, T)."""
    r = np.atleast_2d(r)
    close = 100.0 * np.exp(np.concatenate([np.zeros((r.shape[0], 1)), np.cumsum(r, axis=1)], axis=1))
    open_ = np.concatenate([close[:, :1], close[:, :-1]], axis=1)
    high = np.maximum(open_, close) * 1.001
    low = np.minimum(open_, close) * 0.999
    vol = np.full_like(close, 1000.0) if volume is None else np.atleast_2d(volume)
    return np.stack([open_, high, low, close, vol, vol * close], axis=-1)


def garch(n_paths, T, rng, omega=1e-6, alpha=0.12, beta=0.85):
    """Gaussian GARCH(1,1) returns (n_paths, T) from the unconditional variance (shocks drawn bar by bar)."""
    z = rng.standard_normal((T, n_paths)).T
    return garch_filter(z, omega, alpha, beta, omega / (1 - alpha - beta))[0]


def _context(ohlcv_input, n=100):
    return ohlcv_input.iloc[:n].set_index("timestamps")


def _consistent(bars):
    o, h, lo, c, v, a = (bars[..., k] for k in range(6))
    return (
        (h >= np.maximum(o, c)).all()
        and (lo <= np.minimum(o, c)).all()
        and (lo > 0).all()
        and (v >= 0).all()
        and (a >= 0).all()
    )


# ------------------------------------------------------------------------------------------------------------
# trajectories
# ------------------------------------------------------------------------------------------------------------
def test_every_generated_bar_is_a_consistent_candle_and_repairs_are_counted(tiny_pipeline, ohlcv_input):
    # context 100 + 40 bars passes max_context 128: the pipeline slides its window
    with pytest.warns(SyntheticRepairWarning, match="repaired sampled bars"):
        traj = generate_trajectories(tiny_pipeline, _context(ohlcv_input), n_paths=6, length=40, seed=0)
    assert traj.bars.shape == (1, 6, 40, 6) and traj.bars.dtype == np.float64
    assert _consistent(traj.bars)
    # random weights emit inconsistent candles: the counts say how many, and they match the raw samples
    raw = tiny_pipeline.forecast(_context(ohlcv_input), horizon=40, num_samples=6, seed=0).samples
    o, h, lo, c = (raw[..., k] for k in range(4))
    assert traj.repairs["high_below_open_close"] == int((h < np.maximum(o, c)).sum()) > 0
    assert traj.repairs["low_above_open_close"] == int((lo > np.minimum(o, c)).sum()) > 0
    assert set(traj.repairs) == {
        "nonpositive_price",
        "high_below_open_close",
        "low_above_open_close",
        "negative_volume",
        "negative_amount",
    }
    np.testing.assert_array_equal(traj.column("close"), raw[..., 3])  # close is never touched by the repair
    assert traj.last_close[0] == _context(ohlcv_input)["close"].iloc[-1]


def test_repair_counts_each_violation_of_a_deliberately_inconsistent_array():
    bars = np.array(
        [
            [10.0, 12.0, 9.0, 11.0, 5.0, 50.0],  # fine
            [10.0, 9.5, 9.0, 11.0, 5.0, 50.0],  # high below close
            [10.0, 12.0, 10.5, 11.0, -1.0, 50.0],  # low above open, negative volume
            [-2.0, 12.0, 9.0, 11.0, 5.0, -3.0],  # non-positive open, negative amount
            [10.0, 9.0, 12.0, 11.0, 5.0, 50.0],  # low above high: both rules
        ]
    )
    fixed, counts, floored = repair_ohlcv(bars, price_floor=0.01)
    # row 3's low (9) lies above its floored open (0.01), so the low rule changes rows 2, 3 and 4
    assert counts == {
        "nonpositive_price": 1,
        "high_below_open_close": 2,
        "low_above_open_close": 3,
        "negative_volume": 1,
        "negative_amount": 1,
    }
    np.testing.assert_array_equal(floored, [False, False, False, True, False])
    np.testing.assert_array_equal(fixed[0], bars[0])
    np.testing.assert_array_equal(fixed[1], [10, 11, 9, 11, 5, 50])
    np.testing.assert_array_equal(fixed[2], [10, 12, 10, 11, 0, 50])
    np.testing.assert_array_equal(fixed[3], [0.01, 12, 0.01, 11, 5, 0])  # open floored, low follows it
    np.testing.assert_array_equal(fixed[4], [10, 11, 10, 11, 5, 50])
    assert _consistent(fixed)
    np.testing.assert_array_equal(bars[1], [10.0, 9.5, 9.0, 11.0, 5.0, 50.0])  # input untouched
    with pytest.raises(ValueError, match="inconsistent"):
        repair_ohlcv(bars, 0.01, mode="raise")
    with pytest.raises(ValueError, match="NaN or infinite"):
        repair_ohlcv(np.where(np.eye(5, 6) > 0, np.nan, bars), 0.01)
    with pytest.raises(ValueError, match="price_floor"):
        repair_ohlcv(bars, 0.0)


def test_repair_raise_mode_refuses_inconsistent_samples(tiny_pipeline, ohlcv_input):
    with pytest.raises(ValueError, match="repair='clip'"):
        generate_trajectories(
            tiny_pipeline, _context(ohlcv_input), n_paths=3, length=5, seed=0, repair="raise"
        )


def test_same_seed_same_trajectories_other_seed_other_ones(ohlcv_input):
    kw = dict(n_paths=4, length=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticRepairWarning)
        # the checkpoint as a directory argument resolves to the same weights as the fixture pipeline
        from kronos_plugins.synthetic import load_pipeline

        pipe = load_pipeline(CHECKPOINT, max_context=128)
        a = generate_trajectories(pipe, _context(ohlcv_input), seed=5, **kw)
        b = generate_trajectories(pipe, _context(ohlcv_input), seed=5, **kw)
        c = generate_trajectories(pipe, _context(ohlcv_input), seed=6, **kw)
    np.testing.assert_array_equal(a.bars, b.bars)
    assert a.repairs == b.repairs
    assert not np.allclose(a.bars, c.bars)


def test_trajectories_frame_paths_and_file_round_trip(tiny_pipeline, ohlcv_input, tmp_path):
    ctx = [_context(ohlcv_input, 60), _context(ohlcv_input, 80)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticRepairWarning)
        traj = generate_trajectories(tiny_pipeline, ctx, n_paths=3, length=5, seed=1, item_ids=["a", "b"])
    assert traj.paths("b").shape == (3, 5, 6)
    np.testing.assert_array_equal(traj.paths(1), traj.bars[1])
    frame = traj.to_frame()
    assert list(frame.columns) == [
        "asset",
        "path",
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "amount",
    ]
    assert len(frame) == 2 * 3 * 5
    row = frame[(frame.asset == "b") & (frame.path == 2)].iloc[4]
    assert row["close"] == traj.bars[1, 2, 4, 3] and row["timestamp"] == traj.timestamps[1][4]
    back = Trajectories.load(traj.save(tmp_path / "t.npz"))
    np.testing.assert_array_equal(back.bars, traj.bars)
    assert back.item_ids == ["a", "b"] and back.repairs == traj.repairs and back.settings["seed"] == 1
    assert back.timestamps[1].equals(traj.timestamps[1])
    with pytest.raises(KeyError, match="item ids"):
        traj.paths("c")


# ------------------------------------------------------------------------------------------------------------
# fidelity statistics on data with known properties
# ------------------------------------------------------------------------------------------------------------
def test_volatility_clustering_shows_in_garch_and_not_in_iid_returns():
    rng = np.random.default_rng(0)
    g = garch(40, 1000, rng)
    iid = 0.01 * rng.standard_normal((40, 1000))
    acf_g = autocorrelation(np.abs(g), 10)
    acf_i = autocorrelation(np.abs(iid), 10)
    assert acf_g[0] > 0.1 and (acf_g > 0.03).all()  # clustering: positive, slowly decaying
    assert np.abs(acf_i).max() < 0.03
    assert np.abs(autocorrelation(g, 10)).max() < 0.03  # returns themselves are uncorrelated
    # a single series gives the textbook estimator
    x = rng.standard_normal(500)
    d = x - x.mean()
    assert autocorrelation(x, 3)[2] == pytest.approx(np.sum(d[:-3] * d[3:]) / np.sum(d * d))


def test_hill_index_of_student_t3_is_near_3_and_normal_tails_are_thinner():
    rng = np.random.default_rng(1)
    assert 2.5 < hill_tail_index(rng.standard_t(3, 40_000)) < 3.5
    assert hill_tail_index(rng.standard_normal(40_000)) > 5


def test_moments_and_ks_distance_on_known_samples():
    rng = np.random.default_rng(2)
    m = moments(rng.standard_t(5, 200_000))
    assert abs(m["mean"]) < 0.01 and m["std"] == pytest.approx(np.sqrt(5 / 3), rel=0.02)
    # t(5): excess kurtosis 6, but its estimator has no finite variance (t(5) lacks an 8th moment) and is
    # skewed: over 300 samples of 200,000 draws it ranged from 3.73 to 36.8 (median 4.85), so only a lower
    # bound is sound for t(5)...
    assert abs(m["skew"]) < 0.1 and m["excess_kurtosis"] > 3.5
    # ...and a two-sided one needs finite moments: Laplace, excess kurtosis 3, whose estimator at 200,000
    # draws has a standard deviation of 0.071 (200 samples): +-0.3 is about 4 standard deviations.
    assert moments(rng.laplace(0.0, 1.0, 200_000))["excess_kurtosis"] == pytest.approx(3.0, abs=0.3)
    assert moments([1.0, 2.0, 3.0]) == pytest.approx(
        {"mean": 2.0, "std": 1.0, "skew": 0.0, "excess_kurtosis": -1.5}
    )
    a = rng.standard_normal(2000)
    assert ks_distance(a, a) == 0.0
    assert ks_distance(a, a + 100) == 1.0
    assert ks_distance([1, 2, 3, 4], [3, 4, 5, 6]) == 0.5


def test_leverage_effect_is_negative_for_a_leverage_process_and_zero_for_iid():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((40, 1001))
    sigma = 0.01 * np.exp(-0.5 * z[:, :-1])  # a fall today raises tomorrow's volatility
    r = sigma * z[:, 1:]
    lev = leverage_correlation(r, 5)
    assert lev[0] < -0.2 and np.abs(lev[1:]).max() < 0.05  # only lag 1 carries the effect here
    assert np.abs(leverage_correlation(0.01 * z, 5)).max() < 0.03


def test_volume_volatility_correlation():
    rng = np.random.default_rng(4)
    r = 0.01 * rng.standard_normal((10, 500))
    v_linked = np.concatenate([np.ones((10, 1)), 1000 * (1 + 50 * np.abs(r))], axis=1)
    v_random = rng.lognormal(7, 1, (10, 501))
    assert volume_volatility_correlation(r, v_linked) == pytest.approx(1.0)
    assert abs(volume_volatility_correlation(r, v_random)) < 0.05
    assert np.isnan(volume_volatility_correlation(r, np.zeros((10, 501))))  # no volume


def test_discriminator_is_at_chance_on_one_distribution_and_perfect_on_very_different_ones():
    rng = np.random.default_rng(5)
    real = bars_from_returns(0.01 * rng.standard_normal(4000))[0]  # 200 windows of 20 bars
    same = bars_from_returns(0.01 * rng.standard_normal((40, 200)))
    other = bars_from_returns(0.04 * rng.standard_normal((40, 200)))
    chance = discriminative_score(real, same, window=20, seed=0)
    assert chance.n_windows == 200 and chance.folds == 5
    assert 0.35 < chance.accuracy < 0.65
    assert discriminative_score(real, other, window=20, seed=0).accuracy > 0.95
    with pytest.warns(UserWarning, match="too few windows"):
        assert np.isnan(discriminative_score(real[:50], same, window=20).accuracy)


def test_discriminator_on_a_feature_subset_finds_which_difference_gives_the_synthetic_windows_away():
    rng = np.random.default_rng(7)
    real = bars_from_returns(0.01 * rng.standard_normal(4000))[0]
    long_wicks = bars_from_returns(0.01 * rng.standard_normal((40, 200)))  # same closes' law ...
    mid = (long_wicks[..., 0] + long_wicks[..., 3]) / 2
    long_wicks[..., 1] += 0.02 * mid  # ... wicks 2 % of the price long: small bodies, wide ranges
    long_wicks[..., 2] -= 0.02 * mid
    assert discriminative_score(real, long_wicks, seed=0).accuracy > 0.95
    assert discriminative_score(real, long_wicks, seed=0, features=["mean_body"]).accuracy > 0.95
    returns_only = discriminative_score(real, long_wicks, seed=0, features=["mean_r", "std_r", "kurt_r"])
    assert 0.35 < returns_only.accuracy < 0.65 and returns_only.n_windows == 200
    with pytest.raises(ValueError, match="unknown: \\['body'\\]"):
        discriminative_score(real, long_wicks, features=["body"])
    with pytest.raises(ValueError, match="non-empty"):
        discriminative_score(real, long_wicks, features=[])


def test_compare_puts_every_statistic_in_one_result():
    rng = np.random.default_rng(6)
    real = pd.DataFrame(
        bars_from_returns(garch(1, 2000, rng))[0],
        columns=["open", "high", "low", "close", "volume", "amount"],
    )
    syn = bars_from_returns(garch(20, 200, rng))
    res = compare(real, syn, max_lag=10, window=20)
    assert list(res.stats.columns) == ["real", "synthetic"]
    assert res.stats.loc["n_returns", "real"] == 2000 and res.stats.loc["n_returns", "synthetic"] == 20 * 200
    assert res.stats.loc["ks_distance", "synthetic"] < 0.1  # same process
    assert res.acf.shape == (10, 4) and (res.acf.loc[1, ["real_abs_r", "synthetic_abs_r"]] > 0.05).all()
    assert res.leverage.shape == (10, 2)
    assert res.real_returns.shape == (1, 2000) and res.synthetic_returns.shape == (20, 200)


def test_sampling_sweep_reports_one_row_per_setting(tiny_pipeline, ohlcv_input):
    ctx, real = _context(ohlcv_input, 100), ohlcv_input.iloc[100:300].set_index("timestamps")
    sweep = sampling_sweep(
        tiny_pipeline, ctx, real, temperatures=(0.1, 1.0), top_ps=(1.0,), n_paths=16, length=20, window=5
    )
    assert list(sweep[["temperature", "top_p"]].itertuples(index=False, name=None)) == [
        (0.1, 1.0),
        (1.0, 1.0),
    ]
    assert (sweep["vol_ratio"] > 0).all()
    assert sweep[["exploding_fraction", "degenerate_fraction"]].stack().between(0, 1).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_higher_temperature_spreads_the_paths_wider(tiny_pipeline, ohlcv_input, seed):
    """Temperature flattens the token distribution, so the paths spread wider. On the tiny checkpoint and this
    context, the sweep's volatility ratio at temperature 1.0 was 3.6 to 9.3 times that at 0.1 over seeds 0-7
    (16 paths of 20 bars); twice is the margin asserted for every seed."""
    ctx, real = _context(ohlcv_input, 100), ohlcv_input.iloc[100:300].set_index("timestamps")
    sweep = sampling_sweep(
        tiny_pipeline,
        ctx,
        real,
        temperatures=(0.1, 1.0),
        top_ps=(1.0,),
        n_paths=16,
        length=20,
        window=5,
        seed=seed,
    )
    cold, warm = sweep["vol_ratio"].to_numpy()
    assert warm > 2.0 * cold, (cold, warm)


# ------------------------------------------------------------------------------------------------------------
# backtest
# ------------------------------------------------------------------------------------------------------------
def _fixed(positions):
    """A strategy holding given positions (a scalar, or one per bar: the first T of them for T bars)."""

    def strategy(bars: OHLCV):
        p = np.asarray(positions, dtype=float)
        p = p[: bars.close.shape[1]] if p.ndim else p
        return np.broadcast_to(p, bars.close.shape).copy()

    return strategy


def test_backtest_pnl_matches_a_hand_computed_case_with_costs():
    close = np.array([100.0, 110.0, 99.0, 99.0])
    bars = bars_from_returns(np.diff(np.log(close)))  # closes 100, 110, 99, 99
    res = backtest(_fixed([1.0, -1.0, 0.5, 0.0]), bars[0], bars, cost_bps=10, periods_per_year=252)
    # period 0->1: long 1 earns +10 %, entering from flat costs 0.1 % x 1          -> 0.099
    # period 1->2: short 1 earns -(-10 %) = +10 %, flipping costs 0.1 % x 2        -> 0.098
    # period 2->3: half long earns 0 %, cutting from -1 to 0.5 costs 0.1 % x 1.5   -> -0.0015
    # the last bar's position (0) earns nothing and is not traded
    expected = np.array([0.099, 0.098, -0.0015])
    np.testing.assert_allclose(res.returns[0], expected, atol=1e-12)
    np.testing.assert_allclose(res.real_returns, expected, atol=1e-12)
    assert res.real["total_return"] == pytest.approx(1.099 * 1.098 * 0.9985 - 1)  # = 0.204891947
    assert res.real["total_return"] == pytest.approx(0.204891947, abs=1e-9)
    assert res.real["max_drawdown"] == pytest.approx(0.0015)  # peak 1.206702 -> 1.204891947
    assert res.real["sharpe"] == pytest.approx(expected.mean() / expected.std(ddof=1) * np.sqrt(252))
    assert res.real["sharpe"] == pytest.approx(17.917, abs=1e-3)
    # the same numbers without the strategy machinery
    np.testing.assert_allclose(
        strategy_returns(np.array([[1.0, -1.0, 0.5, 0.0]]), close[None], 10)[0], expected
    )


def test_backtest_with_context_starts_at_the_last_context_close():
    ctx = bars_from_returns(np.zeros(4))[0]  # closes 100 x 5
    path = bars_from_returns(np.log([1.1, 1.1]))[0][1:]  # closes 110, 121 after the context
    res = backtest(_fixed(1.0), None, path[None], context=ctx)
    np.testing.assert_allclose(res.returns[0], [0.1, 0.1])  # 100 -> 110 -> 121, always long
    assert res.metrics["total_return"].iloc[0] == pytest.approx(0.21)


def test_drawdown_sharpe_var_cvar_and_percentile_rank():
    m = path_metrics(np.array([[0.1, -0.5, 0.2], [0.0, 0.0, 0.0]]), periods_per_year=1)
    assert m["max_drawdown"][0] == pytest.approx(0.5) and m["total_return"][0] == pytest.approx(
        1.1 * 0.5 * 1.2 - 1
    )
    assert m["sharpe"][1] == 0.0  # never traded
    # 100 two-bar paths whose always-long total returns are -0.50, -0.49, ..., 0.49
    x = -0.5 + 0.01 * np.arange(100)
    paths = bars_from_returns(np.log1p(x)[:, None])
    real = bars_from_returns(np.log1p([[0.205]]))[0]
    res = backtest(_fixed(1.0), real, paths, alpha=0.05)
    np.testing.assert_allclose(np.sort(res.metrics["total_return"]), x, atol=1e-12)
    assert res.var == pytest.approx(0.4505)  # -quantile: 4.95 of the way along the sorted returns
    assert res.cvar == pytest.approx(0.48)  # -mean of -0.50 .. -0.46
    summary = res.summary()
    assert summary.loc["total_return", "real_percentile"] == pytest.approx(71.0)  # -0.50 .. 0.20 are below
    assert list(res.risk().index) == ["VaR 5%", "CVaR 5%"]


@pytest.mark.parametrize(
    "strategy", [MovingAverageCrossover(5, 20), ZScoreMeanReversion(10, 0.8)], ids=lambda s: s.name
)
def test_positions_up_to_t_do_not_depend_on_prices_after_t(strategy):
    rng = np.random.default_rng(7)
    bars = bars_from_returns(0.02 * rng.standard_normal((30, 99)))
    pos = strategy(OHLCV.from_bars(bars))
    assert pos.shape == (30, 100) and np.abs(pos).max() == 1.0 and set(np.unique(pos)) <= {-1.0, 0.0, 1.0}
    for t in (0, 19, 20, 50, 98):
        changed = bars.copy()
        changed[:, t + 1 :] *= rng.uniform(0.5, 2.0, (30, 99 - t, 1))  # rewrite the future
        np.testing.assert_array_equal(strategy(OHLCV.from_bars(changed))[:, : t + 1], pos[:, : t + 1])
    backtest(strategy, bars[0], bars)  # passes the run-time check


def test_backtest_rejects_a_strategy_that_peeks_at_the_next_close():
    def peek(bars: OHLCV):
        nxt = np.sign(np.diff(bars.close, axis=1))
        return np.concatenate([nxt, np.zeros((nxt.shape[0], 1))], axis=1)

    bars = bars_from_returns(0.01 * np.random.default_rng(8).standard_normal((5, 60)))
    with pytest.raises(LookAheadError, match="looks ahead"):
        backtest(peek, None, bars)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        backtest(_fixed(2.0), None, bars)


def test_example_strategies_on_simple_series():
    up = np.arange(1.0, 41.0)[None]
    bars = OHLCV(up, up, up, up, up, up)
    ma = MovingAverageCrossover(3, 10)(bars)
    np.testing.assert_array_equal(ma[0, :9], 0)  # warm-up: flat
    np.testing.assert_array_equal(ma[0, 9:], 1)  # rising: fast above slow
    np.testing.assert_array_equal(
        MovingAverageCrossover(3, 10, long_only=True)(bars._replace(close=up[:, ::-1])), 0
    )
    spike = np.full((1, 30), 50.0)
    spike[0, -1], spike[0, -2] = 60.0, 40.0
    z = ZScoreMeanReversion(10, 1.0)(bars._replace(close=spike))
    np.testing.assert_array_equal(z[0], [0] * 28 + [1, -1])  # flat window -> 0; dip -> long; spike -> short


# ------------------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------------------
def test_cli_generate_report_backtest(tmp_path, ohlcv_input):
    csv = REFERENCE / "ohlcv_input.csv"
    common = [
        "--csv",
        str(csv),
        "--context-rows",
        "100",
        "--checkpoint",
        str(CHECKPOINT),
        "--max-context",
        "128",
    ]
    npz = tmp_path / "traj.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticRepairWarning)
        assert (
            synth_main(
                ["generate", *common, "--paths", "8", "--length", "40", "--seed", "3", "--out", str(npz)]
            )
            == 0
        )
        assert (
            synth_main(
                ["generate", *common, "--paths", "2", "--length", "5", "--out", str(tmp_path / "t.csv")]
            )
            == 0
        )
        traj = Trajectories.load(npz)
        assert traj.bars.shape == (1, 8, 40, 6) and traj.settings["csv"] == str(csv)
        assert len(pd.read_csv(tmp_path / "t.csv")) == 10
        assert (
            synth_main(
                [
                    "report",
                    "--trajectories",
                    str(npz),
                    "--window",
                    "5",
                    "--max-lag",
                    "5",
                    "--sweep",
                    "--temperatures",
                    "0.5,1.5",
                    "--top-ps",
                    "1.0",
                    "--sweep-paths",
                    "4",
                    *common[4:],
                    "--out",
                    str(tmp_path / "rep"),
                ]
            )
            == 0
        )
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "discriminative_accuracy" in report and "Sampling sweep" in report
    for png in ("returns_hist.png", "acf.png", "leverage.png", "fan.png", "sweep.png"):
        assert (tmp_path / "rep" / png).stat().st_size > 1000
    assert (
        synth_main(
            [
                "backtest",
                "--trajectories",
                str(npz),
                "--strategy",
                "ma-crossover",
                "--fast",
                "3",
                "--slow",
                "8",
                "--warmup",
                "20",
                "--out",
                str(tmp_path / "bt"),
            ]
        )
        == 0
    )
    summary = pd.read_csv(tmp_path / "bt" / "summary.csv", index_col=0)
    assert list(summary.index) == ["total_return", "sharpe", "max_drawdown"]
    assert len(pd.read_csv(tmp_path / "bt" / "metrics.csv")) == 8
    assert (tmp_path / "bt" / "backtest.png").exists()
    # usage errors exit with 2 and a message
    assert synth_main(["generate", "--csv", str(csv), "--paths", "2", "--out", str(tmp_path / "x.npz")]) == 2
