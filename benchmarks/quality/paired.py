"""Paired comparison of two Kronos checkpoints on the same benchmark windows (issue 15: old vs new bundle).

Both runs' ``windows.parquet`` (written by ``kronos-bench run``) are joined on (dataset, horizon, origin,
seed); per window the log ratio of CRPS (and of MAE) is taken, new over old. Reported: the geometric-mean
ratio exp(mean log ratio) with two 95 % bootstrap CIs (resampling assets with all their windows, the honest
one since an asset's windows are correlated; and resampling windows), the share of windows where the new
checkpoint is better, the same per horizon, and the CRPS ratio per asset. A ratio below 1 means the new
checkpoint's error is lower on the same windows. Both models may come from one run (``--old-model``,
``--new-model``: `make bench-paired` runs benchmarks/suites/paired-bundles.yaml).

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


def log_ratios(old: pd.DataFrame, new: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The windows both runs scored (joined on KEYS) with ``lr`` = log(new / old) of `metric`; windows where
    either value is not a positive finite number are left out."""
    both = old[KEYS + [metric]].merge(new[KEYS + [metric]], on=KEYS, suffixes=("_old", "_new"))
    if both.empty:
        raise ValueError("the two runs share no window (dataset, horizon, origin_index, seed)")
    a, b = both[f"{metric}_old"].to_numpy(float), both[f"{metric}_new"].to_numpy(float)
    ok = (a > 0) & (b > 0) & np.isfinite(a) & np.isfinite(b)
    return both[ok].assign(lr=np.log(b[ok] / a[ok]))


def paired(old: pd.DataFrame, new: pd.DataFrame, metric: str, n_boot: int = 2000, seed: int = 0) -> dict:
    """Geometric-mean ratio new/old of `metric` over matched windows, the share of windows where new is
    better, and two 95 % bootstrap CIs: resampling windows, and resampling assets (all of an asset's windows
    together: its windows share a series and overlap in time, so the asset CI is the honest one)."""
    both = log_ratios(old, new, metric)
    lr = both["lr"].to_numpy()
    rng = np.random.default_rng(seed)
    boot = lr[rng.integers(0, len(lr), (n_boot, len(lr)))].mean(axis=1)
    lo, hi = np.exp(np.quantile(boot, [0.025, 0.975]))
    groups = both["dataset"].to_numpy()
    names = np.unique(groups)
    sums = np.array([lr[groups == g].sum() for g in names])
    counts = np.array([(groups == g).sum() for g in names])
    pick = rng.integers(0, len(names), (n_boot, len(names)))
    cboot = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    clo, chi = np.exp(np.quantile(cboot, [0.025, 0.975]))
    return {
        "windows": len(lr),
        "assets": len(names),
        "ratio": float(np.exp(lr.mean())),
        "lo": float(lo),
        "hi": float(hi),
        "asset_lo": float(clo),
        "asset_hi": float(chi),
        "new_better": float((lr < 0).mean()),
    }


def table(old: pd.DataFrame, new: pd.DataFrame) -> str:
    rows = [
        "| metric | horizon | windows | new / old (geometric mean) | 95 % CI, assets resampled | 95 % CI, windows "
        "resampled | new better on |",
        "|---|---|---:|---:|---|---|---:|",
    ]
    for metric in ("crps", "mae"):
        for h in ["all"] + sorted(old["horizon"].unique().tolist()):
            o = old if h == "all" else old[old["horizon"] == h]
            n = new if h == "all" else new[new["horizon"] == h]
            r = paired(o, n, metric)
            rows.append(
                f"| {metric.upper()} | {h} | {r['windows']} | {r['ratio']:.3f} | [{r['asset_lo']:.3f}, "
                f"{r['asset_hi']:.3f}] | [{r['lo']:.3f}, {r['hi']:.3f}] | {100 * r['new_better']:.0f} % |"
            )
    return "\n".join(rows)


def by_asset(old: pd.DataFrame, new: pd.DataFrame, metric: str = "crps") -> str:
    """Per asset: the geometric-mean ratio new/old of `metric` over its windows (all horizons)."""
    both = log_ratios(old, new, metric)
    rows = [f"| asset | windows | {metric.upper()} new / old | new better on |", "|---|---:|---:|---:|"]
    for name, g in both.groupby("dataset", sort=True):
        rows.append(
            f"| {name} | {len(g)} | {np.exp(g['lr'].mean()):.3f} | {100 * (g['lr'] < 0).mean():.0f} % |"
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
    text = (
        f"## {args.title}\n\n`{args.old_model}` of `{args.old}` (old) vs `{args.new_model}` of `{args.new}` (new).\n\n"
        f"{table(old, new)}\n\n### CRPS by asset\n\n{by_asset(old, new)}\n"
    )
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
