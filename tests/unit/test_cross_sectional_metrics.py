"""Cross-sectional metrics and portfolios against hand-computed cases (issue 18)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.benchmark.cross_sectional.metrics import (
    default_nw_lags,
    ic_by_date,
    newey_west_t,
    pearson,
    spearman,
    summarise_ic,
)
from kronos_plugins.benchmark.cross_sectional.portfolios import (
    Costs,
    backtest,
    max_drawdown,
    portfolio_stats,
    target_weights,
)
from kronos_plugins.benchmark.cross_sectional.report import primary_signals
from kronos_plugins.benchmark.cross_sectional.signals import Momentum, path_signals


def _long(values: np.ndarray, returns: np.ndarray, signal: str = "s") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(dates x assets) arrays -> the long tables the metrics take."""
    dates = pd.bdate_range("2021-01-04", periods=values.shape[0])
    assets = [f"a{j}" for j in range(values.shape[1])]
    idx = pd.MultiIndex.from_product([dates, assets], names=["date", "asset"])
    sig = pd.DataFrame({"value": values.ravel()}, index=idx).reset_index().assign(signal=signal)
    ret = pd.DataFrame({"forward_return": returns.ravel()}, index=idx).reset_index()
    return sig, ret


# ------------------------------------------------------------------------------------------------------------
# IC / RankIC


def test_a_perfect_signal_has_ic_and_rank_ic_one_and_a_reversed_one_minus_one():
    rng = np.random.default_rng(1)
    r = rng.normal(0, 0.02, size=(5, 50))
    sig, ret = _long(r.copy(), r)
    daily = ic_by_date(sig, ret)
    assert np.allclose(daily["ic"], 1.0) and np.allclose(daily["rank_ic"], 1.0)
    sig, ret = _long(-r, r)
    daily = ic_by_date(sig, ret)
    assert np.allclose(daily["ic"], -1.0) and np.allclose(daily["rank_ic"], -1.0)


def test_a_monotone_but_nonlinear_signal_has_rank_ic_one_and_ic_below_one():
    x = np.linspace(-3, 3, 40)
    y = np.exp(3 * x)
    assert spearman(x, y) == pytest.approx(1.0)
    assert pearson(x, y) < 0.8


def test_spearman_with_ties_matches_the_hand_computation():
    # average ranks x -> [1, 2.5, 2.5, 4], y -> [1, 2, 3, 4]: sum dx*dy = 4.5, sxx = 4.5, syy = 5
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / math.sqrt(4.5 * 5), abs=1e-12)


def test_a_random_signal_has_mean_rank_ic_near_zero_within_three_standard_errors():
    rng = np.random.default_rng(7)
    n_dates, n_assets = 200, 100
    sig, ret = _long(rng.normal(size=(n_dates, n_assets)), rng.normal(size=(n_dates, n_assets)))
    s = summarise_ic(ic_by_date(sig, ret)).iloc[0]
    # under independence each date's RankIC has sd ~ 1/sqrt(n_assets - 1); the mean over dates 1/sqrt(dates) of it
    bound = 3.0 / math.sqrt(n_assets - 1) / math.sqrt(n_dates)  # 0.0213
    assert abs(s["rank_ic_mean"]) < bound and abs(s["ic_mean"]) < bound
    assert abs(s["rank_ic_t_nw"]) < 3.0


def test_constant_signals_and_tiny_cross_sections_give_no_ic_rather_than_a_number():
    assert math.isnan(pearson(np.ones(10), np.arange(10.0)))
    assert math.isnan(spearman([1.0, 2.0], [2.0, 1.0]))  # fewer than 3 assets


def test_newey_west_t_matches_a_hand_computation():
    x = [0.1, -0.2, 0.3, 0.0, 0.2]
    # mean 0.08; d = [.02, -.28, .22, -.08, .12]; g0 = 0.148 / 5 = 0.0296
    # g1 = (-.0056 - .0616 - .0176 - .0096) / 5 = -0.01888; S(L=1) = g0 + 2 * (1/2) * g1 = 0.01072
    t1, p1 = newey_west_t(x, lags=1)
    assert t1 == pytest.approx(0.08 / math.sqrt(0.01072 / 5), rel=1e-12)
    assert t1 == pytest.approx(1.727737, rel=1e-5)
    assert p1 == pytest.approx(0.0840, abs=5e-4)  # two-sided normal p of 1.7277
    t0, _ = newey_west_t(x, lags=0)  # plain t with the 1/n variance
    assert t0 == pytest.approx(0.08 / math.sqrt(0.0296 / 5), rel=1e-12)


def test_newey_west_lag_rule_and_bad_lags():
    assert default_nw_lags(100) == 4 and default_nw_lags(50) == 3 and default_nw_lags(33) == 3
    with pytest.raises(ValueError, match="lags"):
        newey_west_t([0.1, 0.2, 0.3, 0.1], lags=-1)


def test_ic_by_date_names_missing_columns():
    with pytest.raises(ValueError, match=r"`returns` lacks columns \['forward_return'\]"):
        ic_by_date(
            pd.DataFrame(columns=["date", "asset", "signal", "value"]),
            pd.DataFrame(columns=["date", "asset", "ret"]),
        )


# ------------------------------------------------------------------------------------------------------------
# portfolios


