"""Install a finished training run as the package's bundled checkpoint (what `make train-bundled` ends with).

Copies ``<run>/tokenizer`` and ``<run>/model`` into ``kronos_plugins/checkpoints_data/bundled/``, writes
``bundle.json`` (max_context and provenance), ``MODEL_CARD.md`` (data, split, command, seed, wall time, final
losses, from the run's ``training_summary.json``) and ``SHA256SUMS`` (checked when the bundle loads).

    python -m kronos_plugins.training.bundle runs/v2-model-long --context 64
    python -m kronos_plugins.training.bundle runs/v2-tokenizer-wicks --replace-tokenizer   # then a new decoder
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

from ..checkpoints import BUNDLED_DIR, CONFIG_NAME, WEIGHTS_NAME, file_sha256, load_tokenizer

MAX_BUNDLE_BYTES = 25 * 2**20  # the limit for tokenizer + model on disk
#: The weight and config files of a bundle, relative to it (what SHA256SUMS lists).
BUNDLE_FILES = tuple(
    f"{part}/{name}" for part in ("tokenizer", "model") for name in (CONFIG_NAME, WEIGHTS_NAME)
)


def _checked_size(out: Path) -> int:
    """Bytes of the bundle's files; over `MAX_BUNDLE_BYTES` is an error."""
    total = sum((out / f).stat().st_size for f in BUNDLE_FILES)
    if total > MAX_BUNDLE_BYTES:
        raise ValueError(
            f"bundle is {total / 2**20:.1f} MiB, over the {MAX_BUNDLE_BYTES / 2**20:.0f} MiB limit."
        )
    return total


def _write_sums(out: Path) -> None:
    (out / "SHA256SUMS").write_text("".join(f"{file_sha256(out / f)}  {f}\n" for f in BUNDLE_FILES))


