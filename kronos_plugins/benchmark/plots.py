"""Report figures: fan charts of sample paths, PIT histograms, error by horizon step, coverage vs nominal.

Figures are built with ``matplotlib.figure.Figure`` and saved through the Agg canvas, so nothing touches
pyplot's global state or needs a display.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..quantiles import sample_quantile

__all__ = ["coverage_plot", "error_by_step_plot", "fan_chart", "pit_histograms"]


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "the benchmark report's plots need matplotlib; `pip install 'kronos-plugins[bench]'`."
        ) from err
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    cols = min(n, max_cols)
    return int(np.ceil(n / cols)), cols


def fan_chart(
    context: pd.Series,
    target: pd.Series,
    paths: dict[str, np.ndarray],
    path: str | Path,
    title: str,
    tail: int = 60,
) -> Path:
    """One panel per model: the last ``tail`` context closes, the 5-95 % and 25-75 % bands and median of
    the sample paths, a few of the paths, and the realised closes.

    Parameters
    ----------
    context, target : pd.Series
        Close prices before and after the origin.
    paths : dict of str to np.ndarray
        Model label -> close-price paths shaped ``(num_samples, horizon)``.
    path : path
        Output PNG.
    title : str
        Figure title.
    tail : int
        Context bars shown.
    """
    rows, cols = _grid(len(paths))
    fig = _figure(4.2 * cols, 3.0 * rows)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    ctx = context.iloc[-tail:]
    n_ctx, h = len(ctx), len(target)
    x_ctx, x_fut = np.arange(n_ctx), np.arange(n_ctx, n_ctx + h)
    for ax, (label, samples) in zip(axes.ravel(), paths.items(), strict=False):
        q = sample_quantile(samples, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        ax.plot(x_ctx, ctx.to_numpy(), color="black", lw=1.0)
        ax.fill_between(x_fut, q[0], q[4], color="tab:blue", alpha=0.2, lw=0, label="5-95 %")
        ax.fill_between(x_fut, q[1], q[3], color="tab:blue", alpha=0.35, lw=0, label="25-75 %")
        for s in samples[: min(5, len(samples))]:
            ax.plot(x_fut, s, color="tab:blue", lw=0.5, alpha=0.5)
        ax.plot(x_fut, q[2], color="tab:blue", lw=1.2, label="median")
        ax.plot(x_fut, target.to_numpy(), color="tab:red", lw=1.2, marker="o", ms=2, label="realised")
        ax.axvline(n_ctx - 0.5, color="grey", lw=0.6, ls="--")
        ax.set_title(label, fontsize=9)
        # dates of the first context bar, the last one and (when far enough away) the last target bar
        ticks, stamps = [0, n_ctx - 1], [ctx.index[0], ctx.index[-1]]
        if h >= 0.3 * (n_ctx + h):
            ticks.append(n_ctx + h - 1)
            stamps.append(target.index[-1])
        fmt = (
            "%Y-%m-%d %H:%M"
            if any(pd.Timestamp(t) != pd.Timestamp(t).normalize() for t in stamps)
            else "%Y-%m-%d"
        )
        ax.set_xticks(ticks, [pd.Timestamp(t).strftime(fmt) for t in stamps], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
    for ax in axes.ravel()[len(paths) :]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=6, loc="upper left")
    fig.suptitle(title, fontsize=10)
    path = Path(path)
    fig.savefig(path)
    return path


def pit_histograms(pit: dict[str, np.ndarray], path: str | Path, bins: int = 10) -> Path:
    """One PIT histogram per model (density; a calibrated forecast is flat at 1)."""
    rows, cols = _grid(len(pit), max_cols=4)
    fig = _figure(3.0 * cols, 2.3 * rows)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    for ax, (label, values) in zip(axes.ravel(), pit.items(), strict=False):
        values = np.asarray(values, dtype=np.float64)
        values = values[np.isfinite(values)]
        ax.hist(values, bins=bins, range=(0, 1), density=True, color="tab:blue", alpha=0.7)
        ax.axhline(1.0, color="black", lw=0.8, ls="--")
        ax.set_title(label, fontsize=9)
        ax.set_xlim(0, 1)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(pit) :]:
        ax.set_visible(False)
    fig.suptitle("PIT histograms (flat at 1 = calibrated)", fontsize=10)
    path = Path(path)
    fig.savefig(path)
    return path


def error_by_step_plot(table: pd.DataFrame, metrics: Sequence[str], path: str | Path, title: str) -> Path:
    """Lines of each metric by horizon step, one line per model.

    Parameters
    ----------
    table : pd.DataFrame
        Columns ``model``, ``step`` and the metrics (already averaged over windows).
    """
    fig = _figure(5.0 * len(metrics), 3.4)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        for label, g in table.groupby("model", sort=False):
            g = g.sort_values("step")
            ax.plot(g["step"], g[metric], marker="o", ms=3, lw=1.0, label=label)
        steps = np.unique(table["step"])
        if len(steps) <= 25:
            ax.set_xticks(steps)
        ax.set_xlabel("horizon step", fontsize=8)
        ax.set_title(metric, fontsize=9)
        ax.tick_params(labelsize=7)
    axes[-1].legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=10)
    path = Path(path)
    fig.savefig(path)
    return path


def coverage_plot(coverage: pd.DataFrame, path: str | Path) -> Path:
    """Empirical coverage of the central intervals against their nominal level, one line per model.

    Parameters
    ----------
    coverage : pd.DataFrame
        Index: model labels; columns: nominal levels (floats in (0, 1)); values: empirical coverage.
    """
    fig = _figure(4.6, 4.0)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--", label="nominal")
    levels = np.asarray(coverage.columns, dtype=np.float64)
    for label, row in coverage.iterrows():
        ax.plot(levels, row.to_numpy(dtype=np.float64), marker="o", ms=3, lw=1.0, label=str(label))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("nominal coverage", fontsize=8)
    ax.set_ylabel("empirical coverage", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="upper left")
    ax.set_title("Central interval coverage", fontsize=10)
    path = Path(path)
    fig.savefig(path)
    return path
