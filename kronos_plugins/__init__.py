"""kronos-plugins: a native PyTorch Kronos for K-line (OHLCV) forecasting, with every sample path.

The top-level namespace exports what the public signatures use: the pipeline and its result, the two
settings values (`SamplingConfig`, `CalibrationConfig`), the calibration layer, the transformers-style facade,
the model/tokenizer modules and their configs, and the loaders. The core never imports an adapter; adapters
live in `kronos_plugins.adapters` and need their extras (``pip install 'kronos-plugins[darts]'`` etc.).
"""

from .calibration import CalibrationConfig, Calibrator, calibrated
from .checkpoints import CheckpointError, load_model, load_tokenizer, save_checkpoint
from .config import KronosConfig, KronosTokenizerConfig, SamplingConfig
from .facade import KLineEncoding, KLineTokenizer, KronosForCausalLM
from .forecast import KronosForecast
from .kv_cache import KVCache
from .model import Kronos
from .pipeline import ForecastRequest, KronosPipeline, clear_weight_cache
from .tokenizer import KronosTokenizer
from .validation import KronosInputError

__version__ = "0.1.0"

__all__ = [
    "CalibrationConfig",
    "Calibrator",
    "CheckpointError",
    "ForecastRequest",
    "KLineEncoding",
    "KLineTokenizer",
    "KVCache",
    "Kronos",
    "KronosConfig",
    "KronosForCausalLM",
    "KronosForecast",
    "KronosInputError",
    "KronosPipeline",
    "KronosTokenizer",
    "KronosTokenizerConfig",
    "SamplingConfig",
    "calibrated",
    "clear_weight_cache",
    "load_model",
    "load_tokenizer",
    "save_checkpoint",
    "__version__",
]