def bundle_run(
    run_dir: str | Path,
    dest: str | Path = BUNDLED_DIR,
    *,
    context: int | None = None,
    anchor: bool = False,
    temperature: float | None = None,
) -> Path:
    """Copy a completed run's checkpoints into `dest` with a model card and checksums; return `dest`.

    `context` sets the bundle's default forecast context (bars); None keeps the training windows' context.
    `anchor` writes ``"anchor": true`` into ``bundle.json``, so that the bundle's forecasts are anchored by
    default (`KronosPipeline.forecast`'s ``anchor``). `temperature` writes ``"temperature"`` into it, the
    sampling temperature of every forecast and synthetic path that names none (`KronosPipeline`'s
    ``default_temperature``); None leaves sampling's own default, 1. Choose them on validation windows
    (``benchmarks/suites/select-defaults.yaml``, ``select-anchor.yaml``, ``select-v4-tokenizer.yaml``), never on
    held-out ones.
    """
    if temperature is not None and not 0 < float(temperature) < 1e6:
        raise ValueError(f"temperature={temperature} must be a number > 0.")
    run = Path(run_dir)
    summary_file = run / "training_summary.json"
    if not summary_file.is_file():
        raise FileNotFoundError(f"`{run}` has no training_summary.json: is it a finished `kronos-train` run?")
    summary = json.loads(summary_file.read_text())
    if not summary.get("completed"):
        raise ValueError(
            f"the run in `{run}` did not complete; resume it with `kronos-train --resume` first."
        )
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    for f in BUNDLE_FILES:
        (out / f).parent.mkdir(exist_ok=True)
        shutil.copyfile(run / f, out / f)
    total = _checked_size(out)
    stages = summary["stages"]
    if context is not None:
        if not 1 <= int(context) <= summary["recommended_max_context"]:
            raise ValueError(
                f"context={context} must lie in [1, {summary['recommended_max_context']}] (the run's max_context)."
            )
        summary = {**summary, "default_context": int(context)}
    meta = {
        "max_context": summary["recommended_max_context"],
        "context": _default_context(summary),
        **({"anchor": True} if anchor else {}),
        **({"temperature": float(temperature)} if temperature is not None else {}),
        "created": summary["created"],
        "command": summary["command"],
        "seed": summary["seed"],
        "git_commit": summary.get("git_commit"),
        "split": summary["data"]["split"],
        "wall_time_s": summary["wall_time_s"],
        "final_val_loss": {k: v["final_val_loss"] for k, v in stages.items()},
    }
    (out / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n")
    shutil.copyfile(run / "losses.png", out / "losses.png")
    card = _model_card(summary, total)
    if temperature is not None:
        line = (
            f"- **Sampling temperature:** {float(temperature):g} by default (`bundle.json`; chosen on the validation "
            "part's windows); `temperature=` overrides it.\n"
        )
        card = card.replace("- **Use:**", line + "- **Use:**", 1)
    (out / "MODEL_CARD.md").write_text(card)
    _write_sums(out)
    return out


def replace_tokenizer(run_dir: str | Path, dest: str | Path = BUNDLED_DIR) -> Path:
    """Swap a bundle's tokenizer for the one a decoder-only run trained for its tokens; return `dest`.

    The run must train only the tokenizer's decoder side (``train_tokenizer.trainable: decoder``) from the
    bundle's own tokenizer, so every window keeps its token ids and the bundled model stays valid; anything
    else is refused. ``SHA256SUMS`` is rewritten, ``bundle.json`` records the run under ``"tokenizer_run"`` and
    ``MODEL_CARD.md`` gets a line saying what changed.
    """
    run, out = Path(run_dir), Path(dest)
    summary_file = run / "training_summary.json"
    if not summary_file.is_file():
        raise FileNotFoundError(f"`{run}` has no training_summary.json: is it a finished `kronos-train` run?")
    s = json.loads(summary_file.read_text())
    cfg = s.get("config", {})
    if not s.get("completed"):
        raise ValueError(
            f"the run in `{run}` did not complete; resume it with `kronos-train --resume` first."
        )
    if cfg.get("train_tokenizer", {}).get("trainable") != "decoder":
        raise ValueError(
            f"the run in `{run}` trained the whole tokenizer, which changes its token ids: the bundled model "
            "would no longer match. Only a `train_tokenizer.trainable: decoder` run can replace the tokenizer."
        )
    old_weights = out / "tokenizer" / WEIGHTS_NAME
    old, new = load_tokenizer(out / "tokenizer"), load_tokenizer(run / "tokenizer")
    frozen = ("embed.", "encoder.", "quant_embed.", "tokenizer.")
    old_sd, new_sd = old.state_dict(), new.state_dict()
    if old_sd.keys() != new_sd.keys() or any(
        not torch.equal(old_sd[k], new_sd[k]) for k in old_sd if k.startswith(frozen)
    ):
        raise ValueError(
            f"the tokenizer of `{run}` does not share the bundled tokenizer's encoder ({old_weights}): it was "
            "trained from another checkpoint. Set its `init_tokenizer` to the bundled tokenizer."
        )
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        shutil.copyfile(run / "tokenizer" / name, out / "tokenizer" / name)
    total = _checked_size(out)
    st = s["stages"]["tokenizer"]
    meta = json.loads((out / "bundle.json").read_text())
    meta["tokenizer_run"] = {
        "command": s["command"],
        "created": s["created"],
        "git_commit": s.get("git_commit"),
        "candle_head": new.config.candle_head,
        "steps": st["steps"],
        "final_val_loss": st["final_val_loss"],
        "wall_time_s": s["wall_time_s"],
    }
    (out / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n")
    card = (out / "MODEL_CARD.md").read_text()
    line = (
        f"- **Tokenizer decoder** retrained for the model's unchanged tokens (encoder and quantiser frozen), "
        f"candle head `{new.config.candle_head}`: `{s['command']}`, {st['steps']} x {st['batch_size']} steps, "
        f"validation loss {_loss_cell(st)}, {st['train_seconds'] / 60:.0f} min; commit {s.get('git_commit')}.\n"
    )
    card = "".join(x for x in card.splitlines(keepends=True) if not x.startswith("- **Tokenizer decoder**"))
    anchor = "- **Use:**"
    card = card.replace(anchor, line + anchor, 1) if anchor in card else card + "\n" + line
    card = card.replace(
        card[card.index("- **Size on disk:**") : card.index("checksums in `SHA256SUMS`.")],
        f"- **Size on disk:** {total / 2**20:.2f} MiB of safetensors; ",
    )
    (out / "MODEL_CARD.md").write_text(card)
    _write_sums(out)
    return out


def _model_card(s: dict, total_bytes: int) -> str:
    tok, mod = s["stages"]["tokenizer"], s["stages"]["model"]
    assets = s["data"]["assets"]
    freqs = sorted({a["freq"] for a in assets})
    bars = sum(a["pretrain_bars"] for a in assets)
    val_bars = sum(a["validation_bars"] for a in assets)
    licences = sorted({a["licence"] for a in assets})
    ta, ma = tok["architecture"], mod["architecture"]
    return f"""# kronos-plugins bundled Kronos checkpoint

A small Kronos (tokenizer + model) trained from scratch by `kronos-plugins`' own pipeline on real market data
that installs with ordinary packages. It exists so that zero-shot Kronos works offline; it is **not** one of
the published NeoQuasar checkpoints and is far smaller than them.

| | tokenizer | model |
|---|---|---|
| architecture | d_model {ta["d_model"]}, {ta["n_heads"]} heads, ff {ta["ff_dim"]}, {ta["n_enc_layers"] - 1}+{ta["n_dec_layers"] - 1} blocks, {ta["s1_bits"]}+{ta["s2_bits"]} bits | d_model {ma["d_model"]}, {ma["n_heads"]} heads, ff {ma["ff_dim"]}, {ma["n_layers"]} layers |
| parameters | {tok["parameters"]:,} | {mod["parameters"]:,} |
| steps x batch | {_steps_cell(tok)} | {_steps_cell(mod)} |
| validation loss (initial -> final) | {_loss_cell(tok)} | {_loss_cell(mod)} |
{_lineage_lines(s)}
- **Use:** {_use_line(s)}
- **Data:** the `pretrain` part of the package's fixed split (`{s["data"]["split"]["name"]}` v{s["data"]["split"]["version"]},
  every training/validation period ends by {s["data"]["split"]["cutoff"]}): {len(assets)} assets, {bars:,} bars
  ({", ".join(freqs)}); validation on the `validation` part ({val_bars:,} bars). Held-out assets and periods
  were never read. Source licences: {", ".join(licences)} (see docs/datasets.md).
- **Command:** `{s["command"]}`
- **Seed:** {s["seed"]}; **wall time:** {s["wall_time_s"] / 60:.1f} min on {s["cpu_count"]} CPU cores
  ({s["device"]}, {s["torch_threads"]} threads), torch {s["versions"]["torch"]}; commit {s.get("git_commit")}.
- **Size on disk:** {total_bytes / 2**20:.2f} MiB of safetensors; checksums in `SHA256SUMS`.
- **Limits:** trained on about {bars // 1000}k bars on a CPU, far less data and compute than the published
  checkpoints. The held-out evidence (`benchmarks/results/quality/`, `benchmarks/results/default/`) says how it
  compares with simple baselines; use the published checkpoints for real work.

![losses](losses.png)
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--dest", default=str(BUNDLED_DIR))
    ap.add_argument(
        "--context",
        type=int,
        default=None,
        help="default forecast context in bars (chosen on validation windows); default: the training context",
    )
    ap.add_argument(
        "--anchor",
        action="store_true",
        help="anchor the bundle's forecasts by default (chosen on validation windows); default: off",
    )
    ap.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="default sampling temperature (chosen on validation windows); default: none (sampling's 1.0)",
    )
    ap.add_argument(
        "--replace-tokenizer",
        action="store_true",
        help="RUN_DIR is a decoder-only tokenizer run: swap the bundle's tokenizer for it, keep the model",
    )
    args = ap.parse_args(argv)
    if args.replace_tokenizer:
        out = replace_tokenizer(args.run_dir, args.dest)
        print(f"replaced the tokenizer of {out} with {args.run_dir}/tokenizer")
        return 0
    out = bundle_run(
        args.run_dir, args.dest, context=args.context, anchor=args.anchor, temperature=args.temperature
    )
    print(f"bundled {args.run_dir} -> {out}")
    return 0


def _training_context(summary: dict) -> int | None:
    """The training windows' context length (bars), which forecasts use by default; None if not recorded."""
    context = summary.get("config", {}).get("data", {}).get("context")
    return None if context is None else int(context)


def _default_context(summary: dict) -> int | None:
    """The context forecasts use by default: the one chosen at bundling, else the training context."""
    return summary.get("default_context", _training_context(summary))


def _use_line(summary: dict) -> str:
    window = summary["recommended_max_context"]
    context = _default_context(summary)
    if context is None:
        return f"`KronosPipeline.from_pretrained()` (no argument) with `max_context={window}` (the training windows' length)."
    if "default_context" in summary:
        why = (
            f"chosen on the validation part's windows,\n  `benchmarks/suites/select-defaults.yaml`; "
            f"training contexts ran from {summary['config']['data'].get('min_context', context)} to "
            f"{_training_context(summary)} bars"
        )
    else:
        why = "the training\n  context"
    return (
        f"`KronosPipeline.from_pretrained()` (no argument): `max_context={window}` (the training windows' length)\n"
        f"  and, unless a `lookback` is given, the last {context} bars of each history as context ({why};\n"
        "  `bundle.json` records both)."
    )


def _steps_cell(stage: dict) -> str:
    if not stage["steps"] and stage.get("init"):  # taken from an earlier run, not trained here
        return f"0 here (from `{stage['init']}`)"
    if stage.get("init"):  # warm start: continued from an earlier run's weights
        return f"{stage['steps']} x {stage['batch_size']} (continued from `{stage['init']}`)"
    return f"{stage['steps']} x {stage['batch_size']}"


def _stage_history(stage_name: str, stage: dict) -> list[str]:
    """The runs a warm-started stage continued from, oldest first, read from their training summaries."""
    lines, seen = [], set()
    init = stage.get("init")
    while init and init not in seen:
        seen.add(init)
        summary_file = Path(init).parent / "training_summary.json"
        if not summary_file.is_file():
            lines.append(f"`{init}` (its training summary was not found)")
            break
        earlier = json.loads(summary_file.read_text())["stages"][stage_name]
        if earlier["steps"]:
            loss = _loss_cell(earlier)
            lines.append(
                f"`{Path(init).parent}`: {earlier['steps']} x {earlier['batch_size']} steps, validation loss {loss}, "
                f"{earlier.get('train_seconds', 0) / 60:.0f} min"
            )
        init = earlier.get("init")
    return lines[::-1]


def _lineage_lines(s: dict) -> str:
    """Markdown lines naming the earlier runs each stage continued from (empty when trained from scratch)."""
    out = []
    for name in ("tokenizer", "model"):
        history = _stage_history(name, s["stages"][name])
        if history:
            out.append(f"- **{name.capitalize()} lineage** (oldest first): " + "; then ".join(history) + ".")
    return ("\n" + "\n".join(out) + "\n") if out else ""


def _loss_cell(stage: dict) -> str:
    if stage.get("initial_val_loss") is None or stage.get("final_val_loss") is None:
        return "see the run it was taken from" if stage.get("init") else "not measured"
    return f"{stage['initial_val_loss']:.4f} -> {stage['final_val_loss']:.4f}"


if __name__ == "__main__":
    sys.exit(main())
