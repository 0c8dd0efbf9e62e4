"""GluonTS adapter: shapes, dates, seeds and batching, serde, evaluation, leakage, errors, the docs page."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("gluonts")

from gluonts.dataset.common import ListDataset  # noqa: E402
from gluonts.dataset.split import split  # noqa: E402
from gluonts.ev.metrics import MSE, MeanWeightedSumQuantileLoss  # noqa: E402
from gluonts.model import evaluate_model  # noqa: E402
from gluonts.model.predictor import Predictor  # noqa: E402

from kronos_plugins import KronosPipeline  # noqa: E402
from kronos_plugins.adapters.gluonts import KronosPredictor  # noqa: E402
from kronos_plugins.columns import frame_from_close  # noqa: E402
from kronos_plugins.validation import KronosInputError  # noqa: E402

from ..conftest import REFERENCE  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore:Using `json`-module:UserWarning")

CKPT = REFERENCE / "tiny-learnte"
H = 4  # prediction_length
S = 4  # num_samples
OHLCV = ["open", "high", "low", "close", "volume"]
DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "ecosystems" / "gluonts.md"


def make(**kwargs) -> KronosPredictor:
    settings = dict(
        prediction_length=H,
        model=str(CKPT / "model"),
        tokenizer=str(CKPT / "tokenizer"),
        max_context=128,
        num_samples=S,
        seed=0,
    )
    return KronosPredictor(**{**settings, **kwargs})


@pytest.fixture(scope="module")
def pipe():
    return KronosPipeline.from_pretrained(model=CKPT / "model", tokenizer=CKPT / "tokenizer", max_context=128)


@pytest.fixture(scope="module")
def bars(ohlcv_input) -> pd.DataFrame:
    return ohlcv_input.set_index("timestamps")


def univariate(bars, lengths=(120,), freq="5min", start=None) -> ListDataset:
    start = bars.index[0] if start is None else start
    return ListDataset(
        [
            {"start": start, "target": bars["close"].to_numpy()[i : i + n], "item_id": f"s{i}"}
            for i, n in enumerate(lengths)
        ],
        freq=freq,
    )


def multivariate(bars, columns=OHLCV, n=120) -> ListDataset:
    return ListDataset(
        [{"start": bars.index[0], "target": bars[columns].to_numpy()[:n].T, "item_id": "m"}],
        freq="5min",
        one_dim_target=False,
    )


def timestamps(entry, n=None) -> pd.DatetimeIndex:
    return pd.period_range(entry["start"], periods=n or entry["target"].shape[-1]).to_timestamp()


# ---------------------------------------------------------------------------------------------------------
# shapes, dates and identity with the pipeline


def test_univariate_forecast_is_the_pipelines_close_paths_for_a_single_entry(bars, pipe):
    ds = univariate(bars)
    (fc,) = make(seed=7).predict(ds)
    entry = next(iter(ds))
    ref = pipe.forecast(
        frame_from_close(pd.Series(entry["target"], index=timestamps(entry))),
        horizon=H,
        num_samples=S,
        seed=7,
    )
    assert fc.samples.shape == (S, H)
    np.testing.assert_array_equal(fc.samples, ref.column("close")[0])
    assert fc.info["kronos"] == {"seed": 7, "constructed_columns": ("volume", "amount")}


def test_multivariate_forecast_follows_target_columns_order(bars, pipe):
    order = ["close", "volume", "open", "low", "high"]  # rows deliberately not in Kronos order
    (fc,) = make(target_columns=order).predict(multivariate(bars, order))
    ref = pipe.forecast(bars[OHLCV].iloc[:120], horizon=H, num_samples=S, seed=0)
    assert fc.samples.shape == (S, H, len(order))
    for d, col in enumerate(order):
        np.testing.assert_allclose(fc.samples[..., d], ref.column(col)[0], rtol=1e-6)
    assert fc.info["kronos"]["constructed_columns"] == ("amount",)


def test_column_mapping_renames_target_rows(bars):
    (named,) = make(target_columns=["open", "high", "low", "close"]).predict(multivariate(bars, OHLCV[:4]))
    mapping = {"open": "o", "high": "h", "low": "l", "close": "c"}
    (mapped,) = make(target_columns=["o", "h", "l", "c"], column_mapping=mapping).predict(
        multivariate(bars, OHLCV[:4])
    )
    np.testing.assert_array_equal(named.samples, mapped.samples)
    # row names resolve as the pipeline resolves a frame's columns: a unique case-insensitive match is enough
    (cased,) = make(target_columns=["Open", "HIGH", "low", "Close"]).predict(multivariate(bars, OHLCV[:4]))
    np.testing.assert_array_equal(named.samples, cased.samples)


def test_num_samples_in_predict_overrides_and_extends_the_same_paths(bars):
    (few,) = make(num_samples=2).predict(univariate(bars))
    (more,) = make(num_samples=2).predict(univariate(bars), num_samples=5)
    assert more.samples.shape == (5, H)
    np.testing.assert_array_equal(more.samples[:2], few.samples)


@pytest.mark.parametrize(
    "freq, start, n, expected_start, expected_future",
    [
        ("5min", "2024-03-04 23:40", 30, "2024-03-05 02:10", ["2024-03-05 02:10", "2024-03-05 02:15"]),
        # Friday 2024-01-05 + 30 business days is Friday 2024-02-16; the next bar is Monday 2024-02-19.
        ("B", "2024-01-05", 30, "2024-02-16", ["2024-02-16", "2024-02-19"]),
    ],
)
def test_start_date_item_id_and_future_timestamps(
    bars, pipe, freq, start, n, expected_start, expected_future
):
    ds = ListDataset(
        [
            {"start": start, "target": bars["close"].to_numpy()[:n], "item_id": "x"},
            {"start": start, "target": bars["close"].to_numpy()[: n + 3], "item_id": "y"},
        ],
        freq=freq,
    )
    first, second = make().predict(ds)
    assert (first.item_id, second.item_id) == ("x", "y")
    assert first.start_date == pd.Period(expected_start, freq)
    assert second.start_date == pd.Period(expected_start, freq) + 3
    # the forecast bars are stamped with the host's own future Periods (start times), not inferred ones
    future = pd.period_range(first.start_date, periods=H).to_timestamp()
    assert list(future[:2]) == list(pd.DatetimeIndex(expected_future))
    entry = next(iter(ds))
    ref = pipe.forecast(
        frame_from_close(pd.Series(entry["target"], index=timestamps(entry))),
        horizon=H,
        num_samples=S,
        seed=0,
        future_timestamps=future,
    )
    np.testing.assert_array_equal(first.samples, ref.column("close")[0])


def test_business_day_timestamps_skip_weekends(bars, pipe):
    """The entry's Periods, not calendar days, stamp the context: a calendar-day index gives other paths."""
    ds = univariate(bars, lengths=(40,), freq="B", start="2024-01-05")
    (fc,) = make().predict(ds)
    close = pd.Series(bars["close"].to_numpy()[:40])
    calendar_days = pd.date_range("2024-01-05", periods=40 + H, freq="D")
    wrong = pipe.forecast(
        frame_from_close(close.set_axis(calendar_days[:40])),
        horizon=H,
        num_samples=S,
        seed=0,
        future_timestamps=calendar_days[40:],
    )
    business_days = pd.bdate_range("2024-01-05", periods=40 + H)
    right = pipe.forecast(
        frame_from_close(close.set_axis(business_days[:40])),
        horizon=H,
        num_samples=S,
        seed=0,
        future_timestamps=business_days[40:],
    )
    np.testing.assert_array_equal(fc.samples, right.column("close")[0])
    assert not np.array_equal(fc.samples, wrong.column("close")[0])


