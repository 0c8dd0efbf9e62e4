"""The harness model ``kronos-finetuned`` (`kronos_plugins.benchmark.finetuned`): fine-tunes on the history it
is given, caches the weights per history (memory and disk), records the fine-tuning time, and forecasts in the
harness' contract. Tiny random-weight checkpoint, a few steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import kronos_plugins.benchmark.finetuned as finetuned_module
from kronos_plugins.benchmark.finetuned import KronosFinetunedModel, finetuned_settings
from tests.conftest import REFERENCE, hourly_bars

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


def _bars_csv(path, n: int = 260, seed: int = 0, after: int | None = None):
    """Regular hourly bars; with `after`, every bar from row `after` on is replaced by a different walk."""
    hourly_bars(n, seed, perturb_from=after).to_csv(path, index=False)
    return path


def test_the_harness_fine_tunes_before_the_first_origin_only(monkeypatch, tmp_path):
    """Through `run_suite`: bars after the first origin changed -> the forecast AT the first origin (whose
    context precedes it) is identical, so the fine-tuned weights saw nothing after it; and the fine-tuned
    forecasts differ from zero-shot ones on the same windows."""
    import pandas as pd

    from kronos_plugins.benchmark.runner import run_suite
    from kronos_plugins.benchmark.suite import Suite

    def run(csv):
        monkeypatch.setattr(finetuned_module, "_TUNED", {})
        kronos = {"checkpoint": str(TINY / "model"), "tokenizer": str(TINY / "tokenizer"), "max_context": 64}
        suite = Suite.from_dict(
            {
                "name": "finetune-unit",
                "datasets": [{"path": str(csv), "name": "bars", "start": 200}],
                "context_length": 48,
                "horizons": [2],
                "origins": {"n": 3, "step": 20},
                "num_samples": 8,
                "seeds": [0],
                "kronos": kronos,
                "models": [
                    {"model": "naive"},
                    {"model": "kronos"},
                    {
                        "model": "kronos-finetuned",
                        "steps": 6,
                        "batch_size": 8,
                        "lr": 3e-3,
                        "context": 16,
                        "horizon": 8,
                        "patience": None,
                    },
                ],
            }
        )
        result = run_suite(suite, workers=1, use_cache=False, progress=False)
        assert result.windows["error"].isna().all(), result.windows["error"].dropna().tolist()
        return result.steps.set_index(["model", "origin_index"]).sort_index()

    clean = run(_bars_csv(tmp_path / "clean.csv"))
    changed = run(_bars_csv(tmp_path / "changed.csv", after=201))  # from just after the first origin on
    first = clean.loc["kronos-finetuned"].index.min()
    # forecasts (median and interval widths), not scores: the targets after the origin changed on purpose
    cols = ["timestamp", "y_pred", "width_50", "width_80", "width_95"]
    pd.testing.assert_frame_equal(
        clean.loc[("kronos-finetuned", first), cols], changed.loc[("kronos-finetuned", first), cols]
    )
    assert not np.allclose(  # the targets did change
        clean.loc[("kronos-finetuned", first), "y_true"], changed.loc[("kronos-finetuned", first), "y_true"]
    )
    # a later origin's context includes changed bars, so its forecast differs (the perturbation is real)
    last = clean.loc["kronos-finetuned"].index.max()
    assert not np.allclose(
        clean.loc[("kronos-finetuned", last), "y_pred"], changed.loc[("kronos-finetuned", last), "y_pred"]
    )
    # fine-tuning changed the forecasts of the same windows
    assert not np.allclose(clean.loc["kronos-finetuned", "y_pred"], clean.loc["kronos", "y_pred"])
