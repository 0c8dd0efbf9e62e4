"""The console scripts as installed (`.venv/bin/kronos-bench`, `.venv/bin/kronos-train`), flag by flag.

Each test runs the entry point in a subprocess on a tiny suite or config, so what is checked is what a user
typing the command gets: `--backend ray`, `--fresh` and `--no-cache` of `kronos-bench run`, and
`--stop-after-steps` and `--resume` of `kronos-train`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

yaml = pytest.importorskip("yaml")

from kronos_plugins.checkpoints import load_model, load_tokenizer  # noqa: E402

from ..conftest import REFERENCE, hourly_bars  # noqa: E402
from .test_training import tiny_config  # noqa: E402

BIN = Path(sys.executable).parent
TINY = REFERENCE / "tiny-learnte"


def _script(name: str) -> str:
    path = BIN / name
    assert path.is_file(), f"{name} is not installed next to {sys.executable}: `pip install -e .`"
    return str(path)


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("RAY_ADDRESS", None)  # a local Ray, never a cluster the environment points at
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# --------------------------------------------------------------------------------------------------------
# kronos-bench run


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("suite")
    hourly_bars(120, 0).to_csv(folder / "bars.csv", index=False)
    suite = {
        "name": "cli-flags",
        "datasets": [{"path": "bars.csv", "name": "bars", "start": 80}],
        "context_length": 32,
        "horizons": [2],
        "origins": {"n": 3, "step": 5},
        "num_samples": 8,
        "kronos": {
            "checkpoint": str(TINY / "model"),
            "tokenizer": str(TINY / "tokenizer"),
            "max_context": 64,
        },
        "models": [{"model": "naive"}, {"model": "rw-drift"}, {"model": "kronos"}],
        "report": {"fan_charts": 0, "bootstrap": 0},
    }
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(suite))
    return path


def _bench(suite: Path, out: Path, *flags: str) -> dict:
    args = [_script("kronos-bench"), "run", str(suite), "--out", str(out), "--no-plots", "--no-progress"]
    done = _run(*args, *flags, cwd=suite.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "run.json").read_text())


def _scores(out: Path) -> pd.DataFrame:
    w = pd.read_parquet(out / "windows.parquet")
    cols = ["model", "dataset", "horizon", "origin_index", "seed", "fingerprint", "crps", "mae"]
    return w[cols].sort_values(["model", "origin_index"]).reset_index(drop=True)


def _cache_state(cache: Path) -> dict[str, int]:
    return {str(p.relative_to(cache)): p.stat().st_mtime_ns for p in sorted(cache.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def first_run(suite_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "out"
    meta = _bench(suite_file, out, "--workers", "1")
    assert meta["n_tasks"] == 9 and meta["n_computed"] == 9 and meta["n_failed"] == 0
    return out


@pytest.mark.integration
def test_fresh_recomputes_every_cached_task_and_no_cache_neither_reads_nor_writes(suite_file, first_run):
    cache = first_run / "cache"
    state, scores = _cache_state(cache), _scores(first_run)
    assert state  # the first run wrote its tasks there
    again = _bench(suite_file, first_run, "--workers", "1")
    assert again["n_cached"] == 9 and again["n_computed"] == 0  # without a flag the cache answers
    assert _cache_state(cache) == state

    fresh = _bench(suite_file, first_run, "--workers", "1", "--fresh")
    assert fresh["n_computed"] == 9 and fresh["n_cached"] == 0
    rewritten = _cache_state(cache)
    assert rewritten.keys() == state.keys() and all(rewritten[k] > state[k] for k in state)
    pd.testing.assert_frame_equal(_scores(first_run), scores)  # recomputed, the same forecasts

    other = first_run.parent / "no-cache"
    none = _bench(suite_file, other, "--workers", "1", "--no-cache", "--cache", str(cache))
    assert none["n_computed"] == 9 and none["n_cached"] == 0  # the full cache was not read...
    assert _cache_state(cache) == rewritten and not (other / "cache").exists()  # ...nor written
    pd.testing.assert_frame_equal(_scores(other), scores)


@pytest.mark.integration
def test_backend_ray_gives_the_local_backends_forecasts(suite_file, first_run):
    pytest.importorskip("ray")
    out = first_run.parent / "ray"
    meta = _bench(suite_file, out, "--backend", "ray", "--workers", "2", "--no-cache")
    assert meta["backend"] == "ray" and meta["workers"] == 2
    assert meta["n_computed"] == 9 and meta["n_failed"] == 0
    pd.testing.assert_frame_equal(_scores(out), _scores(first_run))


# --------------------------------------------------------------------------------------------------------
# kronos-train


def _weights(out: Path) -> dict[str, torch.Tensor]:
    tensors = {f"tokenizer.{k}": v for k, v in load_tokenizer(out / "tokenizer").state_dict().items()}
    tensors.update({f"model.{k}": v for k, v in load_model(out / "model").state_dict().items()})
    return tensors


@pytest.mark.integration
def test_stop_after_steps_then_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config(tmp_path / "unused", steps=(6, 6))))
    train = _script("kronos-train")
    full = _run(train, "--config", str(config), "--out-dir", str(tmp_path / "full"), "--quiet", cwd=tmp_path)
    assert full.returncode == 0, full.stderr[-3000:]

    run = ["--config", str(config), "--out-dir", str(tmp_path / "split"), "--quiet"]
    stopped = _run(train, *run, "--stop-after-steps", "9", cwd=tmp_path)  # inside stage 2 (6 + 3 steps)
    assert stopped.returncode == 0 and "stopped (resume with --resume)" in stopped.stderr, stopped.stderr
    state = json.loads((tmp_path / "split" / "checkpoints" / "state.json").read_text())
    assert (state["stage"], state["step"]) == ("model", 3)
    assert not (tmp_path / "split" / "model").exists()  # no final weights yet

    again = _run(train, *run, cwd=tmp_path)  # restarting without --resume would overwrite: refused
    assert again.returncode == 2 and "--resume" in again.stderr, again.stderr

    resumed = _run(train, *run, "--resume", cwd=tmp_path)
    assert resumed.returncode == 0 and "finished" in resumed.stderr, resumed.stderr
    summary = json.loads((tmp_path / "split" / "training_summary.json").read_text())
    assert summary["completed"] and "--resume" in summary["command"]
    reference, got = _weights(tmp_path / "full"), _weights(tmp_path / "split")
    assert got.keys() == reference.keys()
    for name, tensor in reference.items():
        assert torch.equal(got[name], tensor), name
