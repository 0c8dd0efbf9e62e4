"""The pretraining corpus of a split version, counted: bars per part, source, frequency and construction.

``python -m kronos_plugins.datasets count --version 2`` prints the table that docs/datasets.md reports.
"""

from __future__ import annotations

import warnings

import pandas as pd

from kronos_plugins.datasets._sources import SOURCES, split_asset_id
from kronos_plugins.datasets.registry import DataRepairWarning, load
from kronos_plugins.datasets.split import load_split

__all__ = ["corpus_table"]


def corpus_table(version: int = 2) -> pd.DataFrame:
    """Count the pretrain and validation bars of a shipped split version.

    Parameters
    ----------
    version : int, default=2
        The split version (see `load_split`).

    Returns
    -------
    pd.DataFrame
        One row per ``(source, freq, asset_class, construction)`` with ``assets``, ``pretrain_bars``,
        ``validation_bars`` and the source's ``licence``, plus a final ``total`` row. Assets whose source
        cannot be loaded here are counted in ``missing_assets`` of ``attrs``.

    Raises
    ------
    ImportError
        Never for a missing source: those are skipped and listed in ``attrs["missing"]``.
    """
    split = load_split(version=version)
    rows, missing = [], []
    for asset_id in split.pretrain:
        name, symbol = split_asset_id(asset_id)
        source = SOURCES[name]
        if not source.can_load():
            missing.append(asset_id)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataRepairWarning)
            try:
                frame = load(asset_id)
            except ImportError:
                missing.append(asset_id)
                continue
        pre = split.period(asset_id, "pretrain").mask(pd.DatetimeIndex(frame.index))
        val = split.period(asset_id, "validation").mask(pd.DatetimeIndex(frame.index))
        spec = source.series[symbol]
        rows.append(
            {
                "source": name,
                "freq": spec.freq,
                "asset_class": spec.asset_class,
                "construction": spec.construction,
                "licence": source.licence,
                "assets": 1,
                "pretrain_bars": int(pre.sum()),
                "validation_bars": int(val.sum()),
            }
        )
    keys = ["source", "freq", "asset_class", "construction", "licence"]
    table = (
        pd.DataFrame(rows).groupby(keys, as_index=False)[["assets", "pretrain_bars", "validation_bars"]].sum()
    )
    total = (
        {k: "" for k in keys}
        | {"source": "total"}
        | table[["assets", "pretrain_bars", "validation_bars"]].sum().to_dict()
    )
    out = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    out.attrs["missing"] = missing
    out.attrs["version"] = version
    return out
