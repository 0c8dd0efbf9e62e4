"""Calibration variants compared offline on the windows of the full benchmark suite.

Step 1 (``collect``, the expensive part): for every held-out asset of `benchmarks/suites/full.yaml`, every
``--every``-th of its origins and each horizon (1, 5, 20), the bundled Kronos' raw forecast (``lookback=96``,
100 samples) and its 24 pseudo-forecasts at the default calibration origins are made once and stored, close
only, in ``--cache`` (an ``.npz``). Step 2 (``score``, seconds): each variant of the fitting rule is applied to
the stored paths and scored on the windows' real targets: scaled CRPS (CRPS over the context's mean absolute
one-bar change, pooled over windows and steps, as the harness pools it), the CRPS skill against raw Kronos
(1 - geometric mean over windows of calibrated / raw CRPS), and the coverage of the 50/80/95% intervals.
12-origin variants use the 12 origins that ``n_origins=12`` would place, which are among the 24 stored ones.

Usage::

    .venv/bin/python benchmarks/calibration/variants.py collect --every 3 --workers 2
    .venv/bin/python benchmarks/calibration/variants.py score > benchmarks/results/calibration/variants.txt

Prints one table per horizon and pooled, then a JSON line with every number.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from kronos_plugins import calibration as cal
from kronos_plugins.benchmark import metrics
from kronos_plugins.calibration import CalibrationConfig

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "benchmarks" / "suites" / "full.yaml"  # `default.yaml` until issue 20
CACHE = ROOT / "runs" / "calibration-variants.npz"
LOOKBACK, SAMPLES, K_MAX = 96, 100, 24
LEVELS = (0.5, 0.8, 0.95)


# ------------------------------------------------------------------------------------------------------------
# collect


def _collect_dataset(args: tuple[str, int, int]) -> list[dict]:
    """Raw forecasts and 24 pseudo-forecasts of one dataset's selected windows (close only)."""
    import torch

    from kronos_plugins import KronosPipeline
    from kronos_plugins.benchmark.runner import plan_windows
    from kronos_plugins.benchmark.suite import load_suite

    name, every, threads = args
    torch.set_num_threads(threads)
    suite = load_suite(SUITE)
    spec = next(s for s in suite.datasets if s.name == name)
    planned = plan_windows(suite, spec)
    pipe = KronosPipeline.from_pretrained()
    config = CalibrationConfig(n_origins=K_MAX)
    out = []
    for h, windows in planned.windows.items():
        for w_i, w in enumerate(windows):
            if w_i % every:
                continue
            ctx = w.context
            seed = 1000 * w_i + h

            def fn(frames, horizon, future, offset, seed=seed):
                return pipe.forecast(
                    frames,
                    horizon,
                    num_samples=SAMPLES,
                    seed=seed,
                    lookback=LOOKBACK,
                    future_timestamps=future,
                    series_offset=offset,
                ).samples

            raw = fn([ctx], h, [w.target.index], 0)[0, ..., cal._CLOSE]
            n = len(ctx)
            mc = cal._min_context(n, h, LOOKBACK, config)
            origins = cal._origins(n, h, config, mc)
            pseudo = cal._pseudo_forecasts(fn, [ctx], [ctx.index], [origins], h, SAMPLES)[0][..., cal._CLOSE]
            close = ctx["close"].to_numpy()
            out.append(
                {
                    "dataset": name,
                    "horizon": h,
                    "window": w_i,
                    "raw": raw.astype(np.float32),
                    "pseudo": pseudo.astype(np.float32),
                    "pseudo_truth": np.stack([close[t : t + h] for t in origins]),
                    "origins": np.asarray(origins),
                    "target": w.target["close"].to_numpy(),
                    "scale": metrics.scale(close),
                    "n_context": n,
                }
            )
    return out


def collect(every: int, workers: int, cache: Path) -> None:
    from kronos_plugins.benchmark.suite import load_suite

    names = [s.name for s in load_suite(SUITE).datasets]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        rows = [r for part in pool.map(_collect_dataset, [(n, every, 1) for n in names]) for r in part]
    cache.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"{k}_{i}": np.asarray(v) for i, r in enumerate(rows) for k, v in r.items()}
    np.savez_compressed(cache, n=len(rows), **arrays)
    print(f"{len(rows)} windows in {time.perf_counter() - t0:.0f} s -> {cache}")


# ------------------------------------------------------------------------------------------------------------
# score


def _load(cache: Path) -> list[dict]:
    z = np.load(cache, allow_pickle=False)
    keys = (
        "dataset",
        "horizon",
        "window",
        "raw",
        "pseudo",
        "pseudo_truth",
        "origins",
        "target",
        "scale",
        "n_context",
    )
    return [{k: z[f"{k}_{i}"] for k in keys} for i in range(int(z["n"]))]


