"""sktime `KronosForecaster(finetune=...)`: `pretrain` on a panel and `fit` fine-tune, through sktime's own
state machine (``capability:pretrain``); other forecasters keep their weights. Tiny checkpoint, a few steps."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sktime")

from kronos_plugins import KronosInputError  # noqa: E402
from kronos_plugins.adapters.sktime import KronosForecaster  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "kronos-reference" / "tiny-learnte"
CHECKPOINT = dict(model=str(TINY / "model"), tokenizer=str(TINY / "tokenizer"), max_context=64)
SETTINGS = dict(
    context=16, horizon=8, steps=8, batch_size=8, lr=3e-3, eval_every=4, patience=None, val_fraction=0.2
)


def _forecaster(**kwargs) -> KronosForecaster:
    return KronosForecaster(**{**CHECKPOINT, "num_samples": 6, "seed": 0, **kwargs})


@pytest.fixture(scope="module")
def bars(ohlcv_input) -> pd.DataFrame:
    return ohlcv_input.set_index("timestamps")[["open", "high", "low", "close", "volume"]]


@pytest.fixture(scope="module")
def panel(bars) -> pd.DataFrame:
    """Three instruments of 150 bars (slices of the reference bars), as an sktime pd-multiindex panel."""
    parts = {f"asset{i}": bars.iloc[i * 120 : i * 120 + 150] for i in range(2)}
    return pd.concat(parts, names=["instrument", "timestamps"])


def test_pretrain_on_a_panel_fine_tunes_and_fit_keeps_the_pretrained_weights(panel, bars):
    f = _forecaster(finetune=SETTINGS)
    f.pretrain(panel)
    assert f.state == "pretrained"
    res = f.finetune_result_
    assert res["data_span"]["series"] == 2 and res["val_loss_after"] < res["val_loss_before"]
    assert res["train_loss_last"] < res["train_loss_first"]
    pretrained = f.finetuned_pipeline_
    y = bars.iloc[-80:]
    zero_shot = _forecaster().fit(y).predict(fh=[1, 2, 3])
    # fit on y fine-tunes further, from the pretrained weights; the pretrained pipeline stays as it was
    tuned = f.fit(y).predict(fh=[1, 2, 3])
    assert f.state == "fitted" and f.finetuned_pipeline_ is pretrained
    assert "pretrained on a panel" in f.finetune_result_["base"]
    assert tuned.shape == zero_shot.shape and not np.allclose(tuned.to_numpy(), zero_shot.to_numpy())


def test_fit_fine_tunes_on_y_and_other_forecasters_keep_their_forecasts(bars):
    other = _forecaster(seed=5).fit(bars.iloc[:100])
    before = other.predict_quantiles(fh=[1, 2], alpha=[0.1, 0.9])
    f = _forecaster(finetune=SETTINGS).fit(bars.iloc[:300])
    assert f.finetune_result_["val_loss_after"] < f.finetune_result_["val_loss_before"]
    pd.testing.assert_frame_equal(other.predict_quantiles(fh=[1, 2], alpha=[0.1, 0.9]), before)
    zero = _forecaster().fit(bars.iloc[:300]).predict(fh=[1, 2])
    assert not np.allclose(f.predict(fh=[1, 2]).to_numpy(), zero.to_numpy())
    clone = pickle.loads(pickle.dumps(f))  # the fitted forecaster, weights included, pickles
    pd.testing.assert_frame_equal(clone.predict(fh=[1, 2]), f.predict(fh=[1, 2]))


def test_pretrain_without_finetune_warns_and_changes_nothing(panel, bars):
    f = _forecaster()
    with pytest.warns(UserWarning, match="changes nothing"):
        f.pretrain(panel)
    assert f.finetuned_pipeline_ is None
    y = bars.iloc[-60:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.testing.assert_series_equal(
            f.fit(y["close"]).predict(fh=[1, 2]), _forecaster().fit(y["close"]).predict(fh=[1, 2])
        )


def test_when_finetune_settings_or_data_are_bad_then_clear_errors(bars):
    with pytest.raises(KronosInputError, match="`finetune`: unknown fine-tuning setting"):
        _forecaster(finetune={"step": 3}).fit(bars.iloc[:100])
    with pytest.raises(KronosInputError, match="`freeze` pattern 'decoder' matches no parameter"):
        _forecaster(finetune={**SETTINGS, "freeze": ["decoder"]}).fit(bars.iloc[:100])
    with pytest.raises(KronosInputError, match="too little history for one training window"):
        _forecaster(finetune=SETTINGS).fit(bars.iloc[:20])
