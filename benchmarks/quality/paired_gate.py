"""Paired comparison of two gated checkpoints on the gate's own held-out windows (issue 15).

The gate scores each checkpoint against fixed thresholds; a candidate that misses one by a few thousandths, where
the bundle passes it, may or may not forecast worse than the bundle. This script answers that on the same windows:
it reads both checkpoints' `kronos` forecasts from the gate's cache (``benchmarks/results/cache/quality/<hash>``,
written by ``gate.py``; nothing is forecast again unless a forecast is missing from it), scores them with the
harness, and takes the per-window ratio new / old of CRPS and MAE by horizon, with 95 % CIs from resampling assets
(``paired.py``). The baselines are not involved: a ratio is the same as a difference in skill against one
baseline.

    python benchmarks/quality/paired_gate.py --old bundled --old-suite benchmarks/suites/quality.yaml \\
        --new runs/candidates/X --new-suite benchmarks/suites/quality-t1.1.yaml --out FILE.md
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import gate as G  # noqa: E402
import paired as P  # noqa: E402


def gated_windows(checkpoint: str, suite_path: str, cache_root: Path, workers: int):
    """Per-window scores of the gated model (`kronos`, the pipeline's default lookback) of one checkpoint."""
    from kronos_plugins.benchmark.runner import run_suite
    from kronos_plugins.benchmark.suite import load_suite

    ckpt = G.resolve_checkpoint(checkpoint)
    rel = (lambda f: os.path.relpath(f)) if Path.cwd().resolve() == ROOT else (lambda f: f)  # noqa: E731
    suite = load_suite(rel(suite_path)).with_kronos(checkpoint=ckpt["arg"])
    gated = [m for m in suite.enabled_models if m.label == G.GATED]
    if not gated:
        raise SystemExit(f"{suite_path}: no enabled model labelled `{G.GATED}`")
    res = run_suite(
        replace(suite, models=tuple(gated)),
        workers=workers,
        cache_dir=cache_root / "quality" / ckpt["hash"][:16],
        progress=None,
        log=lambda m: None,
    )
    w = res.windows
    w = w[(w["model"] == G.GATED) & w["error"].isna()]
    return ckpt, w, res.meta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default="bundled", help="checkpoint: `bundled` or a directory (default bundled)")
    ap.add_argument("--old-suite", default=str(ROOT / "benchmarks" / "suites" / "quality.yaml"))
    ap.add_argument("--new", required=True, help="checkpoint directory holding model/ and tokenizer/")
    ap.add_argument("--new-suite", default=str(ROOT / "benchmarks" / "suites" / "quality.yaml"))
    ap.add_argument("--cache-root", default=str(ROOT / "benchmarks" / "results" / "cache"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", help="write the markdown here too")
    args = ap.parse_args(argv)

    cache = Path(args.cache_root)
    old_ckpt, old, old_meta = gated_windows(args.old, args.old_suite, cache, args.workers)
    new_ckpt, new, new_meta = gated_windows(args.new, args.new_suite, cache, args.workers)
    computed = old_meta["n_computed"] + new_meta["n_computed"]
    command = "python benchmarks/quality/paired_gate.py " + " ".join(
        a if not a.startswith(str(ROOT)) else os.path.relpath(a, ROOT) for a in (argv or sys.argv[1:])
    )
    text = (
        f"## Paired on the gate's windows: `{new_ckpt['name']}` (new) vs `{old_ckpt['name']}` (old)\n\n"
        f"- **command**: `{command}`\n"
        f"- **old**: `{old_ckpt['dir']}` (content sha256 `{old_ckpt['hash'][:16]}`), suite `{os.path.relpath(args.old_suite, ROOT)}`, "
        f"model `{G.GATED}` (its default lookback)\n"
        f"- **new**: `{new_ckpt['dir']}` (content sha256 `{new_ckpt['hash'][:16]}`), suite `{os.path.relpath(args.new_suite, ROOT)}`, "
        f"model `{G.GATED}` (its default lookback)\n"
        f"- forecasts from the gate's cache; {computed} computed now\n"
        "- a ratio below 1: the new checkpoint's error is lower on the same windows; the asset-resampled CI is the "
        "honest one (an asset's windows share a series)\n\n"
        f"{P.table(old, new)}\n\n### CRPS by asset\n\n{P.by_asset(old, new)}\n"
    )
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
