"""KronosPipeline.forecast: shapes, seeds, batching, leakage, constructed columns, validation errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kronos_plugins import KronosForecast, KronosInputError


def _frame(ohlcv_input, a, b):
    return ohlcv_input.iloc[a:b].set_index("timestamps")


def test_forecast_returns_every_path_in_price_units(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 0, 60)
    fc = tiny_pipeline.forecast(ctx, horizon=7, num_samples=9, seed=0)
    assert isinstance(fc, KronosForecast)
    assert fc.samples.shape == (1, 9, 7, 6) and fc.samples.dtype == np.float64
    assert fc.columns == ("open", "high", "low", "close", "volume", "amount")
    assert np.isfinite(fc.samples).all()
    # de-normalised: prices lie within the normalisation clip range of the context (mean +- 5 std)
    close = ctx["close"].to_numpy(np.float32)
    lo, hi = close.mean() - 5.01 * close.std(), close.mean() + 5.01 * close.std()
    assert ((fc.column("close") >= lo) & (fc.column("close") <= hi)).all()
    assert len({tuple(p) for p in fc.column("close")[0]}) > 1  # distinct sample paths
    # 5-minute bars continue at 5-minute steps
    assert list(fc.timestamps[0]) == list(pd.date_range(ctx.index[-1], periods=8, freq="5min")[1:])


def test_summaries_are_the_statistics_of_the_samples(tiny_pipeline, ohlcv_input):
    fc = tiny_pipeline.forecast(_frame(ohlcv_input, 0, 40), horizon=3, num_samples=11, seed=1)
    s = fc.samples
    np.testing.assert_allclose(fc.mean(), s.sum(axis=1) / 11)
    np.testing.assert_array_equal(fc.median(), np.sort(s, axis=1)[:, 5])  # 11 samples: the 6th smallest
    assert fc.quantile([0.0, 1.0]).shape == (1, 2, 3, 6)
    np.testing.assert_array_equal(fc.quantile(1.0), s.max(axis=1))
    tidy = fc.to_dataframe(quantiles=(0.5,))
    assert len(tidy) == 3 * 6 and set(tidy.columns) == {"item_id", "timestamp", "column", "mean", "q0.5"}
    row = tidy[(tidy.column == "close")].iloc[2]
    assert row["mean"] == pytest.approx(s[0, :, 2, 3].mean())
    paths = fc.to_dataframe(samples=True)
    assert len(paths) == 11 * 3 and paths.loc[paths["sample"] == 4, "close"].tolist() == list(s[0, 4, :, 3])
    with pytest.raises(ValueError, match="quantile levels must lie in"):
        fc.quantile(1.5)


def test_same_seed_same_paths_other_seed_other_paths(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 0, 50)
    a = tiny_pipeline.forecast(ctx, horizon=5, num_samples=4, seed=7).samples
    b = tiny_pipeline.forecast(ctx, horizon=5, num_samples=4, seed=7).samples
    c = tiny_pipeline.forecast(ctx, horizon=5, num_samples=4, seed=8).samples
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_paths_are_stable_in_sample_count_and_horizon(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 0, 50)
    many = tiny_pipeline.forecast(ctx, horizon=8, num_samples=6, seed=3).samples
    few = tiny_pipeline.forecast(ctx, horizon=8, num_samples=2, seed=3).samples
    short = tiny_pipeline.forecast(ctx, horizon=4, num_samples=6, seed=3).samples
    np.testing.assert_allclose(few, many[:, :2], rtol=1e-6)
    # causal: the first 4 steps do not depend on how far the forecast goes (window does not slide here)
    np.testing.assert_allclose(short, many[:, :, :4], rtol=1e-6)


def test_a_series_paths_do_not_depend_on_its_batch_partner(tiny_pipeline, ohlcv_input):
    target = _frame(ohlcv_input, 100, 170)
    with_short = tiny_pipeline.forecast(
        [_frame(ohlcv_input, 0, 30), target], horizon=5, num_samples=3, seed=0
    )
    with_equal = tiny_pipeline.forecast(
        [_frame(ohlcv_input, 200, 270), target], horizon=5, num_samples=3, seed=0
    )
    np.testing.assert_allclose(with_short.samples[1], with_equal.samples[1], rtol=1e-5)


def test_bars_after_an_origin_change_no_forecast_up_to_it_when_origins_share_a_batch(
    tiny_pipeline, ohlcv_input
):
    """A backtest forecasts several origins of one asset in one call, so the windows of the later origins
    hold the bars after an earlier origin. Changing those bars (prices, volumes and the number of rows: one
    more series holding every bar after the origin) must leave the forecasts up to that origin bit-identical.
    A pipeline that read one bar past a window (e.g. by merging overlapping windows of a batch) fails here."""
    full = _frame(ohlcv_input, 0, 200)
    n_ctx, t, horizon = 60, 80, 6
    origins = [60, 70, 80, 90, 100]  # windows [o - 60, o); the bar at row t is the first one changed
    changed = full.copy()
    changed.iloc[t:, :4] *= 1.5  # prices (bars stay valid OHLC)
    changed.iloc[t:, 4:] *= 3.0  # volume and amount

    def windows(frame):
        return [frame.iloc[o - n_ctx : o] for o in origins]

    kw = dict(horizon=horizon, num_samples=4, seed=0)
    base = tiny_pipeline.forecast(windows(full), **kw).samples
    after = tiny_pipeline.forecast(windows(changed) + [changed.iloc[t - 10 :]], **kw).samples
    assert after.shape[0] == len(origins) + 1
    for i, origin in enumerate(origins):
        if origin <= t:  # every bar of these windows lies before row t
            np.testing.assert_array_equal(base[i], after[i], err_msg=f"origin {origin}")
        else:  # the change reaches the model: otherwise the equalities above would prove nothing
            assert not np.allclose(base[i], after[i]), origin


def test_missing_volume_and_amount_are_constructed_and_reported(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 0, 40)
    fc = tiny_pipeline.forecast(
        [ctx[["open", "high", "low", "close"]], ctx.drop(columns="amount"), ctx],
        horizon=2,
        num_samples=2,
        seed=0,
    )
    assert fc.constructed_columns == [("volume", "amount"), ("amount",), ()]
    # volume missing -> volume = amount = 0: their forecasts stay at ~0
    assert np.abs(fc.samples[0, ..., 4:]).max() < 1e-3


def test_constant_series_gives_finite_flat_paths(tiny_pipeline):
    idx = pd.date_range("2024-01-01", periods=30, freq="D")
    df = pd.DataFrame({c: 10.0 for c in ("open", "high", "low", "close")}, index=idx).assign(volume=5.0)
    fc = tiny_pipeline.forecast(df, horizon=4, num_samples=3, seed=0)
    assert np.isfinite(fc.samples).all()
    np.testing.assert_allclose(fc.column("close"), 10.0, rtol=1e-3)


def test_ragged_lengths_and_item_ids(tiny_pipeline, ohlcv_input):
    frames = [_frame(ohlcv_input, 0, 20), _frame(ohlcv_input, 0, 90), _frame(ohlcv_input, 50, 70)]
    fc = tiny_pipeline.forecast(frames, horizon=3, num_samples=2, seed=0, item_ids=["a", "b", "c"])
    assert fc.samples.shape == (3, 2, 3, 6)
    assert fc.item_ids == ["a", "b", "c"]
    assert fc.timestamps[1][0] == frames[1].index[-1] + pd.Timedelta("5min")
    alone = tiny_pipeline.forecast(frames[0], horizon=3, num_samples=2, seed=0)
    np.testing.assert_allclose(alone.samples[0], fc.samples[0], rtol=1e-5)  # series 0 keeps its seed stream


def test_horizon_beyond_max_context_is_supported(tiny_pipeline, ohlcv_input):
    fc = tiny_pipeline.forecast(_frame(ohlcv_input, 0, 100), horizon=140, num_samples=2, seed=0)
    assert fc.samples.shape == (1, 2, 140, 6) and np.isfinite(fc.samples).all()


CTX = pd.DataFrame(
    {"open": 1.0, "high": 1.2, "low": 0.9, "close": 1.1, "volume": 3.0},
    index=pd.date_range("2024-01-01", periods=20, freq="D"),
)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"horizon": 0}, "`horizon`"),
        ({"horizon": 2.5}, "`horizon`"),
        ({"temperature": 0.0}, "`temperature`"),
        ({"temperature": float("nan")}, "`temperature`"),
        ({"top_p": 0.0}, "`top_p`"),
        ({"top_p": 1.5}, "`top_p`"),
        ({"top_k": -1}, "`top_k`"),
        ({"num_samples": 0}, "`num_samples`"),
        ({"context": CTX.iloc[:5]}, "at least 8"),
        ({"context": CTX.reset_index(drop=True)}, "no timestamps"),
        ({"context": CTX.assign(close=np.nan)}, "close"),
        ({"context": CTX.iloc[::-1]}, "sort"),
        ({"context": CTX.drop(columns="low")}, "low"),
        ({"context": CTX.assign(high=1.0)}, "high"),
        ({"context": CTX.assign(volume=-1.0)}, "volume"),
        ({"context": CTX.assign(open=0.0, low=0.0)}, "open"),
        ({"column_mapping": {"closing": "close"}}, "closing"),
        ({"future_timestamps": pd.date_range("2024-02-01", periods=2)}, "has 2 entries"),
        ({"future_timestamps": pd.date_range("2024-01-10", periods=3)}, "not after the context"),
        ({"context": []}, "empty list"),
    ],
)
def test_when_input_is_invalid_then_forecast_raises_a_clear_error(tiny_pipeline, kwargs, match):
    args = {"context": CTX, "horizon": 3, "num_samples": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        tiny_pipeline.forecast(**args)
    if "context" in kwargs and isinstance(kwargs["context"], pd.DataFrame):
        with pytest.raises(KronosInputError):
            tiny_pipeline.forecast(**args)


def test_series_without_timestamps_raise_unless_constant_calendar_is_asked_for(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 0, 40).reset_index(drop=True)
    with pytest.raises(KronosInputError, match="missing_timestamps='constant'"):
        tiny_pipeline.forecast(ctx, horizon=3, num_samples=2)
    fc = tiny_pipeline.forecast(ctx, horizon=3, num_samples=2, seed=0, missing_timestamps="constant")
    assert list(fc.timestamps[0]) == [40, 41, 42]
    # the constant stamp really replaces the calendar: same bars with real timestamps forecast differently
    dated = tiny_pipeline.forecast(_frame(ohlcv_input, 0, 40), horizon=3, num_samples=2, seed=0)
    assert not np.allclose(fc.samples, dated.samples)


def test_frame_from_close_builds_consistent_bars():
    from kronos_plugins.columns import frame_from_close

    close = pd.Series([10.0, 11.0, 10.5], index=pd.date_range("2024-01-01", periods=3))
    f = frame_from_close(close)
    assert f["open"].tolist() == [10.0, 10.0, 11.0]
    assert f["high"].tolist() == [10.0, 11.0, 11.0]
    assert f["low"].tolist() == [10.0, 10.0, 10.5]
    assert f["close"].tolist() == [10.0, 11.0, 10.5]


def test_lookback_uses_only_the_last_bars(tiny_pipeline, ohlcv_input):
    full = _frame(ohlcv_input, 0, 120)
    a = tiny_pipeline.forecast(full, horizon=3, num_samples=2, seed=0, lookback=50)
    b = tiny_pipeline.forecast(full.iloc[-50:], horizon=3, num_samples=2, seed=0)
    c = tiny_pipeline.forecast(full, horizon=3, num_samples=2, seed=0)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.allclose(a.samples, c.samples)
    with pytest.raises(KronosInputError, match="`lookback`"):
        tiny_pipeline.forecast(full, horizon=3, lookback=4)
