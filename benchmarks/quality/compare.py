"""Two quality-gate results side by side (``gate.json`` of two checkpoints).

Usage::

    .venv/bin/python benchmarks/quality/compare.py CANDIDATE [OTHER]    # OTHER defaults to bundled

Each argument is a results folder holding ``gate.json``, a name under ``benchmarks/results/quality/`` (``bundled``)
or a checkpoint directory whose gate has run (its results folder name is derived as the gate derives it).
``gate.py --compare OTHER`` prints the same table after a run (and runs the gate for OTHER when it has no results).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT_ROOT = ROOT / "benchmarks" / "results" / "quality"


def locate(ref: str, out_root: Path = OUT_ROOT, suffix: str = "") -> Path | None:
    """The results folder of ``ref`` (see the module docstring), or None when it has no ``gate.json``."""
    p = Path(ref).expanduser()
    candidates = [p, out_root / ref]
    if (p / "model").is_dir() and (p / "tokenizer").is_dir():
        p = p.resolve()
        generic = {"bundle", "best", "last", "final", "checkpoint", "bundled", "export"}
        name = f"{p.parent.name}-{p.name}" if p.name in generic else p.name
        candidates.append(out_root / "".join(c if c.isalnum() or c in "._-+" else "_" for c in name))
    if suffix:
        candidates = [c.with_name(c.name + suffix) for c in candidates[1:]] + candidates
    for c in candidates:
        if (c / "gate.json").is_file():
            return c
    return None


def _esc(text: str) -> str:
    """Escape `|` inside a Markdown table cell."""
    return text.replace("|", "\\|")


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def side_by_side(a: dict, b: dict) -> str:
    """A Markdown table of every target of two gates (matched by section and name)."""
    na, nb = a["checkpoint"]["name"], b["checkpoint"]["name"]
    rows = {}
    for side, report in (("a", a), ("b", b)):
        for c in report["checks"]:
            rows.setdefault((c["section"], c["name"]), {"target": c["target"]})[side] = c
    lines = [
        f"# Quality gate: `{na}` vs `{nb}`",
        "",
        f"- `{na}`: {a['verdict']}, {a['started']}, {a['wall_seconds']:.0f} s"
        + (f", reduced: {a['reduced']}" if a.get("reduced") else ""),
        f"- `{nb}`: {b['verdict']}, {b['started']}, {b['wall_seconds']:.0f} s"
        + (f", reduced: {b['reduced']}" if b.get("reduced") else ""),
        "",
        f"| section | target | goal | `{na}` | | `{nb}` | |",
        "|---|---|---|---|---|---|---|",
    ]
    for (section, name), r in rows.items():
        ca, cb = r.get("a"), r.get("b")
        lines.append(
            f"| {section} | {_esc(name)} | {_esc(r['target'] or '–')} | "
            f"{_fmt(ca['measured']) if ca else '–'} | {ca['verdict'] if ca else ''} | "
            f"{_fmt(cb['measured']) if cb else '–'} | {cb['verdict'] if cb else ''} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("candidate")
    p.add_argument("other", nargs="?", default="bundled")
    p.add_argument("--out-root", default=str(OUT_ROOT))
    p.add_argument("--write", default=None, help="also write the table to this Markdown file")
    args = p.parse_args(argv)
    found = []
    for ref in (args.candidate, args.other):
        d = locate(ref, Path(args.out_root))
        if d is None:
            print(f"no gate.json for {ref!r}; run: make bench-quality CHECKPOINT={ref}", file=sys.stderr)
            return 2
        found.append(json.loads((d / "gate.json").read_text()))
    text = side_by_side(*found)
    print(text)
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
