"""Preparation of model inputs: validation, completion, scale, normalisation, calendar and random streams.

Every forecast path (`KronosPipeline`, the calibration layer, the transformers-style facade) prepares its
inputs here, in this order:

1. `validate_series`: the frame is checked once (`kronos_plugins.validation.validate_context`, with its
   ``ohlc`` option), missing volume/amount are constructed by the reference's rules
   (`kronos_plugins.columns.complete_volume_amount`), and the calendar features of every bar are computed.
2. `prepare_window`: any window of the validated bars (the whole context, its last `lookback` bars, or a
   calibration pseudo-context) is normalised per column (`normalise`).
3. `future_stamps` and `path_uniforms`: the calendar of the forecast bars and the random stream of each path.

Scale: the reference adds an absolute ``STD_EPS = 1e-5`` to every standard deviation, negligible next to the
spread of prices of ordinary size and dominant for tiny ones (prices near 1e-6 came out flat, their forecasts
several times the last price). Each column group (the four prices together, volume, amount) whose level, the
median absolute non-zero value of the window, lies outside ``SCALE_BAND`` is divided by the power of ten
`scale` that brings the level into ``[100, 1000)`` before normalising (and the forecast multiplied back);
inside the band (every conformance fixture) ``scale = 1`` and the normalisation is the reference's. So bars
multiplied by any power of ten that moves them out of the band give the same forecast up to that factor as
bars whose level is in [100, 1000); within the band the reference's epsilon remains, at most ``1e-5 / std``
of a normalised value.

Float policy (one for inference and training, `kronos_plugins.training.data`): the (scaled) bars are
rounded to float32, the precision the reference reads them in and the training store keeps; statistics
(mean and population standard deviation) and the normalisation arithmetic are float64 on those values; the
normalised, clipped bars the model reads are float32. (The reference computes its statistics in float32; the
difference, about 1e-7 relative, is far inside the conformance tolerance. Rounding to float32 first makes a
float32 source, such as a GluonTS target, and its float64 copy give the same forecast.)

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .calendar import infer_future_timestamps, time_features
from .candle_head import head_prices
from .columns import complete_volume_amount
from .validation import KRONOS_COLUMNS, KronosInputError, validate_context

logger = logging.getLogger(__name__)

__all__ = [
    "CLIP",
    "MIN_CONTEXT_BARS",
    "NO_CALENDAR_STAMP",
    "PRICE_CENTRES",
    "SCALE_BAND",
    "STD_EPS",
    "PreparedContext",
    "SeriesData",
    "check_price_centre",
    "column_scales",
    "future_stamps",
    "normalise",
    "path_uniforms",
    "prepare_series",
    "prepare_window",
    "series_futures",
    "validate_series",
]

#: Fewest context bars a forecast accepts: below this the normalisation statistics mean little.
MIN_CONTEXT_BARS = 8
#: Normalised inputs are clipped to [-CLIP, CLIP], as in the reference.
CLIP = 5.0
#: Where a context's normalised prices may be centred (a model's ``price_centre``): "mean", the reference's
#: (the context's mean at 0), or "last" (the context's last close at 0).
PRICE_CENTRES = ("mean", "last")
#: Added to the standard deviation before dividing, as in the reference (times the column's `scale`).
STD_EPS = 1e-5
#: Column levels (median absolute non-zero value) normalised exactly as the reference does; levels outside
#: are rescaled by a power of ten to [100, 1000) before normalising (see the module docstring).
SCALE_BAND = (1.0, 1e9)
#: Calendar stamp (minute, hour, weekday, day, month) of every bar of a series without timestamps, when the
#: caller opts in with ``missing_timestamps="constant"``. Day and month are 1-based (0 never occurs in training).
NO_CALENDAR_STAMP = np.array([0, 0, 0, 1, 1], dtype=np.float32)

_PRICES = slice(0, 4)
_GROUPS = ((0, 1, 2, 3), (4,), (5,))  # prices share one scale (read from close); volume; amount


# ------------------------------------------------------------------------------------------------------------
# Scale and normalisation


def _level_scale(values: np.ndarray) -> float:
    """The power of ten that brings the level of `values` into [100, 1000), or 1 inside `SCALE_BAND`."""
    nonzero = np.abs(values[values != 0])
    if not nonzero.size:
        return 1.0
    level = float(np.median(nonzero))
    if SCALE_BAND[0] <= level < SCALE_BAND[1] or not math.isfinite(level):
        return 1.0
    return 10.0 ** (math.floor(math.log10(level)) - 2)


def column_scales(values: np.ndarray) -> np.ndarray:
    """Per column of bars (T, 6), the power of ten its group is rescaled by (see the module docstring)."""
    close = KRONOS_COLUMNS.index("close")
    scales = np.ones(values.shape[-1])
    for group in _GROUPS:
        scales[list(group)] = _level_scale(values[:, close if len(group) > 1 else group[0]])
    return scales


def check_price_centre(centre: str) -> str:
    """`centre` if it is one of `PRICE_CENTRES`, else a ValueError naming them."""
    if centre not in PRICE_CENTRES:
        raise ValueError(f"`price_centre` must be one of {list(PRICE_CENTRES)}, got {centre!r}.")
    return centre


def normalise(
    values: np.ndarray,
    context: int | None = None,
    clip: float = CLIP,
    price_centre: str = "mean",
    shift: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Normalise bars (T, 6) per column as the module docstring says.

    Each column is divided by its `scale` (`column_scales`, in float64), rounded to float32, and normalised
    with float64 statistics: ``clip((v - mean) / (std + STD_EPS), -clip, clip)``.

    ``context`` (training windows, `kronos_plugins.training.data.normalise_window`): the scale and the
    statistics come from the first ``context`` rows only and are applied to every row, so the rows after them
    (the horizon) are in the units a forecast from those rows decodes and nothing looks ahead. Default: all
    rows (a forecast context).

    ``price_centre`` (a model's convention, `PRICE_CENTRES`): with "last" the four price columns are moved
    together so that the last context close sits at 0 instead of their mean; ``shift`` moves them a further
    ``shift`` (training's level jitter). The returned price means move the other way, so the identity below
    still holds, and the clip comes after the move (a bar beyond it that the move brings inside keeps its own
    value). "mean" with no shift is the reference's normalisation.

    Returns ``(x, mean, std, scale)``: x (T, 6) float32; mean, population std (of the scaled values) and
    the scale each (6,) float64. ``(x * (std + STD_EPS) + mean) * scale`` undoes it (before clipping).
    """
    v = np.asarray(values, dtype=np.float64)
    n = len(v) if context is None else int(context)
    scale = column_scales(v[:n])
    v = (v / scale).astype(np.float32).astype(np.float64)
    mean, std = v[:n].mean(axis=0), v[:n].std(axis=0)
    x = (v - mean) / (std + STD_EPS)
    move = float(shift) - (x[n - 1, 3] if check_price_centre(price_centre) == "last" else 0.0)
    if move:
        x[:, :4] += move
        mean[:4] -= move * (std[:4] + STD_EPS)
    return np.clip(x, -clip, clip).astype(np.float32), mean, std, scale


