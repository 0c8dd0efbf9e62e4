"""Tables, files and the Markdown/HTML report of a benchmark run.

:func:`summarise` turns a :class:`~kronos_plugins.benchmark.runner.BenchmarkResult` into tables (leaderboard,
per-dataset and per-horizon skill, metrics by horizon, Diebold-Mariano tests, calibration, timing, per-step
aggregates); :func:`write_report` writes them, the raw per-step and per-window results, the plots and
``report.md`` / ``report.html`` to one folder.

Skill scores follow :func:`~kronos_plugins.benchmark.comparison.skill_score`: one error per window (the mean
over its horizon steps), paired with the reference model's error on the same window, and
``skill = 1 - geometric mean of model error / reference error`` with a bootstrap CI over windows. Windows
where either error is exactly zero (a geometric mean cannot hold them) are left out of that pair, and the
tables say how many windows remain.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from kronos_plugins.benchmark.comparison import diebold_mariano, skill_score
from kronos_plugins.benchmark.metrics import pit_ks
from kronos_plugins.benchmark.models import REGISTRY
from kronos_plugins.calendar import regular_calendar

__all__ = ["summarise", "write_report"]

_KEY = ["dataset", "horizon", "origin_index", "seed"]
_SCALE_FREE = ("scaled_crps", "mase", "smape", "wql", "msis", "direction_accuracy")
_RELATIVE = ("crps", "mae", "rmse")
#: Kronos adapters compared with the pipeline (`kronos`) in the "Kronos interfaces" table, and the context bars
#: whose relabelling onto a regular calendar reaches Kronos ("context": all of them; "lookback": the last
#: `lookback`, as Darts relabels the whole series onto a grid ending at its last bar and then keeps the last
#: `lookback` bars, and GluonTS relabels the `lookback` bars it is given; None: no relabelling).
_ADAPTERS = {"kronos-darts": "lookback", "kronos-sktime": None, "kronos-gluonts": "lookback"}
#: Paths within this relative distance of the pipeline's count as identical (they are stored as float32).
IDENTICAL_RTOL = 1e-5


# --------------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------------


def _ok(windows: pd.DataFrame) -> pd.DataFrame:
    return windows[windows["error"].isna()] if len(windows) else windows


def _paired(ok: pd.DataFrame, label: str, reference: str, metric: str) -> pd.DataFrame:
    """Model and reference errors on the same windows, columns ``a`` (model) and ``b`` (reference)."""
    a = ok.loc[ok["model"] == label].set_index(_KEY)[metric].rename("a")
    b = ok.loc[ok["model"] == reference].set_index(_KEY)[metric].rename("b")
    return pd.concat([a, b], axis=1, join="inner").dropna().sort_index()


def _skill(pair: pd.DataFrame, n_boot: int, seed: int = 0) -> tuple[float, float, float, int]:
    pos = pair[(pair["a"] > 0) & (pair["b"] > 0)]
    if len(pos) == 0:
        return (np.nan, np.nan, np.nan, 0)
    s = skill_score(pos["a"].to_numpy(), pos["b"].to_numpy(), n_boot=n_boot, seed=seed)
    return (s.skill, s.lower, s.upper, s.n_windows)


def _levels(columns: Sequence[str]) -> list[str]:
    return [c.split("_", 1)[1] for c in columns if c.startswith("coverage_")]


def _relabelled(context: pd.DataFrame, part: str | None, lookback: int | None) -> bool:
    """Whether a host that needs a regular calendar relabels any bar of this context (`part` as in `_ADAPTERS`)."""
    if part is None or not isinstance(context.index, pd.DatetimeIndex):
        return False
    index = context.index if part == "context" or lookback is None else context.index[-lookback:]
    try:
        grid, _ = regular_calendar(index)
    except ValueError:
        return True
    return not np.array_equal(grid.asi8, index.asi8)


def interface_agreement(result) -> pd.DataFrame:
    """How far each Kronos adapter agrees with the pipeline (`kronos`) on the same windows and seeds.

    For every adapter label with a pipeline label of identical settings, per calendar (``regular``: the host
    keeps every timestamp; ``relabelled``: Darts/GluonTS put the context on a regular grid, which changes the
    calendar features of the bars before a gap; ``all``): the windows both forecast, how many drew identical
    paths (within `IDENTICAL_RTOL` of the pipeline's largest value), both mean CRPS, the largest relative CRPS
    difference of one window, and both CRPS skills vs the reference on those windows.
    """
    suite, ok = result.suite, _ok(result.windows)
    if not len(ok):
        return pd.DataFrame()

    def canonical(settings: dict) -> str:
        # the adapters have no `anchor` setting: they use the checkpoint's default, as the pipeline's null does
        settings = {k: v for k, v in settings.items() if not (k == "anchor" and v is None)}
        return json.dumps(settings, sort_keys=True, default=str)

    pipelines: dict[str, str] = {}
    for m in suite.enabled_models:
        if m.model == "kronos":
            pipelines.setdefault(canonical(m.settings), m.label)
    contexts = {
        (ds.spec.name, h, w.origin_index): w.context
        for ds in result.datasets
        for h, ws in ds.windows.items()
        for w in ws
    }
    ref, n_boot = suite.reference, suite.report["bootstrap"]
    labels = set(ok["model"])
    rows = []
    for cfg in suite.enabled_models:
        base = pipelines.get(canonical(cfg.settings))
        if cfg.model not in _ADAPTERS or cfg.label not in labels or base not in labels:
            continue
        a = ok[ok["model"] == cfg.label].set_index(_KEY)
        b = ok[ok["model"] == base].set_index(_KEY)
        common = a.index.intersection(b.index)
        per = []
        for key in common:
            dataset, h, origin, seed = key
            pa = result.samples.get((cfg.label, dataset, h, origin, seed))
            pb = result.samples.get((base, dataset, h, origin, seed))
            identical = (
                pa is not None
                and pb is not None
                and pa.shape == pb.shape
                and bool(
                    np.max(np.abs(pa.astype(np.float64) - pb)) <= IDENTICAL_RTOL * float(np.max(np.abs(pb)))
                )
            )
            ctx = contexts.get((dataset, h, origin))
            relabelled = ctx is not None and _relabelled(
                ctx, _ADAPTERS[cfg.model], cfg.settings.get("lookback")
            )
            ca, cb = float(a.at[key, "crps"]), float(b.at[key, "crps"])
            per.append(
                {
                    "key": key,
                    "calendar": "relabelled" if relabelled else "regular",
                    "identical": identical,
                    "crps": ca,
                    "crps_pipeline": cb,
                    "rel_diff": abs(ca - cb) / cb if cb > 0 else (0.0 if ca == cb else np.inf),
                }
            )
        per = pd.DataFrame(per)
        if not len(per):
            continue
        for calendar in ("regular", "relabelled", "all"):
            sub = per if calendar == "all" else per[per["calendar"] == calendar]
            if not len(sub):
                continue
            keys = pd.MultiIndex.from_tuples(list(sub["key"]), names=_KEY)
            part = ok.set_index(_KEY)
            part = part[part.index.isin(keys)].reset_index()
            skill_a = _skill(_paired(part, cfg.label, ref, "crps"), n_boot)[0]
            skill_b = _skill(_paired(part, base, ref, "crps"), n_boot)[0]
            rows.append(
                {
                    "model": cfg.label,
                    "pipeline": base,
                    "calendar": calendar,
                    "windows": len(sub),
                    "identical_paths": int(sub["identical"].sum()),
                    "crps": sub["crps"].mean(),
                    "crps_pipeline": sub["crps_pipeline"].mean(),
                    "max_rel_crps_diff": sub["rel_diff"].max(),
                    "crps_skill": skill_a,
                    "crps_skill_pipeline": skill_b,
                }
            )
    return pd.DataFrame(rows)


def summarise(result) -> dict[str, pd.DataFrame]:
    """Every table of the report, as DataFrames.

    Returns
    -------
    dict
        ``leaderboard``, ``by_horizon``, ``by_dataset``, ``metrics_by_horizon``, ``dm``, ``calibration``,
        ``by_step``, ``timing``, ``failures`` and ``interfaces`` (`interface_agreement`; empty without adapters).
    """
    suite, windows, steps = result.suite, result.windows, result.steps
    ref, n_boot = suite.reference, suite.report["bootstrap"]
    ok = _ok(windows)
    labels = [m for m in dict.fromkeys(windows["model"])] if len(windows) else []
    levels = _levels(ok.columns)
    registry = {m.label: m.model for m in suite.models}

    # leaderboard
    rows = []
    for label in labels:
        mine = ok[ok["model"] == label]
        row = {"model": label, "registry": registry.get(label, "")}
        for metric in ("crps", "mae"):
            s, lo, hi, n = _skill(_paired(ok, label, ref, metric), n_boot)
            row.update({f"{metric}_skill": s, f"{metric}_skill_lo": lo, f"{metric}_skill_hi": hi})
            row[f"n_{metric}"] = n
        row["scaled_crps"] = mine["scaled_crps"].mean() if len(mine) else np.nan
        for lvl in levels:
            row[f"coverage_{lvl}"] = mine[f"coverage_{lvl}"].mean() if len(mine) else np.nan
        pit = steps.loc[steps["model"] == label, "pit"].dropna().to_numpy() if len(steps) else np.array([])
        row["pit_ks"] = pit_ks(pit)[0] if pit.size else np.nan
        every = windows[windows["model"] == label]
        row["n_windows"] = len(mine)
        row["n_failed"] = int(every["error"].notna().sum())
        row["sec_per_window"] = every["seconds"].mean() if len(every) else np.nan
        rows.append(row)
    leaderboard = pd.DataFrame(rows)
    if len(leaderboard):
        leaderboard = leaderboard.sort_values("crps_skill", ascending=False, na_position="last").reset_index(
            drop=True
        )
        leaderboard.insert(0, "rank", np.arange(1, len(leaderboard) + 1))

    # skill by horizon and by dataset
    def grouped(by: str, metrics: Sequence[str]) -> pd.DataFrame:
        out = []
        for label in labels:
            for value, sub in ok.groupby(by, sort=True):
                row = {"model": label, by: value}
                for metric in metrics:
                    s, lo, hi, n = _skill(_paired(sub, label, ref, metric), n_boot)
                    row.update({f"{metric}_skill": s, f"{metric}_skill_lo": lo, f"{metric}_skill_hi": hi})
                    row["n_windows"] = n
                out.append(row)
        return pd.DataFrame(out)

    by_horizon = grouped("horizon", ("crps", "mae"))
    by_dataset = grouped("dataset", ("crps", "mae"))

    # suite metrics by horizon: scale-free ones as means, price-scale ones relative to the reference
    mrows = []
    for label in labels:
        for h, sub in ok.groupby("horizon", sort=True):
            row = {"model": label, "horizon": h}
            mine = sub[sub["model"] == label]
            for metric in suite.metrics:
                if metric in _RELATIVE:
                    s = _skill(_paired(sub, label, ref, metric), 0)[0]
                    row[f"rel_{metric}"] = 1.0 - s if np.isfinite(s) else np.nan
                elif metric == "coverage":
                    for lvl in levels:
                        row[f"coverage_{lvl}"] = mine[f"coverage_{lvl}"].mean()
                elif metric == "width":
                    for lvl in levels:
                        with np.errstate(divide="ignore", invalid="ignore"):
                            row[f"scaled_width_{lvl}"] = (
                                (mine[f"width_{lvl}"] / mine["scale"]).replace(np.inf, np.nan).mean()
                            )
                else:
                    row[metric] = mine[metric].mean()
            mrows.append(row)
    metrics_by_horizon = pd.DataFrame(mrows)

    # Diebold-Mariano on scaled CRPS, pooled over datasets, per horizon
    min_step = min((d["step"] for d in result.meta.get("datasets", {}).values()), default=1)
    drows = []
    for label in labels:
        if label == ref:
            continue
        for h, sub in ok.groupby("horizon", sort=True):
            pair = _paired(sub, label, ref, "scaled_crps")
            pair = pair[np.isfinite(pair["a"]) & np.isfinite(pair["b"])]
            n = len(pair)
            lag = max(1, min(math.ceil(h / max(1, min_step)), n - 1))
            if n < 3:
                stat, p = np.nan, np.nan
            else:
                stat, p = diebold_mariano(pair["a"].to_numpy(), pair["b"].to_numpy(), h=lag)
            drows.append(
                {
                    "model": label,
                    "horizon": h,
                    "dm_stat": stat,
                    "p_value": p,
                    "lag": lag,
                    "n_windows": n,
                    "mean_loss_model": pair["a"].mean(),
                    "mean_loss_reference": pair["b"].mean(),
                }
            )
    dm = pd.DataFrame(drows)

    # calibration: coverage vs nominal and PIT uniformity, per model and horizon
    crows = []
    for label in labels:
        for h, sub in ok[ok["model"] == label].groupby("horizon", sort=True):
            row = {"model": label, "horizon": h}
            for lvl in levels:
                row[f"coverage_{lvl}"] = sub[f"coverage_{lvl}"].mean()
                row[f"gap_{lvl}"] = row[f"coverage_{lvl}"] - float(lvl) / 100.0
            pit = steps.loc[(steps["model"] == label) & (steps["horizon"] == h), "pit"].dropna().to_numpy()
            row["pit_ks"], row["pit_ks_p"] = pit_ks(pit) if pit.size else (np.nan, np.nan)
            crows.append(row)
    calibration = pd.DataFrame(crows)

    # per-step means over windows
    metric_cols = [
        c
        for c in steps.columns
        if c
        not in (
            "model",
            "dataset",
            "horizon",
            "origin_index",
            "origin_timestamp",
            "seed",
            "step",
            "timestamp",
        )
    ]
    if len(steps):
        grouped_steps = steps.groupby(["model", "dataset", "horizon", "step"], sort=False)
        by_step = grouped_steps[metric_cols].mean().reset_index()
        by_step.insert(4, "n_windows", grouped_steps.size().to_numpy())
    else:
        by_step = pd.DataFrame()

    # timing
    trows = []
    for label in labels:
        every = windows[windows["model"] == label]
        trows.append(
            {
                "model": label,
                "tasks": len(every),
                "computed": int((~every["cached"]).sum()),
                "cached": int(every["cached"].sum()),
                "seconds_total": every["seconds"].sum(),
                "cpu_seconds_total": every["cpu_seconds"].sum(),
                "sec_per_window": every["seconds"].mean(),
            }
        )
    timing = pd.DataFrame(trows)

    failed = windows[windows["error"].notna()] if len(windows) else windows
    failures = (
        failed.groupby("model").agg(n_failed=("error", "size"), first_error=("error", "first")).reset_index()
        if len(failed)
        else pd.DataFrame(columns=["model", "n_failed", "first_error"])
    )
    return {
        "leaderboard": leaderboard,
        "by_horizon": by_horizon,
        "by_dataset": by_dataset,
        "metrics_by_horizon": metrics_by_horizon,
        "dm": dm,
        "calibration": calibration,
        "by_step": by_step,
        "timing": timing,
        "failures": failures,
        "interfaces": interface_agreement(result),
    }


# --------------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------------


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        a = abs(float(v))
        if a != 0 and (a < 1e-3 or a >= 1e5):
            return f"{float(v):.3g}"
        return f"{float(v):.3f}"
    return str(v)


def _ci(df: pd.DataFrame, metric: str) -> pd.Series:
    return df.apply(
        lambda r: (
            f"{_fmt(r[f'{metric}_skill'])} [{_fmt(r[f'{metric}_skill_lo'])}, {_fmt(r[f'{metric}_skill_hi'])}]"
        ),
        axis=1,
    )


class _Doc:
    """A report written once, rendered as Markdown and as HTML."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, object]] = []

    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", (level, text)))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, df: pd.DataFrame) -> None:
        self.blocks.append(("table", df))

    def image(self, rel: str, alt: str) -> None:
        self.blocks.append(("img", (rel, alt)))

    def markdown(self) -> str:
        out = []
        for kind, value in self.blocks:
            if kind == "h":
                level, text = value
                out.append(f"{'#' * level} {text}\n")
            elif kind == "p":
                out.append(f"{value}\n")
            elif kind == "img":
                rel, alt = value
                out.append(f"![{alt}]({rel})\n")
            else:
                df = value
                if len(df) == 0:
                    out.append("_(none)_\n")
                    continue
                cols = [str(c) for c in df.columns]
                lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
                for _, row in df.iterrows():
                    lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |")
                out.append("\n".join(lines) + "\n")
        return "\n".join(out)

    def html(self, title: str) -> str:
        body = []
        for kind, value in self.blocks:
            if kind == "h":
                level, text = value
                body.append(f"<h{level}>{html.escape(text)}</h{level}>")
            elif kind == "p":
                body.append(f"<p>{_inline_html(str(value))}</p>")
            elif kind == "img":
                rel, alt = value
                body.append(f'<p><img src="{html.escape(rel)}" alt="{html.escape(alt)}"></p>')
            else:
                df = value
                if len(df) == 0:
                    body.append("<p><em>(none)</em></p>")
                    continue
                head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
                rows = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                    for _, row in df.iterrows()
                )
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        style = (
            "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
            "table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.85em}"
            "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}"
            "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
            "img{max-width:100%}code{background:#f3f3f3;padding:0 3px}"
        )
        return (
            f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
        )


