"""Loading and saving checkpoints: the only module that touches files or the Hugging Face Hub.

A checkpoint is a directory (or hub repository) holding ``config.json`` and ``model.safetensors``, the layout the
reference's ``save_pretrained`` writes and the published NeoQuasar checkpoints use. Only safetensors are read:
no pickle, no remote code.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import TypeVar

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .config import KronosConfig, KronosTokenizerConfig
from .model import Kronos
from .tokenizer import KronosTokenizer

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

#: Published checkpoints and the context length they were trained with.
PUBLISHED_MAX_CONTEXT = {
    "NeoQuasar/Kronos-mini": 2048,
    "NeoQuasar/Kronos-small": 512,
    "NeoQuasar/Kronos-base": 512,
}
PUBLISHED_TOKENIZER = {
    "NeoQuasar/Kronos-mini": "NeoQuasar/Kronos-Tokenizer-2k",
    "NeoQuasar/Kronos-small": "NeoQuasar/Kronos-Tokenizer-base",
    "NeoQuasar/Kronos-base": "NeoQuasar/Kronos-Tokenizer-base",
}
DEFAULT_MAX_CONTEXT = 512
#: Context of the published tokenizers (the tokenizer of Kronos-mini was trained for 2048 tokens).
PUBLISHED_TOKENIZER_MAX_CONTEXT = {
    "NeoQuasar/Kronos-Tokenizer-2k": 2048,
    "NeoQuasar/Kronos-Tokenizer-base": 512,
}


#: Architecture fields of the published models' config.json (from their state-dict manifest), so that a local
#: copy of one (a download, a Hub cache snapshot, a fine-tuned copy) gets its published context too.
PUBLISHED_ARCHITECTURE = {
    hub_id: {"s1_bits": 10, "s2_bits": 10, "n_layers": n_layers, "d_model": d, "n_heads": heads, "ff_dim": ff}
    for hub_id, (n_layers, d, heads, ff) in {
        "NeoQuasar/Kronos-mini": (4, 256, 4, 512),
        "NeoQuasar/Kronos-small": (8, 512, 8, 1024),
        "NeoQuasar/Kronos-base": (12, 832, 16, 2048),
    }.items()
}


def published_max_context(name: str | os.PathLike) -> int:
    """The published context of a model or tokenizer: by hub id (case-insensitive), or for a model directory
    whose config.json has a published model's architecture; else `DEFAULT_MAX_CONTEXT`."""
    known = {k.lower(): v for k, v in {**PUBLISHED_MAX_CONTEXT, **PUBLISHED_TOKENIZER_MAX_CONTEXT}.items()}
    key = str(name).rstrip("/").lower()
    if key in known:
        return known[key]
    config = Path(name).expanduser() / CONFIG_NAME
    if config.is_file():
        try:
            fields = json.loads(config.read_text())
        except (OSError, ValueError):
            return DEFAULT_MAX_CONTEXT  # loading the checkpoint reports a broken config properly
        for hub_id, arch in PUBLISHED_ARCHITECTURE.items():  # a tokenizer config has no n_layers: no match
            if isinstance(fields, dict) and all(fields.get(k) == v for k, v in arch.items()):
                return PUBLISHED_MAX_CONTEXT[hub_id]
    return DEFAULT_MAX_CONTEXT


#: The small checkpoint trained by this project and shipped in the package (see its MODEL_CARD.md).
BUNDLED_DIR = Path(__file__).parent / "checkpoints_data" / "bundled"
BUNDLED_NAME = "bundled"

# Buffers the reference saves in its state dict. They are pure functions of the config, so we recompute them
# and accept checkpoints with or without them.
_OPTIONAL_BUFFER_SUFFIXES = ("rotary.inv_freq", "bsq.basis", "bsq.group_basis")

M = TypeVar("M", bound=nn.Module)


class CheckpointError(ValueError):
    """A checkpoint is missing, of the wrong kind, or does not match its config."""


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def bundled_checkpoint(directory: str | os.PathLike = BUNDLED_DIR) -> tuple[Path, Path, int]:
    """The bundled checkpoint: (model dir, tokenizer dir, max_context), after checking its SHA256SUMS.

    The check runs once per directory and file state (size and modification time) in a process.
    """
    d = Path(directory)
    files = sorted(d.rglob("*")) if d.is_dir() else []
    return _bundled_checked(str(d), tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))


