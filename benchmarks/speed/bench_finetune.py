"""How long fine-tuning the bundled checkpoint takes on 5,000 bars, with the default settings.

One series of `--bars` daily bars from `kronos_plugins.training.augment.generate_synthetic` (a GARCH path,
seeded), or a dataset asset with `--asset`; `finetune(None, frame)` with the default `FinetuneConfig`
(overridable with `--steps` / `--batch-size`), torch limited to `--threads` threads. The wall time is the
whole call: copying the base weights, building the windows, the validation passes, training and the early
stopping. Also reported: the validation loss before and after, and the training loss of the first and last
steps.

Prints a Markdown table and, as the last line, a JSON document; ``--out FILE.md`` also writes the table with
the command and the machine.

    python benchmarks/speed/bench_finetune.py --threads 2 --out benchmarks/results/finetune_speed.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time

import torch

from kronos_plugins.training.finetune import FinetuneConfig, finetune


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or None
    except OSError:
        return None


def _data(bars: int, asset: str | None):
    if asset is not None:
        from kronos_plugins.datasets import load

        frame = load(asset)
        return frame.iloc[-bars:], asset
    from kronos_plugins.training.augment import generate_synthetic

    (frame,) = generate_synthetic(1, bars, kinds=["garch"], seed=0)
    return frame, "synthetic GARCH daily bars (generate_synthetic, seed 0)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=5000)
    ap.add_argument("--asset", help="a dataset asset id instead of the synthetic series")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, help="override FinetuneConfig.steps")
    ap.add_argument("--batch-size", type=int, help="override FinetuneConfig.batch_size")
    ap.add_argument("--out", help="also write the table, command and machine to this Markdown file")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    frame, source = _data(args.bars, args.asset)
    cfg = FinetuneConfig.coerce(None, steps=args.steps, batch_size=args.batch_size, progress=False)
    t0, c0 = time.perf_counter(), time.process_time()
    result = finetune(None, frame, cfg)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    load = os.getloadavg()

    doc = {
        "bars": len(frame),
        "data": source,
        "threads": args.threads,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "load_average_1_5_15": [round(x, 2) for x in load],
        "steps": result.steps,
        "steps_budget": cfg.steps,
        "batch_size": cfg.batch_size,
        "stopped_early": result.stopped_early,
        "best_step": result.best_step,
        "val_loss_before": result.val_loss_before,
        "val_loss_after": result.val_loss_after,
        "train_loss_first": result.train_loss_first,
        "train_loss_last": result.train_loss_last,
        "device": "cpu",
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "commit": _commit(),
    }
    table = "\n".join(
        [
            "| bars | threads | steps (budget) x batch | wall time | CPU time | validation loss before -> after | "
            "train loss first -> last |",
            "|---|---|---|---|---|---|---|",
            f"| {doc['bars']:,} | {args.threads} | {result.steps} ({cfg.steps}) x {cfg.batch_size} | "
            f"{wall:.1f} s | {cpu:.1f} s | {result.val_loss_before:.4f} -> {result.val_loss_after:.4f} | "
            f"{result.train_loss_first:.4f} -> {result.train_loss_last:.4f} |",
        ]
    )
    print(table)
    if args.out:
        command = shlex.join(["python", "benchmarks/speed/bench_finetune.py", *sys.argv[1:]])
        text = (
            "# Fine-tuning speed: the bundled checkpoint on 5,000 bars\n\n"
            f"Budget (issue #17): at most 2 minutes on 2 cores. Data: {source}. Default `FinetuneConfig` "
            f"(model stage only, validation tail {cfg.val_fraction:.0%}, early stopping with patience {cfg.patience}).\n\n"
            f"{table}\n\n"
            f"- Command: `{command}`\n"
            f"- Machine: {platform.platform()}, {os.cpu_count()} CPU cores ({doc['cpu']}), torch {torch.__version__}, "
            f"commit {doc['commit']}; load average during the run {doc['load_average_1_5_15']} (1/5/15 min): "
            "other processes shared the cores, so the wall time is an upper bound.\n"
        )
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
