"""Throughput of the synthetic-market generator, in bars per minute, on this machine.

Times `generate_market_arrays` (the array form training can use) and `generate_market` (pandas frames) over
the default calendar / process mix, for a training-sized batch (many series of a few thousand bars) and for a
few long series (where the per-bar Python loops of the recursions dominate). Each case runs ``--repeats``
times with different seeds after one warm-up call (which also builds the calendar tables); the table shows
the median and the best rate. Exits with status 1 if the median rate of the training-sized batch (arrays)
is below ``--min-rate`` (default 1,000,000 bars per minute).

    OMP_NUM_THREADS=1 python benchmarks/data/synthetic_throughput.py [--series 256] [--bars 2048] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

from kronos_plugins.datasets.synthetic_market import generate_market, generate_market_arrays


def _rate(fn, n_series: int, n_bars: int, repeats: int) -> tuple[float, float, float]:
    fn(n_series, n_bars, seed=10_000)  # warm-up: calendar tables, imports
    rates = []
    for k in range(repeats):
        t0 = time.perf_counter()
        fn(n_series, n_bars, seed=k)
        rates.append(n_series * n_bars / (time.perf_counter() - t0) * 60.0)
    return statistics.median(rates), max(rates), n_series * n_bars * 60.0 / statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=256, help="series per batch (default 256)")
    parser.add_argument("--bars", type=int, default=2048, help="bars per series (default 2048)")
    parser.add_argument("--long-series", type=int, default=4, help="series of the long case (default 4)")
    parser.add_argument("--long-bars", type=int, default=50_000, help="bars of the long case (default 50000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (default 5)")
    parser.add_argument("--min-rate", type=float, default=1e6, help="required bars per minute (default 1e6)")
    args = parser.parse_args(argv)

    cases = [
        ("arrays", generate_market_arrays, args.series, args.bars),
        ("frames", generate_market, args.series, args.bars),
        ("arrays, long series", generate_market_arrays, args.long_series, args.long_bars),
    ]
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    print(
        f"{'case':<22}{'series':>8}{'bars':>8}{'s / batch':>11}{'median bars/min':>18}{'best bars/min':>16}"
    )
    results = {}
    for name, fn, n_series, n_bars in cases:
        median, best, seconds = _rate(fn, n_series, n_bars, args.repeats)
        results[name] = median
        print(f"{name:<22}{n_series:>8}{n_bars:>8}{seconds:>11.3f}{median:>18,.0f}{best:>16,.0f}")
    ok = results["arrays"] >= args.min_rate
    print(f"required {args.min_rate:,.0f} bars/min (arrays, median): {'ok' if ok else 'TOO SLOW'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
