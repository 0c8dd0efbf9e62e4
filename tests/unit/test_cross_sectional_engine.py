"""The cross-sectional rebalance engine: no lookahead, exclusions reported, one batched Kronos call per date,
and bad input named (issue 18)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kronos_plugins.benchmark.baselines import RandomWalkDrift
from kronos_plugins.benchmark.cross_sectional.engine import run_engine
from kronos_plugins.benchmark.cross_sectional.signals import (
    BaselineSignals,
    KronosSignals,
    Momentum,
    Reversal,
)
from kronos_plugins.benchmark.cross_sectional.suite import load_suite
from kronos_plugins.benchmark.cross_sectional.universe import Universe, load_universe, rebalance_schedule
from kronos_plugins.validation import KronosInputError

ROOT = Path(__file__).resolve().parents[2]
DAYS = pd.bdate_range("2020-01-01", periods=90, name="timestamps")
START, END = DAYS[60], DAYS[-1]
ORIGIN = DAYS[65]  # an origin of the schedule (positions 59, 62, 65, ... with step 3)


def _bars(days: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, len(days))))
    open_ = np.concatenate([[close[0]], close[:-1]])
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.005,
            "low": np.minimum(open_, close) * 0.995,
            "close": close,
            "volume": rng.uniform(1e3, 2e3, len(days)),
            "amount": 0.0,
        },
        index=days,
    ).assign(amount=lambda d: d["volume"] * d["close"])


def _frames() -> dict[str, pd.DataFrame]:
    frames = {f"ok{i}": _bars(DAYS[3 * i :], seed=i) for i in range(6)}  # ragged: 90, 87, ..., 75 bars
    frames["late"] = _bars(DAYS[55:], seed=10)  # 5..35 bars of history at the origins: short history
    gap = _bars(DAYS, seed=11)
    frames["gap"] = gap.drop(index=[ORIGIN])  # no bar on the origin
    frames["gone"] = _bars(DAYS[: 65 + 1], seed=12)  # last bar on the origin: nothing after it
    split = _bars(DAYS, seed=13)
    after = split.index > DAYS[66]
    split.loc[after, ["open", "high", "low", "close"]] *= (
        10.0  # an unadjusted 10:1 reverse split, after the origin
    )
    frames["split"] = split
    return frames


@pytest.fixture()
def universe() -> Universe:
    return Universe.from_frames("synthetic", _frames(), START, END)


def test_rebalance_schedule_keeps_every_target_inside_the_held_out_days():
    cal = pd.bdate_range("2021-01-04", periods=20)
    sched = rebalance_schedule(cal, cal[5], cal[15], step=3, horizon=2)
    # the first origin is the day before the first target; the last exit is on or before `end`
    assert sched["position"].tolist() == [4, 7, 10, 13]
    assert sched["exit"].tolist() == [cal[6], cal[9], cal[12], cal[15]]
    with pytest.raises(ValueError, match="no rebalance date fits"):
        rebalance_schedule(cal, cal[5], cal[6], step=1, horizon=5)


def test_signals_at_a_date_do_not_change_when_later_bars_change(universe, tiny_pipeline):
    models = [
        KronosSignals(tiny_pipeline, num_samples=4),
        BaselineSignals(RandomWalkDrift("normal"), num_samples=4, lookback=40),
        Momentum(252, 21),
        Reversal(5),
    ]
    origin = ORIGIN
    kwargs = dict(horizon=3, step=3, min_history=40, seed=5, origins=[origin])
    before = run_engine(universe, models, **kwargs)
    rng = np.random.default_rng(0)
    perturbed = {}
    for asset, df in universe.frames.items():
        df = df.copy()
        later = df.index > origin
        scale = rng.uniform(0.5, 2.0, size=int(later.sum()))
        for col in ("open", "high", "low", "close", "amount"):
            df.loc[later, col] = df.loc[later, col].to_numpy() * scale
        df.loc[later, "volume"] = df.loc[later, "volume"].to_numpy() * 3.0
        perturbed[asset] = df
    after = run_engine(Universe.from_frames("synthetic", perturbed, START, END), models, **kwargs)
    assert len(before.signals) == len(after.signals) > 0
    assert set(before.signals["signal"].str.split(":").str[0]) == {
        "kronos",
        "RandomWalkDrift[normal]",
        "momentum",
        "reversal",
    }
    pd.testing.assert_frame_equal(before.signals, after.signals)  # bit for bit
    # the perturbation did reach the forward returns, which only scoring reads
    assert not np.allclose(before.returns["forward_return"], after.returns["forward_return"])


def test_excluded_assets_are_reported_with_their_reason(universe):
    result = run_engine(universe, [Reversal(5)], horizon=3, step=3, min_history=40, origins=[ORIGIN])
    reasons = dict(zip(result.exclusions["asset"], result.exclusions["reason"], strict=True))
    assert reasons == {
        "late": "short history",
        "gap": "no bar on the date",
        "gone": "no bar after the date",
        "split": "price break in the holding period",
    }
    row = result.schedule.iloc[0]
    assert (row["n_assets"], row["n_eligible"], row["n_scored"]) == (10, 8, 6)
    # scored or not, an eligible asset had a signal (its exclusion from scoring reads only later bars)
    assert set(result.signals["asset"]) == {f"ok{i}" for i in range(6)} | {"gone", "split"}
    assert not {"gone", "split"} & set(result.returns["asset"])
    kept = run_engine(
        universe, [Reversal(5)], horizon=3, step=3, min_history=40, origins=[ORIGIN], max_bar_ratio=None
    )
    assert kept.returns.set_index("asset").loc["split", "forward_return"] > 5.0  # the break as a 10x "return"


def test_kronos_makes_one_batched_forecast_call_per_date_over_ragged_contexts(
    universe, tiny_pipeline, monkeypatch
):
    calls = []
    original = tiny_pipeline.forecast

    def counting(context, *args, **kwargs):
        calls.append([len(c) for c in context])
        return original(context, *args, **kwargs)

    monkeypatch.setattr(tiny_pipeline, "forecast", counting)
    result = run_engine(
        universe, [KronosSignals(tiny_pipeline, num_samples=2)], horizon=2, step=4, min_history=40
    )
    assert len(calls) == len(result.schedule) >= 5
    for lengths, n in zip(calls, result.schedule["n_eligible"], strict=True):
        assert len(lengths) == n  # every eligible asset in the one call
    assert any(len(set(lengths)) > 1 for lengths in calls)  # ragged contexts in one batch
    assert (
        result.signals.groupby("date")["asset"].nunique().tolist() == result.schedule["n_eligible"].tolist()
    )


def test_bad_input_is_named():
    with pytest.raises(
        ValueError, match=r"unknown universe 'nasdaq'; split version 2 reserves \['pse_2017', 'sp500_2009'\]"
    ):
        load_universe("nasdaq")
    frames = _frames()
    frames["ok0"] = frames["ok0"].drop(columns=["low"])
    with pytest.raises(ValueError, match=r"asset 'ok0' lacks columns \['low'\]"):
        Universe.from_frames("synthetic", frames, START, END)
    with pytest.raises(ValueError, match="has 2 assets; a cross-section needs at least 5"):
        Universe.from_frames("synthetic", dict(list(_frames().items())[:2]), START, END)


def test_the_committed_suite_reads_and_a_wrong_key_is_named(tmp_path):
    suite = load_suite(ROOT / "benchmarks" / "suites" / "cross_sectional.yaml")
    assert [u.name for u in suite.universes] == ["sp500_2009", "pse_2017"]
    assert (suite.cost_in_bp, suite.cost_out_bp) == (10.0, 15.0)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "universes:\n  sp500_2009: {step: 5, horizon: 5, min_history: 60, top_k: 5, topk: 3}\nmodels: []\n"
    )
    with pytest.raises(ValueError, match=r"universes.sp500_2009 has unknown keys \['topk'\]"):
        load_suite(bad)


def test_a_thinly_traded_asset_is_forecast_on_the_dates_pooled_calendar_and_reported(tiny_pipeline):
    # "thin" trades every third business day: its own bars follow no calendar the pipeline can continue (the
    # error the PSE universe hit); the dense assets' bars give the exchange calendar, read only up to the date.
    days = pd.bdate_range("2021-03-01", periods=120, name="timestamps")
    date = days[-1]
    contexts = [_bars(days, seed=1), _bars(days[::-3][::-1], seed=2), _bars(days[30:], seed=3)]
    assets = ["dense", "thin", "short"]
    assert contexts[1].index[-1] == date
    with pytest.raises(KronosInputError, match="most common spacing"):
        tiny_pipeline.forecast(contexts[1], horizon=3, num_samples=1, lookback=20)

    sig = KronosSignals(tiny_pipeline, num_samples=2, lookback=20)
    futures = sig.future_timestamps(contexts, assets, horizon=3)
    next_days = pd.bdate_range(date, periods=4)[1:]
    assert list(futures[1]) == list(next_days)  # the business days after the date, not every third one
    assert list(futures[0]) == list(next_days) == list(futures[2])  # the others' own inference
    assert sig.calendar_fallbacks == [(date, "thin")]
    out = sig.signals(contexts, assets, horizon=3, seed=0)  # the batched call now runs
    assert list(out.index) == assets and np.isfinite(out.to_numpy()).all()
    assert len(sig.calendar_fallbacks) == 2  # one more: signals() recorded the same fallback again


def test_no_pooled_calendar_names_the_assets(tiny_pipeline):
    days = pd.bdate_range("2021-03-01", periods=120, name="timestamps")
    thin = [_bars(days[::-3][::-1], seed=2), _bars(days[::-6][::-1], seed=4)]  # pooled: every third day
    with pytest.raises(KronosInputError, match=r"no calendar to continue for \['a', 'b'\]"):
        KronosSignals(tiny_pipeline, num_samples=2, lookback=20).future_timestamps(thin, ["a", "b"], 3)


def test_leakage_excludes_training_on_target_days_only_and_reports_context_overlap():
    from types import SimpleNamespace

    from kronos_plugins.benchmark.cross_sectional.universe import leakage
    from kronos_plugins.datasets.split import HeldoutPeriod, Period

    ts = pd.Timestamp
    held = HeldoutPeriod(ts("2017-04-03"), ts("2021-12-31"), context_start=ts("2015-01-01"))
    periods = {"ctx": held, "target": held, "never": held}
    split = SimpleNamespace(
        pretrain={
            "ctx": Period(ts("2010-01-05"), ts("2016-03-31")),  # inside the context window only
            "target": Period(ts("2010-01-05"), ts("2017-05-31")),  # reaches into the target days: a leak
            "other": Period(ts("2018-01-01"), ts("2019-01-01")),  # another market's asset on target days
        },
        validation={"ctx": Period(ts("2016-04-01"), ts("2017-03-31"))},
    )
    out = leakage(split, periods, ts("2021-12-31"))
    assert out["assets"] == ["target"]
    assert out["context_only"] == ["ctx"]
    assert out["contemporaneous"] == 2  # "target" and "other" trained on target days; "ctx" ends before them