# ---------------------------------------------------------------------------------------------------------
# seeding and batching


def test_paths_do_not_depend_on_batch_size_and_entries_have_own_streams(bars, pipe):
    lengths = (60, 60, 80, 50)
    ds = univariate(bars, lengths)
    one = list(make(batch_size=1).predict(ds))
    three = list(make(batch_size=3).predict(ds))
    for a, b in zip(one, three, strict=True):
        np.testing.assert_array_equal(a.samples, b.samples)
    # entry p is series p of one pipeline call over the whole dataset, with the same seed
    frames = [frame_from_close(pd.Series(e["target"], index=timestamps(e))) for e in ds]
    ref = pipe.forecast(frames, horizon=H, num_samples=S, seed=0)
    for p, fc in enumerate(one):
        np.testing.assert_array_equal(fc.samples, ref.column("close")[p])
        assert fc.info["kronos"]["seed"] == 0
    # identical inputs at different positions draw different streams
    twins = ListDataset([{"start": bars.index[0], "target": bars["close"].to_numpy()[:60]}] * 2, freq="5min")
    a, b = make().predict(twins)
    assert not np.array_equal(a.samples, b.samples)


@pytest.mark.parametrize("seed, batch_size, expected", [(None, 3, [3, 1]), (None, 10, [4]), (0, 3, [3, 1])])
def test_pipeline_calls_per_batch(bars, monkeypatch, seed, batch_size, expected):
    calls = []
    original = KronosPipeline.forecast

    def spy(self, context, *args, **kwargs):
        calls.append(len(context))
        return original(self, context, *args, **kwargs)

    monkeypatch.setattr(KronosPipeline, "forecast", spy)
    forecasts = list(make(seed=seed, batch_size=batch_size).predict(univariate(bars, (40, 50, 40, 60))))
    assert calls == expected
    assert [f.item_id for f in forecasts] == ["s0", "s1", "s2", "s3"]
    assert [f.start_date for f in forecasts] == [
        pd.Period(bars.index[0], "5min") + n for n in (40, 50, 40, 60)
    ]


