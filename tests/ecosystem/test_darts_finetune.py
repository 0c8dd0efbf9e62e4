"""Darts `KronosModel(enable_finetuning=...)`: fine-tuning through Darts' own `fit(series, val_series=...)`,
`save` / `load`, and the weights of other models left alone. Tiny random-weight checkpoint, a few steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("darts")

from darts import TimeSeries  # noqa: E402

from kronos_plugins import KronosInputError, KronosPipeline  # noqa: E402
from kronos_plugins.adapters.darts import KronosModel  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "kronos-reference" / "tiny-learnte"
CHECKPOINT = dict(model=str(TINY / "model"), tokenizer=str(TINY / "tokenizer"), max_context=64)
SETTINGS = dict(context=16, horizon=8, steps=16, batch_size=8, lr=2e-3, eval_every=8, patience=None)


@pytest.fixture(scope="module")
def series(ohlcv_input) -> TimeSeries:
    return TimeSeries.from_dataframe(ohlcv_input.set_index("timestamps"), freq="5min")


@pytest.fixture(scope="module")
def tuned(series):
    model = KronosModel(**CHECKPOINT, seed=0, enable_finetuning=True, finetune_config=SETTINGS)
    return model.fit(series[:300], val_series=series[300:360])


def test_fit_fine_tunes_on_the_series_and_early_stops_on_val_series(tuned, series):
    res = tuned.finetune_result_
    assert res["steps"] == 16 and res["val_loss_after"] < res["val_loss_before"]
    assert res["train_loss_last"] < res["train_loss_first"]
    # validation windows take their targets from val_series only: 60 bars, preceded by 16 context bars
    assert res["data_span"]["val_bars"] == 60 and res["data_span"]["train_bars"] == 300
    zero_shot = KronosModel(**CHECKPOINT, seed=0).fit(series[:300])
    a = zero_shot.predict(4, num_samples=4).all_values()
    b = tuned.predict(4, num_samples=4).all_values()
    assert a.shape == b.shape and not np.allclose(a, b)


def test_fine_tuning_leaves_other_models_on_the_checkpoint_unchanged(series):
    other = KronosModel(**CHECKPOINT, seed=3).fit(series[:200])
    before = other.predict(3, num_samples=3).all_values()
    KronosModel(**CHECKPOINT, seed=0, enable_finetuning=True, finetune_config={**SETTINGS, "steps": 4}).fit(
        series[:200]
    )
    np.testing.assert_array_equal(other.predict(3, num_samples=3).all_values(), before)


def test_save_and_load_give_identical_forecasts_and_the_weights_load_everywhere(tuned, tmp_path):
    path = tmp_path / "kronos.pkl"
    tuned.save(path)
    weights = tmp_path / "kronos.pkl.kronos"
    assert sorted(p.name for p in weights.rglob("*.safetensors")) == ["model.safetensors"] * 2
    loaded = KronosModel.load(path)
    expected = tuned.predict(5, num_samples=3).all_values()
    np.testing.assert_array_equal(loaded.predict(5, num_samples=3).all_values(), expected)
    # the weights directory is an ordinary checkpoint: a plain KronosModel and the pipeline load it
    plain = KronosModel(model=str(weights), seed=0).fit(tuned.training_series)
    np.testing.assert_array_equal(plain.predict(5, num_samples=3).all_values(), expected)
    assert KronosPipeline.from_pretrained(weights).max_context == 64


def test_freeze_patterns_in_enable_finetuning(series):
    model = KronosModel(
        **CHECKPOINT, enable_finetuning={"unfreeze": ["head*"]}, finetune_config={**SETTINGS, "steps": 2}
    ).fit(series[:200])
    res = model.finetune_result_
    assert 0 < res["trainable_parameters"] < res["total_parameters"]
    with pytest.raises(KronosInputError, match="`freeze` pattern 'encoder.*' matches no parameter"):
        KronosModel(**CHECKPOINT, enable_finetuning={"freeze": ["encoder.*"]}, finetune_config=SETTINGS).fit(
            series[:200]
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"enable_finetuning": {"frozen": ["head"]}}, r"key\(s\) \['frozen'\]"),
        ({"enable_finetuning": "yes"}, "must be True, False"),
        ({"finetune_config": {"steps": 3}}, "`enable_finetuning` is False"),
        ({"enable_finetuning": True, "finetune_config": {"step": 3}}, "Did you mean `steps`"),
    ],
)
def test_when_finetuning_arguments_are_invalid_then_error_at_construction(kwargs, match):
    with pytest.raises(KronosInputError, match=match):
        KronosModel(**CHECKPOINT, **kwargs)


def test_when_history_is_too_short_or_val_series_without_finetuning_then_error(series):
    with pytest.raises(KronosInputError, match="too little history for one training window"):
        KronosModel(**CHECKPOINT, enable_finetuning=True, finetune_config=SETTINGS).fit(series[:20])
    with pytest.raises(KronosInputError, match="only used for fine-tuning"):
        KronosModel(**CHECKPOINT).fit(series[:100], val_series=series[100:150])
