"""Loss logs (CSV and JSON), the loss plot, and progress bars.

One row per logged train step and per evaluation, with the columns of `COLUMNS`: ``stage`` is
``"tokenizer"`` or ``"model"``, ``split`` is ``"train"`` or ``"val"``, ``step`` counts the optimizer steps done
in that stage (validation at step 0 is the loss before training), and the loss components are
``recon_pre``, ``recon_all``, ``bsq`` (stage 1) or ``ce_s1``, ``ce_s2`` (stage 2). Stage-1 validation rows
also give ``s1_perplexity`` / ``s2_perplexity``, the perplexity of the coarse / fine token ids over the
validation windows (the number of codes effectively used; a collapsing tokenizer shows a small number).
Columns that do not apply are empty in the CSV and null in the JSON.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["COLUMNS", "LossLog", "StageProgress", "plot_losses"]

COLUMNS = (
    "stage",
    "step",
    "split",
    "loss",
    "recon_pre",
    "recon_all",
    "bsq",
    "ce_s1",
    "ce_s2",
    "s1_perplexity",
    "s2_perplexity",
    "lr",
    "grad_norm",
    "elapsed_s",
)
STAGES = ("tokenizer", "model")
CSV_NAME, JSON_NAME, PLOT_NAME = "train_log.csv", "train_log.json", "losses.png"


class LossLog:
    """Rows kept in memory, appended to ``train_log.csv`` as they come and written to ``train_log.json`` on flush.

    Parameters
    ----------
    out_dir : path
    enabled : bool
        False on processes other than rank 0: rows are kept but no file is written.
    """

    def __init__(self, out_dir: str | Path, enabled: bool = True):
        self.out_dir, self.enabled = Path(out_dir), enabled
        self.rows: list[dict[str, Any]] = []

    @property
    def csv_path(self) -> Path:
        return self.out_dir / CSV_NAME

    @property
    def json_path(self) -> Path:
        return self.out_dir / JSON_NAME

    def restore(self, stage: str, step: int) -> None:
        """Reload the rows written up to (stage, step), dropping later ones (rows logged after the checkpoint)."""
        if self.json_path.is_file():
            rows = json.loads(self.json_path.read_text(encoding="utf-8"))
            limit = (STAGES.index(stage), step)
            self.rows = [r for r in rows if (STAGES.index(r["stage"]), r["step"]) <= limit]
        self.flush(rewrite_csv=True)

    def append(self, **row: Any) -> None:
        full = {c: row.get(c) for c in COLUMNS}
        self.rows.append(full)
        if self.enabled:
            new = not self.csv_path.is_file()
            with open(self.csv_path, "a", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=COLUMNS)
                if new:
                    w.writeheader()
                w.writerow({k: ("" if v is None else v) for k, v in full.items()})

    def flush(self, rewrite_csv: bool = False) -> None:
        """Write the JSON log (and, if asked, the whole CSV) from the rows in memory."""
        if not self.enabled:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.json_path.write_text(json.dumps(self.rows, indent=0), encoding="utf-8")
        if rewrite_csv:
            with open(self.csv_path, "w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=COLUMNS)
                w.writeheader()
                for r in self.rows:
                    w.writerow({k: ("" if v is None else v) for k, v in r.items()})

    def last(self, stage: str, split: str) -> dict[str, Any] | None:
        """The last row of a stage and split, or None."""
        for r in reversed(self.rows):
            if r["stage"] == stage and r["split"] == split:
                return r
        return None

    def mean_train_loss(self, stage: str, last_n: int = 50) -> float | None:
        """Mean train loss over the stage's last `last_n` logged steps (a less noisy 'final loss')."""
        losses = [r["loss"] for r in self.rows if r["stage"] == stage and r["split"] == "train"][-last_n:]
        return float(sum(losses) / len(losses)) if losses else None


def _ema(values: list[float], span: int) -> list[float]:
    alpha, out, m = 2 / (span + 1), [], None
    for v in values:
        m = v if m is None else alpha * v + (1 - alpha) * m
        out.append(m)
    return out


def plot_losses(rows: list[dict[str, Any]], path: str | Path) -> Path | None:
    """Plot train (raw and smoothed) and validation losses of each stage to a PNG.

    Uses matplotlib's Agg canvas directly (no pyplot, no global backend change). Returns the path, or None when
    matplotlib is not installed (``pip install 'kronos-plugins[train]'``).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    stages = [s for s in STAGES if any(r["stage"] == s for r in rows)]
    fig = Figure(figsize=(5.5 * max(1, len(stages)), 4), dpi=110)
    FigureCanvasAgg(fig)
    titles = {
        "tokenizer": "Stage 1: tokenizer (reconstruction + BSQ)",
        "model": "Stage 2: model (cross-entropy)",
    }
    for i, stage in enumerate(stages):
        ax = fig.add_subplot(1, len(stages), i + 1)
        train = [(r["step"], r["loss"]) for r in rows if r["stage"] == stage and r["split"] == "train"]
        val = [(r["step"], r["loss"]) for r in rows if r["stage"] == stage and r["split"] == "val"]
        if train:
            x, y = zip(*train, strict=True)
            ax.plot(x, y, color="tab:blue", alpha=0.25, lw=0.8, label="train")
            ax.plot(x, _ema(list(y), max(5, len(y) // 50)), color="tab:blue", lw=1.5, label="train (EMA)")
        if val:
            x, y = zip(*val, strict=True)
            ax.plot(x, y, "o-", color="tab:orange", ms=3, lw=1.2, label="validation")
        finite = [v for _, v in train + val if v is not None and math.isfinite(v)]
        if stage == "tokenizer" and finite and min(finite) > 0:
            ax.set_yscale("log")
        ax.set_title(titles[stage], fontsize=10)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return Path(path)


class StageProgress:
    """A progress bar for one stage (rich, else tqdm, else nothing).

    Parameters
    ----------
    enabled : bool or None
        None shows the bar only when stderr is a terminal.
    """

    def __init__(self, enabled: bool | None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._task: Any = None
        self._kind = None

    @contextmanager
    def run(self, stage: str, start: int, total: int):
        if not self.enabled:
            yield self
            return
        try:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._kind = "rich"
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                transient=False,
            ) as bar:
                self._bar = bar
                self._task = bar.add_task(stage, total=total, completed=start, info="")
                yield self
            return
        except ImportError:
            pass
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.enabled = False
            yield self
            return
        self._kind = "tqdm"
        with tqdm(total=total, initial=start, desc=stage) as bar:
            self._bar = bar
            yield self

    def update(self, info: str) -> None:
        if not self.enabled or self._bar is None:
            return
        if self._kind == "rich":
            self._bar.update(self._task, advance=1, info=info)
        else:
            self._bar.update(1)
            self._bar.set_postfix_str(info)
