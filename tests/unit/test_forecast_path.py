"""One straight forecast path (issue 16): calibration as a layer, sampling as one value, the weight cache,
the KV cache's own state, and input that real feeds send (inconsistent candles, tiny and huge prices)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import kronos_plugins
import kronos_plugins.preparation as preparation
from kronos_plugins import (
    CalibrationConfig,
    Calibrator,
    KronosInputError,
    KronosPipeline,
    KVCache,
    SamplingConfig,
    calibrated,
    clear_weight_cache,
)
from kronos_plugins.adapters._common import KronosSettings
from kronos_plugins.preparation import column_scales

from ..conftest import REFERENCE

FAST = CalibrationConfig(n_origins=6, min_origins=0)


def _frame(ohlcv_input, a, b):
    return ohlcv_input.iloc[a:b].set_index("timestamps")


# ------------------------------------------------------------------------------------------------------------
# calibration is a layer on top of the pipeline


class _Imports(ast.NodeVisitor):
    """The package modules a module imports (module level or inside functions; not under TYPE_CHECKING)."""

    def __init__(self, package: str):
        self.package, self.found = package, set()

    def visit_If(self, node):
        if "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_ImportFrom(self, node):
        parts = self.package.split(".")
        base = parts[: len(parts) - node.level + 1] if node.level else []
        target = ".".join(base + ([node.module] if node.module else []))
        self.found.update([target] + [f"{target}.{a.name}" for a in node.names])

    def visit_Import(self, node):
        self.found.update(a.name for a in node.names)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    root = Path(kronos_plugins.__file__).parent
    names = {}
    for path in root.rglob("*.py"):
        parts = list(path.with_suffix("").relative_to(root.parent).parts)
        is_pkg = parts[-1] == "__init__"
        names[path] = ".".join(parts[:-1] if is_pkg else parts), is_pkg
    modules = {name for name, _ in names.values()}
    graph = {}
    for path, (name, is_pkg) in names.items():
        visitor = _Imports(name if is_pkg else name.rsplit(".", 1)[0])
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = {d for d in visitor.found if d in modules and d != name}
    return graph


def test_the_package_has_no_import_cycle():
    """Between modules (packages' __init__ aside, which import their children by design). The datasets
    package is left out: its `_sources` and `_debian` import each other (another change owns them)."""
    graph = _import_graph()
    packages = {m for m in graph if any(k.startswith(m + ".") for k in graph)}
    nodes = {m for m in graph if m not in packages and not m.startswith("kronos_plugins.datasets")}
    edges = {m: graph[m] & nodes for m in nodes}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            m = todo.pop()
            for d in edges[m]:
                if d == goal:
                    return True
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        return False

    cycles = sorted(m for m in nodes if reaches(m, m))
    assert not cycles, cycles
    assert "kronos_plugins.pipeline" not in graph["kronos_plugins.calibration"]
    assert "kronos_plugins.calibration" in graph["kronos_plugins.pipeline"]  # the sugar composes the layer


def test_a_calibrated_forecast_validates_each_context_once_and_samples_twice(
    tiny_pipeline, ohlcv_input, monkeypatch
):
    """Two series: two validations (one per context), one raw sampling call and ONE call for every
    pseudo-forecast of both series; `forecast` itself runs once (no recursion)."""
    a, b = _frame(ohlcv_input, 0, 80), _frame(ohlcv_input, 100, 190)
    calls = {"validate": 0, "sample": [], "forecast": 0}
    validate, sample, forecast = (
        preparation.validate_context,
        KronosPipeline.sample,
        KronosPipeline.forecast,
    )

    def count_validate(*args, **kwargs):
        calls["validate"] += 1
        return validate(*args, **kwargs)

    def count_sample(self, contexts, *args, **kwargs):
        calls["sample"].append(len(contexts))
        return sample(self, contexts, *args, **kwargs)

    def count_forecast(self, *args, **kwargs):
        calls["forecast"] += 1
        return forecast(self, *args, **kwargs)

    monkeypatch.setattr(preparation, "validate_context", count_validate)
    monkeypatch.setattr(KronosPipeline, "sample", count_sample)
    monkeypatch.setattr(KronosPipeline, "forecast", count_forecast)
    fc = tiny_pipeline.forecast([a, b], horizon=3, num_samples=4, seed=1, calibration=FAST)
    assert calls == {"validate": 2, "sample": [2, 12], "forecast": 1}  # 6 origins for each series
    assert [i["n_origins"] for i in fc.calibration] == [6, 6]


def test_the_layer_the_sugar_and_a_held_forecast_agree(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 20, 110)
    kw = dict(num_samples=6, seed=4, lookback=50)
    sugar = tiny_pipeline.forecast(ctx, 4, calibration=FAST, **kw)
    layer = Calibrator(tiny_pipeline, FAST).forecast(ctx, 4, **kw)
    helper = calibrated(tiny_pipeline, FAST).forecast(
        ctx, 4, SamplingConfig(num_samples=6), seed=4, lookback=50
    )
    raw = tiny_pipeline.forecast(ctx, 4, **kw)
    held = Calibrator(tiny_pipeline, FAST).calibrate(raw, ctx, **kw)
    for other in (layer, helper, held):
        np.testing.assert_array_equal(other.samples, sugar.samples)
    # the calibrated paths are a per-step monotone map of the raw forecast's own paths
    order = np.argsort(raw.column("close"), axis=1)
    assert (np.diff(np.take_along_axis(sugar.column("close"), order, axis=1), axis=1) >= 0).all()
    assert not np.allclose(sugar.samples, raw.samples)


def test_pseudo_forecasts_see_only_the_bars_before_their_origin(tiny_pipeline, ohlcv_input, monkeypatch):
    """The batched pseudo-forecasts: changing every bar from an origin t on leaves the pseudo-forecasts from
    the origins up to t bit-identical and changes the later ones (one that read the bar at its origin fails)."""
    full = _frame(ohlcv_input, 0, 120)
    n, horizon = 90, 4
    got = []
    sample = KronosPipeline.sample

    def keep(self, contexts, *args, **kwargs):
        out = sample(self, contexts, *args, **kwargs)
        got.append(out)
        return out

    monkeypatch.setattr(KronosPipeline, "sample", keep)

    def pseudo(frame):
        got.clear()
        fc = Calibrator(tiny_pipeline, FAST).forecast(frame, horizon, num_samples=5, seed=2)
        return got[1], fc.calibration[0]["origins"]  # call 0: the raw forecast; call 1: every pseudo

    before, origins = pseudo(full.iloc[:n])
    t = sorted(origins)[2]
    late = full.iloc[:n].copy()
    late.iloc[t:, :4] *= 1.5
    late.iloc[t:, 4:] *= 3.0
    after, same = pseudo(late)
    assert same == origins and max(origins) == n - horizon
    for k, origin in enumerate(origins):
        if origin <= t:
            np.testing.assert_array_equal(before[k], after[k], err_msg=f"origin {origin}")
        else:
            assert not np.allclose(before[k], after[k]), origin


def test_pseudo_samples_draws_fewer_paths_per_pseudo_forecast(tiny_pipeline, ohlcv_input, monkeypatch):
    ctx = _frame(ohlcv_input, 0, 90)
    counts = []
    sample = KronosPipeline.sample

    def spy(self, contexts, y_stamps, streams, horizon, sampling, seed, **kwargs):
        counts.append(sampling.num_samples)
        return sample(self, contexts, y_stamps, streams, horizon, sampling, seed, **kwargs)

    monkeypatch.setattr(KronosPipeline, "sample", spy)
    config = CalibrationConfig(n_origins=6, min_origins=0, pseudo_samples=3)
    fc = tiny_pipeline.forecast(ctx, 3, num_samples=8, seed=0, calibration=config)
    assert counts == [8, 3] and fc.samples.shape == (1, 8, 3, 6)
    with pytest.raises(KronosInputError, match="pseudo_samples"):
        CalibrationConfig(pseudo_samples=1)


# ------------------------------------------------------------------------------------------------------------
# sampling settings as one value


def test_sampling_travels_as_one_value_and_keywords_override_it(tiny_pipeline, ohlcv_input):
    ctx = _frame(ohlcv_input, 0, 60)
    cfg = SamplingConfig(num_samples=5, temperature=0.8, top_p=0.9)
    by_value = tiny_pipeline.forecast(ctx, 3, sampling=cfg, seed=1).samples
    by_keywords = tiny_pipeline.forecast(ctx, 3, num_samples=5, temperature=0.8, top_p=0.9, seed=1).samples
    np.testing.assert_array_equal(by_value, by_keywords)
    hotter = tiny_pipeline.forecast(ctx, 3, sampling=cfg, temperature=1.5, seed=1).samples
    assert hotter.shape == by_value.shape and not np.allclose(hotter, by_value)
    with pytest.raises(KronosInputError, match="unknown fields"):
        tiny_pipeline.forecast(ctx, 3, sampling={"temp": 1.0})
    settings = KronosSettings(sampling=cfg, top_k=3)
    assert settings.sampling_config(7) == SamplingConfig(7, 0.8, 3, 0.9)
    # the adapters' call (fields one by one, so that a checkpoint's default temperature can apply) gives the
    # paths of that one value
    via_adapter = tiny_pipeline.forecast(ctx, 3, **{**settings.forecast_kwargs(num_samples=7), "seed": 1})
    by_config = tiny_pipeline.forecast(ctx, 3, sampling=SamplingConfig(7, 0.8, 3, 0.9), seed=1)
    np.testing.assert_array_equal(via_adapter.samples, by_config.samples)


# ------------------------------------------------------------------------------------------------------------
# the weight cache


def test_shared_weights_are_one_module_and_the_opt_out_is_a_copy(monkeypatch):
    import kronos_plugins.pipeline as pipeline

    monkeypatch.setattr(pipeline, "_LOADED", {})
    d = REFERENCE / "tiny-learnte"
    kw = dict(model=d / "model", tokenizer=d / "tokenizer", max_context=64)
    a, b = KronosPipeline.from_pretrained(**kw), KronosPipeline.from_pretrained(**kw)
    own = KronosPipeline.from_pretrained(**kw, share_weights=False)
    copied = a.copy()
    assert a.model is b.model and a.tokenizer is b.tokenizer
    for other in (own, copied):
        assert other.model is not a.model and other.tokenizer is not a.tokenizer
        for p, q in zip(other.model.parameters(), a.model.parameters(), strict=True):
            assert torch.equal(p, q)
    with torch.no_grad():  # "fine-tuning" the copy leaves every shared pipeline alone
        next(own.model.parameters()).add_(1.0)
        next(copied.model.parameters()).add_(1.0)
    assert not torch.equal(next(own.model.parameters()), next(b.model.parameters()))
    assert torch.equal(next(a.model.parameters()), next(b.model.parameters()))
    assert len(pipeline._LOADED) == 2  # the model and the tokenizer, once; the opt-out is not cached
    clear_weight_cache()
    assert pipeline._LOADED == {}
    assert KronosPipeline.from_pretrained(**kw).model is not a.model


# ------------------------------------------------------------------------------------------------------------
# the KV cache owns its state


def test_kv_cache_refuses_to_overflow_or_to_start_decoding_twice():
    cache = KVCache.allocate(1)
    cache.write(0, torch.zeros(1, 2, 5, 4), torch.zeros(1, 2, 5, 4))  # prefill: the prefix
    cache.advance(5)
    cache.start_decoding(rows_per_group=3, max_new=2)
    with pytest.raises(RuntimeError, match="twice"):
        cache.start_decoding(rows_per_group=3, max_new=2)
    k, _ = cache.write(0, torch.ones(3, 2, 2, 4), torch.ones(3, 2, 2, 4))
    assert k.shape == (3, 2, 2, 4) and cache.read(0)[2].shape == (3, 2, 0, 4)  # written, not yet advanced
    cache.advance(2)
    assert cache.get_seq_length() == 7 and cache.read(0)[2].shape == (3, 2, 2, 4)
    with pytest.raises(RuntimeError, match="overflow"):
        cache.write(0, torch.ones(3, 2, 1, 4), torch.ones(3, 2, 1, 4))


# ------------------------------------------------------------------------------------------------------------
# real feeds: inconsistent candles


def _broken(ohlcv_input):
    ctx = _frame(ohlcv_input, 0, 60).copy()
    ctx.iloc[5, ctx.columns.get_loc("low")] = ctx["close"].iloc[5] * 1.01  # low above the close
    ctx.iloc[40, ctx.columns.get_loc("high")] = ctx[["open", "close"]].iloc[40].max() * 0.99
    return ctx


def test_an_inconsistent_candle_raises_an_error_that_names_the_option(tiny_pipeline, ohlcv_input):
    with pytest.raises(
        KronosInputError, match=r"high` must be >= max\(open, close\), but row 40 .*ohlc='widen'"
    ):
        tiny_pipeline.forecast(_broken(ohlcv_input), horizon=3, num_samples=2, lookback=60)


def test_ohlc_widen_repairs_and_reports_every_changed_row(tiny_pipeline, ohlcv_input):
    ctx = _broken(ohlcv_input)
    fc = tiny_pipeline.forecast(ctx, horizon=3, num_samples=4, seed=0, lookback=50, ohlc="widen")
    report = fc.info["ohlc_widened"][0]
    assert report["count"] == 1  # row 5 lies before the last 50 bars: not validated, not reported
    (row,) = report["rows"]
    assert row["row"] == 40 and row["label"] == ctx.index[40]  # positions in the frame as given
    assert row["high_widened"] == max(row["open"], row["close"]) and row["low_widened"] == row["low"]
    fixed = ctx.copy()
    fixed["high"] = fixed[["open", "high", "close"]].max(axis=1)
    fixed["low"] = fixed[["open", "low", "close"]].min(axis=1)
    clean = tiny_pipeline.forecast(fixed, horizon=3, num_samples=4, seed=0, lookback=50)
    np.testing.assert_array_equal(fc.samples, clean.samples)
    assert "ohlc_widened" not in clean.info

    whole = tiny_pipeline.forecast(ctx, 3, num_samples=4, seed=0, lookback=60, ohlc="widen")
    report = whole.info["ohlc_widened"][0]
    assert report["count"] == 2 and [r["row"] for r in report["rows"]] == [5, 40]
    with pytest.raises(KronosInputError, match="`ohlc`"):
        tiny_pipeline.forecast(ctx, 3, num_samples=2, ohlc="clip")


# ------------------------------------------------------------------------------------------------------------
# real feeds: prices of any scale


def test_column_scales_keep_ordinary_levels_and_move_others_to_the_hundreds():
    def bars(level, volume=1e4):
        return np.tile([level, level, level, level, volume, volume * level], (10, 1))

    assert (column_scales(bars(1.0)) == 1.0).all()
    np.testing.assert_array_equal(column_scales(bars(5e8)), [1.0] * 5 + [1e10])  # amount 5e12: out of band
    np.testing.assert_array_equal(column_scales(bars(3e-4))[:4], 1e-6)
    np.testing.assert_array_equal(column_scales(bars(0.5, 0.0)), [1e-3] * 4 + [1.0, 1.0])  # zeros: unscaled
    np.testing.assert_array_equal(column_scales(bars(300 * 1e12)), [1e12] * 4 + [1.0, 1e16])


@pytest.fixture(scope="module")
def bundled():
    return KronosPipeline.from_pretrained()


@pytest.fixture(scope="module")
def walk():
    rng = np.random.default_rng(7)
    n = 200
    close = 300.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, n)))
    open_ = np.r_[300.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.001, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.001, n)))
    index = pd.date_range("2024-01-02 09:30", periods=n, freq="5min")
    volume = np.exp(rng.normal(8, 0.3, n))
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


@pytest.mark.parametrize("factor", [1e-6, 1e12])
def test_prices_scaled_by_1e_minus_6_or_1e12_give_the_same_forecast_up_to_the_scale(bundled, walk, factor):
    prices = ["open", "high", "low", "close"]
    scaled = walk.copy()
    scaled[prices] *= factor
    base = bundled.forecast(walk, horizon=10, num_samples=50, seed=0)
    fc = bundled.forecast(scaled, horizon=10, num_samples=50, seed=0)
    assert fc.info["price_scale"] == [factor] and base.info["price_scale"] == [1.0]
    np.testing.assert_allclose(fc.samples[..., :4] / factor, base.samples[..., :4], rtol=1e-9)
    np.testing.assert_allclose(fc.samples[..., 4], base.samples[..., 4], rtol=1e-9)  # volume: unscaled


def test_prices_near_1e_minus_6_are_forecast_where_the_series_is(bundled, walk, monkeypatch):
    """Prices near 8e-7: with the reference's absolute epsilon alone (no rescaling) the normalised bars are
    almost flat and the median forecast lands far from the last close (below zero by step 10 here); rescaled,
    it stays within 5% of it at every step."""
    tiny = walk.copy()
    tiny[["open", "high", "low", "close"]] *= 3e-9
    last = tiny["close"].iloc[-1]

    def median_ratio():
        fc = bundled.forecast(tiny, horizon=10, num_samples=50, seed=0)
        return np.median(fc.column("close")[0], axis=0) / last

    assert np.all(np.abs(median_ratio() - 1) < 0.05)
    monkeypatch.setattr(preparation, "SCALE_BAND", (0.0, float("inf")))  # the reference's normalisation
    assert np.abs(median_ratio() - 1).max() > 0.5


def test_forecast_passes_every_setting_of_request_on():
    """`forecast` hands `request` (and the calibration layer) its keywords by name: the two lists agree."""
    import inspect

    from kronos_plugins.pipeline import _REQUEST_SETTINGS

    request = inspect.signature(KronosPipeline.request).parameters.values()
    keywords = {p.name for p in request if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert set(_REQUEST_SETTINGS) == keywords
    assert keywords <= set(inspect.signature(KronosPipeline.forecast).parameters)
