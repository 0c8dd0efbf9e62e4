"""``python -m kronos_plugins.datasets fetch [NAME ...]``: download the sources read without being installed.

``python -m kronos_plugins.datasets count [--version N]`` prints the split's bars per part, source and
frequency (the corpus table of docs/datasets.md).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kronos_plugins.datasets")
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="download and unpack the fetched sources (fastquant, mlfinpy, ...)")
    fetch.add_argument("names", nargs="*", help="source names; default all")
    count = sub.add_parser("count", help="bars per part, source and frequency of a split version")
    count.add_argument("--version", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "fetch":
        from kronos_plugins.datasets import fetch_sources

        for name, path in fetch_sources(args.names or None).items():
            print(f"{name}: {path}")
        return 0
    from kronos_plugins.datasets.corpus import corpus_table

    table = corpus_table(version=args.version)
    print(table.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
