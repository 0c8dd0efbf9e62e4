"""Resumable training checkpoints without pickle.

A checkpoint directory holds

- ``weights/config.json`` + ``weights/model.safetensors``: the module being trained, written by
  `kronos_plugins.checkpoints.save_checkpoint` (the published layout, loadable with ``load_model`` /
  ``load_tokenizer``);
- ``optimizer.safetensors``: every tensor of the optimizer state, flattened to keys
  ``optim.<param index>.<name>`` (``exp_avg``, ``exp_avg_sq``, ``step``), plus the torch (and CUDA) random
  generator states as ``rng.torch`` / ``rng.cuda.<i>``;
- ``state.json``: everything else, as JSON: stage, step, elapsed time, the optimizer's param groups and
  non-tensor state, the python and numpy generator states, and the run's config.

Nothing is pickled, so loading a checkpoint cannot execute code. A checkpoint is written to a temporary
directory and then moved into place, so an interruption while writing leaves the previous one intact.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..checkpoints import save_checkpoint

__all__ = [
    "flatten_optimizer_state",
    "get_rng_state",
    "read_checkpoint",
    "set_rng_state",
    "unflatten_optimizer_state",
    "write_checkpoint",
]

FORMAT_VERSION = 1
STATE_NAME = "state.json"
OPTIMIZER_NAME = "optimizer.safetensors"
WEIGHTS_DIR = "weights"


def flatten_optimizer_state(state_dict: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer ``state_dict()`` into safetensors-ready tensors and JSON-ready metadata.

    Returns
    -------
    tensors : dict of str to Tensor
        ``"<param index>.<name>" -> tensor`` (CPU, contiguous).
    meta : dict
        ``{"param_groups": [...], "state": {"<param index>": {non-tensor entries}}}``.
    """
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {"param_groups": [dict(g) for g in state_dict["param_groups"]], "state": {}}
    for pid, entries in state_dict["state"].items():
        rest = {}
        for name, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                rest[name] = value
        meta["state"][str(pid)] = rest
    for group in meta["param_groups"]:
        for key, value in group.items():
            if isinstance(value, tuple):
                group[key] = list(value)
    return tensors, meta


def unflatten_optimizer_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Inverse of `flatten_optimizer_state`: a dict for ``optimizer.load_state_dict``."""
    state: dict[int, dict[str, Any]] = {int(pid): dict(rest) for pid, rest in meta["state"].items()}
    for key, value in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    groups = []
    for group in meta["param_groups"]:
        g = dict(group)
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    return {"state": state, "param_groups": groups}


def get_rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The python, numpy, torch and CUDA generator states as (tensors, JSON-ready dict)."""
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda.{i}"] = s
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    meta = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
    }
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Restore what `get_rng_state` returned."""
    torch.set_rng_state(tensors["torch"])
    cuda = [
        tensors[k] for k in sorted((k for k in tensors if k.startswith("cuda.")), key=lambda k: int(k[5:]))
    ]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))


def write_checkpoint(
    directory: str | Path, module: nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> Path:
    """Write a resumable checkpoint (layout in the module docstring), replacing any previous one.

    Parameters
    ----------
    directory : path
        The checkpoint directory.
    module : Kronos or KronosTokenizer
        The module being trained (unwrapped from DDP).
    optimizer : torch.optim.Optimizer
    state : dict
        JSON-serialisable run state (stage, step, config, ...); the optimizer and RNG metadata are added.
    """
    final = Path(directory)
    tmp = final.with_name(final.name + ".tmp")
    old = final.with_name(final.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_checkpoint(module, tmp / WEIGHTS_DIR)
    opt_tensors, opt_meta = flatten_optimizer_state(optimizer.state_dict())
    rng_tensors, rng_meta = get_rng_state()
    tensors = {f"optim.{k}": v for k, v in opt_tensors.items()}
    tensors.update({f"rng.{k}": v for k, v in rng_tensors.items()})
    save_file(tensors, tmp / OPTIMIZER_NAME)
    doc = {"format_version": FORMAT_VERSION, **state, "optimizer": opt_meta, "rng": rng_meta}
    (tmp / STATE_NAME).write_text(json.dumps(doc, indent=1), encoding="utf-8")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def read_checkpoint(
    directory: str | Path,
) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Read a checkpoint written by `write_checkpoint`.

    Returns
    -------
    state : dict
        The JSON state (with ``"optimizer"`` and ``"rng"`` metadata).
    optimizer_tensors, rng_tensors : dict of str to Tensor

    Raises
    ------
    FileNotFoundError
        If the directory holds no complete checkpoint.
    """
    d = Path(directory)
    if not (d / STATE_NAME).is_file() and d.with_name(d.name + ".old").is_dir():
        d = d.with_name(d.name + ".old")  # interrupted between the two renames of write_checkpoint
    if not (d / STATE_NAME).is_file() or not (d / OPTIMIZER_NAME).is_file():
        raise FileNotFoundError(
            f"no resumable checkpoint in `{directory}` (needs {STATE_NAME} and {OPTIMIZER_NAME}); start without "
            "`--resume`."
        )
    state = json.loads((d / STATE_NAME).read_text(encoding="utf-8"))
    if state.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"checkpoint `{d}` has format {state.get('format_version')}, expected {FORMAT_VERSION}."
        )
    tensors = load_file(d / OPTIMIZER_NAME)
    optim = {k[len("optim.") :]: v for k, v in tensors.items() if k.startswith("optim.")}
    rng = {k[len("rng.") :]: v for k, v in tensors.items() if k.startswith("rng.")}
    state["weights_dir"] = str(d / WEIGHTS_DIR)
    return state, optim, rng
