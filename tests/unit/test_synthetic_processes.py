"""The return processes shared by the synthetic-market corpus, the augmentation series and the calibration
benchmark: recursions checked by hand, simulations against their known laws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kronos_plugins.datasets.processes import (
    ar1,
    compound_poisson_jumps,
    egarch_filter,
    garch_filter,
    garch_returns,
    markov_chain,
    regime_switching_returns,
    stochastic_volatility,
    student_t_mean_abs,
    student_t_shocks,
)

# ------------------------------------------------------------------------------------------------------------
# recursions, by hand


def test_garch_filter_follows_the_recursion():
    z = np.array([1.0, -2.0, 0.5])
    eps, h = garch_filter(z, 0.1, 0.2, 0.7, 1.0)
    # h1 = 0.1 + 0.2 * 1^2 + 0.7 * 1 = 1.0; h2 = 0.1 + 0.2 * (-2)^2 + 0.7 * 1.0 = 1.6
    np.testing.assert_allclose(h, [1.0, 1.0, 1.6], rtol=1e-15)
    np.testing.assert_allclose(eps, [1.0, -2.0, 0.5 * math.sqrt(1.6)], rtol=1e-15)


def test_gjr_adds_gamma_after_falls_or_after_rises_when_flipped():
    z = np.array([1.0, -2.0, 0.5])
    _, h = garch_filter(z, 0.1, 0.2, 0.7, 1.0, gamma=0.3)
    np.testing.assert_allclose(h, [1.0, 1.0, 0.1 + 0.5 * 4 + 0.7], rtol=1e-15)  # only the fall counts
    _, h = garch_filter(z, 0.1, 0.2, 0.7, 1.0, gamma=0.3, flip=-1.0)
    # the rise counts: h1 = 0.1 + 0.5 * 1 + 0.7 = 1.3; h2 = 0.1 + 0.2 * (4 * 1.3) + 0.7 * 1.3 = 2.05
    np.testing.assert_allclose(h, [1.0, 1.3, 2.05], rtol=1e-14)
    _, h = garch_filter(z, 0.1, 0.2, 0.7, 1.0, gamma=0.3, clip=(0.5, 2.0))
    np.testing.assert_allclose(h, [1.0, 1.0, 2.0], rtol=1e-15)


def test_filters_run_rows_with_their_own_parameters():
    z = np.random.default_rng(0).standard_normal((3, 50))
    omega, alpha, beta = np.array([0.1, 0.05, 0.2]), np.array([0.1, 0.05, 0.15]), np.array([0.8, 0.9, 0.6])
    eps, h = garch_filter(z, omega, alpha, beta, np.ones(3))
    for i in range(3):
        e_i, h_i = garch_filter(z[i], omega[i], alpha[i], beta[i], 1.0)
        np.testing.assert_array_equal(eps[i], e_i)
        np.testing.assert_array_equal(h[i], h_i)


def test_egarch_filter_follows_the_recursion():
    z = np.array([1.0, -1.0, 0.0])
    eps, h = egarch_filter(z, -0.1, 0.2, 0.9, -0.1, 0.0, mean_abs=0.8)
    # log h1 = -0.1 + 0.9 * 0 + 0.2 * (1 - 0.8) - 0.1 * 1 = -0.16
    # log h2 = -0.1 + 0.9 * (-0.16) + 0.2 * (1 - 0.8) + 0.1 = -0.104
    np.testing.assert_allclose(np.log(h), [0.0, -0.16, -0.104], atol=1e-15)
    np.testing.assert_allclose(eps, np.sqrt(h) * z, rtol=1e-15)


def test_ar1_follows_the_recursion():
    out = ar1(np.array([0.5, -1.0]), np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]), np.array([4.0, 0.0]))
    np.testing.assert_allclose(out, [[3.0, 3.5, 4.75], [1.0, 0.0, 1.0]])


def test_student_t_mean_abs_closed_forms():
    # unit-variance t with 3 degrees of freedom: E|T| = 2 sqrt(3) / pi, times sqrt(1 / 3)
    assert student_t_mean_abs(3.0) == pytest.approx(2 / np.pi, rel=1e-12)
    assert student_t_mean_abs(1e6) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-5)  # the normal limit


# ------------------------------------------------------------------------------------------------------------
# simulations, against their laws


def test_student_t_shocks_have_unit_variance_and_the_expected_mean_abs():
    z = student_t_shocks(np.random.default_rng(1), 8.0, 400_000)
    assert z.var() == pytest.approx(1.0, abs=0.02)
    assert np.abs(z).mean() == pytest.approx(float(student_t_mean_abs(8.0)), abs=0.005)
    assert np.abs(student_t_shocks(np.random.default_rng(1), 3.0, 10_000, clip=2.0)).max() == 2.0


def test_garch_returns_have_the_unconditional_variance_and_excess_kurtosis():
    omega, alpha, beta = 2e-6, 0.08, 0.9
    r = np.concatenate(
        [
            garch_returns(5000, omega=omega, alpha=alpha, beta=beta, rng=np.random.default_rng(s))[0]
            for s in range(8)
        ]
    )
    assert r.var() == pytest.approx(omega / (1 - alpha - beta), rel=0.1)
    # Gaussian GARCH(1,1): kurtosis 3 (1 - (a + b)^2) / (1 - (a + b)^2 - 2 a^2) = 4.43
    kurt = ((r - r.mean()) ** 4).mean() / r.var() ** 2
    assert 3.3 < kurt < 5.0, kurt
    with pytest.raises(ValueError, match="df"):
        garch_returns(10, omega=omega, alpha=alpha, beta=beta, rng=np.random.default_rng(0), df=2.0)


def test_compound_poisson_jumps_have_the_compound_moments():
    rate, mean, std = 0.3, 0.02, 0.05
    j = compound_poisson_jumps(np.random.default_rng(2), rate, mean, std, 400_000)
    assert j.mean() == pytest.approx(rate * mean, abs=4 * math.sqrt(rate * (std**2 + mean**2) / j.size))
    assert j.var() == pytest.approx(rate * (std**2 + mean**2), rel=0.02)
    assert (j == 0).mean() == pytest.approx(math.exp(-rate), abs=0.003)  # no jump in the bar


def test_markov_chain_stays_moves_elsewhere_and_visits_states_evenly():
    k, stay, T = np.array([3, 2]), np.array([0.95, 0.8]), 200_000
    states = markov_chain(np.random.default_rng(3), k, stay, T)
    for i in range(2):
        s = states[i]
        assert set(np.unique(s)) == set(range(k[i]))
        moved = (s[1:] != s[:-1]).mean()  # a move always lands on another state
        assert moved == pytest.approx(1 - stay[i], abs=0.005)
        np.testing.assert_allclose(np.bincount(s) / T, 1 / k[i], atol=0.03)


def test_regime_switching_returns_have_each_regimes_law():
    mus, sigmas = [0.001, -0.002], [0.005, 0.03]
    r, sig, regimes = regime_switching_returns(
        100_000, mus=mus, sigmas=sigmas, p_stay=0.99, rng=np.random.default_rng(4)
    )
    for j in range(2):
        in_j = regimes == j
        assert r[in_j].mean() == pytest.approx(mus[j], abs=4 * sigmas[j] / math.sqrt(in_j.sum() / 100))
        assert r[in_j].std() == pytest.approx(sigmas[j], rel=0.03)
        np.testing.assert_array_equal(sig[in_j], sigmas[j])
    runs = np.diff(np.flatnonzero(np.diff(regimes)))
    assert runs.mean() == pytest.approx(1 / (1 - 0.99), rel=0.15)  # geometric sojourns of mean 1 / (1 - p)


def test_stochastic_volatility_has_unit_mean_variance_and_leverage():
    m, T = 20, 5000
    phi, s, rho = np.full(m, 0.95), np.full(m, 0.5), np.full(m, -0.6)
    eps, h = stochastic_volatility(np.random.default_rng(5), phi, s, rho, T)
    assert h.mean() == pytest.approx(1.0, abs=0.1)
    assert np.log(h).std(axis=1).mean() == pytest.approx(0.5, rel=0.1)
    # falls raise the next variance: corr(z_{t-1}, log h_t) = rho sqrt(1 - phi^2) = -0.19
    z = eps / np.sqrt(h)
    corr = np.mean([np.corrcoef(z[i, :-1], np.log(h[i, 1:]))[0, 1] for i in range(m)])
    assert corr == pytest.approx(-0.6 * math.sqrt(1 - 0.95**2), abs=0.03)
