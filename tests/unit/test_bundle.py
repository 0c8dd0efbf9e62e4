"""Bundling a training run as the package default, and loading it with no argument."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from kronos_plugins import CheckpointError, KronosPipeline
from kronos_plugins.checkpoints import BUNDLED_DIR, bundled_checkpoint
from kronos_plugins.training.bundle import bundle_run

from ..conftest import FIXTURES, REFERENCE

PINNED = FIXTURES / "bundled_sha256.txt"  # the one place to update after a deliberate retrain


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


def test_a_context_chosen_at_bundling_becomes_the_default_lookback_and_is_bounded(fake_run, tmp_path):
    summary = json.loads((fake_run / "training_summary.json").read_text())
    summary["config"] = {"data": {"context": 80, "min_context": 16}}
    (fake_run / "training_summary.json").write_text(json.dumps(summary))
    kept = bundle_run(fake_run, tmp_path / "kept")
    assert json.loads((kept / "bundle.json").read_text())["context"] == 80
    chosen = bundle_run(fake_run, tmp_path / "chosen", context=48)
    assert json.loads((chosen / "bundle.json").read_text())["context"] == 48
    card = (chosen / "MODEL_CARD.md").read_text()
    assert "last 48 bars" in card and "select-defaults" in card
    assert "from 16 to 80 bars" in card.replace("\n  ", " ")
    with pytest.raises(ValueError, match=r"context=97 must lie in \[1, 96\]"):
        bundle_run(fake_run, tmp_path / "bad", context=97)


def test_an_anchored_bundle_anchors_its_forecasts_by_default(fake_run, tmp_path):
    from kronos_plugins.checkpoints import training_anchor

    plain = bundle_run(fake_run, tmp_path / "plain")
    anchored = bundle_run(fake_run, tmp_path / "anchored", anchor=True)
    assert "anchor" not in json.loads((plain / "bundle.json").read_text())
    assert json.loads((anchored / "bundle.json").read_text())["anchor"] is True
    assert training_anchor(plain / "model") is False
    assert training_anchor(anchored / "model") is True


def test_a_temperature_chosen_at_bundling_is_written_and_checked(fake_run, tmp_path):
    from kronos_plugins.checkpoints import training_temperature

    plain = bundle_run(fake_run, tmp_path / "plain")
    hot = bundle_run(fake_run, tmp_path / "hot", temperature=1.4)
    assert "temperature" not in json.loads((plain / "bundle.json").read_text())
    assert json.loads((hot / "bundle.json").read_text())["temperature"] == 1.4
    assert "Sampling temperature:** 1.4 by default" in (hot / "MODEL_CARD.md").read_text()
    assert training_temperature(plain / "model") is None and training_temperature(hot / "model") == 1.4
    with pytest.raises(ValueError, match="temperature=0 must be a number > 0"):
        bundle_run(fake_run, tmp_path / "bad", temperature=0)


def test_the_model_card_names_the_runs_a_warm_started_stage_continued_from(fake_run, tmp_path):
    summary = json.loads((fake_run / "training_summary.json").read_text())
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    first = {
        **summary["stages"]["model"],
        "steps": 3000,
        "batch_size": 32,
        "initial_val_loss": 7.25,
        "final_val_loss": 1.875,
        "train_seconds": 2820.0,
    }
    (earlier / "training_summary.json").write_text(json.dumps({"stages": {"model": first}}))
    summary["stages"]["model"]["init"] = str(earlier / "model")
    (fake_run / "training_summary.json").write_text(json.dumps(summary))
    card = (bundle_run(fake_run, tmp_path / "bundled") / "MODEL_CARD.md").read_text()
    assert f"2 x 3 (continued from `{earlier / 'model'}`)" in card
    assert (
        f"**Model lineage** (oldest first): `{earlier}`: 3000 x 32 steps, validation loss 7.2500 -> 1.8750, 47 min."
        in card
    )
    assert "Tokenizer lineage" not in card


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


def _digests(text: str) -> dict[str, str]:
    """`sha256sum` lines (digest, two spaces, relative path) -> {path: digest}; # comments skipped."""
    rows = [line.split(maxsplit=1) for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {name.strip(): digest for digest, name in rows}


def test_the_shipped_weights_are_the_ones_pinned_in_the_tests():
    """Every file of the bundle's model/ and tokenizer/ is listed in tests/fixtures/bundled_sha256.txt with
    its digest (a new or renamed weight file fails), and the bundle's own SHA256SUMS, which the loader
    checks, lists each of them with the same digest."""
    pinned = _digests(PINNED.read_text())
    shipped = {
        p.relative_to(BUNDLED_DIR).as_posix()
        for part in ("model", "tokenizer")
        for p in (BUNDLED_DIR / part).rglob("*")
        if p.is_file()
    }
    assert {"model/model.safetensors", "tokenizer/model.safetensors"} <= shipped
    assert shipped == set(pinned), (
        f"unpinned: {sorted(shipped - set(pinned))}, gone: {sorted(set(pinned) - shipped)}"
    )
    for name, digest in pinned.items():
        assert hashlib.sha256((BUNDLED_DIR / name).read_bytes()).hexdigest() == digest, name
    sums = _digests((BUNDLED_DIR / "SHA256SUMS").read_text())
    listed = {name: sums.get(name) for name in pinned}
    assert listed == pinned, f"SHA256SUMS does not list the pinned digests: {listed}"


def _decoder_run(tmp_path, base_tok_dir, trainable="decoder", perturb=("decoder.",)):
    """A finished decoder-only run's layout: the base tokenizer with the named parameters nudged, as "wicks"."""
    import dataclasses

    from kronos_plugins.checkpoints import load_tokenizer, save_checkpoint
    from kronos_plugins.tokenizer import KronosTokenizer

    base = load_tokenizer(base_tok_dir)
    tok = KronosTokenizer(dataclasses.replace(base.config, candle_head="wicks"))
    sd = {k: v + 0.01 if k.startswith(perturb) else v for k, v in base.state_dict().items()}
    tok.load_state_dict(sd)
    run = tmp_path / "wicks-run"
    save_checkpoint(tok, run / "tokenizer")
    stage = dict(steps=5, batch_size=4, initial_val_loss=0.3, final_val_loss=0.1, train_seconds=120.0)
    summary = dict(
        completed=True,
        command="kronos-train --config wicks.yaml",
        created="2026-12-06",
        git_commit="def",
        wall_time_s=130.0,
        config={"train_tokenizer": {"trainable": trainable}},
        stages={"tokenizer": stage},
    )
    (run / "training_summary.json").write_text(json.dumps(summary))
    return run


def test_a_decoder_only_run_replaces_the_bundled_tokenizer_and_nothing_else(fake_run, tmp_path):
    from kronos_plugins.training.bundle import replace_tokenizer

    dest = bundle_run(fake_run, tmp_path / "bundled")
    model_before = (dest / "model" / "model.safetensors").read_bytes()
    meta_before = json.loads((dest / "bundle.json").read_text())
    run = _decoder_run(tmp_path, dest / "tokenizer")
    replace_tokenizer(run, dest)
    model_dir, tok_dir, max_context = bundled_checkpoint(dest)  # checksums rewritten: it loads
    assert (model_dir / "model.safetensors").read_bytes() == model_before and max_context == 96
    assert (tok_dir / "model.safetensors").read_bytes() == (
        run / "tokenizer" / "model.safetensors"
    ).read_bytes()
    meta = json.loads((dest / "bundle.json").read_text())
    assert meta.pop("tokenizer_run")["candle_head"] == "wicks"
    assert meta == meta_before  # the model's provenance and default context are kept
    card = (dest / "MODEL_CARD.md").read_text()
    assert card.count("**Tokenizer decoder**") == 1 and "kronos-train --config wicks.yaml" in card
    replace_tokenizer(run, dest)  # again: the card's line is replaced, not repeated
    assert (dest / "MODEL_CARD.md").read_text().count("**Tokenizer decoder**") == 1


@pytest.mark.parametrize(
    ("trainable", "perturb", "match"),
    [("all", ("decoder.",), "trained the whole tokenizer"), ("decoder", ("encoder.",), "does not share")],
)
def test_a_run_that_changes_the_token_ids_cannot_replace_the_tokenizer(
    fake_run, tmp_path, trainable, perturb, match
):
    from kronos_plugins.training.bundle import replace_tokenizer

    dest = bundle_run(fake_run, tmp_path / "bundled")
    sums = (dest / "SHA256SUMS").read_text()
    with pytest.raises(ValueError, match=match):
        replace_tokenizer(_decoder_run(tmp_path, dest / "tokenizer", trainable, perturb), dest)
    assert (dest / "SHA256SUMS").read_text() == sums
