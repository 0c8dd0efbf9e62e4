"""The continuous ranked probability score of sample ensembles: the one implementation.

``CRPS(F, y) = E|X - y| - E|X - X'| / 2`` for the empirical distribution F of the samples (the "energy" form,
every pair including each sample with itself, as ``properscoring.crps_ensemble`` computes it). The mean
absolute difference ``E|X - X'|`` is computed from the sorted samples in O(S log S) rather than over all S^2
pairs. Used by the benchmark's metrics, by calibration (``method="scale"``) and by the calibration
benchmark.

References
----------
Gneiting and Raftery, "Strictly Proper Scoring Rules, Prediction, and Estimation", JASA 2007.
"""

from __future__ import annotations

import numpy as np

__all__ = ["crps_ensemble", "mean_abs_difference"]


def mean_abs_difference(samples: np.ndarray, axis: int = 0) -> np.ndarray:
    """``E|X - X'|`` over the samples along `axis` (all S^2 ordered pairs): ``2 sum_j x_(j) (2j - S + 1) / S^2``
    with the samples sorted, j = 0..S-1."""
    x = np.sort(np.moveaxis(np.asarray(samples, dtype=np.float64), axis, -1), axis=-1)
    S = x.shape[-1]
    return 2.0 * (x * (2 * np.arange(S) - S + 1)).sum(axis=-1) / S**2


def crps_ensemble(samples: np.ndarray, target: np.ndarray, axis: int = 0) -> np.ndarray:
    """CRPS of the ensembles along `axis` of `samples` at `target` (shaped like `samples` without `axis`)."""
    s = np.moveaxis(np.asarray(samples, dtype=np.float64), axis, -1)
    y = np.asarray(target, dtype=np.float64)
    return np.abs(s - y[..., None]).mean(axis=-1) - 0.5 * mean_abs_difference(s, axis=-1)
