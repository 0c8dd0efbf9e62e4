"""Tokenizer sweep (issue 15): the quality gate's tokenizer figures for several trained tokenizers.

For each run directory (a ``kronos-train`` run of stage 1, e.g. ``runs/tokenizer-sweep/b12-d64``) the script
measures exactly what the quality gate's tokenizer section measures (it calls ``tokenizer_section`` of
``benchmarks/quality/gate.py`` with the gate's default settings: every validation asset of split version 2,
<= 8 windows of 96 bars per asset, coarse + fine tokens): the close reconstruction error in units of one bar's
return std (median over windows per asset, then over assets; target <= 0.15), the assets' 90th percentile of it,
and the share of OHLC-consistent decoded candles before repair (target >= 0.99). It adds the run's parameters,
steps, training time and final validation loss (``training_summary.json``), the validation-loss curve
(``train_log.csv``) and, where ``<run>/snapshots/tokenizer/step<N>/`` (``train_tokenizer.snapshot_every``) or
``<run>/snapshots/step<N>/`` (copied by hand) holds the weights of intermediate checkpoints, the
gate's figures at those steps too (the training-length trade-off measured on the gate's own metric).

The first row is the shipped tokenizer (``kronos_plugins/checkpoints_data/bundled/tokenizer``) for reference.

Writes ``sweep.csv``, ``curve.csv``, ``sweep.md`` and the per-asset figures of each tokenizer
(``per_asset/<variant>.csv``, the gate's ``tokenizer.csv`` layout) to
``benchmarks/results/quality/tokenizer_sweep/``.

Usage::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/quality/tokenizer_sweep.py runs/tokenizer-sweep/*/
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import gate as G  # noqa: E402

from kronos_plugins.checkpoints import load_tokenizer  # noqa: E402

BUNDLED = ROOT / "kronos_plugins" / "checkpoints_data" / "bundled"
SHIPPED_CONFIG = "kronos_plugins/training/configs/v2-tokenizer.yaml"


def code_usage(tok) -> dict:
    """How many of its bits the tokenizer uses on the gate's windows: the entropy (bits) of the coarse and of
    the fine ids' distribution over all bars (at most s1_bits and s2_bits; the exponential of it in nats is the
    training log's code perplexity)."""
    import tokenizer_bias as TB
    import torch

    x = TB.windows()  # cached: one load for every tokenizer of a sweep
    with torch.inference_mode():
        ids = [tok.encode(torch.from_numpy(x[a : a + 256]), half=True) for a in range(0, len(x), 256)]
    out = {}
    for k, name in enumerate(("s1", "s2")):
        _, counts = np.unique(torch.cat([i[k] for i in ids]).reshape(-1).numpy(), return_counts=True)
        q = counts / counts.sum()
        out[f"{name}_entropy_bits"] = float(-(q * np.log2(q)).sum())
    return out


def gate_figures(tok, label: str, per_asset_dir: Path | None, log) -> dict:
    """The gate's tokenizer section on `tok` (gate defaults); per-asset table copied to per_asset_dir."""
    import torch

    args = G.parse_args(["--sections", "tokenizer"])  # the gate's own defaults for windows/bars/assets
    pipe = SimpleNamespace(tokenizer=tok.eval(), device=torch.device("cpu"))  # all the section reads
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        res = G.tokenizer_section(args, pipe, Path(tmp), lambda m: log(f"  {label}: {m}"))
        per = pd.read_csv(Path(tmp) / "tokenizer.csv")
    if per_asset_dir is not None:
        per_asset_dir.mkdir(parents=True, exist_ok=True)
        per.to_csv(per_asset_dir / f"{label}.csv", index=False, float_format="%.6g")
    close, consistent = res["checks"][0], res["checks"][1]
    return (
        code_usage(tok)
        | res["candle_shape"]  # `targets.candle_shape` on the section's own round trip
        | res["volume_shape"]  # `targets.volume_shape`, the same
        | {
            "close_error": close.measured,
            "close_error_p90": float(np.nanquantile(per["median_error"], 0.9)),
            "consistent_share": consistent.measured,
            "worst_asset_consistent": float(per["consistent_share"].min()),
            "windows": res["windows"],
            "assets": res["assets"],
            "eval_seconds": round(time.time() - t0, 1),
        }
    )


