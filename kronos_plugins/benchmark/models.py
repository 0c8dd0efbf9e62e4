"""The benchmark's model registry: suite name -> settings schema and factory.

Split by concept: the settings schema is `kronos_plugins.benchmark.model_settings`, the Kronos wrappers
`kronos_plugins.benchmark.kronos_models`, the LSTM `kronos_plugins.benchmark.lstm`, and the calendar helper
`kronos_plugins.calendar.regular_calendar`; this module holds the baseline factories and the registry (and
re-exports those names).

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

``kronos-finetuned`` is the pipeline on weights fine-tuned (:func:`kronos_plugins.training.finetune`) on each
dataset's rows before its first origin, so it scores the same windows as every other model without seeing them.

``kronos-calibrated`` is the pipeline under the calibration layer (:class:`kronos_plugins.calibration.Calibrator`):
its intervals are recalibrated from pseudo-forecasts inside each window's context, so it sees nothing the raw
model does not. Its ``n_origins`` pseudo-forecasts run in one batched call.

``kronos`` and ``kronos-calibrated`` forecast every window of one (dataset, seed, horizon) in ONE batched pipeline
call (``forecast_batch``, chunked by the pipeline's ``max_batch_rows``): each window keeps its own seed, whose
paths are those of a call of its own (per-series seeds), so batching changes no path. The adapters run one
call per window through their host's API.

With the same seed all four draw the same paths for one window, except where a host forces a regular
calendar: Darts and GluonTS index a series by a fixed frequency, so a context with gaps (weekends, holidays)
is relabelled onto a regular grid ending at its last bar (see :func:`regular_calendar`), which changes the
calendar features Kronos sees. The pipeline and sktime keep the real timestamps.
"""

from __future__ import annotations

import importlib
from numbers import Integral
from typing import Any

from kronos_plugins.calendar import regular_calendar

from .finetuned import KronosFinetunedModel, finetuned_settings
from .kronos_models import (
    KronosCalibratedModel,
    KronosDartsModel,
    KronosGluonTSModel,
    KronosPipelineModel,
    KronosSktimeModel,
)
from .lstm import LSTMModel
from .model_settings import (
    ModelSpec,
    Setting,
    anchor_setting,
    choice,
    float_in,
    int_at_least,
    kronos_settings,
)

__all__ = [
    "REGISTRY",
    "KronosCalibratedModel",
    "KronosDartsModel",
    "KronosGluonTSModel",
    "KronosPipelineModel",
    "KronosSktimeModel",
    "LSTMModel",
    "ModelSpec",
    "build_model",
    "model_unavailable",
    "regular_calendar",
    "resolve_settings",
]


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
# The registry
# --------------------------------------------------------------------------------------------------------

_STATS_SETTINGS = {
    "season_length": Setting(1, int_at_least(1), "a positive integer"),
    "level": Setting(95, int_at_least(1), "an interval level in percent, e.g. 95"),
}

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("naive", "last close repeated (the skill-score reference)", {}, _naive, cost=0.01),
        ModelSpec(
            "rw-drift",
            "log random walk with the context's drift",
            {"mode": Setting("normal", choice("normal", "bootstrap"), "'normal' or 'bootstrap'")},
            _rw_drift,
            cost=0.01,
        ),
        ModelSpec(
            "hist-vol-rw",
            "zero-drift log random walk at the recent historical volatility",
            {"window": Setting(20, int_at_least(2), "an integer >= 2")},
            _hist_vol,
            cost=0.01,
        ),
        ModelSpec(
            "seasonal-naive",
            "seasonal random walk with bootstrapped seasonal residuals",
            {"season": Setting(5, int_at_least(1), "a positive integer (rows per season)")},
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
                "dist": Setting(
                    "normal", choice("normal", "t", "skewt", "ged"), "'normal', 't', 'skewt' or 'ged'"
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
                "input_chunk_length": Setting(32, int_at_least(2), "an integer >= 2"),
                "hidden_dim": Setting(16, int_at_least(1), "a positive integer"),
                "n_rnn_layers": Setting(1, int_at_least(1), "a positive integer"),
                "n_epochs": Setting(5, int_at_least(1), "a positive integer"),
                "batch_size": Setting(32, int_at_least(1), "a positive integer"),
                "max_train_bars": Setting(1000, int_at_least(16), "an integer >= 16"),
                "lr": Setting(1e-3, float_in(0.0, 1.0), "a learning rate in (0, 1]"),
            },
            LSTMModel,
            requires=("darts", "pytorch_lightning"),
            needs_fit=True,
            cost=1.0,
        ),
        ModelSpec(
            "kronos",
            "Kronos through KronosPipeline.forecast",
            {**kronos_settings(), "anchor": anchor_setting()},
            KronosPipelineModel,
            requires=("torch",),
            kronos=True,
            batches=True,
            cost=1.0,
        ),
        ModelSpec(
            "kronos-calibrated",
            "Kronos through the calibration layer (Calibrator over KronosPipeline)",
            {
                **kronos_settings(),
                "anchor": anchor_setting(),
                "calibration": Setting("conformal", choice("conformal", "scale"), "'conformal' or 'scale'"),
                "n_origins": Setting(24, int_at_least(1), "a positive integer (pseudo-forecasts per window)"),
            },
            KronosCalibratedModel,
            requires=("torch",),
            kronos=True,
            batches=True,
            cost=25.0,
        ),
        ModelSpec(
            "kronos-finetuned",
            "Kronos fine-tuned on each dataset's history before its first origin (KronosPipeline.forecast)",
            finetuned_settings(),
            KronosFinetunedModel,
            requires=("torch",),
            kronos=True,
            needs_fit=True,
            cost=3.0,
        ),
        ModelSpec(
            "kronos-darts",
            "Kronos through the Darts adapter (KronosModel)",
            kronos_settings(),
            KronosDartsModel,
            requires=("kronos_plugins.adapters.darts",),
            kronos=True,
            cost=1.0,
        ),
        ModelSpec(
            "kronos-sktime",
            "Kronos through the sktime adapter (KronosForecaster)",
            kronos_settings(),
            KronosSktimeModel,
            requires=("kronos_plugins.adapters.sktime",),
            kronos=True,
            cost=1.0,
        ),
        ModelSpec(
            "kronos-gluonts",
            "Kronos through the GluonTS adapter (KronosPredictor)",
            kronos_settings(),
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
