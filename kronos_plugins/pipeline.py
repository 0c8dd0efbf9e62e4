"""`KronosPipeline`: the object every adapter shares.

`KronosPipeline.forecast` does one thing, in one straight line:

1. prepare: check the arguments once (`KronosPipeline.request`), validate each context once
   (`KronosPipeline.validate`, see `kronos_plugins.preparation`), normalise its last `lookback` bars and build
   the calendar of the forecast bars;
2. sample: draw every path with the cached generator (`KronosPipeline.sample`), series of equal context
   length batched together, each path from its own random stream;
3. decode: tokens back to bars, de-normalised into a `KronosForecast`.

Calibration is a layer on top (`kronos_plugins.calibration.Calibrator`), which drives steps 1-3 itself;
``forecast(..., calibration=...)`` is sugar for it.

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .calibration import CalibrationConfig, Calibrator
from .checkpoints import (
    DEFAULT_MAX_CONTEXT,
    checkpoint_pair,
    load_model,
    load_tokenizer,
    training_anchor,
    training_context,
    training_temperature,
)
from .config import SamplingConfig
from .forecast import KronosForecast
from .generation import generate_cached, reconstruct_last_bar
from .model import Kronos
from .preparation import (  # noqa: F401  (CLIP, STD_EPS, NO_CALENDAR_STAMP, prepare_series: re-exported)
    CLIP,
    MIN_CONTEXT_BARS,
    NO_CALENDAR_STAMP,
    STD_EPS,
    PreparedContext,
    SeriesData,
    future_stamps,
    path_uniforms,
    prepare_series,
    prepare_window,
    series_futures,
    series_streams,
    validate_series,
)
from .tokenizer import KronosTokenizer
from .validation import KRONOS_COLUMNS, OHLC_MODES, KronosInputError, check_anchor, check_positive_int

__all__ = ["ForecastRequest", "KronosPipeline", "clear_weight_cache"]

#: The weight cache: loaded modules keyed by (kind, checkpoint, revision, device). `from_pretrained` hands the
#: same module to every pipeline (and adapter) built from the same checkpoint and device, so weights are read
#: once per process. Pass ``share_weights=False`` (or call `KronosPipeline.copy`) for weights of your own, e.g.
#: before fine-tuning; `clear_weight_cache` empties it.
_LOADED: dict[tuple, torch.nn.Module] = {}


def clear_weight_cache() -> None:
    """Forget every shared module of the weight cache (pipelines that hold one keep it)."""
    _LOADED.clear()


@dataclass(frozen=True)
class ForecastRequest:
    """The settings of one forecast, checked once (`KronosPipeline.request`); see `KronosPipeline.forecast`."""

    horizon: int
    sampling: SamplingConfig
    seed: int | tuple[int, ...] | None = None  # a tuple: one seed per series
    column_mapping: Mapping[str, str] | None = None
    missing_timestamps: str = "raise"
    lookback: int | None = None  # resolved: the pipeline's default_lookback when the caller gave none
    series_offset: int = 0
    allow_non_positive: bool = False
    ohlc: str = "raise"
    anchor: bool = False  # resolved: the pipeline's `anchor` when the caller gave none


#: The keyword arguments of `KronosPipeline.request` that `KronosPipeline.forecast` passes on.
_REQUEST_SETTINGS = (
    "num_samples",
    "temperature",
    "top_k",
    "top_p",
    "min_p",
    "seed",
    "column_mapping",
    "missing_timestamps",
    "lookback",
    "series_offset",
    "allow_non_positive",
    "ohlc",
    "anchor",
)


class KronosPipeline:
    """Probabilistic forecasting with a Kronos model and tokenizer.

    Parameters
    ----------
    model : Kronos
        The autoregressive model.
    tokenizer : KronosTokenizer
        The matching tokenizer.
    max_context : int, default=512
        Window of tokens the model sees (512 for Kronos-small/base, 2048 for Kronos-mini).
    device : str or torch.device, optional
        Where to run; defaults to the model's device.
    max_batch_rows : int, default=512
        Most (series x samples) rows generated together; larger requests are chunked, which bounds memory.
    default_lookback : int, optional
        The `lookback` that :meth:`forecast` applies when its caller gives none: the context length a checkpoint
        was trained on, so that a long history is cut to what the model knows. None (published checkpoints,
        trained on their whole `max_context`) keeps the whole context, as the reference does.
    anchor : bool, default=False
        The `anchor` that :meth:`forecast` applies when its caller gives none: move every path by the tokenizer's
        reconstruction error of the context's last close (see :meth:`forecast`). False (published checkpoints)
        is the reference's behaviour; the bundled checkpoint's ``bundle.json`` turns it on.
    default_temperature : float, optional
        The sampling temperature that :meth:`forecast` applies when its caller gives none (neither
        ``temperature=`` nor a ``sampling`` value that sets one): a checkpoint's ``bundle.json`` may name the
        temperature chosen on validation windows, as it names its context and anchor. None: `SamplingConfig`'s
        own default, 1 (published checkpoints).

    Examples
    --------
    >>> pipe = KronosPipeline.from_pretrained(  # doctest: +SKIP
    ...     model="NeoQuasar/Kronos-small", tokenizer="NeoQuasar/Kronos-Tokenizer-base")
    >>> fc = pipe.forecast(df, horizon=24, num_samples=100, seed=0)  # doctest: +SKIP
    >>> fc.samples.shape  # doctest: +SKIP
    (1, 100, 24, 6)

    References
    ----------
    Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
    """

    def __init__(
        self,
        model: Kronos,
        tokenizer: KronosTokenizer,
        max_context: int = DEFAULT_MAX_CONTEXT,
        device: str | torch.device | None = None,
        max_batch_rows: int = 512,
        default_lookback: int | None = None,
        anchor: bool = False,
        default_temperature: float | None = None,
    ):
        if model.config.s1_bits != tokenizer.s1_bits or model.config.s2_bits != tokenizer.s2_bits:
            raise ValueError(
                f"model ({model.config.s1_bits}+{model.config.s2_bits} bits) and tokenizer "
                f"({tokenizer.s1_bits}+{tokenizer.s2_bits} bits) do not match: load the tokenizer the model was "
                "trained with."
            )
        self.max_context = check_positive_int(max_context, "max_context")
        self.max_batch_rows = check_positive_int(max_batch_rows, "max_batch_rows")
        self.default_lookback = (
            None
            if default_lookback is None
            else check_positive_int(default_lookback, "default_lookback", minimum=MIN_CONTEXT_BARS)
        )
        self.anchor = check_anchor(anchor, allow_none=False)
        self.default_temperature = (
            None
            if default_temperature is None
            else SamplingConfig(temperature=default_temperature).temperature
        )
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer.to(self.device).eval()

    @classmethod
    def from_pretrained(
        cls,
        model: str | os.PathLike | None = None,
        tokenizer: str | os.PathLike | None = None,
        max_context: int | None = None,
        device: str | torch.device | None = None,
        revision: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        share_weights: bool = True,
        **kwargs,
    ) -> KronosPipeline:
        """Load a model and tokenizer from local directories or Hugging Face Hub ids.

        Parameters
        ----------
        model, tokenizer : str or path, optional
            Checkpoint directories (``config.json`` + ``model.safetensors``) or hub ids such as
            ``"NeoQuasar/Kronos-small"``. For a published model id the tokenizer may be omitted (its published
            tokenizer is used). With neither (or ``model="bundled"``), the small checkpoint shipped in the
            package loads, offline, with the default context of its ``bundle.json`` (see its MODEL_CARD.md). A directory holding
            ``model/`` and ``tokenizer/`` may be passed as `model` alone (see `checkpoints.checkpoint_pair`).
        max_context : int, optional
            Defaults to the bundled checkpoint's training window (context + horizon), the published value for
            known ids (512; 2048 for Kronos-mini), else 512. A checkpoint directory with a ``bundle.json`` that
            names its training ``context`` (the bundled one does) also sets ``default_lookback`` to it, so a
            long history is cut to the context length the model was trained on unless `lookback` is given; one
            whose ``bundle.json`` says ``"anchor": true`` (the bundled one does) sets ``anchor``.
        device : str, optional
            ``"cpu"`` (default), ``"cuda"``, ...
        revision, cache_dir
            Passed to ``huggingface_hub`` for hub ids.
        share_weights : bool, default=True
            True: take the modules from the weight cache (see Notes), loading them on first use. False: load a
            fresh copy that no other pipeline holds and that is not cached (for fine-tuning, or any change to
            the weights that must not reach other pipelines).
        **kwargs
            Passed to the constructor (``max_batch_rows``, ``default_lookback``, ``anchor``).

        Notes
        -----
        The weight cache: modules loaded with ``share_weights=True`` are kept per (checkpoint, revision,
        device) for the process and handed to every later pipeline with the same checkpoint and device, the
        adapters' included, so the weights are read once; those pipelines hold the *same* modules (one memory
        copy, and a change to one's weights is a change to all). Use ``share_weights=False`` or `copy` for a
        pipeline of your own, and `clear_weight_cache` to empty the cache.
        """
        model, tokenizer, max_context = checkpoint_pair(model, tokenizer, max_context)
        dev = str(torch.device(device or "cpu"))
        m = _load("model", model, revision, cache_dir, dev, load_model, share_weights)
        t = _load("tokenizer", tokenizer, revision, cache_dir, dev, load_tokenizer, share_weights)
        kwargs.setdefault("default_lookback", training_context(model))
        kwargs.setdefault("anchor", training_anchor(model))
        kwargs.setdefault("default_temperature", training_temperature(model))
        return cls(m, t, max_context=max_context, device=dev, **kwargs)

    def copy(self) -> KronosPipeline:
        """The same pipeline with its own copy of the weights (deep copies of the model and tokenizer)."""
        return type(self)(
            copy.deepcopy(self.model),
            copy.deepcopy(self.tokenizer),
            max_context=self.max_context,
            device=self.device,
            max_batch_rows=self.max_batch_rows,
            default_lookback=self.default_lookback,
            anchor=self.anchor,
            default_temperature=self.default_temperature,
        )

    def resolve_sampling(
        self, sampling: SamplingConfig | Mapping | None = None, **fields: float | int | None
    ) -> SamplingConfig:
        """`SamplingConfig.resolve` with this pipeline's ``default_temperature``: it fills the temperature
        when neither ``fields["temperature"]`` nor `sampling` (None, or a dict without ``"temperature"``) sets
        one; a `SamplingConfig` value is taken as it is (its temperature was chosen)."""
        if (
            self.default_temperature is not None
            and fields.get("temperature") is None
            and (sampling is None or (isinstance(sampling, Mapping) and "temperature" not in sampling))
        ):
            fields["temperature"] = self.default_temperature
        return SamplingConfig.resolve(sampling, **fields)

    # ------------------------------------------------------------------------------------------------------------
    def forecast(
        self,
        context: pd.DataFrame | Sequence[pd.DataFrame],
        horizon: int,
        num_samples: int | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        future_timestamps: pd.DatetimeIndex | Sequence | None = None,
        column_mapping: dict[str, str] | None = None,
        item_ids: Sequence | None = None,
        missing_timestamps: str = "raise",
        lookback: int | None = None,
        series_offset: int = 0,
        allow_non_positive: bool = False,
        calibration: str | dict | CalibrationConfig | None = None,
        *,
        sampling: SamplingConfig | dict | None = None,
        ohlc: str = "raise",
        anchor: bool | None = None,
        min_p: float | None = None,
    ) -> KronosForecast:
        """Sample `num_samples` future paths of `horizon` bars for each context series.

        Parameters
        ----------
        context : DataFrame or list of DataFrames
            OHLCV bars, one frame per series (lengths may differ). Columns open, high, low, close are required;
            volume and amount are optional (missing volume: volume = amount = 0; missing amount: volume x
            mean(open, high, low, close), as the reference does; reported in ``constructed_columns``).
            Timestamps come from a DatetimeIndex or a ``timestamps`` column. At least `MIN_CONTEXT_BARS` bars.
            Each series is normalised over its whole context (after `lookback`); the model sees its last
            `max_context` tokens. Prices of any level work: levels far from ordinary prices are rescaled by a
            power of ten before the reference's normalisation (see `kronos_plugins.preparation`; the factor is
            in ``info["price_scale"]``).
        horizon : int
            Bars to forecast (may exceed `max_context`: the window slides).
        num_samples, temperature, top_k, top_p, min_p : optional
            Sampling settings, as keywords: each one given replaces that field of `sampling` (see
            `SamplingConfig`; ``min_p`` is keyword-only).
        seed : int, optional
            Same seed, same paths on the same machine. Path j of series i is drawn from its own random stream
            ``(seed, series_offset + i, j)``: it does not depend on the other series, on `num_samples` beyond
            j, or on chunking; its tokens for the first k steps are those of any longer horizon (the decoded
            bars too, unless context + horizon exceeds `max_context`, which moves the decoding window). None
            draws fresh entropy. A list of seeds, one per series (with ``series_offset=0``), gives each series
            the paths of a forecast of it alone with its seed (path j from stream ``(seed[i], 0, j)``), so a
            batch of windows reproduces one forecast call per window (the benchmark harness does this).
        future_timestamps : DatetimeIndex or list of them, optional
            Timestamps of the forecast bars (one index per series, or one shared). Inferred from each series'
            frequency when omitted (see `kronos_plugins.calendar.infer_future_timestamps`).
        column_mapping : dict, optional
            Kronos column -> your column name, e.g. ``{"close": "Adj Close"}``.
        item_ids : list, optional
            Names of the series in the result (default: positions).
        missing_timestamps : {"raise", "constant"}, default="raise"
            What to do with a frame without timestamps (e.g. a RangeIndex). ``"raise"``: a `KronosInputError`.
            ``"constant"``: every bar gets the fixed stamp `NO_CALENDAR_STAMP` (minute 0, hour 0, Monday, day 1,
            month 1: no calendar information, never a guessed date) and the forecast's ``timestamps`` are the
            integer positions after the context (a RangeIndex).
        lookback : int, optional
            Use only the last `lookback` bars of each context (for validation, normalisation, tokenisation and
            the model). None (default) uses the pipeline's ``default_lookback``: the default context recorded in the
            bundled checkpoint's ``bundle.json`` (64 bars, chosen on validation windows), the whole context for the published ones, as the reference does; the
            model still sees at most `max_context` tokens, but normalisation statistics and the tokenizer's
            causal encoder see everything. With long histories (e.g. rolling backtests)
            ``lookback=max_context`` is faster and keeps every window's statistics local.
        series_offset : int, default=0
            Position of the first series in a larger collection: callers that split a dataset into several
            calls pass each chunk's offset, so every series keeps the stream it would have in one call.
        allow_non_positive : bool, default=False
            Accept open/high/low/close <= 0 (series that are not prices, e.g. spreads or generic data). By default
            a non-positive price is an error naming the row.
        calibration : {None, "conformal", "scale"}, dict or CalibrationConfig, optional
            Sugar for ``Calibrator(self, calibration).forecast(...)`` with the same arguments (see
            `kronos_plugins.calibration`): pseudo-forecasts from origins inside each context, with these
            settings and each series' random streams, and only the bars before each origin, fit a per-step
            map that is applied to the paths. Its pseudo-forecasts run as one batched call of ``n_origins``
            forecasts per series (``n_origins=24`` by default). With ``seed=None`` one fresh seed is drawn for
            the forecast and its pseudo-forecasts.
        sampling : SamplingConfig or dict, optional
            The sampling settings as one value (default `SamplingConfig()`: 100 paths, temperature 1, no
            filtering; the temperature is the pipeline's ``default_temperature`` when it has one and neither
            this value nor ``temperature=`` sets one); the keywords above override its fields.
        ohlc : {"raise", "widen"}, default="raise"
            A bar whose high is below max(open, close) or whose low is above min(open, close), as real feeds
            sometimes send: ``"raise"`` is a `KronosInputError` naming it; ``"widen"`` keeps open and close,
            widens high/low to hold them, and reports every changed row in ``info["ohlc_widened"]`` (per
            series: ``count`` and the first ``rows``, positions in the frame as given).
        anchor : bool, optional
            Shift the open, high, low and close of every path of a series by one constant, in price units: the
            context's last close minus the tokenizer's reconstruction of it (`reconstruct_last_bar`). The tokens
            place the origin where the tokenizer's vocabulary can express it, up to about a third of one bar's
            typical move away from the true last close, and the model continues from there; anchoring moves the
            paths so that they continue from the true close. Candles stay consistent (one shift for all four
            prices), volume and amount are unchanged, and only the context is read (no leakage). The offset of
            each series is in ``info["anchor_offset"]``. None (default) uses the pipeline's ``anchor``: on for
            the bundled checkpoint (issue 15: it lifted validation CRPS skill from 0.135 to 0.156), off for the
            published ones (the reference's paths).

        Returns
        -------
        KronosForecast
            ``samples`` shaped (n_series, num_samples, horizon, 6), float64, in the input's units, on the CPU;
            with `calibration`, ``calibration`` holds what it did per series.
        """
        kwargs = {k: v for k, v in locals().items() if k in _REQUEST_SETTINGS}  # the keywords of `request`
        if calibration is not None:
            layer = Calibrator(self, calibration)
            return layer.forecast(
                context, horizon, sampling, future_timestamps=future_timestamps, item_ids=item_ids, **kwargs
            )
        request = self.request(horizon, sampling, **kwargs)
        series = self.validate(context, request)
        return self.forecast_series(series, request, future_timestamps, item_ids)

    # ------------------------------------------------------------------------------------------------------------
    # The three steps, for layers on top (calibration) that drive them themselves

    def request(
        self,
        horizon: int,
        sampling: SamplingConfig | dict | None = None,
        *,
        num_samples: int | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | Sequence[int] | None = None,
        column_mapping: Mapping[str, str] | None = None,
        missing_timestamps: str = "raise",
        lookback: int | None = None,
        series_offset: int = 0,
        allow_non_positive: bool = False,
        ohlc: str = "raise",
        anchor: bool | None = None,
        min_p: float | None = None,
    ) -> ForecastRequest:
        """Check a forecast's settings once and return them as a `ForecastRequest` (see `forecast`)."""
        sampling = self.resolve_sampling(
            sampling,
            num_samples=num_samples,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            min_p=min_p,
        )
        if missing_timestamps not in ("raise", "constant"):
            raise KronosInputError(
                f"`missing_timestamps` must be 'raise' or 'constant', got {missing_timestamps!r}."
            )
        if ohlc not in OHLC_MODES:
            raise KronosInputError(
                f"`ohlc` must be one of {list(OHLC_MODES)}, got {ohlc!r}: 'raise' rejects a bar whose high/low "
                "do not hold its open and close, 'widen' widens them and reports the rows."
            )
        horizon = check_positive_int(horizon, "horizon")
        anchor = check_anchor(anchor)
        anchor = self.anchor if anchor is None else anchor
        if lookback is None:
            lookback = self.default_lookback
        if lookback is not None:
            lookback = check_positive_int(lookback, "lookback", minimum=MIN_CONTEXT_BARS)
        if seed is not None and not isinstance(seed, (int, np.integer)):
            if isinstance(seed, (str, bytes)) or not isinstance(seed, (Sequence, np.ndarray)):
                raise KronosInputError(
                    f"`seed` must be an int, a list of ints (one per series) or None, got {seed!r}."
                )
            seed = tuple(check_positive_int(v, f"seed[{k}]", minimum=0) for k, v in enumerate(seed))
            if series_offset != 0:
                raise KronosInputError(
                    f"`series_offset` must be 0 with a list of seeds (one per series), got {series_offset}."
                )
        return ForecastRequest(
            horizon=horizon,
            sampling=sampling,
            seed=seed,
            column_mapping=column_mapping,
            missing_timestamps=missing_timestamps,
            lookback=lookback,
            series_offset=check_positive_int(series_offset, "series_offset", minimum=0),
            allow_non_positive=bool(allow_non_positive),
            ohlc=ohlc,
            anchor=anchor,
        )

    def validate(
        self, context: pd.DataFrame | Sequence[pd.DataFrame], request: ForecastRequest, whole: bool = False
    ) -> list[SeriesData]:
        """Validate each context frame once: its last `request.lookback` bars, or all of them with `whole`
        (calibration's pseudo-forecast origins lie inside the whole context)."""
        frames = [context] if isinstance(context, pd.DataFrame) else list(context)
        if not frames:
            raise KronosInputError("`context` is an empty list; pass at least one DataFrame.")
        out = []
        for i, df in enumerate(frames):
            cut = 0
            if request.lookback is not None and not whole and isinstance(df, pd.DataFrame):
                cut = max(0, len(df) - request.lookback)
                df = df.iloc[cut:]
            series = validate_series(
                df,
                f"context[{i}]" if len(frames) > 1 else "context",
                request.column_mapping,
                request.missing_timestamps,
                request.allow_non_positive,
                request.ohlc,
            )
            if cut and series.widened:
                for row in series.widened["rows"]:
                    row["row"] += cut  # positions in the frame as given
            out.append(series)
        return out

    def forecast_series(
        self,
        series: list[SeriesData],
        request: ForecastRequest,
        future_timestamps: pd.DatetimeIndex | Sequence | None = None,
        item_ids: Sequence | None = None,
    ) -> KronosForecast:
        """Forecast validated series (`validate`) with the settings of `request`."""
        n = len(series)
        futures = series_futures(future_timestamps, n)
        if item_ids is not None and len(item_ids) != n:
            raise KronosInputError(f"`item_ids` has {len(item_ids)} entries for {n} series.")
        if isinstance(request.seed, tuple) and len(request.seed) != n:
            raise KronosInputError(
                f"`seed` has {len(request.seed)} seeds for {n} series; pass one per series."
            )
        H = request.horizon
        contexts, y_stamps, indexes = [], [], []
        for s, future in zip(series, futures, strict=True):
            start = 0 if request.lookback is None else max(0, len(s) - request.lookback)
            ctx = prepare_window(s, start, price_centre=self.model.config.price_centre)
            index, y_stamp = future_stamps(ctx.timestamps, len(ctx.x), H, future, s.name)
            contexts.append(ctx)
            y_stamps.append(y_stamp)
            indexes.append(index)
        seed, streams = series_streams(request.seed, request.series_offset, range(n))
        offsets: list[float] = []
        samples = self.sample(
            contexts, y_stamps, streams, H, request.sampling, seed, anchor=request.anchor, offsets=offsets
        )
        info: dict = {"price_scale": [ctx.scale for ctx in contexts]}
        if request.anchor:
            info["anchor_offset"] = offsets
        if request.ohlc == "widen":
            info["ohlc_widened"] = [s.widened for s in series]
        return KronosForecast(
            samples=samples,
            columns=KRONOS_COLUMNS,
            timestamps=indexes,
            constructed_columns=[ctx.constructed for ctx in contexts],
            item_ids=list(item_ids) if item_ids is not None else [],
            info=info,
        )

    def sample(
        self,
        contexts: Sequence[PreparedContext],
        y_stamps: Sequence[np.ndarray],
        streams: Sequence[int],
        horizon: int,
        sampling: SamplingConfig,
        seed: int | tuple[int, ...] | None,
        anchor: bool = False,
        offsets: list[float] | None = None,
    ) -> np.ndarray:
        """Sample paths after prepared context windows, in price units: (len(contexts), S, horizon, 6) float64.

        Row r draws path j from the random stream ``(seed, streams[r], j)`` (``seed[r]`` for a tuple of seeds). Windows of equal length are
        generated together, at most `max_batch_rows` rows (windows x samples) per generator call. With `anchor`
        each window's open/high/low/close are shifted by its last close minus the tokenizer's reconstruction of
        it (see `forecast`); the shifts, in price units and context order, are appended to `offsets` if given.
        """
        S = sampling.num_samples
        uniforms = path_uniforms(seed, streams, S, horizon)  # (N, S, H, 2)
        samples = np.empty((len(contexts), S, horizon, len(KRONOS_COLUMNS)), dtype=np.float64)
        by_length: dict[int, list[int]] = {}
        for i, ctx in enumerate(contexts):
            by_length.setdefault(len(ctx.x), []).append(i)
        shifts = np.zeros(len(contexts))
        per_call = max(1, self.max_batch_rows // S)  # windows per generate call
        for idx_all in by_length.values():
            for k in range(0, len(idx_all), per_call):
                idx = idx_all[k : k + per_call]
                x = self._tensor([contexts[i].x for i in idx])
                z = (
                    generate_cached(
                        self.model,
                        self.tokenizer,
                        x,
                        self._tensor([contexts[i].x_stamp for i in idx]),
                        self._tensor([y_stamps[i] for i in idx]),
                        uniforms[idx].to(self.device),
                        self.max_context,
                        sampling,
                        self.max_batch_rows,
                    )
                    .float()
                    .cpu()
                    .numpy()
                )  # (G, S, H, 6) normalised
                rec = reconstruct_last_bar(self.tokenizer, x, self.max_context) if anchor else None
                for j, i in enumerate(idx):
                    samples[i] = contexts[i].denormalise(z[j], self.tokenizer.config.candle_head)
                    if rec is not None:
                        shifts[i] = (
                            contexts[i].last_close - contexts[i].denormalise(rec[j].float().cpu().numpy())[3]
                        )
                        samples[i, ..., :4] += shifts[i]
        if offsets is not None:
            offsets.extend(float(v) for v in shifts)
        return samples

    def _tensor(self, arrays: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(arrays)).to(self.device)


def _load(kind, name, revision, cache_dir, device, loader, share: bool):
    if not share:
        return loader(name, revision=revision, cache_dir=cache_dir, device=device)
    key = (kind, os.path.abspath(name) if os.path.isdir(str(name)) else str(name), revision, device)
    if key not in _LOADED:
        _LOADED[key] = loader(name, revision=revision, cache_dir=cache_dir, device=device)
    return _LOADED[key]
