"""Training windows are normalised by the inference preparation: same float policy, same rescaling rule."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.preparation import prepare_window, validate_series
from kronos_plugins.training.data import WindowDataset, normalise_window, series_from_frame
from tests.conftest import REFERENCE

CONTEXT, HORIZON = 64, 16
PRICES = slice(0, 4)


def _reference_window(values: np.ndarray, context: int) -> np.ndarray:
    """The reference's normalisation of a window (statistics of the first `context` rows), as training did it
    before it called the preparation module: float64 statistics of the float32 bars, ``std + 1e-5``, clip 5."""
    ctx = values[:context].astype(np.float64)
    mean, std = ctx.mean(axis=0), ctx.std(axis=0)
    return np.clip((values - mean) / (std + 1e-5), -5.0, 5.0).astype(np.float32)


@pytest.fixture(scope="module")
def series():
    """The reference fixture's 400 bars (closes 100-112, volume 2e3-1.3e5, amount 2e5-1.4e7) as training stores
    them (float32)."""
    frame = pd.read_csv(REFERENCE / "ohlcv_input.csv", parse_dates=["timestamps"]).set_index("timestamps")
    return series_from_frame(frame, "fixture")


def _tiny(frame_values: np.ndarray, factor: float) -> np.ndarray:
    """The same bars with the four prices multiplied by `factor`, stored as training stores them (float32)."""
    out = frame_values.astype(np.float64)
    out[:, PRICES] *= factor
    return out.astype(np.float32)


def test_ordinary_levels_normalise_bitwise_as_before(series):
    assert series.values.dtype == np.float32
    ds = WindowDataset([series], CONTEXT, HORIZON)
    for start in (0, 97, 200, len(ds) - 1):
        window = series.values[start : start + CONTEXT + HORIZON]
        x, _, _ = normalise_window(window, CONTEXT)
        np.testing.assert_array_equal(x, _reference_window(window, CONTEXT))
        np.testing.assert_array_equal(ds[start][0].numpy(), x)


def test_amount_above_the_band_normalises_within_1e6_of_before(series):
    # amounts of 2e11-1.4e13 (the fixture's x 1e6) are rescaled by 1e9 before normalising: the float32
    # rounding of the scaled values is the only difference from the reference's formula
    values = series.values.astype(np.float64)
    values[:, 5] *= 1e6
    window = values.astype(np.float32)[: CONTEXT + HORIZON]
    x, mean, _ = normalise_window(window, CONTEXT)
    assert 1e2 <= mean[5] < 1e3  # the amount column was rescaled
    np.testing.assert_allclose(x, _reference_window(window, CONTEXT), rtol=0, atol=1e-6)


@pytest.mark.parametrize("factor", [1e-6, 1e-9])
def test_tiny_prices_normalise_like_the_original(series, factor):
    window = series.values[: CONTEXT + HORIZON]
    tiny = _tiny(window, factor)
    x, _, _ = normalise_window(window, CONTEXT)
    x_tiny, mean_tiny, std_tiny = normalise_window(tiny, CONTEXT)
    # the prices are brought back to their original level (statistics in the scaled units) ...
    np.testing.assert_allclose(
        mean_tiny[PRICES], window[:CONTEXT, PRICES].astype(np.float64).mean(axis=0), rtol=1e-6
    )
    # ... so the normalised window, horizon included, is the original's up to float32 rounding of the prices:
    # two roundings of a relative 2**-24 each, on prices near 112 over a context std of at least 0.3
    bound = 2 * 2.0**-24 * 112 / std_tiny[PRICES].min() + 1e-6
    assert bound < 1e-4
    np.testing.assert_allclose(x_tiny[:, PRICES], x[:, PRICES], rtol=0, atol=bound)
    np.testing.assert_array_equal(x_tiny[:, 4:], x[:, 4:])  # volume and amount are untouched
    # the reference's absolute epsilon would have flattened them (what training fed the model before)
    assert np.abs(_reference_window(tiny, CONTEXT)[:, PRICES] - x[:, PRICES]).max() > 0.5


def test_training_windows_match_inference_contexts_at_tiny_prices(series):
    tiny = _tiny(series.values, 1e-6)
    ds = WindowDataset([dataclasses.replace(series, values=tiny)], CONTEXT, HORIZON)
    frame = pd.DataFrame(
        tiny.astype(np.float64), columns=["open", "high", "low", "close", "volume", "amount"]
    ).set_index(pd.date_range("2024-01-02", periods=len(tiny), freq="5min", name="timestamps"))
    validated = validate_series(frame)
    for start in (0, 150):
        window = tiny[start : start + CONTEXT + HORIZON]
        x, mean, std = normalise_window(window, CONTEXT)
        ctx = prepare_window(validated, start, start + CONTEXT)
        np.testing.assert_array_equal(ds[start][0].numpy(), x)
        assert ctx.scale == pytest.approx(1e-6)  # what a forecast reports as info["price_scale"]
        np.testing.assert_array_equal(x[:CONTEXT], ctx.x)
        np.testing.assert_array_equal(mean, ctx.mean)
        np.testing.assert_array_equal(std, ctx.std)
