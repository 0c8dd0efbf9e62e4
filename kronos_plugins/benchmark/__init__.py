"""Benchmark library: rolling-origin splits, probabilistic baselines and forecast metrics.

``splits`` needs only numpy and pandas. ``metrics`` and ``baselines`` need the ``bench`` extra
(``pip install 'kronos-plugins[bench]'``), so their names are imported lazily on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from kronos_plugins.benchmark.splits import Window, fingerprint, make_windows

_LAZY = {
    "Baseline": "baselines",
    "GarchRW": "baselines",
    "HistoricalVolRW": "baselines",
    "NaiveLast": "baselines",
    "RandomWalkDrift": "baselines",
    "SeasonalNaive": "baselines",
    "StatsForecastModel": "baselines",
    "DMResult": "metrics",
    "SkillScore": "metrics",
    "diebold_mariano": "metrics",
    "score_window": "metrics",
    "skill_score": "metrics",
}

__all__ = ["Window", "fingerprint", "make_windows", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"kronos_plugins.benchmark.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'kronos_plugins.benchmark' has no attribute {name!r}")
