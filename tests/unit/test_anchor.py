"""Forecast anchoring: every path moves by the tokenizer's reconstruction error of the context's last close.

The expected offset is computed here from its definition (normalise the window with numpy, encode and decode it
with the tokenizer, denormalise the last close), not read back from the pipeline.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from kronos_plugins import Calibrator, KronosPipeline
from kronos_plugins.benchmark.models import REGISTRY, build_model
from kronos_plugins.benchmark.suite import Suite, SuiteError
from kronos_plugins.checkpoints import CheckpointError, training_anchor
from kronos_plugins.preparation import CLIP, STD_EPS
from kronos_plugins.validation import KronosInputError

from ..conftest import REFERENCE, hourly_bars

_COLS = ["open", "high", "low", "close", "volume", "amount"]


def _expected_offset(pipe: KronosPipeline, bars) -> float:
    """Last close minus the tokenizer's round trip of it, from the definition."""
    v = bars[_COLS].to_numpy(dtype=np.float64)
    mean, std = v.mean(axis=0), v.std(axis=0)
    x = np.clip((v - mean) / (std + STD_EPS), -CLIP, CLIP).astype(np.float32)
    with torch.no_grad():
        tokens = pipe.tokenizer.encode(torch.from_numpy(x)[None], half=True)
        rec = pipe.tokenizer.decode(tokens)[0, -1, 3].item()
    return float(v[-1, 3] - (rec * (std[3] + STD_EPS) + mean[3]))


@pytest.fixture()
def bars():
    df = hourly_bars(100, seed=4)
    df["amount"] = df["volume"] * df["close"]
    return df.set_index("timestamps")


def test_anchoring_shifts_every_price_of_every_path_by_the_reconstruction_error(tiny_pipeline, bars):
    kw = dict(horizon=6, num_samples=16, seed=3)
    plain = tiny_pipeline.forecast(bars, anchor=False, **kw)
    anchored = tiny_pipeline.forecast(bars, anchor=True, **kw)
    offset = _expected_offset(tiny_pipeline, bars)
    assert abs(offset) > 1e-3 * bars["close"].iloc[-1]  # random weights reconstruct badly: a visible shift
    diff = anchored.samples - plain.samples
    np.testing.assert_allclose(diff[..., :4], offset, rtol=1e-4, atol=1e-6)  # one constant, all four prices
    np.testing.assert_array_equal(diff[..., 4:], 0.0)  # volume and amount untouched
    assert anchored.info["anchor_offset"] == pytest.approx([offset], rel=1e-4)
    assert "anchor_offset" not in plain.info


def test_anchoring_keeps_candles_consistent(tiny_pipeline, bars):
    plain = tiny_pipeline.forecast(bars, horizon=6, num_samples=16, seed=3, anchor=False).samples
    anchored = tiny_pipeline.forecast(bars, horizon=6, num_samples=16, seed=3, anchor=True).samples

    def consistent(s):
        return (s[..., 1] >= np.maximum(s[..., 0], s[..., 3])) & (
            s[..., 2] <= np.minimum(s[..., 0], s[..., 3])
        )

    np.testing.assert_array_equal(consistent(anchored), consistent(plain))


def test_the_anchor_of_a_batch_is_each_series_own(tiny_pipeline, bars):
    other = bars.copy()
    other[_COLS[:4]] *= 1.7
    both = tiny_pipeline.forecast([bars, other], horizon=4, num_samples=8, seed=[1, 2], anchor=True)
    alone = tiny_pipeline.forecast(other, horizon=4, num_samples=8, seed=2, anchor=True)
    np.testing.assert_allclose(both.samples[1], alone.samples[0], rtol=1e-6)
    assert both.info["anchor_offset"][1] == pytest.approx(_expected_offset(tiny_pipeline, other), rel=1e-4)


