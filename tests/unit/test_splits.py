"""Rolling-origin windows: counts, placement, no leakage, and input fingerprints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.benchmark.splits import Window, fingerprint, make_windows


def _frame(n: int = 100, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    idx = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame(
        {
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": 1.0,
            "amount": close,
        },
        index=idx,
    )


def test_when_origins_default_then_last_target_ends_at_last_row():
    df = _frame(100)
    windows = make_windows(df, context_length=30, horizon=5, n_origins=4, step=7)
    assert len(windows) == 4
    assert [w.origin_index for w in windows] == [74, 81, 88, 95]
    last = windows[-1]
    assert last.target.index[-1] == df.index[-1]
    assert all(isinstance(w, Window) for w in windows)


def test_windows_have_exact_lengths_and_never_leak():
    df = _frame(100)
    for w in make_windows(df, context_length=30, horizon=5, n_origins=10, step=3):
        assert len(w.context) == 30 and len(w.target) == 5
        assert w.context.index.max() < w.target.index.min()
        assert w.origin_timestamp == w.target.index[0] == df.index[w.origin_index]
        # The context ends on the row just before the origin.
        assert w.context.index[-1] == df.index[w.origin_index - 1]
        pd.testing.assert_frame_equal(w.context, df.iloc[w.origin_index - 30 : w.origin_index])
        pd.testing.assert_frame_equal(w.target, df.iloc[w.origin_index : w.origin_index + 5])


def test_when_start_given_then_origins_go_forwards():
    df = _frame(100)
    by_pos = make_windows(df, context_length=20, horizon=4, n_origins=3, step=10, start=25)
    assert [w.origin_index for w in by_pos] == [25, 35, 45]
    by_time = make_windows(df, context_length=20, horizon=4, n_origins=3, step=10, start=df.index[25])
    assert [w.origin_index for w in by_time] == [25, 35, 45]
    # A timestamp between rows snaps to the next row.
    between = make_windows(df, 20, 4, 1, 1, start=df.index[24] + pd.Timedelta(minutes=30))
    assert between[0].origin_index == 25


def test_windows_are_copies_of_the_series():
    df = _frame(60)
    w = make_windows(df, 20, 4, 1, 1)[0]
    w.context.iloc[0, 0] = -1.0
    assert df.iloc[w.origin_index - 20, 0] != -1.0


def test_asset_id_defaults_to_attrs():
    df = _frame(60)
    assert make_windows(df, 20, 4, 1, 1)[0].asset_id == "series"
    df.attrs["asset_id"] = "BTCUSDT"
    assert make_windows(df, 20, 4, 1, 1)[0].asset_id == "BTCUSDT"
    assert make_windows(df, 20, 4, 1, 1, asset_id="ETH")[0].asset_id == "ETH"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"context_length": 0}, "`context_length` must be a positive integer"),
        ({"horizon": 2.5}, "`horizon` must be a positive integer"),
        ({"n_origins": -1}, "`n_origins` must be a positive integer"),
        ({"step": True}, "`step` must be a positive integer"),
        ({"n_origins": 20, "step": 5}, r"`series` has 100 rows .* need rows \[-30, 100\) \(130 rows\)"),
        ({"context_length": 97}, r"`series` has 100 rows"),
        ({"start": 10}, r"from row 10"),
        ({"start": 95}, r"from row 95"),
    ],
)
def test_when_arguments_are_invalid_then_make_windows_raises_value_error(kwargs, match):
    args = {"context_length": 30, "horizon": 5, "n_origins": 3, "step": 5} | kwargs
    with pytest.raises(ValueError, match=match):
        make_windows(_frame(100), **args)


def test_when_index_is_not_datetime_or_not_sorted_then_make_windows_raises():
    df = _frame(50)
    with pytest.raises(ValueError, match="DatetimeIndex"):
        make_windows(df.reset_index(drop=True), 10, 2, 1, 1)
    with pytest.raises(ValueError, match="strictly increasing"):
        make_windows(df.iloc[::-1], 10, 2, 1, 1)


def test_fingerprint_is_equal_for_identical_windows_and_changes_with_one_context_value():
    df = _frame(80)
    a = make_windows(df, 30, 5, 3, 5)
    b = make_windows(df.copy(), 30, 5, 3, 5)
    assert [fingerprint(w) for w in a] == [fingerprint(w) for w in b]
    assert len({fingerprint(w) for w in a}) == 3

    changed = df.copy()
    changed.iloc[a[-1].origin_index - 1, changed.columns.get_loc("volume")] += 1e-9
    c = make_windows(changed, 30, 5, 3, 5)
    assert fingerprint(c[-1]) != fingerprint(a[-1])
    # Earlier windows do not contain that row, so they are unchanged.
    assert fingerprint(c[0]) == fingerprint(a[0])


def test_fingerprint_ignores_target_values_but_not_target_timestamps():
    df = _frame(80)
    w = make_windows(df, 30, 5, 1, 1)[0]
    future_changed = df.copy()
    future_changed.iloc[-5:, :] *= 2
    assert fingerprint(make_windows(future_changed, 30, 5, 1, 1)[0]) == fingerprint(w)
    shifted = Window(w.asset_id, w.origin_index, w.origin_timestamp, w.context, w.target.shift(1, freq="h"))
    assert fingerprint(shifted) != fingerprint(w)


_FP_SCRIPT = """
import numpy as np, pandas as pd
from kronos_plugins.benchmark.splits import fingerprint, make_windows
idx = pd.date_range("2024-01-01", periods=40, freq="D")
df = pd.DataFrame({"close": np.linspace(1.0, 2.0, 40), "volume": np.arange(40.0)}, index=idx)
FP = fingerprint(make_windows(df, 20, 5, 1, 1)[0])
"""


def test_fingerprint_is_stable_across_processes():
    namespace: dict = {}
    exec(_FP_SCRIPT, namespace)
    env = {**os.environ, "PYTHONHASHSEED": "123"}
    out = subprocess.run(
        [sys.executable, "-c", _FP_SCRIPT + "print(FP)"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == namespace["FP"]
    assert len(namespace["FP"]) == 64
