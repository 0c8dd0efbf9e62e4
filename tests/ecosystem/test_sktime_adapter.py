"""sktime adapter `KronosForecaster`: agreement with the pipeline, one set of paths per cutoff, horizons, index
types, layouts, leakage, errors, the quickstart page and sktime's own `check_estimator` suite.

Runs on the tiny random-weight reference checkpoint: forecasts are meaningless, the mechanics are real.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("sktime")
pytest.importorskip("skpro")

# sktime >= 1.2 warns at every forecaster's construction about a future default; it is not about this adapter
pytestmark = pytest.mark.filterwarnings("ignore:The default of config ``remember_data``:FutureWarning")

from skpro.distributions import Empirical  # noqa: E402
from sktime.forecasting.base import ForecastingHorizon  # noqa: E402

from kronos_plugins import KronosInputError, KronosPipeline  # noqa: E402
from kronos_plugins.adapters.sktime import KronosForecaster  # noqa: E402
from kronos_plugins.calendar import infer_future_timestamps  # noqa: E402
from kronos_plugins.columns import frame_from_close  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "kronos-reference" / "tiny-learnte"
CHECKPOINT = dict(model=str(TINY / "model"), tokenizer=str(TINY / "tokenizer"), max_context=128)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """The tiny model's ops are too small to gain from intra-op threads; on a busy 2-core machine the threads
    contend and a forecast takes 10 to 50 times longer, which matters for the ~650 forecasts of check_estimator."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _forecaster(**kwargs) -> KronosForecaster:
    return KronosForecaster(**{**CHECKPOINT, "num_samples": 6, "seed": 0, **kwargs})


def _pipeline(max_context: int = 128) -> KronosPipeline:
    return KronosPipeline.from_pretrained(
        model=CHECKPOINT["model"], tokenizer=CHECKPOINT["tokenizer"], max_context=max_context
    )


def _closes(n: int = 60, index: pd.Index | None = None, seed: int = 0, name="px") -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n, freq="D") if index is None else index
    return pd.Series(50 * np.exp(np.cumsum(rng.normal(0, 0.02, len(index)))), index=index, name=name)


def _bars(n: int = 60, names=("Open", "High", "Low", "Close", "Volume"), seed: int = 0) -> pd.DataFrame:
    close = _closes(n, seed=seed).to_numpy()
    open_ = np.r_[close[0], close[:-1]]
    rng = np.random.default_rng(seed + 1)
    cols = [
        open_,
        np.maximum(open_, close) * 1.004,
        np.minimum(open_, close) * 0.996,
        close,
        rng.integers(100, 1000, n).astype(float),
    ]
    return pd.DataFrame(
        dict(zip(names, cols, strict=True)), index=pd.date_range("2024-01-01", periods=n, freq="h")
    )


