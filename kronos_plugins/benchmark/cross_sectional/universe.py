"""A universe of assets sharing a calendar, and its rebalance dates on held-out days only.

The split (`kronos_plugins.datasets.load_split`, version 2 and later) reserves two universes for the
cross-sectional benchmark, ``split.cross_sectional[name] -> {asset_id: HeldoutPeriod}``: each asset's bars
from ``context_start`` may serve as context, and forecast targets fall in ``start..end``. `load_universe`
loads them; `Universe.from_frames` builds one from frames of your own (tests, other markets).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "MIN_UNIVERSE_ASSETS",
    "REQUIRED_COLUMNS",
    "Universe",
    "checkpoint_split_version",
    "load_universe",
    "rebalance_schedule",
    "training_overlap",
]

REQUIRED_COLUMNS = ("open", "high", "low", "close")
MIN_UNIVERSE_ASSETS = 5
"""A cross-section of fewer assets than this is refused."""

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Universe:
    """Assets sharing a daily calendar, each frame cut to the bars it may use (context and targets).

    Parameters
    ----------
    name : str
    frames : mapping of str to pd.DataFrame
        ``asset -> bars`` with a sorted, unique, tz-naive DatetimeIndex of days and at least the columns
        open, high, low, close; nothing after `end`.
    start, end : pd.Timestamp
        First and last day of the forecast targets.
    dropped : mapping of str to str
        Assets of the universe left out before any date, with the reason (reported).
    """

    name: str
    frames: Mapping[str, pd.DataFrame]
    start: pd.Timestamp
    end: pd.Timestamp
    dropped: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_frames(
        cls,
        name: str,
        frames: Mapping[str, pd.DataFrame],
        start: str | pd.Timestamp,
        end: str | pd.Timestamp,
        dropped: Mapping[str, str] | None = None,
    ) -> Universe:
        """Check and build a universe; frames are cut at `end` (their bars after it are never used).

        Raises
        ------
        ValueError
            Too few assets, a frame without a DatetimeIndex or lacking a price column, `start` after `end`.
        """
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        if start > end:
            raise ValueError(f"universe {name!r}: `start` {start.date()} is after `end` {end.date()}.")
        if not isinstance(frames, Mapping):
            raise TypeError(f"universe {name!r}: `frames` must map asset ids to DataFrames.")
        out = {}
        for asset, df in frames.items():
            if not isinstance(df, pd.DataFrame):
                raise TypeError(
                    f"universe {name!r}: asset {asset!r} is a {type(df).__name__}, not a DataFrame."
                )
            missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
            if missing:
                raise ValueError(
                    f"universe {name!r}: asset {asset!r} lacks columns {missing} (it has {list(df.columns)}); "
                    f"each frame needs {list(REQUIRED_COLUMNS)}."
                )
            if not isinstance(df.index, pd.DatetimeIndex):
                raise ValueError(
                    f"universe {name!r}: asset {asset!r} needs a DatetimeIndex of days, got {type(df.index).__name__}."
                )
            if not (df.index.is_monotonic_increasing and df.index.is_unique):
                raise ValueError(f"universe {name!r}: asset {asset!r} has unsorted or repeated timestamps.")
            out[str(asset)] = df[df.index < end + _DAY]
        if len(out) < MIN_UNIVERSE_ASSETS:
            raise ValueError(
                f"universe {name!r} has {len(out)} assets; a cross-section needs at least {MIN_UNIVERSE_ASSETS}."
            )
        return cls(name=name, frames=out, start=start, end=end, dropped=dict(dropped or {}))

    def calendar(self, min_share: float = 0.5) -> pd.DatetimeIndex:
        """Trading days: days on which at least `min_share` of the day's typical number of assets (the median
        count over all days) have a bar, so a stray bar of one asset on a holiday makes no rebalance day."""
        days = pd.Series(
            np.concatenate([df.index.normalize().to_numpy() for df in self.frames.values() if len(df)])
        ).value_counts()
        if days.empty:
            raise ValueError(f"universe {self.name!r} has no bars.")
        keep = days[days >= min_share * days.median()].index
        return pd.DatetimeIndex(sorted(keep))


def rebalance_schedule(
    calendar: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp, *, step: int, horizon: int
) -> pd.DataFrame:
    """Rebalance origins on the calendar whose every target day is held out.

    An origin is a trading day t (the forecast sees bars up to and including t) whose next trading day is on
    or after `start` and whose `horizon`-th next trading day (the exit) is on or before `end`; origins are
    every `step` trading days from the first.

    Returns
    -------
    pd.DataFrame
        ``origin, exit, position`` (position of the origin on the calendar).
    """
    for name, v in (("step", step), ("horizon", horizon)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {v!r}.")
    cal = pd.DatetimeIndex(calendar)
    first = int(cal.searchsorted(pd.Timestamp(start), side="left")) - 1  # the day before the first target
    first = max(first, 0)
    last_exit = int(cal.searchsorted(pd.Timestamp(end), side="right")) - 1
    positions = [i for i in range(first, last_exit - horizon + 1, step)]
    if not positions:
        raise ValueError(
            f"no rebalance date fits: targets {pd.Timestamp(start).date()}..{pd.Timestamp(end).date()} hold "
            f"{max(last_exit - first, 0)} trading days, horizon is {horizon}."
        )
    return pd.DataFrame(
        {"origin": cal[positions], "exit": cal[[i + horizon for i in positions]], "position": positions}
    )


def load_universe(
    name: str, *, split_version: int = 2, loader: Callable[[str], pd.DataFrame] | None = None
) -> Universe:
    """Load one of the split's cross-sectional universes, each asset cut to its context start .. target end.

    Parameters
    ----------
    name : str
        ``"sp500_2009"`` or ``"pse_2017"`` (split version 2 and 3).
    split_version : int, default=2
    loader : callable, optional
        ``asset_id -> frame``; `kronos_plugins.datasets.load` by default.

    Raises
    ------
    ValueError
        An unknown universe (the message lists the split's), or too few assets with bars.
    """
    from kronos_plugins.datasets import load, load_split

    split = load_split(version=split_version)
    if name not in split.cross_sectional:
        known = sorted(split.cross_sectional)
        raise ValueError(
            f"unknown universe {name!r}; split version {split_version} reserves {known}"
            + ("" if known else " (none: use split_version=2 or later)")
            + "."
        )
    periods = split.cross_sectional[name]
    starts = {p.start for p in periods.values()}
    ends = {p.end for p in periods.values()}
    if len(starts) != 1 or len(ends) != 1:
        raise ValueError(
            f"universe {name!r}: its assets do not share one target period ({len(starts)} starts)."
        )
    loader = load if loader is None else loader
    frames, dropped = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # data repairs are in each frame's attrs; the loader reports them
        for asset, period in periods.items():
            df = loader(asset)
            df = df[(df.index >= period.context_start) & (df.index < period.end + _DAY)]
            if df.empty:
                dropped[asset] = "no bar between its context start and the last target day"
                continue
            frames[asset] = df
    return Universe.from_frames(name, frames, starts.pop(), ends.pop(), dropped=dropped)


def training_overlap(
    split, assets: Mapping[str, object] | list[str], first: pd.Timestamp, last: pd.Timestamp
) -> dict[str, object]:
    """What a model trained on `split` saw of a universe's days ``first..last`` (its context start .. end).

    Returns
    -------
    dict
        ``assets``: universe assets with a pretrain or validation period of `split` inside the window (their
        own bars of these days were trained on); ``contemporaneous``: how many assets of `split`, of any
        market, have a training period that overlaps the window (the model saw the market of those days).
    """
    first, last = pd.Timestamp(first), pd.Timestamp(last)

    def overlaps(p) -> bool:
        return bool(p.start <= last and p.end >= first)

    trained = set()
    contemporaneous = set()
    for part in (split.pretrain, split.validation):
        for asset, p in part.items():
            if overlaps(p):
                contemporaneous.add(asset)
                if asset in assets:
                    trained.add(asset)
    return {"assets": sorted(trained), "contemporaneous": len(contemporaneous)}


def leakage(split, periods: Mapping[str, object], last: pd.Timestamp) -> dict[str, object]:
    """What a model trained on `split` saw of a universe whose assets have held-out `periods` (``start`` =
    first target day, ``context_start``), up to `last`.

    Returns ``training_overlap`` over the target days (first ``start`` .. `last`): its ``assets`` were trained
    on some day a forecast is scored on and must be excluded, ``contemporaneous`` counts the split's assets of
    any market trained on those days; plus ``context_only``: universe assets trained on only before the first
    target day, inside the context window (a temporal split: the forecast reads bars the model saw, never the
    future; kept, and reported).
    """
    first_target = min(pd.Timestamp(p.start) for p in periods.values())
    first_context = min(pd.Timestamp(p.context_start) for p in periods.values())
    out = training_overlap(split, list(periods), first_target, last)
    before = training_overlap(split, list(periods), first_context, first_target - pd.Timedelta(days=1))
    out["context_only"] = sorted(set(before["assets"]) - set(out["assets"]))
    return out


def checkpoint_split_version(model_dir: str | Path) -> int | None:
    """The split version a local checkpoint trained on, from the ``bundle.json`` beside its ``model/`` folder
    (None for a checkpoint without one, e.g. a published checkpoint)."""
    path = Path(model_dir)
    for meta in (path / "bundle.json", path.parent / "bundle.json"):
        if meta.is_file():
            split = json.loads(meta.read_text()).get("split") or {}
            version = split.get("version")
            return None if version is None else int(version)
    return None
