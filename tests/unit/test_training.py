"""Training pipeline: windows, configs, both stages, resume, DDP (gloo), augmentation, fine-tuning."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("yaml")

from kronos_plugins.checkpoints import load_model, load_tokenizer  # noqa: E402
from kronos_plugins.cli import train_main  # noqa: E402
from kronos_plugins.training import (  # noqa: E402
    TrainConfig,
    TrainConfigError,
    WindowDataset,
    WindowSampler,
    generate_synthetic,
    load_config,
    normalise_window,
    series_from_frame,
    train,
)
from kronos_plugins.training.augment import bars_from_returns, garch_returns, synthetic_series  # noqa: E402
from kronos_plugins.training.data import validation_indices  # noqa: E402
from kronos_plugins.training.state import (  # noqa: E402
    flatten_optimizer_state,
    read_checkpoint,
    unflatten_optimizer_state,
)

CONFIGS = Path(__file__).parents[2] / "kronos_plugins" / "training" / "configs"


def tiny_config(out_dir, steps=(30, 30), **overrides) -> dict:
    """A config dict for a tiny tokenizer + model on synthetic data (seconds on one core)."""
    cfg = {
        "seed": 0,
        "out_dir": str(out_dir),
        "device": "cpu",
        "progress": False,
        "tokenizer": {
            "d_model": 16,
            "n_heads": 2,
            "ff_dim": 32,
            "n_enc_layers": 2,
            "n_dec_layers": 2,
            "s1_bits": 4,
            "s2_bits": 4,
        },
        "model": {"d_model": 16, "n_heads": 2, "ff_dim": 32, "n_layers": 1},
        "data": {
            "source": "synthetic",
            "n_series": 6,
            "length": 160,
            "context": 24,
            "horizon": 8,
            "val_windows": 32,
        },
        "train_tokenizer": {
            "steps": steps[0],
            "batch_size": 8,
            "lr": 3e-3,
            "warmup_steps": 3,
            "eval_every": 10,
            "checkpoint_every": 10,
        },
        "train_model": {
            "steps": steps[1],
            "batch_size": 8,
            "lr": 3e-3,
            "warmup_steps": 3,
            "eval_every": 10,
            "checkpoint_every": 10,
        },
    }
    for key, value in overrides.items():
        node = cfg
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return cfg


def state_dicts(result) -> dict[str, torch.Tensor]:
    out = {f"tokenizer.{k}": v for k, v in result.tokenizer.state_dict().items()}
    out.update({f"model.{k}": v for k, v in result.model.state_dict().items()})
    return out


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ----------------------------------------------------------------------------------------------------------------
# windows


def _frame(n=120, seed=0) -> pd.DataFrame:
    return synthetic_series("garch", n, np.random.default_rng(seed))


def test_window_normalisation_uses_context_only():
    series = series_from_frame(_frame())
    context, horizon, start = 32, 16, 10
    ds = WindowDataset([series], context, horizon)
    x_before, *_ = ds[start]
    window = series.values[start : start + context + horizon]
    _, mean_before, std_before = normalise_window(window, context)

    series.values[start + context : start + context + horizon] *= 3.0  # rewrite the window's horizon in place
    x_after, *_ = ds[start]
    _, mean_after, std_after = normalise_window(window, context)

    np.testing.assert_array_equal(mean_before, mean_after)
    np.testing.assert_array_equal(std_before, std_after)
    torch.testing.assert_close(x_before[:context], x_after[:context], rtol=0, atol=0)
    assert not torch.equal(x_before[context:], x_after[context:])
    # the context part is standardised (up to the clip at 5) with its own statistics
    ctx = x_before[:context].numpy()
    np.testing.assert_allclose(ctx.mean(axis=0)[:4], 0, atol=1e-4)
    assert x_before.abs().max() <= 5.0


def test_validation_windows_keep_their_horizon_after_first_target():
    frame = _frame(100)
    series = series_from_frame(frame, first_target=40)
    ds = WindowDataset([series], context=24, horizon=8)
    starts = [ds.locate(i)[1] for i in range(len(ds))]
    assert min(starts) + 24 == 40 and max(starts) + 32 == 100
    idx = validation_indices(ds, 5)
    assert len(idx) == 5 and len(set(idx.tolist())) == 5


def test_sampler_is_deterministic_and_ranks_split_the_global_batch():
    ds = WindowDataset([series_from_frame(_frame(150, s)) for s in range(3)], 24, 8)
    a = list(WindowSampler(ds, 8, seed=3, num_steps=4))
    b = list(WindowSampler(ds, 8, seed=3, start_step=2, num_steps=4))
    assert a[2:] == b
    ranks = [list(WindowSampler(ds, 8, seed=3, num_steps=4, rank=r, world_size=2)) for r in range(2)]
    for step in range(4):
        assert sorted(ranks[0][step] + ranks[1][step]) == sorted(a[step])
    with pytest.raises(ValueError, match="divisible"):
        WindowSampler(ds, 7, seed=0, world_size=2)


# ----------------------------------------------------------------------------------------------------------------
# training, outputs, fine-tuning


def test_losses_decrease_and_outputs_are_written(tmp_path):
    import yaml

    out = tmp_path / "run"
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_config(out)))
    assert train_main(["--config", str(path), "--quiet"]) == 0

    summary = json.loads((out / "training_summary.json").read_text())
    for stage in ("tokenizer", "model"):
        s = summary["stages"][stage]
        assert s["steps"] == 30
        assert s["final_val_loss"] < 0.9 * s["initial_val_loss"], (stage, s)
    assert summary["command"].startswith("kronos-train --config")
    assert summary["seed"] == 0 and summary["completed"] and summary["wall_time_s"] > 0
    rows = json.loads((out / "train_log.json").read_text())
    assert {(r["stage"], r["split"]) for r in rows} == {
        (s, p) for s in ("tokenizer", "model") for p in ("train", "val")
    }
    assert pd.read_csv(out / "train_log.csv").shape[0] == len(rows)
    assert (out / "losses.png").read_bytes()[:4] == b"\x89PNG"
    tok, model = load_tokenizer(out / "tokenizer"), load_model(out / "model")
    assert model.config.s1_bits == tok.s1_bits == 4

    # Fine-tuning reuses the same code: start from the checkpoints, tokenizer frozen, changed dropout.
    ft = tiny_config(
        tmp_path / "ft", steps=(0, 3), init_tokenizer=str(out / "tokenizer"), init_model=str(out / "model")
    )
    ft["tokenizer"] = {}
    ft["model"] = {"resid_dropout_p": 0.1}
    result = train(TrainConfig.from_dict(ft))
    assert result.model.config.resid_dropout_p == 0.1
    for k, v in load_tokenizer(out / "tokenizer").state_dict().items():
        torch.testing.assert_close(result.tokenizer.state_dict()[k], v, rtol=0, atol=0)
    assert not torch.equal(result.model.head.proj_s1.weight, model.head.proj_s1.weight)


@pytest.mark.integration
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    steps = (6, 6)
    drop = {
        "tokenizer.resid_dropout_p": 0.1,
        "model.resid_dropout_p": 0.1,
    }  # resume must replay dropout draws
    full = train(TrainConfig.from_dict(tiny_config(tmp_path / "full", steps, **drop)))
    reference = state_dicts(full)
    reference_rows = json.loads((tmp_path / "full" / "train_log.json").read_text())
    for stop in (4, 9):  # inside stage 1, inside stage 2
        cfg = TrainConfig.from_dict(tiny_config(tmp_path / f"stop{stop}", steps, **drop))
        first = train(cfg, stop_after_steps=stop)
        assert not first.completed
        state, _, _ = read_checkpoint(tmp_path / f"stop{stop}" / "checkpoints")
        assert (state["stage"], state["step"]) == (("tokenizer", 4) if stop == 4 else ("model", 3))
        with pytest.raises(FileExistsError, match="--resume"):
            train(cfg)
        resumed = train(cfg, resume=True)
        assert resumed.completed
        got = state_dicts(resumed)
        assert got.keys() == reference.keys()
        for k in reference:
            assert torch.equal(got[k], reference[k]), (stop, k)
        rows = json.loads((tmp_path / f"stop{stop}" / "train_log.json").read_text())
        strip = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows]
        assert strip == [{k: v for k, v in r.items() if k != "elapsed_s"} for r in reference_rows]
    changed = TrainConfig.from_dict(
        tiny_config(tmp_path / "stop4", steps, **drop, **{"train_model.lr": 1e-2})
    )
    with pytest.raises(TrainConfigError, match="train_model.lr"):
        train(changed, resume=True)


def test_snapshots_keep_the_weights_of_the_steps_asked_for(tmp_path):
    cfg = tiny_config(tmp_path, steps=(4, 6), **{"train_model.snapshot_every": 3})
    result = train(TrainConfig.from_dict(cfg))
    kept = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "snapshots").rglob("step*"))
    assert kept == ["snapshots/model/step3", "snapshots/model/step6"]  # none for the tokenizer stage (0)
    final = result.model.state_dict()
    at6 = load_model(tmp_path / "snapshots" / "model" / "step6").state_dict()
    at3 = load_model(tmp_path / "snapshots" / "model" / "step3").state_dict()
    assert all(torch.equal(at6[k], final[k]) for k in final)
    assert not all(torch.equal(at3[k], final[k]) for k in final)  # an earlier step's weights, not a copy
    with pytest.raises(TrainConfigError, match="snapshot_every"):
        TrainConfig.from_dict(tiny_config(tmp_path, **{"train_model.snapshot_every": -1}))


def test_a_run_resumes_with_snapshots_turned_on_and_keeps_them_from_then(tmp_path):
    train(TrainConfig.from_dict(tiny_config(tmp_path, steps=(2, 6))), stop_after_steps=5)  # model step 3
    saved = json.loads((tmp_path / "checkpoints" / "state.json").read_text())["config"]
    del saved["train_model"]["snapshot_every"]  # a checkpoint written before the key existed
    state_file = tmp_path / "checkpoints" / "state.json"
    doc = json.loads(state_file.read_text())
    doc["config"] = saved
    state_file.write_text(json.dumps(doc))
    train(
        TrainConfig.from_dict(tiny_config(tmp_path, steps=(2, 6), **{"train_model.snapshot_every": 2})),
        resume=True,
    )
    kept = sorted(p.name for p in (tmp_path / "snapshots" / "model").iterdir())
    assert kept == ["step4", "step6"]  # the steps after the resume only


def test_checkpoints_hold_no_pickle_and_optimizer_state_round_trips(tmp_path):
    train(TrainConfig.from_dict(tiny_config(tmp_path, steps=(2, 0))), stop_after_steps=1)
    files = {p.name for p in (tmp_path / "checkpoints").rglob("*") if p.is_file()}
    assert files == {"state.json", "optimizer.safetensors", "config.json", "model.safetensors"}

    p = torch.nn.Parameter(torch.randn(3, 2))
    opt = torch.optim.AdamW([p], lr=0.1, betas=(0.8, 0.9))
    p.sum().backward()
    opt.step()
    tensors, meta = flatten_optimizer_state(opt.state_dict())
    json.dumps(meta)  # JSON-serialisable
    back = unflatten_optimizer_state(tensors, json.loads(json.dumps(meta)))
    opt2 = torch.optim.AdamW([torch.nn.Parameter(p.detach().clone())], lr=0.5)
    opt2.load_state_dict(back)
    assert opt2.param_groups[0]["betas"] == (0.8, 0.9) and opt2.param_groups[0]["lr"] == 0.1
    for k, v in opt.state_dict()["state"][0].items():
        assert torch.equal(opt2.state_dict()["state"][0][k], v)


# ----------------------------------------------------------------------------------------------------------------
# DDP on two CPU processes (gloo)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, cfg: dict, out: str) -> None:
    import os

    import torch.distributed as dist
    from safetensors.torch import save_file

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        result = train(TrainConfig.from_dict(cfg))
        save_file(
            {k: v.contiguous() for k, v in state_dicts(result).items()}, f"{out}/rank{rank}.safetensors"
        )
    finally:
        dist.destroy_process_group()


@pytest.mark.integration
def test_ddp_two_gloo_processes_end_with_identical_weights(tmp_path):
    from safetensors.torch import load_file

    from kronos_plugins.training.trainer import _new_model, _new_tokenizer

    cfg = tiny_config(tmp_path / "run", steps=(3, 3))
    torch.multiprocessing.spawn(_ddp_worker, args=(2, _free_port(), cfg, str(tmp_path)), nprocs=2, join=True)
    w0, w1 = (load_file(tmp_path / f"rank{r}.safetensors") for r in range(2))
    assert w0.keys() == w1.keys()
    for k in w0:
        assert torch.equal(w0[k], w1[k]), k
    config = TrainConfig.from_dict(cfg)
    tok0 = _new_tokenizer(config)
    init = {f"tokenizer.{k}": v for k, v in tok0.state_dict().items()}
    init.update({f"model.{k}": v for k, v in _new_model(config, tok0).state_dict().items()})
    changed = [k for k in w0 if not torch.equal(w0[k], init[k])]
    assert any(k.startswith("tokenizer.") for k in changed) and any(k.startswith("model.") for k in changed)
    summary = json.loads((tmp_path / "run" / "training_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["completed"]


# ----------------------------------------------------------------------------------------------------------------
# augmentation


def _acf(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    return float((x[:-lag] * x[lag:]).sum() / (x * x).sum())


@pytest.mark.parametrize("kind", ["garch", "jump", "regime"])
def test_synthetic_bars_are_ohlc_consistent(kind):
    frame = synthetic_series(kind, 400, np.random.default_rng(1))
    o, h, lo, c = (frame[k].to_numpy() for k in ("open", "high", "low", "close"))
    assert (h >= np.maximum(o, c)).all() and (lo <= np.minimum(o, c)).all() and (lo > 0).all()
    assert (frame["volume"] >= 0).all() and (frame["amount"] >= 0).all()
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.is_monotonic_increasing
    series_from_frame(frame)  # passes the pipeline's input validation


def test_garch_returns_show_volatility_clustering():
    r, sigma = garch_returns(5000, omega=1e-6, alpha=0.1, beta=0.85, rng=np.random.default_rng(0))
    abs_acf = np.mean([_acf(np.abs(r), lag) for lag in range(1, 6)])
    raw_acf = np.mean([abs(_acf(r, lag)) for lag in range(1, 6)])
    assert abs_acf > 0.1 and abs_acf > raw_acf + 0.05, (abs_acf, raw_acf)
    bars = bars_from_returns(r, sigma, rng=np.random.default_rng(0))
    np.testing.assert_allclose(np.log(bars["close"]).diff().to_numpy()[1:], r[1:], atol=1e-9)
    with pytest.raises(ValueError, match="alpha"):
        garch_returns(10, omega=1e-6, alpha=0.5, beta=0.6, rng=np.random.default_rng(0))


def test_generate_synthetic_is_deterministic():
    a, b = generate_synthetic(3, 50, seed=4), generate_synthetic(3, 50, seed=4)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert not generate_synthetic(1, 50, seed=5)[0].equals(a[0])


# ----------------------------------------------------------------------------------------------------------------
# configs


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"sed": 1}, r"unknown key `sed`; did you mean `seed`"),
        ({"train_model": {"step": 3}}, r"unknown key `train_model.step`; did you mean `train_model.steps`"),
        ({"data": {"contxt": 3}}, r"`data.contxt`"),
        ({"tokenizer": {"d_modl": 64}}, r"unknown key `tokenizer.d_modl`; did you mean `tokenizer.d_model`"),
        ({"train_model": {"steps": "ten"}}, r"`train_model.steps` must be an integer, got str 'ten'"),
        ({"train_model": {"lr": -1.0}}, r"`train_model.lr` -1.0 must be a finite number > 0"),
        ({"data": {"source": "web"}}, r"`data.source` 'web' must be one of"),
        ({"augment": {"fraction": 1.0}}, r"`augment.fraction` 1.0 must be in \[0, 1\)"),
        ({"augment": {"kinds": ["garch", "levy"]}}, r"`augment.kinds`"),
        ({"data": {"source": "files"}}, r"`data.files`"),
        ({"data": "x"}, r"`data` must be a mapping"),
        ({"train_tokenizer": {"steps": 0}}, r"`train_tokenizer.steps` is 0 but `init_tokenizer` is not set"),
        ({"init_model": "m", "model": {"d_model": 64}}, r"`model` sets \['d_model'\].*init_model"),
        ({"model": {"s1_bits": 8}, "tokenizer": {"s1_bits": 10, "s2_bits": 10}}, r"`model.s1_bits`"),
        ({"tokenizer": {"d_model": 30, "n_heads": 4}}, r"`tokenizer`: `d_model` 30"),
    ],
)
def test_config_errors_name_the_key(data, match):
    with pytest.raises(TrainConfigError, match=match):
        TrainConfig.from_dict(data)


def test_config_files_and_overrides(tmp_path):
    cfg = load_config(CONFIGS / "bundled.yaml", ["train_model.steps=7", "data.weighting=series"])
    assert cfg.train_model.steps == 7 and cfg.data.weighting == "series"
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    from kronos_plugins import Kronos, KronosTokenizer

    tok = KronosTokenizer(cfg.tokenizer_config())
    model = Kronos(cfg.model_config(tok.s1_bits, tok.s2_bits))
    size = 4 * sum(t.numel() for m in (tok, model) for t in m.state_dict().values())
    assert size <= 10e6, size  # the bundled checkpoint stays small
    ft = load_config(CONFIGS / "finetune-example.yaml")
    assert ft.init_model == "NeoQuasar/Kronos-small" and ft.train_tokenizer.steps == 0
    with pytest.raises(TrainConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(TrainConfigError, match="KEY=VALUE"):
        load_config(None, ["train_model.steps"])
    with pytest.raises(TrainConfigError, match="unknown key `train_model.stpes`"):
        load_config(None, ["train_model.stpes=3"])


# ----------------------------------------------------------------------------------------------------------------
# the split bridge (needs the data packages)


def test_split_series_keep_validation_horizons_inside_the_validation_period():
    from kronos_plugins.datasets import list_asset_ids, load_split
    from kronos_plugins.training import load_series
    from kronos_plugins.training.config import DataConfig

    asset = "bytetheory/AA"
    if asset not in list_asset_ids(available_only=True):
        pytest.skip(f"{asset} needs the data extra")
    cfg = DataConfig(assets=[asset], context=24, horizon=8)
    train_series, val_series, info = load_series(cfg)
    period = load_split().validation[asset]
    assert info["split"]["version"] == load_split().version and info["assets"][0]["asset_id"] == asset
    (val,) = val_series
    ds = WindowDataset(val_series, 24, 8)
    first = ds.locate(0)[1] + 24
    assert first == val.first_target > 0
    frame = load_split().slice(asset, "validation", context_bars=24)
    assert frame.index[first] >= period.start and len(train_series[0]) > 100
