"""Darts adapter: `KronosModel`, a global, probabilistic, zero-shot Darts forecasting model.

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
from ._common import KronosSettings, require

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
    """Kronos as a global, probabilistic Darts model (zero-shot: `fit` trains nothing).

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
        `sampling` (defaults 1.0, 0, 1.0).
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
        bundled checkpoint's training context of 96 bars, or the whole history up to the origin for published
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

    Notes
    -----
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

    **Context.** The whole series up to the forecast origin is the context (the last 96 bars with the bundled
    checkpoint, its training context): the pipeline normalises over it and the model sees its last
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

    # --------------------------------------------------------------------------------------------------------
    def fit(
        self,
        series: TimeSeries | Sequence[TimeSeries],
        past_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        future_covariates: TimeSeries | Sequence[TimeSeries] | None = None,
        verbose: bool | None = None,
    ) -> KronosModel:
        """Record the series (no training) after checking that each one can be read as OHLCV bars.

        Parameters
        ----------
        series : TimeSeries or list of TimeSeries
            Multivariate OHLC(V) series, or univariate close series (see the class notes).
        past_covariates, future_covariates
            Not supported; must be None.
        verbose
            Ignored.

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
        for i, s in enumerate(_as_list(series)):
            lay = self._layout(s, 1, _name(series, i))
            prepare_context(
                lay.frame,
                name=_name(series, i),
                min_length=MIN_CONTEXT_BARS,
                require_positive=not self.settings.allow_non_positive,
                ohlc=self.settings.ohlc,
            )
        super().fit(series)
        return self

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
        fc = self.settings.forecaster().forecast(
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
