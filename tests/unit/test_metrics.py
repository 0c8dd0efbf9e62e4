"""Metrics against hand-computed tiny cases, plus statistical properties.

Every expected number below is derived by hand in the comment next to it, not by calling the library the
metric wraps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kronos_plugins.benchmark import metrics as M

# 3 samples x 2 steps: medians [3, 4].
SAMPLES = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]])
TARGET = np.array([4.0, 1.0])
# Context one-step diffs |12-10|, |11-12|, |14-11| = 2, 1, 3 -> scale 2; lag-2 diffs 1, 2 -> scale 1.5.
CONTEXT = np.array([10.0, 12.0, 11.0, 14.0])
# 101 samples 0, 1, ..., 100 at every step: linear quantile q is exactly 100 q.
# 99 samples 1..99: the quantile at plotting position q (n + 1) = 100 q is the value 100 q (q = 0.1 -> 10)
GRID = np.tile(np.arange(1.0, 100.0)[:, None], (1, 3))


# ---------------------------------------------------------------------------------------------------------
# Point metrics
# ---------------------------------------------------------------------------------------------------------


def test_point_metrics_use_the_sample_median():
    np.testing.assert_allclose(M.point_forecast(SAMPLES), [3.0, 4.0])
    # |4 - 3| = 1, |1 - 4| = 3
    np.testing.assert_allclose(M.mae(SAMPLES, TARGET), [1.0, 3.0])
    np.testing.assert_allclose(M.rmse(SAMPLES, TARGET), [1.0, 3.0])
    # 2 * 1 / (4 + 3) and 2 * 3 / (1 + 4)
    np.testing.assert_allclose(M.smape(SAMPLES, TARGET), [2 / 7, 6 / 5])


def test_point_metrics_score_a_given_point_forecast_instead():
    np.testing.assert_allclose(M.mae(None, TARGET, point=[4.5, 0.0]), [0.5, 1.0])
    np.testing.assert_allclose(M.mae(SAMPLES, TARGET, point=[4.0, 1.0]), [0.0, 0.0])


def test_scale_and_mase_on_a_tiny_series():
    assert M.scale(CONTEXT) == pytest.approx(2.0)
    assert M.scale(CONTEXT, m=2) == pytest.approx(1.5)
    # AE [1, 3] / 2 and / 1.5
    np.testing.assert_allclose(M.mase(SAMPLES, TARGET, CONTEXT), [0.5, 1.5])
    np.testing.assert_allclose(M.mase(SAMPLES, TARGET, CONTEXT, m=2), [2 / 3, 2.0])


def test_when_context_is_shorter_than_seasonality_then_scale_raises():
    with pytest.raises(ValueError, match="`context` has 4 values but seasonality `m` 4 needs at least 5"):
        M.scale(CONTEXT, m=4)
    with pytest.raises(ValueError, match="`m` must be a positive integer"):
        M.scale(CONTEXT, m=0)


# ---------------------------------------------------------------------------------------------------------
# CRPS and quantile loss
# ---------------------------------------------------------------------------------------------------------


def test_crps_of_two_sample_ensemble_matches_closed_form():
    # Step 1: X in {0, 2}, y = 0.5: E|X-y| = (0.5 + 1.5)/2 = 1, E|X-X'| = (0+2+2+0)/4 = 1 -> 1 - 0.5 = 0.5.
    # Step 2: X in {1, 3}, y = 4:   E|X-y| = (3 + 1)/2 = 2,     E|X-X'| = 1           -> 2 - 0.5 = 1.5.
    samples = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(M.crps(samples, [0.5, 4.0]), [0.5, 1.5])


def test_the_one_crps_equals_properscoring_and_the_pairwise_definition():
    """`kronos_plugins.crps` (used by the metrics, calibration and the calibration benchmark) against
    ``properscoring.crps_ensemble`` and the O(S^2) definition, on skewed ensembles with ties."""
    properscoring = pytest.importorskip("properscoring")
    from kronos_plugins.crps import crps_ensemble, mean_abs_difference

    rng = np.random.default_rng(3)
    samples = np.round(rng.lognormal(0, 1, (37, 5, 4)), 1)  # (S, ...): ties after rounding
    target = rng.lognormal(0, 1, (5, 4))
    pairwise = np.abs(samples[:, None] - samples[None]).mean(axis=(0, 1))
    np.testing.assert_allclose(mean_abs_difference(samples), pairwise, rtol=1e-12)
    expected = properscoring.crps_ensemble(target, np.moveaxis(samples, 0, -1))
    np.testing.assert_allclose(crps_ensemble(samples, target), expected, rtol=1e-12)
    np.testing.assert_allclose(
        crps_ensemble(np.moveaxis(samples, 0, 2), target, axis=2), expected, rtol=1e-12
    )


def test_crps_of_degenerate_ensemble_equals_absolute_error():
    rng = np.random.default_rng(0)
    point = rng.normal(100, 5, size=7)
    target = rng.normal(100, 5, size=7)
    samples = np.tile(point, (50, 1))
    np.testing.assert_allclose(M.crps(samples, target), np.abs(point - target))
    np.testing.assert_allclose(M.crps(samples, target), M.mae(samples, target))


def test_weighted_quantile_loss_on_a_quantile_grid():
    # Quantiles 0.1/0.5/0.9 of the 1..99 grid are 10/50/90; QL_q = 2 |(y - qhat)(1{qhat >= y} - q)|.
    # y = 50:  2*40*0.1 = 8,  0,           2*40*0.1 = 8   -> mean 16/3, per step / 50.
    # y = 100: 2*90*0.1 = 18, 2*50*0.5 = 50, 2*10*0.9 = 18 -> mean 86/3, per step / 100.
    per_step, total = M.weighted_quantile_loss(GRID[:, :2], [50.0, 100.0], quantiles=(0.1, 0.5, 0.9))
    np.testing.assert_allclose(per_step, [16 / 150, 86 / 300])
    assert total == pytest.approx((16 / 3 + 86 / 3) / 150)


# ---------------------------------------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------------------------------------


def test_interval_coverage_and_width_of_a_known_interval():
    samples = GRID[:, :1].repeat(5, axis=1)
    # Central 80% interval of 1..99 is [10, 90] (positions 0.1 x 100 and 0.9 x 100), closed; 50%: [25, 75].
    np.testing.assert_array_equal(M.interval_coverage(samples, [5, 10, 50, 90, 95], 0.8), [0, 1, 1, 1, 0])
    np.testing.assert_allclose(M.interval_width(samples, 0.8), np.full(5, 80.0))
    np.testing.assert_allclose(M.interval_width(samples, 0.5), np.full(5, 50.0))


def test_msis_on_a_known_interval():
    # alpha = 0.2 -> [L, U] = [10, 90]; scale of CONTEXT is 2.
    # y = 50: 80 / 2 = 40;  y = 0: (80 + 10 * (10 - 0)) / 2 = 90;  y = 95: (80 + 10 * (95 - 90)) / 2 = 65.
    np.testing.assert_allclose(M.msis(GRID, [50.0, 0.0, 95.0], CONTEXT, alpha=0.2), [40.0, 90.0, 65.0])


def test_when_interval_level_is_a_percentage_then_raises():
    with pytest.raises(ValueError, match=r"`level` must be in \(0, 1\), found: 95.0"):
        M.interval_coverage(GRID, [1.0, 2.0, 3.0], 95)


# ---------------------------------------------------------------------------------------------------------
# PIT
# ---------------------------------------------------------------------------------------------------------


def test_pit_is_fraction_of_samples_below_target_without_ties():
    samples = np.array([[1.0, 1.0], [2.0, 5.0], [3.0, 6.0], [4.0, 7.0]])
    # 2 of 4 samples <= 2.5; 0 of 4 samples <= 0.
    np.testing.assert_allclose(M.pit(samples, [2.5, 0.0], rng=0), [0.5, 0.0])


def test_pit_randomises_ties_with_the_given_rng():
    samples = np.array([[1.0], [2.0], [2.0], [3.0]])
    # F(y-) = 1/4, F(y) = 3/4 -> PIT = 1/4 + V/2 with V the generator's first draw.
    v = np.random.default_rng(7).random(1)[0]
    np.testing.assert_allclose(M.pit(samples, [2.0], rng=np.random.default_rng(7)), [0.25 + 0.5 * v])
    # A degenerate ensemble that hits the target is uniform over [0, 1], not stuck at 1.
    draws = np.concatenate([M.pit(np.full((10, 50), 3.0), np.full(50, 3.0), rng=s) for s in range(20)])
    assert 0.4 < draws.mean() < 0.6 and draws.min() < 0.05 and draws.max() > 0.95


def _pits(scale: float, n_windows: int = 2000, n_samples: int = 200) -> np.ndarray:
    rng = np.random.default_rng(123)
    samples = rng.normal(0.0, scale, size=(n_samples, n_windows))
    target = rng.normal(0.0, 1.0, size=n_windows)
    return M.pit(samples, target, rng=rng)


def test_pit_of_forecasts_from_the_true_distribution_is_uniform():
    values = _pits(scale=1.0)
    stat, pvalue = M.pit_ks(values)
    assert pvalue > 0.01
    density, edges = M.pit_histogram(values, bins=10)
    assert edges[0] == 0.0 and edges[-1] == 1.0 and density.shape == (10,)
    assert np.all(np.abs(density - 1.0) < 0.3)


def test_pit_of_an_over_narrow_forecast_is_u_shaped():
    values = _pits(scale=0.3)
    stat, pvalue = M.pit_ks(values)
    assert stat > 0.2 and pvalue < 1e-6
    density, _ = M.pit_histogram(values, bins=10)
    assert density[0] > 2.0 and density[-1] > 2.0
    assert np.all(density[3:7] < 0.5)


# ---------------------------------------------------------------------------------------------------------
# Returns, direction and IC
# ---------------------------------------------------------------------------------------------------------


def test_direction_accuracy_scores_signs_from_the_last_context_close():
    context = np.array([9.0, 10.0])
    samples = np.array([[11.0, 9.0, 10.0, 12.0]])
    target = np.array([12.0, 11.0, 13.0, 10.0])
    # Predicted returns +, -, 0, + ; realised +, +, +, 0 -> hit, miss, no call, flat.
    np.testing.assert_allclose(M.direction_accuracy(samples, target, context), [1.0, 0.0, 0.5, 0.5])
    np.testing.assert_allclose(M.predicted_returns(samples, context), [0.1, -0.1, 0.0, 0.2])
    np.testing.assert_allclose(M.realised_returns(target, context), [0.2, 0.1, 0.3, 0.0])


def test_information_coefficients_across_assets():
    predicted = np.array([1.0, 2.0, 3.0, 4.0])
    # Deviations [-1.5, -0.5, 0.5, 1.5] and [-1.5, 0.5, -0.5, 1.5]: cov 4, variances 5 and 5 -> 0.8;
    # the values are their own ranks, so Spearman is 0.8 too.
    assert M.information_coefficient(predicted, [1.0, 3.0, 2.0, 4.0]) == pytest.approx(0.8)
    assert M.rank_information_coefficient(predicted, [1.0, 3.0, 2.0, 4.0]) == pytest.approx(0.8)
    # Monotone but non-linear: rank IC is exactly 1, Pearson is not.
    convex = [1.0, 10.0, 100.0, 1000.0]
    assert M.rank_information_coefficient(predicted, convex) == pytest.approx(1.0)
    assert M.information_coefficient(predicted, convex) < 0.9


def test_information_coefficients_per_step_and_undefined_cases():
    predicted = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    realised = np.array([[3.0, 1.0], [2.0, 2.0], [1.0, 3.0]])
    ic = M.information_coefficient(predicted, realised)
    assert ic.shape == (2,)
    assert ic[0] == pytest.approx(-1.0) and math.isnan(ic[1])  # step 2 predictions are constant
    assert math.isnan(M.rank_information_coefficient([1.0], [2.0]))
    with pytest.raises(ValueError, match="must share a shape"):
        M.information_coefficient([1.0, 2.0], [1.0, 2.0, 3.0])


# ---------------------------------------------------------------------------------------------------------
# score_window
# ---------------------------------------------------------------------------------------------------------


def test_score_window_reports_per_step_and_aggregate_metrics():
    out = M.score_window(SAMPLES, TARGET, CONTEXT, intervals=(0.5, 0.8, 0.95))
    names = "mae mse rmse mase smape crps scaled_crps wql msis coverage_50 width_50 coverage_80 width_80"
    for name in (names + " coverage_95 width_95 direction_accuracy").split():
        assert out[f"{name}_by_step"].shape == (2,), name
        assert isinstance(out[name], float), name
    assert out["mae"] == pytest.approx(2.0)  # mean of [1, 3]
    assert out["mse"] == pytest.approx(5.0)  # mean of [1, 9]
    assert out["rmse"] == pytest.approx(math.sqrt(5.0))
    assert out["mase"] == pytest.approx(1.0)  # mean of [0.5, 1.5]
    assert out["scale"] == pytest.approx(2.0)
    np.testing.assert_allclose(out["pred_return_by_step"], [3 / 14 - 1, 4 / 14 - 1])
    np.testing.assert_allclose(out["real_return_by_step"], [4 / 14 - 1, 1 / 14 - 1])
    assert out["pit_by_step"].shape == (2,)
    np.testing.assert_allclose(out["crps_by_step"], M.crps(SAMPLES, TARGET))


def test_score_window_of_degenerate_ensemble_has_crps_equal_to_mae():
    samples = np.tile([101.0, 103.0, 98.0], (20, 1))
    out = M.score_window(samples, [100.0, 104.0, 99.0], CONTEXT)
    np.testing.assert_allclose(out["crps_by_step"], out["mae_by_step"])
    assert out["width_95"] == 0.0


@pytest.mark.parametrize(
    ("samples", "target", "match"),
    [
        (np.ones(3), np.ones(3), r"`samples` must be shaped \(num_samples, horizon\)"),
        (np.ones((4, 3)), np.ones(2), "`target` has length 2 but the forecast horizon is 3"),
        (np.full((4, 3), np.nan), np.ones(3), "`samples` contains NaN"),
        (np.ones((4, 3)), [1.0, np.inf, 1.0], "`target` contains NaN or inf"),
    ],
)
def test_when_inputs_are_invalid_then_score_window_raises_value_error(samples, target, match):
    with pytest.raises(ValueError, match=match):
        M.score_window(samples, target, CONTEXT)


# ---------------------------------------------------------------------------------------------------------
# Skill score and Diebold-Mariano
# ---------------------------------------------------------------------------------------------------------


def test_skill_score_is_one_minus_geometric_mean_of_relative_errors():
    # Ratios 0.5, 1, 2 -> geometric mean 1 -> skill 0.
    assert M.skill_score([1.0, 2.0, 4.0], [2.0, 2.0, 2.0]).skill == pytest.approx(0.0)
    # Ratios 0.5, 0.125 -> geometric mean sqrt(1/16) = 0.25 -> skill 0.75; the CI brackets it.
    res = M.skill_score([1.0, 1.0], [2.0, 8.0], n_boot=200, seed=1)
    assert res.skill == pytest.approx(0.75) and res.n_windows == 2
    assert res.lower <= res.skill <= res.upper
    assert 0.5 - 1e-12 <= res.lower and res.upper <= 0.875 + 1e-12  # bounds of the two ratios' skills


def test_skill_score_bootstrap_is_seeded_and_degenerate_for_constant_ratios():
    rng = np.random.default_rng(0)
    naive = rng.uniform(1, 2, 50)
    model = naive * rng.uniform(0.5, 1.1, 50)
    assert M.skill_score(model, naive, seed=3) == M.skill_score(model, naive, seed=3)
    constant = M.skill_score(0.8 * naive, naive, n_boot=100)
    assert constant.skill == pytest.approx(0.2)
    assert constant.lower == pytest.approx(0.2) and constant.upper == pytest.approx(0.2)
    no_ci = M.skill_score(model, naive, n_boot=0)
    assert math.isnan(no_ci.lower) and math.isnan(no_ci.upper)


def test_when_errors_are_zero_or_unpaired_then_skill_score_raises():
    with pytest.raises(ValueError, match="`errors_model` has 1 zero errors.*pass `eps`"):
        M.skill_score([0.0, 1.0], [1.0, 1.0])
    assert M.skill_score([0.0, 1.0], [1.0, 1.0], eps=0.01).skill == pytest.approx(0.9)
    with pytest.raises(ValueError, match="paired by window, found lengths 2 and 3"):
        M.skill_score([1.0, 1.0], [1.0, 1.0, 1.0])


def _t3_two_sided_p(t: float) -> float:
    # Student-t CDF with 3 dof in closed form: 1/2 + [t / (sqrt3 (1 + t^2/3)) + atan(t / sqrt3)] / pi.
    cdf = 0.5 + (t / (math.sqrt(3) * (1 + t * t / 3)) + math.atan(t / math.sqrt(3))) / math.pi
    return 2 * (1 - cdf)


def test_diebold_mariano_on_a_hand_computed_case():
    # d = [1, -1, 1, 1]: mean 0.5, centred [.5, -1.5, .5, .5], gamma_0 = (.25 + 2.25 + .25 + .25)/4 = 0.75.
    # h=1: DM = 0.5 / sqrt(0.75/4) = 1.1547; HLN factor sqrt((4 + 1 - 2)/4) = sqrt(0.75) -> 1.0 exactly.
    res = M.diebold_mariano([2.0, 0.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0], h=1)
    assert res.statistic == pytest.approx(1.0)
    assert res.pvalue == pytest.approx(_t3_two_sided_p(1.0))  # = 0.39100...
    # h=2: gamma_1 = (-0.75 - 0.75 + 0.25)/4 = -0.3125, V = 0.75 - 0.625 = 0.125,
    # DM = 0.5 / sqrt(0.125/4) = 2.8284; HLN factor sqrt((4 + 1 - 4 + 0.5)/4) = 0.61237 -> sqrt(3).
    res2 = M.diebold_mariano([2.0, 0.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0], h=2)
    assert res2.statistic == pytest.approx(math.sqrt(3))
    assert res2.pvalue == pytest.approx(_t3_two_sided_p(math.sqrt(3)))


def test_diebold_mariano_on_identical_and_clearly_different_losses():
    rng = np.random.default_rng(0)
    loss = rng.exponential(1.0, 200)
    assert M.diebold_mariano(loss, loss) == (0.0, 1.0)
    better = loss * 0.5 + rng.exponential(0.05, 200)
    res = M.diebold_mariano(better, loss, h=3)
    assert res.statistic < 0 and res.pvalue < 0.01
    steps = np.arange(10.0)
    assert M.diebold_mariano(steps + 1.0, steps) == (math.inf, 0.0)


def test_when_dm_inputs_are_invalid_then_raises():
    with pytest.raises(ValueError, match="paired, found lengths 3 and 2"):
        M.diebold_mariano([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="more windows than `h`, found 3 windows and `h` 3"):
        M.diebold_mariano([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], h=3)
