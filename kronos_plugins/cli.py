"""Command-line entry points: ``kronos-bench``, ``kronos-train`` and ``kronos-synth``.

Each is an argparse program installed as a console script by ``pyproject.toml``. They are placeholders in this
version: they parse their arguments, print a clear message to stderr and exit with status 2. Later issues fill
them in.
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
    """Run a benchmark suite (``kronos-bench run SUITE.yaml``); not implemented yet.

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        The exit status, 2 for now.
    """
    parser = argparse.ArgumentParser(prog="kronos-bench", description="Run a Kronos benchmark suite.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the suite described by a YAML file")
    run.add_argument("suite", help="path to the suite YAML, e.g. benchmarks/suites/default.yaml")
    parser.parse_args(argv)
    return _not_implemented("kronos-bench", "the benchmark harness")


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
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config key, e.g. --set train_model.steps=100 (repeatable; the value is read as YAML)",
    )
    parser.add_argument(
        "--stop-after-steps", type=int, metavar="N",
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
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    """Generate synthetic OHLCV trajectories (``kronos-synth``); not implemented yet.

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        The exit status, 2 for now.
    """
    parser = argparse.ArgumentParser(
        prog="kronos-synth", description="Generate synthetic OHLCV trajectories."
    )
    parser.add_argument("--config", help="path to a generator YAML config")
    parser.add_argument("--out", help="where to write the trajectories")
    parser.parse_args(argv)
    return _not_implemented("kronos-synth", "synthetic data generation")