# ---------------------------------------------------------------------------------------------------------
# serialization


def test_serialize_deserialize_round_trip(bars, tmp_path):
    predictor = make(model=CKPT / "model", target_columns=OHLCV, top_p=0.9, batch_size=2)
    predictor.serialize(tmp_path)
    stored = json.loads((tmp_path / "predictor.json").read_text())
    assert stored["kwargs"]["model"] == str(CKPT / "model")  # a Path is stored as a string
    restored = Predictor.deserialize(tmp_path)
    assert isinstance(restored, KronosPredictor)
    assert restored == predictor
    assert restored != make(model=CKPT / "model", target_columns=OHLCV, top_p=0.8, batch_size=2)
    assert pickle.loads(pickle.dumps(predictor)) == predictor
    ds = multivariate(bars)
    (a,), (b,) = predictor.predict(ds), restored.predict(ds)
    np.testing.assert_array_equal(a.samples, b.samples)


def test_calibration_config_serializes_as_a_dict(bars, tmp_path):
    from kronos_plugins.calibration import CalibrationConfig

    config = CalibrationConfig(method="scale", n_origins=3, min_origins=0)
    predictor = make(calibration=config)
    predictor.serialize(tmp_path)
    stored = json.loads((tmp_path / "predictor.json").read_text())
    assert stored["kwargs"]["calibration"] == config.to_dict()
    restored = Predictor.deserialize(tmp_path)
    assert restored == predictor == make(calibration=config.to_dict())
    assert restored != make(calibration="conformal")
    ds = univariate(bars, (60,))
    (a,), (b,) = predictor.predict(ds), restored.predict(ds)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.info["kronos"]["calibration"]["method"] == "scale"


# ---------------------------------------------------------------------------------------------------------
# evaluation and leakage


def test_evaluate_model_on_split_dataset(bars):
    ds = univariate(bars, (100, 80))
    _, template = split(ds, offset=-2 * H)
    test_data = template.generate_instances(prediction_length=H, windows=2)
    predictor = make()
    metrics = evaluate_model(
        predictor,
        test_data=test_data,
        metrics=[MSE(), MeanWeightedSumQuantileLoss(quantile_levels=[0.1, 0.5, 0.9])],
    )
    wql = metrics["mean_weighted_sum_quantile_loss"].item()
    assert np.isfinite(wql) and wql > 0
    # MSE from GluonTS equals the mean squared error of the forecast means against the labels it holds out
    forecasts = list(predictor.predict(test_data.input))
    errors = [f.mean - label["target"] for f, label in zip(forecasts, test_data.label, strict=True)]
    assert len(errors) == 4
    np.testing.assert_allclose(metrics["MSE[mean]"].item(), np.mean(np.square(errors)), rtol=1e-6)
    for f, label in zip(forecasts, test_data.label, strict=True):
        assert f.start_date == label["start"]


