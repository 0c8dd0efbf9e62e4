"""Fine-tuning (`kronos_plugins.training.finetune`): the loss falls, nothing after the origin is read, other
pipelines keep their weights, the saved directory loads everywhere, and bad input gets a clear error.

All on the tiny random-weight reference checkpoint, with short windows and a few steps (seconds each)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from kronos_plugins import KronosPipeline
from kronos_plugins.training.finetune import FinetuneConfig, apply_freeze, finetune
from kronos_plugins.validation import KronosInputError
from tests.conftest import REFERENCE

TINY = REFERENCE / "tiny-learnte"
FAST = dict(
    context=16, horizon=8, steps=16, batch_size=8, lr=2e-3, eval_every=8, patience=None, progress=False
)


def _pipe(share: bool = False) -> KronosPipeline:
    return KronosPipeline.from_pretrained(
        model=TINY / "model", tokenizer=TINY / "tokenizer", max_context=64, share_weights=share
    )


def _weights(module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def bars(ohlcv_input) -> pd.DataFrame:
    return ohlcv_input.set_index("timestamps")


@pytest.fixture(scope="module")
def tuned(bars):
    base = _pipe()
    before = _weights(base.model)
    result = finetune(base, bars, val_fraction=0.25, **FAST)
    return base, before, result


def test_finetuning_lowers_the_losses_and_changes_the_forecast(tuned, bars):
    base, _, result = tuned
    assert result.steps == FAST["steps"] and not result.stopped_early
    assert result.val_loss_after < result.val_loss_before
    assert result.train_loss_last < result.train_loss_first
    a = base.forecast(bars.iloc[:200], horizon=4, num_samples=4, seed=0).samples
    b = result.pipeline.forecast(bars.iloc[:200], horizon=4, num_samples=4, seed=0).samples
    assert not np.allclose(a, b)


def test_the_starting_pipeline_and_the_shared_cache_keep_their_weights(bars):
    shared = _pipe(share=True)  # what every adapter on this checkpoint gets from the weight cache
    before = _weights(shared.model)
    result = finetune(shared, bars, **{**FAST, "steps": 4})
    assert _same(_weights(shared.model), before)
    second = _pipe(share=True)
    assert second.model is shared.model and _same(_weights(second.model), before)
    assert result.pipeline.model is not shared.model
    assert not _same(_weights(result.pipeline.model), before)


def test_nothing_at_or_after_the_origin_reaches_the_weights(bars):
    """Perturb every bar from the origin on: the fine-tuned weights are bitwise the same. Perturbing training bars
    before it changes them (so the comparison can fail)."""
    origin = bars.index[300]
    settings = {**FAST, "steps": 6, "val_fraction": 0.2}
    ref = _weights(finetune(_pipe(), bars, origin=origin, **settings).pipeline.model)

    after = bars.copy()
    after.iloc[300:, :4] *= 3.0  # prices after the origin tripled (still valid bars)
    after.iloc[300:, 4:] *= 7.0
    assert _same(_weights(finetune(_pipe(), after, origin=origin, **settings).pipeline.model), ref)

    before = bars.copy()
    before.iloc[0:240:5, :4] *= 1.02  # every fifth training bar before the origin
    assert not _same(_weights(finetune(_pipe(), before, origin=origin, **settings).pipeline.model), ref)


def test_save_then_from_pretrained_gives_identical_forecasts(tuned, bars, tmp_path):
    _, _, result = tuned
    path = result.save(tmp_path / "ft")
    files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    assert files == [
        "MODEL_CARD.md",
        "bundle.json",
        "finetune.json",
        "model/config.json",
        "model/model.safetensors",
        "tokenizer/config.json",
        "tokenizer/model.safetensors",
    ]
    card = (path / "MODEL_CARD.md").read_text()
    assert str(result.base) in card and "2024-03-04 09:30:00" in card  # base checkpoint and first bar
    meta = json.loads((path / "finetune.json").read_text())
    assert meta["data_span"]["first"] == "2024-03-04 09:30:00" and meta["data_span"]["train_bars"] == 300
    loaded = KronosPipeline.from_pretrained(path)
    assert loaded.max_context == 64
    a = result.pipeline.forecast(bars.iloc[:120], horizon=5, num_samples=3, seed=1).samples
    b = loaded.forecast(bars.iloc[:120], horizon=5, num_samples=3, seed=1).samples
    np.testing.assert_array_equal(a, b)


def test_frozen_parameters_do_not_move(bars):
    base = _pipe()
    before = _weights(base.model)
    result = finetune(base, bars, freeze=["embedding", "transformer.0.*"], **{**FAST, "steps": 4})
    after = _weights(result.pipeline.model)
    frozen = [k for k in before if k.startswith(("embedding.", "transformer.0."))]
    moved = [k for k in before if not torch.equal(before[k], after[k])]
    assert frozen and not set(frozen) & set(moved)
    assert any(k.startswith("head.") for k in moved)
    assert result.trainable_parameters < result.total_parameters


def test_unfreeze_trains_only_the_named_parameters():
    model = _pipe().model
    names = apply_freeze(model, unfreeze=["head*"])
    assert names and all(n.startswith("head.") for n in names)
    assert all(p.requires_grad == n.startswith("head.") for n, p in model.named_parameters())


def test_early_stopping_restores_the_best_weights(bars):
    """With an improvement threshold nothing can meet, validation never improves on step 0: training stops after
    `patience` validations and the starting weights come back."""
    base = _pipe()
    before = _weights(base.model)
    result = finetune(base, bars, **{**FAST, "steps": 40, "eval_every": 2, "patience": 2, "min_delta": 1e9})
    assert result.stopped_early and result.steps == 4 and result.best_step == 0
    assert _same(_weights(result.pipeline.model), before)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"context": 300, "horizon": 8}, "max_context"),
        ({"freeze": ["embeding"]}, r"`freeze` pattern 'embeding' matches no parameter.*embedding"),
        ({"unfreeze": ["nothing.*"]}, "matches no parameter"),
        ({"freeze": ["head*"], "unfreeze": ["head*"]}, "not both"),
        ({"stpes": 3}, "Did you mean `steps`"),
        ({"steps": 0}, "`steps` 0 must be an integer >= 1"),
    ],
)
def test_when_settings_are_invalid_then_a_clear_error(bars, kwargs, match):
    with pytest.raises(KronosInputError, match=match):
        finetune(_pipe(), bars, **{**FAST, **kwargs})


def test_when_history_is_too_short_for_one_window_then_error(bars):
    with pytest.raises(
        KronosInputError, match=r"too little history for one training window.*needs .* 24 bars"
    ):
        finetune(_pipe(), bars.iloc[:25], **FAST)  # 25 bars, 6 of them the validation tail: 19 < 24
    with pytest.raises(KronosInputError, match="too little history"):
        finetune(_pipe(), bars, origin=bars.index[20], **FAST)


def test_when_the_validation_data_reaches_the_origin_then_error(bars):
    with pytest.raises(KronosInputError, match="overlaps the forecast origin"):
        finetune(_pipe(), bars.iloc[:300], val_data=bars.iloc[250:320], origin=bars.index[310], **FAST)


def test_config_coerce_accepts_true_dicts_and_single_patterns():
    assert FinetuneConfig.coerce(True) == FinetuneConfig()
    cfg = FinetuneConfig.coerce({"freeze": "embedding"}, steps=5)
    assert cfg.freeze == ["embedding"] and cfg.steps == 5
    with pytest.raises(KronosInputError, match="must be a FinetuneConfig"):
        FinetuneConfig.coerce("yes")
