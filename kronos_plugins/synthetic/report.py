"""Markdown reports with PNG plots for fidelity comparisons, sampling sweeps and probabilistic backtests.

Plots use matplotlib's Agg backend (no display needed): ``pip install matplotlib``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..quantiles import sample_quantile
from .backtest import METRICS, BacktestResult
from .fidelity import FidelityResult

__all__ = ["write_backtest_report", "write_fidelity_report"]


def _plt():
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the synthetic reports need matplotlib; `pip install matplotlib`.") from err
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _table(df: pd.DataFrame, floatfmt: str = "{:.4g}", index: bool = True) -> str:
    """A Markdown table without the optional `tabulate` dependency (integers stay integers)."""

    def cell(v) -> str:
        if isinstance(v, (float, np.floating)):
            return "nan" if np.isnan(v) else floatfmt.format(v)
        return str(v)

    cols = ([str(df.index.name or "")] if index else []) + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, *values in df.itertuples(index=True):
        cells = ([str(idx)] if index else []) + [cell(v) for v in values]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_fidelity_report(
    result: FidelityResult,
    out_dir: str | os.PathLike,
    sweep: pd.DataFrame | None = None,
    real_close: np.ndarray | None = None,
    synthetic_close: np.ndarray | None = None,
    title: str = "Synthetic data fidelity",
    notes: dict | None = None,
) -> Path:
    """Write ``report.md`` and its PNG plots to ``out_dir``.

    Parameters
    ----------
    result : FidelityResult
        From `kronos_plugins.synthetic.fidelity.compare`.
    out_dir : str or path
        Created when missing; existing files of the same names are replaced.
    sweep : pandas.DataFrame, optional
        From `kronos_plugins.synthetic.fidelity.sampling_sweep`.
    real_close, synthetic_close : numpy.ndarray, optional
        Real closes (T,) and synthetic closes (n_paths, L) for a fan chart.
    title : str
        First heading.
    notes : dict, optional
        Key/value lines written under the title (asset, checkpoint, settings, ...).

    Returns
    -------
    pathlib.Path
        The Markdown file.
    """
    plt = _plt()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", ""]
    for k, v in (notes or {}).items():
        lines.append(f"- **{k}**: {v}")
    lines += [
        "",
        "## Log-return distribution",
        "",
        "KS distance and discriminative accuracy compare synthetic with real (accuracy 0.5 is perfect).",
        "",
        _table(result.stats),
        "",
    ]
    d = result.discrimination
    lines += [
        f"Discriminative score: accuracy {d.accuracy:.3f} +- {d.accuracy_std:.3f} over {d.folds} folds, "
        f"{d.n_windows} windows per class.",
        "",
    ]

    # returns histogram (log density)
    fig, ax = plt.subplots(figsize=(6, 4))
    rr, rs = result.real_returns.ravel(), result.synthetic_returns.ravel()
    lo, hi = np.quantile(np.r_[rr, rs], [0.001, 0.999])
    bins = np.linspace(lo, hi, 60)
    ax.hist(rr, bins=bins, density=True, alpha=0.5, label="real", log=True)
    ax.hist(rs, bins=bins, density=True, alpha=0.5, label="synthetic", log=True)
    ax.set_xlabel("log return")
    ax.set_ylabel("density (log scale)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "returns_hist.png", dpi=100)
    plt.close(fig)
    lines += ["![returns](returns_hist.png)", ""]

    lines += ["## Autocorrelation and volatility clustering", "", _table(result.acf, "{:.3f}"), ""]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    lags = result.acf.index.to_numpy()
    for ax, (a, b, name) in zip(
        axes,
        [("real_r", "synthetic_r", "returns"), ("real_abs_r", "synthetic_abs_r", "|returns|")],
        strict=True,
    ):
        ax.plot(lags, result.acf[a], "o-", label="real")
        ax.plot(lags, result.acf[b], "s-", label="synthetic")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(f"ACF of {name}")
        ax.set_xlabel("lag")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "acf.png", dpi=100)
    plt.close(fig)
    lines += ["![acf](acf.png)", ""]

    lines += ["## Leverage effect corr(r_t, |r_{t+k}|)", "", _table(result.leverage, "{:.3f}"), ""]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(lags, result.leverage["real"], "o-", label="real")
    ax.plot(lags, result.leverage["synthetic"], "s-", label="synthetic")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("lag k")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "leverage.png", dpi=100)
    plt.close(fig)
    lines += ["![leverage](leverage.png)", ""]

    if synthetic_close is not None:
        sc = np.atleast_2d(np.asarray(synthetic_close, dtype=np.float64))
        fig, ax = plt.subplots(figsize=(7, 4))
        t = np.arange(sc.shape[1])
        for q_lo, q_hi, a in ((0.05, 0.95, 0.2), (0.25, 0.75, 0.35)):
            ax.fill_between(
                t,
                sample_quantile(sc, q_lo, axis=0),
                sample_quantile(sc, q_hi, axis=0),
                alpha=a,
                color="C1",
                label=f"synthetic {int(q_lo * 100)}-{int(q_hi * 100)} %",
            )
        for path in sc[:5]:
            ax.plot(t, path, color="C1", lw=0.6, alpha=0.7)
        if real_close is not None:
            rc = np.asarray(real_close, dtype=np.float64)[: sc.shape[1]]
            ax.plot(np.arange(len(rc)), rc, color="C0", lw=1.5, label="real")
        ax.set_xlabel("bar")
        ax.set_ylabel("close")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "fan.png", dpi=100)
        plt.close(fig)
        lines += ["## Paths", "", "![fan](fan.png)", ""]

    if sweep is not None and len(sweep):
        lines += [
            "## Sampling sweep: degenerate against explosive paths",
            "",
            "vol_ratio is the pooled synthetic / real volatility of log returns; a path is explosive when "
            "its volatility exceeds the real one by the explode factor (or a price hit the floor) and "
            "degenerate when it falls short of it by the same factor.",
            "",
            _table(sweep, "{:.3f}", index=False),
            "",
        ]
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for top_p, grp in sweep.groupby("top_p"):
            grp = grp.sort_values("temperature")
            axes[0].plot(grp["temperature"], grp["vol_ratio"], "o-", label=f"top_p={top_p:g}")
            axes[1].plot(
                grp["temperature"], grp["exploding_fraction"], "o-", label=f"explosive, top_p={top_p:g}"
            )
            axes[1].plot(
                grp["temperature"], grp["degenerate_fraction"], "x--", label=f"degenerate, top_p={top_p:g}"
            )
        axes[0].axhline(1.0, color="k", lw=0.5)
        axes[0].set_yscale("log")
        axes[0].set_title("synthetic / real volatility")
        axes[1].set_title("fraction of paths")
        for ax in axes:
            ax.set_xlabel("temperature")
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "sweep.png", dpi=100)
        plt.close(fig)
        lines += ["![sweep](sweep.png)", ""]

    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def write_backtest_report(
    result: BacktestResult,
    out_dir: str | os.PathLike,
    title: str = "Probabilistic backtest",
    notes: dict | None = None,
) -> Path:
    """Write ``backtest.md`` with metric histograms (``backtest.png``) to ``out_dir``.

    Parameters
    ----------
    result : BacktestResult
        From `kronos_plugins.synthetic.backtest.backtest`.
    out_dir : str or path
        Created when missing.
    title : str
        First heading.
    notes : dict, optional
        Key/value lines written under the title.

    Returns
    -------
    pathlib.Path
        The Markdown file.
    """
    plt = _plt()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = result.settings
    lines = [
        f"# {title}",
        "",
        f"- **strategy**: {s['strategy']}",
        f"- **cost**: {s['cost_bps']} bps per unit of position change",
        f"- **paths**: {s['n_paths']} synthetic, {s['n_periods']} periods each",
        f"- **annualisation**: {s['periods_per_year']:g} periods per year",
        f"- **time**: {result.elapsed_s:.3f} s",
    ]
    for k, v in (notes or {}).items():
        lines.append(f"- **{k}**: {v}")
    summary = result.summary()
    summary.index.name = "metric"
    lines += [
        "",
        "## Distribution over synthetic paths",
        "",
        "`real_percentile`: share of synthetic paths (in %) below the real outcome.",
        "",
        _table(summary),
        "",
        "## Tail risk of the total return",
        "",
        _table(result.risk().to_frame()),
        "",
    ]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, m in zip(axes, METRICS, strict=True):
        v = result.metrics[m].to_numpy()
        ax.hist(v, bins=50, color="C1", alpha=0.7)
        if m in result.real and np.isfinite(result.real[m]):
            ax.axvline(result.real[m], color="C0", lw=2, label="real")
            ax.legend()
        ax.set_title(m)
    fig.tight_layout()
    fig.savefig(out / "backtest.png", dpi=100)
    plt.close(fig)
    lines += ["![backtest](backtest.png)", ""]
    path = out / "backtest.md"
    path.write_text("\n".join(lines))
    return path
