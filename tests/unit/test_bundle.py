"""Bundling a training run as the package default, and loading it with no argument."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from kronos_plugins import CheckpointError, KronosPipeline
from kronos_plugins.checkpoints import BUNDLED_DIR, bundled_checkpoint
from kronos_plugins.training.bundle import bundle_run

from ..conftest import REFERENCE


@pytest.fixture()
def fake_run(tmp_path):
    """A finished run's layout, with the tiny reference weights standing in for trained ones."""
    run = tmp_path / "run"
    for part in ("tokenizer", "model"):
        shutil.copytree(REFERENCE / "tiny-learnte" / part, run / part)
    (run / "losses.png").write_bytes(b"png")
    stage = dict(parameters=1, steps=2, batch_size=3, initial_val_loss=2.0, final_val_loss=1.0)
    summary = dict(
        completed=True,
        command="kronos-train --config x.yaml",
        seed=7,
        wall_time_s=60.0,
        cpu_count=2,
        device="cpu",
        torch_threads=2,
        created="2026-11-24",
        git_commit="abc",
        recommended_max_context=96,
        versions={"torch": "2.13.0"},
        data={
            "split": {"name": "s", "version": 1, "cutoff": "2017-03-31"},
            "assets": [{"freq": "1d", "pretrain_bars": 10, "validation_bars": 2, "licence": "MIT"}],
        },
        stages={
            "tokenizer": {
                **stage,
                "architecture": {
                    "d_model": 32,
                    "n_heads": 4,
                    "ff_dim": 64,
                    "n_enc_layers": 3,
                    "n_dec_layers": 3,
                    "s1_bits": 4,
                    "s2_bits": 4,
                },
            },
            "model": {**stage, "architecture": {"d_model": 32, "n_heads": 4, "ff_dim": 64, "n_layers": 2}},
        },
    )
    (run / "training_summary.json").write_text(json.dumps(summary))
    return run


def test_bundled_run_loads_with_no_argument(fake_run, tmp_path, monkeypatch, ohlcv_input):
    dest = bundle_run(fake_run, tmp_path / "bundled")
    card = (dest / "MODEL_CARD.md").read_text()
    assert "kronos-train --config x.yaml" in card and "Seed:** 7" in card and "1.0000" in card
    model_dir, tok_dir, max_context = bundled_checkpoint(dest)
    assert max_context == 96 and (model_dir / "model.safetensors").is_file()
    monkeypatch.setattr("kronos_plugins.checkpoints.bundled_checkpoint", lambda: bundled_checkpoint(dest))
    monkeypatch.setattr("kronos_plugins.pipeline._LOADED", {})
    pipe = KronosPipeline.from_pretrained()
    assert pipe.max_context == 96
    fc = pipe.forecast(ohlcv_input.iloc[:40].set_index("timestamps"), horizon=2, num_samples=2, seed=0)
    assert np.isfinite(fc.samples).all()


def test_when_a_bundled_file_is_altered_then_loading_fails(fake_run, tmp_path):
    dest = bundle_run(fake_run, tmp_path / "bundled")
    with open(dest / "model" / "model.safetensors", "ab") as f:
        f.write(b"\0")
    with pytest.raises(CheckpointError, match="does not match its SHA256SUMS"):
        bundled_checkpoint(dest)


def test_when_no_bundle_is_installed_then_error_says_how_to_build_it(tmp_path):
    with pytest.raises(CheckpointError, match="make train-bundled"):
        bundled_checkpoint(tmp_path)


def test_the_shipped_bundle_is_small_and_intact():
    model_dir, tok_dir, max_context = bundled_checkpoint(BUNDLED_DIR)
    size = sum(p.stat().st_size for d in (model_dir, tok_dir) for p in d.iterdir())
    assert size <= 25 * 2**20
    assert max_context >= 64
