"""A checkpoint's default sampling temperature (``"temperature"`` in its ``bundle.json``).

A bundle may name the temperature chosen on validation windows, as it names its context and anchor. Every path
that names no temperature (the pipeline, the adapters, synthetic trajectories, the CLI, the benchmark harness)
must then sample at it, and every explicit temperature must win. The expected paths are those of a pipeline on
the same weights *without* a bundle, asked for that temperature explicitly.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from kronos_plugins import CheckpointError, KronosPipeline, SamplingConfig
from kronos_plugins.adapters._common import KronosSettings
from kronos_plugins.benchmark.cache import checkpoint_identity
from kronos_plugins.benchmark.models import REGISTRY, build_model
from kronos_plugins.checkpoints import training_temperature
from kronos_plugins.synthetic import generate_trajectories

from ..conftest import REFERENCE, hourly_bars

T = 1.7  # far enough from 1 that the paths differ


@pytest.fixture()
def bars():
    df = hourly_bars(100, seed=8)
    df["amount"] = df["volume"] * df["close"]
    return df.set_index("timestamps")


@pytest.fixture()
def checkpoints(tmp_path):
    """(bundle dir naming temperature T, the same weights with no bundle.json)."""
    hot, plain = tmp_path / "hot", tmp_path / "plain"
    for d in (hot, plain):
        for part in ("model", "tokenizer"):
            shutil.copytree(REFERENCE / "tiny-learnte" / part, d / part)
    (hot / "bundle.json").write_text(json.dumps({"max_context": 128, "temperature": T}))
    return hot, plain


def _pipes(checkpoints):
    hot, plain = checkpoints
    return (
        KronosPipeline.from_pretrained(hot, max_context=128, share_weights=False),
        KronosPipeline.from_pretrained(plain, max_context=128, share_weights=False),
    )


def test_the_bundle_temperature_is_the_default_and_any_explicit_one_wins(checkpoints, bars):
    hot, plain = _pipes(checkpoints)
    assert hot.default_temperature == T and hot.copy().default_temperature == T
    assert plain.default_temperature is None
    kw = dict(horizon=4, num_samples=8, seed=2)

    def paths(pipe, **more):
        return pipe.forecast(bars, **kw, **more).samples

    at_t = paths(plain, temperature=T)
    assert not np.array_equal(at_t, paths(plain))  # the temperature moves these paths
    np.testing.assert_array_equal(paths(hot), at_t)
    np.testing.assert_array_equal(paths(hot, sampling={"top_p": 1.0}), at_t)  # a dict without temperature
    np.testing.assert_array_equal(paths(hot, temperature=1.0), paths(plain))
    np.testing.assert_array_equal(paths(hot, sampling={"temperature": 1.0}), paths(plain))
    # a SamplingConfig value is a whole choice: its temperature (1) is taken as given
    hot_cfg = hot.forecast(bars, horizon=4, seed=2, sampling=SamplingConfig(num_samples=8)).samples
    np.testing.assert_array_equal(hot_cfg, paths(plain))


def test_a_bad_bundle_temperature_is_an_error_naming_it(checkpoints):
    hot, plain = checkpoints
    assert training_temperature(plain / "model") is None  # no bundle.json: sampling's own default
    assert training_temperature(hot / "model") == T
    for bad in (0, -1.0, "warm", True):
        (hot / "bundle.json").write_text(json.dumps({"max_context": 128, "temperature": bad}))
        with pytest.raises(CheckpointError, match="`temperature` in the bundle.json .* must be a number > 0"):
            training_temperature(hot / "model")


@pytest.mark.filterwarnings("ignore::kronos_plugins.synthetic.SyntheticRepairWarning")  # random weights
def test_synthetic_paths_and_adapter_settings_sample_at_the_default(checkpoints, bars):
    hot, plain = _pipes(checkpoints)
    kw = dict(n_paths=6, length=5, seed=1)
    np.testing.assert_array_equal(
        generate_trajectories(hot, bars, **kw).bars,
        generate_trajectories(plain, bars, temperature=T, **kw).bars,
    )
    assert generate_trajectories(hot, bars, **kw).settings["temperature"] == T
    # the adapters' shared settings: fields travel one by one, so the pipeline's default applies
    settings = KronosSettings(num_samples=8, seed=2)
    got = hot.forecast(bars, horizon=4, **settings.forecast_kwargs()).samples
    np.testing.assert_array_equal(
        got, plain.forecast(bars, horizon=4, num_samples=8, seed=2, temperature=T).samples
    )
    explicit = KronosSettings(num_samples=8, seed=2, temperature=1.0)
    got = hot.forecast(bars, horizon=4, **explicit.forecast_kwargs()).samples
    np.testing.assert_array_equal(got, plain.forecast(bars, horizon=4, num_samples=8, seed=2).samples)


def test_the_harness_reads_the_default_and_its_cache_key_follows_the_bundle(checkpoints):
    hot, plain = checkpoints
    settings = {name: s.default for name, s in REGISTRY["kronos"].settings.items()}
    assert settings["temperature"] is None  # null: the checkpoint's default
    one = dict(settings, max_context=128)
    assert build_model("kronos", {**one, "checkpoint": str(hot)}).sampling.temperature == T
    assert build_model("kronos", {**one, "checkpoint": str(plain)}).sampling.temperature == 1.0
    assert (
        build_model("kronos", {**one, "checkpoint": str(hot), "temperature": 1.2}).sampling.temperature == 1.2
    )
    before = checkpoint_identity(str(hot / "model"), str(hot / "tokenizer"))
    (hot / "bundle.json").write_text(json.dumps({"max_context": 128, "temperature": 1.3}))
    assert checkpoint_identity(str(hot / "model"), str(hot / "tokenizer")) != before
