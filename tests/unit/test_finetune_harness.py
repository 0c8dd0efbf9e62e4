"""The harness model ``kronos-finetuned`` (`kronos_plugins.benchmark.finetuned`): fine-tunes on the history it
is given, caches the weights per history (memory and disk), records the fine-tuning time, and forecasts in the
harness' contract. Tiny random-weight checkpoint, a few steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import kronos_plugins.benchmark.finetuned as finetuned_module
from kronos_plugins.benchmark.finetuned import KronosFinetunedModel, finetuned_settings
from tests.conftest import REFERENCE

TINY = REFERENCE / "tiny-learnte"


def _model(**kwargs) -> KronosFinetunedModel:
    settings = {k: s.default for k, s in finetuned_settings().items()}
    settings.update(
        checkpoint=str(TINY / "model"),
        tokenizer=str(TINY / "tokenizer"),
        max_context=64,
        steps=6,
        batch_size=8,
        lr=3e-3,
        context=16,
        horizon=8,
        patience=None,
    )
    settings.update(kwargs)
    return KronosFinetunedModel(**settings)


@pytest.fixture
def history(ohlcv_input):
    return ohlcv_input.set_index("timestamps").iloc[:300]


def test_fit_fine_tunes_on_the_history_and_forecasts_in_the_harness_contract(history, monkeypatch):
    monkeypatch.setattr(finetuned_module, "_TUNED", {})
    model = _model().fit(history, seed=3)
    info = model.finetune_info
    assert not info["cached"] and info["steps"] == 6 and model.finetune_seconds > 0
    assert info["data_span"]["last"] == str(history.index[-1])  # nothing after the history was read
    base = _model().pipeline().model.state_dict()
    tuned = model.forecaster().model.state_dict()
    assert any(not torch.equal(base[k], tuned[k]) for k in base)
    paths = model.forecast(history.iloc[-40:], horizon=5, num_samples=4, seed=1)
    assert paths.shape == (4, 5) and np.isfinite(paths).all()
    # the harness' batched path forecasts with the fine-tuned weights too, not the base ones
    batch = model.forecast_batch([history.iloc[-40:]], horizon=5, num_samples=4, seeds=[1])
    np.testing.assert_array_equal(batch[0], paths)
    base_paths = _model().pipeline().forecast(history.iloc[-40:], horizon=5, num_samples=4, seed=1).samples
    assert not np.allclose(base_paths[0, :, :, 3], paths)  # close column of the base checkpoint's paths


def test_the_weights_are_cached_per_history_in_memory_and_on_disk(history, monkeypatch, tmp_path):
    monkeypatch.setattr(finetuned_module, "_TUNED", {})
    first = _model(cache_dir=str(tmp_path)).fit(history, seed=0)
    again = _model(cache_dir=str(tmp_path)).fit(history, seed=1)  # another harness seed: same weights
    assert again.finetune_info["cached"] and again.forecaster() is first.forecaster()
    assert again.finetune_seconds == first.finetune_seconds
    other = _model(cache_dir=str(tmp_path)).fit(
        history.iloc[:280], seed=0
    )  # another dataset: fine-tuned again
    assert not other.finetune_info["cached"] and other.forecaster() is not first.forecaster()

    monkeypatch.setattr(finetuned_module, "_TUNED", {})  # a new process: the disk cache serves it
    disk = _model(cache_dir=str(tmp_path)).fit(history, seed=0)
    assert disk.finetune_seconds == first.finetune_seconds
    window = history.iloc[-50:]
    np.testing.assert_array_equal(
        disk.forecast(window, horizon=3, num_samples=3, seed=2),
        first.forecast(window, horizon=3, num_samples=3, seed=2),
    )


def test_forecast_before_fit_is_an_error(history):
    with pytest.raises(RuntimeError, match="after `fit"):
        _model().forecast(history, horizon=2, num_samples=2, seed=0)
