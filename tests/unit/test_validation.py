"""Tests for kronos_plugins.validation: every rule on user OHLCV input and on sampling arguments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.validation import (
    KRONOS_COLUMNS,
    PRICE_COLUMNS,
    KronosInputError,
    check_positive_int,
    check_sampling,
    prepare_context,
)


def _ohlcv(n: int = 5, *, index=None, **overrides) -> pd.DataFrame:
    """A valid frame: close rises by 1 per bar, open is the previous close, high/low bracket both."""
    close = 10.0 + np.arange(n, dtype=float)
    data = {
        "open": close - 0.5,
        "high": close + 1.0,
        "low": close - 1.5,
        "close": close,
        "volume": np.full(n, 100.0),
        "amount": 1000.0 * close,
    }
    data.update(overrides)
    return pd.DataFrame(data, index=index)


def _with(df: pd.DataFrame, col: str, pos: int, value) -> pd.DataFrame:
    out = df.copy()
    out[col] = out[col].astype(object) if isinstance(value, str) else out[col]
    out.iloc[pos, out.columns.get_loc(col)] = value
    return out


DAYS = pd.date_range("2024-01-01", periods=5, freq="D", name="date")


# ----------------------------------------------------------------------------------------------------
# accepted input


def test_when_frame_is_valid_then_columns_are_float64_in_kronos_order_with_range_index():
    raw = _ohlcv(index=DAYS)[["volume", "close", "amount", "low", "open", "high"]]
    raw["volume"] = raw["volume"].astype(np.int64)

    frame, timestamps = prepare_context(raw)

    assert list(frame.columns) == list(KRONOS_COLUMNS)
    assert (frame.dtypes == np.float64).all()
    assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and len(frame) == 5
    np.testing.assert_array_equal(frame["close"].to_numpy(), [10.0, 11.0, 12.0, 13.0, 14.0])
    np.testing.assert_array_equal(frame["volume"].to_numpy(), [100.0] * 5)
    assert timestamps.equals(pd.DatetimeIndex(DAYS.values))


def test_when_only_prices_are_given_then_volume_and_amount_are_absent():
    frame, _ = prepare_context(_ohlcv()[list(PRICE_COLUMNS)])

    assert list(frame.columns) == list(PRICE_COLUMNS)


def test_when_columns_differ_in_case_then_they_match_and_extra_columns_are_ignored():
    raw = _ohlcv().rename(columns=str.title)
    raw["Ticker"] = "ABC"
    raw["adj_close"] = 0.0

    frame, _ = prepare_context(raw)

    assert list(frame.columns) == list(KRONOS_COLUMNS)
    np.testing.assert_array_equal(frame["high"].to_numpy(), raw["High"].to_numpy())


def test_when_exact_and_case_insensitive_names_both_exist_then_the_exact_one_wins():
    raw = _ohlcv()
    raw["Close"] = -1.0  # would fail the price check if it were used

    frame, _ = prepare_context(raw)

    np.testing.assert_array_equal(frame["close"].to_numpy(), raw["close"].to_numpy())


def test_when_column_mapping_is_given_then_it_takes_precedence_over_name_matching():
    raw = _ohlcv().rename(columns={"close": "Adj Close", "volume": "Vol"})
    raw["Close"] = -1.0

    frame, _ = prepare_context(raw, column_mapping={"close": "Adj Close", "volume": "Vol"})

    np.testing.assert_array_equal(frame["close"].to_numpy(), raw["Adj Close"].to_numpy())
    np.testing.assert_array_equal(frame["volume"].to_numpy(), raw["Vol"].to_numpy())


def test_when_index_is_a_range_then_timestamps_are_none():
    _, timestamps = prepare_context(_ohlcv())

    assert timestamps is None


def test_when_frame_has_a_timestamps_column_then_it_is_parsed():
    raw = _ohlcv()
    raw["timestamps"] = [
        "2024-01-01 09:30",
        "2024-01-01 09:35",
        "2024-01-01 09:40",
        "2024-01-01 09:45",
        "2024-01-01 09:50",
    ]

    frame, timestamps = prepare_context(raw)

    assert "timestamps" not in frame.columns
    assert timestamps[0] == pd.Timestamp("2024-01-01 09:30")
    assert timestamps[-1] == pd.Timestamp("2024-01-01 09:50")


def test_when_timestamps_are_tz_aware_then_the_timezone_is_kept():
    index = pd.date_range("2024-03-08 09:30", periods=5, freq="5min", tz="America/New_York")

    _, timestamps = prepare_context(_ohlcv(index=index))

    assert str(timestamps.tz) == "America/New_York"
    assert timestamps[0] == pd.Timestamp("2024-03-08 14:30", tz="UTC")


def test_when_index_is_a_period_index_then_timestamps_are_the_period_starts():
    index = pd.period_range("2024-01", periods=5, freq="M")

    _, timestamps = prepare_context(_ohlcv(index=index))

    assert list(timestamps[:2]) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")]


def test_when_series_is_constant_then_it_is_valid():
    raw = pd.DataFrame({c: [7.0] * 4 for c in PRICE_COLUMNS} | {"volume": [0.0] * 4})

    frame, _ = prepare_context(raw)

    assert (frame.to_numpy() == raw.to_numpy()).all()


def test_when_high_misses_the_close_by_float_rounding_then_it_is_accepted():
    raw = _ohlcv(2, high=[10.0, 11.0], close=[10.0 * (1 + 1e-12), 11.0], open=[10.0, 10.0])

    frame, _ = prepare_context(raw)

    assert frame["high"].iloc[0] < frame["close"].iloc[0]  # within the 1e-9 relative tolerance


def test_when_nullable_extension_dtypes_are_used_then_they_become_float64():
    raw = _ohlcv().astype({"close": "Float64", "volume": "Int64"})

    frame, _ = prepare_context(raw)

    assert frame["close"].dtype == np.float64 and frame["volume"].dtype == np.float64


def test_when_min_length_is_met_exactly_then_the_frame_is_accepted():
    frame, _ = prepare_context(_ohlcv(3), min_length=3)

    assert len(frame) == 3


def test_when_input_is_validated_then_the_caller_frame_is_not_modified():
    raw = _ohlcv(index=DAYS)
    before = raw.copy()

    prepare_context(raw)

    pd.testing.assert_frame_equal(raw, before)


# ----------------------------------------------------------------------------------------------------
# rejected input: (frame factory, kwargs, regex the message must match)

_UNSORTED = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-03", "2024-01-05"])
_DUPLICATED = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03", "2024-01-04"])
_LETTERS = list("abcde")

INVALID_FRAMES = [
    pytest.param(
        lambda: _ohlcv().to_numpy(), {}, r"`context` must be a pandas DataFrame.*got ndarray", id="ndarray"
    ),
    pytest.param(lambda: _ohlcv()["close"], {}, r"got Series", id="series"),
    pytest.param(
        lambda: _ohlcv().drop(columns=["high", "low"]),
        {},
        r"`context` is missing the required column\(s\) \['high', 'low'\]; columns found: "
        r"\['open', 'close', 'volume', 'amount'\].*column_mapping",
        id="missing-columns",
    ),
    pytest.param(
        lambda: _ohlcv().assign(Close=1.0, CLOSE=1.0).drop(columns=["close"]),
        {},
        r"several columns that match `close` ignoring case: \['Close', 'CLOSE'\]",
        id="ambiguous-case",
    ),
    pytest.param(
        lambda: _ohlcv(),
        {"column_mapping": {"price": "close"}},
        r"`column_mapping` key 'price' is not a Kronos column",
        id="mapping-bad-key",
    ),
    pytest.param(
        lambda: _ohlcv(),
        {"column_mapping": {"close": "Adj Close"}},
        r"`column_mapping` maps 'close' to 'Adj Close', which is not a column of `context`",
        id="mapping-bad-value",
    ),
    pytest.param(
        lambda: _ohlcv(),
        {"column_mapping": [("close", "close")]},
        r"`column_mapping` must be a dict",
        id="mapping-not-a-dict",
    ),
    pytest.param(
        lambda: _with(_ohlcv(index=_LETTERS), "low", 2, "n/a"),
        {},
        r"`context` column `low` must be numeric, got dtype object; first non-numeric value 'n/a' at row 2 "
        r"\(index label 'c'\)",
        id="non-numeric",
    ),
    pytest.param(
        lambda: _ohlcv(volume=[True, False, True, True, False]),
        {},
        r"column `volume` must be numeric, got dtype bool",
        id="bool-column",
    ),
    pytest.param(
        lambda: _ohlcv().rename(columns={"close": "px"}).assign(px=lambda d: d["px"].astype(str)),
        {"column_mapping": {"close": "px"}},
        r"column `close` \(read from 'px'\) must be numeric",
        id="non-numeric-mapped",
    ),
    pytest.param(
        lambda: _with(_with(_ohlcv(index=DAYS), "close", 1, np.nan), "close", 3, np.nan),
        {},
        r"column `close` has 2 NaN or infinite value\(s\), the first at row 1 "
        r"\(index label 2024-01-02 00:00:00\): nan",
        id="nan",
    ),
    pytest.param(
        lambda: _with(_ohlcv(), "amount", 4, -np.inf),
        {},
        r"column `amount` has 1 NaN or infinite value\(s\), the first at row 4 \(index label 4\): -inf",
        id="inf",
    ),
    pytest.param(
        lambda: _ohlcv(index=_UNSORTED),
        {},
        r"timestamps \(the index\) must increase, but row 3 \(index label 2024-01-03 00:00:00\) "
        r"has 2024-01-03 00:00:00, earlier than 2024-01-04 00:00:00",
        id="unsorted",
    ),
    pytest.param(
        lambda: _ohlcv(index=_DUPLICATED),
        {},
        r"must be unique, but 2024-01-02 00:00:00 appears again at row 2",
        id="duplicated",
    ),
    pytest.param(
        lambda: _ohlcv(
            index=pd.DatetimeIndex(["2024-01-01", None, "2024-01-03", "2024-01-04", "2024-01-05"])
        ),
        {},
        r"timestamps \(the index\) have 1 missing value\(s\) \(NaT\), the first at row 1",
        id="nat-index",
    ),
    pytest.param(
        lambda: _ohlcv().assign(timestamps=["2024-01-01", "2024-01-02", None, "2024-01-04", "2024-01-05"]),
        {},
        r"timestamps \(column 'timestamps'\) have 1 missing value\(s\) \(NaT\), the first at row 2",
        id="nat-column",
    ),
    pytest.param(
        lambda: _ohlcv().assign(timestamps=["2024-01-01", "2024-01-02", "soon", "2024-01-04", "2024-01-05"]),
        {},
        r"column 'timestamps' cannot be parsed as timestamps",
        id="unparseable-timestamps",
    ),
    pytest.param(
        lambda: _ohlcv(open=[10.0, 0.0, 11.0, 12.0, 13.0], low=[8.5, 0.0, 10.5, 11.5, 12.5]),
        {},
        r"column `open` must be > 0, but row 1 \(index label 1\) has open=0\.0",
        id="zero-price",
    ),
    pytest.param(
        lambda: _ohlcv(close=[10.0, 11.0, 12.0, -13.0, 14.0]),
        {},
        r"column `close` must be > 0, but row 3 \(index label 3\) has close=-13\.0",
        id="negative-price",
    ),
    pytest.param(
        lambda: _ohlcv(index=_LETTERS, high=[11.0, 12.0, 11.5, 14.0, 15.0]),
        {},
        r"column `high` must be >= max\(open, close\), but row 2 \(index label 'c'\) "
        r"has open=11\.5, high=11\.5, low=10\.5, close=12\.0",
        id="high-below-close",
    ),
    pytest.param(
        lambda: _ohlcv(low=[8.5, 10.6, 10.5, 11.5, 12.5]),
        {},
        r"column `low` must be <= min\(open, close\), but row 1 \(index label 1\) "
        r"has open=10\.5, high=12\.0, low=10\.6, close=11\.0",
        id="low-above-open",
    ),
    pytest.param(
        lambda: _ohlcv(high=[9.0, 10.0, 11.0, 12.0, 13.0], low=[11.0, 12.0, 13.0, 14.0, 15.0]),
        {},
        r"column `high` must be >= max\(open, close\), but row 0",
        id="high-below-low",
    ),
    pytest.param(
        lambda: _ohlcv(volume=[1.0, 2.0, 3.0, -4.0, 5.0]),
        {},
        r"column `volume` must be >= 0, but row 3 \(index label 3\) has volume=-4\.0",
        id="negative-volume",
    ),
    pytest.param(
        lambda: _ohlcv(amount=[1.0, -2.0, 3.0, 4.0, 5.0]),
        {},
        r"column `amount` must be >= 0, but row 1 \(index label 1\) has amount=-2\.0",
        id="negative-amount",
    ),
    pytest.param(
        lambda: _ohlcv(3),
        {"min_length": 4, "name": "series 7"},
        r"`series 7` has 3 rows; Kronos needs at least 4",
        id="too-short",
    ),
    pytest.param(lambda: _ohlcv(0), {}, r"`context` has 0 rows; Kronos needs at least 1", id="empty"),
    pytest.param(
        lambda: _ohlcv().rename(columns={"low": "high"}),
        {},
        r"has the column 'high' more than once",
        id="duplicate-column-names",
    ),
    pytest.param(
        lambda: _ohlcv(), {"min_length": 2.5}, r"`min_length` must be an integer", id="bad-min-length"
    ),
]


@pytest.mark.parametrize(("make_frame", "kwargs", "match"), INVALID_FRAMES)
def test_when_input_is_invalid_then_prepare_context_raises_kronos_input_error(make_frame, kwargs, match):
    with pytest.raises(KronosInputError, match=match):
        prepare_context(make_frame(), **kwargs)


def test_when_a_frame_has_a_custom_name_then_errors_use_it():
    with pytest.raises(KronosInputError, match=r"^`series 'AAPL'` column `close` has 1 NaN"):
        prepare_context(_with(_ohlcv(), "close", 0, np.nan), name="series 'AAPL'")


def test_kronos_input_error_is_a_value_error():
    with pytest.raises(ValueError):
        prepare_context(_ohlcv(1), min_length=2)


# ----------------------------------------------------------------------------------------------------
# integer and sampling arguments


@pytest.mark.parametrize(("value", "minimum", "expected"), [(1, 1, 1), (np.int64(24), 1, 24), (0, 0, 0)])
def test_when_value_is_an_integer_at_least_minimum_then_check_positive_int_returns_a_python_int(
    value, minimum, expected
):
    out = check_positive_int(value, "horizon", minimum=minimum)

    assert out == expected and type(out) is int


@pytest.mark.parametrize(
    ("value", "minimum", "match"),
    [
        (True, 1, r"`horizon` must be an integer >= 1, got True \(bool\)"),
        (np.bool_(True), 1, r"`horizon` must be an integer >= 1, got .*True"),
        (24.0, 1, r"`horizon` must be an integer >= 1, got 24\.0 \(float\)"),
        ("24", 1, r"`horizon` must be an integer >= 1, got '24' \(str\)"),
        (None, 1, r"`horizon` must be an integer >= 1, got None"),
        (0, 1, r"`horizon` must be >= 1, got 0"),
        (-3, 0, r"`horizon` must be >= 0, got -3"),
    ],
)
def test_when_value_is_not_a_valid_integer_then_check_positive_int_raises(value, minimum, match):
    with pytest.raises(KronosInputError, match=match):
        check_positive_int(value, "horizon", minimum=minimum)


@pytest.mark.parametrize(
    ("temperature", "top_k", "top_p", "num_samples"),
    [(1.0, 0, 1.0, 1), (0.1, 50, 0.9, 100), (2, np.int64(5), 1e-6, np.int32(3))],
)
def test_when_sampling_settings_are_valid_then_check_sampling_returns_none(
    temperature, top_k, top_p, num_samples
):
    assert check_sampling(temperature, top_k, top_p, num_samples) is None


VALID_SAMPLING = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "num_samples": 1}


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"temperature": 0.0}, r"`temperature` must be a finite number > 0, got 0\.0"),
        ({"temperature": -1.0}, r"`temperature` must be a finite number > 0, got -1\.0"),
        ({"temperature": float("nan")}, r"`temperature` must be a finite number > 0, got nan"),
        ({"temperature": float("inf")}, r"`temperature` must be a finite number > 0, got inf"),
        ({"temperature": "1.0"}, r"`temperature` must be a finite number > 0, got '1\.0'"),
        ({"temperature": True}, r"`temperature` must be a finite number > 0, got True"),
        ({"top_k": -1}, r"`top_k` must be >= 0, got -1"),
        ({"top_k": 2.0}, r"`top_k` must be an integer >= 0, got 2\.0"),
        ({"top_p": 0.0}, r"`top_p` must satisfy 0 < top_p <= 1, got 0\.0"),
        ({"top_p": 1.5}, r"`top_p` must satisfy 0 < top_p <= 1, got 1\.5"),
        ({"top_p": float("nan")}, r"`top_p` must satisfy 0 < top_p <= 1, got nan"),
        ({"top_p": None}, r"`top_p` must satisfy 0 < top_p <= 1, got None"),
        ({"num_samples": 0}, r"`num_samples` must be >= 1, got 0"),
        ({"num_samples": 10.0}, r"`num_samples` must be an integer >= 1, got 10\.0"),
        ({"min_p": 1.0}, r"`min_p` must satisfy 0 <= min_p < 1, got 1\.0"),
        ({"min_p": -0.1}, r"`min_p` must satisfy 0 <= min_p < 1, got -0\.1"),
        ({"min_p": float("nan")}, r"`min_p` must satisfy 0 <= min_p < 1, got nan"),
        ({"min_p": "0.1"}, r"`min_p` must satisfy 0 <= min_p < 1, got '0\.1'"),
    ],
)
def test_when_a_sampling_setting_is_invalid_then_check_sampling_names_it(override, match):
    with pytest.raises(KronosInputError, match=match):
        check_sampling(**(VALID_SAMPLING | override))
