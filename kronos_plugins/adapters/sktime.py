"""sktime adapter: `KronosForecaster`, a probabilistic sktime forecaster backed by `KronosPipeline`.

A thin translator: sktime data (``pd.Series`` / ``pd.DataFrame``, a ``ForecastingHorizon``) becomes one
`KronosPipeline.forecast` call, and its sample paths become sktime's point, quantile, interval and
distribution forecasts. Sampling, normalisation and input validation are the pipeline's.

Install with ``pip install 'kronos-plugins[sktime]'`` (sktime and skpro).

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..calendar import infer_future_timestamps
from ..columns import frame_from_close, resolve_columns
from ..preparation import MIN_CONTEXT_BARS
from ..quantiles import sample_quantile
from ..validation import KRONOS_COLUMNS, KronosInputError, prepare_context
from ._common import KronosSettings, base_name, finetune_settings, require

require("sktime", "KronosForecaster", "sktime")

from sktime.forecasting.base import BaseForecaster, ForecastingHorizon  # noqa: E402

try:  # sktime >= 1.0: predict_proba also on panels and hierarchies (broadcast per series)
    from sktime.forecasting.base import BaseProbaForecaster as _BaseForecaster
except ImportError:  # pragma: no cover - older sktime
    _BaseForecaster = BaseForecaster

__all__ = ["KronosForecaster"]

_POINTS = ("median", "mean")


class KronosForecaster(_BaseForecaster):
    """Kronos, the foundation model for K-line (OHLCV) data, as a probabilistic sktime forecaster.

    Every forecast is computed from one set of sample paths drawn by `KronosPipeline.forecast`: `predict`
    returns their median (or mean), `predict_quantiles` and `predict_interval` their empirical quantiles,
    and `predict_proba` an skpro ``Empirical`` distribution holding the paths themselves. The paths are
    drawn once per cutoff and reused by all four methods (and by any ``fh`` up to the longest horizon
    drawn so far), so the four forecasts at one cutoff agree with each other.

    What ``y`` may be:

    - a ``pd.Series`` (or a one-column ``pd.DataFrame``) of closing prices: it is turned into OHLC bars by
      `kronos_plugins.columns.frame_from_close` (each bar opens at the previous close; no intrabar range,
      no volume), and the forecast is of the close;
    - a ``pd.DataFrame`` of one instrument's bars whose columns are Kronos columns (open, high, low,
      close, and optionally volume and amount; names matched case-insensitively, or mapped with
      ``column_mapping``): forecasts are for exactly the columns given. open, high, low and close are
      required; a column that is not a Kronos column is an error;
    - a ``pd.DataFrame`` none of whose columns is named like a Kronos column (and no ``column_mapping``):
      each column is forecast as an independent close-only series, as sktime broadcasts a univariate
      forecaster over columns; a warning says so when there are several columns;
    - panels and hierarchies of the above: sktime forecasts each series separately.

    Values must be positive prices without missing values (the pipeline's rules).

    Parameters
    ----------
    model : str or path, default=None
        Kronos checkpoint directory or Hugging Face Hub id, e.g. ``"NeoQuasar/Kronos-small"``. None (the
        default) loads the small checkpoint bundled with the package, offline, with its default context (64 bars) as
        the default ``lookback`` (see `KronosPipeline.from_pretrained`).
    tokenizer : str or path, default=None
        Tokenizer checkpoint directory or hub id; optional for published model ids and for the bundled
        checkpoint.
    max_context : int, default=None
        Number of bars the model sees; defaults to the checkpoint's (128 for the bundled one, 512 for
        Kronos-small and -base, 2048 for Kronos-mini). Longer ``y`` is used for normalisation but only its last ``max_context`` bars are
        tokenised; horizons longer than ``max_context`` are fine (the window slides).
    device : str, default=None
        Torch device, ``"cpu"`` when None.
    num_samples : int, default=None
        Sample paths drawn per series (None: ``sampling.num_samples``, 100 by default); quantiles and the
        distribution are empirical over these paths.
    temperature : float, default=None
        Sampling temperature (None: ``sampling.temperature`` if it sets one, else the checkpoint's default, 1.0 unless
        its ``bundle.json`` names one).
    top_k : int, default=None
        Keep the ``top_k`` most likely tokens at each step (0: all; 1: greedy; None: ``sampling.top_k``).
    top_p : float, default=None
        Nucleus sampling mass (1.0: off; None: ``sampling.top_p``).
    seed : int, default=None
        With a seed, forecasts are reproducible: the same window and seed give the same paths as
        ``KronosPipeline.forecast`` (and the Darts and GluonTS adapters) for series 0. None draws fresh
        paths at each new cutoff.
    column_mapping : dict, default=None
        Kronos column -> column of ``y``, e.g. ``{"close": "Adj Close"}``, for OHLCV frames whose column
        names differ from the Kronos names.
    lookback : int, default=None
        Use only the last `lookback` observations as context (None: the pipeline's default, the
        bundled checkpoint's default context of 64 bars (its bundle.json), or everything seen up to the cutoff for published
        checkpoints).
    allow_non_positive : bool, default=False
        Accept values <= 0, for series that are not prices (spreads, rates, generic data). By default a
        non-positive price is an error, since Kronos was trained on prices.
    point : {"median", "mean"}, default="median"
        Which summary of the paths `predict` returns. The median is the default because it is the 0.5
        quantile, so `predict` always lies inside every central `predict_interval` and equals
        ``predict_quantiles(alpha=0.5)``, and because it is robust to the heavy tails of sampled price
        paths. ``"mean"`` reproduces the upstream Kronos predictor, which averages its samples.
    calibration : {None, "conformal", "scale"}, dict or CalibrationConfig, default=None
        Calibrate the sample paths (and so every interval, quantile and distribution) from
        pseudo-forecasts inside the data seen up to the cutoff (see `kronos_plugins.calibration`); costs
        ``n_origins`` pseudo-forecasts per series and cutoff, run in one batched call (the `Calibrator`
        layer). None: the raw paths.
    sampling : SamplingConfig, default=None
        The sampling settings as one value; the four keywords above override its fields.
    ohlc : {"raise", "widen"}, default="raise"
        Bars whose high/low do not hold their open and close: an error (in ``fit``/``update``), or widened
        (see `KronosPipeline.forecast`).
    finetune : None, bool or dict, default=None
        The fine-tuning switch. None/False: zero-shot (``fit`` stores the context, ``pretrain`` changes nothing
        and warns). True or a dict of `kronos_plugins.training.finetune.FinetuneConfig` fields (``steps``,
        ``lr``, ``context``, ``horizon``, ``freeze`` / ``unfreeze`` patterns, ...): ``pretrain(y_panel)``
        fine-tunes a copy of the weights on every series of the panel, and ``fit(y)`` fine-tunes on ``y``
        (starting from the pretrained weights, if any) before forecasting from it. No other forecaster's or
        pipeline's weights change.

    Attributes
    ----------
    context_ : pd.Series or pd.DataFrame
        The data seen in ``fit`` and ``update``, up to the cutoff; forecasts are made from it alone.
    column_mapping_ : dict
        Column of ``y`` -> Kronos column that is read and forecast for it (``"close"`` for close-only
        input).
    layout_ : str
        ``"ohlcv"`` (one instrument's bars) or ``"close"`` (each column a close-only series).
    has_calendar_ : bool
        Whether ``y`` has a DatetimeIndex or PeriodIndex. Otherwise (RangeIndex, integer index) Kronos
        gets no calendar features: every bar gets one fixed calendar stamp (the pipeline's
        ``missing_timestamps="constant"``), and ``fit`` warns.
    finetuned_pipeline_ : KronosPipeline or None
        Set by ``pretrain``: the pipeline fine-tuned on the panel (None when ``finetune`` is not set). Kept by
        ``fit`` and by clones, as sktime keeps pretrained attributes.
    finetune_result_ : dict or None
        Losses, steps and data span of the last fine-tuning (``pretrain`` or ``fit``).

    Notes
    -----
    **In-sample horizons are not supported** (``capability:insample`` is False, so sktime raises
    ``NotImplementedError`` for an ``fh`` at or before the cutoff). Kronos forecasts forward from a
    context; an honest in-sample forecast would need a separate forecast from each truncated context, which
    is what a backtest (e.g. ``sktime.forecasting.model_evaluation.evaluate``) does explicitly.

    **Horizons**: ``fh`` may be non-contiguous (paths are drawn up to ``max(fh)`` and the requested steps
    selected) and longer than ``max_context``.

    **Timestamps of the forecast bars**: for a DatetimeIndex with a frequency and for a PeriodIndex, the
    bars of the horizon are sktime's continuation of the index (``fh`` made absolute), passed to the
    pipeline as ``future_timestamps``. For a DatetimeIndex without a frequency (e.g. trading days with
    holidays, intraday sessions), the bars are the continuation inferred by
    `kronos_plugins.calendar.infer_future_timestamps`; a relative ``fh`` counts bars of that calendar, and
    an absolute ``fh`` must name bars of it (and needs a ``freq``, e.g.
    ``ForecastingHorizon(dates, is_relative=False, freq="D")``, for sktime's own check that it lies after the
    cutoff).

    **Exogenous data** ``X`` is ignored (``capability:exogenous`` is False).

    References
    ----------
    Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.

    Examples
    --------
    >>> import pandas as pd
    >>> from kronos_plugins.adapters.sktime import KronosForecaster
    >>> bars = pd.read_csv("bars.csv", index_col="timestamps", parse_dates=True)  # doctest: +SKIP
    >>> f = KronosForecaster(model="NeoQuasar/Kronos-small", num_samples=100, seed=0)  # doctest: +SKIP
    >>> f.fit(bars[["open", "high", "low", "close", "volume"]])  # doctest: +SKIP
    >>> f.predict(fh=[1, 2, 3])  # doctest: +SKIP
    >>> f.predict_interval(fh=[1, 2, 3], coverage=0.9)  # doctest: +SKIP
    """

    _tags = {
        # packaging info
        "authors": ["kronos-plugins developers"],
        "maintainers": ["kronos-plugins developers"],
        "python_dependencies": ["torch", "skpro"],
        # estimator type
        "y_inner_mtype": ["pd.Series", "pd.DataFrame"],
        "capability:multivariate": True,  # OHLCV frames; formerly the tag `scitype:y="both"`
        "capability:exogenous": False,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "capability:update": True,
        "capability:pretrain": True,  # pretrain(y_panel) fine-tunes, with `finetune` set
        "requires-fh-in-fit": False,
    }

    def __init__(
        self,
        model=None,
        tokenizer=None,
        max_context=None,
        device=None,
        num_samples=None,
        temperature=None,
        top_k=None,
        top_p=None,
        seed=None,
        column_mapping=None,
        point="median",
        lookback=None,
        allow_non_positive=False,
        calibration=None,
        sampling=None,
        ohlc="raise",
        finetune=None,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.max_context = max_context
        self.device = device
        self.num_samples = num_samples
        self.temperature = temperature
        self.top_k = top_k
        self.top_p = top_p
        self.seed = seed
        self.column_mapping = column_mapping
        self.point = point
        self.lookback = lookback
        self.allow_non_positive = allow_non_positive
        self.calibration = calibration
        self.sampling = sampling
        self.ohlc = ohlc
        self.finetune = finetune
        super().__init__()

    # ---------------------------------------------------------------------------------------------- fit/update
    def _fit(self, y, X=None, fh=None):
        """Check the settings and the data, load the weights, and store ``y`` as the context.

        Parameters
        ----------
        y : pd.Series or pd.DataFrame
            Closing prices, or one instrument's OHLC(V) bars (see the class docstring).
        X : ignored
        fh : ForecastingHorizon, optional
            Not needed in ``fit``.

        Returns
        -------
        self : reference to self
        """
        if self.point not in _POINTS:
            raise KronosInputError(f"`point` must be 'median' or 'mean', got {self.point!r}.")
        settings = self._settings()  # checks the sampling settings and column_mapping keys
        config = finetune_settings(self.finetune, "finetune")
        settings.pipeline()  # loads the weights once (shared), so a bad checkpoint fails here, not in predict
        self.layout_, self.column_mapping_ = self._layout(y)
        self.has_calendar_ = isinstance(y.index, (pd.DatetimeIndex, pd.PeriodIndex))
        if not self.has_calendar_:
            warnings.warn(
                f"`y` has a {type(y.index).__name__}, not dates: Kronos gets no calendar features (every bar, "
                "past and future, gets one fixed stamp: minute 0, hour 0, Monday, day 1, January). Give `y` a "
                "DatetimeIndex or PeriodIndex for calendar-aware forecasts.",
                UserWarning,
                stacklevel=2,
            )
        self._check(y)
        self._pipe = getattr(self, "finetuned_pipeline_", None)  # None: the shared pipeline
        if config is not None:
            frames = [frame for _, frame in self._frames(y)]
            result = self._finetune_on(frames, config, self._pipe)  # from the pretrained weights, if any
            self._pipe, self.finetune_result_ = result.pipeline, result.summary()
        self.context_ = y.copy()
        self._path_cache = {}
        return self

    def _pretrain(self, y, X=None, fh=None):
        """Fine-tune on every series of the panel ``y`` (with ``finetune`` set; otherwise warn, change nothing).

        Each instance of the panel is read as ``fit`` reads ``y`` (an OHLCV frame, or close-only columns) and
        contributes its windows; the last ``val_fraction`` of each is its validation tail. A second
        ``pretrain`` continues from the weights of the first.

        Returns
        -------
        self : reference to self
        """
        config = finetune_settings(self.finetune, "finetune")
        start = getattr(self, "finetuned_pipeline_", None)
        if config is None:
            warnings.warn(
                "`pretrain` with `finetune=None` changes nothing (zero-shot Kronos); pass `finetune=True` (or a "
                "dict of fine-tuning settings) to fine-tune on the panel.",
                UserWarning,
                stacklevel=2,
            )
            self.finetuned_pipeline_ = start
            self.finetune_result_ = getattr(self, "finetune_result_", None)
            return self
        frames = []
        levels = list(range(y.index.nlevels - 1))
        for key, part in y.groupby(level=levels if len(levels) > 1 else 0, sort=False):
            inst = part.droplevel(levels)
            inst = inst.iloc[:, 0].rename(inst.columns[0]) if inst.shape[1] == 1 else inst
            layout, mapping = self._layout(inst)
            frames += [frame for _, frame in self._frames(inst, layout, mapping, name=f"y[{key!r}]")]
        result = self._finetune_on(frames, config, start)
        self.finetuned_pipeline_, self.finetune_result_ = result.pipeline, result.summary()
        return self

    def _finetune_on(self, frames, config, start=None):
        from ..training.finetune import finetune

        settings = self._settings()
        base = base_name(settings)
        if start is not None:
            base = f"{base}, then pretrained on a panel"
        return finetune(start if start is not None else settings.pipeline(), frames, config, base=base)

    def _update(self, y, X=None, update_params=True):
        """Append new observations to the context (Kronos has no parameters to update).

        ``update_params`` makes no difference: the new bars are always part of the next forecast's context.
        Rows of ``y`` whose index is already in the context replace those rows.

        Returns
        -------
        self : reference to self
        """
        old = self.context_
        if isinstance(old, pd.Series) and isinstance(y, pd.DataFrame) and y.shape[1] == 1:
            y = y.iloc[:, 0].rename(old.name)
        elif isinstance(old, pd.DataFrame) and isinstance(y, pd.Series) and old.shape[1] == 1:
            y = y.to_frame(old.columns[0])
        if isinstance(y, pd.DataFrame) and list(y.columns) != list(old.columns):
            raise KronosInputError(
                f"`y` in `update` has columns {list(y.columns)}, but the forecaster was fitted on "
                f"{list(old.columns)}; pass the same columns (or refit)."
            )
        context = pd.concat([old[~old.index.isin(y.index)], y]).sort_index()
        self._check(context)
        self.context_ = context
        self._path_cache = {}  # a new dict: copies of this forecaster keep their own cache
        return self

    # ------------------------------------------------------------------------------------------------- predict
    def _predict(self, fh, X=None):
        """Median (or mean, see ``point``) of the sample paths at ``fh``.

        Returns
        -------
        y_pred : pd.Series or pd.DataFrame
            Same type and columns as ``y`` in ``fit``, indexed by the absolute ``fh``.
        """
        paths, index = self._paths(fh)
        values = np.median(paths, axis=0) if self.point == "median" else paths.mean(axis=0)  # (n_fh, C)
        if isinstance(self.context_, pd.Series):
            return pd.Series(values[:, 0], index=index, name=self.context_.name)
        return pd.DataFrame(values, index=index, columns=self.context_.columns)

    def _predict_quantiles(self, fh, X, alpha):
        """Empirical quantiles of the sample paths (plotting position ``q (n + 1)``, as `KronosForecast.quantile`).

        Returns
        -------
        quantiles : pd.DataFrame
            Columns: (variable, alpha); rows: the absolute ``fh``.
        """
        paths, index = self._paths(fh)
        q = sample_quantile(paths, list(alpha), axis=0)  # (A, n_fh, C)
        values = np.moveaxis(q, 0, -1).reshape(len(index), -1)  # (n_fh, C * A), variable-major
        return pd.DataFrame(values, index=index, columns=self._get_columns("predict_quantiles", alpha=alpha))

    def _predict_interval(self, fh, X, coverage):
        """Central intervals from the empirical quantiles 0.5 - c/2 and 0.5 + c/2 of the sample paths.

        At plotting positions ``q (n + 1)`` (:mod:`kronos_plugins.quantiles`): an interval holds a new draw from
        the paths' distribution with probability c, also for a small number of paths.

        Returns
        -------
        pred_int : pd.DataFrame
            Columns: (variable, coverage, "lower"/"upper"); rows: the absolute ``fh``.
        """
        paths, index = self._paths(fh)
        levels = [a for c in coverage for a in (0.5 - 0.5 * c, 0.5 + 0.5 * c)]
        q = sample_quantile(paths, levels, axis=0)  # (2K, n_fh, C)
        values = np.moveaxis(q, 0, -1).reshape(len(index), -1)  # (n_fh, C * K * 2)
        return pd.DataFrame(
            values, index=index, columns=self._get_columns("predict_interval", coverage=coverage)
        )

    def _predict_proba(self, fh, X, marginal=True):
        """The sample paths as an skpro ``Empirical`` distribution (one equally weighted sample per path).

        ``time_indep=False``: sampling from the distribution draws whole paths, so the dependence between
        steps (and between OHLCV columns) that the model generated is kept; the marginals are the same
        either way.

        Returns
        -------
        pred_dist : skpro.distributions.Empirical
            Index: the absolute ``fh``; columns: the variables of ``y``.
        """
        from skpro.distributions import Empirical

        paths, index = self._paths(fh)
        S, n, C = paths.shape
        columns = self._get_varnames()
        spl = pd.DataFrame(
            paths.reshape(S * n, C), index=pd.MultiIndex.from_product([range(S), index]), columns=columns
        )
        return Empirical(spl, time_indep=False, index=index, columns=columns)

    # ------------------------------------------------------------------------------------------------ helpers
    def _settings(self) -> KronosSettings:
        return KronosSettings.from_args(self.get_params(deep=False))

    def _layout(self, y) -> tuple[str, dict]:
        """Decide how ``y`` reads as Kronos input: ("ohlcv" or "close", y column -> Kronos column).

        Which column holds which Kronos column is `kronos_plugins.columns.resolve_columns` (the pipeline's
        rule: ``column_mapping`` first, then the names, ignoring case); this method only chooses the layout.
        """
        if isinstance(y, pd.Series):
            return "close", {y.name: "close"}
        mapping = dict(self.column_mapping or {})
        named = [c for c in y.columns if isinstance(c, str) and c.casefold() in KRONOS_COLUMNS]
        if not mapping and not named:
            if y.shape[1] > 1:
                warnings.warn(
                    f"`y` has columns {list(y.columns)}, none of them a Kronos column (open, high, low, close, "
                    "volume, amount): each column is forecast as an independent close-only series. To forecast "
                    "one instrument's bars, name the columns open/high/low/close[/volume/amount] or pass "
                    "`column_mapping`.",
                    UserWarning,
                    stacklevel=3,
                )
            return "close", {c: "close" for c in y.columns}
        if y.shape[1] == 1:
            (c,) = y.columns
            if mapping.get("close") == c or (not mapping and str(c).casefold() == "close"):
                return "close", {c: "close"}
        sources = resolve_columns(y, "y", mapping)  # Kronos column -> column of y
        kronos = {c: k for k, c in sources.items()}
        others = [c for c in y.columns if c not in kronos]
        for c in others:
            k = c.casefold() if isinstance(c, str) else None
            if k in sources:
                pair = sorted((sources[k], c), key=list(y.columns).index)  # in the order of y's columns
                raise KronosInputError(
                    f"`y` columns {pair[0]!r} and {pair[1]!r} both read as Kronos column `{k}`; keep one, or say "
                    f"which to use with `column_mapping={{'{k}': {pair[0]!r}}}`."
                )
        if others:
            raise KronosInputError(
                f"`y` column(s) {others} are not Kronos columns, so Kronos cannot forecast them; `y` must hold "
                "one instrument's open, high, low, close (and optionally volume, amount). Drop those columns, "
                "or map them with `column_mapping`, e.g. `column_mapping={'close': 'Adj Close'}`."
            )
        return "ohlcv", {c: kronos[c] for c in y.columns}

    def _check(self, y) -> None:
        """Run the pipeline's input checks now, so that bad data fails in fit/update rather than in predict."""
        for name, frame in self._frames(y):
            try:
                prepare_context(
                    frame,
                    name=name,
                    min_length=MIN_CONTEXT_BARS,
                    require_positive=not self.allow_non_positive,
                    ohlc=self.ohlc,
                )
            except KronosInputError as err:
                if self.layout_ != "close":
                    raise
                raise KronosInputError(
                    f"{err} (`{name}` holds closes only: `frame_from_close` built open/high/low from them, each "
                    "bar opening at the previous close, so check the closes; for series that are not prices pass "
                    "`allow_non_positive=True`.)"
                ) from err

    def _frames(self, y, layout=None, mapping=None, name="y") -> list[tuple[str, pd.DataFrame]]:
        """The pipeline's input frames: one per close-only column, or the OHLCV frame with Kronos names (the
        fitted layout, or the `layout` and `mapping` given)."""
        layout = self.layout_ if layout is None else layout
        mapping = self.column_mapping_ if mapping is None else mapping
        if layout == "ohlcv":
            return [(name, y.rename(columns=mapping))]
        if isinstance(y, pd.Series):
            return [(name, frame_from_close(y, name=name))]
        return [(f"{name}[{c!r}]", frame_from_close(y[c], name=f"{name}[{c!r}]")) for c in y.columns]

    def _horizon(self, fh) -> tuple[np.ndarray, pd.Index, pd.DatetimeIndex | None]:
        """Steps after the cutoff (1-based), the output index, and the future timestamps of steps 1..max."""
        index = self.context_.index
        cutoff = self.cutoff
        if isinstance(index, pd.DatetimeIndex) and getattr(cutoff, "freq", None) is None and len(index) > 1:
            # No frequency (holidays, intraday sessions): the bars of the horizon are the core's inferred
            # continuation of the calendar, since sktime cannot count steps without a frequency.
            if fh.is_relative:
                steps = np.asarray(fh.to_pandas(), dtype=int)
                future = infer_future_timestamps(index, int(steps.max()))
                return steps, future[steps - 1].rename(index.name), future
            wanted = pd.DatetimeIndex(fh.to_pandas())
            n = len(wanted)
            future = infer_future_timestamps(index, n)
            while future[-1] < wanted.max():
                n *= 2
                future = infer_future_timestamps(index, n)
            pos = future.get_indexer(wanted)
            if (pos < 0).any():
                bad = wanted[pos < 0][0]
                raise KronosInputError(
                    f"`fh` contains {bad}, which is not a bar of the calendar continued from `y` (it has no "
                    f"frequency, so bars are inferred: next ones {list(future[:3])}). Pass `fh` as bars of that "
                    "calendar, a relative `fh`, or give `y` a regular index with a frequency."
                )
            steps = pos + 1
            return steps, wanted.rename(index.name), future[: int(steps.max())]
        steps = np.asarray(fh.to_relative(cutoff).to_pandas(), dtype=int)
        out = fh.to_absolute_index(cutoff).rename(index.name)
        if not self.has_calendar_:
            return steps, out, None
        full = ForecastingHorizon(np.arange(1, int(steps.max()) + 1), is_relative=True).to_absolute_index(
            cutoff
        )
        if isinstance(full, pd.PeriodIndex):
            full = full.to_timestamp()  # period start times, as the context's PeriodIndex is read
        return steps, out, pd.DatetimeIndex(full)

    def _paths(self, fh) -> tuple[np.ndarray, pd.Index]:
        """Sample paths at ``fh``, shaped (num_samples, len(fh), n_variables), and the output index.

        One pipeline call per cutoff: the paths up to the longest horizon requested so far are cached (in a
        dict created by ``fit``/``update``, so ``predict`` changes no attribute of the forecaster) and
        reused by every predict method and every ``fh`` within that horizon.
        """
        steps, index, future = self._horizon(fh)
        horizon = int(steps.max())
        cache = self._path_cache
        key = str(self.cutoff[0]) if len(self.cutoff) else None
        if cache.get("key") != key or cache.get("horizon", 0) < horizon:
            settings = self._settings()
            names, frames = zip(*self._frames(self.context_), strict=True)
            fc = settings.forecaster(getattr(self, "_pipe", None)).forecast(
                list(frames),
                horizon=horizon,
                future_timestamps=future,
                missing_timestamps="raise" if self.has_calendar_ else "constant",
                item_ids=list(names),
                **{**settings.forecast_kwargs(), "column_mapping": None},  # columns already renamed
            )
            if self.layout_ == "ohlcv":
                cols = [fc.column(k)[0] for k in self.column_mapping_.values()]  # each (S, H)
            else:
                cols = list(fc.column("close"))  # series i is column i of y
            cache.update(key=key, horizon=horizon, samples=np.stack(cols, axis=-1))  # (S, H, C)
        return cache["samples"][:, steps - 1, :], index

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Parameter sets for sktime's tests, on the small checkpoint bundled with the package (offline).

        Parameters
        ----------
        parameter_set : str, default="default"
            Only ``"default"``.

        Returns
        -------
        params : list of dict
            Three parameter sets with small ``num_samples`` and fixed seeds (sktime checks reproducibility);
            the second uses a short ``max_context`` (the window slides), top-k/top-p sampling and the mean;
            the third calibrates its paths.
        """
        return [
            # sktime's suite feeds generic series such as range(25), which start at 0: not prices.
            {
                "max_context": 64,
                "num_samples": 4,
                "seed": 0,
                "device": "cpu",
                "allow_non_positive": True,
            },
            {
                "max_context": 12,
                "num_samples": 3,
                "temperature": 0.8,
                "top_k": 20,
                "top_p": 0.9,
                "seed": 1,
                "point": "mean",
                "lookback": 40,
                "allow_non_positive": True,
            },
            # calibrated paths (few pseudo-forecasts: the suite's series are short and its forecasts many)
            {
                "max_context": 32,
                "num_samples": 3,
                "seed": 2,
                "allow_non_positive": True,
                "calibration": {"method": "conformal", "n_origins": 3, "min_origins": 0},
            },
        ]