# ------------------------------------------------------------------------------------------------------------
# One validated series, and windows of it


@dataclass
class SeriesData:
    """One validated context: complete bars and calendar, ready to be cut into windows.

    Attributes
    ----------
    name : str
        How errors name the series (``"context"`` or ``"context[i]"``).
    bars : numpy.ndarray
        (T, 6) float64 in `KRONOS_COLUMNS` order, constructed columns included.
    present : tuple of str
        The Kronos columns the input held (before construction).
    constructed : tuple of str
        Columns constructed by the reference's rules.
    timestamps : pandas.DatetimeIndex or None
        None for a series without timestamps (the constant calendar stamp).
    stamps : numpy.ndarray
        (T, 5) float32 calendar features of every bar.
    widened : dict or None
        ``ohlc="widen"``: ``{"count", "rows"}`` of the bars whose high/low were widened.
    """

    name: str
    bars: np.ndarray
    present: tuple[str, ...]
    constructed: tuple[str, ...]
    timestamps: pd.DatetimeIndex | None
    stamps: np.ndarray
    widened: dict | None = None

    def __len__(self) -> int:
        return len(self.bars)

    def realised(self) -> pd.DataFrame:
        """The bars the input held (present columns only), float64, positions as index."""
        return pd.DataFrame(
            {c: self.bars[:, KRONOS_COLUMNS.index(c)] for c in KRONOS_COLUMNS if c in self.present}
        )


