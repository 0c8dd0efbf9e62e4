"""Darts adapter `KronosModel`: shapes, time indexes, calendar, seeds, historical forecasts, backtests, errors

Runs on the tiny random-weight reference checkpoint: forecasts are meaningless, the mechanics are real.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("darts")

from darts import TimeSeries  # noqa: E402
from darts.metrics import mcrps, mql  # noqa: E402
from darts.utils.timeseries_generation import datetime_attribute_timeseries  # noqa: E402

import kronos_plugins.preparation as preparation_module  # noqa: E402  (builds the calendar features)
from kronos_plugins import KronosInputError  # noqa: E402
from kronos_plugins.adapters.darts import KronosModel  # noqa: E402
from kronos_plugins.columns import frame_from_close  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "kronos-reference" / "tiny-learnte"
CHECKPOINT = dict(model=str(TINY / "model"), tokenizer=str(TINY / "tokenizer"), max_context=128)


def _model(**kwargs) -> KronosModel:
    return KronosModel(**CHECKPOINT, **{"seed": 0, **kwargs})


@pytest.fixture(scope="module")
def series(ohlcv_input) -> TimeSeries:
    """The 400 reference 5-minute bars as a 6-component TimeSeries."""
    return TimeSeries.from_dataframe(ohlcv_input.set_index("timestamps"), freq="5min")


def _bars(index: pd.Index, seed: int = 0, names=("open", "high", "low", "close", "volume")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(index)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]]
    cols = [
        open_,
        np.maximum(open_, close) * 1.002,
        np.minimum(open_, close) * 0.998,
        close,
        rng.integers(100, 1000, n).astype(float),
    ]
    return pd.DataFrame(dict(zip(names, cols, strict=True)), index=index)


def _paths(ts: TimeSeries) -> np.ndarray:
    """A Darts forecast's values as (samples, time, components), the pipeline's per-series layout."""
    return ts.all_values().transpose(2, 0, 1)


# ------------------------------------------------------------------------------------------------------------
def test_predict_returns_every_sample_path_in_the_input_components(series):
    model = _model().fit(series[:120])
    pred = model.predict(4, num_samples=5)
    assert pred.all_values().shape == (4, 6, 5)
    assert list(pred.components) == list(series.components)
    assert pred.n_samples == 5 and np.isfinite(pred.all_values()).all()
    assert len({tuple(p) for p in _paths(pred)[:, :, 3]}) == 5  # five distinct close paths
    one = model.predict(4, num_samples=1)
    # num_samples=1 is one sampled path (stream j=0), not a median
    assert one.all_values().shape == (4, 6, 1)
    np.testing.assert_array_equal(one.all_values()[..., 0], pred.all_values()[..., 0])
    assert not np.allclose(one.all_values()[..., 0], np.median(pred.all_values(), axis=2))


def test_paths_equal_the_pipeline_samples_for_the_same_window_and_seed(series, ohlcv_input, tiny_pipeline):
    window = ohlcv_input.iloc[40:140].set_index("timestamps")
    model = _model(seed=11).fit(series[40:140])
    pred = model.predict(6, num_samples=8)
    fc = tiny_pipeline.forecast(window, horizon=6, num_samples=8, seed=11)
    np.testing.assert_array_equal(_paths(pred), fc.samples[0])  # every column, every path
    np.testing.assert_array_equal(_paths(pred["close"])[..., 0], fc.column("close")[0])
    assert list(pred.time_index) == list(fc.timestamps[0])


def test_same_seed_same_samples_and_random_state_overrides_the_seed(series):
    ctx = series[:80]
    a = _model(seed=3).fit(ctx).predict(3, num_samples=4).all_values()
    b = _model(seed=3).fit(ctx).predict(3, num_samples=4).all_values()
    c = _model(seed=4).fit(ctx).predict(3, num_samples=4).all_values()
    d = _model(seed=4).fit(ctx).predict(3, num_samples=4, random_state=3).all_values()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    np.testing.assert_array_equal(a, d)


def test_five_minute_series_continues_every_five_minutes(series):
    pred = _model().fit(series[:100]).predict(3, num_samples=2)
    last = series[:100].end_time()
    assert list(pred.time_index) == [last + pd.Timedelta(minutes=5 * k) for k in (1, 2, 3)]


def test_business_day_series_skips_the_weekend_and_the_model_sees_1_based_day_and_month(monkeypatch):
    idx = pd.bdate_range(end="2024-12-31", periods=60)  # ends Tuesday 31 December
    ts = TimeSeries.from_dataframe(_bars(idx), freq="B")
    seen = []
    original = preparation_module.time_features

    def spy(stamps):
        feats = original(stamps)
        seen.append(feats)
        return feats

    monkeypatch.setattr(preparation_module, "time_features", spy)
    pred = _model().fit(ts).predict(4, num_samples=2)
    expected = pd.DatetimeIndex(["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-06"])  # Mon after Fri
    assert list(pred.time_index) == list(expected)
    future = seen[-1]  # the pipeline builds context features first, then the forecast bars'
    assert future.shape == (4, 5)
    # (minute, hour, weekday, day, month): day and month count from 1 in what the model sees
    np.testing.assert_array_equal(future[:, 2], [2, 3, 4, 0])
    np.testing.assert_array_equal(future[:, 3], [1, 2, 3, 6])
    np.testing.assert_array_equal(future[:, 4], [1, 1, 1, 1])
    # ... while Darts' own datetime attributes count them from 0
    darts_day = datetime_attribute_timeseries(pred.time_index, "day").values()[:, 0]
    darts_month = datetime_attribute_timeseries(pred.time_index, "month").values()[:, 0]
    np.testing.assert_array_equal(future[:, 3], darts_day + 1)
    np.testing.assert_array_equal(future[:, 4], darts_month + 1)
    np.testing.assert_array_equal(seen[-2][-1], [0, 0, 1, 31, 12])  # last context bar: Tue 31 Dec


def test_historical_forecasts_give_100_samples_per_window_equal_to_standalone_forecasts(series):
    model = _model().fit(series[:100])
    hf = model.historical_forecasts(
        series[:200],
        start=150,
        start_format="position",
        forecast_horizon=3,
        stride=20,
        retrain=False,
        num_samples=100,
        last_points_only=False,
    )
    origins = [150, 170, 190]
    assert len(hf) == len(origins)
    for fc, origin in zip(hf, origins, strict=True):
        assert fc.all_values().shape == (3, 6, 100)
        assert fc.start_time() == series.time_index[origin]
    # a window is one forecast from the series up to its origin: the same paths as predicting it alone
    alone = model.predict(3, series=series[:170], num_samples=100)
    np.testing.assert_array_equal(hf[1].all_values(), alone.all_values())
    # without `start`, the first window is the first with the pipeline's minimum context (8 bars)
    first = model.historical_forecasts(series[:12], forecast_horizon=1, retrain=False, num_samples=2)
    assert first.start_time() == series.time_index[8] and len(first) == 4


def test_historical_forecasts_do_not_leak_bars_after_the_origin(series):
    """Darts users fit on the whole series and backtest with `historical_forecasts(retrain=False)`, so the
    model holds the bars after every origin. Changing them (prices, volumes) and the row count (20 bars
    appended) leaves the forecasts from the origins up to the change bit-identical; later ones change. A
    model that read one bar past the window Darts passes (e.g. from its training series) fails here."""
    t = 140  # first changed bar
    kwargs = dict(
        start=120,
        start_format="position",
        forecast_horizon=3,
        stride=10,
        retrain=False,
        num_samples=4,
        last_points_only=False,
    )
    base_series = series[:160]
    values = series[:180].values().copy()
    values[t:, :4] *= 1.5  # open, high, low, close (bars stay valid OHLC)
    values[t:, 4:] *= 3.0  # volume, amount
    changed = series[:180].with_values(values)  # and 20 bars more than base_series
    base = _model().fit(base_series).historical_forecasts(base_series, **kwargs)
    after = _model().fit(changed).historical_forecasts(changed, **kwargs)
    origins = (120, 130, 140, 150)
    assert [fc.start_time() for fc in base] == [series.time_index[o] for o in origins]
    for k, origin in enumerate(origins):
        if origin <= t:  # forecasts made from the bars before t
            np.testing.assert_array_equal(base[k].all_values(), after[k].all_values(), err_msg=str(origin))
        else:
            assert not np.allclose(base[k].all_values(), after[k].all_values())


def test_backtest_with_probabilistic_metrics_is_finite_and_averages_the_windows(series):
    model = _model().fit(series[:100])
    kwargs = dict(
        start=150,
        start_format="position",
        forecast_horizon=3,
        stride=20,
        retrain=False,
        num_samples=20,
        last_points_only=False,
    )
    hf = model.historical_forecasts(series[:200], **kwargs)
    crps = model.backtest(series[:200], historical_forecasts=hf, metric=mcrps)
    assert np.isfinite(crps) and crps > 0
    assert crps == pytest.approx(np.mean([mcrps(series[:200], fc) for fc in hf]))
    closes = series["close"][:200]
    both = model.backtest(closes, metric=[mcrps, mql], **kwargs)
    assert both.shape == (2,) and np.isfinite(both).all() and (both > 0).all()


def test_univariate_series_is_read_as_closes_and_returns_a_univariate_series(
    series, ohlcv_input, tiny_pipeline
):
    closes = series["close"][:90].with_columns_renamed("close", "price")
    pred = _model(seed=5).fit(closes).predict(5, num_samples=6)
    assert list(pred.components) == ["price"] and pred.all_values().shape == (5, 1, 6)
    frame = frame_from_close(ohlcv_input["close"].iloc[:90].set_axis(ohlcv_input["timestamps"].iloc[:90]))
    fc = tiny_pipeline.forecast(frame, horizon=5, num_samples=6, seed=5)
    np.testing.assert_array_equal(_paths(pred)[..., 0], fc.column("close")[0])
    assert fc.constructed_columns[0] == ("volume", "amount")


def test_list_of_series_returns_a_list_with_each_series_own_index(series, tiny_pipeline, ohlcv_input):
    idx = pd.bdate_range("2023-01-02", periods=40)
    daily = TimeSeries.from_dataframe(
        _bars(idx, seed=2, names=("Open", "High", "Low", "Close", "Volume")), freq="B"
    )
    model = _model(seed=9).fit([series[:70], daily])
    preds = model.predict(3, series=[series[:70], daily], num_samples=4)
    assert isinstance(preds, list) and len(preds) == 2
    assert preds[0].all_values().shape == (3, 6, 4) and preds[1].all_values().shape == (3, 5, 4)
    assert list(preds[1].components) == ["Open", "High", "Low", "Close", "Volume"]
    assert preds[1].start_time() == pd.Timestamp(idx[-1]) + pd.offsets.BDay(1)
    # series 0 of a call is the standalone forecast; series 1 uses the pipeline's stream for series 1
    np.testing.assert_array_equal(
        preds[0].all_values(), model.predict(3, series=series[:70], num_samples=4).all_values()
    )
    fc = tiny_pipeline.forecast(
        [ohlcv_input.iloc[:70].set_index("timestamps"), _bars(idx, seed=2)], horizon=3, num_samples=4, seed=9
    )
    np.testing.assert_array_equal(_paths(preds[1]), fc.samples[1][..., :5])
    with pytest.raises(ValueError, match="`series` is required"):
        model.predict(3)


def test_range_index_series_uses_constant_stamps_and_continues_the_integer_index(ohlcv_input, tiny_pipeline):
    bars = ohlcv_input[["open", "high", "low", "close"]].iloc[:50]
    ts = TimeSeries.from_times_and_values(
        pd.RangeIndex(100, 200, 2), bars.to_numpy(), columns=["Open", "High", "Low", "Close"]
    )
    pred = _model(seed=1).fit(ts).predict(3, num_samples=3)
    assert list(pred.time_index) == [200, 202, 204]
    fc = tiny_pipeline.forecast(
        bars.reset_index(drop=True), horizon=3, num_samples=3, seed=1, missing_timestamps="constant"
    )
    np.testing.assert_array_equal(_paths(pred), fc.samples[0][..., :4])


def test_column_mapping_and_output_components(series):
    renamed = series[:60].with_columns_renamed(["open", "close"], ["o", "Adj Close"])
    model = _model(column_mapping={"open": "o", "close": "Adj Close"}, output_components=["Adj Close"])
    pred = model.fit(renamed).predict(2, num_samples=3)
    full = _model().fit(series[:60]).predict(2, num_samples=3)
    assert list(pred.components) == ["Adj Close"]
    np.testing.assert_array_equal(pred.all_values()[:, 0], full["close"].all_values()[:, 0])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda s: s[["close", "volume"]],
            r"missing the required column\(s\) \['open', 'high', 'low'\].*univariate",
        ),
        (lambda s: s.with_columns_renamed("open", "first"), r"missing the required column\(s\) \['open'\]"),
    ],
)
def test_when_components_cannot_be_mapped_then_fit_raises(series, make, match):
    with pytest.raises(KronosInputError, match=match):
        _model().fit(make(series[:40]))


def test_nan_bars_raise_naming_the_component_and_the_row(series):
    values = series[:60].values().copy()
    values[30, 3] = np.nan  # close at row 30
    bad = series[:60].with_values(values)
    with pytest.raises(KronosInputError, match=r"`series` column `close` has 1 NaN .* at row 30"):
        _model().fit(bad)
    # a univariate series: the error names its component and row, not a column built from it
    with pytest.raises(KronosInputError, match=r"`series` component `close` has 1 NaN .* at row 30"):
        _model().fit(bad["close"])
    with pytest.raises(KronosInputError, match=r"component `close` has 1 NaN .* at row 30"):
        _model().fit(series[:60]["close"]).predict(2, series=bad["close"])


def test_unsorted_bars_are_sorted_by_darts_and_duplicate_timestamps_are_refused(ohlcv_input):
    """Darts builds every TimeSeries sorted and unique, so the adapter never receives such bars: unsorted
    rows give the forecast of the sorted ones, and a repeated timestamp is refused by Darts itself."""
    frame = ohlcv_input.iloc[:60].set_index("timestamps")
    swapped = frame.iloc[[*range(30), 31, 30, *range(32, 60)]]
    assert not swapped.index.is_monotonic_increasing
    ordered = TimeSeries.from_dataframe(frame, freq="5min")
    from_swapped = TimeSeries.from_dataframe(swapped, freq="5min")
    assert from_swapped.time_index.equals(ordered.time_index)
    np.testing.assert_array_equal(
        _model().fit(from_swapped).predict(3, num_samples=2).all_values(),
        _model().fit(ordered).predict(3, num_samples=2).all_values(),
    )
    repeated = frame.copy()
    repeated.index = repeated.index.where(np.arange(60) != 31, frame.index[30])
    with pytest.raises(ValueError, match="duplicate"):
        TimeSeries.from_dataframe(repeated, freq="5min")


def test_invalid_arguments_raise_clear_errors(series):
    with pytest.raises(KronosInputError, match=r"`output_components` \['Close'\].*choose among"):
        _model(output_components=["Close"]).fit(series[:40])
    with pytest.raises(KronosInputError, match="`column_mapping` has keys"):
        _model(column_mapping={"Close": "close"})
    with pytest.raises(KronosInputError, match="at least 8"):
        _model().fit(series[:5])
    with pytest.raises(ValueError, match="`past_covariates` is not supported"):
        _model().fit(series[:40], past_covariates=series[:40])
    stochastic = series[:40].with_values(np.repeat(series[:40].all_values(), 2, axis=2))
    with pytest.raises(KronosInputError, match="stochastic"):
        _model().fit(stochastic)


def test_saved_and_loaded_model_gives_the_same_paths(series, tmp_path):
    model = _model(seed=2).fit(series[:50])
    model.save(str(tmp_path / "kronos.pkl"))
    loaded = KronosModel.load(str(tmp_path / "kronos.pkl"))  # Darts' safe loading: the class is allow-listed
    np.testing.assert_array_equal(
        loaded.predict(2, num_samples=3).all_values(), model.predict(2, num_samples=3).all_values()
    )
    assert loaded.model_params["seed"] == 2 and loaded.untrained_model().model_params == model.model_params


def test_saved_model_keeps_its_calibration_config(series, tmp_path):
    from kronos_plugins.calibration import CalibrationConfig

    model = _model(seed=2, calibration=CalibrationConfig(n_origins=3, min_origins=0)).fit(series[:50])
    model.save(str(tmp_path / "kronos.pkl"))
    loaded = KronosModel.load(str(tmp_path / "kronos.pkl"))  # CalibrationConfig is allow-listed too
    np.testing.assert_array_equal(
        loaded.predict(2, num_samples=3).all_values(), model.predict(2, num_samples=3).all_values()
    )
    assert loaded.model_params["calibration"] == CalibrationConfig(n_origins=3, min_origins=0)


# ------------------------------------------------------------------------------------------------------------
def test_quickstart_page_runs(capsys):
    """Execute the ```python blocks of docs/ecosystems/darts.md, on the tiny checkpoint."""
    page = (ROOT / "docs" / "ecosystems" / "darts.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    assert blocks and "MODEL =" in blocks[0]
    namespace: dict = {}
    exec(compile(blocks[0], "darts.md[0]", "exec"), namespace)
    namespace.update(MODEL=CHECKPOINT["model"], TOKENIZER=CHECKPOINT["tokenizer"], MAX_CONTEXT=128)
    for k, block in enumerate(blocks[1:], start=1):
        exec(compile(block, f"darts.md[{k}]", "exec"), namespace)
    out = capsys.readouterr().out
    assert "(12, 5, 100)" in out and "(6, 1, 50)" in out and "3 (3, 5, 100)" in out
    assert namespace["pred"].time_index[0] == namespace["series"].end_time() + pd.Timedelta(minutes=5)
    assert np.isfinite(namespace["scores"]).all() and np.isfinite(namespace["closes_score"])
