"""Shared fixtures: paths to the reference fixtures and small checkpoints made by the project."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

# KRONOS_REQUIRE_EXTRAS=1 (set by .ci/run) turns every skip into a failure: see tests/_require_extras.py.
from tests._require_extras import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401

# The test models are tiny: one thread is faster than two contending ones (CI has 2 cores and other work).
torch.set_num_threads(1)

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "kronos-reference"
CONFIGS = ("tiny-learnte", "tiny-fixedte")


def hourly_bars(
    n: int = 200,
    seed: int = 0,
    *,
    level: float = 100.0,
    spread: float = 0.002,
    start: str = "2024-01-01",
    perturb_from: int | None = None,
) -> pd.DataFrame:
    """Regular hourly OHLCV bars (no calendar gaps) of a 1 % log-return walk from `level`, with a `timestamps`
    column; high/low sit `spread` outside open/close. With `perturb_from`, every return from that row on is
    replaced by a different walk (drift 2 %, volatility 5 %) and the rows before it are unchanged."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.01, n)
    if perturb_from is not None:
        r[perturb_from:] = np.random.default_rng(seed + 99).normal(0.02, 0.05, n - perturb_from)
    close = level * np.exp(np.cumsum(r))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {
            "timestamps": pd.date_range(start, periods=n, freq="h"),
            "open": open_,
            "high": np.maximum(open_, close) * (1 + spread),
            "low": np.minimum(open_, close) * (1 - spread),
            "close": close,
            "volume": rng.integers(100, 1000, n).astype(float),
        }
    )


@pytest.fixture(scope="session")
def ohlcv_input() -> pd.DataFrame:
    """400 synthetic 5-minute bars recorded with the reference fixtures."""
    return pd.read_csv(REFERENCE / "ohlcv_input.csv", parse_dates=["timestamps"])


@pytest.fixture(scope="session")
def tiny_pipeline():
    """A pipeline on the tiny reference checkpoint (random weights: for mechanics, not forecasts)."""
    from kronos_plugins import KronosPipeline

    d = REFERENCE / "tiny-learnte"
    return KronosPipeline.from_pretrained(model=d / "model", tokenizer=d / "tokenizer", max_context=128)
