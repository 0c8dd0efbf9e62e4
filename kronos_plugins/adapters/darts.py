"""Darts adapter: `KronosModel`, a global, probabilistic Darts forecasting model, zero-shot or fine-tuned.

A thin translator: a Darts ``TimeSeries`` becomes an OHLCV frame for `KronosPipeline.forecast`, and the
forecast's sample paths become a stochastic ``TimeSeries`` (time x components x samples). Sampling,
normalisation and validation of the values are the pipeline's.

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..calibration import CalibrationConfig
from ..columns import frame_from_close
from ..config import SamplingConfig
from ..preparation import MIN_CONTEXT_BARS
from ..validation import (
    KRONOS_COLUMNS,
    KronosInputError,
    check_positive_int,
    prepare_context,
    resolve_columns,
)
from ._common import KronosSettings, base_name, finetune_settings, require

require("darts", "KronosModel", "darts")

from darts import TimeSeries  # noqa: E402
from darts.models.forecasting.forecasting_model import GlobalForecastingModel  # noqa: E402
from darts.utils.ts_utils import series2seq  # noqa: E402
from darts.utils.utils import generate_index  # noqa: E402

__all__ = ["KronosModel"]


@dataclass
class _Layout:
    """How one Darts series is handed to the pipeline and read back."""

    frame: pd.DataFrame  # Kronos columns (open, high, low, close[, volume[, amount]]), the series' index
    outputs: list[tuple[str, str]]  # (component, Kronos column) of each output component, in series order
    future: pd.Index  # the Darts continuation of the series' time index, length n


class KronosModel(GlobalForecastingModel):
    """Kronos as a global, probabilistic Darts model: zero-shot by default, fine-tuned by `fit` on request.

    Every `predict` call samples ``num_samples`` future paths per series with `KronosPipeline.forecast` and
    returns them as a stochastic ``TimeSeries`` shaped (n, components, num_samples), indexed by the Darts
    continuation of the series' time index. It works in ``historical_forecasts`` (with or without
    ``retrain``; no training happens either way) and ``backtest`` with Darts' probabilistic metrics.

    Parameters
    ----------
    model, tokenizer : str or path, optional
        Checkpoint directories or hub ids, as in `KronosPipeline.from_pretrained`; None (the default) is the
        small checkpoint bundled with the package, offline. The weights are loaded on first use and shared by
        every model with the same checkpoints and device.
    max_context : int, optional
        Tokens the model sees; defaults to the checkpoint's (128 bundled, 512 Kronos-small/-base, 2048
        Kronos-mini).
    device : str, optional
        Torch device, default ``"cpu"``.
    num_samples : None
        Not a setting of this model: the number of sample paths is Darts' own ``predict(num_samples=...)``
        argument (default 1), as for every Darts model, and ``historical_forecasts`` / ``backtest`` take it
        too. Any value here raises `KronosInputError`, instead of being silently ignored.
    temperature, top_k, top_p : float, int, float, optional
        Sampling settings (see `kronos_plugins.config.SamplingConfig`); each one given replaces that field of
        `sampling` (defaults: the checkpoint's temperature, 1.0 unless its ``bundle.json`` names one; 0; 1.0).
    seed : int, optional
        Seed of the sample paths. Series ``i`` of one `predict` call, sample ``j`` uses the stream
        (seed, i, j), so a series predicted alone (or first) gets exactly the paths of
        ``KronosPipeline.forecast`` on the same window with the same seed. Darts' ``random_state`` argument of
        `predict` / ``historical_forecasts``, when given, replaces it for that call.
    column_mapping : dict, optional
        Kronos column -> component name, e.g. ``{"close": "Adj Close"}``. Components not named here are
        matched to Kronos columns by name, ignoring case. open, high, low and close are required; volume and
        amount are optional (constructed by the reference's rules when absent). Unused for univariate series.
    output_components : list of str, optional
        Components to forecast. Default: every component of the input that maps to a Kronos column, in the
        input's order. Components that map to no Kronos column are never forecast.
    lookback : int, optional
        Use only the last `lookback` bars of each context (None: the pipeline's default, the
        bundled checkpoint's default context of 64 bars (its bundle.json), or the whole history up to the origin for published
        checkpoints).
    allow_non_positive : bool, default=False
        Accept values <= 0 in price components (series that are not prices, e.g. spreads or returns); by
        default they are an error.
    calibration : {None, "conformal", "scale"}, dict or CalibrationConfig, optional
        Calibrate the sample paths from pseudo-forecasts inside each series up to the origin (the
        `Calibrator` layer, see `kronos_plugins.calibration`); its pseudo-forecasts cost ``n_origins``
        forecasts per series and `predict`, run in one batched call. Needs ``num_samples > 1`` in `predict`.
    sampling : SamplingConfig or dict, optional
        The sampling settings as one value (its ``num_samples`` is not used: Darts passes that to `predict`).
    ohlc : {"raise", "widen"}, default="raise"
        Bars whose high/low do not hold their open and close: an error, or widened (see
        `KronosPipeline.forecast`).
    enable_finetuning : bool or dict, default=False
        False: zero-shot, `fit` trains nothing. True: `fit` fine-tunes a copy of the weights on the series
        (`kronos_plugins.training.finetune`; the model stage, every parameter). ``{"freeze": [patterns]}`` keeps
        the parameters matching those name patterns fixed, ``{"unfreeze": [patterns]}`` trains only them
        (e.g. ``{"unfreeze": ["head*", "transformer.3.*"]}``); a pattern that matches no parameter is an
        error at `fit`.
    finetune_config : FinetuneConfig or dict, optional
        The other fine-tuning settings (``steps``, ``lr``, ``batch_size``, ``context``, ``horizon``,
        ``patience``, ``val_fraction``, ``seed``, ...; see `kronos_plugins.training.finetune.FinetuneConfig`).

    Notes
    -----
    **Fine-tuning.** With `enable_finetuning`, ``fit(series, val_series=...)`` fine-tunes on the series
    (windows wholly inside each one, each normalised with its own context bars) and stops early on the
    validation series (a ``val_series`` that starts after its training series gets that series' last context
    bars prepended, so its targets are the validation bars only; without ``val_series``, the last
    ``val_fraction`` of each series). The weights are a copy: no other model or pipeline changes.
    ``finetune_result_`` holds the losses and the data span; `save` writes the weights (safetensors) to a
    directory beside the pickle, ``<path>.kronos/``, that `load` reads back and that
    ``KronosPipeline.from_pretrained`` and ``KronosModel(model=...)`` also load. In
    ``historical_forecasts(retrain=True)`` every retraining fine-tunes again (from the base checkpoint).

    **Univariate series.** A series with one component (any name) is read as closes and turned into bars by
    `kronos_plugins.columns.frame_from_close`: each bar opens at the previous close (the first at its own
    close), high = max(open, close), low = min(open, close), and volume = amount = 0. The forecast is the
    close column, returned as a univariate series with the input's component name.

    **num_samples=1.** Returns one sampled path (stream (seed, i, 0), the first path of any larger request),
    not a median: Kronos has no quantile head, and a single draw is what Darts' probabilistic models (such as
    ``Chronos2Model`` with a ``QuantileRegression`` likelihood) return for ``num_samples=1``. Ask for
    ``num_samples>1`` for distributions; Darts' point metrics then score the median of the samples.

    **Calendar.** A ``DatetimeIndex`` series is passed with its timestamps, and the forecast timestamps are
    the Darts continuation of its frequency (``series.freq``: 5-minute bars continue every 5 minutes,
    business-day bars skip weekends); the pipeline builds Kronos' calendar features (minute, hour, weekday,
    day 1-31, month 1-12) from them. A ``RangeIndex`` series has no dates: it is forecast with
    ``missing_timestamps="constant"`` (one fixed calendar stamp for every bar, no invented dates), and the
    result continues the integer index. One call cannot mix the two kinds of index.

    **Context.** The whole series up to the forecast origin is the context (the last 64 bars with the bundled
    checkpoint, its default context): the pipeline normalises over it and the model sees its last
    ``max_context`` tokens. Set ``lookback`` (e.g. to ``max_context``) to use only
    the last bars, which keeps rolling backtests over long histories fast and their statistics local.

    Covariates, training and likelihood parameters are not supported.

    Examples
    --------
    >>> from kronos_plugins.adapters.darts import KronosModel  # doctest: +SKIP
    >>> model = KronosModel(model="NeoQuasar/Kronos-small", seed=0)  # doctest: +SKIP
    >>> model.fit(ohlcv_series)  # doctest: +SKIP
    >>> pred = model.predict(n=12, num_samples=100)  # doctest: +SKIP
    >>> pred.all_values().shape  # (time, components, samples)  # doctest: +SKIP
    (12, 5, 100)

    References
    ----------
    Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        tokenizer: str | os.PathLike | None = None,
        max_context: int | None = None,
        device: str | None = None,
        num_samples: None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        column_mapping: dict[str, str] | None = None,
        output_components: Sequence[str] | None = None,
        lookback: int | None = None,
        allow_non_positive: bool = False,
        calibration: str | dict | CalibrationConfig | None = None,
        sampling: SamplingConfig | dict | None = None,
        ohlc: str = "raise",
        enable_finetuning: bool | dict = False,
        finetune_config: dict | None = None,
    ):
        super().__init__(add_encoders=None)
        if num_samples is not None:
            raise KronosInputError(
                f"`KronosModel(num_samples={num_samples!r})`: in Darts the number of sample paths is an argument "
                f"of `predict`, not of the model; drop it here and call `model.predict(n, num_samples="
                f"{num_samples!r})` (or pass `num_samples` to `historical_forecasts` / `backtest`)."
            )
        self.settings = KronosSettings.from_args(locals())  # num_samples stays None: it is predict's
        if isinstance(output_components, str):
            raise KronosInputError(
                f"`output_components` must be a list of component names, got the string "
                f"{output_components!r}; pass `output_components=[{output_components!r}]`."
            )
        self.output_components = None if output_components is None else list(output_components)
        self.enable_finetuning = enable_finetuning
        self.finetune_config = finetune_config
        # checked now, not at fit; kept as a plain dict (the pickle of `save` holds settings only)
        self._finetune = _finetune_config(enable_finetuning, finetune_config)
        self._finetuned = None  # the fine-tuned pipeline, after `fit`
        self._finetuned_weights: str | None = None  # the weights directory's name beside a saved pickle
        self.finetune_result_: dict | None = None

    # --------------------------------------------------------------------------------------------------------
    def fit(
        self,
        series: TimeSeries | Sequence[TimeSeries],
        past_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        future_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        verbose: bool | None = None,
        val_series: TimeSeries | Sequence[TimeSeries] | None = None,
    ) -> KronosModel:
        """Check that each series reads as OHLCV bars and record it; with `enable_finetuning`, fine-tune on it.

        Parameters
        ----------
        series : TimeSeries or list of TimeSeries
            Multivariate OHLC(V) series, or univariate close series (see the class notes).
        past_covariates, future_covariates
            Not supported; must be None.
        verbose
            With fine-tuning: show a progress bar (None: only on a terminal).
        val_series : TimeSeries or list of TimeSeries, optional
            Validation series for early stopping (one per training series, or any number); needs
            `enable_finetuning`.

        Returns
        -------
        KronosModel
            self, fitted: `predict` may omit ``series`` when a single series was given.

        Raises
        ------
        KronosInputError
            If a series' components cannot be mapped to Kronos columns, or its values are not valid bars.
        """
        _no_covariates(past_covariates, future_covariates)
        frames = []
        for i, s in enumerate(_as_list(series)):
            lay = self._layout(s, 1, _name(series, i))
            prepare_context(
                lay.frame,
                name=_name(series, i),
                min_length=MIN_CONTEXT_BARS,
                require_positive=not self.settings.allow_non_positive,
                ohlc=self.settings.ohlc,
            )
            frames.append(lay.frame)
        if val_series is not None and self._finetune is None:
            raise KronosInputError(
                "`val_series` is only used for fine-tuning; pass `enable_finetuning=True` to the model, or drop "
                "`val_series`."
            )
        if self._finetune is not None:
            self._fit_finetuned(frames, val_series, verbose)
        super().fit(series)
        return self

    def _fit_finetuned(self, frames: list[pd.DataFrame], val_series, verbose) -> None:
        from ..training.finetune import FinetuneConfig, finetune, window_context

        base = self.settings.pipeline()
        config = FinetuneConfig.coerce(self._finetune, progress=verbose)
        val_frames = None
        if val_series is not None:
            context = window_context(config, base)
            val_frames = []
            for i, v in enumerate(_as_list(val_series)):
                frame = self._layout(
                    v, 1, f"val_series[{i}]" if not isinstance(val_series, TimeSeries) else "val_series"
                ).frame
                before = frames[i] if i < len(frames) else None
                if before is not None and len(before) and len(frame) and before.index[-1] < frame.index[0]:
                    frame = pd.concat(
                        [before.iloc[-context:], frame]
                    )  # its targets: the validation bars only
                val_frames.append(frame)
        result = finetune(base, frames, config, val_data=val_frames, base=base_name(self.settings))
        self._finetuned = result.pipeline
        self._finetuned_weights = None
        self.finetune_result_ = result.summary()

    def predict(
        self,
        n: int,
        series: TimeSeries | Sequence[TimeSeries] | None = None,
        past_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        future_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        num_samples: int = 1,
        verbose: bool | None = None,
        predict_likelihood_parameters: bool = False,
        show_warnings: bool = True,
        random_state: int | None = None,
    ) -> TimeSeries | list[TimeSeries]:
        """Sample ``num_samples`` paths of the next ``n`` steps of each series.

        Parameters
        ----------
        n : int
            Forecast horizon in steps of the series' frequency.
        series : TimeSeries or list of TimeSeries, optional
            The context(s); defaults to the series given to `fit` (when it was a single one).
        past_covariates, future_covariates
            Not supported; must be None.
        num_samples : int, default=1
            Sample paths per series. ``1`` gives one sampled path (see the class notes), not a median.
        verbose, show_warnings
            Ignored.
        predict_likelihood_parameters : bool, default=False
            Not supported (Kronos has no likelihood parameters).
        random_state : int, optional
            Seed for this call; replaces the model's ``seed`` when given.

        Returns
        -------
        TimeSeries or list of TimeSeries
            One stochastic series per input series (a list when a list was given), with values shaped
            (n, output components, num_samples) in the input's dtype, the output components' names, static
            covariates and metadata, and the time index continuing the input's.
        """
        super().predict(
            n,
            series,
            past_covariates,
            future_covariates,
            num_samples,
            verbose,
            predict_likelihood_parameters,
            show_warnings,
            random_state,
        )
        if series is None:
            if self.training_series is None:
                raise ValueError(
                    "`series` is required: the model was fit on several series, so pass the series to "
                    "forecast, e.g. `model.predict(n, series=my_series)`."
                )
            series = self.training_series
        _no_covariates(past_covariates, future_covariates)
        n = check_positive_int(n, "n")
        seq = _as_list(series)
        layouts = [self._layout(s, n, _name(series, i)) for i, s in enumerate(seq)]

        dated = [isinstance(s.time_index, pd.DatetimeIndex) for s in seq]
        if any(dated) and not all(dated):
            raise KronosInputError(
                f"`series` mixes DatetimeIndex and integer-indexed series (positions {dated.index(False)} "
                f"and {dated.index(True)}); forecast the two kinds in separate `predict` calls."
            )
        kwargs = self.settings.forecast_kwargs(num_samples=num_samples)
        kwargs.update(column_mapping=None)  # the frames already carry Kronos column names
        if random_state is not None:
            kwargs.update(seed=random_state)
        fc = self.settings.forecaster(self._finetuned).forecast(
            [lay.frame for lay in layouts],
            horizon=n,
            future_timestamps=[lay.future for lay in layouts] if all(dated) else None,
            missing_timestamps="raise" if all(dated) else "constant",
            **kwargs,
        )

        out = []
        for i, (s, lay) in enumerate(zip(seq, layouts, strict=True)):
            cols = [KRONOS_COLUMNS.index(k) for _, k in lay.outputs]
            values = fc.samples[i][:, :, cols].transpose(1, 2, 0)  # (S, n, C) -> (n, C, S)
            components = [c for c, _ in lay.outputs]
            template = s if components == list(s.components) else s[components]
            out.append(template.with_times_and_values(lay.future, values))
        return out[0] if isinstance(series, TimeSeries) else out

    # --------------------------------------------------------------------------------------------------------
    def _layout(self, series: TimeSeries, n: int, name: str) -> _Layout:
        """Translate one Darts series to a frame of Kronos columns, its output components and future index."""
        if not isinstance(series, TimeSeries):
            raise KronosInputError(f"`{name}` must be a darts TimeSeries, got {type(series).__name__}.")
        if not series.is_deterministic:
            raise KronosInputError(
                f"`{name}` is stochastic ({series.n_samples} samples); pass a deterministic series, e.g. "
                "`series.quantile(0.5)` or the observed values."
            )
        components = [str(c) for c in series.components]
        index = series.time_index
        values = series.values(copy=False)
        if len(components) == 1:
            bad = ~np.isfinite(values[:, 0])
            if bad.any():  # checked here: the bars built from the closes would name `open`, a row later
                first = int(np.argmax(bad))
                raise KronosInputError(
                    f"`{name}` component `{components[0]}` has {int(bad.sum())} NaN or infinite value(s), the "
                    f"first at row {first} (time {index[first]}): {values[first, 0]}. Fill or drop them first, "
                    "e.g. with `darts.utils.missing_values.fill_missing_values`."
                )
            sources = {"close": components[0]}
            frame = frame_from_close(pd.Series(values[:, 0], index=index), name=name)
        else:
            try:
                sources = resolve_columns(
                    pd.DataFrame(columns=components), name, self.settings.column_mapping
                )
            except KronosInputError as err:
                raise KronosInputError(
                    f"{err} The components of a Darts series are its columns. To forecast one component "
                    "alone, pass it as a univariate series (read as closes), e.g. `series['close']`."
                ) from None
            frame = pd.DataFrame({k: values[:, components.index(c)] for k, c in sources.items()}, index=index)
        mapped = {c: k for k, c in sources.items()}
        wanted = (
            [c for c in components if c in mapped]
            if self.output_components is None
            else self.output_components
        )
        unknown = [c for c in wanted if c not in mapped]
        if unknown:
            raise KronosInputError(
                f"`output_components` {unknown} are not components of `{name}` that map to Kronos columns; "
                f"choose among {[c for c in components if c in mapped]}."
            )
        future = generate_index(
            start=series.end_time() + series.freq, length=n, freq=series.freq, name=index.name
        )
        return _Layout(frame=frame, outputs=[(c, mapped[c]) for c in wanted], future=future)

    # --------------------------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike | None = None, clean: bool = False, **pkl_kwargs) -> None:
        """Save the model as Darts does (a pickle of its settings); fine-tuned weights go, as safetensors, to
        the directory ``<path>.kronos/`` beside it (a checkpoint `KronosPipeline.from_pretrained` loads).

        Parameters
        ----------
        path : str or path, optional
            The pickle's path (default: Darts' ``KronosModel_<date>.pkl``). A file handle works for a model that
            is not fine-tuned.
        clean, pkl_kwargs
            As in Darts.
        """
        if path is None:
            path = self._default_save_path() + ".pkl"
        tuned = self._finetuned
        if tuned is not None:
            if not isinstance(path, (str, os.PathLike)):
                raise KronosInputError(
                    "a fine-tuned `KronosModel` saves its weights to a directory beside the pickle; pass `save` a "
                    f"path, not a {type(path).__name__}."
                )
            from ..training.finetune import save_finetuned

            weights = Path(f"{os.fspath(path)}.kronos")
            save_finetuned(tuned, weights, self.finetune_result_ or {"base": base_name(self.settings)})
            self._finetuned_weights = weights.name
        self._finetuned = None  # the pickle holds settings only; the weights are in safetensors
        try:
            super().save(path, clean=clean, **pkl_kwargs)
        finally:
            self._finetuned = tuned

    @staticmethod
    def load(path: str | os.PathLike, trusted: bool = False) -> KronosModel:
        """Load a model saved by `save`, with its fine-tuned weights (from ``<path>.kronos/``) if it had any."""
        model = GlobalForecastingModel.load(path, trusted=trusted)
        name = getattr(model, "_finetuned_weights", None)
        if name is not None:
            from ..pipeline import KronosPipeline

            weights = Path(os.fspath(path)).parent / name
            if not weights.is_dir():
                raise KronosInputError(
                    f"`{path}` is a fine-tuned KronosModel whose weights directory `{weights}` is missing; keep "
                    "it beside the pickle."
                )
            model._finetuned = KronosPipeline.from_pretrained(
                weights, share_weights=False, device=model.settings.device
            )
        return model

    # --------------------------------------------------------------------------------------------------------
    # Darts' model description
    @property
    def supports_multivariate(self) -> bool:
        return True

    @property
    def supports_probabilistic_prediction(self) -> bool:
        return True

    @property
    def supports_optimized_historical_forecasts(self) -> bool:
        # each window is one `predict` call, so a window's paths equal a standalone forecast of it
        return False

    @property
    def supports_sample_weight(self) -> bool:
        return False

    @property
    def _requires_training(self) -> bool:
        return False

    @property
    def min_train_samples(self) -> int:
        return 1

    @property
    def _target_window_lengths(self) -> tuple[int, int]:
        return MIN_CONTEXT_BARS, 0

    @property
    def extreme_lags(self):
        # first forecast needs MIN_CONTEXT_BARS bars; any horizon is produced directly (no output chunk)
        return -MIN_CONTEXT_BARS, 0, None, None, None, None, 0

    @property
    def _model_encoder_settings(self):
        return None, None, False, False, None, None


