"""The bundled checkpoint forecasts from its default context length (bundle.json) unless told otherwise.

It was trained on windows of up to 96 context + 32 target bars and its default context (64 bars) was chosen on
validation windows; a long history passed without `lookback` must be cut to the last `context` bars
(normalisation and tokenisation included), not to the 128-bar window.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from kronos_plugins import KronosPipeline
from kronos_plugins.checkpoints import BUNDLED_DIR, training_context

from ..conftest import REFERENCE


def _history(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.005, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.005, n))
    vol = rng.uniform(1e3, 2e3, n)
    idx = pd.date_range("2020-01-01", periods=n, freq="D", name="timestamps")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": vol, "amount": vol * close},
        index=idx,
    )


def test_bundled_pipeline_defaults_to_its_training_context():
    meta = json.loads((BUNDLED_DIR / "bundle.json").read_text())
    pipe = KronosPipeline.from_pretrained()
    assert pipe.default_lookback == meta["context"] < pipe.max_context == meta["max_context"]


def test_a_long_history_without_lookback_is_forecast_from_the_training_context():
    pipe = KronosPipeline.from_pretrained()
    history = _history(300)
    default = pipe.forecast(history, horizon=5, num_samples=8, seed=1).samples
    cut = pipe.forecast(history.iloc[-pipe.default_lookback :], horizon=5, num_samples=8, seed=1).samples
    whole = pipe.forecast(history, horizon=5, num_samples=8, seed=1, lookback=300).samples
    np.testing.assert_array_equal(default, cut)
    assert not np.array_equal(default, whole)  # the default is not the whole history: the cut matters


def test_a_checkpoint_without_a_recorded_context_keeps_the_whole_history(tmp_path):
    for part in ("model", "tokenizer"):
        shutil.copytree(REFERENCE / "tiny-learnte" / part, tmp_path / part)
    assert training_context(tmp_path / "model") is None
    (tmp_path / "bundle.json").write_text(json.dumps({"max_context": 128, "context": 40}))
    assert training_context(tmp_path / "model") == 40
    pipe = KronosPipeline.from_pretrained(tmp_path)
    assert (pipe.default_lookback, pipe.max_context) == (40, 128)


@pytest.mark.parametrize("bad", [0, 5, -1])
def test_a_default_lookback_too_short_is_rejected(bad):
    d = REFERENCE / "tiny-learnte"
    with pytest.raises(ValueError, match="default_lookback"):
        KronosPipeline.from_pretrained(model=d / "model", tokenizer=d / "tokenizer", default_lookback=bad)