def _shipped_lineage(bundle: Path = BUNDLED) -> dict:
    """Steps, minutes and final validation loss of the shipped tokenizer's run, from the bundle's model card
    (its run folder is not part of the repository)."""
    card = (bundle / "MODEL_CARD.md").read_text(encoding="utf-8")
    m = re.search(
        r"`runs/v2-tokenizer`: (\d+) x (\d+) steps, validation loss [-\d.]+ -> ([-\d.]+), (\d+) min", card
    )
    if not m:
        return {}
    return {
        "steps": int(m.group(1)),
        "batch_size": int(m.group(2)),
        "val_loss": float(m.group(3)),
        "train_minutes": float(m.group(4)),
    }


def run_row(run: Path, per_asset_dir: Path, log, snapshots: bool) -> tuple[dict, list[dict]]:
    summary = json.loads((run / "training_summary.json").read_text(encoding="utf-8"))
    st = summary["stages"]["tokenizer"]
    arch = st["architecture"]
    tok = load_tokenizer(run / "tokenizer")
    label = run.name
    row = {
        "variant": label,
        "bits": f"{arch['s1_bits']}+{arch['s2_bits']}",
        "d_model": arch["d_model"],
        "ff_dim": arch["ff_dim"],
        "params": st["parameters"],
        "steps": st["steps"],
        "batch_size": st["batch_size"],
        "train_minutes": round(st["train_seconds"] / 60, 2),
        "val_loss": st["final_val_loss"],
        "val_recon_all": st["final_val"].get("recon_all"),
        "val_recon_pre": st["final_val"].get("recon_pre"),
        "s1_perplexity": st["final_val"].get("s1_perplexity"),
        "s2_perplexity": st["final_val"].get("s2_perplexity"),
        "completed": summary["completed"],
        "source": str(run),
    }
    log(
        f"{label}: {row['bits']} bits, d_model {row['d_model']}, {row['params']} parameters, {row['steps']} steps"
    )
    row.update(gate_figures(tok, label, per_asset_dir, log))

    # the validation curve and, where snapshots exist, the gate's figures along training
    logdf = pd.read_csv(run / "train_log.csv")
    val = logdf[(logdf["stage"] == "tokenizer") & (logdf["split"] == "val")].drop_duplicates(
        "step", keep="last"
    )
    curve = []
    snaps = {}
    if snapshots and (run / "snapshots").is_dir():
        # train_tokenizer.snapshot_every writes snapshots/tokenizer/step<N>; older runs were copied to snapshots/step<N>
        for d in [*(run / "snapshots").glob("step*"), *(run / "snapshots" / "tokenizer").glob("step*")]:
            if (d / "model.safetensors").is_file():
                snaps[int(d.name[4:])] = d
    for _, v in val.iterrows():
        step = int(v["step"])
        point = {
            "variant": label,
            "step": step,
            "val_loss": float(v["loss"]),
            "val_recon_all": float(v["recon_all"]),
            "elapsed_minutes": round(float(v["elapsed_s"]) / 60, 2),
        }
        if step == row["steps"]:
            point.update(close_error=row["close_error"], consistent_share=row["consistent_share"])
        elif step in snaps:
            g = gate_figures(load_tokenizer(snaps[step]), f"{label}@{step}", None, log)
            point.update(close_error=g["close_error"], consistent_share=g["consistent_share"])
        curve.append(point)
    return row, curve


def shipped_row(per_asset_dir: Path, log, bundle: Path = BUNDLED) -> dict:
    tok = load_tokenizer(bundle / "tokenizer")
    c = tok.config
    lineage = _shipped_lineage(bundle)
    row = {
        "variant": "shipped (bundled)",
        "bits": f"{c.s1_bits}+{c.s2_bits}",
        "d_model": c.d_model,
        "ff_dim": c.ff_dim,
        "params": sum(p.numel() for p in tok.parameters()),
        "steps": lineage.get("steps"),
        "batch_size": lineage.get("batch_size"),
        "train_minutes": lineage.get("train_minutes"),
        "val_loss": lineage.get("val_loss"),
        "val_recon_all": None,
        "val_recon_pre": None,
        "s1_perplexity": None,
        "s2_perplexity": None,
        "completed": True,
        "source": _relative(bundle / "tokenizer") + f" ({SHIPPED_CONFIG})",
    }
    log(f"shipped: {row['bits']} bits, d_model {row['d_model']}")
    row.update(gate_figures(tok, "shipped", per_asset_dir, log))
    return row


