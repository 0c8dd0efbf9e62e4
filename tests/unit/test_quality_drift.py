"""benchmarks/quality/drift.py's pure functions (forecast drift, shrunk MAE skill, clipped training closes) on
hand-computed cases; the script itself is a benchmark and needs the split's data."""

from __future__ import annotations

import numpy as np
import pytest

from .test_quality_gate import _load

D = _load("drift")


def test_context_position_of_a_close_above_its_context_mean():
    closes = np.array([10.0, 10.0, 10.0, 14.0])  # mean 11, population std sqrt(3)
    z, sigma, mom = D.context_position(closes, lookback=4, momentum=2)
    assert z == pytest.approx(3 / np.sqrt(3))
    r = np.diff(np.log(closes))
    assert sigma == pytest.approx(r.std())
    assert mom == pytest.approx(np.log(14 / 10) / (r.std() * np.sqrt(2)))
    # only the last `lookback` closes count
    z4, _, _ = D.context_position(np.r_[1000.0, closes], lookback=4, momentum=2)
    assert z4 == pytest.approx(z)
    with pytest.raises(ValueError, match="at least"):
        D.context_position(closes, lookback=4, momentum=20)


def test_scaled_log_move_is_in_units_of_the_typical_move():
    assert D.scaled_log_move(100 * np.exp(0.2), 100.0, 0.05, 4) == pytest.approx(2.0)


def test_ols_recovers_a_line_and_its_slope_error_grows_with_noise():
    x = np.arange(10.0)
    a, b, se = D.ols(x, 1 + 2 * x)
    assert (a, b) == pytest.approx((1.0, 2.0)) and se == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(0)
    x = rng.normal(size=4000)
    _, b, se = D.ols(x, -0.15 * x + rng.normal(size=4000))
    assert abs(b + 0.15) < 3 * se and se == pytest.approx(1 / np.sqrt(4000), rel=0.1)


def test_shrunk_mae_skill_moves_the_point_forecast_from_the_last_close_to_the_median():
    last = np.array([100.0, 50.0])
    y_true = np.array([[110.0, 110.0], [40.0, 40.0]])
    y_pred = np.array([[105.0, 105.0], [45.0, 45.0]])  # half way to the truth in both windows
    assert D.shrunk_mae_skill(y_true, y_pred, last, 0.0) == pytest.approx(0.0)
    assert D.shrunk_mae_skill(y_true, y_pred, last, 1.0) == pytest.approx(0.5)  # MAE 5 against 10
    assert D.shrunk_mae_skill(y_true, y_pred, last, 0.5) == pytest.approx(0.25)  # MAE 7.5 against 10
    wrong = np.array([[95.0, 95.0], [55.0, 55.0]])  # drifts the wrong way: MAE 15 against 10
    assert D.shrunk_mae_skill(y_true, wrong, last, 1.0) == pytest.approx(-0.5)


def test_clipped_share_flags_closes_beyond_five_context_stds():
    closes = np.array([1.0, 2.0, 1.0, 2.0, 3.9, 4.1, -1.1])  # context mean 1.5, std 0.5: z 4.8, 5.2, -5.2
    np.testing.assert_array_equal(D.clipped_share(closes, 4), [False, True, True])