@functools.lru_cache(maxsize=8)
def _bundled_checked(directory: str, state: tuple) -> tuple[Path, Path, int]:
    d = Path(directory)
    if not (d / "bundle.json").is_file():
        raise CheckpointError(
            f"no bundled checkpoint in `{d}`: this installation lacks it. Build it with `make train-bundled`, or "
            "pass `model=` and `tokenizer=` (a directory or a hub id such as 'NeoQuasar/Kronos-small')."
        )
    for line in (d / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        if file_sha256(d / name) != digest:
            raise CheckpointError(
                f"bundled checkpoint file `{name}` does not match its SHA256SUMS: reinstall."
            )
    meta = json.loads((d / "bundle.json").read_text())
    return d / "model", d / "tokenizer", int(meta["max_context"])


def checkpoint_pair(
    model: str | os.PathLike | None, tokenizer: str | os.PathLike | None, max_context: int | None = None
) -> tuple[str | os.PathLike, str | os.PathLike, int]:
    """Resolve what a user names into (model, tokenizer, max_context), before anything is loaded.

    The one place that reads every way of naming a checkpoint:

    - ``model=None`` or ``"bundled"`` (and no tokenizer): the bundled checkpoint, checked against its
      SHA256SUMS, with the default context of its ``bundle.json``;
    - a directory holding ``model/`` and ``tokenizer/`` (as training writes and the test fixtures are laid
      out), with no tokenizer: those two, and the ``max_context`` of its ``bundle.json`` if it has one;
    - a published model id without tokenizer: its published tokenizer;
    - otherwise a model and a tokenizer, each a checkpoint directory or hub id.

    ``max_context`` given is kept; else the bundle's, else the published value for known ids (512 for others).

    Raises
    ------
    ValueError
        A tokenizer without a model, or a model that is not a published id without a tokenizer.
    """
    if model is None or str(model) == BUNDLED_NAME:
        if tokenizer is not None:
            raise ValueError(
                "`tokenizer` given without `model`: pass both, or neither for the bundled checkpoint."
            )
        model, tokenizer, bundled_context = bundled_checkpoint()
        return model, tokenizer, bundled_context if max_context is None else max_context
    path = Path(model).expanduser()
    if tokenizer is None and (path / "model").is_dir() and (path / "tokenizer").is_dir():
        if max_context is None and (path / "bundle.json").is_file():
            max_context = int(json.loads((path / "bundle.json").read_text())["max_context"])
        model, tokenizer = path / "model", path / "tokenizer"
    name = str(model)
    if tokenizer is None:
        if name not in PUBLISHED_TOKENIZER:
            raise ValueError(
                f"`tokenizer` is required for model `{name}`: it is not a published id, nor a directory holding "
                "`model/` and `tokenizer/`."
            )
        tokenizer = PUBLISHED_TOKENIZER[name]
    return model, tokenizer, published_max_context(name) if max_context is None else max_context


def _bundle_meta(model: str | os.PathLike) -> dict:
    """The ``bundle.json`` beside a local ``model/`` directory, or {} (published checkpoints have none)."""
    path = Path(model).expanduser()
    meta = path.parent / "bundle.json"
    if path.name != "model" or not meta.is_file():
        return {}
    return json.loads(meta.read_text())


def training_context(model: str | os.PathLike) -> int | None:
    """The context length (bars) a checkpoint was trained on, when its bundle says so; else None.

    Read from the ``bundle.json`` beside a local ``model/`` directory (the bundled checkpoint and every
    `make train-bundled` / `kronos-train` bundle have one). Published checkpoints have none: they were trained
    on their whole window.
    """
    context = _bundle_meta(model).get("context")
    return None if context is None else int(context)


def training_anchor(model: str | os.PathLike) -> bool:
    """Whether a checkpoint's forecasts are anchored by default (``"anchor": true`` in its ``bundle.json``, chosen
    on validation windows); False when its bundle says nothing and for published checkpoints (the reference's
    behaviour). See `KronosPipeline.forecast`'s ``anchor``."""
    anchor = _bundle_meta(model).get("anchor", False)
    if not isinstance(anchor, bool):
        raise CheckpointError(
            f"`anchor` in the bundle.json beside `{model}` must be true or false, got {anchor!r}."
        )
    return anchor


def training_temperature(model: str | os.PathLike) -> float | None:
    """The sampling temperature a checkpoint's forecasts use by default (``"temperature"`` in its
    ``bundle.json``, chosen on validation windows like its context and anchor); None when its bundle says
    nothing and for published checkpoints (sampling's own default, 1). See `KronosPipeline`'s
    ``default_temperature``."""
    temperature = _bundle_meta(model).get("temperature")
    if temperature is None:
        return None
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not 0 < temperature < 1e6
    ):
        raise CheckpointError(
            f"`temperature` in the bundle.json beside `{model}` must be a number > 0, got {temperature!r}."
        )
    return float(temperature)