def _hand_tables():
    d1, d2 = pd.Timestamp("2021-01-04"), pd.Timestamp("2021-01-11")
    signal = pd.DataFrame(
        {
            "date": [d1] * 4 + [d2] * 4,
            "asset": list("ABCD") * 2,
            "value": [4, 3, 2, 1, 3, 4, 2, 1],
        }
    )
    returns = pd.DataFrame(
        {
            "date": [d1] * 4 + [d2] * 4,
            "asset": list("ABCD") * 2,
            "forward_return": [0.02, 0.01, 0.0, -0.01, 0.0, 0.05, 0.0, 0.01],
        }
    )
    return signal, returns


def test_long_short_turnover_and_costs_match_a_hand_example():
    signal, returns = _hand_tables()
    out = backtest(signal, returns, k=1, kind="long_short", costs=Costs.from_bp(10, 15))
    # date 1 from cash: buy A (1.0 at 10 bp), short D (sell 1.0 at 15 bp); gross 0.02 - (-0.01)
    # date 2: sell A (1.0), buy B (1.0), D stays short; gross 0.05 - 0.01
    assert out["turnover"].tolist() == pytest.approx([2.0, 2.0])
    assert out["bought"].tolist() == pytest.approx([1.0, 1.0]) and out["sold"].tolist() == pytest.approx(
        [1.0, 1.0]
    )
    assert out["cost"].tolist() == pytest.approx([0.0025, 0.0025])
    assert out["gross"].tolist() == pytest.approx([0.03, 0.04])
    assert out["net"].tolist() == pytest.approx([0.0275, 0.0375])


def test_long_only_turnover_and_costs_match_a_hand_example():
    signal, returns = _hand_tables()
    out = backtest(signal, returns, k=1, kind="long_only", costs=Costs.from_bp(10, 15))
    assert out["turnover"].tolist() == pytest.approx([1.0, 2.0])
    assert out["cost"].tolist() == pytest.approx([0.001, 0.0025])
    assert out["net"].tolist() == pytest.approx([0.019, 0.0475])


def test_k_shrinks_to_the_eligible_assets_and_says_so():
    w, k = target_weights(pd.Series([3.0, 2.0, 1.0], index=["x", "y", "z"]), 2, "long_short")
    assert k == 1 and w.to_dict() == {"x": 1.0, "z": -1.0}
    with pytest.raises(ValueError, match="`kind` must be one of"):
        target_weights(pd.Series([1.0]), 1, "short_only")


def test_max_drawdown_and_annualised_statistics_by_hand():
    assert max_drawdown([0.1, -0.2, 0.05]) == pytest.approx(1 - 0.88 / 1.1)
    assert max_drawdown([0.1, -1.5, 0.2]) == pytest.approx(1.0)  # a loss beyond the capital ruins it, no more
    periods = pd.DataFrame(
        {"gross": [0.02, 0.0], "net": [0.01, -0.01], "turnover": [1.0, 0.5], "cost": [0.01, 0.01]}
    )
    stats = portfolio_stats(periods, periods_per_year=50)
    assert stats["ann_return_net"] == pytest.approx((1.01 * 0.99) ** 25 - 1)
    assert stats["sharpe_net"] == pytest.approx(0.0)
    assert stats["sharpe_gross"] == pytest.approx(0.01 / math.sqrt(0.0002) * math.sqrt(50))
    assert stats["turnover_mean"] == pytest.approx(0.75) and stats["cost_per_year"] == pytest.approx(0.5)


def test_costs_reject_basis_points_passed_as_fractions():
    with pytest.raises(ValueError, match="`cost_in` must be a fraction"):
        Costs(cost_in=10, cost_out=0.0015)


# ------------------------------------------------------------------------------------------------------------
# signals from paths, momentum windows, the report's primary signals


def test_path_signals_by_hand():
    paths = np.array([[[110.0], [90.0], [105.0], [95.0]], [[102.0], [104.0], [106.0], [108.0]]])
    out = path_signals(paths, np.array([100.0, 100.0]))
    assert out["exp_return"].tolist() == pytest.approx([0.0, 0.05])
    assert out["prob_up"].tolist() == pytest.approx([0.5, 1.0])
    assert out["mean_over_std"].tolist() == pytest.approx([0.0, 0.05 / math.sqrt(0.002 / 3)])


def test_momentum_scales_its_window_to_the_shortest_history():
    idx = pd.bdate_range("2021-01-04", periods=40)
    close = pd.Series(np.arange(1.0, 41.0), index=idx)
    a = pd.DataFrame({"close": close})
    b = pd.DataFrame({"close": close.iloc[10:] * 2})  # 30 bars
    assert Momentum(252, 21).windows(30) == (29, 2)  # L = 29, skip = round(21 * 29 / 252) = 2
    out = Momentum(252, 21).signals([a, b], ["a", "b"], 5, 0)
    assert out.loc["a", "value"] == pytest.approx(38.0 / 11.0 - 1)  # close[-3] = 38, close[-30] = 11
    assert out.loc["b", "value"] == pytest.approx(38.0 / 11.0 - 1)


def test_primary_signals_take_exp_return_of_path_models():
    names = ["kronos:exp_return", "kronos:prob_up", "momentum", "theta:mean_over_std", "theta:exp_return"]
    assert primary_signals(names) == ["kronos:exp_return", "momentum", "theta:exp_return"]
