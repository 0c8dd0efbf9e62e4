"""Where the bundled model's 20-bar forecasts drift, and what its training windows teach it (issue 15, MAE at h=20).

The quality gate finds raw Kronos' MAE at 20 bars worse than the last close's (MAE skill -0.086 against the
historical-volatility random walk's -0.018). This script measures why, from a harness result directory (its
``steps.parquet``: every model's per-step median and truth) and the split's data:

- **Forecast drift.** For every 20-bar window of a model: its drift ``log(median at step 20 / last close)`` in
  units of the 20-bar move ``sigma * sqrt(20)`` (sigma: the std of the context's one-bar log returns), and the
  same for the realised move. Regressed on where the last close sits in its context (``z = (last - mean) /
  std`` of the last `lookback` closes, the normalisation the model reads) and on the 20-bar momentum. A martingale
  forecaster has no drift; a model that pulls forecasts back towards the context's mean has a negative slope on z.
- **Shrinking the drift.** The MAE skill (the harness' ``1 - geomean(MAE / MAE of the last close)``) of the point
  forecast ``last + lam * (median - last)`` for lam from 0 (the last close) to 1 (the model's median): how much
  of the model's drift the MAE target would allow.
- **Training windows** (``--corpus``). The model is trained on windows of ``context + horizon`` bars normalised
  by the statistics of their first ``c`` bars (``c`` drawn from ``min_context .. context``) and clipped to +-5, as
  a forecast is. The share of the closes after those ``c`` bars that the clip pins to +-5, by ``c`` and by how far
  past the context a bar lies, and whether the corpus itself reverts (the correlation of z with the next 20 bars'
  move).

    python benchmarks/quality/drift.py --results benchmarks/results/full --models kronos,hist-vol-rw \\
        --out benchmarks/results/quality/drift/heldout --corpus

Writes ``drift.md``, ``drift.csv`` (one row per model), ``windows.csv`` (one row per model and window) and, with
``--corpus``, ``corpus.csv``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from kronos_plugins.benchmark.comparison import skill_score

CLIP = 5.0
LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0)


# ------------------------------------------------------------------------------------------------------------
# pure functions (tests/unit/test_quality_drift.py)
# ------------------------------------------------------------------------------------------------------------
def context_position(closes: np.ndarray, lookback: int, momentum: int = 20) -> tuple[float, float, float]:
    """(z, sigma, momentum) of a context's last close.

    z: ``(last - mean) / std`` of the last `lookback` closes (population std, as the pipeline normalises);
    sigma: the std of their one-bar log returns; momentum: the log move over the last `momentum` bars in units
    of ``sigma * sqrt(momentum)``.
    """
    c = np.asarray(closes, dtype=np.float64)[-lookback:]
    if len(c) < max(3, momentum + 1):
        raise ValueError(f"need at least {max(3, momentum + 1)} closes, got {len(c)}")
    sd = c.std()
    sigma = float(np.diff(np.log(c)).std())
    z = float((c[-1] - c.mean()) / sd) if sd > 0 else 0.0
    mom = float(np.log(c[-1] / c[-1 - momentum]) / (sigma * np.sqrt(momentum))) if sigma > 0 else 0.0
    return z, sigma, mom


def scaled_log_move(end: float, last: float, sigma: float, steps: int) -> float:
    """``log(end / last) / (sigma * sqrt(steps))``: a move in units of the typical `steps`-bar move."""
    return float(np.log(end / last) / (sigma * np.sqrt(steps)))


def ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(intercept, slope, slope standard error) of the least-squares line of y on x."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(x)
    if n < 3:
        raise ValueError(f"need at least 3 points, got {n}")
    xc = x - x.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ (y - y.mean()) / sxx)
    intercept = float(y.mean() - slope * x.mean())
    resid = y - intercept - slope * x
    se = float(np.sqrt(resid @ resid / (n - 2) / sxx))
    return intercept, slope, se


def shrunk_mae_skill(y_true: np.ndarray, y_pred: np.ndarray, last: np.ndarray, lam: float) -> float:
    """MAE skill against the last close of the point forecast ``last + lam * (y_pred - last)``.

    y_true, y_pred: (windows, steps); last: (windows,). The harness' skill: ``1 - geomean`` over windows of the
    window's MAE over the last close's (`kronos_plugins.benchmark.comparison.skill_score`).
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    last = np.asarray(last, dtype=np.float64)[:, None]
    point = last + lam * (y_pred - last)
    mae = np.abs(point - y_true).mean(axis=1)
    naive = np.abs(last - y_true).mean(axis=1)
    return float(skill_score(mae, naive, n_boot=0).skill)


