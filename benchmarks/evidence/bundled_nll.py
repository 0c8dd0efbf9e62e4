"""Token NLL of a checkpoint on the held-out split, against a unigram baseline (issue: bundled checkpoint evidence).

    python benchmarks/evidence/bundled_nll.py [--checkpoint DIR_WITH_model_AND_tokenizer] [--stride 4]

Windows of CONTEXT + HORIZON bars (the bundled model's training windows: 96 + 32), normalised on their context,
with every scored bar inside the held-out period of a held-out asset. The unigram frequencies are counted on the
pretraining split's tokens (every STRIDE-th window). Writes benchmarks/results/bundled_nll.{md,csv}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import warnings
from pathlib import Path

import pandas as pd
import torch

from kronos_plugins.checkpoints import bundled_checkpoint, load_model, load_tokenizer
from kronos_plugins.datasets import list_asset_ids, load, load_split
from kronos_plugins.training.data import series_from_frame
from kronos_plugins.training.evaluate import model_bar_nll, unigram_bar_nll, window_tokens

RESULTS = Path(__file__).resolve().parents[1] / "results"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--checkpoint", default=None, help="directory with model/ and tokenizer/ (default: bundled)"
    )
    ap.add_argument("--context", type=int, default=96)
    ap.add_argument("--horizon", type=int, default=32)
    ap.add_argument("--stride", type=int, default=4, help="score every STRIDE-th window")
    ap.add_argument("--out", default=str(RESULTS / "bundled_nll"))
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    if args.checkpoint:
        model_dir, tok_dir = Path(args.checkpoint) / "model", Path(args.checkpoint) / "tokenizer"
    else:
        model_dir, tok_dir, _ = bundled_checkpoint()
    model, tokenizer = load_model(model_dir), load_tokenizer(tok_dir)
    split = load_split()
    installed = set(list_asset_ids(available_only=True))
    C, H = args.context, args.horizon

    def series(part: str):
        out = []
        for asset in [a for a in split.assets(part) if a in installed]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = split.slice(asset, part, context_bars=C if part == "heldout" else 0, data=load(asset))
            out.append(series_from_frame(frame, asset, first_target=frame.attrs.get("context_rows", 0)))
        return out

    centre = model.config.price_centre  # the windows are normalised as the model was trained
    tr1, tr2, _, _ = window_tokens(
        tokenizer, series("pretrain"), C, H, stride=args.stride * 4, price_centre=centre
    )
    s1, s2, stamps, names = window_tokens(
        tokenizer, series("heldout"), C, H, stride=args.stride, price_centre=centre
    )
    m = model_bar_nll(model, s1, s2, stamps, C).double()
    u = unigram_bar_nll(tr1, tr2, s1, s2, 2**model.config.s1_bits, 2**model.config.s2_bits, C)
    rows = []
    frame = pd.DataFrame({"asset": names, "model": m.mean(1).numpy(), "unigram": u.mean(1).numpy()})
    for asset, g in frame.groupby("asset", sort=False):
        rows.append(
            {"asset": asset, "windows": len(g), "model_nll": g.model.mean(), "unigram_nll": g.unigram.mean()}
        )
    table = pd.DataFrame(rows)
    table["difference"] = table.model_nll - table.unigram_nll
    overall = {
        "asset": "all (mean over windows)",
        "windows": len(frame),
        "model_nll": frame.model.mean(),
        "unigram_nll": frame.unigram.mean(),
    }
    overall["difference"] = overall["model_nll"] - overall["unigram_nll"]
    table = pd.concat([table, pd.DataFrame([overall])], ignore_index=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out + ".csv", index=False)
    cmd = "python benchmarks/evidence/bundled_nll.py " + " ".join(argv if argv is not None else sys.argv[1:])
    md = [
        "# Held-out token NLL of the bundled checkpoint vs a unigram baseline",
        "",
        f"Command: `{cmd.strip()}`; {dt.date.today()}; torch {torch.__version__}, {platform.machine()}. "
        f"Windows of {C} + {H} bars normalised on their context; NLL of the {H} horizon bars' (coarse, fine) token "
        f"pairs in nats per bar (lower is better), teacher forced. Unigram: add-one-smoothed token frequencies of "
        f"the pretraining split, same tokenizer. Every {args.stride}th held-out window.",
        "",
        "| asset | windows | model NLL | unigram NLL | model - unigram |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in table.itertuples():
        md.append(
            f"| {r.asset} | {r.windows} | {r.model_nll:.3f} | {r.unigram_nll:.3f} | {r.difference:+.3f} |"
        )
    Path(args.out + ".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
