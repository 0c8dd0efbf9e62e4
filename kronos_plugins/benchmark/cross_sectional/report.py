"""Write a `SuiteResult`: CSVs, ``report.md`` and the plots (cumulative RankIC, equity curves)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from .run import TABLES, SuiteResult

__all__ = ["headline", "primary_signals", "write_report"]

T_CRIT = 1.96  # two-sided 5 % with the normal approximation of the Newey-West t


def primary_signals(signals: list[str]) -> list[str]:
    """One signal per model: ``<model>:exp_return`` for path models, the model's own for the others."""
    models = {}
    for s in signals:
        model = s.split(":", 1)[0]
        if ":" not in s or s.endswith(":exp_return"):
            models[model] = s
    return [models[m] for m in sorted(models)]


def _f(x, digits: int = 4) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}f}"


def _pct(x) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def headline(res: SuiteResult) -> pd.DataFrame:
    """Per universe and primary signal: mean RankIC, its NW t, whether it is distinguishable from zero
    (|t| > 1.96), and the costed long-short net Sharpe with its bootstrap CI (and whether the CI excludes 0)."""
    rows = []
    for universe, g in res.ic_summary.groupby("universe", sort=False):
        p = res.portfolios[res.portfolios["universe"] == universe]
        for signal in primary_signals(list(g["signal"])):
            s = g[g["signal"] == signal].iloc[0]
            ls = p[(p["signal"] == signal) & (p["portfolio"] == "long_short")]
            lo = p[(p["signal"] == signal) & (p["portfolio"] == "long_only")]
            ls = ls.iloc[0] if len(ls) else None
            lo = lo.iloc[0] if len(lo) else None
            rows.append(
                {
                    "universe": universe,
                    "signal": signal,
                    "rank_ic_mean": s["rank_ic_mean"],
                    "rank_ic_t_nw": s["rank_ic_t_nw"],
                    "rank_ic_nonzero": bool(abs(s["rank_ic_t_nw"]) > T_CRIT),
                    "ls_sharpe_net": None if ls is None else ls["sharpe_net"],
                    "ls_sharpe_lo": None if ls is None else ls["sharpe_lo_net"],
                    "ls_sharpe_hi": None if ls is None else ls["sharpe_hi_net"],
                    "ls_net_positive": None if ls is None else bool(ls["sharpe_lo_net"] > 0),
                    "lo_sharpe_net": None if lo is None else lo["sharpe_net"],
                }
            )
    return pd.DataFrame(rows)


