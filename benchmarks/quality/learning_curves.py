"""Validation loss against bars seen, per corpus mix (and stage), from training runs' ``train_log.csv``.

    python benchmarks/quality/learning_curves.py runs/v2-model=real runs/v2-model-synth=real+30%synthetic \
        --out benchmarks/results/quality/learning_curves

Writes ``curves.csv`` (run, stage, step, bars_seen, val_loss) and ``curves.png``. Bars seen = step x batch x window
(every window holds context + horizon bars). Runs are not committed; this table is.

A run that continues another (a warm start from its final weights) is given as ``RUN_DIR=label@BASE_LABEL``: its
bars seen start where the base run's ended, and its step-0 row (the base's final weights) is dropped.

    python benchmarks/quality/learning_curves.py runs/v2-tokenizer=tokenizer-v2 runs/v2-model=real \
        runs/v2-model-synth=real+30%synthetic runs/v2-model-long=real,continued@real
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd


def curves(runs: dict[str, Path], continues: dict[str, str] | None = None) -> pd.DataFrame:
    rows = []
    offsets: dict[str, int] = {}
    for label, run in runs.items():
        base = (continues or {}).get(label)
        offset = offsets[base] if base is not None else 0
        cfg = json.loads((run / "config.json").read_text())
        window = cfg["data"]["context"] + cfg["data"]["horizon"]
        log = pd.read_csv(run / "train_log.csv")
        val = log[log["split"] == "val"]
        for stage, part in val.groupby("stage"):
            batch = cfg[f"train_{stage}"]["batch_size"]
            for _, r in part.iterrows():
                if base is not None and int(r["step"]) == 0:
                    continue
                rows.append(
                    {
                        "run": label,
                        "stage": stage,
                        "step": int(r["step"]),
                        "bars_seen": offset + int(r["step"]) * batch * window,
                        "val_loss": float(r["loss"]),
                    }
                )
            if stage == "model":
                offsets[label] = offset + int(part["step"].max()) * batch * window
    return pd.DataFrame(rows)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("runs", nargs="+", help="RUN_DIR=label")
    p.add_argument("--out", default="benchmarks/results/quality/learning_curves")
    args = p.parse_args()
    runs, continues = {}, {}
    for arg in args.runs:
        d, label = arg.split("=", 1)
        if "@" in label:
            label, base = label.split("@", 1)
            continues[label] = base
        runs[label] = Path(d)
    table = curves(runs, continues)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "curves.csv", index=False)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = sorted(table["stage"].unique())
    fig, axes = plt.subplots(1, len(stages), figsize=(6 * len(stages), 4), squeeze=False)
    for ax, stage in zip(axes[0], stages, strict=True):
        for label, part in table[table["stage"] == stage].groupby("run"):
            part = part[part["step"] > 0]
            ax.plot(part["bars_seen"] / 1e6, part["val_loss"], marker="o", label=label)
        ax.set_xlabel("bars seen (millions)")
        ax.set_ylabel("validation loss")
        ax.set_title(f"{stage} stage (validation: split v2, real bars)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=100)
    print(table.groupby(["run", "stage"]).tail(1).to_string(index=False))


if __name__ == "__main__":
    main()
