"""Fine-tuning a Kronos pipeline on your own OHLCV series: the one function the adapters and the CLI call.

`finetune` takes a pipeline (or a checkpoint name) and a few OHLCV frames, and returns a new pipeline with
weights of its own, trained by the same two-stage loop as pre-training (`kronos_plugins.training.train`):

- **model stage by default**, the tokenizer only when ``tokenizer_steps > 0`` (it changes the tokens the
  model was trained on, so it is rarely what you want on little data);
- **freezing** by parameter-name patterns (``freeze=["embedding*", "transformer.0.*"]`` or
  ``unfreeze=["head*"]``); a pattern that matches no parameter is an error naming the known prefixes;
- **early stopping** on a validation tail (the last ``val_fraction`` of each series, windows whose targets lie
  wholly inside it), with the best weights restored;
- **a progress bar** (``progress=True``, or automatically on a terminal) and **a step budget** (``steps``).

No look-ahead, by construction: each training window is normalised with the statistics of its own context
bars only (`kronos_plugins.training.data.normalise_window`), validation windows take their targets from the
tail after the training bars, and with ``origin`` every bar at or after the forecast origin is cut before
anything is read.

The fine-tuned pipeline never shares a module with the pipeline it started from (nor with the process-wide
weight cache of `KronosPipeline.from_pretrained`): the base weights are copied, and the copy is trained.

Examples
--------
>>> from kronos_plugins.training.finetune import finetune
>>> result = finetune(None, bars, steps=100, seed=0)  # doctest: +SKIP
>>> result.val_loss_before, result.val_loss_after  # doctest: +SKIP
>>> result.save("my-kronos")  # doctest: +SKIP
>>> KronosPipeline.from_pretrained("my-kronos")  # doctest: +SKIP

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import json
import logging
import random
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..checkpoints import save_checkpoint
from ..pipeline import KronosPipeline
from ..validation import KronosInputError, prepare_context

__all__ = [
    "FINETUNED_CARD",
    "FinetuneConfig",
    "FinetuneResult",
    "apply_freeze",
    "finetune",
    "save_finetuned",
    "window_context",
]

logger = logging.getLogger(__name__)

FINETUNED_CARD = "MODEL_CARD.md"
FINETUNE_JSON = "finetune.json"


@dataclass
class FinetuneConfig:
    """Settings of one fine-tuning run (every field has a default; see `finetune`).

    The defaults fine-tune the bundled checkpoint on 5,000 bars in under two minutes on two CPU cores (measured
    by ``benchmarks/speed/bench_finetune.py``, results in ``benchmarks/results/finetune_speed.md``).
    """

    steps: int = 200  # optimizer steps of the model stage: the step budget
    batch_size: int = 16  # windows per step
    lr: float = 1e-4  # peak learning rate (AdamW), warm-up then cosine to lr * min_lr_ratio
    min_lr_ratio: float = 0.1
    warmup_steps: int = 10
    weight_decay: float = 0.05
    grad_clip: float = 1.0  # max gradient norm; 0 disables clipping
    context: int | None = (
        None  # bars whose statistics normalise a window; None: the pipeline's lookback or 96
    )
    horizon: int = 32  # bars after the context that are trained on
    val_fraction: float = 0.1  # last fraction of each series (before `origin`) held out for validation
    val_windows: int = 64  # validation windows, spread over the validation tails
    eval_every: int = 25  # validation (and early-stopping check) every this many steps
    patience: int | None = 4  # stop after this many validations without improvement; None: never stop early
    min_delta: float = 0.0  # an improvement must lower the validation loss by more than this
    restore_best: bool = True  # end with the weights of the best validation loss
    freeze: list[str] = field(default_factory=list)  # parameter-name patterns to keep fixed (model stage)
    unfreeze: list[str] | None = None  # only these patterns are trained (model stage); not with `freeze`
    tokenizer_steps: int = 0  # > 0: fine-tune the tokenizer first, for this many steps
    tokenizer_lr: float = 1e-4
    seed: int = 0  # the batches, dropout and validation windows follow from it
    progress: bool | None = None  # progress bar; None: only when stderr is a terminal
    num_threads: int | None = None  # torch CPU threads during fine-tuning; None leaves torch's setting
    precision: str = "fp32"  # "bf16": bfloat16 autocast of the model's forward

    @classmethod
    def coerce(
        cls, value: FinetuneConfig | Mapping[str, Any] | bool | None = None, **overrides
    ) -> FinetuneConfig:
        """A config from a `FinetuneConfig`, a dict of its fields, True/None (the defaults), plus `overrides`.

        Raises
        ------
        KronosInputError
            An unknown field (with the closest known one) or an invalid value.
        """
        if value is None or value is True:
            base: dict[str, Any] = {}
        elif isinstance(value, FinetuneConfig):
            base = dataclasses.asdict(value)
        elif isinstance(value, Mapping):
            base = dict(value)
        else:
            raise KronosInputError(
                f"fine-tuning settings must be a FinetuneConfig, a dict of its fields, True or None; got "
                f"{type(value).__name__} {value!r}."
            )
        base.update({k: v for k, v in overrides.items() if v is not None})
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(base) - set(known))
        if unknown:
            close = difflib.get_close_matches(unknown[0], known, n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise KronosInputError(
                f"unknown fine-tuning setting(s) {unknown}.{hint} Known settings: {sorted(known)}."
            )
        for key in ("freeze", "unfreeze"):
            if isinstance(base.get(key), str):
                base[key] = [base[key]]
            elif base.get(key) is not None:
                base[key] = list(base[key])
        cfg = cls(**base)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Check every value; raises `KronosInputError` naming the setting, its value and the rule."""

        def need(ok: bool, key: str, rule: str) -> None:
            if not ok:
                raise KronosInputError(f"fine-tuning setting `{key}` {getattr(self, key)!r} {rule}.")

        def is_int(v) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        need(is_int(self.steps) and self.steps >= 1, "steps", "must be an integer >= 1")
        need(is_int(self.batch_size) and self.batch_size >= 1, "batch_size", "must be an integer >= 1")
        for key in ("lr", "tokenizer_lr"):
            v = getattr(self, key)
            need(isinstance(v, (int, float)) and np.isfinite(v) and v > 0, key, "must be a number > 0")
        need(0 <= self.min_lr_ratio <= 1, "min_lr_ratio", "must be in [0, 1]")
        need(is_int(self.warmup_steps) and self.warmup_steps >= 0, "warmup_steps", "must be an integer >= 0")
        need(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        need(self.grad_clip >= 0, "grad_clip", "must be >= 0 (0 disables clipping)")
        need(self.context is None or (is_int(self.context) and self.context >= 2), "context", "must be >= 2")
        need(is_int(self.horizon) and self.horizon >= 1, "horizon", "must be an integer >= 1")
        need(0 <= self.val_fraction < 1, "val_fraction", "must be in [0, 1) (0: no validation tail)")
        need(is_int(self.val_windows) and self.val_windows >= 1, "val_windows", "must be an integer >= 1")
        need(is_int(self.eval_every) and self.eval_every >= 1, "eval_every", "must be an integer >= 1")
        need(
            self.patience is None or (is_int(self.patience) and self.patience >= 1),
            "patience",
            "must be an integer >= 1, or None (no early stopping)",
        )
        need(self.min_delta >= 0, "min_delta", "must be >= 0")
        need(
            is_int(self.tokenizer_steps) and self.tokenizer_steps >= 0,
            "tokenizer_steps",
            "must be an integer >= 0 (0: the tokenizer stays as it is)",
        )
        need(is_int(self.seed) and self.seed >= 0, "seed", "must be an integer >= 0")
        need(self.num_threads is None or self.num_threads >= 1, "num_threads", "must be >= 1 or None")
        need(self.precision in ("fp32", "bf16"), "precision", "must be 'fp32' or 'bf16'")
        if self.freeze and self.unfreeze is not None:
            raise KronosInputError(
                f"pass `freeze` {self.freeze} or `unfreeze` {self.unfreeze}, not both: `freeze` keeps the named "
                "parameters fixed and trains the rest, `unfreeze` trains only the named ones."
            )
        for key in ("freeze", "unfreeze"):
            patterns = getattr(self, key)
            if patterns is not None and not all(isinstance(p, str) and p for p in patterns):
                raise KronosInputError(
                    f"fine-tuning setting `{key}` {patterns!r} must be a list of parameter-name patterns, e.g. "
                    "['embedding*', 'transformer.0.*']."
                )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ----------------------------------------------------------------------------------------------------------------
# freezing


def _matches(name: str, pattern: str) -> bool:
    """A pattern names a parameter (``head.proj_s1.weight``) or a module prefix (``head``, ``transformer.0``)."""
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name, pattern.rstrip(".") + ".*")


