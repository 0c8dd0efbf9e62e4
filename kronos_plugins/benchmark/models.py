"""The benchmark's model registry: suite name -> settings schema and factory.

Every model the harness runs is a *forecaster*: ``forecast(context, horizon, num_samples, seed)`` returns future
close prices shaped ``(num_samples, horizon)``, the contract of :mod:`kronos_plugins.benchmark.baselines`.
Models that learn from the past (the LSTM) also have ``fit(history)``, called once per (dataset, seed) with
every row before the dataset's first forecast origin.

Kronos runs through each of its four interfaces, each called through its host's natural API:

``kronos``
    :meth:`kronos_plugins.KronosPipeline.forecast` on the context frame.
``kronos-darts``
    :class:`kronos_plugins.adapters.darts.KronosModel` ``fit`` + ``predict(n, series, num_samples,
    random_state)`` on a 6-component ``TimeSeries``.
``kronos-sktime``
    :class:`kronos_plugins.adapters.sktime.KronosForecaster` ``fit(y)`` + ``predict_proba(fh)`` on the OHLCV
    frame (the sample paths are the skpro ``Empirical`` distribution's samples).
``kronos-gluonts``
    :class:`kronos_plugins.adapters.gluonts.KronosPredictor` ``predict`` on a one-entry dataset with a
    ``(6, T)`` target.

``kronos-calibrated`` is the pipeline under the calibration layer (:class:`kronos_plugins.calibration.Calibrator`):
its intervals are recalibrated from pseudo-forecasts inside each window's context, so it sees nothing the raw
model does not. Its ``n_origins`` pseudo-forecasts run in one batched call.

With the same seed all four draw the same paths for one window, except where a host forces a regular
calendar: Darts and GluonTS index a series by a fixed frequency, so a context with gaps (weekends, holidays)
is relabelled onto a regular grid ending at its last bar (see :func:`regular_calendar`), which changes the
calendar features Kronos sees. The pipeline and sktime keep the real timestamps.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "REGISTRY",
    "ModelSpec",
    "build_model",
    "model_unavailable",
    "regular_calendar",
    "resolve_settings",
]

KRONOS_COLUMNS = ("open", "high", "low", "close", "volume", "amount")
_CLOSE = KRONOS_COLUMNS.index("close")


# --------------------------------------------------------------------------------------------------------
# Settings schema
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setting:
    default: Any
    check: Callable[[Any], bool]
    expect: str  # how the error message describes a valid value


def _int(minimum: int, optional: bool = False) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        if v is None:
            return optional
        return isinstance(v, Integral) and not isinstance(v, bool) and v >= minimum

    return check


def _float(lo: float, hi: float, lo_open: bool = True) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, Real):
            return False
        return (v > lo if lo_open else v >= lo) and v <= hi

    return check


def _choice(*values: Any) -> Callable[[Any], bool]:
    return lambda v: v in values


def _str(optional: bool = False) -> Callable[[Any], bool]:
    return lambda v: (v is None and optional) or (isinstance(v, str) and v != "")


def _kronos_settings() -> dict[str, _Setting]:
    return {
        "checkpoint": _Setting("bundled", _str(), "a checkpoint directory, a hub id, or 'bundled'"),
        "tokenizer": _Setting(None, _str(optional=True), "a tokenizer directory or hub id (or null)"),
        "max_context": _Setting(None, _int(1, optional=True), "a positive integer (or null)"),
        "device": _Setting("cpu", _str(), "a torch device such as 'cpu'"),
        "temperature": _Setting(1.0, _float(0.0, float("inf")), "a float > 0"),
        "top_k": _Setting(0, _int(0), "an integer >= 0 (0: off)"),
        "top_p": _Setting(1.0, _float(0.0, 1.0), "a float in (0, 1]"),
        "lookback": _Setting(None, _int(8, optional=True), "an integer >= 8 (or null)"),
    }


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry.

    Attributes
    ----------
    name : str
        Registry name used in suites (``model: <name>``).
    description : str
        One line for the docs and the report.
    settings : dict
        Setting name -> default and validator.
    factory : callable
        ``factory(**settings) -> forecaster``.
    requires : tuple of str
        Modules that must import for the model to run (else it is skipped with the reason recorded).
    kronos : bool
        Kronos interfaces get the suite's ``kronos`` defaults and a checkpoint check before the run.
    needs_fit : bool
        The forecaster has ``fit(history)``; its windows of one (dataset, seed) run as one job.
    """

    name: str
    description: str
    settings: dict[str, _Setting]
    factory: Callable[..., Any]
    requires: tuple[str, ...] = ()
    kronos: bool = False
    needs_fit: bool = False
    cost: float = 1.0  # relative cost per window and horizon step, to schedule expensive jobs first
    extra: dict = field(default_factory=dict)


