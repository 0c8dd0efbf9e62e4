"""Kronos in the benchmark, through each of its interfaces, each called through its host's natural API
(see `kronos_plugins.benchmark.models` for what each registry name runs)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from kronos_plugins.calendar import regular_calendar

__all__ = [
    "KronosCalibratedModel",
    "KronosDartsModel",
    "KronosGluonTSModel",
    "KronosPipelineModel",
    "KronosSktimeModel",
]

KRONOS_COLUMNS = ("open", "high", "low", "close", "volume", "amount")
_CLOSE = KRONOS_COLUMNS.index("close")


class _Kronos:
    """Shared settings and checkpoint handling of the four Kronos interfaces."""

    interface = "pipeline"

    def __init__(
        self, checkpoint, tokenizer, max_context, device, temperature, top_k, top_p, lookback, min_p=0.0
    ):
        self.checkpoint = checkpoint
        self.tokenizer = None if tokenizer == "bundled" else tokenizer
        self.max_context = max_context
        self.device = device
        self.temperature = temperature  # None: the checkpoint's default
        self.top_k = top_k
        self.top_p = top_p
        self.min_p = min_p
        self.lookback = lookback
        self._sampling = None
        self.name = f"kronos[{self.interface}]"
        self.anchor = None  # None: the checkpoint's default (`KronosPipeline.anchor`)
        self._pipe = None

    @property
    def sampling(self):
        """The sampling settings of every call: the suite's, resolved by the pipeline, so that a temperature the
        suite leaves at null is the checkpoint's default (`KronosPipeline.default_temperature`)."""
        if self._sampling is None:
            self._sampling = self.pipeline().resolve_sampling(
                {"top_k": self.top_k, "top_p": self.top_p, "min_p": self.min_p}, temperature=self.temperature
            )
        return self._sampling

    @property
    def model_arg(self) -> str | None:
        """``None`` for the bundled checkpoint (the package default of ``from_pretrained``)."""
        return None if self.checkpoint == "bundled" else self.checkpoint

    def pipeline(self):
        """The pipeline, loaded once per forecaster (the adapters share its weights)."""
        from kronos_plugins import KronosPipeline

        if self._pipe is None:
            self._pipe = KronosPipeline.from_pretrained(
                model=self.checkpoint,
                tokenizer=self.tokenizer,
                max_context=self.max_context,
                device=self.device,
                **({} if self.anchor is None else {"anchor": self.anchor}),
            )
        return self._pipe

    def sampling_for(self, num_samples: int):
        """The sampling value of one call: the model's settings with the runner's `num_samples`."""
        return type(self.sampling).resolve(self.sampling, num_samples=num_samples)

    def adapter_args(self, seed: int, num_samples: int | None = None) -> dict:
        """The checkpoint, sampling and seed arguments every adapter takes (``num_samples``: Darts passes its
        own to ``predict``)."""
        return dict(
            model=self.model_arg,
            tokenizer=self.tokenizer,
            max_context=self.max_context,
            device=self.device,
            sampling=self.sampling if num_samples is None else self.sampling_for(num_samples),
            seed=seed,
        )

    def _frame(self, context: pd.DataFrame) -> pd.DataFrame:
        frame = context[[c for c in KRONOS_COLUMNS if c in context.columns]]
        return frame if self.lookback is None else frame.iloc[-self.lookback :]