try:  # Darts >= 0.42 loads only allow-listed classes by default; this model holds settings only
    from darts.utils.serialization import add_safe_globals

    add_safe_globals([KronosModel, KronosSettings, CalibrationConfig])
except ImportError:  # older Darts loads with plain pickle
    pass


def _finetune_config(enable_finetuning, finetune_config):
    """The `FinetuneConfig` of the Darts switch (None: zero-shot); errors name the argument."""
    if enable_finetuning is False or enable_finetuning is None:
        if finetune_config is not None:
            raise KronosInputError(
                "`finetune_config` is given but `enable_finetuning` is False; pass `enable_finetuning=True` (or "
                "{'freeze': [...]} / {'unfreeze': [...]}) to fine-tune."
            )
        return None
    if enable_finetuning is True:
        patterns = {}
    elif isinstance(enable_finetuning, dict):
        unknown = sorted(set(enable_finetuning) - {"freeze", "unfreeze"})
        if unknown:
            raise KronosInputError(
                f"`enable_finetuning` has key(s) {unknown}; it takes True, {{'freeze': [patterns]}} or "
                "{'unfreeze': [patterns]}. Other settings go in `finetune_config`."
            )
        patterns = dict(enable_finetuning)
    else:
        raise KronosInputError(
            f"`enable_finetuning` must be True, False, {{'freeze': [...]}} or {{'unfreeze': [...]}}, got "
            f"{enable_finetuning!r}."
        )
    from ..training.finetune import FinetuneConfig

    if isinstance(finetune_config, FinetuneConfig):
        finetune_config = finetune_config.to_dict()
    return finetune_settings({**(finetune_config or {}), **patterns}, "finetune_config").to_dict()


def _as_list(series) -> list:
    return [series] if isinstance(series, TimeSeries) else list(series2seq(series))


def _name(series, i: int) -> str:
    return "series" if isinstance(series, TimeSeries) else f"series[{i}]"


def _no_covariates(past_covariates, future_covariates) -> None:
    for arg, value in (("past_covariates", past_covariates), ("future_covariates", future_covariates)):
        if value is not None:
            raise ValueError(
                f"`{arg}` is not supported by `KronosModel`; Kronos forecasts from the series alone."
            )