def resolve_settings(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Check ``given`` settings against the schema of model ``name`` and fill in the defaults.

    Raises
    ------
    ValueError
        For an unknown setting or an invalid value (the message names the setting and what it expects).
    """
    spec = REGISTRY[name]
    unknown = sorted(set(given) - set(spec.settings))
    if unknown:
        allowed = sorted(spec.settings) or "none"
        raise ValueError(f"unknown setting(s) {unknown} for model {name!r}; allowed: {allowed}.")
    out = {}
    for key, setting in spec.settings.items():
        value = given.get(key, setting.default)
        if isinstance(value, Integral) and not isinstance(value, bool) and isinstance(setting.default, float):
            value = float(value)  # `temperature: 1` means 1.0
        if not setting.check(value):
            raise ValueError(f"setting `{key}` must be {setting.expect}, found: {value!r}.")
        out[key] = value
    return out


# --------------------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------------------


def _baselines():
    from kronos_plugins.benchmark import baselines

    return baselines


def _naive():
    return _baselines().NaiveLast()


def _rw_drift(mode):
    return _baselines().RandomWalkDrift(mode=mode)


def _hist_vol(window):
    return _baselines().HistoricalVolRW(window=window)


def _seasonal(season):
    return _baselines().SeasonalNaive(season=season)


def _statsforecast(which):
    def factory(season_length, level):
        return _baselines().StatsForecastModel(which, season_length=season_length, level=level)

    return factory


def _garch(dist):
    return _baselines().GarchRW(dist=dist)


# --------------------------------------------------------------------------------------------------------
# Kronos through its four interfaces
# --------------------------------------------------------------------------------------------------------


def regular_calendar(index: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, str]:
    """A regular timestamp grid for hosts that need one (Darts, GluonTS), and its frequency.

    A regular index (``pd.infer_freq`` finds a frequency) is returned unchanged. Otherwise the modal spacing
    sets the frequency (daily bars with no weekend bar: business days ``"B"``) and the grid is the
    ``len(index)`` bars of that frequency ENDING at the last timestamp, so the most recent bars and the
    forecast bars keep their real calendar and only bars before a gap are relabelled.

    Raises
    ------
    ValueError
        If no frequency can be found (e.g. monthly bars with an irregular spacing).
    """
    freq = pd.infer_freq(index) if len(index) >= 3 else None
    if freq is not None:
        return pd.DatetimeIndex(index, freq=freq), freq
    diffs = np.diff(index.asi8)
    values, counts = np.unique(diffs, return_counts=True)
    modal = pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")
    if modal == pd.Timedelta(days=1):
        freq = "D" if (np.asarray(index.weekday) >= 5).any() else "B"
    elif modal < pd.Timedelta(days=1):
        freq = pd.tseries.frequencies.to_offset(modal).freqstr
    else:
        raise ValueError(
            f"cannot put bars spaced {modal} (modal spacing) on a regular grid for Darts/GluonTS; "
            "give the dataset a regular index."
        )
    grid = pd.date_range(end=index[-1], periods=len(index), freq=freq, name=index.name)
    return grid, freq


class _Kronos:
    """Shared settings and checkpoint handling of the four Kronos interfaces."""

    interface = "pipeline"

    def __init__(self, checkpoint, tokenizer, max_context, device, temperature, top_k, top_p, lookback):
        self.checkpoint = checkpoint
        self.tokenizer = None if tokenizer == "bundled" else tokenizer
        self.max_context = max_context
        self.device = device
        self.temperature = temperature
        self.top_k = top_k
        self.top_p = top_p
        self.lookback = lookback
        from kronos_plugins import SamplingConfig

        self.sampling = SamplingConfig(temperature=temperature, top_k=top_k, top_p=top_p)
        self.name = f"kronos[{self.interface}]"
        self._pipe = None

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
            )
        return self._pipe

    def sampling_for(self, num_samples: int):
        """The sampling value of one call: the model's settings with the runner's `num_samples`."""
        return type(self.sampling).resolve(self.sampling, num_samples=num_samples)

    def _frame(self, context: pd.DataFrame) -> pd.DataFrame:
        frame = context[[c for c in KRONOS_COLUMNS if c in context.columns]]
        return frame if self.lookback is None else frame.iloc[-self.lookback :]


class KronosPipelineModel(_Kronos):
    """``kronos``: one `KronosPipeline.forecast` call per window."""

    interface = "pipeline"

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


class KronosCalibratedModel(KronosPipelineModel):
    """``kronos-calibrated``: the `Calibrator` layer over the pipeline, ``{"method", "n_origins"}``."""

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
        model = KronosModel(
            model=self.model_arg,
            tokenizer=self.tokenizer,
            max_context=self.max_context,
            device=self.device,
            sampling=self.sampling,
            seed=seed,
            lookback=self.lookback,
            output_components=["close"],
        )
        model.fit(series)
        pred = model.predict(n=horizon, series=series, num_samples=num_samples, random_state=seed)
        return pred.all_values(copy=False)[:, 0, :].T  # (H, 1, S) -> (S, H)


class KronosSktimeModel(_Kronos):
    """``kronos-sktime``: sktime `KronosForecaster` ``fit(y)`` + ``predict_proba(fh)`` on the OHLCV frame."""

    interface = "sktime"

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        from kronos_plugins.adapters.sktime import KronosForecaster

        y = self._frame(context)
        forecaster = KronosForecaster(
            model=self.model_arg,
            tokenizer=self.tokenizer,
            max_context=self.max_context,
            device=self.device,
            sampling=self.sampling_for(num_samples),
            seed=seed,
        )
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
            model=self.model_arg,
            tokenizer=self.tokenizer,
            max_context=self.max_context,
            device=self.device,
            sampling=self.sampling_for(num_samples),
            seed=seed,
            target_columns=list(frame.columns),
        )
        entry = {"start": start, "target": frame.to_numpy(dtype=np.float64).T}
        forecast = next(iter(predictor.predict([entry])))
        return np.asarray(forecast.samples)[:, :, list(frame.columns).index("close")]


# --------------------------------------------------------------------------------------------------------
# LSTM (Darts RNNModel)
# --------------------------------------------------------------------------------------------------------


class LSTMModel:
    """A small probabilistic LSTM (Darts ``RNNModel``, Gaussian likelihood) on scaled log returns.

    ``fit(history)`` trains on the last ``max_train_bars`` log returns of the rows before the dataset's first
    forecast origin (nothing at or after it). ``forecast`` feeds the window's context returns and samples
    ``num_samples`` return paths, which become price paths from the last context close.
    """

    def __init__(
        self, input_chunk_length, hidden_dim, n_rnn_layers, n_epochs, batch_size, max_train_bars, lr
    ):
        self.input_chunk_length = input_chunk_length
        self.hidden_dim = hidden_dim
        self.n_rnn_layers = n_rnn_layers
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.max_train_bars = max_train_bars
        self.lr = lr
        self.name = "LSTM"
        self._model = None
        self._scale = 1.0

    @staticmethod
    def _returns(close: np.ndarray) -> np.ndarray:
        return np.diff(np.log(np.asarray(close, dtype=np.float64)))

    def _series(self, r: np.ndarray):
        from darts import TimeSeries

        return TimeSeries.from_values((r / self._scale).astype(np.float32).reshape(-1, 1))

    def fit(self, history: pd.DataFrame, seed: int = 0) -> LSTMModel:
        import logging

        from darts.models import RNNModel
        from darts.utils.likelihood_models import GaussianLikelihood

        for name in ("pytorch_lightning", "lightning", "lightning.pytorch", "lightning_fabric"):
            logging.getLogger(name).setLevel(logging.ERROR)
        r = self._returns(history["close"].to_numpy())[-self.max_train_bars :]
        if len(r) < self.input_chunk_length + 2:
            raise ValueError(
                f"the LSTM needs at least {self.input_chunk_length + 3} bars before the first origin, "
                f"found {len(r) + 1}; lower `input_chunk_length` or add history."
            )
        self._scale = float(np.std(r)) or 1.0
        self._model = RNNModel(
            model="LSTM",
            input_chunk_length=self.input_chunk_length,
            training_length=self.input_chunk_length + 8,
            hidden_dim=self.hidden_dim,
            n_rnn_layers=self.n_rnn_layers,
            n_epochs=self.n_epochs,
            batch_size=self.batch_size,
            likelihood=GaussianLikelihood(),
            optimizer_kwargs={"lr": self.lr},
            random_state=seed,
            pl_trainer_kwargs={
                "accelerator": "cpu",
                "enable_progress_bar": False,
                "enable_model_summary": False,
                "logger": False,
                "enable_checkpointing": False,
            },
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._model.fit(self._series(r), verbose=False)
        return self

    def forecast(self, context: pd.DataFrame, horizon: int, num_samples: int, seed: int) -> np.ndarray:
        if self._model is None:
            raise RuntimeError(
                "the LSTM must be fit before it forecasts; the runner calls `fit(history)` first."
            )
        close = context["close"].to_numpy(dtype=np.float64)
        r = self._returns(close)[-max(self.input_chunk_length, 1) :]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = self._model.predict(
                n=horizon, series=self._series(r), num_samples=num_samples, verbose=False, random_state=seed
            )
        draws = pred.all_values(copy=False)[:, 0, :].T.astype(np.float64) * self._scale  # (S, H)
        return close[-1] * np.exp(np.cumsum(draws, axis=1))


# --------------------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------------------

_STATS_SETTINGS = {
    "season_length": _Setting(1, _int(1), "a positive integer"),
    "level": _Setting(95, _int(1), "an interval level in percent, e.g. 95"),
}

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("naive", "last close repeated (the skill-score reference)", {}, _naive, cost=0.01),
        ModelSpec(
            "rw-drift",
            "log random walk with the context's drift",
            {"mode": _Setting("normal", _choice("normal", "bootstrap"), "'normal' or 'bootstrap'")},
            _rw_drift,
            cost=0.01,
        ),
        ModelSpec(
            "hist-vol-rw",
            "zero-drift log random walk at the recent historical volatility",
            {"window": _Setting(20, _int(2), "an integer >= 2")},
            _hist_vol,
            cost=0.01,
        ),
        ModelSpec(
            "seasonal-naive",
            "seasonal random walk with bootstrapped seasonal residuals",
            {"season": _Setting(5, _int(1), "a positive integer (rows per season)")},
            _seasonal,
            cost=0.01,
        ),
        ModelSpec(
            "autoarima",
            "statsforecast AutoARIMA on log closes",
            dict(_STATS_SETTINGS),
            _statsforecast("AutoARIMA"),
            requires=("statsforecast",),
            cost=0.5,
        ),
        ModelSpec(
            "autoets",
            "statsforecast AutoETS on log closes",
            dict(_STATS_SETTINGS),
            _statsforecast("AutoETS"),
            requires=("statsforecast",),
            cost=0.2,
        ),
        ModelSpec(
            "theta",
            "statsforecast Theta on log closes",
            dict(_STATS_SETTINGS),
            _statsforecast("Theta"),
            requires=("statsforecast",),
            cost=0.05,
        ),
        ModelSpec(
            "garch",
            "GARCH(1,1) on log returns, simulated with arch",
            {
                "dist": _Setting(
                    "normal", _choice("normal", "t", "skewt", "ged"), "'normal', 't', 'skewt' or 'ged'"
                )
            },
            _garch,
            requires=("arch",),
            cost=0.1,
        ),
        ModelSpec(
            "lstm",
            "small probabilistic LSTM (Darts RNNModel) trained on each asset's pre-test history",
            {
                "input_chunk_length": _Setting(32, _int(2), "an integer >= 2"),
                "hidden_dim": _Setting(16, _int(1), "a positive integer"),
                "n_rnn_layers": _Setting(1, _int(1), "a positive integer"),
                "n_epochs": _Setting(5, _int(1), "a positive integer"),
                "batch_size": _Setting(32, _int(1), "a positive integer"),
                "max_train_bars": _Setting(1000, _int(16), "an integer >= 16"),
                "lr": _Setting(1e-3, _float(0.0, 1.0), "a learning rate in (0, 1]"),
            },
            LSTMModel,
            requires=("darts", "pytorch_lightning"),
            needs_fit=True,
            cost=1.0,
        ),
        ModelSpec(
            "kronos",
            "Kronos through KronosPipeline.forecast",
            _kronos_settings(),
            KronosPipelineModel,
            requires=("torch",),
            kronos=True,
            cost=1.0,
        ),
        ModelSpec(
            "kronos-calibrated",
            "Kronos through the calibration layer (Calibrator over KronosPipeline)",
            {
                **_kronos_settings(),
                "calibration": _Setting("conformal", _choice("conformal", "scale"), "'conformal' or 'scale'"),
                "n_origins": _Setting(24, _int(1), "a positive integer (pseudo-forecasts per window)"),
            },
            KronosCalibratedModel,
            requires=("torch",),
            kronos=True,
            cost=25.0,
        ),
        ModelSpec(
            "kronos-darts",
            "Kronos through the Darts adapter (KronosModel)",
            _kronos_settings(),
            KronosDartsModel,
            requires=("kronos_plugins.adapters.darts",),
            kronos=True,
            cost=1.0,
        ),
        ModelSpec(
            "kronos-sktime",
            "Kronos through the sktime adapter (KronosForecaster)",
            _kronos_settings(),
            KronosSktimeModel,
            requires=("kronos_plugins.adapters.sktime",),
            kronos=True,
            cost=1.0,
        ),
        ModelSpec(
            "kronos-gluonts",
            "Kronos through the GluonTS adapter (KronosPredictor)",
            _kronos_settings(),
            KronosGluonTSModel,
            requires=("kronos_plugins.adapters.gluonts",),
            kronos=True,
            cost=1.0,
        ),
    )
}


def model_unavailable(name: str, settings: dict[str, Any]) -> str | None:
    """Why model ``name`` cannot run here (a missing module, an unloadable checkpoint), or None.

    Kronos interfaces load their checkpoint once here, so a missing bundled checkpoint or a bad path skips
    the model with the loader's message instead of failing every window.
    """
    spec = REGISTRY[name]
    for module in spec.requires:
        try:
            importlib.import_module(module)
        except Exception as err:  # ImportError, or an adapter that fails while being written
            return f"cannot import {module}: {type(err).__name__}: {err}"
    if spec.kronos:
        try:
            build_model(name, settings).pipeline()
        except Exception as err:
            what = "the bundled checkpoint" if settings["checkpoint"] == "bundled" else settings["checkpoint"]
            return f"cannot load {what}: {type(err).__name__}: {err}"
    return None


def build_model(name: str, settings: dict[str, Any]):
    """A forecaster for registry entry ``name`` with resolved ``settings``."""
    return REGISTRY[name].factory(**settings)
