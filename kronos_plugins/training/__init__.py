"""Training and fine-tuning Kronos: a two-stage trainer, configs, windows, synthetic augmentation and DDP.

Stage 1 trains the tokenizer, stage 2 the model with the tokenizer frozen; both read the same windows of real
(and optionally synthetic) OHLCV series. A run is described by a YAML config (`TrainConfig`) and started from
Python with `train` or from the shell::

    kronos-train --config kronos_plugins/training/configs/finetune-example.yaml
    torchrun --nproc_per_node=4 -m kronos_plugins.training --config my.yaml

Needs the ``train`` extra (``pip install 'kronos-plugins[train]'``: PyYAML, rich, matplotlib and the data
packages). See ``docs/training.md``.

Examples
--------
>>> from kronos_plugins.training import load_config, train
>>> cfg = load_config("kronos_plugins/training/configs/finetune-example.yaml",  # doctest: +SKIP
...                   overrides=["out_dir=runs/ft", "train_model.steps=200"])
>>> result = train(cfg)  # doctest: +SKIP
>>> result.model, result.tokenizer  # doctest: +SKIP
"""

from .augment import generate_synthetic
from .config import AugmentConfig, DataConfig, StageConfig, TrainConfig, TrainConfigError, load_config
from .data import Series, WindowDataset, WindowSampler, load_series, normalise_window, series_from_frame
from .finetune import FinetuneConfig, FinetuneResult, finetune
from .trainer import TrainResult, model_loss, tokenizer_loss, train

__all__ = [
    "AugmentConfig",
    "DataConfig",
    "FinetuneConfig",
    "FinetuneResult",
    "Series",
    "StageConfig",
    "TrainConfig",
    "TrainConfigError",
    "TrainResult",
    "WindowDataset",
    "WindowSampler",
    "finetune",
    "generate_synthetic",
    "load_config",
    "load_series",
    "model_loss",
    "normalise_window",
    "series_from_frame",
    "tokenizer_loss",
    "train",
]
