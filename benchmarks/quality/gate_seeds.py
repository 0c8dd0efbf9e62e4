"""Spread of the quality gate's synthetic figures over seeds: one row per gate run (``gate.json``), then the median
per setting. The synthetic section draws 200 paths and scores a discriminator on 35 windows per class, so one seed's
accuracy moves by several points; this table says how far.

Usage::

    python benchmarks/quality/gate_seeds.py GATE_DIR... --out summary.md   # GATE_DIR named SETTING-seedN
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pandas as pd


def rows(dirs: list[Path]) -> pd.DataFrame:
    out = []
    for d in dirs:
        m = re.fullmatch(r"(.+)-seed(\d+)", d.name)
        if not m:
            raise ValueError(f"`{d}`: expected a folder named SETTING-seedN")
        report = json.loads((d / "gate.json").read_text(encoding="utf-8"))
        s = report["sections"]["synthetic"]
        checks = {c["name"]: c["measured"] for c in report["checks"] if c["section"] == "synthetic"}
        out.append(
            {
                "setting": m.group(1),
                "seed": int(m.group(2)),
                "temperature": s["sampling"]["temperature"],
                "min_p": s["sampling"]["min_p"],
                "accuracy": checks["discriminative accuracy"],
                "kurtosis": s["kurtosis"]["synthetic"],
                "repaired": s["repaired_share"],
                "vol_ratio": s["vol_ratio"],
            }
        )
    return pd.DataFrame(out).sort_values(["setting", "seed"])


def markdown(df: pd.DataFrame) -> str:
    def cell(v) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    return "\n".join(
        lines + ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dirs", nargs="+", type=Path)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args(argv)
    df = rows(args.dirs)
    med = df.groupby(["setting", "temperature", "min_p"], as_index=False)[
        ["accuracy", "kurtosis", "repaired", "vol_ratio"]
    ].median()
    passed = df.assign(ok=df["accuracy"] <= 0.70).groupby("setting")["ok"].sum()
    med["accuracy_passes"] = [
        f"{int(passed[s])} of {int((df['setting'] == s).sum())}" for s in med["setting"]
    ]
    lines = [
        "# The gate's synthetic section over seeds",
        "",
        "`python benchmarks/quality/gate_seeds.py "
        + " ".join(str(d) for d in args.dirs)
        + f" --out {args.out}`",
        "",
        "## Median per setting (accuracy_passes: seeds with accuracy <= 0.70)",
        "",
        markdown(med),
        "",
        "## Every run",
        "",
        markdown(df),
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