def calibrate(row: dict, config: CalibrationConfig) -> np.ndarray:
    """The raw close paths of one window calibrated by `config` (log space), from its stored origins."""
    h = int(row["horizon"])
    origins = list(row["origins"])
    if config.n_origins < len(origins):
        n = int(row["n_context"])
        want = cal._origins(n, h, config, cal._min_context(n, h, LOOKBACK, config))
        origins_idx = [origins.index(t) for t in want]
    else:
        origins_idx = list(range(len(origins)))
    p, y, x = row["pseudo"][origins_idx].astype(np.float64), row["pseudo_truth"][origins_idx], row["raw"]
    # log space unless a path is not positive (as the library decides)
    fwd, inv = (np.log, np.exp) if (p > 0).all() and (x > 0).all() else (cal._identity, cal._identity)
    fitted = cal._fit(fwd(p), fwd(y), config)
    x = fwd(x.astype(np.float64))
    return inv(fitted.apply(x, x[..., None])[..., 0])


def _score(rows: list[dict], paths: list[np.ndarray], raw_crps: list[np.ndarray]) -> dict:
    c = [metrics.crps(p, r["target"]) for p, r in zip(paths, rows, strict=True)]
    scaled = np.concatenate([ci / r["scale"] for ci, r in zip(c, rows, strict=True)])
    ratio = np.array([ci.mean() / rc.mean() for ci, rc in zip(c, raw_crps, strict=True) if rc.mean() > 0])
    out = {"scaled_crps": float(scaled.mean()), "skill_vs_raw": float(1 - np.exp(np.mean(np.log(ratio))))}
    for a in LEVELS:
        inside = [metrics.interval_coverage(p, r["target"], a) for p, r in zip(paths, rows, strict=True)]
        out[f"cov{int(a * 100)}"] = float(np.concatenate(inside).mean())
    return out


def _variants() -> dict:
    """Raw, the two methods at 12 and 24 origins, and the conformal settings varied one at a time."""
    out: dict = {"raw": None}
    for k in (12, 24):
        out[f"conformal-{k}"] = CalibrationConfig(n_origins=k)
        out[f"scale-{k}"] = CalibrationConfig(method="scale", n_origins=k)
        for ps in (0, 3, 20):
            out[f"conformal-{k} pool_steps={ps}"] = CalibrationConfig(n_origins=k, pool_steps=ps)
        for mf in (10, 4):
            out[f"conformal-{k} max_factor={mf}"] = CalibrationConfig(n_origins=k, max_factor=mf)
        out[f"conformal-{k} levels=.5,.8,.95"] = CalibrationConfig(n_origins=k, levels=(0.5, 0.8, 0.95))
    return out


VARIANTS = _variants()


def score(cache: Path, variants: dict | None = None) -> dict:
    rows = _load(cache)
    variants = variants or VARIANTS
    results: dict[str, dict] = {}
    raw_paths = [r["raw"].astype(np.float64) for r in rows]
    raw_crps = [metrics.crps(p, r["target"]) for p, r in zip(raw_paths, rows, strict=True)]
    for name, config in variants.items():
        paths = raw_paths if config is None else [calibrate(r, config) for r in rows]
        results[name] = {"all": _score(rows, paths, raw_crps)}
        for h in sorted({int(r["horizon"]) for r in rows}):
            idx = [i for i, r in enumerate(rows) if int(r["horizon"]) == h]
            results[name][f"h{h}"] = _score(
                [rows[i] for i in idx], [paths[i] for i in idx], [raw_crps[i] for i in idx]
            )
    n = len(rows)
    for part in ["all"] + [k for k in results["raw"] if k != "all"]:
        print(
            f"\n{part} ({n if part == 'all' else sum(int(r['horizon']) == int(part[1:]) for r in rows)} windows)"
        )
        print(f"{'variant':28s} scaled_crps skill_vs_raw  cov50  cov80  cov95")
        for name, res in results.items():
            r = res[part]
            print(
                f"{name:28s} {r['scaled_crps']:11.4f} {r['skill_vs_raw']:12.4f} "
                f"{100 * r['cov50']:6.1f} {100 * r['cov80']:6.1f} {100 * r['cov95']:6.1f}"
            )
    print(json.dumps(results))
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--every", type=int, default=3, help="use every n-th origin of each asset")
    c.add_argument("--workers", type=int, default=2)
    c.add_argument("--cache", type=Path, default=CACHE)
    s = sub.add_parser("score")
    s.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args(argv)
    if args.cmd == "collect":
        collect(args.every, args.workers, args.cache)
    else:
        score(args.cache)


if __name__ == "__main__":
    sys.exit(main())