def resolve_checkpoint(
    name_or_path: str | os.PathLike, revision: str | None = None, cache_dir: str | os.PathLike | None = None
) -> Path:
    """Return a local directory holding ``config.json`` and ``model.safetensors``.

    A local directory is used as is; any other string is treated as a Hugging Face Hub repository id and
    downloaded (and cached) with ``huggingface_hub``. Only the two files are fetched.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        _check_files(path, str(name_or_path))
        return path
    name = str(name_or_path)
    if path.exists():
        raise CheckpointError(
            f"checkpoint `{name}` is a file; pass the directory holding {CONFIG_NAME} and {WEIGHTS_NAME}."
        )
    if name.count("/") != 1 or name.startswith((".", "/", "~")):
        raise CheckpointError(
            f"unknown checkpoint `{name}`: not a local directory and not a hub id of the form 'owner/name' "
            f"(published: {sorted(PUBLISHED_MAX_CONTEXT) + sorted(set(PUBLISHED_TOKENIZER.values()))})."
        )
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as e:  # pragma: no cover - huggingface_hub is a core dependency
        raise ImportError("loading from the hub needs huggingface_hub; `pip install huggingface_hub`") from e
    try:
        config_file = hf_hub_download(name, CONFIG_NAME, revision=revision, cache_dir=cache_dir)
        hf_hub_download(name, WEIGHTS_NAME, revision=revision, cache_dir=cache_dir)
    except Exception as e:
        raise CheckpointError(
            f"could not fetch checkpoint `{name}` from the Hugging Face Hub ({type(e).__name__}: {e}). "
            f"It needs {CONFIG_NAME} and {WEIGHTS_NAME} (safetensors only); offline, pass a local directory."
        ) from e
    return Path(config_file).parent


def _check_files(path: Path, name: str) -> None:
    if not (path / CONFIG_NAME).is_file():
        raise CheckpointError(
            f"checkpoint `{name}` has no {CONFIG_NAME} (found: {sorted(p.name for p in path.iterdir())})."
        )
    if not (path / WEIGHTS_NAME).is_file():
        pickles = [p.name for p in path.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt")]
        hint = f" It has {pickles}: only safetensors are loaded (no pickle)." if pickles else ""
        raise CheckpointError(f"checkpoint `{name}` has no {WEIGHTS_NAME}.{hint}")


def _read_config(path: Path) -> dict:
    with open(path / CONFIG_NAME) as f:
        return json.load(f)


def load_state_dict_checked(module: nn.Module, state: dict[str, torch.Tensor], name: str) -> None:
    """Load `state` into `module`, with a clear error naming missing, unexpected or mis-shaped keys."""
    expected = module.state_dict()
    state = {
        k: v for k, v in state.items() if not (k not in expected and k.endswith(_OPTIONAL_BUFFER_SUFFIXES))
    }
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(state) & set(expected))
        if state[k].shape != expected[k].shape
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(
                f"missing keys ({len(missing)}): {missing[:10]}{' ...' if len(missing) > 10 else ''}"
            )
        if unexpected:
            parts.append(
                f"unexpected keys ({len(unexpected)}): {unexpected[:10]}{' ...' if len(unexpected) > 10 else ''}"
            )
        if shapes:
            parts.append(f"shape mismatches ({len(shapes)}): {shapes[:5]}")
        raise CheckpointError(
            f"checkpoint `{name}` does not fit {type(module).__name__} built from its config.json: "
            + "; ".join(parts)
        )
    module.load_state_dict(state, strict=True)


def load_tokenizer(name_or_path, revision=None, cache_dir=None, device=None) -> KronosTokenizer:
    """Load a `KronosTokenizer` from a local directory or hub id (safetensors only), in eval mode."""
    path = resolve_checkpoint(name_or_path, revision, cache_dir)
    raw = _read_config(path)
    if "n_layers" in raw and "n_enc_layers" not in raw:
        raise CheckpointError(
            f"`{name_or_path}` is a Kronos model checkpoint, not a tokenizer (its config has `n_layers`)."
        )
    try:
        config = KronosTokenizerConfig.from_dict(raw)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint `{name_or_path}`: {e}") from e
    module = KronosTokenizer(config)
    load_state_dict_checked(module, load_file(path / WEIGHTS_NAME), str(name_or_path))
    return module.to(device or "cpu").eval()


def load_model(name_or_path, revision=None, cache_dir=None, device=None) -> Kronos:
    """Load a `Kronos` model from a local directory or hub id (safetensors only), in eval mode."""
    path = resolve_checkpoint(name_or_path, revision, cache_dir)
    raw = _read_config(path)
    if "n_enc_layers" in raw:
        raise CheckpointError(
            f"`{name_or_path}` is a Kronos tokenizer checkpoint, not a model (its config has `n_enc_layers`)."
        )
    try:
        config = KronosConfig.from_dict(raw)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint `{name_or_path}`: {e}") from e
    module = Kronos(config)
    load_state_dict_checked(module, load_file(path / WEIGHTS_NAME), str(name_or_path))
    return module.to(device or "cpu").eval()


def save_checkpoint(module: Kronos | KronosTokenizer, directory: str | os.PathLike) -> Path:
    """Write ``config.json`` + ``model.safetensors`` in the published layout."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / CONFIG_NAME, "w") as f:
        json.dump(module.config.to_dict(), f, indent=2, sort_keys=True)
    state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    save_file(state, out / WEIGHTS_NAME)
    return out
