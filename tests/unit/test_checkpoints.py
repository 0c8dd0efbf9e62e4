"""Loading checkpoints: published layout, optional buffers, clear errors, hub ids (download mocked)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from kronos_plugins import (
    CheckpointError,
    Kronos,
    KronosConfig,
    KronosPipeline,
    KronosTokenizer,
    KronosTokenizerConfig,
)
from kronos_plugins import checkpoints as ckpt
from kronos_plugins.checkpoints import load_model, load_tokenizer, save_checkpoint

from ..conftest import REFERENCE

MANIFEST = json.loads((REFERENCE / "official_state_dict_manifest.json").read_text())


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_published_configs_build_exactly_the_published_state_dict(name):
    entry = MANIFEST[name]
    cls, cfg = (KronosTokenizer, KronosTokenizerConfig) if "Tokenizer" in name else (Kronos, KronosConfig)
    module = cls(cfg.from_dict(entry["config"]))
    ours = {k: list(v.shape) for k, v in module.state_dict().items()}
    published = entry["state_dict"]
    # the only published keys we do not hold are recomputed buffers
    assert all(k.endswith(ckpt._OPTIONAL_BUFFER_SUFFIXES) for k in set(published) - set(ours))
    assert set(ours) <= set(published)
    assert all(ours[k] == published[k] for k in ours)
    assert sum(p.numel() for p in module.parameters()) == entry["n_parameters"]


def _copy(src: Path, dst: Path, edit=None) -> Path:
    shutil.copytree(src, dst)
    if edit is not None:
        state = load_file(dst / "model.safetensors")
        edit(state)
        save_file(state, dst / "model.safetensors")
    return dst


def test_checkpoint_without_saved_buffers_loads_to_the_same_model(tmp_path):
    src = REFERENCE / "tiny-learnte" / "model"

    def drop_buffers(state):
        for k in [k for k in state if k.endswith("rotary.inv_freq")]:
            del state[k]

    stripped = load_model(_copy(src, tmp_path / "m", drop_buffers))
    full = load_model(src)
    ids = torch.randint(0, 16, (1, 10))
    stamp = torch.zeros(1, 10, 5)
    with torch.no_grad():
        assert torch.equal(stripped.decode_s1(ids, ids, stamp)[0], full.decode_s1(ids, ids, stamp)[0])


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda s: s.pop("head.proj_s1.weight"), r"missing keys \(1\): \['head.proj_s1.weight'\]"),
        (
            lambda s: s.__setitem__("extra.weight", torch.zeros(2)),
            r"unexpected keys \(1\): \['extra.weight'\]",
        ),
        (
            lambda s: s.__setitem__("norm.weight", torch.zeros(7)),
            r"norm.weight: checkpoint \(7,\) vs model \(32,\)",
        ),
    ],
)
def test_when_checkpoint_does_not_fit_then_error_names_the_keys(tmp_path, edit, match):
    path = _copy(REFERENCE / "tiny-learnte" / "model", tmp_path / "m", edit)
    with pytest.raises(CheckpointError, match=match):
        load_model(path)


def test_when_only_pickle_weights_then_error_says_safetensors_only(tmp_path):
    d = tmp_path / "pickled"
    d.mkdir()
    shutil.copy(REFERENCE / "tiny-learnte" / "model" / "config.json", d)
    (d / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(CheckpointError, match=r"only safetensors are loaded \(no pickle\)"):
        load_model(d)


def test_when_tokenizer_given_as_model_then_error_says_which_kind(tmp_path):
    with pytest.raises(CheckpointError, match="tokenizer checkpoint, not a model"):
        load_model(REFERENCE / "tiny-learnte" / "tokenizer")
    with pytest.raises(CheckpointError, match="model checkpoint, not a tokenizer"):
        load_tokenizer(REFERENCE / "tiny-learnte" / "model")


@pytest.mark.parametrize("name", ["no-such-dir", "./missing/model", "a/b/c"])
def test_when_checkpoint_is_unknown_then_error_names_it(name):
    with pytest.raises(CheckpointError, match=f"unknown checkpoint `{name}`"):
        load_model(name)


def test_save_then_load_round_trips(tmp_path):
    model = Kronos(KronosConfig(s1_bits=4, s2_bits=4, n_layers=1, d_model=24, n_heads=3, ff_dim=32))
    loaded = load_model(save_checkpoint(model, tmp_path / "m"))
    assert loaded.config == model.config
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])


def test_hub_ids_download_config_and_safetensors_and_use_published_max_context(monkeypatch, tmp_path):
    """Hub loading with the download mocked by the fixture files (no network here)."""
    calls = []

    def fake_download(repo_id, filename, revision=None, cache_dir=None):
        calls.append((repo_id, filename, revision))
        kind = "tokenizer" if "Tokenizer" in repo_id else "model"
        return str(REFERENCE / "tiny-learnte" / kind / filename)

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    monkeypatch.setattr("kronos_plugins.pipeline._LOADED", {})
    pipe = KronosPipeline.from_pretrained(model="NeoQuasar/Kronos-mini", revision="main")
    assert pipe.max_context == 2048
    assert ("NeoQuasar/Kronos-mini", "model.safetensors", "main") in calls
    assert (
        "NeoQuasar/Kronos-Tokenizer-2k",
        "config.json",
        "main",
    ) in calls  # the published tokenizer pairing
    assert {f for _, f, _ in calls} == {"config.json", "model.safetensors"}
    small = KronosPipeline.from_pretrained(model="NeoQuasar/Kronos-small")
    assert small.max_context == 512


def test_pipelines_from_the_same_checkpoint_share_weights():
    d = REFERENCE / "tiny-learnte"
    a = KronosPipeline.from_pretrained(model=d / "model", tokenizer=d / "tokenizer")
    b = KronosPipeline.from_pretrained(model=d / "model", tokenizer=d / "tokenizer", max_context=64)
    assert a.model is b.model and a.tokenizer is b.tokenizer
    assert (a.max_context, b.max_context) == (512, 64)


def test_when_hub_download_fails_then_error_says_how_to_load_offline(monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(CheckpointError, match="offline, pass a local directory"):
        load_model("NeoQuasar/Kronos-small")


def test_checkpoint_pair_reads_every_way_of_naming_a_checkpoint(tmp_path):
    from kronos_plugins.checkpoints import BUNDLED_DIR, checkpoint_pair

    tiny = REFERENCE / "tiny-learnte"
    # a directory holding model/ and tokenizer/, alone
    assert checkpoint_pair(tiny, None) == (tiny / "model", tiny / "tokenizer", 512)
    assert checkpoint_pair(str(tiny), None, 64)[2] == 64
    # ... with a bundle.json: its training context (the bundled checkpoint copied elsewhere keeps it)
    copy = tmp_path / "copy"
    shutil.copytree(tiny, copy)
    (copy / "bundle.json").write_text(json.dumps({"max_context": 96}))
    assert checkpoint_pair(copy, None)[2] == 96
    # the bundled default, by absence or by name
    bundled = checkpoint_pair(None, None)
    assert bundled[:2] == (BUNDLED_DIR / "model", BUNDLED_DIR / "tokenizer")
    assert checkpoint_pair("bundled", None) == bundled
    assert bundled[2] == json.loads((BUNDLED_DIR / "bundle.json").read_text())["max_context"]
    # published ids get their tokenizer and window without a download
    assert checkpoint_pair("NeoQuasar/Kronos-mini", None) == (
        "NeoQuasar/Kronos-mini",
        "NeoQuasar/Kronos-Tokenizer-2k",
        2048,
    )
    # an explicit tokenizer wins over the directory layout
    assert checkpoint_pair(tiny / "model", tiny / "tokenizer") == (tiny / "model", tiny / "tokenizer", 512)
    with pytest.raises(ValueError, match="`tokenizer` given without `model`"):
        checkpoint_pair(None, tiny / "tokenizer")
    with pytest.raises(ValueError, match="nor a directory holding `model/` and `tokenizer/`"):
        checkpoint_pair(tiny / "model", None)


def test_a_checkpoint_directory_alone_loads_the_same_pipeline_as_its_two_parts():
    tiny = REFERENCE / "tiny-learnte"
    a = KronosPipeline.from_pretrained(tiny, max_context=64)
    b = KronosPipeline.from_pretrained(tiny / "model", tokenizer=tiny / "tokenizer", max_context=64)
    assert a.model is b.model and a.tokenizer is b.tokenizer


def test_local_copy_of_a_published_model_gets_its_published_context(tmp_path):
    """A download or Hub-cache snapshot of Kronos-mini is recognised by its config, not only by its hub id."""
    from kronos_plugins.checkpoints import checkpoint_pair, published_max_context

    mini = {
        "s1_bits": 10, "s2_bits": 10, "n_layers": 4, "d_model": 256, "n_heads": 4, "ff_dim": 512,
        "ffn_dropout_p": 0.25, "attn_dropout_p": 0.1, "resid_dropout_p": 0.25, "token_dropout_p": 0.1,
        "learn_te": True,
    }  # fmt: skip
    (tmp_path / "mini").mkdir()
    (tmp_path / "mini" / "config.json").write_text(json.dumps(mini))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text(json.dumps({**mini, "d_model": 128}))
    assert published_max_context(tmp_path / "mini") == 2048
    assert published_max_context(tmp_path / "other") == 512  # an unknown architecture: the default
    assert published_max_context(REFERENCE / "tiny-learnte" / "tokenizer") == 512
    _, _, ctx = checkpoint_pair(tmp_path / "mini", REFERENCE / "tiny-learnte" / "tokenizer")
    assert ctx == 2048
    assert checkpoint_pair(tmp_path / "mini", "tok", max_context=300)[2] == 300  # given wins
