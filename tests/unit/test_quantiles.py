"""Sample quantiles and central intervals (`kronos_plugins.quantiles`): a forecast's interval covers its level.

The property checked is the one a user reads an interval for: when the target is one more draw from the
distribution that produced the samples, it falls inside the central ``c`` interval with probability ``c``,
whatever the number of samples. The expected values come from order-statistic arithmetic, not from the code.
"""

from __future__ import annotations

import numpy as np
import pytest

from kronos_plugins.forecast import KronosForecast
from kronos_plugins.quantiles import central_interval, sample_quantile


def _coverage(n_samples: int, level: float, draw, trials: int = 60_000, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    samples = draw(rng, (n_samples, trials))
    target = draw(rng, (trials,))
    lo, hi = central_interval(samples, level, axis=0)
    return float(((lo <= target) & (target <= hi)).mean())


@pytest.mark.parametrize("n_samples", [19, 39, 100])
@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95])
def test_an_interval_from_exchangeable_samples_covers_its_level(n_samples, level):
    # Heavy tails (Student t, 3 df) do not matter: only ranks do. Sampling error of the estimate with 60,000
    # trials is below 0.2 points; the tolerance also absorbs interpolation between order statistics where
    # level x (n + 1) is not whole (at most ~1 / (n + 1) of probability, shared by both ends).
    cov = _coverage(n_samples, level, lambda rng, size: rng.standard_t(3, size))
    position = (1 - level) / 2 * (n_samples + 1)
    if position < 1:  # 19 samples cannot make a 95 % interval: it is [min, max], which covers 18 / 20
        expected, tolerance = (n_samples - 1) / (n_samples + 1), 0.006
    else:
        expected = level
        tolerance = 0.006 if position.is_integer() else 0.5 / (n_samples + 1) + 0.006
    assert abs(cov - expected) < tolerance, (n_samples, level, cov)


def test_numpys_default_estimator_would_fail_that_check():
    """The check above bites: linear interpolation (numpy's default) covers 95 % intervals of 100 samples
    only about 93 % of the time (expected (n + 1 - 2 k) / (n + 1) with k = 1 + 0.025 x 99 + 1)."""
    rng = np.random.default_rng(1)
    samples, target = rng.normal(size=(100, 60_000)), rng.normal(size=60_000)
    lo, hi = np.quantile(samples, [0.025, 0.975], axis=0)
    linear = float(((lo <= target) & (target <= hi)).mean())
    assert linear < 0.94
    lo, hi = central_interval(samples, 0.95, axis=0)
    assert abs(float(((lo <= target) & (target <= hi)).mean()) - 0.95) < 0.006


def test_quantiles_sit_at_plotting_position_q_times_n_plus_one():
    # 1..19 (n = 19): the q quantile is the value at position 20 q, interpolated between neighbours
    x = np.arange(1.0, 20.0)
    np.testing.assert_allclose(sample_quantile(x, [0.05, 0.25, 0.5, 0.6, 0.95]), [1.0, 5.0, 10.0, 12.0, 19.0])
    np.testing.assert_allclose(sample_quantile(x, 0.125), 2.5)  # position 2.5
    # beyond the first / last position: the smallest / largest sample
    np.testing.assert_allclose(sample_quantile(x, [0.01, 0.99]), [1.0, 19.0])
    lo, hi = central_interval(x[::-1], 0.9)  # order of the samples does not matter
    assert (lo, hi) == (1.0, 19.0)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_quantile_levels_outside_the_unit_interval_are_refused(bad):
    with pytest.raises(ValueError, match=r"quantile levels must lie in \[0, 1\]"):
        sample_quantile(np.arange(5.0), [0.5, bad])


@pytest.mark.parametrize("bad", [0.0, 1.0, 95])
def test_interval_levels_outside_zero_one_are_refused(bad):
    with pytest.raises(ValueError, match=r"an interval level must lie in \(0, 1\)"):
        central_interval(np.arange(5.0), bad)


def test_a_forecasts_quantiles_and_table_use_the_estimator():
    rng = np.random.default_rng(2)
    samples = rng.normal(100, 1, size=(2, 39, 4, 6))
    fc = KronosForecast(
        samples=samples,
        columns=("open", "high", "low", "close", "volume", "amount"),
        timestamps=[np.arange(4), np.arange(4)],
        item_ids=["a", "b"],
    )
    # 39 samples: the 0.1 quantile is the 4th smallest of each (series, step, column)
    fourth = np.sort(samples, axis=1)[:, 3]
    np.testing.assert_allclose(fc.quantile(0.1), fourth)
    np.testing.assert_allclose(fc.quantile([0.1, 0.9])[:, 0], fourth)
    table = fc.to_dataframe(quantiles=(0.1,))
    close_b = table[(table["item_id"] == "b") & (table["column"] == "close")]["q0.1"].to_numpy()
    np.testing.assert_allclose(close_b, fourth[1, :, 3])
