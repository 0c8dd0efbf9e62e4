"""The quality gate's pure functions (benchmarks/quality/targets.py, gate.py helpers) on hand-computed cases.

The gate itself is a benchmark (`make bench-quality`); these tests only check that its figures and verdicts are
computed as documented, on small arrays, with no data and no checkpoint.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

QUALITY = Path(__file__).resolve().parents[2] / "benchmarks" / "quality"


def _load(name: str):
    if str(QUALITY) not in sys.path:
        sys.path.insert(0, str(QUALITY))  # gate.py imports its sibling `targets`
    spec = importlib.util.spec_from_file_location(f"quality_{name}", QUALITY / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


T = _load("targets")


# ------------------------------------------------------------------------------------------------------------
# target checks
# ------------------------------------------------------------------------------------------------------------
def test_coverage_076_at_80_is_4_points_short_and_passes():
    c = T.check_coverage("forecast", 0.8, 0.76)
    assert c.passed and c.verdict == "PASS"
    assert c.extra["gap"] == pytest.approx(-0.04)
    assert c.detail == "-4.0 points"
    assert c.target == "0.75 .. 0.85"


def test_coverage_outside_5_points_fails_both_ways_and_the_edge_passes():
    assert T.check_coverage("forecast", 0.8, 0.74).verdict == "FAIL"
    assert T.check_coverage("forecast", 0.5, 0.5501).verdict == "FAIL"
    # 0.80 - 0.75 is 0.05000000000000004 in binary: exactly 5 points is inside
    assert T.check_coverage("forecast", 0.8, 0.75).verdict == "PASS"
    assert T.check_coverage("forecast", 0.95, 1.0).verdict == "PASS"
    assert T.check_coverage("forecast", 0.95, float("nan")).verdict == "n/a"


def test_check_above_every_baseline_is_strict_and_names_the_best():
    baselines = {"naive": 0.0, "hist-vol-rw": 0.163, "lstm": 0.140, "broken": float("nan")}
    ok = T.check_above("forecast", "CRPS skill", 0.2, baselines)
    assert ok.passed and ok.target == "> 0.163 (hist-vol-rw)" and ok.extra["best"] == "hist-vol-rw"
    assert T.check_above("forecast", "CRPS skill", 0.15, baselines).passed is False
    assert T.check_above("forecast", "CRPS skill", 0.163, baselines).passed is False  # a tie is not above
    assert T.check_above("forecast", "CRPS skill", 0.2, {}).verdict == "n/a"


def test_mae_skill_no_worse_than_the_reference():
    assert T.check_not_below("forecast", "MAE h=5", -0.009, -0.0094, "hist-vol-rw").passed
    assert T.check_not_below("forecast", "MAE h=5", -0.03, -0.03, "hist-vol-rw").passed  # equal is no worse
    assert T.check_not_below("forecast", "MAE h=5", -0.07, -0.009, "hist-vol-rw").passed is False
    assert T.check_not_below("forecast", "MAE h=5", -0.07, float("nan"), "hist-vol-rw").verdict == "n/a"


def test_limits_and_bands():
    assert T.check_at_most("tokenizer", "error", 0.15, 0.15).passed
    assert T.check_at_most("tokenizer", "error", 0.31, 0.15).passed is False
    assert T.check_at_least("tokenizer", "consistent", 0.99, 0.99).passed
    assert T.check_at_least("tokenizer", "consistent", 0.826, 0.99).passed is False
    assert T.check_at_most("synthetic", "accuracy", None, 0.7).verdict == "n/a"
    assert T.check_band("synthetic", "kurtosis", 2.7, 1.3, 4.9).passed
    assert T.check_band("synthetic", "kurtosis", 16.5, 1.3, 4.9).passed is False


def test_overall_verdict():
    ok = T.check_at_most("s", "a", 0.1, 0.5)
    bad = T.check_at_most("s", "b", 0.9, 0.5)
    info = T.Check("lookback", "CRPS skill at lookback 32", "", 0.12, None)
    missing = T.check_at_most("s", "c", None, 0.5)
    assert info.verdict == "info"
    assert T.overall([ok, info]) == "PASS"
    assert T.overall([ok, info, missing]) == "INCOMPLETE"
    assert T.overall([ok, bad, missing]) == "FAIL"


# ------------------------------------------------------------------------------------------------------------
# forecast figures
# ------------------------------------------------------------------------------------------------------------
def test_first_step_ratio_by_hand():
    context = np.array([100.0, 101.0, 100.0, 102.0])  # |changes| 1, 1, 2: typical move 4/3; last close 102
    samples = np.array([[102.0, 0.0], [102.5, 0.0], [103.0, 0.0]])  # first-step median 102.5
    assert T.typical_move(context) == pytest.approx(4 / 3)
    assert T.first_step_ratio(samples, context) == pytest.approx(0.5 / (4 / 3))  # 0.375: within half a move
    jump = np.array([[103.0], [103.0], [104.0]])  # median 103: 1 / (4/3) = 0.75 moves away
    assert T.first_step_ratio(jump, context) == pytest.approx(0.75)
    assert T.check_at_most("forecast", "first step", T.first_step_ratio(jump, context), 0.5).passed is False
    below = np.array([[101.5], [101.0], [99.0]])  # median 101: a jump down counts the same
    assert T.first_step_ratio(below, context) == pytest.approx(0.75)
    assert math.isnan(T.first_step_ratio(samples, np.array([5.0, 5.0, 5.0])))  # no typical move


# ------------------------------------------------------------------------------------------------------------
# tokenizer figures
# ------------------------------------------------------------------------------------------------------------
def _window(n: int = 7) -> np.ndarray:
    """Closes 100 * exp(0, .01, 0, .01, ...): one-bar log returns +-0.01 (an even number of them for odd n:
    mean 0, population std exactly 0.01)."""
    close = 100.0 * np.exp(0.01 * (np.arange(n) % 2))
    o = np.r_[close[0], close[:-1]]
    high = np.maximum(o, close) * 1.01
    low = np.minimum(o, close) * 0.99
    vol = np.full(n, 10.0)
    return np.column_stack([o, high, low, close, vol, vol * close])


def test_close_reconstruction_error_by_hand():
    close = _window()[:, 3]
    assert T.close_reconstruction_error(close, close) == 0.0
    # every decoded close 0.2 % off; one bar's return std is 1 %: 0.2 return std
    assert T.close_reconstruction_error(close, close * 1.002) == pytest.approx(0.2)
    assert T.close_reconstruction_error(close, close * 0.998) == pytest.approx(0.2)
    assert math.isnan(T.close_reconstruction_error(np.full(5, 3.0), np.full(5, 3.0)))  # a flat window


def test_ohlc_consistent_by_hand():
    bars = np.array(
        [
            [10, 11, 9, 10.5],  # a candle
            [10, 10.2, 9, 10.5],  # high below the close
            [10, 11, 10.2, 10.5],  # low above the open
            [10, 10, 10, 10],  # a flat bar is consistent
        ]
    )
    assert T.ohlc_consistent(bars).tolist() == [True, False, False, True]


def test_repaired_bars_counts_each_bar_once():
    bars = np.array(
        [
            [10, 11, 9, 10.5, 1, 10],  # fine
            [10, 10.2, 10.6, 10.5, -1, -10],  # high and low both wrong, volume and amount negative: one bar
            [10, 11, 9, -1, 1, 10],  # a non-positive close
            [10, 11, 9, 10.5, 0, 0],  # zero volume is fine
        ]
    )
    assert T.repaired_bars(bars).tolist() == [False, True, True, False]


def test_repaired_bars_agree_with_the_synthetic_repair_rule():
    from kronos_plugins.synthetic.trajectories import repair_ohlcv

    rng = np.random.default_rng(1)
    bars = 10 + rng.normal(0, 1, size=(50, 6))
    bars[::7, 4] = -1.0
    repaired, counts, _ = repair_ohlcv(bars, price_floor=0.01)
    changed = (repaired != bars).any(axis=-1)
    assert np.array_equal(T.repaired_bars(bars), changed)
    assert T.repaired_bars(bars).sum() <= sum(counts.values())


def test_roundtrip_figures_with_a_hand_made_encode_decode_stand_in():
    raw = np.stack([_window(), _window()])

    def normalise(w):  # a stand-in for the pipeline's normalisation: prices / 100, and back
        return w / 100.0, lambda z: z * 100.0

    def exact(x):
        return x.copy()

    def close_up(x):  # decoded closes 0.2 % high: error 0.2 return std; candles stay candles (1 % wicks)
        z = x.copy()
        z[..., 3] *= 1.002
        return z

    def broken_first_bar(x):  # the first bar's high decoded below its low
        z = x.copy()
        z[:, 0, 1] = z[:, 0, 2] - 0.01
        return z

    err, ok = T.roundtrip_figures(raw, normalise, exact)
    assert err == pytest.approx([0.0, 0.0], abs=1e-6) and ok.all()
    err, ok = T.roundtrip_figures(raw, normalise, close_up)
    assert err == pytest.approx([0.2, 0.2], rel=1e-4) and ok.all()
    err, ok = T.roundtrip_figures(raw, normalise, broken_first_bar)
    assert ok.shape == (2, 7) and ok.mean() == pytest.approx(6 / 7)
    with pytest.raises(ValueError, match="round trip returned"):
        T.roundtrip_figures(raw, normalise, lambda x: x[:, :-1])


def test_candle_shape_by_hand_an_exact_decode_keeps_everything_and_a_half_body_is_measured_as_half():
    raw = np.stack([_window(), _window()])
    exact = T.candle_shape(raw, raw)
    assert exact["open_error"] == exact["high_error"] == exact["low_error"] == 0.0
    assert exact["body_size_ratio"] == exact["body_slope"] == exact["close_move_slope"] == pytest.approx(1.0)
    assert exact["shape_windows_left_out"] == 0
    half = raw.copy()
    half[..., 0] = np.sqrt(raw[..., 0] * raw[..., 3])  # open decoded halfway (in logs) to the close
    got = T.candle_shape(raw, half)
    assert got["body_size_ratio"] == pytest.approx(0.5) and got["body_slope"] == pytest.approx(0.5)
    assert got["close_move_slope"] == pytest.approx(1.0)  # the closes are untouched
    o, c = raw[0, :, 0], raw[0, :, 3]
    assert got["open_error"] == pytest.approx(np.mean(np.abs(np.sqrt(c / o) - 1)) / 0.01)  # one-bar std 0.01
    assert got["high_error"] == got["low_error"] == 0.0
    negative = half.copy()
    negative[1, 2, 3] = -1.0  # a non-positive decoded close: that window leaves the body figures
    assert T.candle_shape(raw, negative)["shape_windows_left_out"] == 1


def test_volume_shape_by_hand_negative_bars_relative_error_and_correlation():
    raw = np.stack([_window(), _window()])
    raw[:, :, 4] = [10.0, 20.0, 10.0, 20.0, 10.0, 20.0, 10.0]  # varying volume, mean 100/7
    exact = T.volume_shape(raw, raw)
    assert exact == {"volume_negative_share": 0.0, "volume_error": 0.0, "volume_corr": pytest.approx(1.0)}
    dec = raw.copy()
    dec[0, :, 4] = 30.0 - raw[0, :, 4]  # the first window's volume mirrored: every bar 10 off, corr -1
    dec[1, :3, 5] = -1.0  # three negative amounts in the second window
    dec[1, 3, 4] = -5.0  # and a negative volume: 25 off
    got = T.volume_shape(raw, dec)
    assert got["volume_negative_share"] == pytest.approx(4 / 14)
    mean_v = 100.0 / 7.0
    # median of two windows' errors: 10 / mean and (25 / 7) / mean
    assert got["volume_error"] == pytest.approx((10.0 / mean_v + 25.0 / 7.0 / mean_v) / 2)
    assert -1.0 < got["volume_corr"] < 1.0  # median of -1 and the second window's (below 1)
    flat = raw.copy()
    flat[:, :, 4] = 0.0  # no volume at all: nothing to measure, not a zero error
    nothing = T.volume_shape(flat, flat)
    assert np.isnan(nothing["volume_error"]) and np.isnan(nothing["volume_corr"])


def test_roundtrip_with_the_pipeline_normalisation_is_exact_for_an_identity_codec():
    from kronos_plugins.pipeline import prepare_series
    from kronos_plugins.validation import KRONOS_COLUMNS

    def normalise(w):
        ctx = prepare_series(pd.DataFrame(w, columns=list(KRONOS_COLUMNS)), missing_timestamps="constant")
        return ctx.x, ctx.denormalise

    raw = np.stack([_window(97)])
    err, ok = T.roundtrip_figures(raw, normalise, lambda x: x)
    assert err[0] < 1e-3  # float32 round-off only
    assert ok.all()


def test_median_of_medians_by_hand():
    overall, per = T.median_of_medians({"a": [1.0, 2.0, 3.0], "b": [10.0, float("nan")], "c": []})
    assert per["a"] == 2.0 and per["b"] == 10.0 and math.isnan(per["c"])
    assert overall == 6.0  # median of 2 and 10; the asset without a figure is left out


# ------------------------------------------------------------------------------------------------------------
# bootstrap bands
# ------------------------------------------------------------------------------------------------------------
def test_block_bootstrap_keeps_blocks_and_is_seeded():
    x = np.arange(100.0)
    draws = T.block_bootstrap(x, lambda r: np.mean(np.diff(r) == 1), n_boot=50, block=10, seed=3)
    assert draws.shape == (50,)
    assert (draws >= 90 / 99).all()  # 9 of each block's 10 values follow their predecessor
    again = T.block_bootstrap(x, lambda r: np.mean(np.diff(r) == 1), n_boot=50, block=10, seed=3)
    assert np.array_equal(draws, again)
    lags = T.block_bootstrap(x, lambda r: np.array([r.mean(), r.std()]), n_boot=20, block=10)
    assert lags.shape == (20, 2)
    with pytest.raises(ValueError):
        T.block_bootstrap(np.arange(10.0), np.mean, block=6)


def test_bootstrap_band_quantiles():
    draws = np.arange(1001.0)  # 0 .. 1000
    lo, hi = T.bootstrap_band(draws, level=0.9)
    assert (float(lo), float(hi)) == pytest.approx((50.0, 950.0))
    lo, hi = T.bootstrap_band(np.column_stack([draws, -draws]))
    assert lo.shape == (2,) and lo[0] == pytest.approx(25.0) and hi[1] == pytest.approx(-25.0)


def test_fidelity_bands_of_gaussian_returns_hold_zero_kurtosis_and_autocorrelation():
    # i.i.d. normal returns: excess kurtosis 0 and |r| autocorrelation 0 at every lag lie inside the bands;
    # a heavy-tailed series (Student t, 3 df) has a kurtosis band well above a normal's
    r = np.random.default_rng(5).standard_normal(2000)
    (k_lo, k_hi), (a_lo, a_hi) = T.fidelity_bands(r, max_lag=5, n_boot=200, block=20, seed=1)
    assert k_lo < 0 < k_hi and k_hi - k_lo < 1
    assert a_lo.shape == a_hi.shape == (5,) and (a_lo < 0).all() and (a_hi > 0).all()
    heavy = np.random.default_rng(5).standard_t(3, 2000)
    (h_lo, _), _ = T.fidelity_bands(heavy, max_lag=5, n_boot=200, block=20, seed=1)
    assert h_lo > k_hi


def test_band_of_a_constant_statistic_holds_its_value():
    rng = np.random.default_rng(0)
    r = rng.standard_normal(400)
    draws = T.block_bootstrap(r, lambda v: 1.5, n_boot=30, block=20)
    lo, hi = T.bootstrap_band(draws)
    assert T.check_band("synthetic", "x", 1.5, float(lo), float(hi)).passed


# ------------------------------------------------------------------------------------------------------------
# gate.py helpers
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gate():
    return _load("gate")


def test_window_starts(gate):
    assert gate._window_starts(100, 96, 8) == [0, 1, 2, 3, 4]
    assert gate._window_starts(96, 96, 8) == [0]
    assert gate._window_starts(50, 96, 8) == []
    starts = gate._window_starts(1000, 96, 8)
    assert len(starts) == 8 and starts[0] == 0 and starts[-1] == 904


def test_report_is_json_safe_and_escapes_pipes(gate):
    import json

    check = T.check_band("synthetic", "|r| autocorrelation", float("nan"), 0.1, 0.2)
    clean = gate._clean(
        {"a": np.float64("nan"), "b": np.int64(3), "c": [np.bool_(True)], "d": check.to_dict()}
    )
    json.dumps(clean, allow_nan=False)
    assert clean["a"] is None and clean["b"] == 3 and clean["c"] == [True]
    report = {
        "verdict": "FAIL",
        "checkpoint": {
            "name": "x",
            "arg": "bundled",
            "dir": "d",
            "hash": "0" * 64,
            "default_lookback": 96,
            "max_context": 128,
        },
        "reduced": None,
        "command": "python benchmarks/quality/gate.py",
        "started": "now",
        "wall_seconds": 1.0,
        "sections": {},
        "machine": "m",
        "git": "g",
        "checks": [clean["d"]],
    }
    text = gate.render(report)
    assert "\\|r\\| autocorrelation" in text
    row = next(line for line in text.splitlines() if "autocorrelation" in line)
    assert row.count(" | ") == 5  # six cells: the escaped pipes do not split the row
    assert "- **checkpoint**: `bundled` (d)," in text


def test_report_shows_a_candidate_by_its_repository_path_not_the_machines(gate):
    report = {
        "verdict": "FAIL",
        "checkpoint": {
            "name": "c",
            "arg": "/home/someone/repo/runs/candidates/c",
            "dir": "runs/candidates/c",
            "hash": "0" * 64,
            "default_lookback": 32,
            "max_context": 128,
        },
        "reduced": None,
        "command": "python benchmarks/quality/gate.py --checkpoint runs/candidates/c",
        "started": "now",
        "wall_seconds": 1.0,
        "sections": {},
        "machine": "m",
        "git": "g",
        "checks": [],
    }
    line = next(s for s in gate.render(report).splitlines() if s.startswith("- **checkpoint**"))
    assert line.startswith("- **checkpoint**: `runs/candidates/c`, content sha256 `0000000000000000`")
    assert "/home/someone" not in line


def test_reduced_settings_are_named(gate):
    args = gate.parse_args([])
    assert gate.reduced_settings(args) == ""
    args = gate.parse_args(["--origins", "2", "--paths", "20", "--sections", "tokenizer"])
    assert gate.reduced_settings(args) == "--origins 2 --paths 20 --sections tokenizer"


def test_synthetic_sampling_flags_are_passed_on_named_and_described(gate):
    args = gate.parse_args([])
    assert gate.synthetic_sampling(args) is None  # the checkpoint's own sampling
    args = gate.parse_args(["--synthetic-temperature", "1.15", "--synthetic-min-p", "0.02"])
    assert gate.synthetic_sampling(args) == {"temperature": 1.15, "min_p": 0.02}
    assert gate.reduced_settings(args) == "--synthetic-temperature 1.15 --synthetic-min-p 0.02"
    assert gate.synthetic_sampling(gate.parse_args(["--synthetic-min-p", "0.05"])) == {"min_p": 0.05}
    assert gate._sampling_text({"temperature": 1.3, "min_p": 0.0}) == ", temperature 1.3"
    assert gate._sampling_text({"temperature": 1.15, "min_p": 0.02}) == ", temperature 1.15, min-p 0.02"
    assert gate._sampling_text(None) == ""


def test_quality_suite_keeps_the_default_suite_windows_and_baselines(gate):
    pytest.importorskip("yaml")
    from kronos_plugins.benchmark.suite import load_suite

    root = QUALITY.parents[1] / "benchmarks" / "suites"
    quality, default = load_suite(root / "quality.yaml"), load_suite(root / "full.yaml")
    assert gate.suite_mismatches(quality, default) == []
    assert gate.GATED in [m.label for m in quality.enabled_models]
    assert quality.model(gate.GATED).settings["lookback"] is None  # the pipeline's default context


# ------------------------------------------------------------------------------------------------------------
# paired comparison of two checkpoints (benchmarks/quality/paired.py)
# ------------------------------------------------------------------------------------------------------------
def _windows(crps: list[list[float]]) -> pd.DataFrame:
    rows = [
        {"dataset": f"a{i}", "horizon": 1, "origin_index": j, "seed": 0, "crps": c, "mae": 2 * c}
        for i, asset in enumerate(crps)
        for j, c in enumerate(asset)
    ]
    return pd.DataFrame(rows)


def test_paired_ratio_is_the_geometric_mean_and_a_uniform_change_has_a_point_ci():
    P = _load("paired")
    old = _windows([[1.0, 2.0], [4.0, 8.0]])
    r = P.paired(old, old.assign(crps=old["crps"] * 0.5), "crps")
    assert r["ratio"] == pytest.approx(0.5) and r["new_better"] == 1.0
    assert r["asset_lo"] == pytest.approx(0.5) and r["asset_hi"] == pytest.approx(0.5)
    # one asset halved, the other doubled: geometric mean 1, and the asset bootstrap spans both
    new = old.assign(crps=old["crps"] * np.where(old["dataset"] == "a0", 0.5, 2.0))
    r = P.paired(old, new, "crps", n_boot=4000)
    assert r["ratio"] == pytest.approx(1.0) and r["new_better"] == 0.5 and r["assets"] == 2
    assert r["asset_lo"] == pytest.approx(0.5) and r["asset_hi"] == pytest.approx(2.0)


def test_paired_needs_shared_windows():
    P = _load("paired")
    old = _windows([[1.0]])
    with pytest.raises(ValueError, match="share no window"):
        P.paired(old, old.assign(origin_index=5), "crps")


# ------------------------------------------------------------------------------------------------------------
# signed close error of the tokenizer round trip by normalised close (benchmarks/quality/tokenizer_bias.py)
# ------------------------------------------------------------------------------------------------------------
def test_tokenizer_bias_bins_a_shrinkage_by_the_real_close():
    B = _load("tokenizer_bias")
    # one window, one bar per bin but [-3, -2) and [3, inf)
    close = np.array([[-3.5, -1.5, -0.5, 0.5, 1.5, 2.5]])
    x = np.zeros((1, 6, 6))
    x[:, :, 3] = close
    decoded = x.copy()
    decoded[:, :, 3] = 0.9 * close  # 10 % towards the mean: error -0.1 z
    t = B.bias_table(x, decoded).set_index("z_from")
    assert t.loc[-3, "bars"] == 0 and np.isnan(t.loc[-3, "mean_error"])
    assert t.loc[-np.inf, "mean_error"] == pytest.approx(0.35)  # below the mean: pulled up
    assert t.loc[2, "mean_error"] == pytest.approx(-0.25)  # above: pulled down
    assert t.loc[0, "mean_abs_error"] == pytest.approx(0.05)
    assert t["bars"].sum() == 6
    # only the close column counts: an error in the open changes nothing
    decoded[:, :, 0] += 1.0
    assert B.bias_table(x, decoded)["mean_error"].equals(t["mean_error"].reset_index(drop=True))


def test_gate_seeds_medians_and_pass_counts_by_hand(tmp_path):
    seeds = _load("gate_seeds")

    def run(name, accuracy, kurtosis, temperature=1.3, min_p=0.0):
        d = tmp_path / name
        d.mkdir()
        synthetic = {
            "sampling": {"temperature": temperature, "min_p": min_p},
            "kurtosis": {"synthetic": kurtosis},
            "repaired_share": 0.0,
            "vol_ratio": 1.0,
        }
        checks = [
            {"section": "synthetic", "name": "discriminative accuracy", "measured": accuracy},
            {"section": "forecast", "name": "discriminative accuracy", "measured": 0.0},  # another section's
        ]
        (d / "gate.json").write_text(json.dumps({"sections": {"synthetic": synthetic}, "checks": checks}))
        return d

    dirs = [run("hot-seed0", 0.9, 10.0), run("hot-seed1", 0.6, 12.0), run("hot-seed2", 0.8, 2.0)]
    dirs.append(run("cool-seed0", 0.7, 5.0, 1.15, 0.02))
    out = tmp_path / "summary.md"
    seeds.main([str(d) for d in dirs] + ["--out", str(out)])
    text = out.read_text()
    assert "| hot | 1.300 | 0.000 | 0.800 | 10.000 | 0.000 | 1.000 | 1 of 3 |" in text
    assert "| cool | 1.150 | 0.020 | 0.700 | 5.000 | 0.000 | 1.000 | 1 of 1 |" in text  # 0.70 passes
    (tmp_path / "no-seed").mkdir()
    with pytest.raises(ValueError, match="SETTING-seedN"):
        seeds.rows([tmp_path / "no-seed"])
