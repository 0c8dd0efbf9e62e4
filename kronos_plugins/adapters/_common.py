"""What the three adapters share: one pipeline per checkpoint, one set of sampling settings, one column map.

Adapters hold only these settings and translate types; sampling, normalisation and validation are the
pipeline's. Pipelines built from the same checkpoint and device share one copy of the weights.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field

from ..calibration import CalibrationConfig
from ..config import SamplingConfig
from ..pipeline import MIN_CONTEXT_BARS, KronosPipeline
from ..validation import KRONOS_COLUMNS, KronosInputError, check_positive_int


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
    num_samples, temperature, top_k, top_p, seed
        Sampling settings (see `SamplingConfig`); `seed=None` draws fresh entropy per call.
    column_mapping : dict, optional
        Kronos column -> host column/component name, e.g. ``{"close": "Close"}``.
    lookback : int, optional
        Use only the last `lookback` bars of each context (None: the pipeline's default, the
        training context for the bundled checkpoint (96 bars) and the whole history for published ones).
    allow_non_positive : bool, default=False
        Accept prices <= 0 (series that are not prices); by default they are an error.
    calibration : {None, "conformal", "scale"}, dict or CalibrationConfig, optional
        Calibrate the sample paths from pseudo-forecasts inside each context (see
        `kronos_plugins.calibration`; None: raw paths).
    """

    model: str | os.PathLike | None = None
    tokenizer: str | os.PathLike | None = None
    max_context: int | None = None
    device: str | None = None
    num_samples: int = 100
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    column_mapping: dict[str, str] | None = field(default=None)
    lookback: int | None = None
    allow_non_positive: bool = False
    calibration: str | dict | CalibrationConfig | None = None

    def __post_init__(self) -> None:
        SamplingConfig(
            num_samples=self.num_samples, temperature=self.temperature, top_k=self.top_k, top_p=self.top_p
        )
        CalibrationConfig.coerce(self.calibration)  # a bad method or field fails here, not at predict
        if self.lookback is not None:
            check_positive_int(self.lookback, "lookback", minimum=MIN_CONTEXT_BARS)
        if self.column_mapping is not None:
            unknown = sorted(set(self.column_mapping) - set(KRONOS_COLUMNS))
            if unknown:
                raise KronosInputError(
                    f"`column_mapping` has keys {unknown} that are not Kronos columns {list(KRONOS_COLUMNS)}."
                )

    def pipeline(self) -> KronosPipeline:
        """The shared pipeline for these checkpoints (weights loaded once per checkpoint and device)."""
        return KronosPipeline.from_pretrained(
            model=self.model, tokenizer=self.tokenizer, max_context=self.max_context, device=self.device
        )

    def forecast_kwargs(self, num_samples: int | None = None) -> dict:
        """Keyword arguments for `KronosPipeline.forecast` from these settings."""
        return dict(
            num_samples=self.num_samples if num_samples is None else num_samples,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            seed=self.seed,
            column_mapping=self.column_mapping,
            lookback=self.lookback,
            allow_non_positive=self.allow_non_positive,
            calibration=self.calibration,
        )
