"""One window, one checkpoint, one seed: the pipeline, Darts, sktime and GluonTS give identical sample paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("darts")
pytest.importorskip("sktime")
pytest.importorskip("gluonts")

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")

from darts import TimeSeries  # noqa: E402
from gluonts.dataset.common import ListDataset  # noqa: E402

from kronos_plugins import KronosPipeline  # noqa: E402
from kronos_plugins.adapters.darts import KronosModel  # noqa: E402
from kronos_plugins.adapters.gluonts import KronosPredictor  # noqa: E402
from kronos_plugins.adapters.sktime import KronosForecaster  # noqa: E402
from kronos_plugins.columns import frame_from_close  # noqa: E402

from ..conftest import REFERENCE  # noqa: E402

CKPT = {
    "model": str(REFERENCE / "tiny-learnte" / "model"),
    "tokenizer": str(REFERENCE / "tiny-learnte" / "tokenizer"),
}
SETTINGS = dict(max_context=64, temperature=0.9, top_k=0, top_p=0.95, seed=11)
H, S = 6, 8
OHLCV = ["open", "high", "low", "close", "volume"]


@pytest.fixture(scope="module")
def bars(ohlcv_input) -> pd.DataFrame:
    return ohlcv_input.iloc[40:110].set_index("timestamps")[OHLCV]


def _pipeline_paths(frame: pd.DataFrame, future: pd.DatetimeIndex) -> np.ndarray:
    pipe = KronosPipeline.from_pretrained(**CKPT, max_context=SETTINGS["max_context"])
    kw = {k: v for k, v in SETTINGS.items() if k != "max_context"}
    return pipe.forecast(frame, horizon=H, num_samples=S, future_timestamps=future, **kw).samples[
        0
    ]  # (S, H, 6)


def test_close_only_paths_are_identical_through_every_interface(bars):
    # a regular 5-minute index, so that every host builds the same future timestamps from its frequency
    close = pd.Series(
        bars["close"].to_numpy(), index=pd.date_range("2024-03-05 10:00", periods=len(bars), freq="5min")
    )
    future = pd.date_range(close.index[-1], periods=H + 1, freq="5min")[1:]
    expected = _pipeline_paths(frame_from_close(close), future)[..., 3]  # (S, H) close

    darts_pred = KronosModel(**CKPT, **SETTINGS).fit(TimeSeries.from_series(close)).predict(H, num_samples=S)
    darts_paths = darts_pred.all_values()[:, 0, :].T  # (S, H)

    sk = KronosForecaster(**CKPT, **SETTINGS, num_samples=S).fit(close.rename("close"))
    spl = sk.predict_proba(fh=list(range(1, H + 1))).spl
    sktime_paths = spl.iloc[:, 0].to_numpy().reshape(S, H)

    ds = ListDataset(
        [{"start": pd.Period(close.index[0], freq="5min"), "target": close.to_numpy()}], freq="5min"
    )
    gl = next(iter(KronosPredictor(prediction_length=H, **CKPT, **SETTINGS, num_samples=S).predict(ds)))

    for name, paths in [("darts", darts_paths), ("sktime", sktime_paths), ("gluonts", gl.samples)]:
        np.testing.assert_array_equal(paths, expected, err_msg=name)
    assert len({tuple(p) for p in expected}) == S  # S distinct paths: equality is not trivially true


def test_ohlcv_paths_are_identical_through_every_interface(bars):
    frame = bars.set_axis(pd.date_range("2024-03-05 10:00", periods=len(bars), freq="5min"))
    future = pd.date_range(frame.index[-1], periods=H + 1, freq="5min")[1:]
    expected = _pipeline_paths(frame, future)[..., :5]  # (S, H, 5)

    darts_pred = (
        KronosModel(**CKPT, **SETTINGS).fit(TimeSeries.from_dataframe(frame)).predict(H, num_samples=S)
    )
    darts_paths = darts_pred.all_values().transpose(2, 0, 1)  # (S, H, 5)

    sk = KronosForecaster(**CKPT, **SETTINGS, num_samples=S).fit(frame)
    spl = sk.predict_proba(fh=list(range(1, H + 1))).spl[OHLCV]
    sktime_paths = spl.to_numpy().reshape(S, H, 5)

    ds = ListDataset(
        [{"start": pd.Period(frame.index[0], freq="5min"), "target": frame.to_numpy().T}],
        freq="5min",
        one_dim_target=False,
    )
    gl = next(
        iter(
            KronosPredictor(
                prediction_length=H, **CKPT, **SETTINGS, num_samples=S, target_columns=OHLCV
            ).predict(ds)
        )
    )

    for name, paths in [("darts", darts_paths), ("sktime", sktime_paths), ("gluonts", gl.samples)]:
        np.testing.assert_array_equal(paths, expected, err_msg=name)


def test_calibrated_paths_are_identical_through_every_interface(bars):
    """Calibration runs in the pipeline: each adapter's `calibration=` gives its calibrated paths."""
    calibration = {"method": "conformal", "n_origins": 4, "min_origins": 0}
    # float32 values: GluonTS stores targets as float32, and calibration reads the realised bars exactly
    close = pd.Series(
        bars["close"].to_numpy(np.float32).astype(np.float64),
        index=pd.date_range("2024-03-05 10:00", periods=len(bars), freq="5min"),
    )
    future = pd.date_range(close.index[-1], periods=H + 1, freq="5min")[1:]
    pipe = KronosPipeline.from_pretrained(**CKPT, max_context=SETTINGS["max_context"])
    kw = {k: v for k, v in SETTINGS.items() if k != "max_context"}
    fc = pipe.forecast(
        frame_from_close(close), H, num_samples=S, future_timestamps=future, calibration=calibration, **kw
    )
    raw = pipe.forecast(frame_from_close(close), H, num_samples=S, future_timestamps=future, **kw)
    expected = fc.samples[0, ..., 3]
    assert fc.calibration[0]["n_origins"] == 4 and not np.allclose(expected, raw.samples[0, ..., 3])

    darts = KronosModel(**CKPT, **SETTINGS, calibration=calibration).fit(TimeSeries.from_series(close))
    darts_paths = darts.predict(H, num_samples=S).all_values()[:, 0, :].T
    sk = KronosForecaster(**CKPT, **SETTINGS, num_samples=S, calibration=calibration).fit(
        close.rename("close")
    )
    sktime_paths = sk.predict_proba(fh=list(range(1, H + 1))).spl.iloc[:, 0].to_numpy().reshape(S, H)
    ds = ListDataset(
        [{"start": pd.Period(close.index[0], freq="5min"), "target": close.to_numpy()}], freq="5min"
    )
    predictor = KronosPredictor(
        prediction_length=H, **CKPT, **SETTINGS, num_samples=S, calibration=calibration
    )
    gl = next(iter(predictor.predict(ds)))

    for name, paths in [("darts", darts_paths), ("sktime", sktime_paths), ("gluonts", gl.samples)]:
        np.testing.assert_array_equal(paths, expected, err_msg=name)
    assert gl.info["kronos"]["calibration"]["origins"] == fc.calibration[0]["origins"]


