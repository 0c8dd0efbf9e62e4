"""Draw the documentation's figures by running the code that the pages show.

The fan chart of ``docs/getting-started.md`` is drawn by that page's own ```python blocks, run in order in one
namespace in a temporary directory with the bundled checkpoint; the PNG they save is copied to
``docs/assets/fan-chart.png``. The README's tour is run the same way: its Python block writes ``prices.csv``
and its ``kronos forecast ... --plot fan.png`` line runs through `kronos_plugins.cli.main`; the chart is copied
to ``docs/assets/forecast-fan.png``. So every figure is exactly what the code beside it draws.

    python docs/scripts/make_figures.py            # needs the bundled checkpoint and the `data` extra

The bundled checkpoint is required (the tiny test checkpoint would draw noise); ``--checkpoint DIR`` (a
directory holding ``model/`` and ``tokenizer/``) substitutes another one, for checking the script itself.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
MAX_BYTES = 200_000  # committed images stay small
FIGURES = {"getting-started.md": ("fan-chart.png",)}
README = DOCS.parent / "README.md"
README_FIGURE = "forecast-fan.png"


def python_blocks(page: Path) -> list[str]:
    """The unindented ```python blocks of a Markdown page, in order."""
    return re.findall(r"^```python\n(.*?)^```$", page.read_text(encoding="utf-8"), flags=re.S | re.M)


def run_page(page: Path, workdir: Path) -> None:
    namespace: dict = {"__name__": "__docs__"}
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        for k, code in enumerate(python_blocks(page)):
            exec(compile(code, f"{page.name}[{k}]", "exec"), namespace)
    finally:
        os.chdir(cwd)


def run_readme_tour(workdir: Path) -> Path:
    """Run the README's tour (the Python block that writes prices.csv, then its `kronos forecast` line) in
    `workdir`; returns the chart it drew."""
    import shlex

    from kronos_plugins.cli import main as kronos

    text = README.read_text(encoding="utf-8")
    block = next(
        b for b in re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M) if "prices.csv" in b
    )
    command = shlex.split(re.search(r"^kronos forecast .*$", text, flags=re.M).group(0))[1:]
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        exec(compile(block, "README.md", "exec"), {"__name__": "__docs__"})
        if kronos(command) != 0:
            raise RuntimeError(f"`kronos {shlex.join(command)}` failed")
    finally:
        os.chdir(cwd)
    return workdir / command[command.index("--plot") + 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkpoint", type=Path, help="directory with model/ and tokenizer/ (default: bundled)"
    )
    parser.add_argument("--out-dir", type=Path, default=DOCS / "assets")
    args = parser.parse_args(argv)

    os.environ.setdefault("MPLBACKEND", "Agg")
    import torch

    import kronos_plugins.checkpoints as checkpoints
    from kronos_plugins.checkpoints import BUNDLED_DIR

    torch.set_num_threads(1)  # small model: one thread beats contending ones on a shared machine
    if args.checkpoint is not None:
        ckpt = args.checkpoint.resolve()
        checkpoints.bundled_checkpoint = lambda *a, **k: (ckpt / "model", ckpt / "tokenizer", 128)
    elif not (BUNDLED_DIR / "bundle.json").is_file():
        print(
            f"make_figures: no bundled checkpoint in {BUNDLED_DIR}; run `make train-bundled`", file=sys.stderr
        )
        return 2

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for page, names in FIGURES.items():
        with tempfile.TemporaryDirectory() as tmp:
            run_page(DOCS / page, Path(tmp))
            for name in names:
                size = (Path(tmp) / name).stat().st_size
                if size > MAX_BYTES:
                    print(f"make_figures: {name} is {size} bytes, over {MAX_BYTES}", file=sys.stderr)
                    return 1
                shutil.copyfile(Path(tmp) / name, args.out_dir / name)
                print(f"{args.out_dir / name} ({size / 1000:.0f} kB) from {page}")
    with tempfile.TemporaryDirectory() as tmp:
        chart = run_readme_tour(Path(tmp))
        size = chart.stat().st_size
        if size > MAX_BYTES:
            print(f"make_figures: {chart.name} is {size} bytes, over {MAX_BYTES}", file=sys.stderr)
            return 1
        shutil.copyfile(chart, args.out_dir / README_FIGURE)
        print(f"{args.out_dir / README_FIGURE} ({size / 1000:.0f} kB) from README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
