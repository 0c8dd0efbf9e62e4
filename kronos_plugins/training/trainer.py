"""The two-stage Kronos training loop: tokenizer first, then the model with the tokenizer frozen.

Stage 1 trains the `KronosTokenizer` on whole windows to reconstruct them from the coarse half of the code
(``z_pre``) and from the whole code (``z``)::

    loss = (MSE(z_pre, x) + MSE(z, x)) / 2 + bsq_loss

Stage 2 tokenizes each window with the frozen tokenizer and trains `Kronos` to predict the next (coarse, fine)
token pair with teacher forcing: inputs are the tokens and calendar stamps of bars ``0 .. W-2``, targets the
tokens of bars ``1 .. W-1``, and the loss is ``model.head.compute_loss`` (the mean of the two cross-entropies).

Both stages use AdamW (weight decay on matrices and embeddings only), linear warm-up then cosine decay,
gradient clipping, a fixed validation set evaluated in eval mode every ``eval_every`` steps, and resumable
checkpoints every ``checkpoint_every`` steps (`kronos_plugins.training.state`). Under ``torchrun`` the same
code runs data-parallel (`kronos_plugins.training.ddp`).

Determinism: the batch of step ``k`` and the torch generator used by dropout at step ``k`` both follow from
``(seed, stage, k[, rank])``, and initial weights from ``(seed, stage)``. A run interrupted and resumed
therefore ends with the same weights as an uninterrupted run on the same machine and software.

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ..candle_head import head_bars
from ..checkpoints import CONFIG_NAME, load_model, load_tokenizer, resolve_checkpoint, save_checkpoint
from ..model import Kronos
from ..preparation import CLIP, check_price_centre
from ..tokenizer import KronosTokenizer
from . import ddp
from .config import TrainConfig, TrainConfigError
from .data import (
    Series,
    WindowDataset,
    WindowSampler,
    data_summary,
    load_series,
    series_from_frame,
    validation_indices,
)
from .logs import PLOT_NAME, STAGES, LossLog, StageProgress, plot_losses
from .state import read_checkpoint, set_rng_state, unflatten_optimizer_state, write_checkpoint

__all__ = ["TrainResult", "lr_at", "model_loss", "seed_everything", "tokenizer_loss", "train"]

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
SNAPSHOT_DIR = "snapshots"  # <out_dir>/snapshots/<stage>/step<N>/: weights kept every snapshot_every steps
SUMMARY_NAME = "training_summary.json"
CONFIG_COPY = "config.json"
# Config keys that may differ between a run and its resumption (they do not change the result).
# keys a resumed run may change: where and how it runs, and which weights it keeps on the side (not what it learns)
_RESUME_FREE_KEYS = (
    "out_dir",
    "progress",
    "num_threads",
    "device",
    "train_tokenizer.snapshot_every",
    "train_model.snapshot_every",
)


@dataclass
class TrainResult:
    """What `train` returns.

    Attributes
    ----------
    out_dir : Path
    tokenizer : KronosTokenizer
        The trained (or loaded) tokenizer, in eval mode.
    model : Kronos or None
        The trained model, None if stage 2 did not run yet (interrupted) or has 0 steps and no init.
    completed : bool
        False when the call stopped early (``stop_after_steps``); resume with ``resume=True``.
    summary : dict
        The content of ``training_summary.json``.
    """

    out_dir: Path
    tokenizer: KronosTokenizer
    model: Kronos | None
    completed: bool
    summary: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------------------------
# seeds, schedule, losses


def seed_everything(seed: int) -> None:
    """Seed python's `random`, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _derive_seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, dtype=np.uint64)[0] % 2**63)