def clipped_share(closes: np.ndarray, n_context: int, clip: float = CLIP) -> np.ndarray:
    """Whether each close after the first `n_context` lies outside +-clip once normalised by them.

    The normalisation of `kronos_plugins.preparation.normalise` (population std + 1e-5) on one column.
    Returns a bool array of ``len(closes) - n_context``.
    """
    c = np.asarray(closes, dtype=np.float64)
    mean, sd = c[:n_context].mean(), c[:n_context].std()
    return np.abs((c[n_context:] - mean) / (sd + 1e-5)) > clip


# ------------------------------------------------------------------------------------------------------------
# measurement
# ------------------------------------------------------------------------------------------------------------
def _load_close(dataset: str, cache: dict) -> pd.Series:
    from kronos_plugins.datasets import load

    if dataset not in cache:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cache[dataset] = load(dataset)["close"]
    return cache[dataset]


def window_table(
    steps: pd.DataFrame, models: Sequence[str], lookback: int, horizon: int = 20
) -> pd.DataFrame:
    """One row per model and `horizon`-bar window: z, momentum, the model's drift and the realised move."""
    keys = ["dataset", "origin_index"]
    h = steps[steps["horizon"] == horizon]
    last = h[h["model"] == "naive"].groupby(keys)["y_pred"].first().rename("last")
    cache: dict = {}
    rows = []
    for (ds, oi), g in h[h["model"] == "naive"].groupby(keys):
        first = g.sort_values("step")["timestamp"].iloc[0]
        close = _load_close(ds, cache)
        ctx = close[close.index < first].to_numpy()
        z, sigma, mom = context_position(ctx, lookback)
        truth = g.sort_values("step")["y_true"].iloc[-1]
        rows.append(
            {"dataset": ds, "origin_index": oi, "z": z, "sigma": sigma, "momentum": mom, "truth": truth}
        )
    ctx = pd.DataFrame(rows).set_index(keys).join(last)
    out = []
    for m in models:
        end = h[h["model"] == m].sort_values("step").groupby(keys)["y_pred"].last().rename("end")
        t = ctx.join(end, how="inner").reset_index()
        t["model"] = m
        t["drift"] = np.log(t["end"] / t["last"]) / (t["sigma"] * np.sqrt(horizon))  # scaled_log_move
        t["move"] = np.log(t["truth"] / t["last"]) / (t["sigma"] * np.sqrt(horizon))
        out.append(t)
    return pd.concat(out, ignore_index=True)


def model_table(steps: pd.DataFrame, windows: pd.DataFrame, horizon: int = 20) -> pd.DataFrame:
    """One row per model: drift regression, correlations and the MAE skill of the shrunk point forecast."""
    keys = ["dataset", "origin_index"]
    h = steps[steps["horizon"] == horizon]
    last = h[h["model"] == "naive"].groupby(keys)["y_pred"].first()
    rows = []
    for m, t in windows.groupby("model", sort=False):
        ok = np.isfinite(t["drift"]) & np.isfinite(t["z"])
        t = t[ok]
        a, b, se = ols(t["z"], t["drift"])
        piv_p = h[h["model"] == m].pivot_table(index=keys, columns="step", values="y_pred")
        piv_t = h[h["model"] == m].pivot_table(index=keys, columns="step", values="y_true")
        la = last.reindex(piv_p.index).to_numpy()
        row = {
            "model": m,
            "windows": len(t),
            "drift_intercept": a,
            "drift_slope_z": b,
            "drift_slope_z_se": se,
            "corr_drift_z": float(np.corrcoef(t["z"], t["drift"])[0, 1]),
            "corr_drift_momentum": float(np.corrcoef(t["momentum"], t["drift"])[0, 1]),
            "corr_drift_move": float(np.corrcoef(t["drift"], t["move"])[0, 1]),
            "median_abs_drift": float(t["drift"].abs().median()),
        }
        for lam in LAMBDAS:
            row[f"mae_skill_lam{lam:g}"] = shrunk_mae_skill(piv_t.to_numpy(), piv_p.to_numpy(), la, lam)
        rows.append(row)
    mv = windows.drop_duplicates(keys)
    _, b_real, se_real = ols(mv["z"], mv["move"])
    rows.append(
        {
            "model": "(realised move)",
            "windows": len(mv),
            "drift_slope_z": b_real,
            "drift_slope_z_se": se_real,
            "corr_drift_z": float(np.corrcoef(mv["z"], mv["move"])[0, 1]),
            "corr_drift_momentum": float(np.corrcoef(mv["momentum"], mv["move"])[0, 1]),
            "median_abs_drift": float(mv["move"].abs().median()),
        }
    )
    return pd.DataFrame(rows)


