"""Measure the stylized facts of the real corpus, per bar length, to fit the synthetic-market parameter ranges.

Loads every available series with `kronos_plugins.datasets.load` (as listed by `list_datasets()`), computes
per series a set of scale-free statistics (none annualised: everything is per bar) and prints, per frequency,
their 10th / 50th / 90th percentiles over the series. The ranges in
`kronos_plugins/datasets/synthetic_market.py` quote this table.

Statistics (log returns ``r_t = log(close_t / close_{t-1})``; "session" returns are those whose bar follows the
previous one by the modal step, i.e. no overnight / weekend / lunch gap before it):

- ``std``: standard deviation of all returns; ``std_in``: of the session returns only;
- ``kurt``: excess kurtosis of all returns; ``kurt_in``: of the session returns;
- ``acf_r1``: lag-1 autocorrelation of the session returns (microstructure noise makes it negative);
- ``acf_abs1``, ``acf_abs10``: autocorrelation of |r| at lags 1 and 10 (volatility clustering);
- ``lev1``: leverage, ``corr(r_t, |r_{t+1}|)``;
- ``volvol``: Spearman correlation of |r_t| with volume_t (series with volume only);
- ``vol_acf1``: lag-1 autocorrelation of log volume (persistence of the volume level);
- ``range_body``: mean log(high / low) over mean |log(close / open)|;
- ``gap_share``: variance of the opening gaps ``log(open_t / close_{t-1})`` over the variance of the returns
  of the same bars, for the bars after a gap (every bar at daily frequency);
- ``gap_bars``: for intraday series, the variance of the gap returns in units of the session-return variance
  (the overnight move measured in bars);
- ``u_vol``, ``u_volume``: intraday U-shape, std of the returns (resp. mean volume) of the first 5 % of a
  session's bars over the middle 50 %;
- ``hod_vol``, ``hod_peak``: intraday series, the largest over the smallest root-mean-square session return
  by hour of day, and the hour of the largest.

The table is printed twice: over every series with at least ``--min-bars`` bars, and over the long series only
(at least ``--long-bars``), since hundreds of one-year daily series dominate the first.

Every statistic uses the project's fidelity functions where they exist (`kronos_plugins.synthetic.fidelity`).

With ``--synthetic N`` it also measures N series of each calendar of
`kronos_plugins.datasets.synthetic_market` (``--synthetic-bars`` bars each) and prints the same table for
them, to compare the generator with the corpus.

    python benchmarks/data/fit_synthetic_ranges.py [--min-bars 200] [--window 2000]
        [--synthetic 40 --synthetic-bars 2000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from kronos_plugins.datasets import list_datasets, load
from kronos_plugins.synthetic.fidelity import (
    autocorrelation,
    leverage_correlation,
    moments,
    volume_volatility_correlation,
)

STATS = (
    "std",
    "std_in",
    "kurt",
    "kurt_in",
    "acf_r1",
    "acf_abs1",
    "acf_abs10",
    "lev1",
    "volvol",
    "vol_acf1",
    "range_body",
    "gap_share",
    "gap_bars",
    "u_vol",
    "u_volume",
    "hod_vol",
    "hod_peak",
)


def series_stats(frame: pd.DataFrame) -> dict[str, float]:
    o, h, lo, c, v = (frame[k].to_numpy(np.float64) for k in ("open", "high", "low", "close", "volume"))
    r = np.diff(np.log(c))
    step = np.diff(frame.index.asi8)
    modal = np.bincount(np.unique(step, return_inverse=True)[1]).argmax()
    modal = np.unique(step)[modal]
    inside = step == modal  # return t (bar t+1) follows its predecessor by the usual step
    daily = modal >= 86_400 * 10**9 * 0.9
    out: dict[str, float] = dict.fromkeys(STATS, np.nan)
    out["std"] = moments(r)["std"]
    out["kurt"] = moments(r)["excess_kurtosis"]
    r_in = r if daily else r[inside]
    out["std_in"] = moments(r_in)["std"]
    out["kurt_in"] = moments(r_in)["excess_kurtosis"]
    out["acf_r1"] = autocorrelation(r_in, 1)[0] if daily else _acf1_inside(r, inside)
    out["acf_abs1"], out["acf_abs10"] = autocorrelation(np.abs(r), 10)[[0, 9]]
    out["lev1"] = leverage_correlation(r, 1)[0]
    if frame.attrs.get("has_volume", True) and np.ptp(v) > 0:
        out["volvol"] = volume_volatility_correlation(r, v)
        lv = np.log(np.maximum(v, 1.0))
        out["vol_acf1"] = autocorrelation(lv, 1)[0]
    body = np.abs(np.log(c / o))
    out["range_body"] = np.mean(np.log(h / lo)) / max(np.mean(body), 1e-12)
    gap = np.log(o[1:] / c[:-1])
    if daily:
        out["gap_share"] = np.var(gap) / np.var(r)
    else:
        after = ~inside
        if after.sum() >= 20:
            out["gap_share"] = np.var(gap[after]) / np.var(r[after])
            out["gap_bars"] = np.mean(r[after] ** 2) / np.mean(r_in**2)
        pos = _session_position(inside)
        if pos is not None:
            early, middle = pos < 0.05, (pos > 0.25) & (pos < 0.75)
            ra = np.abs(r)
            # returns of bar t+1 whose position is known; the first bar of a session holds the gap, skip it
            ok = inside
            if (early & ok).sum() > 50 and (middle & ok).sum() > 50:
                out["u_vol"] = np.sqrt(np.mean(ra[early & ok] ** 2) / np.mean(ra[middle & ok] ** 2))
                vv = v[1:]
                out["u_volume"] = np.mean(vv[early]) / max(np.mean(vv[middle]), 1e-12)
        hours = frame.index.hour.to_numpy()[1:][inside]
        rms = pd.Series(r[inside] ** 2).groupby(hours).mean() ** 0.5
        rms = rms[pd.Series(inside).groupby(frame.index.hour.to_numpy()[1:]).sum().reindex(rms.index) > 50]
        if len(rms) >= 3:
            out["hod_vol"] = float(rms.max() / rms.min())
            out["hod_peak"] = float(rms.idxmax())
    return out


def _acf1_inside(r: np.ndarray, inside: np.ndarray) -> float:
    d = r - r[inside].mean()
    pair = inside[1:] & inside[:-1]
    return float(np.sum(d[1:][pair] * d[:-1][pair]) / np.sum(d[inside] ** 2))


def _session_position(inside: np.ndarray) -> np.ndarray | None:
    """Position in [0, 1] of bar t+1 inside its session (None when sessions are not visible or too long)."""
    starts = np.flatnonzero(~inside)
    if len(starts) < 20:
        return None
    bounds = np.r_[0, starts, len(inside)]
    lengths = np.diff(bounds)
    if np.median(lengths) < 10 or np.median(lengths) > 2000:
        return None
    seg = np.repeat(np.arange(len(lengths)), lengths)
    k = np.arange(len(inside)) - bounds[seg]
    return k / np.maximum(lengths[seg] - 1, 1)


def _summary(per_series: pd.DataFrame) -> pd.DataFrame:
    summary = []
    for freq, group in per_series.groupby("freq"):
        q = group[list(STATS)].quantile([0.1, 0.5, 0.9])
        for stat in STATS:
            lo, mid, hi = q[stat]
            summary.append(
                {"freq": freq, "series": len(group), "stat": stat, "p10": lo, "p50": mid, "p90": hi}
            )
    return pd.DataFrame(summary, columns=["freq", "series", "stat", "p10", "p50", "p90"])


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-bars", type=int, default=200, help="skip shorter series (default 200)")
    parser.add_argument(
        "--max-series-per-source",
        type=int,
        default=0,
        help="keep at most this many series of each source and frequency (0: all)",
    )
    parser.add_argument(
        "--long-bars", type=int, default=1000, help="the second table's minimum (default 1000)"
    )
    parser.add_argument(
        "--synthetic", type=int, default=0, help="also measure N synthetic series per calendar"
    )
    parser.add_argument("--synthetic-bars", type=int, default=2000, help="bars per synthetic series")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic series")
    parser.add_argument(
        "--window",
        type=int,
        default=0,
        help="measure the real series on non-overlapping windows of this many bars (0: whole series); "
        "statistics of a long series and of a short window differ (slow volatility swings), so compare "
        "synthetic series with real windows of the same length",
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = list_datasets()
        table = table[table["bars"] >= args.min_bars]
        if args.max_series_per_source:
            table = table.groupby(["source", "freq"], group_keys=False).head(args.max_series_per_source)
        rows = []
        for asset_id, freq, asset_class in table[["asset_id", "freq", "asset_class"]].itertuples(index=False):
            whole = load(asset_id)
            step = args.window or len(whole)
            for a in range(0, max(len(whole) - step, 0) + 1, step):
                frame = whole.iloc[a : a + step]
                with np.errstate(all="ignore"):
                    stats = series_stats(frame)
                rows.append(
                    {
                        "asset_id": asset_id,
                        "freq": freq,
                        "asset_class": asset_class,
                        "bars": len(whole),
                        **stats,
                    }
                )
    per_series = pd.DataFrame(rows)
    out = _summary(per_series)
    long = _summary(per_series[per_series["bars"] >= args.long_bars])
    both = out.merge(long, on=["freq", "stat"], how="left", suffixes=("", "_long"))
    with pd.option_context(
        "display.width", 160, "display.max_rows", 500, "display.float_format", "{:.4g}".format
    ):
        if args.window:
            print(f"statistics over non-overlapping windows of {args.window} bars ('series' counts windows)")
        print(f"all series with >= {args.min_bars} bars; *_long: series with >= {args.long_bars} bars")
        print(both.to_string(index=False))
        print()
        print("daily series by asset class (p10 / p50 / p90 of std, kurt, acf_abs1, lev1):")
        daily = per_series[per_series["freq"] == "1d"]
        by_class = daily.groupby("asset_class")[["std", "kurt", "acf_abs1", "lev1"]].quantile([0.1, 0.5, 0.9])
        print(by_class.unstack().to_string())
        # the non-daily series, one by one (there are few)
        print()
        if not args.window:
            print(per_series[per_series["freq"] != "1d"].set_index("asset_id")[list(STATS)].T.to_string())
    print(f"\n{len(per_series)} series in {time.perf_counter() - t0:.1f} s")
    if args.synthetic:
        from kronos_plugins.datasets.synthetic_market import CALENDARS, generate_market

        rows = []
        for k, name in enumerate(CALENDARS):
            for frame in generate_market(args.synthetic, args.synthetic_bars, freq=name, seed=args.seed + k):
                with np.errstate(all="ignore"):
                    rows.append({"asset_id": frame.attrs["asset_id"], "freq": name, **series_stats(frame)})
        synth = _summary(pd.DataFrame(rows))
        wide = synth.pivot(index="stat", columns="freq", values="p50").loc[list(STATS)]
        fmt = "{:.4g}".format
        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", fmt):
            print(
                f"\nsynthetic: median over {args.synthetic} series of {args.synthetic_bars} bars per calendar"
            )
            print(wide.to_string())
            lo_hi = synth.assign(range=synth["p10"].map(fmt) + " .. " + synth["p90"].map(fmt))
            print("\nsynthetic: p10 .. p90")
            print(lo_hi.pivot(index="stat", columns="freq", values="range").loc[list(STATS)].to_string())
    return out


if __name__ == "__main__":
    main()
