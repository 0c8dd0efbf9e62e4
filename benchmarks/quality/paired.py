"""Paired comparison of two Kronos checkpoints on the same benchmark windows (issue 15: old vs new bundle).

Both runs' ``windows.parquet`` (written by ``kronos-bench run``) are joined on (dataset, horizon, origin,
seed); per window the log ratio of CRPS (and of MAE) is taken, new over old. Reported: the geometric-mean
ratio exp(mean log ratio) with a 95 % bootstrap CI over windows (resampling whole windows, so the pairing is
kept), the share of windows where the new checkpoint is better, and the same per horizon. A ratio below 1
means the new checkpoint's error is lower on the same windows.

    python benchmarks/quality/paired.py OLD_WINDOWS NEW_WINDOWS --old-model kronos --new-model kronos \\
        [--out FILE.md] [--title TEXT]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

KEYS = ["dataset", "horizon", "origin_index", "seed"]


def paired(old: pd.DataFrame, new: pd.DataFrame, metric: str, n_boot: int = 2000, seed: int = 0) -> dict:
    """Geometric-mean ratio new/old of `metric` over matched windows with a bootstrap CI and the win share."""
    both = old[KEYS + [metric]].merge(new[KEYS + [metric]], on=KEYS, suffixes=("_old", "_new"))
    if both.empty:
        raise ValueError("the two runs share no window (dataset, horizon, origin_index, seed)")
    a, b = both[f"{metric}_old"].to_numpy(float), both[f"{metric}_new"].to_numpy(float)
    ok = (a > 0) & (b > 0) & np.isfinite(a) & np.isfinite(b)
    lr = np.log(b[ok] / a[ok])
    rng = np.random.default_rng(seed)
    boot = lr[rng.integers(0, len(lr), (n_boot, len(lr)))].mean(axis=1)
    lo, hi = np.exp(np.quantile(boot, [0.025, 0.975]))
    return {
        "windows": int(ok.sum()),
        "ratio": float(np.exp(lr.mean())),
        "lo": float(lo),
        "hi": float(hi),
        "new_better": float((lr < 0).mean()),
    }


def table(old: pd.DataFrame, new: pd.DataFrame) -> str:
    rows = [
        "| metric | horizon | windows | new / old (geometric mean) | 95 % CI | new better on |",
        "|---|---|---:|---:|---|---:|",
    ]
    for metric in ("crps", "mae"):
        for h in ["all"] + sorted(old["horizon"].unique().tolist()):
            o = old if h == "all" else old[old["horizon"] == h]
            n = new if h == "all" else new[new["horizon"] == h]
            r = paired(o, n, metric)
            rows.append(
                f"| {metric.upper()} | {h} | {r['windows']} | {r['ratio']:.3f} | [{r['lo']:.3f}, {r['hi']:.3f}] "
                f"| {100 * r['new_better']:.0f} % |"
            )
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--old-model", default="kronos")
    ap.add_argument("--new-model", default="kronos")
    ap.add_argument("--title", default="Paired comparison")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    old = pd.read_parquet(args.old)
    new = pd.read_parquet(args.new)
    old = old[(old["model"] == args.old_model) & old["error"].isna()]
    new = new[(new["model"] == args.new_model) & new["error"].isna()]
    text = f"## {args.title}\n\n`{args.old_model}` of `{args.old}` (old) vs `{args.new_model}` of `{args.new}` (new).\n\n{table(old, new)}\n"
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
