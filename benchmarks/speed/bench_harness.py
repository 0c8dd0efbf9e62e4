"""Windows per second of Kronos in the benchmark harness: one call per window vs one batched call.

Takes the windows of a suite (default: `benchmarks/suites/default.yaml`, its first ``--assets`` held-out assets,
every origin and horizon), builds the suite's `kronos` and `kronos-calibrated` forecasters as the harness does
(`kronos_plugins.benchmark.models.build_model`) and times, in this one process with ``--threads`` torch threads:

- per window: ``forecast(context, horizon, num_samples, seed)`` for every window (the harness before issue 20,
  and ``run_suite(..., batch=False)``);
- batched: ``forecast_batch(contexts, horizon, num_samples, seeds)`` once per horizon (what the harness runs).

Each window keeps its harness seed (`runner.derive_seed`), so both give the same paths; the script checks that
(largest relative difference of any path value) and prints a Markdown table of windows per second (wall and
CPU) with the machine. ``--repeat`` runs each measurement that many times and keeps the fastest (the machine
may be shared).

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/speed/bench_harness.py --assets 3 \\
        --out benchmarks/results/default/harness_speed.md
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _windows(suite_path: Path, n_assets: int):
    from kronos_plugins.benchmark.runner import derive_seed, plan_windows
    from kronos_plugins.benchmark.splits import fingerprint
    from kronos_plugins.benchmark.suite import load_suite

    suite = load_suite(suite_path)
    by_horizon: dict[int, list] = {h: [] for h in suite.horizons}
    for spec in suite.datasets[:n_assets]:
        ds = plan_windows(suite, spec)
        for h in suite.horizons:
            for w in ds.windows[h]:
                by_horizon[h].append((w.context, derive_seed(suite.seeds[0], fingerprint(w))))
    return suite, by_horizon


def _time(fn, repeat: int) -> tuple[float, float, object]:
    best = (np.inf, np.inf, None)
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best[0]:
            best = (wall, cpu, out)
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--suite", type=Path, default=ROOT / "benchmarks" / "suites" / "default.yaml")
    p.add_argument("--assets", type=int, default=3, help="first N datasets of the suite (default 3)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as a harness worker)")
    p.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is kept")
    p.add_argument("--out", type=Path, default=None, help="also write the Markdown table here")
    args = p.parse_args(argv)

    import torch

    from kronos_plugins.benchmark.models import build_model

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    suite, by_horizon = _windows(args.suite, args.assets)
    n_windows = sum(len(v) for v in by_horizon.values())
    S = suite.num_samples
    rows = []
    for label in ("kronos", "kronos-calibrated"):
        cfg = suite.model(label)
        model = build_model(cfg.model, cfg.settings)
        model.pipeline()  # load the weights before timing

        def per_window(model=model):
            return {h: [model.forecast(c, h, S, s) for c, s in ws] for h, ws in by_horizon.items()}

        def batched(model=model):
            return {
                h: model.forecast_batch([c for c, _ in ws], h, S, [s for _, s in ws])
                for h, ws in by_horizon.items()
            }

        w1, c1, a = _time(per_window, args.repeat)
        w2, c2, b = _time(batched, args.repeat)
        diff = max(
            float(np.max(np.abs(np.stack(a[h]) - b[h]) / np.max(np.abs(b[h])))) for h in by_horizon if a[h]
        )
        for mode, wall, cpu in (("per window", w1, c1), ("batched", w2, c2)):
            rows.append((label, mode, n_windows, wall, cpu, n_windows / wall, n_windows / cpu, diff))

    lines = [
        f"Kronos in the harness on {n_windows} windows of `{args.suite.name}` (first {args.assets} assets, "
        f"horizons {list(suite.horizons)}, {S} samples, suite settings incl. `lookback`), "
        f"{args.threads} torch thread(s), best of {args.repeat}; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}.",
        "",
        "| model | calls | windows | wall s | CPU s | windows/s (wall) | windows/s (CPU) | max rel. path diff |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, mode, n, wall, cpu, ws_wall, ws_cpu, diff in rows:
        lines.append(
            f"| `{label}` | {mode} | {n} | {wall:.2f} | {cpu:.2f} | {ws_wall:.2f} | {ws_cpu:.2f} | {diff:.1e} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
