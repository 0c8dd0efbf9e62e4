"""`KronosPipeline`: the object every adapter shares.

It owns the workflow: validate the input frames, construct missing volume/amount columns (the reference's
rules), normalise each series over its whole context, build calendar features, generate sample paths with the
cached generator, and de-normalise them into a `KronosForecast`.

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .calendar import infer_future_timestamps, time_features
from .calibration import CalibrationConfig, calibrate_forecast
from .checkpoints import DEFAULT_MAX_CONTEXT, checkpoint_pair, load_model, load_tokenizer, training_context
from .columns import complete_volume_amount
from .config import SamplingConfig
from .forecast import KronosForecast
from .generation import generate_cached
from .model import Kronos
from .tokenizer import KronosTokenizer
from .validation import KRONOS_COLUMNS, KronosInputError, check_positive_int, prepare_context

logger = logging.getLogger(__name__)

#: Fewest context bars a forecast accepts: below this the normalisation statistics mean little.
MIN_CONTEXT_BARS = 8
#: Normalised inputs are clipped to [-CLIP, CLIP], as in the reference.
CLIP = 5.0
#: Added to the standard deviation before dividing, as in the reference.
STD_EPS = 1e-5
#: Calendar stamp (minute, hour, weekday, day, month) of every bar of a series without timestamps, when the
#: caller opts in with ``missing_timestamps="constant"``. Day and month are 1-based (0 never occurs in training).
NO_CALENDAR_STAMP = np.array([0, 0, 0, 1, 1], dtype=np.float32)

# Loaded modules, keyed by (kind, checkpoint, revision, device): pipelines built from the same checkpoint share
# one copy of the weights (the adapters rely on this).
_LOADED: dict[tuple, torch.nn.Module] = {}


@dataclass
class _Prepared:
    """One validated, normalised series."""

    x: np.ndarray  # (Tc, 6) float32, normalised and clipped
    mean: np.ndarray  # (6,) float32
    std: np.ndarray  # (6,) float32
    x_stamp: np.ndarray  # (Tc, 5) float32
    y_stamp: np.ndarray  # (H, 5) float32
    future: pd.Index  # DatetimeIndex, or RangeIndex of positions for a series without timestamps
    constructed: tuple[str, ...]


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
        **kwargs,
    ) -> KronosPipeline:
        """Load a model and tokenizer from local directories or Hugging Face Hub ids.

        Parameters
        ----------
        model, tokenizer : str or path, optional
            Checkpoint directories (``config.json`` + ``model.safetensors``) or hub ids such as
            ``"NeoQuasar/Kronos-small"``. For a published model id the tokenizer may be omitted (its published
            tokenizer is used). With neither (or ``model="bundled"``), the small checkpoint shipped in the
            package loads, offline, with its training context (see its MODEL_CARD.md). A directory holding
            ``model/`` and ``tokenizer/`` may be passed as `model` alone (see `checkpoints.checkpoint_pair`).
        max_context : int, optional
            Defaults to the bundled checkpoint's training window (context + horizon), the published value for
            known ids (512; 2048 for Kronos-mini), else 512. A checkpoint directory with a ``bundle.json`` that
            names its training ``context`` (the bundled one does) also sets ``default_lookback`` to it, so a
            long history is cut to the context length the model was trained on unless `lookback` is given.
        device : str, optional
            ``"cpu"`` (default), ``"cuda"``, ...
        revision, cache_dir
            Passed to ``huggingface_hub`` for hub ids.
        **kwargs
            Passed to the constructor (``max_batch_rows``).

        Notes
        -----
        Weights loaded once are reused by later calls with the same checkpoint and device (adapters share them).
        """
        model, tokenizer, max_context = checkpoint_pair(model, tokenizer, max_context)
        dev = str(torch.device(device or "cpu"))
        m = _load_shared("model", model, revision, cache_dir, dev, load_model)
        t = _load_shared("tokenizer", tokenizer, revision, cache_dir, dev, load_tokenizer)
        kwargs.setdefault("default_lookback", training_context(model))
        return cls(m, t, max_context=max_context, device=dev, **kwargs)

    # ------------------------------------------------------------------------------------------------------------
    def forecast(
        self,
        context: pd.DataFrame | Sequence[pd.DataFrame],
        horizon: int,
        num_samples: int = 100,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
        future_timestamps: pd.DatetimeIndex | Sequence | None = None,
        column_mapping: dict[str, str] | None = None,
        item_ids: Sequence | None = None,
        missing_timestamps: str = "raise",
        lookback: int | None = None,
        series_offset: int = 0,
        allow_non_positive: bool = False,
        calibration: str | dict | CalibrationConfig | None = None,
    ) -> KronosForecast:
        """Sample `num_samples` future paths of `horizon` bars for each context series.

        Parameters
        ----------
        context : DataFrame or list of DataFrames
            OHLCV bars, one frame per series (lengths may differ). Columns open, high, low, close are required;
            volume and amount are optional (missing volume: volume = amount = 0; missing amount: volume x
            mean(open, high, low, close), as the reference does; reported in ``constructed_columns``).
            Timestamps come from a DatetimeIndex or a ``timestamps`` column. At least `MIN_CONTEXT_BARS` bars.
            Each series is normalised over its whole context; the model sees its last `max_context` tokens.
        horizon : int
            Bars to forecast (may exceed `max_context`: the window slides).
        num_samples : int, default=100
            Sample paths per series.
        temperature, top_k, top_p
            Sampling settings (see `SamplingConfig`). ``top_k=1`` is greedy decoding.
        seed : int, optional
            Same seed, same paths on the same machine. Path j of series i is drawn from its own random stream
            ``(seed, series_offset + i, j)``: it does not depend on the other series, on `num_samples` beyond
            j, or on chunking; its tokens for the first k steps are those of any longer horizon (the decoded
            bars too, unless context + horizon exceeds `max_context`, which moves the decoding window). None
            draws fresh entropy.
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
            Use only the last `lookback` bars of each context (for normalisation, tokenisation and the model).
            None (default) uses the pipeline's ``default_lookback``: the training context for the bundled
            checkpoint (96 bars), the whole context for the published ones, as the reference does; the model still sees at most
            `max_context` tokens, but normalisation statistics and the tokenizer's causal encoder see everything.
            With long histories (e.g. rolling backtests) ``lookback=max_context`` is faster and keeps every
            window's statistics local.
        series_offset : int, default=0
            Position of the first series in a larger collection: callers that split a dataset into several
            calls pass each chunk's offset, so every series keeps the stream it would have in one call.
        allow_non_positive : bool, default=False
            Accept open/high/low/close <= 0 (series that are not prices, e.g. spreads or generic data). By default
            a non-positive price is an error naming the row.
        calibration : {None, "conformal", "scale"}, dict or CalibrationConfig, optional
            Calibrate the sample paths so that their intervals cover what they claim
            (`kronos_plugins.calibration`): pseudo-forecasts from origins inside each context, with these
            settings and each series' random streams, and only the bars before each origin, fit a per-step
            map that is applied to the paths. Costs ``1 + n_origins`` forecasts (``n_origins=24`` by
            default). With ``seed=None`` one fresh seed is drawn for the forecast and its pseudo-forecasts.

        Returns
        -------
        KronosForecast
            ``samples`` shaped (n_series, num_samples, horizon, 6), float64, in the input's units, on the CPU;
            with `calibration`, ``calibration`` holds what it did per series.
        """
        SamplingConfig(num_samples=num_samples, temperature=temperature, top_k=top_k, top_p=top_p)
        if calibration is not None:
            calibration = CalibrationConfig.coerce(calibration)
            if seed is None:  # the pseudo-forecasts must share the forecast's random streams
                seed = int(np.random.SeedSequence().entropy)
        if missing_timestamps not in ("raise", "constant"):
            raise KronosInputError(
                f"`missing_timestamps` must be 'raise' or 'constant', got {missing_timestamps!r}."
            )
        horizon = check_positive_int(horizon, "horizon")
        if lookback is None:
            lookback = self.default_lookback
        if lookback is not None:
            lookback = check_positive_int(lookback, "lookback", minimum=MIN_CONTEXT_BARS)
        frames = [context] if isinstance(context, pd.DataFrame) else list(context)
        history = frames  # whole contexts: calibration's pseudo-forecast origins lie inside them
        if lookback is not None:
            frames = [f.iloc[-lookback:] if isinstance(f, pd.DataFrame) else f for f in frames]
        if not frames:
            raise KronosInputError("`context` is an empty list; pass at least one DataFrame.")
        futures = _per_series(future_timestamps, len(frames))
        if item_ids is not None and len(item_ids) != len(frames):
            raise KronosInputError(f"`item_ids` has {len(item_ids)} entries for {len(frames)} series.")
        prepared = [
            self._prepare(
                df,
                horizon,
                futures[i],
                column_mapping,
                f"context[{i}]" if len(frames) > 1 else "context",
                missing_timestamps,
                allow_non_positive,
            )
            for i, df in enumerate(frames)
        ]
        series_offset = check_positive_int(series_offset, "series_offset", minimum=0)
        uniforms = _uniforms(seed, len(prepared), num_samples, horizon, series_offset)  # (N, S, H, 2)

        samples = np.empty((len(prepared), num_samples, horizon, len(KRONOS_COLUMNS)), dtype=np.float64)
        # Series of equal context length share windows, so they are generated together.
        by_length: dict[int, list[int]] = {}
        for i, p in enumerate(prepared):
            by_length.setdefault(len(p.x), []).append(i)
        per_call = max(1, self.max_batch_rows // num_samples)  # series per generate call
        for idx_all in by_length.values():
            for k in range(0, len(idx_all), per_call):
                idx = idx_all[k : k + per_call]
                z = (
                    generate_cached(
                        self.model,
                        self.tokenizer,
                        self._tensor([prepared[i].x for i in idx]),
                        self._tensor([prepared[i].x_stamp for i in idx]),
                        self._tensor([prepared[i].y_stamp for i in idx]),
                        uniforms[idx].to(self.device),
                        self.max_context,
                        temperature,
                        top_k,
                        top_p,
                        self.max_batch_rows,
                    )
                    .float()
                    .cpu()
                    .numpy()
                )  # (G, S, H, 6) normalised
                for j, i in enumerate(idx):
                    p = prepared[i]
                    samples[i] = z[j] * (p.std + STD_EPS) + p.mean
        forecast = KronosForecast(
            samples=samples,
            columns=KRONOS_COLUMNS,
            timestamps=[p.future for p in prepared],
            constructed_columns=[p.constructed for p in prepared],
            item_ids=list(item_ids) if item_ids is not None else [],
        )
        if calibration is None:
            return forecast
        return calibrate_forecast(
            self,
            history,
            horizon,
            forecast,
            calibration,
            num_samples=num_samples,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
            column_mapping=column_mapping,
            missing_timestamps=missing_timestamps,
            lookback=lookback,
            series_offset=series_offset,
            allow_non_positive=allow_non_positive,
        )

    def _tensor(self, arrays: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(arrays)).to(self.device)

    def _prepare(
        self, df, horizon, future, column_mapping, name, missing_timestamps="raise", allow_non_positive=False
    ) -> _Prepared:
        ctx = prepare_series(df, name, column_mapping, missing_timestamps, allow_non_positive)
        future, y_stamp = future_stamps(ctx.timestamps, len(ctx.x), horizon, future, name)
        return _Prepared(ctx.x, ctx.mean, ctx.std, ctx.x_stamp, y_stamp, future, ctx.constructed)


@dataclass
class PreparedContext:
    """One validated context, normalised as the reference does (the first half of a forecast's preparation)."""

    x: np.ndarray  # (Tc, 6) float32, normalised and clipped
    mean: np.ndarray  # (6,) float32
    std: np.ndarray  # (6,) float32
    x_stamp: np.ndarray  # (Tc, 5) float32 calendar features
    timestamps: pd.DatetimeIndex | None  # None for a series without timestamps (constant calendar)
    constructed: tuple[str, ...]  # columns constructed by the reference's rules

    def denormalise(self, z: np.ndarray) -> np.ndarray:
        """Normalised bars (..., 6) back to price units."""
        return z * (self.std + STD_EPS) + self.mean


def prepare_series(
    df, name="context", column_mapping=None, missing_timestamps="raise", allow_non_positive=False
) -> PreparedContext:
    """Validate, complete and normalise one context frame (see `KronosPipeline.forecast` for the rules)."""
    frame, ts = prepare_context(
        df,
        name=name,
        min_length=MIN_CONTEXT_BARS,
        column_mapping=column_mapping,
        require_positive=not allow_non_positive,
    )
    if ts is None and missing_timestamps != "constant":
        raise KronosInputError(
            f"`{name}` has no timestamps (no DatetimeIndex and no `timestamps` column). Kronos embeds the "
            "minute, hour, weekday, day and month of every bar; give the frame a DatetimeIndex, or pass "
            "`missing_timestamps='constant'` to use one fixed calendar stamp for every bar."
        )
    frame, constructed = complete_volume_amount(frame)
    if constructed:
        logger.info("%s: constructed %s by the reference's rules", name, constructed)
    x = frame[list(KRONOS_COLUMNS)].to_numpy(dtype=np.float32)
    # float32 statistics, population std, as the reference computes them
    mean, std = x.mean(axis=0), x.std(axis=0)
    xn = np.clip((x - mean) / (std + STD_EPS), -CLIP, CLIP).astype(np.float32)
    x_stamp = np.tile(NO_CALENDAR_STAMP, (len(frame), 1)) if ts is None else time_features(ts)
    return PreparedContext(xn, mean, std, x_stamp, ts, constructed)


def future_stamps(
    timestamps: pd.DatetimeIndex | None, n_context: int, horizon: int, future=None, name: str = "context"
) -> tuple[pd.Index, np.ndarray]:
    """The forecast's index and calendar features (H, 5) after a context of `n_context` bars with `timestamps`:
    `future` if given (checked), else inferred; integer positions when the context has no timestamps."""
    if timestamps is None:
        # No calendar: every future bar gets the same stamp; the "timestamps" are the integer positions after
        # the context.
        if future is not None:
            raise KronosInputError(
                f"`future_timestamps` given for `{name}`, whose context has no timestamps."
            )
        return pd.RangeIndex(n_context, n_context + horizon), np.tile(NO_CALENDAR_STAMP, (horizon, 1))
    ts = timestamps
    if future is None:
        future = infer_future_timestamps(ts, horizon)
    else:
        future = pd.DatetimeIndex(future)
        if len(future) != horizon:
            raise KronosInputError(
                f"`future_timestamps` for `{name}` has {len(future)} entries; `horizon` is {horizon}."
            )
        if future.hasnans or not future.is_monotonic_increasing or not future.is_unique:
            raise KronosInputError(
                f"`future_timestamps` for `{name}` must be unique, sorted and without NaT."
            )
        if future[0] <= ts[-1]:
            raise KronosInputError(
                f"`future_timestamps` for `{name}` starts at {future[0]}, not after the context's last "
                f"timestamp {ts[-1]}."
            )
    return future, time_features(future)


def _per_series(future, n: int) -> list:
    if future is None:
        return [None] * n
    if isinstance(future, (pd.Index, pd.Series, np.ndarray)) or (
        len(future) and not isinstance(future[0], (pd.Index, pd.Series, np.ndarray, list, tuple))
    ):
        return [pd.DatetimeIndex(future)] * n  # one index shared by every series
    if len(future) != n:
        raise KronosInputError(f"`future_timestamps` has {len(future)} indexes for {n} series.")
    return list(future)


def _uniforms(
    seed: int | None, n_series: int, num_samples: int, horizon: int, offset: int = 0
) -> torch.Tensor:
    """Uniforms (n_series, S, H, 2) driving the draws; path j of series i has its own stream
    (seed, offset + i, j).

    So the same seed gives the same path whatever the batching, the first k of more samples are the paths of
    ``num_samples=k``, and a shorter horizon uses the first steps' uniforms of a longer one.
    """
    entropy = np.random.SeedSequence(seed).entropy
    out = np.empty((n_series, num_samples, horizon, 2))
    for i in range(n_series):
        for j in range(num_samples):
            key = (offset + i, j)
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=key)))
            out[i, j] = rng.random((horizon, 2))
    return torch.from_numpy(out)


def _load_shared(kind, name, revision, cache_dir, device, loader):
    key = (kind, os.path.abspath(name) if os.path.isdir(str(name)) else str(name), revision, device)
    if key not in _LOADED:
        _LOADED[key] = loader(name, revision=revision, cache_dir=cache_dir, device=device)
    return _LOADED[key]
