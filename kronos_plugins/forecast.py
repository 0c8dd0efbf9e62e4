"""`KronosForecast`: every sample path of a forecast, with summaries and a tidy export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kronos_plugins.quantiles import sample_quantile


@dataclass
class KronosForecast:
    """Sample paths of one `KronosPipeline.forecast` call.

    Attributes
    ----------
    samples : numpy.ndarray
        float64, shaped (n_series, num_samples, horizon, n_columns), in the input's price (and volume) units.
        Each series' slice is in GluonTS `SampleForecast` order (num_samples, prediction_length, target_dim).
    columns : tuple of str
        Column names of the last axis: always ``("open", "high", "low", "close", "volume", "amount")``.
    timestamps : list of pandas.DatetimeIndex
        The forecast timestamps of each series (length horizon).
    constructed_columns : list of tuple of str
        Per series, the input columns that were missing and constructed by the reference's rules (volume and
        amount as 0 when volume is missing; amount as volume x mean(OHLC) when only amount is missing). Their
        forecasts carry no information from data.
    item_ids : list
        Identifier of each series (its position, unless the caller named them).
    calibration : list of dict, optional
        Per series, what calibration did (method, origins, factors, scores; see
        `kronos_plugins.calibration.calibrate_samples`); None for an uncalibrated forecast.
    info : dict
        What preparation did to the input, one list entry per series. ``"price_scale"``: the power of ten the
        prices were rescaled by before normalising (1.0 for ordinary levels; see
        `kronos_plugins.preparation`). ``"ohlc_widened"`` (with ``ohlc="widen"`` only): ``{"count": bars
        widened, "rows": the first of them}``, each row with its position ``row``, index ``label``, the given
        ``open``, ``high``, ``low``, ``close`` and the ``high_widened`` / ``low_widened`` values used.
    """

    samples: np.ndarray
    columns: tuple[str, ...]
    timestamps: list[pd.DatetimeIndex]
    constructed_columns: list[tuple[str, ...]] = field(default_factory=list)
    item_ids: list = field(default_factory=list)
    calibration: list[dict] | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.item_ids:
            self.item_ids = list(range(self.samples.shape[0]))

    @property
    def n_series(self) -> int:
        return self.samples.shape[0]

    @property
    def num_samples(self) -> int:
        return self.samples.shape[1]

    @property
    def horizon(self) -> int:
        return self.samples.shape[2]

    def column(self, name: str) -> np.ndarray:
        """Samples of one column, shaped (n_series, num_samples, horizon)."""
        if name not in self.columns:
            raise KeyError(f"column `{name}` is not in the forecast; columns are {list(self.columns)}")
        return self.samples[..., self.columns.index(name)]

    def mean(self) -> np.ndarray:
        """Mean over samples: (n_series, horizon, n_columns). The reference predictor returns this."""
        return self.samples.mean(axis=1)

    def median(self) -> np.ndarray:
        """Median over samples: (n_series, horizon, n_columns)."""
        return np.median(self.samples, axis=1)

    def quantile(self, q: float | Sequence[float]) -> np.ndarray:
        """Empirical quantile(s) over samples, at plotting position ``q (num_samples + 1)``.

        The estimator of :mod:`kronos_plugins.quantiles`: the central interval between the ``(1 - c) / 2`` and
        ``(1 + c) / 2`` quantiles holds a new draw from the forecast's distribution with probability ``c`` (numpy's
        default linear interpolation makes a 95 % interval of 100 paths a 93 % one).
        A scalar `q` gives (n_series, horizon, n_columns); a sequence gives (n_series, len(q), horizon, n_columns).
        """
        qs = np.asarray(q, dtype=float)
        out = sample_quantile(
            self.samples, qs, axis=1
        )  # (len(q), n_series, horizon, n_columns) or no first axis
        return out if qs.ndim == 0 else np.moveaxis(out, 0, 1)

    def to_dataframe(
        self, quantiles: Sequence[float] = (0.1, 0.5, 0.9), samples: bool = False
    ) -> pd.DataFrame:
        """Tidy export.

        With ``samples=False`` (default): one row per (item_id, timestamp, column) with ``mean`` and one column
        per quantile level (named like ``q0.1``). With ``samples=True``: one row per (item_id, sample, timestamp)
        and one column per forecast column.
        """
        frames = []
        for i, item in enumerate(self.item_ids):
            ts = self.timestamps[i]
            if samples:
                S, H, C = self.samples[i].shape
                frame = pd.DataFrame(self.samples[i].reshape(S * H, C), columns=list(self.columns))
                frame.insert(0, "timestamp", np.tile(np.asarray(ts), S))
                frame.insert(0, "sample", np.repeat(np.arange(S), H))
            else:
                H, C = self.horizon, len(self.columns)
                frame = pd.DataFrame(
                    {
                        "timestamp": np.repeat(np.asarray(ts), C),
                        "column": np.tile(list(self.columns), H),
                        "mean": self.samples[i].mean(axis=0).reshape(-1),
                    }
                )
                for q in quantiles:
                    frame[f"q{q:g}"] = sample_quantile(self.samples[i], q, axis=0).reshape(-1)
            frame.insert(0, "item_id", item)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)