def lr_at(step: int, total: int, peak: float, warmup: int, min_ratio: float) -> float:
    """Learning rate at `step` (0-based): linear warm-up to `peak`, then cosine to ``peak * min_ratio``."""
    if warmup and step < warmup:
        return peak * (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def tokenizer_loss(
    tokenizer: nn.Module,
    x: torch.Tensor,
    feature_weights=None,
    stats: torch.Tensor | None = None,
    recon_pre_weight: float = 0.5,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Stage-1 loss of normalised windows x (B, W, 6): ``(MSE(z_pre, x) + MSE(z, x)) / 2 + bsq_loss``, or with
    `recon_pre_weight` r, ``r MSE(z_pre, x) + (1 - r) MSE(z, x) + bsq_loss`` (z_pre decoded from the coarse bits
    alone, z from all bits).

    `feature_weights` (6 numbers, rescaled to mean 1) weigh each feature's squared error in both MSE terms;
    None weighs them equally (the published recipe). A tokenizer with a ``"wicks"`` or ``"wicks-floor"`` candle
    head decodes through `kronos_plugins.candle_head.head_bars`, which needs the windows' `stats` (B, 2, 6):
    means and ``std + eps``, as `WindowDataset` items carry them.
    """
    (z_pre, z), bsq_loss, _, _ = tokenizer(x)
    head = getattr(tokenizer, "module", tokenizer).config.candle_head  # DDP wraps the tokenizer
    if head != "direct":
        if stats is None:
            raise ValueError(f"a {head!r} candle head needs the windows' normalisation `stats` (B, 2, 6).")
        z_pre = head_bars(z_pre, head, stats[:, 0], stats[:, 1])
        z = head_bars(z, head, stats[:, 0], stats[:, 1])
    if feature_weights is None:
        recon_pre, recon_all = F.mse_loss(z_pre, x), F.mse_loss(z, x)
    else:
        w = torch.as_tensor(feature_weights, dtype=x.dtype, device=x.device)
        w = w / w.mean()
        recon_pre, recon_all = ((z_pre - x) ** 2 * w).mean(), ((z - x) ** 2 * w).mean()
    loss = recon_pre_weight * recon_pre + (1 - recon_pre_weight) * recon_all + bsq_loss
    return loss, {"recon_pre": recon_pre, "recon_all": recon_all, "bsq": bsq_loss}


def freeze_encoder(tokenizer: KronosTokenizer) -> None:
    """Train only the decoder side (``train_tokenizer.trainable: decoder``): the input embedding, encoder and
    quantiser keep their weights, so every window keeps its token ids and a model trained on them stays valid
    (used to fit a new candle head, `kronos_plugins.candle_head`, to an existing model's tokens)."""
    for part in (tokenizer.embed, tokenizer.encoder, tokenizer.quant_embed, tokenizer.tokenizer):
        part.requires_grad_(False)


def loss_padding(n_context: torch.Tensor, width: int, loss_horizon: int | None) -> torch.Tensor | None:
    """(B, width - 1) padding mask of the next-bar targets 1..width-1: 1 where bar ``t`` lies more than
    `loss_horizon` bars after its window's normalising context (``t >= n_context + loss_horizon``), else 0.

    None when `loss_horizon` is None (every target counts).
    """
    if loss_horizon is None:
        return None
    t = torch.arange(1, width, device=n_context.device)
    return (t[None, :] >= (n_context[:, None] + int(loss_horizon))).to(torch.int64)


def clipped_padding(x: torch.Tensor, clip: float = CLIP) -> torch.Tensor:
    """(B, W - 1) padding mask of the next-bar targets 1..W-1 of normalised windows x (B, W, 6): 1 where the
    target bar's open, high, low or close lies at the clip (``|x| >= clip``), else 0."""
    return (x[:, 1:, :4].abs() >= clip).any(dim=-1).to(torch.int64)


def model_loss(
    model: nn.Module,
    head: nn.Module,
    tokenizer: KronosTokenizer,
    x: torch.Tensor,
    stamp: torch.Tensor,
    n_context: torch.Tensor | None = None,
    loss_horizon: int | None = None,
    mask_clipped: bool = False,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Stage-2 loss: tokenize x (B, W, 6) with the frozen tokenizer and predict tokens 1..W-1 from 0..W-2.

    `model` may be wrapped in DDP; `head` is the unwrapped model's ``head`` (its ``compute_loss``). With
    `loss_horizon`, only targets at most that many bars after each window's normalising context (`n_context`,
    (B,) bars) count (`loss_padding`); with `mask_clipped`, no target whose prices were clipped counts
    (`clipped_padding`; the inputs still hold those bars).
    """
    with torch.no_grad():
        s1, s2 = tokenizer.encode(x, half=True)  # (B, W) each
    s1_logits, s2_logits = model(
        s1[:, :-1], s2[:, :-1], stamp[:, :-1], use_teacher_forcing=True, s1_targets=s1[:, 1:]
    )
    padding = None
    if loss_horizon is not None:
        if n_context is None:
            raise ValueError("`loss_horizon` needs each window's `n_context`.")
        padding = loss_padding(n_context, x.shape[1], loss_horizon)
    if mask_clipped:
        clipped = clipped_padding(x)
        padding = clipped if padding is None else torch.maximum(padding, clipped)
    loss, ce_s1, ce_s2 = head.compute_loss(s1_logits, s2_logits, s1[:, 1:], s2[:, 1:], padding_mask=padding)
    return loss, {"ce_s1": ce_s1, "ce_s2": ce_s2}


def _optimizer(module: nn.Module, cfg) -> torch.optim.AdamW:
    params = [p for p in module.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    other = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": other, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))


# ----------------------------------------------------------------------------------------------------------------
# module construction


def _with_overrides(module, overrides: dict[str, Any], cls):
    """Rebuild a loaded module with changed dropout probabilities (they hold no weights)."""
    if not overrides:
        return module
    new = cls(dataclasses.replace(module.config, **overrides))
    new.load_state_dict(module.state_dict())
    return new


def _price_centre(cfg: TrainConfig) -> str:
    """Where the trained model's normalised prices are centred (its ``price_centre``): the windows of both stages
    must follow it, as forecasts will (`kronos_plugins.preparation.prepare_window`)."""
    if "price_centre" in cfg.model:
        return check_price_centre(cfg.model["price_centre"])
    if cfg.init_model is not None:  # its config.json only; the weights load later (`_new_model`)
        config = json.loads((resolve_checkpoint(cfg.init_model) / CONFIG_NAME).read_text(encoding="utf-8"))
        return check_price_centre(config.get("price_centre", "mean"))
    return "mean"


def _new_tokenizer(cfg: TrainConfig) -> KronosTokenizer:
    if cfg.init_tokenizer is not None:
        return _with_overrides(load_tokenizer(cfg.init_tokenizer), cfg.tokenizer, KronosTokenizer)
    torch.manual_seed(_derive_seed(cfg.seed, 0, 0xA11))
    return KronosTokenizer(cfg.tokenizer_config())


def _new_model(cfg: TrainConfig, tokenizer: KronosTokenizer) -> Kronos:
    if cfg.init_model is not None:
        model = _with_overrides(load_model(cfg.init_model), cfg.model, Kronos)
        if (model.config.s1_bits, model.config.s2_bits) != (tokenizer.s1_bits, tokenizer.s2_bits):
            raise TrainConfigError(
                f"`init_model` {cfg.init_model!r} has {model.config.s1_bits}+{model.config.s2_bits} bits but the "
                f"tokenizer has {tokenizer.s1_bits}+{tokenizer.s2_bits}; use the tokenizer the model was trained "
                "with (`init_tokenizer`)."
            )
        return model
    torch.manual_seed(_derive_seed(cfg.seed, 1, 0xA11))
    return Kronos(cfg.model_config(tokenizer.s1_bits, tokenizer.s2_bits))


def _load_weights(module: nn.Module, weights_dir: str, kind: str) -> None:
    loaded = load_tokenizer(weights_dir) if kind == "tokenizer" else load_model(weights_dir)
    module.load_state_dict(loaded.state_dict())


# ----------------------------------------------------------------------------------------------------------------
# the stage loop


@dataclass
class _Run:
    """State shared by both stages of one `train` call."""

    cfg: TrainConfig
    ctx: ddp.DistContext
    out_dir: Path
    log: LossLog
    train_ds: WindowDataset
    val_ds: WindowDataset
    val_idx: np.ndarray
    synthetic_fraction: float
    steps_budget: int | None  # optimizer steps this call may still take (stop_after_steps)
    elapsed: dict[str, float]
    on_validation: Callable[[str, int, dict[str, float], nn.Module], bool] | None = (
        None  # True: stop the stage
    )


def _perplexity(counts: torch.Tensor) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(torch.exp(-(p * p.log()).sum())) if len(p) else float("nan")


def _evaluate(
    run: _Run, loss_fn: Callable, module: nn.Module, batch_size: int, codes: KronosTokenizer | None = None
) -> dict[str, float] | None:
    """Mean validation loss (and components) over the fixed validation windows, in eval mode.

    With `codes` (stage 1), also the perplexity of the coarse and fine token ids over those windows: how many
    codes the tokenizer effectively uses (a collapse shows as a small number).
    """
    if len(run.val_idx) == 0:
        return None
    dev = run.ctx.device
    mine = run.val_idx[run.ctx.rank :: run.ctx.world_size]
    keys = None
    total = None
    if codes is not None:
        hist = [
            torch.zeros(2**codes.s1_bits, dtype=torch.float64, device=dev),
            torch.zeros(2**codes.s2_bits, dtype=torch.float64, device=dev),
        ]
    was_training = module.training
    module.eval()
    with torch.no_grad():
        for i in range(0, len(mine), batch_size):
            items = [run.val_ds[int(j)] for j in mine[i : i + batch_size]]
            x, stamp, stats, n_context = (torch.stack(column).to(dev) for column in zip(*items, strict=True))
            loss, parts = loss_fn(module, x, stamp, stats, n_context)
            keys = ["loss", *parts]
            vals = torch.stack([loss, *parts.values()]).double() * len(x)
            total = vals if total is None else total + vals
            if codes is not None:
                for h, ids in zip(hist, codes.encode(x, half=True), strict=True):
                    h += torch.bincount(ids.flatten(), minlength=len(h)).double()
    module.train(was_training)
    if total is None:  # this rank had no validation window; its peers did
        keys = ["loss", "recon_pre", "recon_all", "bsq"] if codes is not None else ["loss", "ce_s1", "ce_s2"]
        total = torch.zeros(len(keys), dtype=torch.float64, device=dev)
    total = torch.cat([total, torch.tensor([float(len(mine))], dtype=torch.float64, device=dev)])
    ddp.all_reduce_sum(total, run.ctx)
    out = {k: float(total[i] / total[-1]) for i, k in enumerate(keys)}
    if codes is not None:
        for name, h in zip(("s1_perplexity", "s2_perplexity"), hist, strict=True):
            out[name] = _perplexity(ddp.all_reduce_sum(h, run.ctx))
    return out


def _checkpoint_state(run: _Run, stage: str, step: int, total: int) -> dict[str, Any]:
    return {
        "stage": stage,
        "step": step,
        "steps": total,
        "elapsed_s": dict(run.elapsed),
        "config": run.cfg.to_dict(),
    }


def _run_stage(
    run: _Run,
    stage: str,
    module: nn.Module,
    loss_fn: Callable,
    start_step: int,
    resume_optim: tuple[dict, dict] | None,
) -> bool:
    """Train `module` for the stage's steps from `start_step`. Returns False if stopped early (budget)."""
    cfg, ctx = run.cfg, run.ctx
    scfg = cfg.train_tokenizer if stage == "tokenizer" else cfg.train_model
    stream = STAGES.index(stage)
    total = scfg.steps
    module.train()
    wrapped = ddp.wrap(module, ctx)
    opt = _optimizer(module, scfg)
    if resume_optim is not None:
        opt.load_state_dict(unflatten_optimizer_state(*resume_optim))
    sampler = WindowSampler(
        run.train_ds,
        scfg.batch_size,
        cfg.seed,
        stream=stream,
        weighting=cfg.data.weighting,
        synthetic_fraction=run.synthetic_fraction,
        source_weights=cfg.data.source_weights,
        start_step=start_step,
        num_steps=total,
        rank=ctx.rank,
        world_size=ctx.world_size,
    )
    loader = DataLoader(run.train_ds, batch_sampler=sampler, num_workers=cfg.data.num_workers)
    eval_bs = max(1, scfg.batch_size // ctx.world_size)

    def evaluate(step: int) -> bool:
        """Validation loss at `step`; True when `run.on_validation` asks to stop the stage (early stopping)."""
        res = _evaluate(run, loss_fn, module, eval_bs, codes=module if stage == "tokenizer" else None)
        if res is None:
            return False
        run.log.append(stage=stage, step=step, split="val", elapsed_s=round(run.elapsed[stage], 3), **res)
        run.log.flush()
        extra = ""
        if "s1_perplexity" in res:
            extra = f" (code perplexity s1 {res['s1_perplexity']:.1f}, s2 {res['s2_perplexity']:.1f})"
        logger.info("%s step %d/%d: validation loss %.4f%s", stage, step, total, res["loss"], extra)
        return bool(run.on_validation is not None and run.on_validation(stage, step, res, module))

    def checkpoint(step: int) -> None:
        if ctx.is_main:
            run.log.flush()
            write_checkpoint(
                run.out_dir / CHECKPOINT_DIR, module, opt, _checkpoint_state(run, stage, step, total)
            )
        ddp.barrier(ctx)

    if start_step == 0:
        evaluate(0)
    progress = StageProgress(cfg.progress if ctx.is_main else False)
    ema, last_val = None, run.log.last(stage, "val")
    done = start_step
    with progress.run(f"{stage}", start_step, total):
        for x, stamp, stats, n_context in loader:
            t0 = time.perf_counter()
            step = done
            x, stamp, stats, n_context = (
                t.to(ctx.device, non_blocking=True) for t in (x, stamp, stats, n_context)
            )
            lr = lr_at(step, total, scfg.lr, scfg.warmup_steps, scfg.min_lr_ratio)
            for group in opt.param_groups:
                group["lr"] = lr
            torch.manual_seed(_derive_seed(cfg.seed, stream, step, ctx.rank))  # dropout draws of this step
            loss, parts = loss_fn(wrapped, x, stamp, stats, n_context)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            clip = scfg.grad_clip if scfg.grad_clip > 0 else float("inf")
            grad_norm = float(nn.utils.clip_grad_norm_(module.parameters(), clip))
            opt.step()
            done = step + 1
            run.elapsed[stage] += time.perf_counter() - t0
            if done % scfg.log_every == 0 or done == total:
                vals = torch.stack([loss.detach(), *(v.detach() for v in parts.values())]).double()
                vals = ddp.all_reduce_sum(vals, ctx) / ctx.world_size
                row = dict(zip(["loss", *parts], (float(v) for v in vals), strict=True))
                run.log.append(
                    stage=stage,
                    step=done,
                    split="train",
                    lr=lr,
                    grad_norm=grad_norm,
                    elapsed_s=round(run.elapsed[stage], 3),
                    **row,
                )
                ema = row["loss"] if ema is None else 0.9 * ema + 0.1 * row["loss"]
            early = False
            if done % scfg.eval_every == 0 or done == total:
                early = evaluate(done) and done < total
                last_val = run.log.last(stage, "val")
            val_txt = f" val {last_val['loss']:.4f}" if last_val else ""
            progress.update(f"loss {ema if ema is not None else float(loss):.4f}{val_txt} lr {lr:.2e}")
            if run.steps_budget is not None:
                run.steps_budget -= 1
            stop = run.steps_budget is not None and run.steps_budget <= 0 and done < total
            if done % scfg.checkpoint_every == 0 or done == total or stop or early:
                checkpoint(done)
            if scfg.snapshot_every and done % scfg.snapshot_every == 0 and ctx.is_main:
                save_checkpoint(module, run.out_dir / SNAPSHOT_DIR / stage / f"step{done}")
            if early:
                logger.info("%s: stopped early after step %d/%d (on_validation)", stage, done, total)
                return True
            if stop:
                logger.info(
                    "%s: stopped after step %d/%d (stop_after_steps); resume with --resume",
                    stage,
                    done,
                    total,
                )
                return False
    return True


# ----------------------------------------------------------------------------------------------------------------
# the public entry point


def _series(frames: Sequence[pd.DataFrame] | None, prefix: str) -> list[Series]:
    return [series_from_frame(f, f"{prefix} {i}") for i, f in enumerate(frames or [])]


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
        return (out.stdout.strip() or None) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _file_size(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    train_frames: Sequence[pd.DataFrame] | None = None,
    val_frames: Sequence[pd.DataFrame] | None = None,
    command: str | None = None,
    stop_after_steps: int | None = None,
    prepare_module: Callable[[str, nn.Module], None] | None = None,
    on_validation: Callable[[str, int, dict[str, float], nn.Module], bool] | None = None,
) -> TrainResult:
    """Run (or resume) both training stages described by `config`.

    Parameters
    ----------
    config : TrainConfig
        The run; see `kronos_plugins.training.config` and ``docs/training.md``.
    resume : bool, default=False
        Continue from ``<out_dir>/checkpoints``. The config must equal the one the run started with (except
        ``out_dir``, ``progress``, ``num_threads`` and ``device``). Without `resume`, an ``out_dir`` that
        already holds a checkpoint is refused.
    train_frames, val_frames : sequence of DataFrame, optional
        OHLCV frames to train and validate on instead of ``config.data`` (a programmatic fine-tuning API).
        Validation windows lie wholly inside each validation frame.
    command : str, optional
        Recorded in the training summary (the CLI passes its command line).
    stop_after_steps : int, optional
        Checkpoint and return after this many optimizer steps in this call (both stages counted), as if
        interrupted; for time-boxed or pre-emptible jobs. Resume later with ``resume=True``.
    prepare_module : callable, optional
        ``prepare_module(stage, module)`` is called on each stage's module before its optimizer is built, e.g.
        to freeze parameters (``requires_grad_(False)``; the optimizer takes only trainable ones). Fine-tuning
        (`kronos_plugins.training.finetune`) uses it.
    on_validation : callable, optional
        ``on_validation(stage, step, losses, module)`` after each validation (step 0 included); returning True
        ends the stage there, as completed (early stopping).

    Returns
    -------
    TrainResult

    Notes
    -----
    Output layout (written by rank 0): ``tokenizer/`` and ``model/`` (``config.json`` + ``model.safetensors``,
    loadable with ``load_tokenizer`` / ``load_model`` or ``KronosPipeline.from_pretrained``),
    ``train_log.csv``, ``train_log.json``, ``losses.png``, ``training_summary.json``, ``config.json`` (the
    resolved config) and ``checkpoints/`` (the resumable state).
    """
    if stop_after_steps is not None and stop_after_steps < 1:
        raise ValueError(f"`stop_after_steps` must be >= 1 or None, got {stop_after_steps!r}.")
    cfg = config
    wall0 = time.perf_counter()
    ctx = ddp.setup(cfg.device)
    try:
        if cfg.num_threads is not None:
            torch.set_num_threads(cfg.num_threads)
        out = Path(cfg.out_dir)
        ckpt_dir = out / CHECKPOINT_DIR
        state = None
        if resume:
            state, optim_tensors, rng_tensors = read_checkpoint(ckpt_dir)
            _check_same_config(state["config"], cfg.to_dict())
        elif (ckpt_dir / "state.json").is_file():
            raise FileExistsError(
                f"`out_dir` {str(out)!r} already holds a training checkpoint; pass `--resume` (resume=True) to "
                "continue it, or choose another `out_dir`."
            )
        if ctx.is_main:
            out.mkdir(parents=True, exist_ok=True)
            (out / CONFIG_COPY).write_text(json.dumps(cfg.to_dict(), indent=2), encoding="utf-8")
        seed_everything(cfg.seed)

        # data ------------------------------------------------------------------------------------------------
        if train_frames is not None:
            train_series = _series(train_frames, "train_frames")
            val_series = _series(val_frames, "val_frames")
            data_info: dict[str, Any] = {
                "source": "frames",
                "train_series": len(train_series),
                "val_series": len(val_series),
            }
        else:
            train_series, val_series, data_info = load_series(cfg.data, seed=cfg.seed)
        frac = 0.0
        if cfg.augment.enabled and cfg.augment.fraction > 0:
            a = cfg.augment
            if a.generator == "market":
                from ..datasets.synthetic_market import generate_market

                synth = generate_market(a.n_series, a.length, seed=_derive_seed(cfg.seed, 0x5A))
            else:
                from .augment import generate_synthetic

                synth = generate_synthetic(
                    a.n_series, a.length, kinds=a.kinds, seed=_derive_seed(cfg.seed, 0x5A), freq=a.freq
                )
            train_series += [series_from_frame(f, f"synthetic {i}", group=1) for i, f in enumerate(synth)]
            frac = a.fraction
        d = cfg.data
        centre = _price_centre(cfg)
        train_ds = WindowDataset(
            train_series,
            d.context,
            d.horizon,
            min_context=d.min_context,
            level_jitter=d.level_jitter,
            price_centre=centre,
        )
        val_ds = WindowDataset(val_series, d.context, d.horizon, price_centre=centre)
        if len(train_ds) == 0:
            raise ValueError(
                f"no training series has a full window of `data.context` + `data.horizon` = {d.context + d.horizon} "
                f"bars (longest: {max((len(s) for s in train_series), default=0)}); shorten the window."
            )
        if train_ds.dropped or val_ds.dropped:
            logger.warning(
                "%d training and %d validation series are shorter than one window (%d bars) and unused",
                train_ds.dropped,
                val_ds.dropped,
                d.context + d.horizon,
            )
        val_idx = validation_indices(val_ds, d.val_windows, d.weighting)
        if len(val_idx) == 0:
            logger.warning("no validation windows: validation losses are not computed")
        data_info.update(
            {
                "context": d.context,
                "horizon": d.horizon,
                "window": d.context + d.horizon,
                "train_windows": len(train_ds),
                "train_series_used": len(train_ds.series),
                "train_bars": int(sum(len(s) for s in train_ds.series if s.group == 0)),
                "val_windows_total": len(val_ds),
                "val_windows_used": int(len(val_idx)),
                "val_series_used": len(val_ds.series),
                "weighting": d.weighting,
                "augment": dataclasses.asdict(cfg.augment) if frac else None,
            }
        )

        summary_table = data_summary(data_info, train_series)
        if ctx.is_main and len(summary_table):
            text = summary_table.to_string(index=False)
            logger.info("training data (bars per source, frequency and part):\n%s", text)
            (out / "data_summary.txt").write_text(text + "\n", encoding="utf-8")
        log = LossLog(out, enabled=ctx.is_main)
        elapsed = {"tokenizer": 0.0, "model": 0.0}
        if state is not None:
            log.restore(state["stage"], state["step"])
            elapsed.update(state["elapsed_s"])
        run = _Run(
            cfg, ctx, out, log, train_ds, val_ds, val_idx, frac, stop_after_steps, elapsed, on_validation
        )

        # stage 1: tokenizer ------------------------------------------------------------------------------------
        tokenizer = _new_tokenizer(cfg).to(ctx.device)
        if prepare_module is not None and cfg.train_tokenizer.steps > 0:
            prepare_module("tokenizer", tokenizer)
        stopped = False
        in_stage2 = state is not None and state["stage"] == "model"
        if in_stage2:
            _load_weights(tokenizer, str(out / "tokenizer"), "tokenizer")
        elif cfg.train_tokenizer.steps > 0:
            start, resume_optim = 0, None
            if state is not None:
                _load_weights(tokenizer, state["weights_dir"], "tokenizer")
                start, resume_optim = state["step"], (optim_tensors, state["optimizer"])
                set_rng_state(rng_tensors, state["rng"])

            if cfg.train_tokenizer.trainable == "decoder":
                freeze_encoder(tokenizer)

            def tok_loss(m, x, stamp, stats, n_context):
                return tokenizer_loss(
                    m, x, cfg.train_tokenizer.feature_weights, stats, cfg.train_tokenizer.recon_pre_weight
                )

            if start < cfg.train_tokenizer.steps:
                stopped = not _run_stage(run, "tokenizer", tokenizer, tok_loss, start, resume_optim)
        tokenizer.eval()
        if ctx.is_main and not in_stage2 and not stopped:
            save_checkpoint(tokenizer, out / "tokenizer")

        # stage 2: model ----------------------------------------------------------------------------------------
        model = None
        wants_stage2 = cfg.train_model.steps > 0 or cfg.init_model is not None
        if (
            wants_stage2
            and not stopped
            and not in_stage2
            and run.steps_budget is not None
            and run.steps_budget <= 0
        ):
            stopped = True  # the budget ended with stage 1; its final checkpoint resumes into stage 2
        if wants_stage2 and not stopped:
            tokenizer.requires_grad_(False)
            model = _new_model(cfg, tokenizer).to(ctx.device)
            if prepare_module is not None:
                prepare_module("model", model)
            start, resume_optim = 0, None
            if in_stage2:
                _load_weights(model, state["weights_dir"], "model")
                start, resume_optim = state["step"], (optim_tensors, state["optimizer"])
                set_rng_state(rng_tensors, state["rng"])
            head = model.head

            autocast_bf16 = cfg.precision == "bf16"

            def mdl_loss(m, x, stamp, stats, n_context):
                with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast_bf16):
                    # mask_clipped shapes training only: the validation loss (eval mode) counts every target
                    masked = cfg.data.mask_clipped and m.training
                    return model_loss(m, head, tokenizer, x, stamp, n_context, cfg.data.loss_horizon, masked)

            if start < cfg.train_model.steps:
                stopped = not _run_stage(run, "model", model, mdl_loss, start, resume_optim)
            model.eval()
            if ctx.is_main and not stopped:
                save_checkpoint(model, out / "model")
        completed = not stopped

        summary: dict[str, Any] = {}
        if ctx.is_main:
            log.flush()
            plot_losses(log.rows, out / PLOT_NAME)
            summary = _summary(
                run,
                tokenizer,
                model,
                completed,
                command,
                time.perf_counter() - wall0,
                data_info,
                resumed=state is not None,
            )
            previous = out / SUMMARY_NAME
            if state is not None and previous.is_file():  # accumulate wall time over resumed calls
                old = json.loads(previous.read_text(encoding="utf-8"))
                summary["wall_time_s"] = round(old.get("wall_time_s", 0.0) + summary["wall_time_s"], 2)
                summary["calls"] = old.get("calls", 1) + 1
            previous.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        ddp.barrier(ctx)
        return TrainResult(out, tokenizer, model, completed, summary)
    finally:
        ddp.teardown(ctx)


def _check_same_config(saved: dict[str, Any], current: dict[str, Any]) -> None:
    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            if isinstance(v, dict) and k not in ("tokenizer", "model"):
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
        return out

    a, b = flat(saved), flat(current)
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in _RESUME_FREE_KEYS)
    if diff:
        shown = ", ".join(f"`{k}` {a.get(k)!r} -> {b.get(k)!r}" for k in diff[:8])
        raise TrainConfigError(
            f"cannot resume: the config differs from the one the run started with ({shown}). Resume with the "
            "original config (see <out_dir>/config.json), or start a new run in another `out_dir`."
        )


def _summary(run: _Run, tokenizer, model, completed, command, wall, data_info, resumed) -> dict[str, Any]:
    out = run.out_dir
    stages = {}
    for stage, module in (("tokenizer", tokenizer), ("model", model)):
        scfg = run.cfg.train_tokenizer if stage == "tokenizer" else run.cfg.train_model
        last_train, last_val = run.log.last(stage, "train"), run.log.last(stage, "val")
        first_val = next((r for r in run.log.rows if r["stage"] == stage and r["split"] == "val"), None)
        steps_done = last_train["step"] if last_train else 0
        secs = run.elapsed.get(stage, 0.0)
        stages[stage] = {
            "steps": steps_done,
            "steps_planned": scfg.steps,
            "batch_size": scfg.batch_size,
            "train_seconds": round(secs, 2),
            "steps_per_second": round(steps_done / secs, 3) if secs > 0 and steps_done else None,
            "initial_val_loss": first_val["loss"] if first_val else None,
            "final_val_loss": last_val["loss"] if last_val else None,
            "final_val": {k: v for k, v in (last_val or {}).items() if v is not None and k not in ("stage",)},
            "final_train_loss_last50_mean": run.log.mean_train_loss(stage),
            "parameters": sum(p.numel() for p in module.parameters()) if module is not None else None,
            "architecture": module.config.to_dict() if module is not None else None,
            "init": run.cfg.init_tokenizer if stage == "tokenizer" else run.cfg.init_model,
            "safetensors_bytes": _file_size(out / stage / "model.safetensors"),
        }
    return {
        "completed": completed,
        "resumed": resumed,
        "command": command,
        "argv": sys.argv,
        "seed": run.cfg.seed,
        "wall_time_s": round(wall, 2),
        "world_size": run.ctx.world_size,
        "device": str(run.ctx.device),
        "torch_threads": torch.get_num_threads(),
        "created": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "git_commit": _git_commit(),
        "data": data_info,
        "stages": stages,
        "recommended_max_context": run.cfg.data.context + run.cfg.data.horizon,
        "files": sorted(
            str(p.relative_to(out))
            for p in out.rglob("*")
            if p.is_file() and CHECKPOINT_DIR not in p.relative_to(out).parts
        ),
        "config": run.cfg.to_dict(),
    }
