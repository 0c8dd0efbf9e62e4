"""What calibration costs: a calibrated forecast against a raw one, in one run.

The bundled checkpoint, one series of `--context` bars (a seeded geometric random walk of 5-minute bars),
`--samples` paths of `--steps` bars, the default `CalibrationConfig` (24 pseudo-forecast origins). Timed,
interleaved, best of `--repeat`:

``raw``
    ``pipe.forecast(frame, steps, num_samples, seed)``.
``calibrated``
    ``pipe.forecast(..., calibration="conformal")``: the calibration layer as the package runs it now.
``per-origin``
    The algorithm calibration used before it became a layer: `calibrate_samples` with a forecaster that calls
    ``pipe.forecast`` once per pseudo-forecast origin (validating and preparing each pseudo-context again).
    It gives the same calibrated paths, so the figure isolates how the pseudo-forecasts are run.
``pseudo_samples=k``
    The layer with ``CalibrationConfig(pseudo_samples=k)`` (only where the package has that field): each
    pseudo-forecast draws the first k of the forecast's paths.

The script also runs on older versions of the package (without `pseudo_samples`), so the same command gives
the figure of an earlier commit (e.g. from a ``git worktree``).

Prints a Markdown table and, as the last line, a JSON document.

    OMP_NUM_THREADS=1 python benchmarks/speed/bench_calibration_cost.py [--context 400] [--steps 10]
        [--samples 100] [--repeat 3] [--threads 1] [--pseudo-samples 8 16]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import time

import numpy as np
import pandas as pd
import torch

from kronos_plugins import KronosPipeline
from kronos_plugins.calibration import CalibrationConfig, calibrate_samples


def random_walk(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.0007, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.0007, n)))
    volume = np.exp(rng.normal(8.0, 0.4, n))
    index = pd.date_range("2024-01-02 09:30", periods=n, freq="5min")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def per_origin(pipe, frame, steps, samples, seed):
    """Calibration as it ran before the layer: one `pipe.forecast` call per pseudo-forecast origin."""
    raw = pipe.forecast(frame, steps, num_samples=samples, seed=seed)

    def forecast_fn(frames, horizon, future, offset):
        return pipe.forecast(
            frames, horizon, num_samples=samples, seed=seed, future_timestamps=future, series_offset=offset
        ).samples

    lookback = pipe.default_lookback
    out, _ = calibrate_samples(
        forecast_fn, [frame], steps, raw.samples, "conformal", window=lookback or pipe.max_context
    )
    return out


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--context", type=int, default=400)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--pseudo-samples", type=int, nargs="*", default=[8, 16])
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    pipe = KronosPipeline.from_pretrained()
    frame = random_walk(args.context)
    kw = dict(num_samples=args.samples, seed=0)
    has_pseudo = "pseudo_samples" in {f.name for f in dataclasses.fields(CalibrationConfig)}
    cases = {
        "raw": lambda: pipe.forecast(frame, args.steps, **kw),
        "calibrated": lambda: pipe.forecast(frame, args.steps, calibration="conformal", **kw),
        "per-origin": lambda: per_origin(pipe, frame, args.steps, args.samples, 0),
    }
    if has_pseudo:
        for k in args.pseudo_samples:
            cfg = CalibrationConfig(pseudo_samples=k)
            cases[f"pseudo_samples={k}"] = lambda cfg=cfg: pipe.forecast(
                frame, args.steps, calibration=cfg, **kw
            )

    same = np.allclose(cases["calibrated"]().samples, cases["per-origin"](), rtol=1e-6)
    for fn in cases.values():  # warm-up
        fn()
    times = {name: [] for name in cases}
    for _ in range(args.repeat):  # interleaved, so a busy machine slows every case alike
        for name, fn in cases.items():
            times[name].append(best(fn, 1))
    result = {name: min(t) for name, t in times.items()}
    here = os.path.dirname(os.path.abspath(__file__))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=here
    ).stdout.strip()
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "kronos_plugins"], cwd=here).returncode
    commit += " + uncommitted changes" if dirty else ""
    print(
        f"context {args.context}, {args.samples} paths x {args.steps} steps, bundled checkpoint, "
        f"{args.threads} thread(s), {platform.processor() or platform.machine()}, commit {commit}, "
        f"best of {args.repeat}\n"
    )
    print("| case | seconds | x raw |\n|---|---:|---:|")
    for name, t in result.items():
        print(f"| {name} | {t:.3f} | {t / result['raw']:.1f} |")
    print(f"\ncalibrated paths == per-origin paths (rtol 1e-6): {same}")
    doc = {"commit": commit, "args": vars(args), "seconds": result, "same_paths": bool(same)}
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
