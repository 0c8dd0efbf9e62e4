"""``kronos-train finetune --data FILE`` (and ``kronos train finetune``): a user's own OHLCV file, the same
`finetune` function underneath, clear errors for bad input. Tiny random-weight checkpoint, a few steps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kronos_plugins import KronosPipeline
from kronos_plugins.cli import main, train_main
from tests.conftest import REFERENCE

TINY = REFERENCE / "tiny-learnte"
BASE = ["--checkpoint", str(TINY / "model"), "--tokenizer", str(TINY / "tokenizer"), "--max-context", "64"]
FAST = ["--steps", "6", "--context", "16", "--horizon", "8", "--batch-size", "8", "--no-progress", "--quiet"]


@pytest.fixture(scope="module")
def csv_file(ohlcv_input, tmp_path_factory):
    """The reference bars with a user's column names: Date, Open, High, Low, Adj Close, Volume."""
    frame = ohlcv_input.rename(columns={"timestamps": "Date", "close": "Adj Close"}).drop(columns="amount")
    path = tmp_path_factory.mktemp("data") / "bars.csv"
    frame.rename(columns=str.title).rename(columns={"Adj close": "Adj Close"}).to_csv(path, index=False)
    return path


def test_finetune_a_csv_file_with_a_column_mapping(csv_file, tmp_path, capsys):
    out = tmp_path / "ft"
    args = ["finetune", "--data", str(csv_file), "--column-mapping", "close=Adj Close", "--out", str(out)]
    assert train_main(args + BASE + FAST + ["--lr", "3e-3", "--patience", "100"]) == 0
    meta = json.loads((out / "finetune.json").read_text())
    assert meta["steps"] == 6 and meta["val_loss_after"] < meta["val_loss_before"]
    assert meta["data_span"]["first"] == "2024-03-04 09:30:00" and meta["data_span"]["train_bars"] == 360
    assert meta["command"].startswith("kronos-train finetune --data")
    assert "validation loss" in capsys.readouterr().err
    tuned = KronosPipeline.from_pretrained(out)
    base = KronosPipeline.from_pretrained(TINY / "model", TINY / "tokenizer", max_context=64)
    assert not torch_equal(tuned.model.state_dict(), base.model.state_dict())
    # `kronos forecast --checkpoint DIR` reads the fine-tuned checkpoint
    fc = tmp_path / "fc.csv"
    forecast = [str(csv_file), "--column-mapping", "close=Adj Close", "--checkpoint", str(out)]
    assert main(["forecast", *forecast, "--horizon", "3", "--samples", "4", "--out", str(fc)]) == 0
    assert fc.is_file()


def torch_equal(a, b) -> bool:
    return all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--steps", "2", "--context", "390"], "too little history for one training window"),
        (["--freeze", "embedings"], "`freeze` pattern 'embedings' matches no parameter"),
        (["--origin", "2024-03-04 10:00"], "too little history for one training window"),
    ],
)
def test_bad_input_exits_2_with_the_reason(csv_file, tmp_path, capsys, extra, message):
    args = ["train", "finetune", "--data", str(csv_file), "--column-mapping", "close=Adj Close"]
    args += ["--out", str(tmp_path / "ft"), *BASE, *FAST, *extra]
    args[args.index("--max-context") + 1] = "512"  # room for the long context of the first case
    assert main(args) == 2  # `kronos train finetune` reaches the same command
    assert message in capsys.readouterr().err
    assert not (tmp_path / "ft").exists()


def test_a_validation_file_reaching_the_origin_is_refused(csv_file, tmp_path, capsys):
    args = [
        "finetune",
        "--data",
        str(csv_file),
        "--val-data",
        str(csv_file),
        "--column-mapping",
        "close=Adj Close",
    ]
    args += ["--origin", "2024-03-05 12:00", "--out", str(tmp_path / "ft"), *BASE, *FAST]
    assert train_main(args) == 2
    assert "overlaps the forecast origin" in capsys.readouterr().err
