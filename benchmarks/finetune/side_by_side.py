"""Zero-shot against fine-tuned Kronos per dataset, from a harness run of ``benchmarks/suites/finetune.yaml``.

    kronos-bench run benchmarks/suites/finetune.yaml --out benchmarks/results/finetune
    python benchmarks/finetune/side_by_side.py benchmarks/results/finetune

Reads the run's ``by_dataset.csv`` (CRPS / MAE skill vs naive per dataset, as the report computes them) and
``windows.parquet`` (seconds per window; the harness spreads a model's ``fit`` time, here the fine-tuning, over
the windows of its dataset), and writes ``side_by_side.md`` and ``side_by_side.csv``: per dataset the two skills,
their difference, and the fine-tuned model's seconds (fine-tuning + forecasting) against zero-shot's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ZERO, TUNED = "kronos", "kronos-finetuned"


def side_by_side(run: Path) -> pd.DataFrame:
    by = pd.read_csv(run / "by_dataset.csv")
    w = pd.read_parquet(run / "windows.parquet")
    skill = by.pivot(index="dataset", columns="model", values="crps_skill")
    mae = by.pivot(index="dataset", columns="model", values="mae_skill")
    secs = w.groupby(["dataset", "model"])["seconds"].sum().unstack("model")
    out = pd.DataFrame(
        {
            "crps_skill_zero_shot": skill[ZERO],
            "crps_skill_finetuned": skill[TUNED],
            "crps_skill_change": skill[TUNED] - skill[ZERO],
            "mae_skill_zero_shot": mae[ZERO],
            "mae_skill_finetuned": mae[TUNED],
            "seconds_zero_shot": secs[ZERO],
            "seconds_finetuned": secs[TUNED],
        }
    )
    return out.sort_index()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="results folder of a run of benchmarks/suites/finetune.yaml")
    args = p.parse_args(argv)
    table = side_by_side(args.run)
    table.to_csv(args.run / "side_by_side.csv", float_format="%.4f")
    better = int((table["crps_skill_change"] > 0).sum())
    lead = pd.read_csv(args.run / "leaderboard.csv").set_index("model")
    lines = [
        "# Zero-shot vs fine-tuned Kronos, per dataset",
        "",
        f"From `{args.run}` (`benchmarks/suites/finetune.yaml`), written by `python benchmarks/finetune/side_by_side.py "
        f"{args.run}`. CRPS and MAE skill vs naive per dataset (the report's `by_dataset.csv`); seconds are the "
        "model's total over the dataset's windows, fine-tuning included for the fine-tuned model.",
        "",
        f"Overall CRPS skill: zero-shot {lead.loc[ZERO, 'crps_skill']:.3f}, fine-tuned {lead.loc[TUNED, 'crps_skill']:.3f}; "
        f"fine-tuning raised the skill on {better} of {len(table)} datasets.",
        "",
        "| dataset | CRPS skill zero-shot | fine-tuned | change | MAE skill zero-shot | fine-tuned | s zero-shot | s fine-tuned |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for ds, r in table.iterrows():
        lines.append(
            f"| {ds} | {r.crps_skill_zero_shot:.3f} | {r.crps_skill_finetuned:.3f} | {r.crps_skill_change:+.3f} | "
            f"{r.mae_skill_zero_shot:.3f} | {r.mae_skill_finetuned:.3f} | {r.seconds_zero_shot:.1f} | "
            f"{r.seconds_finetuned:.1f} |"
        )
    (args.run / "side_by_side.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