@pytest.fixture
def count_forecasts(monkeypatch):
    """Count `KronosPipeline.forecast` calls (the adapter's only route to the model)."""
    calls = []
    original = KronosPipeline.forecast

    def counted(self, *args, **kwargs):
        calls.append(kwargs.get("horizon"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(KronosPipeline, "forecast", counted)
    return calls


# ------------------------------------------------------------------------------------------------------------
# agreement with the pipeline


@pytest.mark.parametrize("point", ["median", "mean"])
def test_predict_of_a_close_series_is_the_pipeline_summary_for_the_same_seed(point):
    y = _closes(60)
    pred = _forecaster(point=point, seed=5).fit(y).predict(fh=[1, 2, 3, 4])
    fc = _pipeline().forecast(frame_from_close(y), horizon=4, num_samples=6, seed=5)
    summary = fc.median() if point == "median" else fc.mean()  # (1, H, 6)
    assert isinstance(pred, pd.Series) and pred.name == "px"
    assert list(pred.index) == list(pd.date_range("2024-03-01", periods=4, freq="D"))
    np.testing.assert_array_equal(pred.to_numpy(), summary[0, :, 3])


def test_ohlcv_frame_forecasts_exactly_its_columns_with_the_pipeline_paths():
    bars = _bars(70)
    f = _forecaster(seed=3).fit(bars)
    assert f.layout_ == "ohlcv"
    assert f.column_mapping_ == {
        "Open": "open",
        "High": "high",
        "Low": "low",
        "Close": "close",
        "Volume": "volume",
    }
    pred = f.predict(fh=[1, 2, 3])
    assert list(pred.columns) == ["Open", "High", "Low", "Close", "Volume"]
    assert pred.index[0] == bars.index[-1] + pd.Timedelta(hours=1)
    fc = _pipeline().forecast(bars, horizon=3, num_samples=6, seed=3)
    np.testing.assert_array_equal(pred.to_numpy(), fc.median()[0][:, :5])
    # other names through column_mapping: the same forecast
    renamed = bars.rename(columns={"Close": "Adj Close", "Volume": "Vol"})
    g = _forecaster(seed=3, column_mapping={"close": "Adj Close", "volume": "Vol"}).fit(renamed)
    np.testing.assert_array_equal(g.predict(fh=[1, 2, 3]).to_numpy(), pred.to_numpy())


def test_horizon_longer_than_max_context_matches_the_pipeline():
    y = _closes(40)
    pred = _forecaster(max_context=16, seed=2).fit(y).predict(fh=np.arange(1, 31))  # 30 steps > 16
    fc = _pipeline(max_context=16).forecast(frame_from_close(y), horizon=30, num_samples=6, seed=2)
    np.testing.assert_array_equal(pred.to_numpy(), fc.median()[0, :, 3])


# ------------------------------------------------------------------------------------------------------------
# one set of paths per cutoff


def test_all_predict_methods_at_one_cutoff_share_one_pipeline_call(count_forecasts):
    f = _forecaster(num_samples=9).fit(_closes(50))
    fh = [1, 2, 3]
    pred = f.predict(fh)
    q = f.predict_quantiles(fh, alpha=[0.25, 0.5, 0.75])
    intervals = f.predict_interval(fh, coverage=0.5)
    dist = f.predict_proba(fh)
    var = f.predict_var(fh)
    f.predict(fh=[2])  # a sub-horizon reuses the paths too
    assert count_forecasts == [3]
    # ... and they describe the same paths
    np.testing.assert_array_equal(q[("px", 0.5)].to_numpy(), pred.to_numpy())
    np.testing.assert_array_equal(intervals[("px", 0.5, "lower")].to_numpy(), q[("px", 0.25)].to_numpy())
    np.testing.assert_array_equal(intervals[("px", 0.5, "upper")].to_numpy(), q[("px", 0.75)].to_numpy())
    paths = dist.spl["px"].to_numpy().reshape(9, 3)
    np.testing.assert_allclose(var["px"].to_numpy(), paths.var(axis=0))
    # a longer horizon draws again, and so does a new cutoff
    f.predict(fh=[1, 2, 3, 4, 5])
    f.update(_closes(52).iloc[50:])
    f.predict(fh)
    assert count_forecasts == [3, 5, 3]


def test_quantiles_are_monotone_in_alpha_and_spread():
    alpha = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
    f = _forecaster(num_samples=40).fit(_bars(60))
    q = f.predict_quantiles(fh=[1, 2, 3, 4], alpha=alpha)
    assert q.columns.tolist() == [(c, a) for c in ["Open", "High", "Low", "Close", "Volume"] for a in alpha]
    for col in ["Open", "High", "Low", "Close", "Volume"]:
        values = q[col].to_numpy()  # (4 steps, 7 levels)
        assert (np.diff(values, axis=1) >= 0).all()
        assert (values[:, -1] > values[:, 0]).all()  # sampled paths differ: a real spread


def test_intervals_contain_the_median_and_nest_by_coverage():
    f = _forecaster(num_samples=30).fit(_closes(60))
    fh = [1, 2, 3, 4, 5]
    pred = f.predict(fh)
    intervals = f.predict_interval(fh, coverage=[0.5, 0.9])
    lo50, hi50 = intervals[("px", 0.5, "lower")], intervals[("px", 0.5, "upper")]
    lo90, hi90 = intervals[("px", 0.9, "lower")], intervals[("px", 0.9, "upper")]
    assert ((lo50 <= pred) & (pred <= hi50)).all()
    assert ((lo90 <= lo50) & (hi50 <= hi90)).all()
    assert ((hi90 - lo90) > (hi50 - lo50)).any()


def test_empirical_distribution_holds_the_pipeline_paths():
    y = _closes(60)
    fh = [1, 2, 3]
    dist = _forecaster(num_samples=7, seed=4).fit(y).predict_proba(fh)
    paths = (
        _pipeline().forecast(frame_from_close(y), horizon=3, num_samples=7, seed=4).column("close")[0]
    )  # (7, 3)
    assert isinstance(dist, Empirical)
    assert dist.spl.index.get_level_values(0).nunique() == 7 and len(dist.spl) == 7 * 3
    np.testing.assert_array_equal(dist.spl["px"].to_numpy().reshape(7, 3), paths)
    np.testing.assert_allclose(dist.mean()["px"].to_numpy(), paths.mean(axis=0))
    assert list(dist.index) == list(pd.date_range("2024-03-01", periods=3, freq="D"))


def test_intervals_are_read_at_plotting_position_q_times_n_plus_one():
    """With 9 paths the central 80 % interval is [smallest, largest] (positions 0.1 x 10 = 1 and 0.9 x 10 = 9):
    a tenth draw falls outside it with probability 2 / 10. Linear interpolation would give a narrower band."""
    y = _closes(60)
    fh = [1, 2, 3]
    intervals = _forecaster(num_samples=9, seed=4).fit(y).predict_interval(fh, coverage=0.8)
    paths = _pipeline().forecast(frame_from_close(y), horizon=3, num_samples=9, seed=4).column("close")[0]
    np.testing.assert_allclose(intervals[("px", 0.8, "lower")].to_numpy(), paths.min(axis=0))
    np.testing.assert_allclose(intervals[("px", 0.8, "upper")].to_numpy(), paths.max(axis=0))


def test_empirical_distribution_of_ohlcv_keeps_each_columns_paths():
    bars = _bars(60)
    dist = _forecaster(num_samples=5, seed=1).fit(bars).predict_proba(fh=[1, 2])
    samples = _pipeline().forecast(bars, horizon=2, num_samples=5, seed=1).samples[0]  # (5, 2, 6)
    np.testing.assert_array_equal(dist.spl.to_numpy().reshape(5, 2, 5), samples[:, :, :5])
    assert list(dist.columns) == list(bars.columns)


def test_panel_is_forecast_per_series_including_the_distribution():
    a, b = _closes(40, seed=1), _closes(40, seed=2)
    panel = pd.concat({"A": a, "B": b}, names=["item", "time"]).to_frame("px")
    f = _forecaster(seed=2).fit(panel)
    dist = f.predict_proba(fh=[1, 2])
    alone = _forecaster(seed=2).fit(b).predict_proba(fh=[1, 2])
    np.testing.assert_array_equal(dist.mean().loc["B", "px"].to_numpy(), alone.mean()["px"].to_numpy())
    assert list(f.predict(fh=[1, 2]).index.get_level_values(0)) == ["A", "A", "B", "B"]


# ------------------------------------------------------------------------------------------------------------
# horizons and index types


def test_non_contiguous_fh_selects_the_steps_of_a_contiguous_forecast():
    y = _closes(60)
    full = _forecaster(num_samples=8).fit(y)
    sparse = _forecaster(num_samples=8).fit(y)
    contiguous = full.predict(fh=np.arange(1, 8))
    picked = sparse.predict(fh=[2, 5, 7])
    pd.testing.assert_series_equal(picked, contiguous.iloc[[1, 4, 6]])
    q_full = full.predict_quantiles(fh=np.arange(1, 8), alpha=[0.1, 0.9])
    q_sparse = sparse.predict_quantiles(fh=[2, 5, 7], alpha=[0.1, 0.9])
    pd.testing.assert_frame_equal(q_sparse, q_full.iloc[[1, 4, 6]])
    # an absolute fh names the same steps
    absolute = ForecastingHorizon(contiguous.index[[1, 4, 6]], is_relative=False)
    pd.testing.assert_series_equal(_forecaster(num_samples=8).fit(y).predict(fh=absolute), picked)


def test_range_index_warns_once_and_forecasts_without_calendar():
    y = _closes(40).reset_index(drop=True)
    with pytest.warns(UserWarning, match="no calendar features") as record:
        f = _forecaster(seed=6).fit(y)
    assert len([w for w in record if "calendar" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # predict does not warn again
        pred = f.predict(fh=[1, 3])
    assert not f.has_calendar_ and list(pred.index) == [40, 42]
    fc = _pipeline().forecast(
        frame_from_close(y), horizon=3, num_samples=6, seed=6, missing_timestamps="constant"
    )
    np.testing.assert_array_equal(pred.to_numpy(), fc.median()[0, [0, 2], 3])
    # an integer (non-range) index works the same way
    shifted = y.set_axis(pd.Index(np.arange(100, 140)))
    with pytest.warns(UserWarning, match="no calendar features"):
        g = _forecaster(seed=6).fit(shifted)
    pred_int = g.predict(fh=[1, 3])
    assert list(pred_int.index) == [140, 142]
    np.testing.assert_array_equal(pred_int.to_numpy(), pred.to_numpy())


def test_period_index_uses_period_start_times_as_calendar():
    periods = pd.period_range("2020-01", periods=48, freq="M")
    y = _closes(48, index=periods)
    pred = _forecaster(seed=8).fit(y).predict(fh=[1, 2])
    assert isinstance(pred.index, pd.PeriodIndex) and list(pred.index.astype(str)) == ["2024-01", "2024-02"]
    ctx = frame_from_close(y.set_axis(periods.to_timestamp()))
    future = pd.DatetimeIndex(["2024-01-01", "2024-02-01"])
    fc = _pipeline().forecast(ctx, horizon=2, num_samples=6, seed=8, future_timestamps=future)
    np.testing.assert_array_equal(pred.to_numpy(), fc.median()[0, :, 3])
    # the calendar matters: other future stamps give other paths
    other = _pipeline().forecast(
        ctx, horizon=2, num_samples=6, seed=8, future_timestamps=future + pd.Timedelta("3D")
    )
    assert not np.array_equal(other.samples, fc.samples)


def test_datetime_index_without_frequency_continues_the_inferred_calendar():
    days = pd.bdate_range("2024-01-01", periods=45).delete([10, 30])  # two holidays: no frequency
    y = _closes(43, index=days)
    f = _forecaster(seed=9).fit(y)
    assert f.cutoff.freq is None
    pred = f.predict(fh=[1, 2, 4])
    future = infer_future_timestamps(days, 4)
    assert list(pred.index) == list(future[[0, 1, 3]])  # business days: the weekend is skipped
    fc = _pipeline().forecast(frame_from_close(y), horizon=4, num_samples=6, seed=9)
    np.testing.assert_array_equal(pred.to_numpy(), fc.median()[0, [0, 1, 3], 3])
    # an absolute fh needs a freq for sktime's own out-of-sample check; its dates must be bars of the calendar
    absolute = f.predict(fh=ForecastingHorizon(future[[1, 3]], is_relative=False, freq="D"))
    np.testing.assert_array_equal(absolute.to_numpy(), pred.to_numpy()[1:])
    saturday = pd.DatetimeIndex([days[-1] + pd.Timedelta(days=5 - days[-1].weekday())])
    assert saturday[0].weekday() == 5
    with pytest.raises(KronosInputError, match="not a bar of the calendar"):
        f.predict(fh=ForecastingHorizon(saturday, is_relative=False, freq="D"))


def test_in_sample_fh_raises():
    f = _forecaster().fit(_closes(30))
    with pytest.raises(NotImplementedError, match="in-sample"):
        f.predict(fh=[-1, 0, 1])
    with pytest.raises(NotImplementedError, match="in-sample"):
        f.predict_interval(fh=[0])


# ------------------------------------------------------------------------------------------------------------
# leakage and update


@pytest.mark.parametrize("strategy", ["refit", "update"])
def test_backtest_forecasts_do_not_see_bars_after_their_cutoff(strategy):
    """sktime's `evaluate` cuts the whole series at each cutoff (refitting, or updating the forecaster).
    Changing every bar after one cutoff (prices, volumes) and the row count (20 bars appended) leaves the
    forecasts at the cutoffs up to it bit-identical, and changes the later ones. A forecaster that read one
    bar past its cutoff fails here."""
    from sktime.forecasting.model_evaluation import evaluate
    from sktime.split import ExpandingWindowSplitter

    y = _bars(120)
    t = 80  # first changed row: the first bar after the cutoff at row 79
    changed = _bars(140)
    changed.iloc[:120] = y  # the same bars up to row 120, then 20 more
    changed.iloc[t:, :4] *= 1.5  # prices (bars stay valid OHLC)
    changed.iloc[t:, 4] *= 3.0  # volume
    cv = ExpandingWindowSplitter(fh=[1, 2, 3], initial_window=60, step_length=10)
    runs = [
        evaluate(_forecaster(seed=3), cv, data, strategy=strategy, return_data=True)
        for data in (y.iloc[:100], changed)
    ]
    before, after = runs
    cutoffs = [y.index[r] for r in (59, 69, 79, 89)]
    assert list(before["cutoff"]) == cutoffs and list(after["cutoff"])[:4] == cutoffs
    for k, cutoff in enumerate(cutoffs):
        a, b = before["y_pred"].iloc[k], after["y_pred"].iloc[k]
        if cutoff < y.index[t]:  # every bar these forecasts may see lies before row t
            pd.testing.assert_frame_equal(a, b, obj=f"forecast at cutoff {cutoff}")
        else:
            assert not np.allclose(a.to_numpy(), b.to_numpy())


def test_update_up_to_a_cutoff_gives_the_forecast_of_fitting_up_to_it():
    y = _closes(80)
    fh = [1, 2, 3]
    a = _forecaster(seed=3).fit(y.iloc[:50])
    c = _forecaster(seed=3).fit(y.iloc[:40])
    before = c.predict(fh)
    c.update(y.iloc[40:50])
    assert c.cutoff[0] == y.index[49]
    pd.testing.assert_series_equal(c.predict(fh), a.predict(fh))
    assert not before.index.equals(c.predict(fh).index)
    # update_params=False also appends the data (Kronos has no parameters)
    d = _forecaster(seed=3).fit(y.iloc[:40])
    d.update(y.iloc[40:50], update_params=False)
    pd.testing.assert_series_equal(d.predict(fh), a.predict(fh))


def test_update_with_other_columns_raises():
    f = _forecaster().fit(_bars(40))
    with pytest.raises(KronosInputError, match="same columns"):
        f.update(_bars(45).iloc[40:].drop(columns="Volume"))


# ------------------------------------------------------------------------------------------------------------
# layouts and errors


def test_frame_without_kronos_names_is_one_close_series_per_column():
    a, b = _closes(50, seed=1, name="a"), _closes(50, seed=2, name="b")
    both = pd.concat([a, b], axis=1)
    with pytest.warns(UserWarning, match="independent close-only series"):
        pred = _forecaster(seed=7).fit(both).predict(fh=[1, 2])
    assert list(pred.columns) == ["a", "b"]
    # column 0 is series 0 of the call: the same paths as a fitted alone; column 1 is series 1
    alone = _forecaster(seed=7).fit(a).predict(fh=[1, 2])
    np.testing.assert_array_equal(pred["a"].to_numpy(), alone.to_numpy())
    fc = _pipeline().forecast([frame_from_close(a), frame_from_close(b)], horizon=2, num_samples=6, seed=7)
    np.testing.assert_array_equal(pred["b"].to_numpy(), fc.median()[1, :, 3])
    # one unnamed-column frame is a close series too, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        one = _forecaster(seed=7).fit(a.to_frame("price")).predict(fh=[1, 2])
    np.testing.assert_array_equal(one["price"].to_numpy(), alone.to_numpy())


def test_nan_unsorted_and_repeated_timestamps_raise_naming_the_problem():
    """sktime refuses NaN (the adapter says it cannot handle missing values) and an unsorted index before the
    adapter sees them; repeated timestamps reach the adapter, whose error names the timestamp and the row."""
    y = _bars(60)
    nan = y.copy()
    nan.iloc[30, 3] = np.nan
    for data in (nan, nan["Close"]):
        with pytest.raises(ValueError, match=r"cannot handle missing data \(nans\)"):
            _forecaster().fit(data)
    with pytest.raises(ValueError, match=r"cannot handle missing data \(nans\)"):
        _forecaster().fit(y.iloc[:40]).update(nan.iloc[25:45])
    swapped = y.iloc[[*range(30), 31, 30, *range(32, 60)]]
    with pytest.raises(TypeError, match="monotonically increasing"):
        _forecaster().fit(swapped)
    repeated = y.copy()
    repeated.index = repeated.index.where(np.arange(60) != 31, y.index[30])
    for data in (repeated, repeated["Close"]):
        with pytest.raises(
            KronosInputError, match=rf"must be unique, but {y.index[30]} appears again at row 31"
        ):
            _forecaster().fit(data)


@pytest.mark.parametrize(
    ("frame", "kwargs", "match"),
    [
        (_bars(30)[["Close", "Volume"]], {}, r"missing the required column\(s\) \['open', 'high', 'low'\]"),
        (_bars(30).assign(Ticker=1.0), {}, r"\['Ticker'\] are not Kronos columns"),
        (
            _bars(30),
            {"column_mapping": {"close": "Adj Close"}},
            r"`column_mapping` maps 'close' to 'Adj Close', which is not a column of `y`",
        ),
        (_bars(30).assign(close=1.0), {}, r"columns 'Close' and 'close' both read as Kronos column `close`"),
        (_bars(5), {}, r"has 5 rows; Kronos needs at least 8"),
        (_closes(30).to_frame().assign(px=lambda d: d.px - 100), {}, r"must be > 0.*holds closes only"),
    ],
    ids=["lacks-ohl", "extra-column", "mapping-missing", "two-closes", "too-short", "negative-closes"],
)
def test_invalid_y_raises_in_fit(frame, kwargs, match):
    with pytest.raises(KronosInputError, match=match):
        _forecaster(**kwargs).fit(frame)


def test_invalid_settings_raise_in_fit():
    with pytest.raises(KronosInputError, match="`point` must be 'median' or 'mean'"):
        _forecaster(point="mode").fit(_closes(30))
    with pytest.raises(ValueError, match="top_p"):
        _forecaster(top_p=1.5).fit(_closes(30))
    with pytest.raises(ValueError, match="`tokenizer` given without `model`"):
        KronosForecaster(tokenizer=CHECKPOINT["tokenizer"]).fit(_closes(30)).predict(fh=[1])


def test_default_forecaster_uses_the_bundled_checkpoint_offline():
    pred = KronosForecaster(num_samples=4, seed=0).fit(_closes(60)).predict(fh=[1, 2, 3])
    assert pred.shape == (3,) and np.isfinite(pred).all()


def test_pickled_forecaster_gives_the_same_forecast():
    import pickle

    f = _forecaster(seed=None).fit(_closes(40))  # fresh entropy: only the cached paths make them equal
    first = f.predict_quantiles(fh=[1, 2], alpha=[0.2, 0.8])
    clone = pickle.loads(pickle.dumps(f))
    pd.testing.assert_frame_equal(clone.predict_quantiles(fh=[1, 2], alpha=[0.2, 0.8]), first)


# ------------------------------------------------------------------------------------------------------------
# sktime's contract and the docs


def test_get_test_params_use_the_bundled_checkpoint(monkeypatch, tmp_path):
    """No path to the test fixtures (an installed package has none): the parameter sets load the bundled
    checkpoint, from any working directory."""
    from kronos_plugins.checkpoints import BUNDLED_DIR

    monkeypatch.chdir(tmp_path)
    params = KronosForecaster.get_test_params()
    assert len(params) >= 2
    for p in params:
        assert p.get("model") is None and p.get("tokenizer") is None
        assert p["seed"] is not None and p["num_samples"] <= 4
        pipe = KronosForecaster(**p)._settings().pipeline()
        assert pipe.model.config.to_dict() == json.loads((BUNDLED_DIR / "model" / "config.json").read_text())


def test_sktime_check_estimator_suite():
    """sktime's full conformance suite, on both test parameter sets (about 750 checks; a few minutes on 2 cores).

    Zero failures. The test parameter sets pass ``allow_non_positive=True``, because the suite fits generic
    series such as ``range(25)``, whose first value 0 is not a price.
    """
    from sktime.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(KronosForecaster, raise_exceptions=False, verbose=0)
    failures = {name: result for name, result in results.items() if result != "PASSED"}
    assert len(results) > 500  # the suite ran (754 checks with sktime 1.2)
    assert not failures, failures


def test_when_prices_are_not_positive_then_error_unless_allowed():
    y = pd.Series(np.arange(25.0), index=pd.date_range("2024-01-01", periods=25, freq="D"))
    with pytest.raises(KronosInputError, match="allow_non_positive=True"):
        _forecaster().fit(y)
    pred = _forecaster(allow_non_positive=True).fit(y).predict(fh=[1, 2])
    assert pred.shape == (2,) and np.isfinite(pred).all()


def test_quickstart_page_runs(capsys):
    """Execute the ```python blocks of docs/ecosystems/sktime.md, on the tiny checkpoint."""
    page = (ROOT / "docs" / "ecosystems" / "sktime.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    assert blocks and "MODEL =" in blocks[0]
    namespace: dict = {}
    exec(compile(blocks[0], "sktime.md[0]", "exec"), namespace)
    namespace.update(MODEL=CHECKPOINT["model"], TOKENIZER=CHECKPOINT["tokenizer"], MAX_CONTEXT=128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for k, block in enumerate(blocks[1:], start=1):
            exec(compile(block, f"sktime.md[{k}]", "exec"), namespace)
    out = capsys.readouterr().out
    assert "2023-12-18 00:00:00" in out and "['Open', 'High', 'Low', 'Adj Close', 'Volume']" in out
    assert "2023-12-15 00:00:00 2023-12-18 00:00:00" in out
    assert len(namespace["results"]) == 3 and np.isfinite(namespace["results"]["test_CRPS"]).all()