def validate_series(
    df: pd.DataFrame,
    name: str = "context",
    column_mapping=None,
    missing_timestamps: str = "raise",
    allow_non_positive: bool = False,
    ohlc: str = "raise",
) -> SeriesData:
    """Validate one context frame once and complete it (see `KronosPipeline.forecast` for the rules)."""
    valid = validate_context(
        df,
        name=name,
        min_length=MIN_CONTEXT_BARS,
        column_mapping=column_mapping,
        require_positive=not allow_non_positive,
        ohlc=ohlc,
    )
    ts = valid.timestamps
    if ts is None and missing_timestamps != "constant":
        raise KronosInputError(
            f"`{name}` has no timestamps (no DatetimeIndex and no `timestamps` column). Kronos embeds the "
            "minute, hour, weekday, day and month of every bar; give the frame a DatetimeIndex, or pass "
            "`missing_timestamps='constant'` to use one fixed calendar stamp for every bar."
        )
    frame, constructed = complete_volume_amount(valid.frame)
    if constructed:
        logger.info("%s: constructed %s by the reference's rules", name, constructed)
    if valid.widened and valid.widened["count"]:
        logger.info("%s: widened high/low of %d bar(s) (ohlc='widen')", name, valid.widened["count"])
    stamps = np.tile(NO_CALENDAR_STAMP, (len(frame), 1)) if ts is None else time_features(ts)
    return SeriesData(
        name=name,
        bars=frame[list(KRONOS_COLUMNS)].to_numpy(dtype=np.float64),
        present=tuple(valid.frame.columns),
        constructed=constructed,
        timestamps=ts,
        stamps=stamps,
        widened=valid.widened,
    )


@dataclass
class PreparedContext:
    """One normalised context window: what the tokenizer reads, and how to return to price units."""

    x: np.ndarray  # (Tc, 6) float32, normalised and clipped
    mean: np.ndarray  # (6,) float64, of the scaled bars
    std: np.ndarray  # (6,) float64, population, of the scaled bars
    x_stamp: np.ndarray  # (Tc, 5) float32 calendar features
    timestamps: pd.DatetimeIndex | None  # None for a series without timestamps (constant calendar)
    constructed: tuple[str, ...]  # columns constructed by the reference's rules
    scales: np.ndarray  # (6,) float64: the power of ten each column was divided by (1: the reference's)
    # the window's last close, in price units (what anchoring moves paths to)
    last_close: float = math.nan

    @property
    def scale(self) -> float:
        """The power of ten the prices were rescaled by (1.0: the reference's normalisation)."""
        return float(self.scales[0])

    def denormalise(self, z: np.ndarray, candle_head: str = "direct") -> np.ndarray:
        """Decoded bars (..., 6) back to price units (float64).

        `candle_head` is the decoding tokenizer's (`kronos_plugins.candle_head`): with ``"wicks"`` the high and
        low outputs are wicks around open and close, and the candles come back consistent by construction
        (``"wicks-floor"``: volume and amount non-negative as well).
        """
        prices = (np.asarray(z, dtype=np.float64) * (self.std + STD_EPS) + self.mean) * self.scales
        return head_prices(z, prices, (self.std + STD_EPS) * self.scales, candle_head)


def prepare_window(
    series: SeriesData, start: int = 0, stop: int | None = None, price_centre: str = "mean"
) -> PreparedContext:
    """Normalise bars ``start:stop`` of a validated series (statistics of that window only), prices centred
    at `price_centre` (the model's convention, `PRICE_CENTRES`)."""
    stop = len(series) if stop is None else stop
    x, mean, std, scales = normalise(series.bars[start:stop], price_centre=price_centre)
    ts = None if series.timestamps is None else series.timestamps[start:stop]
    return PreparedContext(
        x,
        mean,
        std,
        series.stamps[start:stop],
        ts,
        series.constructed,
        scales,
        float(series.bars[stop - 1, 3]),
    )


def prepare_series(
    df,
    name="context",
    column_mapping=None,
    missing_timestamps="raise",
    allow_non_positive=False,
    ohlc="raise",
    price_centre="mean",
) -> PreparedContext:
    """Validate, complete and normalise one whole context frame (`validate_series` + `prepare_window`)."""
    return prepare_window(
        validate_series(df, name, column_mapping, missing_timestamps, allow_non_positive, ohlc),
        price_centre=price_centre,
    )


# ------------------------------------------------------------------------------------------------------------
# The forecast bars' calendar