def corpus_table(
    split_version: int = 3,
    part: str = "pretrain",
    context: int = 96,
    min_context: int = 16,
    horizon: int = 32,
    seed: int = 0,
) -> pd.DataFrame:
    """Clipped share of the closes after each training window's normalising context, by context length.

    Windows as the model's training draws them (``context + horizon`` bars, ``c`` uniform in ``min_context ..
    context``, about sqrt(windows) per series, bars built from candles or trades); for each ``c`` band: the share
    of the closes after the context that the clip pins, of those at most `horizon` bars after it, the share of
    windows with any, and the corpus' own 20-bar reversion (correlation of z over the last 64 closes with the
    next 20 bars' scaled move, every 20 bars).
    """
    from kronos_plugins.datasets import load_split

    split = load_split(version=split_version)
    rng = np.random.default_rng(seed)
    width = context + horizon
    rows, zs, moves = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for asset in split.assets(part):
            try:
                frame = split.slice(asset, part)
            except Exception:  # noqa: BLE001 - assets without a period in this part
                continue
            close = frame["close"].to_numpy(dtype=np.float64)
            if len(close) < width + 1:
                continue
            for start in rng.integers(0, len(close) - width, int(np.sqrt(len(close) - width + 1))):
                c = int(rng.integers(min_context, context + 1))
                clipped = clipped_share(close[start : start + width], c)
                rows.append(
                    {"c": c, "all": clipped.mean(), "near": clipped[:horizon].mean(), "any": clipped.any()}
                )
            for t in range(64, len(close) - 20, 20):
                z, sigma, _ = context_position(close[t - 64 : t], 64)
                if sigma > 0:
                    zs.append(z)
                    moves.append(scaled_log_move(close[t + 19], close[t - 1], sigma, 20))
    w = pd.DataFrame(rows)
    w["band"] = (w["c"] - min_context) // 16 * 16 + min_context
    out = (
        w.groupby("band")
        .agg(
            windows=("c", "size"),
            clipped_after=("all", "mean"),
            clipped_first=("near", "mean"),
            any=("any", "mean"),
        )
        .reset_index()
    )
    total = {"band": "all", "windows": len(w), "clipped_after": w["all"].mean()}
    total |= {"clipped_first": w["near"].mean(), "any": w["any"].mean()}
    out = pd.concat([out.astype({"band": str}), pd.DataFrame([total])], ignore_index=True)
    zs_, mv_ = np.asarray(zs), np.asarray(moves)
    ok = np.isfinite(zs_) & np.isfinite(mv_)
    out.attrs["corr_z_move"] = float(np.corrcoef(zs_[ok], mv_[ok])[0, 1])
    out.attrs["reversion_windows"] = int(ok.sum())
    return out


