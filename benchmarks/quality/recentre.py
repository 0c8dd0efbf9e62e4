"""Inference-only test (issue 15, MAE at 20 bars): normalise each context with its price columns' mean moved
towards the last close, and measure the 20-bar drift, MAE and CRPS of the bundled model on a result
directory's 20-bar windows.

The bundled model pulls 20-bar forecasts back towards the context's mean (`drift.py`). If it pulls towards the
normalisation's centre, putting that centre at the last close (alpha = 1) should remove the pull. For alpha in
`--alphas`, the price columns' means become ``mean + alpha * (last close - mean close)``; everything else is the
pipeline's (lookback 64, anchored, 100 paths, seed 0). Not a pipeline option: a measurement.

    python benchmarks/quality/recentre.py --results benchmarks/results/quality/continuations/validation \\
        --alphas 0,0.25,0.5,1 --out benchmarks/results/quality/continuations/validation/recentre.md
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drift as D  # noqa: E402

import kronos_plugins.preparation as P  # noqa: E402
from kronos_plugins.benchmark.comparison import skill_score  # noqa: E402
from kronos_plugins.crps import crps_ensemble  # noqa: E402


def recentred(alpha: float, original=P.normalise):
    """`kronos_plugins.preparation.normalise` with the price columns' mean moved by alpha towards the last close."""

    def normalise(values, context=None, clip=P.CLIP, **centre):
        # unclipped: the shift comes first
        x, mean, std, scale = original(values, context, clip=np.inf, **centre)
        rows = len(x) if context is None else int(context)
        last = x[rows - 1, 3] * (std[3] + P.STD_EPS) + mean[3]  # the last close, scaled as the means are
        move = alpha * (last - mean[3])
        mean = mean.copy()
        mean[:4] += move
        x = x.astype(np.float64)
        x[:, :4] -= move / (std[:4] + P.STD_EPS)
        return np.clip(x, -clip, clip).astype(np.float32), mean, std, scale

    return normalise


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--alphas", default="0,0.25,0.5,1")
    ap.add_argument("--lookback", type=int, default=64)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    from kronos_plugins import KronosPipeline
    from kronos_plugins.datasets import load

    steps = pd.read_parquet(Path(args.results) / "steps.parquet")
    naive = steps[(steps["model"] == "naive") & (steps["horizon"] == 20)].sort_values("step")
    frames, truth, cache = [], [], {}
    for (ds, _), g in naive.groupby(["dataset", "origin_index"]):
        if ds not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cache[ds] = load(ds)
        f = cache[ds]
        frames.append(f[f.index < g["timestamp"].iloc[0]].iloc[-args.lookback :])
        truth.append(g["y_true"].to_numpy())
    truth = np.asarray(truth)
    last = np.array([f["close"].iloc[-1] for f in frames])
    pos = [D.context_position(f["close"].to_numpy(), args.lookback) for f in frames]
    pipe = KronosPipeline.from_pretrained()
    original = P.normalise
    rows = []
    try:
        for alpha in (float(a) for a in args.alphas.split(",")):
            P.normalise = recentred(alpha)
            fc = pipe.forecast(frames, horizon=20, num_samples=100, seed=0)
            paths = np.asarray(fc.samples)[..., 3]  # (windows, paths, 20)
            med = np.median(paths, axis=1)
            drift = [D.scaled_log_move(med[i, -1], last[i], pos[i][1], 20) for i in range(len(frames))]
            _, slope, se = D.ols(np.array([p[0] for p in pos]), np.array(drift))
            naive_mae = np.abs(last[:, None] - truth).mean(axis=1)
            mae = np.abs(med - truth).mean(axis=1)
            crps = np.array([crps_ensemble(paths[i], truth[i]).mean() for i in range(len(frames))])
            rows.append(
                f"| {alpha:g} | {slope:.3f} [{slope - 1.96 * se:.3f}, {slope + 1.96 * se:.3f}] | "
                f"{np.median(np.abs(drift)):.3f} | {skill_score(mae, naive_mae, n_boot=0).skill:.3f} | "
                f"{skill_score(crps, naive_mae, n_boot=0).skill:.3f} |"
            )
            print(rows[-1], flush=True)
    finally:
        P.normalise = original
    cmd = "python benchmarks/quality/recentre.py " + " ".join(sys.argv[1:] if argv is None else argv)
    md = [
        "# Normalisation centred towards the last close (inference only, bundled model)",
        "",
        f"- **command**: `{cmd}`",
        f"- **windows**: the {len(frames)} 20-bar windows of `{args.results}`; lookback {args.lookback}, anchored, "
        "100 paths, seed 0. Drift and slope as in `drift.py`; MAE and CRPS skill of steps 1-20 against the last "
        "close (geometric mean of window ratios).",
        "",
        "| alpha | slope of drift on z [95% CI] | median abs drift | MAE skill h20 | CRPS skill h20 |",
        "|---|---|---:|---:|---:|",
        *rows,
        "",
    ]
    Path(args.out).write_text("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