def test_every_adapter_takes_every_shared_setting():
    import dataclasses
    import inspect

    from kronos_plugins.adapters._common import KronosSettings

    shared = {f.name for f in dataclasses.fields(KronosSettings)}
    for cls in (KronosModel, KronosForecaster, KronosPredictor):
        params = set(inspect.signature(cls.__init__).parameters)
        assert shared <= params, f"{cls.__name__} lacks {sorted(shared - params)}"


def test_lookback_and_non_positive_series_mean_the_same_in_every_interface(bars):
    """A spread (values around 0) with lookback: the same paths everywhere, and the same refusal by default."""
    spread = pd.Series(
        (bars["close"].to_numpy(np.float32) - np.float32(bars["close"].mean())).astype(np.float64),
        index=pd.date_range("2024-03-05 10:00", periods=len(bars), freq="5min"),
    )
    assert (spread < 0).any() and (spread > 0).any()
    future = pd.date_range(spread.index[-1], periods=H + 1, freq="5min")[1:]
    pipe = KronosPipeline.from_pretrained(**CKPT, max_context=SETTINGS["max_context"])
    kw = {k: v for k, v in SETTINGS.items() if k != "max_context"}
    extra = dict(lookback=24, allow_non_positive=True)
    expected = pipe.forecast(
        frame_from_close(spread), H, num_samples=S, future_timestamps=future, **kw, **extra
    ).samples[0, ..., 3]
    whole = pipe.forecast(
        frame_from_close(spread), H, num_samples=S, future_timestamps=future, **kw, allow_non_positive=True
    ).samples[0, ..., 3]
    assert not np.allclose(expected, whole)  # the lookback changes the forecast

    ds = ListDataset(
        [{"start": pd.Period(spread.index[0], freq="5min"), "target": spread.to_numpy()}], freq="5min"
    )

    def darts(**more):
        model = KronosModel(**CKPT, **SETTINGS, **more).fit(TimeSeries.from_series(spread))
        return model.predict(H, num_samples=S).all_values()[:, 0, :].T

    def sktime(**more):
        sk = KronosForecaster(**CKPT, **SETTINGS, num_samples=S, **more).fit(spread.rename("close"))
        return sk.predict_proba(fh=list(range(1, H + 1))).spl.iloc[:, 0].to_numpy().reshape(S, H)

    def gluonts(**more):
        predictor = KronosPredictor(prediction_length=H, **CKPT, **SETTINGS, num_samples=S, **more)
        return next(iter(predictor.predict(ds))).samples

    for name, run in [("darts", darts), ("sktime", sktime), ("gluonts", gluonts)]:
        np.testing.assert_array_equal(run(**extra), expected, err_msg=name)
        with pytest.raises(ValueError, match="allow_non_positive"):
            run()