def test_an_anchored_forecast_reads_only_its_lookback_window(tiny_pipeline):
    """Bars before the lookback window (and anything after the origin, which is not passed) cannot move it."""
    a = hourly_bars(200, seed=5).set_index("timestamps").iloc[:160]
    b = a.copy()
    b.iloc[:90, :4] *= 1.3  # only bars before the last 64 differ
    kw = dict(horizon=5, num_samples=8, seed=0, lookback=64, anchor=True)
    np.testing.assert_array_equal(
        tiny_pipeline.forecast(a, **kw).samples, tiny_pipeline.forecast(b, **kw).samples
    )
    later = hourly_bars(200, seed=5, perturb_from=160).set_index("timestamps")
    np.testing.assert_array_equal(
        tiny_pipeline.forecast(later.iloc[:160], **kw).samples, tiny_pipeline.forecast(a, **kw).samples
    )


def test_the_default_comes_from_the_bundle_and_published_checkpoints_stay_unanchored(tmp_path, bars):
    for part in ("model", "tokenizer"):
        shutil.copytree(REFERENCE / "tiny-learnte" / part, tmp_path / part)
    assert training_anchor(tmp_path / "model") is False  # no bundle.json: the reference's behaviour
    assert KronosPipeline.from_pretrained(tmp_path / "model", tmp_path / "tokenizer").anchor is False
    (tmp_path / "bundle.json").write_text(json.dumps({"max_context": 128, "context": 64, "anchor": True}))
    pipe = KronosPipeline.from_pretrained(tmp_path, share_weights=False)
    assert pipe.anchor is True and pipe.copy().anchor is True
    kw = dict(horizon=3, num_samples=4, seed=0)
    np.testing.assert_array_equal(
        pipe.forecast(bars, **kw).samples, pipe.forecast(bars, anchor=True, **kw).samples
    )
    assert not np.array_equal(
        pipe.forecast(bars, **kw).samples, pipe.forecast(bars, anchor=False, **kw).samples
    )
    (tmp_path / "bundle.json").write_text(json.dumps({"max_context": 128, "anchor": "yes"}))
    with pytest.raises(CheckpointError, match="`anchor` in the bundle.json .* must be true or false"):
        training_anchor(tmp_path / "model")


def test_a_bad_anchor_is_rejected_by_name(tiny_pipeline, bars):
    with pytest.raises(KronosInputError, match="`anchor` must be True, False or None, got 'yes'"):
        tiny_pipeline.forecast(bars, horizon=2, num_samples=2, anchor="yes")


def test_calibration_anchors_its_pseudo_forecasts_like_the_forecast(tiny_pipeline, monkeypatch):
    bars = hourly_bars(240, seed=6).set_index("timestamps")
    seen = []
    real = tiny_pipeline.sample

    def spy(*args, **kwargs):
        seen.append(kwargs.get("anchor"))
        return real(*args, **kwargs)

    monkeypatch.setattr(tiny_pipeline, "sample", spy)
    for anchor in (True, False):
        seen.clear()
        Calibrator(tiny_pipeline, {"method": "conformal", "n_origins": 12}).forecast(
            bars, horizon=2, num_samples=4, seed=0, lookback=64, anchor=anchor
        )
        assert seen == [anchor, anchor]  # the forecast, then its pseudo-forecasts


def test_the_harness_passes_anchor_to_the_pipeline():
    d = REFERENCE / "tiny-learnte"
    settings = {name: s.default for name, s in REGISTRY["kronos"].settings.items()}
    settings.update(checkpoint=str(d / "model"), tokenizer=str(d / "tokenizer"), max_context=128)
    assert build_model("kronos", settings).pipeline().anchor is False  # null: the checkpoint's default
    assert build_model("kronos", {**settings, "anchor": True}).pipeline().anchor is True
    raw = {
        "name": "x",
        "datasets": [{"asset": "arch/SPX", "part": "validation"}],
        "target": "close",
        "context_length": 64,
        "horizons": [1],
        "models": [{"model": "naive"}, {"model": "kronos", "anchor": "yes"}],
    }
    with pytest.raises(SuiteError, match="`anchor` must be true or false"):
        Suite.from_dict(raw, name="x")