def _inline_html(text: str) -> str:
    """Escape, then turn `code` spans into <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


# --------------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------------


def _fan_models(result, leaderboard: pd.DataFrame) -> list[str]:
    suite = result.suite
    if suite.report["fan_models"]:
        return list(suite.report["fan_models"])
    present = list(dict.fromkeys(result.windows["model"]))
    kronos = [
        m for m in present if REGISTRY.get(suite.model(m).model) and REGISTRY[suite.model(m).model].kronos
    ]
    others = (
        [m for m in leaderboard["model"] if m not in kronos and m != suite.reference]
        if len(leaderboard)
        else []
    )
    picked = [suite.reference, *kronos, *others[:1]]
    return [m for m in dict.fromkeys(picked) if m in present][:6]


def _plots(result, tables: dict, out: Path) -> dict[str, list[Path]]:
    from kronos_plugins.benchmark import plots

    suite, steps, windows = result.suite, result.steps, result.windows
    pdir = out / "plots"
    pdir.mkdir(parents=True, exist_ok=True)
    made: dict[str, list[Path]] = {"fan": [], "pit": [], "error": [], "coverage": []}
    if len(steps) == 0:
        return made

    models = list(dict.fromkeys(windows["model"]))
    pit = {m: steps.loc[steps["model"] == m, "pit"].to_numpy() for m in models}
    made["pit"].append(plots.pit_histograms(pit, pdir / "pit_histograms.png"))

    if suite.target == "realised_vol":
        sub, what = steps, "by horizon (one value per window)"
    else:
        h = max(suite.horizons)
        sub, what = steps[steps["horizon"] == h], f"windows of horizon {h}"
    table = sub.groupby(["model", "step"], sort=False)[["scaled_crps", "mase"]].mean().reset_index()
    made["error"].append(
        plots.error_by_step_plot(
            table, ["scaled_crps", "mase"], pdir / "error_by_step.png", f"Error by step, {what}"
        )
    )

    levels = _levels(windows.columns)
    ok = _ok(windows)
    cov = ok.groupby("model", sort=False)[[f"coverage_{lvl}" for lvl in levels]].mean()
    cov.columns = [float(lvl) / 100.0 for lvl in levels]
    made["coverage"].append(plots.coverage_plot(cov, pdir / "coverage.png"))

    fan_models = _fan_models(result, tables["leaderboard"])
    h, seed = max(suite.horizons), suite.seeds[0]
    for ds in result.datasets[: suite.report["fan_charts"]]:
        w = ds.windows[h][-1]
        paths = {
            m: result.samples[(m, ds.spec.name, h, w.origin_index, seed)]
            for m in fan_models
            if (m, ds.spec.name, h, w.origin_index, seed) in result.samples
        }
        if not paths:
            continue
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in ds.spec.name)
        title = f"{ds.spec.name}: origin {w.origin_timestamp}, horizon {h}, seed {seed}"
        made["fan"].append(
            plots.fan_chart(w.context["close"], w.target["close"], paths, pdir / f"fan_{name}.png", title)
        )
    return made


def write_report(result, out_dir: str | Path, *, plots: bool = True) -> dict[str, Path]:
    """Write results, tables, plots and the Markdown/HTML report of a run to ``out_dir``.

    Files: ``steps.parquet`` (one row per model x window x horizon step), ``windows.parquet`` (one row per
    model x window, with fingerprints and timings); aggregated tables as CSV:
    ``leaderboard.csv``, ``by_horizon.csv``, ``by_dataset.csv``, ``metrics_by_horizon.csv``, ``dm.csv``,
    ``calibration.csv``, ``by_step.csv``, ``timing.csv``, ``failures.csv``, ``run.json``, ``plots/*.png``,
    ``report.md`` and ``report.html``.

    Returns
    -------
    dict of str to Path
        File kind -> path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    suite, meta = result.suite, result.meta
    tables = summarise(result)
    files: dict[str, Path] = {}

    for name, df in (("steps", result.steps), ("windows", result.windows)):
        df = df.copy()
        for c in df.columns:
            if df[c].dtype == object:
                df[c] = df[c].astype("string")
        df.to_parquet(out / f"{name}.parquet", index=False)
        files[name] = out / f"{name}.parquet"
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False, float_format="%.8g")  # 8 significant digits
        files[name] = out / f"{name}.csv"
    run = {**meta, "suite_settings": suite.to_dict()}
    (out / "run.json").write_text(json.dumps(run, indent=2, default=str), encoding="utf-8")
    files["run"] = out / "run.json"

    made = _plots(result, tables, out) if plots else {}

    doc = _Doc()
    doc.h(1, f"Benchmark `{suite.name}`")
    if suite.description:
        doc.p(suite.description)
    doc.p(
        f"Target `{suite.target}`; context {suite.context_length} bars; horizons {list(suite.horizons)}; "
        f"{len(result.datasets)} datasets; up to {suite.n_origins} origins each (step `{suite.step}`); "
        f"{suite.num_samples} sample paths; seeds {list(suite.seeds)}; reference `{suite.reference}`."
    )
    doc.p(
        f"Run {meta['started']} on `{meta['backend']}` with {meta['workers']} worker(s), {meta['cpu_count']} CPUs: "
        f"{meta['n_tasks']} tasks ({meta['n_computed']} computed, {meta['n_cached']} from the cache, "
        f"{meta['n_failed']} failed) in {meta['wall_seconds']:.1f} s. Versions: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + "."
    )

    lb = tables["leaderboard"]
    doc.h(2, "Leaderboard")
    doc.p(
        f"Skill vs `{suite.reference}` = 1 - geometric mean over windows of (model error / reference error), "
        "with each window's CRPS and MAE averaged over its horizon steps; [95 % bootstrap CI over windows]. "
        "Above 0 beats the reference. `scaled_crps` is CRPS divided by the context's mean absolute one-step "
        "change (pooled mean); coverage is the share of realised values inside the central intervals; "
        "`pit_ks` is the Kolmogorov-Smirnov distance of the PIT values from uniform (0 = calibrated)."
    )
    if len(lb):
        view = pd.DataFrame(
            {
                "rank": lb["rank"],
                "model": lb["model"],
                "CRPS skill": _ci(lb, "crps"),
                "MAE skill": _ci(lb, "mae"),
                "scaled CRPS": lb["scaled_crps"],
                **{f"cov {c.split('_')[1]}%": lb[c] for c in lb.columns if c.startswith("coverage_")},
                "PIT KS": lb["pit_ks"],
                "windows": lb["n_windows"],
                "failed": lb["n_failed"],
                "s/window": lb["sec_per_window"],
            }
        )
        doc.table(view)
    else:
        doc.table(lb)

    bh = tables["by_horizon"]
    doc.h(2, "Skill by horizon")
    if len(bh):
        view = bh.assign(crps=_ci(bh, "crps"), mae=_ci(bh, "mae"))
        doc.table(
            view.pivot(index="model", columns="horizon", values="crps").add_prefix("CRPS h=").reset_index()
        )
        doc.table(
            view.pivot(index="model", columns="horizon", values="mae").add_prefix("MAE h=").reset_index()
        )
    bd = tables["by_dataset"]
    doc.h(2, "CRPS skill by dataset")
    if len(bd):
        doc.table(bd.pivot(index="model", columns="dataset", values="crps_skill").reset_index())
        doc.p("CIs and MAE skill per dataset: `by_dataset.csv`.")
    agree = tables["interfaces"]
    if len(agree):
        doc.h(2, "Kronos interfaces")
        doc.p(
            "The same checkpoint and settings through the pipeline and through the Darts, sktime and GluonTS "
            "adapters, on identical windows with the same seed per window. Each host is called through its own "
            "API (Darts `fit` + `predict`, sktime `fit` + `predict_proba`, GluonTS `KronosPredictor.predict`); "
            "where it passes Kronos the same bars and timestamps, it draws the pipeline's paths, so its scores "
            "are the pipeline's. Darts and GluonTS index a series by a fixed frequency: a context with gaps "
            "(weekends, holidays, missing sessions) is relabelled onto a regular grid ending at its last bar "
            "(Darts: the whole context; GluonTS: the `lookback` bars it is given), which changes the calendar "
            "features (weekday, day, month) of the bars before a gap, so those windows draw other paths from the "
            "same random streams: their scores differ window by window but not systematically. sktime keeps the "
            "real timestamps. `identical_paths` counts windows whose paths match the pipeline's to a relative "
            f"{IDENTICAL_RTOL:g}; `max_rel_crps_diff` is the largest relative CRPS difference of one window; "
            "`crps_skill` is vs the reference on those windows."
        )
        doc.table(agree)
    doc.h(2, "Metrics by horizon")
    doc.p(
        "Scale-free metrics are means over windows; `rel_*` are geometric means of the error relative to the "
        "reference; `scaled_width_*` is the interval width over the context scale."
    )
    doc.table(tables["metrics_by_horizon"])
    doc.h(2, f"Diebold-Mariano tests vs `{suite.reference}`")
    doc.p(
        "Loss: scaled CRPS per window, pooled over datasets in time order; HLN-corrected statistic with a "
        "Student-t p-value (negative: the model's loss is lower). `lag` is the autocorrelation allowed by "
        "overlapping targets."
    )
    doc.table(tables["dm"])
    doc.h(2, "Calibration")
    doc.table(tables["calibration"])
    for p in made.get("coverage", []):
        doc.image(f"plots/{p.name}", "coverage vs nominal")
    for p in made.get("pit", []):
        doc.image(f"plots/{p.name}", "PIT histograms")
    doc.h(2, "Error by horizon step")
    for p in made.get("error", []):
        doc.image(f"plots/{p.name}", "error by step")
    if made.get("fan"):
        doc.h(2, "Fan charts")
        doc.p(
            "Last origin of each dataset at the longest horizon: context, 5-95 % and 25-75 % bands, median, "
            "five sample paths and the realised closes (red)."
        )
        for p in made["fan"]:
            doc.image(f"plots/{p.name}", p.stem)
    doc.h(2, "Timing")
    doc.p("Seconds per task as recorded when it was computed (cached tasks keep their original timing).")
    doc.table(tables["timing"])
    doc.h(2, "Datasets")
    drows = [{"dataset": k, **v} for k, v in meta["datasets"].items()]
    doc.table(pd.DataFrame(drows))
    skipped_ds = {k: v for k, v in meta.get("dataset_notes", {}).items() if k not in meta["datasets"]}
    for name, note in skipped_ds.items():
        doc.p(f"`{name}`: {note}")
    doc.h(2, "Skipped models and failures")
    if meta["skipped_models"]:
        doc.table(pd.DataFrame([{"model": k, "reason": v} for k, v in meta["skipped_models"].items()]))
    else:
        doc.p("No model was skipped.")
    doc.p("Failed tasks (the first error of each model; every error is in `windows.parquet`):")
    doc.table(tables["failures"])

    (out / "report.md").write_text(doc.markdown(), encoding="utf-8")
    (out / "report.html").write_text(doc.html(f"Benchmark {suite.name}"), encoding="utf-8")
    files["report_md"] = out / "report.md"
    files["report_html"] = out / "report.html"
    for kind, paths in made.items():
        for i, p in enumerate(paths):
            files[f"plot_{kind}_{i}"] = p
    return files
