"""GluonTS `KronosEstimator`: ``train(training_data, validation_data)`` fine-tunes and returns a serialisable
`KronosPredictor`; other predictors keep their weights. Tiny random-weight checkpoint, a few steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("gluonts")

from gluonts.model.predictor import Predictor  # noqa: E402

from kronos_plugins import KronosInputError  # noqa: E402
from kronos_plugins.adapters.gluonts import KronosEstimator, KronosPredictor  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "kronos-reference" / "tiny-learnte"
CHECKPOINT = dict(model=str(TINY / "model"), tokenizer=str(TINY / "tokenizer"), max_context=64)
SETTINGS = dict(context=16, horizon=8, steps=8, batch_size=8, lr=3e-3, eval_every=4, patience=None)
COLUMNS = ["open", "high", "low", "close", "volume"]


def _entry(bars: pd.DataFrame, start: int, stop: int) -> dict:
    return {
        "start": pd.Period(bars.index[start], freq="5min"),
        "target": bars[COLUMNS].to_numpy().T[:, start:stop],
        "item_id": "a",
    }


@pytest.fixture(scope="module")
def bars(ohlcv_input) -> pd.DataFrame:
    return ohlcv_input.set_index("timestamps")


@pytest.fixture(scope="module")
def trained(bars, tmp_path_factory):
    estimator = KronosEstimator(
        prediction_length=4,
        finetune=SETTINGS,
        output_dir=tmp_path_factory.mktemp("ft"),
        target_columns=COLUMNS,
        num_samples=5,
        seed=0,
        **CHECKPOINT,
    )
    # validation continues the training entry: its targets are bars 300..359 only
    predictor = estimator.train([_entry(bars, 0, 300)], validation_data=[_entry(bars, 0, 360)])
    return estimator, predictor


def test_train_fine_tunes_and_returns_a_predictor_with_new_forecasts(trained, bars):
    estimator, predictor = trained
    res = estimator.finetune_result_
    assert isinstance(predictor, KronosPredictor)
    assert res["val_loss_after"] < res["val_loss_before"] and res["train_loss_last"] < res["train_loss_first"]
    assert res["data_span"]["train_bars"] == 300 and res["data_span"]["val_bars"] == 60
    test = [_entry(bars, 200, 320)]
    zero = KronosPredictor(prediction_length=4, target_columns=COLUMNS, num_samples=5, seed=0, **CHECKPOINT)
    a = next(iter(zero.predict(test))).samples
    b = next(iter(predictor.predict(test))).samples
    assert a.shape == b.shape == (5, 4, 5) and not np.allclose(a, b)


def test_the_predictor_serialises_with_its_weights(trained, bars, tmp_path):
    _, predictor = trained
    predictor.serialize(tmp_path / "p")
    assert (tmp_path / "p" / "kronos-weights" / "model" / "model.safetensors").is_file()
    loaded = Predictor.deserialize(tmp_path / "p")
    assert loaded.__init_args__["model"] == str(tmp_path / "p" / "kronos-weights")
    test = [_entry(bars, 100, 240)]
    np.testing.assert_array_equal(
        next(iter(loaded.predict(test))).samples, next(iter(predictor.predict(test))).samples
    )


def test_training_leaves_other_predictors_on_the_checkpoint_unchanged(bars, tmp_path):
    other = KronosPredictor(prediction_length=3, target_columns=COLUMNS, num_samples=4, seed=2, **CHECKPOINT)
    test = [_entry(bars, 0, 120)]
    before = next(iter(other.predict(test))).samples
    KronosEstimator(3, {**SETTINGS, "steps": 2}, tmp_path, target_columns=COLUMNS, **CHECKPOINT).train(
        [_entry(bars, 0, 200)]
    )
    np.testing.assert_array_equal(next(iter(other.predict(test))).samples, before)


def test_when_settings_or_data_are_bad_then_clear_errors(bars, tmp_path):
    with pytest.raises(KronosInputError, match="`finetune`: unknown fine-tuning setting"):
        KronosEstimator(4, {"lr_rate": 1e-3}, target_columns=COLUMNS, **CHECKPOINT)
    estimator = KronosEstimator(4, SETTINGS, tmp_path, target_columns=COLUMNS, **CHECKPOINT)
    with pytest.raises(KronosInputError, match="too little history for one training window"):
        estimator.train([_entry(bars, 0, 20)])
    frozen = KronosEstimator(
        4, {**SETTINGS, "unfreeze": ["heads*"]}, tmp_path, target_columns=COLUMNS, **CHECKPOINT
    )
    with pytest.raises(KronosInputError, match="`unfreeze` pattern 'heads\\*' matches no parameter"):
        frozen.train([_entry(bars, 0, 200)])
