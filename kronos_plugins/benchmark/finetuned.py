"""``kronos-finetuned``: Kronos fine-tuned on each dataset's own history, scored on the same windows as every
other model.

The harness calls ``fit(history, seed)`` once per (dataset, seed) with the rows strictly before the dataset's
first forecast origin (`kronos_plugins.benchmark.runner.DatasetWindows.history`), then ``forecast`` on each
window. `fit` fine-tunes a copy of the checkpoint on that history only (`kronos_plugins.training.finetune`;
its validation tail is the history's last ``val_fraction``, also before the origin), so no window's future
reaches the weights. The fine-tuned weights are cached per dataset history and settings: in memory for the
process and, with ``cache_dir``, on disk as safetensors checkpoints, so a second seed or a rerun does not
fine-tune again; ``finetune_seconds`` keeps the time the fine-tuning took when it ran.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .kronos_models import KronosPipelineModel
from .model_settings import Setting, float_in, int_at_least, kronos_settings, text

__all__ = ["KronosFinetunedModel", "finetuned_settings"]

#: Fine-tuned pipelines of this process, by history fingerprint and settings.
_TUNED: dict[str, tuple[Any, dict[str, Any]]] = {}


def finetuned_settings() -> dict[str, Setting]:
    """The registry schema of ``kronos-finetuned``: the Kronos settings plus the fine-tuning budget."""
    return {
        **kronos_settings(),
        "steps": Setting(200, int_at_least(1), "a positive integer (optimizer steps, the budget)"),
        "batch_size": Setting(16, int_at_least(1), "a positive integer (windows per step)"),
        "lr": Setting(1e-4, float_in(0.0, 1.0), "a learning rate in (0, 1]"),
        "context": Setting(
            None, int_at_least(2, optional=True), "an integer >= 2 (or null: the checkpoint's)"
        ),
        "horizon": Setting(32, int_at_least(1), "a positive integer (target bars per training window)"),
        "val_fraction": Setting(0.1, float_in(0.0, 0.9, lo_open=False), "a fraction in [0, 0.9]"),
        "patience": Setting(4, int_at_least(1, optional=True), "a positive integer (or null: no early stop)"),
        "finetune_seed": Setting(0, int_at_least(0), "an integer >= 0"),
        "cache_dir": Setting(None, text(optional=True), "a directory for the fine-tuned weights (or null)"),
    }


class KronosFinetunedModel(KronosPipelineModel):
    """``kronos-finetuned``: `KronosPipeline.forecast` on weights fine-tuned on the dataset's pre-origin history.

    Parameters
    ----------
    steps, batch_size, lr, context, horizon, val_fraction, patience, finetune_seed
        `kronos_plugins.training.finetune.FinetuneConfig` fields. The fine-tuning seed is fixed (not the
        harness' seed), so every seed of a dataset scores the same fine-tuned weights, fine-tuned once.
    cache_dir : str, optional
        Keep the fine-tuned checkpoints there (one directory per history fingerprint and settings).
    **kronos
        The Kronos settings of the other interfaces (checkpoint, sampling, lookback).

    Attributes
    ----------
    finetune_seconds : float or None
        Wall time of the fine-tuning of the current dataset (when it ran, also for a cache hit).
    finetune_info : dict or None
        Its summary: steps, validation losses before/after, data span, and whether it came from the cache.
    """

    interface = "pipeline+finetuned"

    def __init__(
        self,
        steps: int = 200,
        batch_size: int = 16,
        lr: float = 1e-4,
        context: int | None = None,
        horizon: int = 32,
        val_fraction: float = 0.1,
        patience: int | None = 4,
        finetune_seed: int = 0,
        cache_dir: str | None = None,
        **kronos,
    ):
        super().__init__(**kronos)
        self.finetune = {
            "steps": steps,
            "batch_size": batch_size,
            "lr": lr,
            "context": context,
            "horizon": horizon,
            "val_fraction": val_fraction,
            "patience": patience,
            "seed": finetune_seed,
            "progress": False,
        }
        self.cache_dir = cache_dir
        self.name = "kronos[finetuned]"
        self._tuned = None
        self.finetune_seconds: float | None = None
        self.finetune_info: dict[str, Any] | None = None

    def _key(self, history: pd.DataFrame) -> str:
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(history.to_numpy(dtype=np.float64)).tobytes())
        h.update(
            np.asarray(history.index.asi8 if hasattr(history.index, "asi8") else history.index).tobytes()
        )
        h.update(",".join(map(str, history.columns)).encode())
        settings = {
            "finetune": self.finetune,
            "checkpoint": self.checkpoint,
            "tokenizer": self.tokenizer,
            "max_context": self.max_context,
        }
        h.update(json.dumps(settings, sort_keys=True, default=str).encode())
        return h.hexdigest()[:20]

    def fit(self, history: pd.DataFrame, seed: int = 0) -> KronosFinetunedModel:
        """Fine-tune on `history` (the rows before the dataset's first origin), or take the cached weights.

        `seed` (the harness' per-job seed) does not change the fine-tuning, which uses ``finetune_seed``.
        """
        from kronos_plugins import KronosPipeline
        from kronos_plugins.training.finetune import finetune

        frame = self._frame_for_training(history)
        key = self._key(frame)
        if key in _TUNED:
            self._tuned, info = _TUNED[key]
            self.finetune_info = {**info, "cached": True}
        else:
            stored = Path(self.cache_dir) / key if self.cache_dir else None
            if stored is not None and (stored / "finetune.json").is_file():
                pipe = KronosPipeline.from_pretrained(stored, share_weights=False, device=self.device)
                info = json.loads((stored / "finetune.json").read_text(encoding="utf-8"))
            else:
                t0 = time.perf_counter()
                result = finetune(self.pipeline(), frame, self.finetune, base=str(self.checkpoint))
                info = {**result.summary(), "seconds": round(time.perf_counter() - t0, 3)}
                pipe = result.pipeline
                if stored is not None:
                    result.save(stored)
                    (stored / "finetune.json").write_text(
                        json.dumps(info, indent=2, default=str), encoding="utf-8"
                    )
            _TUNED[key] = (pipe, info)
            self._tuned = pipe
            self.finetune_info = {**info, "cached": False}
        self.finetune_seconds = float(self.finetune_info["seconds"])
        return self

    def forecaster(self):
        """The fine-tuned pipeline (after `fit`)."""
        if self._tuned is None:
            raise RuntimeError(
                "`kronos-finetuned` forecasts after `fit(history)`; the harness calls it per dataset."
            )
        return self._tuned

    def _frame_for_training(self, history: pd.DataFrame) -> pd.DataFrame:
        """The Kronos columns of the history (its windows' context is the fine-tuning `context`, not `lookback`)."""
        return history[
            [c for c in ("open", "high", "low", "close", "volume", "amount") if c in history.columns]
        ]
