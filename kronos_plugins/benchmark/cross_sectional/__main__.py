"""``python -m kronos_plugins.benchmark.cross_sectional run SUITE.yaml --out DIR``: run a cross-sectional suite
and write its report (CSVs, report.md, plots)."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path


def _commit() -> str | None:
    try:
        run = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return run.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kronos_plugins.benchmark.cross_sectional", description=__doc__
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a suite and write its report")
    run.add_argument("suite", type=Path, help="suite YAML, e.g. benchmarks/suites/cross_sectional.yaml")
    run.add_argument("--out", type=Path, required=True, help="output folder")
    run.add_argument(
        "--max-dates",
        type=int,
        default=None,
        help="only the first N rebalance dates per universe (smoke runs)",
    )
    run.add_argument("--quiet", action="store_true", help="no line per date")
    args = parser.parse_args(argv)

    from .report import write_report
    from .run import run_suite
    from .suite import load_suite

    suite = load_suite(args.suite)
    commit = _commit()  # the code that runs, read before the run (others may commit meanwhile)
    res = run_suite(
        suite,
        progress=None if args.quiet else (lambda line: print(line, flush=True)),
        max_dates=args.max_dates,
    )
    shown = [
        "python",
        "-m",
        "kronos_plugins.benchmark.cross_sectional",
        "run",
        str(args.suite),
        "--out",
        str(args.out),
    ]
    if args.max_dates is not None:
        shown += ["--max-dates", str(args.max_dates)]
    path = write_report(res, args.out, command=shlex.join(shown), commit=commit)
    print(f"wrote {path} ({res.seconds / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
