"""Throughput of one cross-sectional rebalance date: assets forecast per second.

One rebalance date of the sp500_2009 universe (origin 2010-03-01: every eligible constituent's bars up to that
day, as the cross-sectional engine builds them) is forecast with ONE batched `KronosPipeline.forecast` call
(ragged contexts in one batch; the pipeline groups equal lengths and chunks by ``max_batch_rows``), and, for
comparison, with one call per asset on the first `--loop-assets` assets. Models:

* the bundled checkpoint (``KronosPipeline.from_pretrained()``, its 96-bar training lookback);
* the Kronos-small shape (published config: 8 layers, d_model 512; tokenizer-base shape) with random weights,
  max_context 512, on the same contexts (lookback 96 too, so both see the same bars): throughput depends on the
  shape, not on the weights.

Writes a Markdown table to benchmarks/results/cross_sectional/throughput.md (with the command) and prints it.

    python benchmarks/speed/bench_cross_sectional.py [--threads 1] [--samples 16] [--horizon 5]
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

import torch

from kronos_plugins import Kronos, KronosConfig, KronosPipeline, KronosTokenizer, KronosTokenizerConfig
from kronos_plugins.benchmark.cross_sectional.engine import run_engine
from kronos_plugins.benchmark.cross_sectional.signals import Reversal
from kronos_plugins.benchmark.cross_sectional.universe import load_universe

SMALL = dict(s1_bits=10, s2_bits=10, n_layers=8, d_model=512, n_heads=8, ff_dim=1024, learn_te=True)
TOKENIZER_BASE = dict(
    d_in=6, d_model=256, n_heads=4, ff_dim=512, n_enc_layers=4, n_dec_layers=4, s1_bits=10, s2_bits=10
)
ORIGIN = "2010-03-01"
OUT = Path(__file__).resolve().parents[1] / "results" / "cross_sectional" / "throughput.md"


class _Capture:
    """A signal model that keeps the engine's contexts of the date (so the benchmark forecasts exactly them)."""

    name = "capture"
    context_bars = 512

    def signals(self, contexts, assets, horizon, seed):
        self.contexts, self.assets = list(contexts), list(assets)
        return Reversal(1).signals(contexts, assets, horizon, seed)


def date_contexts(max_assets: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        universe = load_universe("sp500_2009")
    cap = _Capture()
    run_engine(universe, [cap], horizon=5, step=5, min_history=60, origins=[_origin(universe)])
    return cap.contexts[:max_assets], cap.assets[:max_assets]


def _origin(universe):
    from kronos_plugins.benchmark.cross_sectional.universe import rebalance_schedule

    sched = rebalance_schedule(universe.calendar(), universe.start, universe.end, step=5, horizon=5)
    return sched["origin"][sched["origin"] >= ORIGIN].iloc[0]


def small_pipeline(device: str) -> KronosPipeline:
    torch.manual_seed(0)
    model = Kronos(KronosConfig(**SMALL))
    tok = KronosTokenizer(KronosTokenizerConfig(**TOKENIZER_BASE))
    return KronosPipeline(model, tok, max_context=512, device=device)


def measure(pipe, contexts, assets, args, loop_assets: int) -> dict:
    kw = dict(horizon=args.horizon, num_samples=args.samples, seed=0, lookback=args.lookback, ohlc="widen")
    pipe.forecast(contexts[:2], **kw)  # warm-up
    t0 = time.perf_counter()
    fc = pipe.forecast(contexts, item_ids=assets, **kw)
    batched = time.perf_counter() - t0
    assert fc.samples.shape[0] == len(contexts)
    t0 = time.perf_counter()
    for c in contexts[:loop_assets]:
        pipe.forecast([c], **kw)
    loop = time.perf_counter() - t0
    return {
        "assets": len(contexts),
        "batched_s": batched,
        "batched_rate": len(contexts) / batched,
        "loop_assets": loop_assets,
        "loop_s": loop,
        "loop_rate": loop_assets / loop,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--horizon", type=int, default=5)
    p.add_argument("--lookback", type=int, default=96)
    p.add_argument("--assets", type=int, default=500, help="assets of the date for the bundled model")
    p.add_argument("--small-assets", type=int, default=100, help="assets for the Kronos-small shape")
    p.add_argument(
        "--loop-assets", type=int, default=20, help="assets forecast one call each, for comparison"
    )
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    contexts, assets = date_contexts(max(args.assets, args.small_assets))
    bundled = KronosPipeline.from_pretrained(device=args.device)
    rows = [
        (
            "bundled",
            sum(x.numel() for x in bundled.model.parameters()),
            measure(bundled, contexts[: args.assets], assets[: args.assets], args, args.loop_assets),
        ),
    ]
    small = small_pipeline(args.device)
    rows.append(
        (
            "Kronos-small shape (random weights)",
            sum(x.numel() for x in small.model.parameters()),
            measure(
                small,
                contexts[: args.small_assets],
                assets[: args.small_assets],
                args,
                min(args.loop_assets, args.small_assets),
            ),
        )
    )
    lengths = sorted({len(c.iloc[-args.lookback :]) for c in contexts})
    cmd = shlex.join(
        ["python", "benchmarks/speed/bench_cross_sectional.py", *sys.argv[1:]]
        if argv is None
        else ["python", "benchmarks/speed/bench_cross_sectional.py", *argv]
    )
    lines = [
        "# Cross-sectional throughput: one rebalance date",
        "",
        f"Command: `{cmd}`; {platform.machine()}, {args.device}, torch {torch.__version__}, {args.threads} thread(s), on a shared machine (other jobs running).",
        f"sp500_2009 at its first rebalance date on or after {ORIGIN}: every eligible asset's bars up to that day, lookback {args.lookback} "
        f"(context lengths {lengths[0]}..{lengths[-1]} bars), horizon {args.horizon}, {args.samples} paths per asset.",
        "",
        "| model | parameters | assets | one batched call (s) | assets / s batched | one call per asset: assets | s | assets / s | batched / per-asset rate |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, n_params, m in rows:
        lines.append(
            f"| {name} | {n_params:,} | {m['assets']} | {m['batched_s']:.2f} | {m['batched_rate']:.1f} | {m['loop_assets']} | "
            f"{m['loop_s']:.2f} | {m['loop_rate']:.1f} | {m['batched_rate'] / m['loop_rate']:.1f}x |"
        )
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
