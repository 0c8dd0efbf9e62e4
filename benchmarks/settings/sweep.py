"""Sampling settings of the bundled checkpoint, measured on the windows of the full benchmark suite.

For every held-out asset of `benchmarks/suites/full.yaml`, every ``--every``-th of its origins and each
horizon (1, 5, 20), the bundled Kronos forecasts the window's close with each setting below, changed one at a
time from the defaults (``lookback`` 64, the bundle's default context, ``temperature`` 1.0, ``top_p`` 1.0, ``top_k`` 0), and is scored with
the harness' own metrics on the window's real target:

- ``scaled CRPS``: CRPS over the context's mean absolute one-bar change, pooled over windows and steps, as the
  harness pools it (lower is better);
- coverage of the central 50 / 80 / 95 % intervals (nominal: 50 / 80 / 95);
- ``MAE median`` and ``MAE mean``: the scaled absolute error of the paths' median and of their mean (the
  upstream reference's ``predict`` returns the mean of its paths);
- ``s / window``: CPU seconds per window (one thread), measured around the forecast call.

``num_samples`` is measured without new forecasts: path ``j`` of a window is drawn from its own random stream,
so the first ``S`` of the default setting's paths are exactly what ``num_samples=S`` returns; its time is
measured on the first ``--time-windows`` windows.

Usage (about 10 minutes on 2 cores)::

    .venv/bin/python benchmarks/settings/sweep.py --out benchmarks/results/settings

Writes ``settings.csv`` (one row per setting), ``report.md`` (the tables the documentation includes) and
``run.json`` (command, checkpoint checksum, versions, windows).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "benchmarks" / "suites" / "full.yaml"  # `default.yaml` until issue 20
DEFAULTS = {"lookback": 64, "temperature": 1.0, "top_p": 1.0, "top_k": 0}
MAX_SAMPLES = 500  # the default setting's paths; the others use OTHER_SAMPLES
OTHER_SAMPLES = 200
SAMPLE_COUNTS = (10, 20, 50, 100, 200, 500)
LEVELS = (0.5, 0.8, 0.95)

#: (parameter, values) changed one at a time from DEFAULTS
SWEEP = (
    ("lookback", (32, 96, 128)),
    ("temperature", (0.7, 0.85, 1.15, 1.3)),
    ("top_p", (0.7, 0.9)),
)


def settings_list() -> list[tuple[str, dict]]:
    out = [("default", dict(DEFAULTS))]
    for name, values in SWEEP:
        out += [(f"{name}={v:g}", {**DEFAULTS, name: v}) for v in values]
    return out


def _windows(every: int, name: str) -> list[tuple[str, int, int, object]]:
    from kronos_plugins.benchmark.runner import plan_windows
    from kronos_plugins.benchmark.suite import load_suite

    suite = load_suite(SUITE)
    out = []
    for spec in (s for s in suite.datasets if s.name == name):
        planned = plan_windows(suite, spec)
        for h, windows in planned.windows.items():
            out += [(spec.name, h, i, w) for i, w in enumerate(windows) if i % every == 0]
    return out


def _run_dataset(job: tuple[str, int, int]) -> list[dict]:
    """Every setting on the selected windows of one dataset: close paths, targets, scales and CPU times."""
    import torch

    from kronos_plugins import KronosPipeline
    from kronos_plugins.benchmark import metrics

    name, every, time_windows = job
    torch.set_num_threads(1)
    pipe = KronosPipeline.from_pretrained()
    rows = []
    windows = _windows(every, name)
    _, h, i, w = windows[0]  # warm-up: the first call pays for loading and allocation
    pipe.forecast(w.context, horizon=h, num_samples=8, seed=0, future_timestamps=w.target.index, **DEFAULTS)
    for label, s in settings_list():
        n = MAX_SAMPLES if label == "default" else OTHER_SAMPLES
        for _, h, i, w in windows:
            t0 = time.process_time()
            fc = pipe.forecast(
                w.context,
                horizon=h,
                num_samples=n,
                seed=1000 * i + h,
                future_timestamps=w.target.index,
                **s,
            )
            cpu = time.process_time() - t0
            rows.append(
                {
                    "setting": label,
                    "dataset": name,
                    "horizon": h,
                    "window": i,
                    "paths": fc.column("close")[0].astype(np.float32),
                    "target": w.target["close"].to_numpy(),
                    "scale": metrics.scale(w.context["close"].to_numpy()),
                    "cpu_s": cpu,
                }
            )
    # time of num_samples=S with the default setting, on a few windows spread over the horizons
    timed = windows[:: max(1, len(windows) // time_windows)]
    for S in SAMPLE_COUNTS:
        for _, h, i, w in timed:
            t0 = time.process_time()
            pipe.forecast(
                w.context, horizon=h, num_samples=S, seed=i, future_timestamps=w.target.index, **DEFAULTS
            )
            rows.append(
                {"setting": f"time num_samples={S}", "dataset": name, "cpu_s": time.process_time() - t0}
            )
    return rows


def _score(rows: list[dict], samples: int | None = None) -> dict:
    from kronos_plugins.benchmark import metrics

    crps, mae_med, mae_mean, cov = [], [], [], {a: [] for a in LEVELS}
    for r in rows:
        paths = r["paths"].astype(np.float64)[:samples]
        y, sc = r["target"], r["scale"]
        crps.append(metrics.crps(paths, y) / sc)
        mae_med.append(np.abs(np.median(paths, axis=0) - y) / sc)
        mae_mean.append(np.abs(paths.mean(axis=0) - y) / sc)
        for a in LEVELS:
            cov[a].append(metrics.interval_coverage(paths, y, a))
    out = {
        "windows": len(rows),
        "scaled_crps": float(np.concatenate(crps).mean()),
        "mae_median": float(np.concatenate(mae_med).mean()),
        "mae_mean": float(np.concatenate(mae_mean).mean()),
    }
    for a in LEVELS:
        out[f"cov{int(a * 100)}"] = float(100 * np.concatenate(cov[a]).mean())
    return out


def _ordinal(n: int) -> str:
    return {1: "", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _fmt(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def report(rows: list[dict], meta: dict) -> tuple[pd.DataFrame, str]:
    scored = [r for r in rows if "paths" in r]
    table = []
    for label, _ in settings_list():
        mine = [r for r in scored if r["setting"] == label]
        n = MAX_SAMPLES if label == "default" else OTHER_SAMPLES
        res = _score(mine)
        res.update(setting=label, num_samples=n, cpu_s_per_window=float(np.mean([r["cpu_s"] for r in mine])))
        table.append(res)
    base = [r for r in scored if r["setting"] == "default"]
    for S in SAMPLE_COUNTS:
        res = _score(base, samples=S)
        times = [r["cpu_s"] for r in rows if r["setting"] == f"time num_samples={S}"]
        res.update(setting=f"num_samples={S}", num_samples=S, cpu_s_per_window=float(np.mean(times)))
        table.append(res)
    df = pd.DataFrame(table)[
        [
            "setting",
            "num_samples",
            "windows",
            "scaled_crps",
            "cov50",
            "cov80",
            "cov95",
            "mae_median",
            "mae_mean",
            "cpu_s_per_window",
        ]
    ]

    def md(part: pd.DataFrame) -> str:
        lines = [
            "| setting | paths | scaled CRPS | coverage 50 / 80 / 95 (%) | MAE of median | MAE of mean | CPU s / window |",
            "|---|---:|---:|---|---:|---:|---:|",
        ]
        for r in part.itertuples():
            lines.append(
                f"| `{r.setting}` | {r.num_samples} | {_fmt(r.scaled_crps)} | "
                f"{r.cov50:.1f} / {r.cov80:.1f} / {r.cov95:.1f} | {_fmt(r.mae_median)} | {_fmt(r.mae_mean)} | "
                f"{r.cpu_s_per_window:.3f} |"
            )
        return "\n".join(lines)

    sampling = df[~df["setting"].str.startswith("num_samples")]
    counts = df[df["setting"].str.startswith("num_samples")]
    text = "\n".join(
        [
            "# Sampling settings of the bundled checkpoint",
            "",
            f"Generated by `{meta['command']}` at commit {meta['commit']} on {meta['machine']}"
            f" ({meta['windows']} windows: every {_ordinal(meta['every'])} origin of the default suite's 15 held-out "
            "assets, horizons 1, 5 and 20 pooled; bundled checkpoint "
            f"`{meta['checkpoint_sha256'][:12]}`). Scaled CRPS and MAE: lower is better. Settings changed one at "
            "a time from the defaults (`lookback` 64, `temperature` 1.0, `top_p` 1.0).",
            "",
            "## Sampling settings",
            "",
            md(sampling),
            "",
            "## Number of sample paths (default settings; the first S of the default's paths)",
            "",
            md(counts),
            "",
        ]
    )
    return df, text


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "settings")
    parser.add_argument("--every", type=int, default=3, help="use every n-th origin of each asset (3)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--time-windows", type=int, default=6, help="windows per asset timed for each num_samples (6)"
    )
    args = parser.parse_args(argv)

    from kronos_plugins.benchmark.suite import load_suite
    from kronos_plugins.checkpoints import BUNDLED_DIR

    names = [s.name for s in load_suite(SUITE).datasets]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = [
            r
            for part in pool.map(_run_dataset, [(n, args.every, args.time_windows) for n in names])
            for r in part
        ]
    wall = time.perf_counter() - t0
    import torch

    sums = (BUNDLED_DIR / "SHA256SUMS").read_bytes()
    meta = {
        "command": "python benchmarks/settings/sweep.py"
        + (f" --every {args.every}" if args.every != 3 else "")
        + (f" --workers {args.workers}" if args.workers != 2 else ""),
        "commit": _git_commit(),
        "machine": f"{platform.machine()}, {args.workers} worker processes x 1 torch thread, torch {torch.__version__}",
        "every": args.every,
        "windows": len({(r["dataset"], r["horizon"], r["window"]) for r in rows if "paths" in r}),
        "wall_s": round(wall, 1),
        "checkpoint_sha256": hashlib.sha256(sums).hexdigest(),
        "python": sys.version.split()[0],
    }
    df, text = report(rows, meta)
    args.out.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out / "settings.csv", index=False, float_format="%.4f")
    (args.out / "report.md").write_text(text, encoding="utf-8")
    (args.out / "run.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(text)
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
