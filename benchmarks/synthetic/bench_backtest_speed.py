"""Speed of the probabilistic backtest: 10,000 synthetic paths of 250 bars per strategy, in one run.

The figure quoted in docs/synthetic.md ("Speed"). It used to be a wall-clock assertion in the unit tests,
which a busy shared machine can break without any regression; timings belong here, where they are read,
not asserted. Each strategy runs on the same 10,000 random-walk paths (1 % daily volatility, 5 bps costs);
the time covers the strategy, costs, P&L, metrics, VaR and the look-ahead check (`backtest`). Best of
`--repeat` runs.

Prints a Markdown table and, as the last line, a JSON document.

    python benchmarks/synthetic/bench_backtest_speed.py [--paths 10000] [--bars 250] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from kronos_plugins.synthetic import MovingAverageCrossover, ZScoreMeanReversion, backtest


def bars_from_returns(r: np.ndarray) -> np.ndarray:
    """Consistent candles (n_paths, T + 1, 6) whose closes have log returns `r` (n_paths, T)."""
    close = 100.0 * np.exp(np.concatenate([np.zeros((r.shape[0], 1)), np.cumsum(r, axis=1)], axis=1))
    open_ = np.concatenate([close[:, :1], close[:, :-1]], axis=1)
    volume = np.full_like(close, 1000.0)
    return np.stack(
        [
            open_,
            np.maximum(open_, close) * 1.001,
            np.minimum(open_, close) * 0.999,
            close,
            volume,
            volume * close,
        ],
        axis=-1,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--bars", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    bars = bars_from_returns(0.01 * rng.standard_normal((args.paths, args.bars - 1)))
    rows = []
    for strategy in (MovingAverageCrossover(10, 30), ZScoreMeanReversion(20, 1.0)):
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = backtest(strategy, bars[0], bars, cost_bps=5)
            times.append(time.perf_counter() - t0)
        assert res.returns.shape == (args.paths, args.bars - 1) and len(res.metrics) == args.paths
        rows.append({"strategy": strategy.name, "best_s": min(times), "median_s": float(np.median(times))})

    print(f"{args.paths:,} paths x {args.bars} bars, best of {args.repeat} ({os.cpu_count()} CPUs)\n")
    print("| strategy | best (s) | median (s) |\n|---|---:|---:|")
    for r in rows:
        print(f"| {r['strategy']} | {r['best_s']:.2f} | {r['median_s']:.2f} |")
    info = {
        "paths": args.paths,
        "bars": args.bars,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(json.dumps({**info, "results": rows}))


if __name__ == "__main__":
    main()