def apply_freeze(
    module: nn.Module, freeze: Sequence[str] = (), unfreeze: Sequence[str] | None = None
) -> list[str]:
    """Set ``requires_grad`` by name patterns (`fnmatch`, case-sensitive); return the names left trainable.

    Parameters
    ----------
    module : nn.Module
    freeze : sequence of str
        Parameters matching any of these are frozen; the others train.
    unfreeze : sequence of str, optional
        If given, only the parameters matching these train.

    Raises
    ------
    KronosInputError
        A pattern matching no parameter (the message lists the module's top-level names), or patterns that
        leave nothing to train.
    """
    names = [n for n, _ in module.named_parameters()]
    patterns = list(unfreeze) if unfreeze is not None else list(freeze)
    key = "unfreeze" if unfreeze is not None else "freeze"
    for pattern in patterns:
        if not any(_matches(n, pattern) for n in names):
            prefixes = sorted({n.split(".")[0] for n in names})
            close = difflib.get_close_matches(pattern, sorted(set(names) | set(prefixes)), n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise KronosInputError(
                f"`{key}` pattern {pattern!r} matches no parameter of {type(module).__name__}.{hint} Patterns "
                f"are matched against parameter names such as {names[0]!r}; the top-level modules are "
                f"{prefixes} (e.g. {prefixes[0] + '*'!r}, 'transformer.0.*')."
            )
    trainable = []
    for name, param in module.named_parameters():
        hit = any(_matches(name, p) for p in patterns)
        train = hit if unfreeze is not None else not hit
        param.requires_grad_(train)
        if train:
            trainable.append(name)
    if not trainable:
        raise KronosInputError(
            f"`{key}` {patterns} leaves no parameter of {type(module).__name__} to train; free at least one."
        )
    return trainable


# ----------------------------------------------------------------------------------------------------------------
# the result


@dataclass
class FinetuneResult:
    """What `finetune` returns.

    Attributes
    ----------
    pipeline : KronosPipeline
        The fine-tuned pipeline, with weights of its own.
    config : FinetuneConfig
    base : str
        The checkpoint fine-tuning started from (as named by the caller).
    data_span : dict
        Training and validation bars: per series ``first``/``last`` timestamp and bar counts, overall totals.
    val_loss_before, val_loss_after : float or None
        Model-stage validation loss of the starting weights and of the weights returned (the best ones with
        ``restore_best``); None without validation windows.
    train_loss_first, train_loss_last : float
        Mean training loss over the first and the last ``min(10, steps)`` logged steps.
    steps : int
        Model-stage optimizer steps taken; ``stopped_early`` says whether early stopping ended the stage.
    best_step : int or None
        Step of the best validation loss (0: the starting weights).
    seconds : float
        Wall time of the whole call.
    log : list of dict
        The loss log rows (`kronos_plugins.training.logs.COLUMNS`).
    """

    pipeline: KronosPipeline
    config: FinetuneConfig
    base: str
    data_span: dict[str, Any]
    val_loss_before: float | None
    val_loss_after: float | None
    train_loss_first: float
    train_loss_last: float
    steps: int
    stopped_early: bool
    best_step: int | None
    seconds: float
    trainable_parameters: int
    total_parameters: int
    log: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        """Everything but the pipeline and the log, JSON-ready."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("pipeline", "log", "config")}
        out["config"] = self.config.to_dict()
        out["max_context"] = self.pipeline.max_context
        out["default_lookback"] = self.pipeline.default_lookback
        return out

    def save(self, directory: str | Path) -> Path:
        """Write the fine-tuned checkpoint: ``model/`` and ``tokenizer/`` (config.json + model.safetensors),
        ``bundle.json`` (max_context, context), ``finetune.json`` and a model card naming the base checkpoint
        and the data span. `KronosPipeline.from_pretrained(directory)` and every adapter's ``model=directory``
        load it."""
        return save_finetuned(self.pipeline, directory, self.summary())


def save_finetuned(pipeline: KronosPipeline, directory: str | Path, summary: dict[str, Any]) -> Path:
    """Save a pipeline's modules with the provenance `summary` (see `FinetuneResult.save`)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(pipeline.model, out / "model")
    save_checkpoint(pipeline.tokenizer, out / "tokenizer")
    meta = {
        "max_context": pipeline.max_context,
        "context": pipeline.default_lookback,
        "finetuned_from": summary.get("base"),
    }
    (out / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (out / FINETUNE_JSON).write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    (out / FINETUNED_CARD).write_text(_model_card(summary), encoding="utf-8")
    return out


def _fmt(x: float | None) -> str:
    return "not measured (no validation windows)" if x is None else f"{x:.4f}"


def _model_card(s: dict[str, Any]) -> str:
    span, cfg = s["data_span"], s["config"]
    frozen = (
        f"only {cfg['unfreeze']} trained"
        if cfg.get("unfreeze") is not None
        else f"frozen: {cfg['freeze'] or 'none'}"
    )
    return f"""# Fine-tuned Kronos checkpoint

Fine-tuned by `kronos_plugins.training.finetune` from **`{s["base"]}`**.

- **Training data:** {span["series"]} series, {span["train_bars"]:,} bars from {span["first"]} to
  {span["last_train"]}; validation tail {span["val_bars"]:,} bars up to {span["last"]} (targets after the
  training bars only). Nothing at or after the forecast origin ({span.get("origin") or "end of the data"}) was
  read.
- **Windows:** context {span["context"]} + horizon {cfg["horizon"]} bars, each normalised with its
  context's statistics only.
- **Steps:** {s["steps"]} of {cfg["steps"]} x batch {cfg["batch_size"]}, lr {cfg["lr"]}
  ({"stopped early" if s["stopped_early"] else "full budget"}; best step {s["best_step"]}); tokenizer steps
  {cfg["tokenizer_steps"]}; {frozen}; {s["trainable_parameters"]:,} of {s["total_parameters"]:,} parameters
  trained.
- **Validation loss:** {_fmt(s["val_loss_before"])} before -> {_fmt(s["val_loss_after"])} after.
- **Seed:** {cfg["seed"]}; **wall time:** {s["seconds"]:.1f} s.
- **Use:** `KronosPipeline.from_pretrained("<this directory>")`, or `model="<this directory>"` in any adapter
  (max_context {s["max_context"]}, default lookback {s["default_lookback"]}).
"""


# ----------------------------------------------------------------------------------------------------------------
# data


def _frames(data, name: str, column_mapping) -> list[pd.DataFrame]:
    """Validated OHLCV frames (Kronos columns, DatetimeIndex named ``timestamps``)."""
    items = [data] if isinstance(data, pd.DataFrame) else list(data)
    if not items:
        raise KronosInputError(f"`{name}` is empty; pass at least one OHLCV DataFrame.")
    out = []
    for i, frame in enumerate(items):
        label = name if isinstance(data, pd.DataFrame) else f"{name}[{i}]"
        if not isinstance(frame, pd.DataFrame):
            raise KronosInputError(
                f"`{label}` must be a pandas DataFrame of OHLCV bars, got {type(frame).__name__}."
            )
        clean, ts = prepare_context(frame, name=label, min_length=1, column_mapping=column_mapping)
        if ts is None:
            raise KronosInputError(
                f"`{label}` has no timestamps; fine-tuning embeds each bar's calendar stamp. Give the frame a "
                "DatetimeIndex or a `timestamps` column."
            )
        clean = clean.copy()
        clean.index = pd.DatetimeIndex(ts, name="timestamps")
        out.append(clean)
    return out


def _cut_at_origin(frames: list[pd.DataFrame], origin) -> list[pd.DataFrame]:
    if origin is None:
        return frames
    out = []
    for i, f in enumerate(frames):
        o = pd.Timestamp(origin)
        if (f.index.tz is None) != (o.tz is None):
            raise KronosInputError(
                f"`origin` {origin!r} and the timestamps of `data[{i}]` must both have a time zone or both not."
            )
        out.append(f[f.index < o])
    return out


def _span(frames: list[pd.DataFrame]) -> tuple[str | None, str | None]:
    firsts = [f.index[0] for f in frames if len(f)]
    lasts = [f.index[-1] for f in frames if len(f)]
    return (str(min(firsts)) if firsts else None, str(max(lasts)) if lasts else None)


# ----------------------------------------------------------------------------------------------------------------
# the function


def window_context(config: FinetuneConfig, pipeline: KronosPipeline) -> int:
    """The context bars of a fine-tuning window: ``config.context``, else the pipeline's default lookback (the
    bundled checkpoint's default context, 64 bars), else 96."""
    return config.context if config.context is not None else (pipeline.default_lookback or 96)


def finetune(
    pipeline: KronosPipeline | str | Path | None,
    data: pd.DataFrame | Sequence[pd.DataFrame],
    config: FinetuneConfig | Mapping[str, Any] | bool | None = None,
    *,
    val_data: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
    origin: str | pd.Timestamp | None = None,
    column_mapping: Mapping[str, str] | None = None,
    base: str | None = None,
    work_dir: str | Path | None = None,
    **settings: Any,
) -> FinetuneResult:
    """Fine-tune a Kronos pipeline on OHLCV series and return a new pipeline with its own weights.

    Parameters
    ----------
    pipeline : KronosPipeline, str, path or None
        What to start from: a pipeline (left unchanged), a checkpoint directory or hub id, or None for the
        bundled checkpoint.
    data : DataFrame or list of DataFrames
        OHLCV bars with timestamps (a DatetimeIndex or a ``timestamps`` column), one frame per series.
    config : FinetuneConfig, dict or True, optional
        The settings (see `FinetuneConfig`); keyword `settings` override its fields.
    val_data : DataFrame or list of DataFrames, optional
        Validation series instead of each training series' tail (then every bar of `data` trains). Their
        windows' first ``context`` bars normalise and the rest are targets, so give ``context`` bars before the
        period you validate on.
    origin : timestamp, optional
        The forecast origin: bars of `data` at or after it are dropped before anything is read, and `val_data`
        must end before it.
    column_mapping : dict, optional
        Kronos column -> your column name, as in `KronosPipeline.forecast`.
    base : str, optional
        Name of the starting checkpoint for the model card (default: `pipeline` when it is a name).
    work_dir : path, optional
        Keep the training run's files (loss logs, plot, summary) there; by default they go to a temporary
        directory that is removed.
    **settings
        Fields of `FinetuneConfig`, e.g. ``steps=200, lr=5e-5, freeze=["embedding*"]``.

    Returns
    -------
    FinetuneResult
        ``.pipeline`` is the fine-tuned pipeline; ``.save(path)`` writes it with a model card.

    Raises
    ------
    KronosInputError
        Too little history for one training window, a validation series reaching the forecast origin, an
        unknown freeze pattern or setting, invalid bars.
    """
    from .config import TrainConfig
    from .trainer import train

    t0 = time.perf_counter()
    cfg = FinetuneConfig.coerce(config, **settings)
    if pipeline is None or isinstance(pipeline, (str, Path)):
        base = base or (str(pipeline) if pipeline is not None else "bundled")
        pipeline = KronosPipeline.from_pretrained(pipeline, share_weights=False)
    elif not isinstance(pipeline, KronosPipeline):
        raise KronosInputError(
            f"`pipeline` must be a KronosPipeline, a checkpoint name or None, got {type(pipeline).__name__}."
        )
    base = base or "a KronosPipeline given in memory"
    context = window_context(cfg, pipeline)
    window = context + cfg.horizon
    if window > pipeline.max_context:
        raise KronosInputError(
            f"fine-tuning windows of `context` {context} + `horizon` {cfg.horizon} = {window} bars exceed the "
            f"pipeline's `max_context` {pipeline.max_context}; lower `context` or `horizon`."
        )

    frames = _cut_at_origin(_frames(data, "data", column_mapping), origin)
    if val_data is not None:
        val_frames = _frames(val_data, "val_data", column_mapping)
        if origin is not None:
            o = pd.Timestamp(origin)
            for i, f in enumerate(val_frames):
                if len(f) and f.index[-1] >= o:
                    raise KronosInputError(
                        f"the validation tail `val_data[{i}]` runs to {f.index[-1]}, which overlaps the forecast "
                        f"origin {o}: validation would use bars that a forecast from the origin must not see. "
                        "End the validation data before the origin."
                    )
        train_frames = frames
    else:
        train_frames, val_frames = [], []
        for f in frames:
            n_val = int(round(len(f) * cfg.val_fraction))
            cut = len(f) - n_val
            train_frames.append(f.iloc[:cut])
            if n_val >= cfg.horizon:  # at least one window whose targets lie in the tail
                val_frames.append(f.iloc[max(0, cut - context) :])

    lengths = [len(f) for f in train_frames]
    if max(lengths) < window:
        where = (
            "before the forecast origin and the validation tail"
            if origin is not None
            else "before the validation tail"
        )
        raise KronosInputError(
            f"too little history for one training window: the longest series has {max(lengths)} bars {where}, "
            f"but a window needs `context` {context} + `horizon` {cfg.horizon} = {window} bars. Pass more history, "
            "or lower `context` / `horizon` (or `val_fraction`)."
        )
    short = [i for i, n in enumerate(lengths) if n < window]
    if short:
        warnings.warn(
            f"{len(short)} of {len(lengths)} series (positions {short[:10]}) have fewer than {window} training bars "
            "and are not trained on.",
            UserWarning,
            stacklevel=2,
        )
    first, last_train = _span(train_frames)
    _, last = _span(train_frames + val_frames)
    data_span = {
        "series": len(train_frames),
        "context": context,
        "first": first,
        "last_train": last_train,
        "last": last,
        "origin": None if origin is None else str(pd.Timestamp(origin)),
        "train_bars": int(sum(lengths)),
        "val_bars": int(sum(max(0, len(f) - context) for f in val_frames)),
        "per_series": [
            {
                "first": str(f.index[0]) if len(f) else None,
                "last": str(f.index[-1]) if len(f) else None,
                "bars": len(f),
            }
            for f in train_frames
        ],
    }

    best: dict[str, Any] = {"loss": None, "step": None, "state": None, "bad": 0, "stopped": False}
    trainable: list[int] = [0, 0]

    def prepare(stage: str, module: nn.Module) -> None:
        if stage == "model":
            names = apply_freeze(module, cfg.freeze, cfg.unfreeze)
            trainable[:] = [
                sum(p.numel() for n, p in module.named_parameters() if n in set(names)),
                sum(p.numel() for p in module.parameters()),
            ]

    def on_validation(stage: str, step: int, losses: dict[str, float], module: nn.Module) -> bool:
        if stage != "model":
            return False
        loss = losses["loss"]
        if best["loss"] is None or loss < best["loss"] - cfg.min_delta:
            best.update(loss=loss, step=step, bad=0)
            if cfg.restore_best:
                best["state"] = {k: v.detach().clone() for k, v in module.state_dict().items()}
            return False
        best["bad"] += 1
        stop = cfg.patience is not None and best["bad"] >= cfg.patience
        best["stopped"] = best["stopped"] or stop
        return stop

    rng = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="kronos-finetune-") as tmp:
        start = Path(tmp) / "base"
        save_checkpoint(pipeline.model, start / "model")
        save_checkpoint(pipeline.tokenizer, start / "tokenizer")
        out_dir = Path(work_dir) if work_dir is not None else Path(tmp) / "run"
        stage = {
            "batch_size": cfg.batch_size,
            "min_lr_ratio": cfg.min_lr_ratio,
            "warmup_steps": min(cfg.warmup_steps, cfg.steps),
            "weight_decay": cfg.weight_decay,
            "grad_clip": cfg.grad_clip,
            "eval_every": cfg.eval_every,
            "log_every": 1,
        }
        train_cfg = TrainConfig.from_dict(
            {
                "seed": cfg.seed,
                "out_dir": str(out_dir),
                "device": str(pipeline.device),
                "num_threads": cfg.num_threads,
                "precision": cfg.precision,
                "progress": cfg.progress,
                "init_tokenizer": str(start / "tokenizer"),
                "init_model": str(start / "model"),
                "data": {
                    "source": "synthetic",  # unused: the frames below are the data
                    "context": context,
                    "horizon": cfg.horizon,
                    "val_windows": cfg.val_windows,
                },
                "train_tokenizer": {
                    **stage,
                    "steps": cfg.tokenizer_steps,
                    "lr": cfg.tokenizer_lr,
                    "warmup_steps": min(cfg.warmup_steps, cfg.tokenizer_steps),
                    "checkpoint_every": max(1, cfg.tokenizer_steps),
                },
                "train_model": {**stage, "steps": cfg.steps, "lr": cfg.lr, "checkpoint_every": cfg.steps},
            }
        )
        try:
            result = train(
                train_cfg,
                train_frames=[f for f in train_frames if len(f) >= window],
                val_frames=val_frames,
                command="kronos_plugins.training.finetune",
                prepare_module=prepare,
                on_validation=on_validation,
            )
        finally:
            random.setstate(rng[0])
            np.random.set_state(rng[1])
            torch.set_rng_state(rng[2])
            torch.set_num_threads(threads)
        log_file = out_dir / "train_log.json"
        log = json.loads(log_file.read_text(encoding="utf-8")) if log_file.is_file() else []
    if isinstance(log, dict):
        log = log.get("rows", [])
    model, tokenizer = result.model, result.tokenizer
    if cfg.restore_best and best["state"] is not None:
        model.load_state_dict(best["state"])
    model.requires_grad_(True)
    tuned = KronosPipeline(
        model.eval(),
        tokenizer.eval(),
        max_context=pipeline.max_context,
        device=pipeline.device,
        max_batch_rows=pipeline.max_batch_rows,
        default_lookback=pipeline.default_lookback,
    )
    rows = [r for r in log if r.get("stage") == "model"]
    train_losses = [r["loss"] for r in rows if r.get("split") == "train"]
    val_rows = [r for r in rows if r.get("split") == "val"]
    k = min(10, max(1, len(train_losses) // 2))
    out = FinetuneResult(
        pipeline=tuned,
        config=cfg,
        base=str(base),
        data_span=data_span,
        val_loss_before=val_rows[0]["loss"] if val_rows else None,
        val_loss_after=(best["loss"] if cfg.restore_best else val_rows[-1]["loss"]) if val_rows else None,
        train_loss_first=float(np.mean(train_losses[:k])) if train_losses else float("nan"),
        train_loss_last=float(np.mean(train_losses[-k:])) if train_losses else float("nan"),
        steps=int(max((r["step"] for r in rows if r.get("split") == "train"), default=0)),
        stopped_early=bool(best["stopped"]),
        best_step=best["step"],
        seconds=round(time.perf_counter() - t0, 3),
        trainable_parameters=int(trainable[0]),
        total_parameters=int(trainable[1]),
        log=log,
    )
    return out
