"""What the three adapters share: one pipeline per checkpoint, one sampling value, one column map.

Adapters hold only these settings and translate types; sampling, normalisation and validation are the
pipeline's, calibration the `Calibrator` layer's (composed here, in `KronosSettings.forecaster`). Pipelines
built from the same checkpoint and device share one copy of the weights (the weight cache of
`KronosPipeline.from_pretrained`).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from ..calibration import CalibrationConfig, Calibrator
from ..config import SamplingConfig
from ..pipeline import KronosPipeline
from ..preparation import MIN_CONTEXT_BARS
from ..validation import KRONOS_COLUMNS, OHLC_MODES, KronosInputError, check_positive_int


def require(module: str, adapter: str, extra: str):
    """Import `module` or raise an ImportError naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"`{adapter}` needs {module}; `pip install 'kronos-plugins[{extra}]'`") from e


@dataclass
class KronosSettings:
    """Checkpoint, sampling and column settings, with the same names and meaning in every adapter.

    Parameters
    ----------
    model, tokenizer : str or path
        Checkpoint directories or hub ids (see `KronosPipeline.from_pretrained`).
    max_context : int, optional
        Model window; defaults to the published value for known ids.
    device : str, optional
        Torch device, default "cpu".
    sampling : SamplingConfig or dict, optional
        The sampling settings as one value (see `SamplingConfig`).
    num_samples, temperature, top_k, top_p : optional
        Sugar: each one given replaces that field of `sampling`.
    seed : int, optional
        `seed=None` draws fresh entropy per call.
    column_mapping : dict, optional
        Kronos column -> host column/component name, e.g. ``{"close": "Close"}``.
    lookback : int, optional
        Use only the last `lookback` bars of each context (None: the pipeline's default, the
        default context of the bundled checkpoint (64 bars, its bundle.json) and the whole history for published ones).
    allow_non_positive : bool, default=False
        Accept prices <= 0 (series that are not prices); by default they are an error.
    calibration : {None, "conformal", "scale"}, dict or CalibrationConfig, optional
        Calibrate the sample paths from pseudo-forecasts inside each context (the `Calibrator` layer, see
        `kronos_plugins.calibration`; None: raw paths).
    ohlc : {"raise", "widen"}, default="raise"
        Bars whose high/low do not hold their open and close: an error, or widened and reported (see
        `KronosPipeline.forecast`).
    """

    model: str | os.PathLike | None = None
    tokenizer: str | os.PathLike | None = None
    max_context: int | None = None
    device: str | None = None
    num_samples: int | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None
    column_mapping: dict[str, str] | None = field(default=None)
    lookback: int | None = None
    allow_non_positive: bool = False
    calibration: str | dict | CalibrationConfig | None = None
    sampling: SamplingConfig | dict | None = None
    ohlc: str = "raise"

    def __post_init__(self) -> None:
        self.sampling_config()  # a bad sampling setting fails here, not at predict
        CalibrationConfig.coerce(self.calibration)  # likewise a bad calibration method or field
        if self.lookback is not None:
            check_positive_int(self.lookback, "lookback", minimum=MIN_CONTEXT_BARS)
        if self.ohlc not in OHLC_MODES:
            raise KronosInputError(f"`ohlc` must be one of {list(OHLC_MODES)}, got {self.ohlc!r}.")
        if self.column_mapping is not None:
            unknown = sorted(set(self.column_mapping) - set(KRONOS_COLUMNS))
            if unknown:
                raise KronosInputError(
                    f"`column_mapping` has keys {unknown} that are not Kronos columns {list(KRONOS_COLUMNS)}."
                )

    @classmethod
    def from_args(cls, args: Mapping) -> KronosSettings:
        """The settings among an adapter's constructor arguments (the other entries are the adapter's own)."""
        return cls(**{f.name: args[f.name] for f in fields(cls) if f.name in args})

    def sampling_config(self, num_samples: int | None = None) -> SamplingConfig:
        """The sampling value: `sampling` with the keyword settings (and `num_samples`, if given) applied."""
        return SamplingConfig.resolve(
            self.sampling,
            num_samples=self.num_samples if num_samples is None else num_samples,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
        )

    def pipeline(self) -> KronosPipeline:
        """The shared pipeline for these checkpoints (weights loaded once per checkpoint and device)."""
        return KronosPipeline.from_pretrained(
            model=self.model, tokenizer=self.tokenizer, max_context=self.max_context, device=self.device
        )

    def forecaster(self, pipeline: KronosPipeline | None = None) -> KronosPipeline | Calibrator:
        """What forecasts: the pipeline (`pipeline`, e.g. a fine-tuned one, else the shared one), or the
        `Calibrator` layer over it when `calibration` is set. Both take ``forecast(context, horizon,
        sampling=..., **forecast_kwargs())``."""
        pipe = self.pipeline() if pipeline is None else pipeline
        config = CalibrationConfig.coerce(self.calibration)
        return pipe if config is None else Calibrator(pipe, config)

    def forecast_kwargs(self, num_samples: int | None = None) -> dict:
        """Keyword arguments for ``forecaster().forecast`` from these settings (``sampling`` included). The
        sampling fields travel one by one, so that a field set nowhere keeps the pipeline's default (a
        checkpoint's ``default_temperature`` among them)."""
        return dict(
            sampling=self.sampling,
            num_samples=self.num_samples if num_samples is None else num_samples,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            seed=self.seed,
            column_mapping=self.column_mapping,
            lookback=self.lookback,
            allow_non_positive=self.allow_non_positive,
            ohlc=self.ohlc,
        )


def finetune_settings(value, name: str):
    """The fine-tuning switch of an adapter: None/False (zero-shot), True, or a dict of `FinetuneConfig`
    fields (``freeze`` / ``unfreeze`` patterns included); returns None or the checked `FinetuneConfig`."""
    if value is None or value is False:
        return None
    from ..training.finetune import FinetuneConfig

    try:
        return FinetuneConfig.coerce(value)
    except KronosInputError as err:
        raise KronosInputError(f"`{name}`: {err}") from None


def base_name(settings: KronosSettings) -> str:
    """How a model card names the checkpoint an adapter fine-tuned from."""
    return "bundled" if settings.model is None else str(settings.model)
