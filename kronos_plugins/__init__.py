"""kronos-plugins: a native PyTorch Kronos for K-line (OHLCV) forecasting, with every sample path.

The core (this namespace) never imports an adapter; adapters live in `kronos_plugins.adapters` and need their
extras (``pip install 'kronos-plugins[darts]'`` etc.).
"""

from .checkpoints import CheckpointError, load_model, load_tokenizer, save_checkpoint
from .config import KronosConfig, KronosTokenizerConfig, SamplingConfig
from .forecast import KronosForecast
from .kv_cache import KVCache
from .model import Kronos
from .pipeline import KronosPipeline
from .tokenizer import KronosTokenizer
from .validation import KronosInputError

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "KVCache",
    "Kronos",
    "KronosConfig",
    "KronosForecast",
    "KronosInputError",
    "KronosPipeline",
    "KronosTokenizer",
    "KronosTokenizerConfig",
    "SamplingConfig",
    "load_model",
    "load_tokenizer",
    "save_checkpoint",
    "__version__",
]