def _md_models(t: pd.DataFrame) -> list[str]:
    lam_cols = [f"mae_skill_lam{lam:g}" for lam in LAMBDAS]
    lines = [
        "| model | windows | slope of drift on z [+-1.96 se] | corr(drift, z) | corr(drift, momentum) | "
        "corr(drift, realised move) | median abs drift | "
        + " | ".join(f"MAE skill, lam {lam:g}" for lam in LAMBDAS)
        + " |",
        "|---|---:|---|---:|---:|---:|---:|" + "---:|" * len(LAMBDAS),
    ]
    for _, r in t.iterrows():
        lam = " | ".join("–" if pd.isna(r.get(c)) else f"{r[c]:.3f}" for c in lam_cols)
        cm = "–" if pd.isna(r.get("corr_drift_move")) else f"{r['corr_drift_move']:.3f}"
        lines.append(
            f"| `{r['model']}` | {int(r['windows'])} | {r['drift_slope_z']:.3f} [{r['drift_slope_z'] - 1.96 * r['drift_slope_z_se']:.3f}, "
            f"{r['drift_slope_z'] + 1.96 * r['drift_slope_z_se']:.3f}] | {r['corr_drift_z']:.3f} | "
            f"{r['corr_drift_momentum']:.3f} | {cm} | {r['median_abs_drift']:.3f} | {lam} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", required=True, help="harness result directory with steps.parquet")
    ap.add_argument("--models", required=True, help="comma-separated model labels")
    ap.add_argument("--lookback", type=int, default=64, help="closes whose mean/std give z (default 64)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--corpus", action="store_true", help="also measure the training windows' clipping")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = pd.read_parquet(Path(args.results) / "steps.parquet")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    missing = sorted(set(models) - set(steps["model"].astype(str)))
    if missing:
        ap.error(f"models not in {args.results}/steps.parquet: {missing}")
    windows = window_table(steps, models, args.lookback)
    windows.to_csv(out / "windows.csv", index=False, float_format="%.6g")
    table = model_table(steps, windows)
    table.to_csv(out / "drift.csv", index=False, float_format="%.6g")
    cmd = "python benchmarks/quality/drift.py " + " ".join(sys.argv[1:] if argv is None else argv)
    md = [
        "# Forecast drift at 20 bars (issue 15, MAE at h=20)",
        "",
        f"- **command**: `{cmd}`",
        f"- **windows**: the 20-bar windows of `{args.results}` (`steps.parquet`); z = (last close - mean) / std of "
        f"the last {args.lookback} closes; drift = log(median at step 20 / last close) and realised move = "
        "log(close at step 20 / last close), both in units of sigma * sqrt(20) (sigma: std of the context's one-bar "
        "log returns); momentum = the last 20 bars' log move in the same units.",
        "- **MAE skill, lam**: the harness' MAE skill against the last close (geometric mean over windows of the "
        "window's MAE ratio, steps 1-20) of the point forecast last + lam x (median - last): lam 1 is the model's "
        "median, lam 0 the last close.",
        "",
        *_md_models(table),
        "",
    ]
    if args.corpus:
        corpus = corpus_table()
        corpus.to_csv(out / "corpus.csv", index=False, float_format="%.6g")
        md += [
            "## Training windows (split version 3, pretrain part, bars from candles or trades)",
            "",
            "Windows of 96 + 32 bars normalised by their first c bars, c uniform in 16..96 (the bundled recipe, "
            "`v2-model-long.yaml`), about sqrt(windows) per series, seed 0. Clipped: |close - mean| / (std + 1e-5) "
            "> 5 with the first c bars' statistics.",
            "",
            "| c | windows | closes after the context clipped | of the first 32 after it | windows with a clipped close |",
            "|---|---:|---:|---:|---:|",
        ]
        for _, r in corpus.iterrows():
            lo = None if r["band"] == "all" else int(r["band"])
            band = "16..96 (all)" if lo is None else (f"{lo}" if lo == 96 else f"{lo}..{min(lo + 15, 96)}")
            md.append(
                f"| {band} | {int(r['windows'])} | {r['clipped_after']:.3f} | {r['clipped_first']:.3f} | {r['any']:.3f} |"
            )
        md += [
            "",
            f"The corpus itself: corr(z over 64 closes, next 20 bars' scaled move) = {corpus.attrs['corr_z_move']:.3f} "
            f"over {corpus.attrs['reversion_windows']} windows (every 20 bars of every pretrain series).",
            "",
        ]
    (out / "drift.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
