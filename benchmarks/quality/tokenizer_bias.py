"""Does the tokenizer's round trip pull extreme closes towards the window's mean? (issue 15, the 20-bar drift)

The gate's tokenizer section measures how far decoded closes land from the real ones; this script asks where
they land. On the same windows (the validation part of the gate's split version, <= 8 windows of 96 bars per
asset, normalised as the pipeline normalises a context, coarse + fine tokens) it bins every bar by its real
normalised close z and reports the mean signed error (decoded - real, in the window's standard deviations) and
the mean absolute error per bin. A negative mean error at large z and a positive one at large -z is a shrinkage
towards the window's mean, the direction in which the model's 20-bar medians drift. For scale it gives the median
over windows of the standard deviation of a window's one-bar close changes in the same units.

    python benchmarks/quality/tokenizer_bias.py [TOKENIZER_DIR ...] [--out FILE.md]

With no directory: the bundled tokenizer.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import gate as G  # noqa: E402

BINS = [(-np.inf, -3), (-3, -2), (-2, -1), (-1, 0), (0, 1), (1, 2), (2, 3), (3, np.inf)]


@functools.cache
def windows(n_per_asset: int = 8, bars: int = 96) -> np.ndarray:
    """Normalised windows (N, bars, 6) of the gate's tokenizer section (`gate.tokenizer_windows`)."""
    _, xs, _, _ = G.tokenizer_windows(bars, n_per_asset)
    return np.stack(xs).astype(np.float32)


def roundtrip(tok, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return np.concatenate(
            [
                tok.decode(tok.encode(torch.from_numpy(x[a : a + 256]), half=True), half=True).float().numpy()
                for a in range(0, len(x), 256)
            ]
        )


def bias_table(x: np.ndarray, decoded: np.ndarray, feature: int = 3) -> pd.DataFrame:
    """Per bin of the real normalised value z: bars, mean signed error, mean |error|."""
    z = x[:, :, feature].ravel()
    e = decoded[:, :, feature].ravel() - z
    rows = []
    for lo, hi in BINS:
        m = (z >= lo) & (z < hi)
        rows.append(
            {
                "z_from": lo,
                "z_to": hi,
                "bars": int(m.sum()),
                "mean_error": float(e[m].mean()) if m.any() else np.nan,
                "mean_abs_error": float(np.abs(e[m]).mean()) if m.any() else np.nan,
            }
        )
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    import torch

    from kronos_plugins.checkpoints import load_tokenizer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tokenizers", nargs="*", help="tokenizer directories (default: the bundled one)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "quality" / "tokenizer_bias.md"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from kronos_plugins.checkpoints import BUNDLED_DIR

    dirs = args.tokenizers or [str(Path(BUNDLED_DIR) / "tokenizer")]
    x = windows()
    step = np.median(np.diff(x[:, :, 3], axis=1).std(axis=1))
    rel = lambda p: os.path.relpath(p, ROOT) if os.path.isabs(p) else p  # noqa: E731
    lines = [
        "# Tokenizer round trip: signed close error by normalised close (issue 15)",
        "",
        "- **command**: `"
        + " ".join(["python benchmarks/quality/tokenizer_bias.py", *(rel(d) for d in args.tokenizers)])
        + "`",
        f"- **windows**: {len(x)} of 96 bars (the gate's tokenizer section: validation part of split version "
        f"{G.TOKENIZER_SPLIT_VERSION}, <= 8 per asset), normalised as the pipeline normalises a context; "
        "coarse + fine tokens",
        f"- **scale**: the median window's standard deviation of one-bar close changes is {step:.3f} "
        "(normalised units: the window's standard deviations)",
        "- error = decoded - real normalised close; a negative mean at large z (positive at large -z) pulls decoded "
        "closes towards the window's mean",
        "",
    ]
    for d in dirs:
        tok = load_tokenizer(d).eval()
        t = bias_table(x, roundtrip(tok, x))
        lines += [
            f"## `{rel(d)}`",
            "",
            "| real z | bars | mean error | mean abs error | mean error / one-bar step |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in t.itertuples():
            lines.append(
                f"| [{r.z_from:g}, {r.z_to:g}) | {r.bars} | {r.mean_error:+.3f} | {r.mean_abs_error:.3f} | "
                f"{r.mean_error / step:+.2f} |"
            )
        lines.append("")
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