def _plots(res: SuiteResult, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for universe, g in res.ic_daily.groupby("universe", sort=False):
        primary = primary_signals(list(g["signal"].unique()))
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for signal in primary:
            d = g[g["signal"] == signal].sort_values("date")
            ax.plot(pd.to_datetime(d["date"]), d["rank_ic"].fillna(0).cumsum(), label=signal)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(f"{universe}: cumulative RankIC per rebalance date")
        ax.set_ylabel("cumulative RankIC")
        ax.legend(fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        name = f"{universe}_cumulative_rank_ic.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        files.append(name)

        pr = res.portfolio_returns[res.portfolio_returns["universe"] == universe]
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=False)
        for ax, kind in zip(axes, ("long_short", "long_only"), strict=True):
            for signal in primary + (["equal-weight universe"] if kind == "long_only" else []):
                d = pr[(pr["signal"] == signal) & (pr["portfolio"] == kind)].sort_values("date")
                if len(d):
                    ax.plot(pd.to_datetime(d["date"]), (1 + d["net"]).cumprod(), label=signal)
            ax.axhline(1, color="grey", lw=0.8)
            ax.set_title(f"{universe}: {kind.replace('_', '-')} equity, net of costs")
            ax.legend(fontsize=7)
        fig.autofmt_xdate()
        fig.tight_layout()
        name = f"{universe}_equity.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        files.append(name)
    return files


def write_report(res: SuiteResult, out: str | Path, *, command: str, commit: str | None = None) -> Path:
    """Write every table as CSV, the plots and ``report.md`` into `out`; returns the report's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        getattr(res, name).to_csv(out / f"{name}.csv", index=False, float_format="%.6g")
    head = headline(res)
    head.to_csv(out / "headline.csv", index=False, float_format="%.6g")
    _plots(res, out)
    (out / "run.json").write_text(
        json.dumps(
            {
                "command": command,
                "git_commit": commit,
                "seconds": round(res.seconds, 1),
                "checkpoints": res.checkpoints,
                "leakage": res.leakage,
                "settings": res.settings,
            },
            indent=1,
            default=str,
        )
        + "\n"
    )
    settings = {u["name"]: u for u in res.settings["universes"]}
    costs = res.settings["costs_bp"]
    lines = [
        "# Cross-sectional benchmark",
        "",
        f"Command: `{command}`"
        + (f" at commit `{commit}`" if commit else "")
        + f"; {res.seconds / 60:.1f} min.",
        f"Costs: {costs['in']:g} bp per unit of weight bought, {costs['out']:g} bp sold. Split version {res.settings['split_version']}.",
        "Signals `<model>:exp_return` (mean path return over the horizon), `:prob_up` (share of paths that rise), "
        "`:mean_over_std` (mean / std of the path returns); `momentum` and `reversal` are price signals. "
        f"t-statistics are Newey-West (Bartlett, automatic lag); |t| > {T_CRIT} reads as distinguishable from zero at 5 %.",
        "",
    ]
    for name, ck in res.checkpoints.items():
        lines.append(
            f"Kronos model `{name}`: checkpoint {ck['checkpoint']}, {ck['parameters']:,} parameters, lookback {ck['lookback']}, trained on split version {ck['split_version']}."
        )
        fallbacks = {u: n for u, n in ck.get("calendar_fallbacks", {}).items() if n}
        if fallbacks:
            counts = ", ".join(f"{n} in `{u}`" for u, n in fallbacks.items())
            lines.append(
                f"Calendar: `{name}` forecast some asset-dates ({counts}) on the date's pooled bar dates, because "
                f"the asset's own last {ck['lookback']} bars followed no calendar to continue (thinly traded)."
            )
    lines.append("")
    lines += [
        "## Headline",
        "",
        "Primary signal per model; long-short net Sharpe with its 95 % bootstrap CI over dates.",
        "",
    ]
    lines += [
        "| universe | signal | mean RankIC | t (NW) | RankIC != 0 | long-short Sharpe net [95% CI] | long-only Sharpe net |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in head.itertuples():
        lines.append(
            f"| {r.universe} | `{r.signal}` | {_f(r.rank_ic_mean)} | {_f(r.rank_ic_t_nw, 2)} | {'yes' if r.rank_ic_nonzero else 'no'} | "
            f"{_f(r.ls_sharpe_net, 2)} [{_f(r.ls_sharpe_lo, 2)}, {_f(r.ls_sharpe_hi, 2)}] | {_f(r.lo_sharpe_net, 2)} |"
        )
    lines.append("")
    for universe in res.ic_summary["universe"].unique():
        u = settings[universe]
        cov = res.coverage[res.coverage["universe"] == universe]
        lines += [f"## {universe}", ""]
        lines.append(
            f"{len(cov)} rebalance dates ({pd.Timestamp(cov['origin'].min()).date()} .. {pd.Timestamp(cov['origin'].max()).date()}), "
            f"every {u['step']} trading days, horizon {u['horizon']} trading days, top/bottom k = {u['top_k']}, "
            f"min history {u['min_history']} bars, price-break ratio {u['max_bar_ratio']}. Assets in the universe: {int(cov['n_assets'].max())}; eligible per date: "
            f"mean {cov['n_eligible'].mean():.1f}, min {int(cov['n_eligible'].min())}; scored per date: mean {cov['n_scored'].mean():.1f}."
        )
        lines.append("")
        exc = res.exclusions[res.exclusions["universe"] == universe]
        lines += ["Exclusions (asset-dates, distinct assets):", ""]
        lines += ["| reason | asset-dates | assets |", "|---|---|---|"]
        for r in exc.itertuples():
            lines.append(f"| {r.reason} | {r.asset_dates} | {r.assets} |")
        lines.append("")
        for name, lk in res.leakage.get(universe, {}).items():
            if lk.get("contemporaneous") is None:
                lines.append(f"Leakage check for `{name}`: unknown (the checkpoint names no split).")
            else:
                lines.append(
                    f"Leakage check for `{name}`: {len(lk['assets'])} assets of this universe were trained on on its "
                    f"target days (excluded above, for every model); {len(lk.get('context_only', []))} more were trained on "
                    "only before the first target day, inside their context window (kept: the forecasts read bars the "
                    f"model saw, never later ones); {lk['contemporaneous']} assets of the checkpoint's split, of any "
                    "market, have a training period overlapping the target days"
                    + (
                        " (the model saw this market's days: not a clean held-out result)."
                        if lk["contemporaneous"]
                        else " (none: clean)."
                    )
                )
        lines.append("")
        s = res.ic_summary[res.ic_summary["universe"] == universe]
        lines += ["### IC and RankIC", ""]
        lines += [
            "| signal | dates | mean IC | IC t (NW) | mean RankIC | RankIC std | RankIC IR | RankIC t (NW) | p | RankIC > 0 |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in s.itertuples():
            lines.append(
                f"| `{r.signal}` | {r.dates} | {_f(r.ic_mean)} | {_f(r.ic_t_nw, 2)} | {_f(r.rank_ic_mean)} | {_f(r.rank_ic_std)} | "
                f"{_f(r.rank_ic_ir, 3)} | {_f(r.rank_ic_t_nw, 2)} | {_f(r.rank_ic_p_nw, 3)} | {_pct(r.rank_ic_positive_share)} |"
            )
        lines.append("")
        p = res.portfolios[res.portfolios["universe"] == universe]
        lines += ["### Portfolios (annualised; net of costs unless marked gross)", ""]
        lines += [
            "| signal | portfolio | return gross | return net [95% CI] | Sharpe gross | Sharpe net [95% CI] | max drawdown | turnover / rebalance | cost / year |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in p.itertuples():
            lines.append(
                f"| `{r.signal}` | {r.portfolio} | {_pct(r.ann_return_gross)} | {_pct(r.ann_return_net)} [{_pct(r.ann_return_lo_net)}, {_pct(r.ann_return_hi_net)}] | "
                f"{_f(r.sharpe_gross, 2)} | {_f(r.sharpe_net, 2)} [{_f(r.sharpe_lo_net, 2)}, {_f(r.sharpe_hi_net, 2)}] | {_pct(r.max_drawdown_net)} | "
                f"{_f(r.turnover_mean, 2)} | {_pct(r.cost_per_year)} |"
            )
        lines.append("")
        lines += [
            f"![cumulative RankIC]({universe}_cumulative_rank_ic.png)",
            "",
            f"![equity curves]({universe}_equity.png)",
            "",
        ]
    tim = res.timings
    lines += [
        "## Time per model",
        "",
        "| universe | model | dates | asset forecasts | seconds | assets / s |",
        "|---|---|---|---|---|---|",
    ]
    for r in tim.itertuples():
        lines.append(
            f"| {r.universe} | {r.model} | {r.dates} | {r.asset_forecasts} | {r.seconds:.1f} | {r.assets_per_s:.1f} |"
        )
    lines.append("")
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