class KronosPipelineModel(_Kronos):
    """``kronos``: `KronosPipeline.forecast`, one window (`forecast`) or many in one call (`forecast_batch`);
    ``anchor`` (None: the checkpoint's default) is the pipeline's."""

    interface = "pipeline"

    def __init__(self, *args, anchor: bool | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.anchor = anchor

    def forecaster(self):
        """What forecasts: the pipeline itself."""
        return self.pipeline()

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        fc = self.forecaster().forecast(
            context[[c for c in KRONOS_COLUMNS if c in context.columns]],
            horizon=horizon,
            sampling=self.sampling_for(num_samples),
            seed=seed,
            lookback=self.lookback,
        )
        return fc.samples[0, :, :, _CLOSE]

    def forecast_batch(
        self, contexts: list[pd.DataFrame], horizon: int, num_samples: int, seeds: list[int]
    ) -> np.ndarray:
        """Every window in one call, shaped (len(contexts), num_samples, horizon): window i with its own seed
        ``seeds[i]`` gets the paths of ``forecast(contexts[i], ..., seeds[i])`` (the pipeline's per-series
        seeds); the pipeline groups windows of equal length and chunks them by its ``max_batch_rows``."""
        if len(seeds) != len(contexts):
            raise ValueError(f"{len(seeds)} seeds for {len(contexts)} contexts; pass one seed per window.")
        fc = self.forecaster().forecast(
            [c[[k for k in KRONOS_COLUMNS if k in c.columns]] for c in contexts],
            horizon=horizon,
            sampling=self.sampling_for(num_samples),
            seed=[int(s) for s in seeds],
            lookback=self.lookback,
        )
        return fc.samples[:, :, :, _CLOSE]


class KronosCalibratedModel(KronosPipelineModel):
    """``kronos-calibrated``: the `Calibrator` layer over the pipeline, ``{"method", "n_origins"}``; a batch
    runs every pseudo-forecast of every window in one sampling call."""

    interface = "pipeline+calibration"

    def __init__(self, calibration: str = "conformal", n_origins: int = 24, **kronos):
        super().__init__(**kronos)
        self.calibration = {"method": calibration, "n_origins": n_origins}
        self.name = f"kronos[{calibration}]"

    def forecaster(self):
        from kronos_plugins.calibration import Calibrator

        return Calibrator(self.pipeline(), self.calibration)


class KronosDartsModel(_Kronos):
    """``kronos-darts``: Darts `KronosModel` ``fit`` + ``predict`` on a 6-component ``TimeSeries``."""

    interface = "darts"

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        from darts import TimeSeries

        from kronos_plugins.adapters.darts import KronosModel

        frame = context[[c for c in KRONOS_COLUMNS if c in context.columns]]
        index, _ = regular_calendar(pd.DatetimeIndex(frame.index))
        series = TimeSeries.from_times_and_values(
            index, frame.to_numpy(dtype=np.float64), columns=list(frame)
        )
        model = KronosModel(**self.adapter_args(seed), lookback=self.lookback, output_components=["close"])
        model.fit(series)
        pred = model.predict(n=horizon, series=series, num_samples=num_samples, random_state=seed)
        return pred.all_values(copy=False)[:, 0, :].T  # (H, 1, S) -> (S, H)


class KronosSktimeModel(_Kronos):
    """``kronos-sktime``: sktime `KronosForecaster` ``fit(y)`` + ``predict_proba(fh)`` on the OHLCV frame."""

    interface = "sktime"

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        from kronos_plugins.adapters.sktime import KronosForecaster

        y = self._frame(context)
        with warnings.catch_warnings():  # sktime's notice about `remember_data` on every new forecaster
            warnings.simplefilter("ignore", FutureWarning)
            forecaster = KronosForecaster(**self.adapter_args(seed, num_samples))
            forecaster.fit(y)
            dist = forecaster.predict_proba(fh=list(range(1, horizon + 1)))
        # Empirical samples: rows (sample, time) in sample-major order, one column per variable
        return dist.spl["close"].to_numpy(dtype=np.float64).reshape(num_samples, horizon)


class KronosGluonTSModel(_Kronos):
    """``kronos-gluonts``: GluonTS `KronosPredictor` on a one-entry dataset with a ``(6, T)`` target."""

    interface = "gluonts"

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        from kronos_plugins.adapters.gluonts import KronosPredictor

        frame = self._frame(context)
        index, freq = regular_calendar(pd.DatetimeIndex(frame.index))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pandas deprecates Period freq "B"
            start = pd.Period(index[0], freq=freq)
        predictor = KronosPredictor(
            prediction_length=horizon,
            target_columns=list(frame.columns),
            **self.adapter_args(seed, num_samples),
        )
        entry = {"start": start, "target": frame.to_numpy(dtype=np.float64).T}
        forecast = next(iter(predictor.predict([entry])))
        return np.asarray(forecast.samples)[:, :, list(frame.columns).index("close")]