@pytest.mark.parametrize("layout", ["univariate", "multivariate"])
def test_forecasts_from_split_windows_do_not_see_bars_after_their_origin(bars, layout):
    """GluonTS' `split` + `generate_instances` cut test windows from whole entries. Changing every bar from
    row t on (prices, volumes) and the row count (20 bars appended) leaves the forecasts from the windows
    whose origin is at most t bit-identical; the later window's forecast changes. A predictor that was handed
    one bar past its window fails here."""
    n, t = 120, 100
    frame = bars[OHLCV].iloc[: n + 20].copy()
    frame.iloc[t:, :4] *= 1.5  # prices (bars stay valid OHLC); the 20 rows after n are the appended ones
    frame.iloc[t:, 4] *= 3.0  # volume

    def dataset(data: pd.DataFrame) -> ListDataset:
        if layout == "univariate":
            return ListDataset([{"start": data.index[0], "target": data["close"].to_numpy()}], freq="5min")
        entry = {"start": data.index[0], "target": data.to_numpy().T}
        return ListDataset([entry], freq="5min", one_dim_target=False)

    predictor = make(target_columns=None if layout == "univariate" else OHLCV)
    runs = []
    for data in (bars[OHLCV].iloc[:n], frame):
        _, template = split(dataset(data), offset=t - 2 * H)  # origins t - 8, t - 4, t, t + 4
        runs.append(list(predictor.predict(template.generate_instances(H, windows=4, distance=H).input)))
    before, after = runs
    origins = [t - 2 * H, t - H, t, t + H]
    stamps = bars.index
    assert [f.start_date.to_timestamp() for f in before] == [stamps[o] for o in origins]
    for fb, fa, origin in zip(before, after, origins, strict=True):
        assert fb.start_date == fa.start_date
        if origin <= t:
            np.testing.assert_array_equal(fb.samples, fa.samples, err_msg=str(origin))
        else:
            assert not np.allclose(fb.samples, fa.samples)


# ---------------------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(target_columns=["open", "high", "low", "close", "price"]),
            r"`target_columns` entry 'price'.*column_mapping",
        ),
        (
            dict(target_columns=["open", "high", "low"]),
            r"`target_columns` is missing the required column\(s\) \['close'\]",
        ),
        (dict(target_columns=["open", "high", "low", "close", "close"]), r"repeated: \['close'\]"),
        (dict(column_mapping={"close": "c"}), r"`column_mapping`.*`target_columns` is None"),
        (dict(num_samples=2.5), r"`num_samples`"),
        (dict(batch_size=0), r"`batch_size` must be >= 1"),
        (dict(prediction_length=0), r"`prediction_length` must be >= 1"),
        (dict(seed=1.5), r"`seed` must be an integer"),
    ],
)
def test_invalid_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)


def test_multivariate_target_with_mismatched_target_columns_raises(bars):
    predictor = make(target_columns=["open", "high", "low", "close"])
    with pytest.raises(
        KronosInputError, match=r"entry 0 \(item_id 'm'\).*\(5, 120\).*`target_columns`.*\(4, T\)"
    ):
        list(predictor.predict(multivariate(bars, OHLCV)))


@pytest.mark.parametrize(
    "kwargs, data, match",
    [
        (dict(), lambda b: multivariate(b), r"target shaped \(5, 120\).*`target_columns` is None"),
        (dict(target_columns=OHLCV), lambda b: univariate(b), r"target shaped \(120,\).*names 5 rows"),
        (
            dict(),
            lambda b: ListDataset(
                [{"start": b.index[0], "target": np.r_[1.0, np.nan, np.ones(20)], "item_id": "gap"}],
                freq="5min",
            ),
            r"entry 0 \(item_id 'gap'\): .*NaN",
        ),
        (dict(seed=None, batch_size=4), lambda b: univariate(b, (3, 40)), r"entries 0 to 1 .*context\[0\]"),
        (
            dict(),
            lambda b: [{"start": pd.Timestamp("2024-01-01"), "target": np.ones(20)}],
            r"`start` must be",
        ),
    ],
)
def test_bad_entries_raise_naming_the_entry(bars, kwargs, data, match):
    with pytest.raises(KronosInputError, match=match):
        list(make(**kwargs).predict(data(bars)))


# ---------------------------------------------------------------------------------------------------------
# docs


def test_docs_page_code_runs_on_the_tiny_checkpoint():
    text = DOCS_PAGE.read_text()
    code = "\n\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))
    code, n_model = re.subn(r'^MODEL = ".*"$', f"MODEL = {str(CKPT / 'model')!r}", code, flags=re.M)
    code, n_tok = re.subn(r'^TOKENIZER = ".*"$', f"TOKENIZER = {str(CKPT / 'tokenizer')!r}", code, flags=re.M)
    assert (n_model, n_tok) == (1, 1)
    namespace: dict = {}
    exec(compile(code, str(DOCS_PAGE), "exec"), namespace)
    assert namespace["forecast"].samples.shape == (20, 12)
    assert str(namespace["forecast"].start_date) == "2024-03-05 02:10"
    assert namespace["bar_forecast"].samples.shape == (20, 12, 5)
    assert np.isfinite(namespace["metrics"].to_numpy()).all()