def _relative(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _f(v, fmt="{:.3f}") -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return fmt.format(v)


def _step_table(curve: pd.DataFrame, steps: list[int], cell) -> list[str]:
    """Markdown rows: one per variant, one column per step, `cell(row of curve)` in each ("–" where missing)."""
    lines = ["| variant | " + " | ".join(f"step {s}" for s in steps) + " |", "|---|" + "---|" * len(steps)]
    for v, g in curve.groupby("variant", sort=False):
        g = g.set_index("step")
        cells = [cell(g.loc[s]) if s in g.index else "–" for s in steps]
        lines.append(f"| `{v}` | " + " | ".join(cells) + " |")
    return lines


TITLE = "Tokenizer sweep: bits, width and training length (issue 15)"
TRAINING = (
    "`OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 nice -n 19 .venv/bin/kronos-train --config "
    "kronos_plugins/training/configs/tokenizer-sweep/<variant>.yaml --out-dir runs/tokenizer-sweep/<variant> "
    "--no-progress` (one variant at a time, 1 torch thread, on a 2-CPU machine shared with other jobs: the "
    "minutes are indicative)"
)
VARIANTS = (
    "derived from `v2-tokenizer.yaml` (split version 2, seed 0, batch 32, lr 1e-3, warm-up 100, "
    "cosine to 0.1, 3 + 3 layers, 4 heads); only bits, `d_model`/`ff_dim` and steps differ. `val loss` is the "
    "training objective (reconstruction MSE + BSQ terms, whose entropy part grows with the bits: compare "
    "`val recon` across bits)."
)


def render(
    rows: list[dict],
    curve: list[dict],
    command: str,
    note: str,
    title: str = TITLE,
    training: str = TRAINING,
    variants: str = VARIANTS,
) -> str:
    lines = [
        f"# {title}",
        "",
        f"- **command**: `{command}`",
        f"- **training**: {training}",
        "- **metrics**: exactly the quality gate's tokenizer section (`tokenizer_section` of "
        "`benchmarks/quality/gate.py`, its default settings): validation part of split version 2, <= 8 windows of "
        "96 bars per asset, coarse + fine tokens; close error in one-bar return stds, median over windows per "
        "asset then over assets (target <= 0.15); OHLC-consistent decoded candles before repair (target >= 0.99). "
        "Per asset: `per_asset/<variant>.csv`. Code entropy: the entropy in bits of the coarse and of the fine ids "
        "over the same windows' bars (at most the bits of each half): how much of its vocabulary the tokenizer uses. "
        "Other prices and candle shape (`targets.candle_shape`, the same windows in price units): the median over windows of "
        "the mean |decoded / real - 1| of open, high and low in one-bar close-return stds; the body |log(close / open)| decoded over "
        "real; the least-squares slopes of the decoded body and one-bar close change on the real ones (1 is kept, 0 "
        "is lost). Volume (`targets.volume_shape`): the share of decoded bars with a negative volume or amount; "
        "the median over windows of the mean |decoded - real| volume over the window's mean volume; the median "
        "over windows of the correlation of decoded and real volume.",
        f"- **variants**: {variants}",
    ]
    if note:
        lines.append(f"- **note**: {note}")
    lines += [
        "",
        "| variant | bits | d_model | params | steps | train min | val loss | val recon | close error (median) "
        "| close error (assets' p90) | OHLC-consistent | code entropy, coarse + fine (bits) "
        "| open / high / low error (window median) | body size, decoded / real | body slope | close move slope "
        "| negative volume | volume error | volume corr |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['variant']}` | {r['bits']} | {r['d_model']} | {r['params']:,} | {_f(r['steps'], '{}')} | "
            f"{_f(r['train_minutes'], '{:.1f}')} | {_f(r['val_loss'], '{:.4f}')} | {_f(r['val_recon_all'], '{:.4f}')} | "
            f"{_f(r['close_error'])} | {_f(r['close_error_p90'])} | {_f(r['consistent_share'])} | "
            f"{_f(r.get('s1_entropy_bits'), '{:.1f}')} + {_f(r.get('s2_entropy_bits'), '{:.1f}')} | "
            + " / ".join(_f(r.get(f"{k}_error")) for k in ("open", "high", "low"))
            + f" | {_f(r.get('body_size_ratio'), '{:.2f}')} | {_f(r.get('body_slope'), '{:.2f}')} | "
            f"{_f(r.get('close_move_slope'), '{:.2f}')} | {_f(r.get('volume_negative_share'), '{:.4f}')} | "
            f"{_f(r.get('volume_error'))} | {_f(r.get('volume_corr'))} |"
        )
    if curve:
        cdf = pd.DataFrame(curve)
        steps = sorted(s for s in cdf["step"].unique() if s > 0)
        lines += [
            "",
            "## Training length: validation curve",
            "",
            "Validation loss (reconstruction MSE of all bits in brackets) at each evaluation step (learning rate: "
            "warm-up 100 steps, then cosine down to 0.1 x at the run's last step, so a step-k point of a 1000-step run "
            "is not a k-step run).",
            "",
        ]
        lines += _step_table(cdf, steps, lambda r: f"{r['val_loss']:.4f} ({r['val_recon_all']:.4f})")
        if "close_error" in cdf:
            lines += [
                "",
                "The gate's close error (median over assets) / OHLC-consistent share at the same steps (weights of the "
                "run's snapshots, `train_tokenizer.snapshot_every`, or resumable checkpoints copied while training ran):",
                "",
            ]
            lines += _step_table(
                cdf,
                steps,
                lambda r: (
                    f"{r['close_error']:.3f} / {r['consistent_share']:.3f}"
                    if pd.notna(r["close_error"])
                    else "–"
                ),
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "runs",
        nargs="*",
        help="kronos-train run directories (each with tokenizer/ and training_summary.json)",
    )
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "quality" / "tokenizer_sweep"))
    p.add_argument(
        "--no-shipped", action="store_true", help="leave out the shipped tokenizer's reference row"
    )
    p.add_argument(
        "--shipped",
        default=str(BUNDLED),
        help="bundle folder of the reference row (default: the bundled checkpoint; e.g. one extracted from git)",
    )
    p.add_argument("--no-snapshots", action="store_true", help="skip the gate figures at intermediate steps")
    p.add_argument("--note", default="", help="a line added to sweep.md (e.g. reduced steps)")
    p.add_argument("--title", default=TITLE, help="sweep.md's heading")
    p.add_argument(
        "--training", default=TRAINING, help="sweep.md's training line (how the runs were trained)"
    )
    p.add_argument("--variants", default=VARIANTS, help="sweep.md's line on what the variants are")
    args = p.parse_args(argv)
    log = lambda m: print(m, flush=True)  # noqa: E731
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, curve = [], []
    if not args.no_shipped:
        rows.append(shipped_row(out / "per_asset", log, Path(args.shipped)))
    for r in args.runs:
        run = Path(r)
        if not (run / "training_summary.json").is_file():
            log(f"skipping {run}: no training_summary.json (unfinished run?)")
            continue
        row, c = run_row(run, out / "per_asset", log, not args.no_snapshots)
        rows.append(row)
        curve += c
    cmd = "python benchmarks/quality/tokenizer_sweep.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    df = pd.DataFrame(rows)
    df.to_csv(out / "sweep.csv", index=False, float_format="%.6g")
    if curve:
        pd.DataFrame(curve).to_csv(out / "curve.csv", index=False, float_format="%.6g")
    (out / "sweep.md").write_text(
        render(rows, curve, cmd.strip(), args.note, args.title, args.training, args.variants),
        encoding="utf-8",
    )
    log("")
    log(
        df[
            [
                "variant",
                "bits",
                "d_model",
                "params",
                "steps",
                "val_loss",
                "close_error",
                "close_error_p90",
                "consistent_share",
            ]
        ].to_string(index=False)
    )
    log(f"\n{out / 'sweep.md'}")


if __name__ == "__main__":
    main()
