"""Shared fixtures: paths to the reference fixtures and small checkpoints made by the project."""

from __future__ import annotations

from pathlib import Path

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