def future_stamps(
    timestamps: pd.DatetimeIndex | None, n_context: int, horizon: int, future=None, name: str = "context"
) -> tuple[pd.Index, np.ndarray]:
    """The forecast's index and calendar features (H, 5) after a context of `n_context` bars with `timestamps`:
    `future` if given (checked), else inferred; integer positions when the context has no timestamps."""
    if timestamps is None:
        # No calendar: every future bar gets the same stamp; the "timestamps" are the integer positions after
        # the context.
        if future is not None:
            raise KronosInputError(
                f"`future_timestamps` given for `{name}`, whose context has no timestamps."
            )
        return pd.RangeIndex(n_context, n_context + horizon), np.tile(NO_CALENDAR_STAMP, (horizon, 1))
    ts = timestamps
    if future is None:
        future = infer_future_timestamps(ts, horizon)
    else:
        future = pd.DatetimeIndex(future)
        if len(future) != horizon:
            raise KronosInputError(
                f"`future_timestamps` for `{name}` has {len(future)} entries; `horizon` is {horizon}."
            )
        if future.hasnans or not future.is_monotonic_increasing or not future.is_unique:
            raise KronosInputError(
                f"`future_timestamps` for `{name}` must be unique, sorted and without NaT."
            )
        if future[0] <= ts[-1]:
            raise KronosInputError(
                f"`future_timestamps` for `{name}` starts at {future[0]}, not after the context's last "
                f"timestamp {ts[-1]}."
            )
    return future, time_features(future)


def series_futures(future, n: int) -> list:
    """`future_timestamps` as one entry per series: None, one index shared by all, or one index each."""
    if future is None:
        return [None] * n
    if isinstance(future, (pd.Index, pd.Series, np.ndarray)) or (
        len(future) and not isinstance(future[0], (pd.Index, pd.Series, np.ndarray, list, tuple))
    ):
        return [pd.DatetimeIndex(future)] * n  # one index shared by every series
    if len(future) != n:
        raise KronosInputError(f"`future_timestamps` has {len(future)} indexes for {n} series.")
    return list(future)


# ------------------------------------------------------------------------------------------------------------
# Random streams


def resolve_seed(seed: int | Sequence[int] | None) -> int | Sequence[int]:
    """`seed`, or fresh entropy for None: one value, so that several calls can share the random streams
    (per-series seeds are returned as they are)."""
    return int(np.random.SeedSequence().entropy) if seed is None else seed


def series_streams(
    seed: int | tuple[int, ...] | None, series_offset: int, owners: Sequence[int]
) -> tuple[int | tuple[int, ...] | None, list[int]]:
    """The `path_uniforms` seed and streams of rows that belong to the series at positions `owners` of a call.

    One seed: row r draws from stream ``series_offset + owners[r]`` of it. A tuple of per-series seeds: row r
    draws from stream 0 of ``seed[owners[r]]``, the stream of that series forecast alone with its seed.
    """
    if isinstance(seed, tuple):
        return tuple(seed[i] for i in owners), [0] * len(owners)
    return seed, [series_offset + i for i in owners]


def path_uniforms(
    seed: int | tuple[int, ...] | None, streams: Sequence[int], num_samples: int, horizon: int
) -> torch.Tensor:
    """Uniforms (len(streams), S, H, 2) driving the draws; path j of row r has its own stream
    ``(seed, streams[r], j)`` (float64); with a tuple of seeds, one per row, ``(seed[r], streams[r], j)``.

    ``streams[r]`` is the position of the row's series in the caller's collection, so the same seed gives the
    same path whatever the batching (a calibration pseudo-forecast reuses its series' streams), the first k of
    more samples are the paths of ``num_samples=k``, and a shorter horizon uses the first steps' uniforms of a
    longer one.
    """
    seeds = seed if isinstance(seed, tuple) else (seed,) * len(streams)
    if len(seeds) != len(streams):
        raise ValueError(f"{len(seeds)} seeds for {len(streams)} rows")
    entropies = {s: np.random.SeedSequence(s).entropy for s in set(seeds)}
    out = np.empty((len(streams), num_samples, horizon, 2))
    cache: dict[tuple, np.ndarray] = {}
    for r, (row_seed, stream) in enumerate(zip(seeds, streams, strict=True)):
        if (row_seed, stream) not in cache:
            block = np.empty((num_samples, horizon, 2))
            for j in range(num_samples):
                key = (int(stream), j)
                sequence = np.random.SeedSequence(entropies[row_seed], spawn_key=key)
                block[j] = np.random.Generator(np.random.PCG64(sequence)).random((horizon, 2))
            cache[(row_seed, stream)] = block
        out[r] = cache[(row_seed, stream)]
    return torch.from_numpy(out)
