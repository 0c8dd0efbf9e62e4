"""Speed of generation: the cached fast path against the uncached reference algorithm, in one run.

Random weights shaped like Kronos-small (model) and Kronos-Tokenizer-base (tokenizer), from the published configs.
Context 400 bars, 30 steps. Cases: 1, 20 and 100 samples of one series, and a batch of 8 series x 20 samples.
The uncached algorithm is `kronos_plugins.generation.generate_reference`: the public implementation's loop
(context repeated per sample, whole window recomputed every step). Both see identical inputs and uniforms, and
the benchmark checks that they return the same paths.

Peak memory of 1,000 paths x 30 steps of one series is measured as the peak RSS of a fresh subprocess.

Prints a Markdown table, writes it to benchmarks/results/speed.md, and prints a JSON document as the last line.

    python benchmarks/speed/bench_generation.py [--threads 2] [--device cpu] [--skip-reference-above 100]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from kronos_plugins import Kronos, KronosConfig, KronosTokenizer, KronosTokenizerConfig
from kronos_plugins.generation import generate_cached, generate_reference

SMALL = dict(s1_bits=10, s2_bits=10, n_layers=8, d_model=512, n_heads=8, ff_dim=1024, learn_te=True)
TOKENIZER_BASE = dict(
    d_in=6,
    d_model=256,
    n_heads=4,
    ff_dim=512,
    n_enc_layers=4,
    n_dec_layers=4,
    s1_bits=10,
    s2_bits=10,
    group_size=4,
)
CONTEXT, STEPS, MAX_CONTEXT = 400, 30, 512
RESULTS = Path(__file__).resolve().parents[1] / "results"


def build(device):
    torch.manual_seed(0)
    model = Kronos(KronosConfig(**SMALL)).to(device).eval()
    tok = KronosTokenizer(KronosTokenizerConfig(**TOKENIZER_BASE)).to(device).eval()
    return model, tok


def inputs(G, S, device):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(G, CONTEXT, 6, generator=g).clamp(-5, 5)
    stamp = torch.stack(
        [torch.randint(0, n, (G, CONTEXT + STEPS), generator=g) for n in (60, 24, 7, 32, 13)], -1
    )
    u = torch.rand(G, S, STEPS, 2, generator=g, dtype=torch.float64)
    return [t.to(device) for t in (x, stamp[:, :CONTEXT].float(), stamp[:, CONTEXT:].float(), u)]


def timed(fn, device):
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0, out


def peak_rss_child(n_paths: int, device: str, threads: int) -> float:
    """Peak RSS (MiB) of a fresh process generating n_paths x STEPS paths of one series with the fast path."""
    here = str(Path(__file__).parent)
    code = (
        f"import sys, resource, torch; sys.path.insert(0, {here!r}); torch.set_num_threads({threads})\n"
        "from bench_generation import build, inputs, MAX_CONTEXT\n"
        "from kronos_plugins.generation import generate_cached\n"
        f"d = torch.device({device!r}); m, t = build(d); x, xs, ys, u = inputs(1, {n_paths}, d)\n"
        "out = generate_cached(m, t, x, xs, ys, u, MAX_CONTEXT)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(res.stdout.strip().splitlines()[-1]) / 1024  # ru_maxrss is KiB on Linux


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--skip-reference-above",
        type=int,
        default=None,
        help="skip the (slow) uncached run for cases with more rows than this (default: run every case)",
    )
    ap.add_argument("--paths-for-memory", type=int, default=1000)
    ap.add_argument("--out", default=str(RESULTS / "speed.md"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model, tok = build(device)
    rows = []
    for label, G, S in [
        ("1 series x 1 sample", 1, 1),
        ("1 series x 20 samples", 1, 20),
        ("1 series x 100 samples", 1, 100),
        ("8 series x 20 samples", 8, 20),
    ]:
        x, xs, ys, u = inputs(G, S, device)
        generate_cached(model, tok, x[:, :50], xs[:, :50], ys, u[:, :1], MAX_CONTEXT)  # warm-up
        args_ = (model, tok, x, xs, ys, u, MAX_CONTEXT)
        t_fast, fast = timed(lambda a=args_: generate_cached(*a), device)
        row = {
            "case": label,
            "series": G,
            "samples": S,
            "fast_s": t_fast,
            "reference_s": None,
            "speedup": None,
            "max_abs_diff": None,
        }
        if args.skip_reference_above is None or G * S <= args.skip_reference_above:
            t_ref, ref = timed(lambda a=args_: generate_reference(*a), device)
            row.update(
                reference_s=t_ref, speedup=t_ref / t_fast, max_abs_diff=float((fast - ref).abs().max())
            )
        rows.append(row)
        print(row, flush=True)
    mem = peak_rss_child(args.paths_for_memory, args.device, args.threads) if device.type == "cpu" else None

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    lines = [
        f"# Generation speed (context {CONTEXT}, {STEPS} steps, Kronos-small-shaped random weights)",
        "",
        f"Device `{args.device}`, {args.threads} threads, float32, torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, commit {commit}. Command: "
        f"`python benchmarks/speed/bench_generation.py --threads {args.threads} --device {args.device}"
        + (
            f" --skip-reference-above {args.skip_reference_above}"
            if args.skip_reference_above is not None
            else ""
        )
        + "`.",
        "",
        "| case | fast path (s) | uncached reference algorithm (s) | speed-up | max abs diff |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        ref = f"{r['reference_s']:.2f}" if r["reference_s"] is not None else "not run"
        sp = f"{r['speedup']:.0f}x" if r["speedup"] is not None else "-"
        diff = f"{r['max_abs_diff']:.1e}" if r["max_abs_diff"] is not None else "-"
        lines.append(f"| {r['case']} | {r['fast_s']:.2f} | {ref} | {sp} | {diff} |")
    if mem is not None:
        lines += [
            "",
            f"Peak RSS of a fresh process generating {args.paths_for_memory} paths x {STEPS} steps of one "
            f"series (fast path, weights included): **{mem:.0f} MiB**.",
        ]
    table = "\n".join(lines) + "\n"
    print(table)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(table)
    doc = {
        "device": args.device,
        "threads": args.threads,
        "dtype": "float32",
        "commit": commit,
        "cache": "on vs off",
        "rows": rows,
        "peak_rss_mib_1000_paths": mem,
        "self_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(doc))
    return doc


if __name__ == "__main__":
    main()
