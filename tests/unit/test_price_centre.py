"""A model's `price_centre`: where a context's normalised prices sit. Training windows and forecast contexts
follow the same convention, a checkpoint carries it (and omits it when it is the reference's), and tokens
normalised with another convention are refused."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

pytest.importorskip("yaml")

from kronos_plugins import KronosInputError, KronosPipeline  # noqa: E402
from kronos_plugins.checkpoints import load_model, load_tokenizer, save_checkpoint  # noqa: E402
from kronos_plugins.config import KronosConfig  # noqa: E402
from kronos_plugins.facade import KLineTokenizer, KronosForCausalLM  # noqa: E402
from kronos_plugins.model import Kronos  # noqa: E402
from kronos_plugins.preparation import prepare_window, validate_series  # noqa: E402
from kronos_plugins.training import TrainConfig, WindowDataset, train  # noqa: E402
from kronos_plugins.training.trainer import _price_centre  # noqa: E402

from ..conftest import REFERENCE  # noqa: E402
from .test_training import tiny_config  # noqa: E402
from .test_training_v2 import _series  # noqa: E402

CKPT = REFERENCE / "tiny-learnte"


def _decoded(x, stats):
    """Prices (W, 4) back from normalised bars and the window's (mean, std + eps)."""
    return x[:, :4].double() * stats[1, :4].double() + stats[0, :4].double()


@pytest.mark.parametrize("jitter", [0.0, 1.5])
def test_training_windows_centred_at_the_last_close_hold_it_at_the_jitter_and_decode_their_own_bars(jitter):
    s = _series()
    ds = WindowDataset([s], context=48, horizon=16, min_context=16, level_jitter=jitter, price_centre="last")
    mean_centred = WindowDataset([s], context=48, horizon=16, min_context=16)
    for i in (0, 9, 120, 250):
        x, _, stats, c = ds[i]
        c = int(c)
        # the last context close sits at the window's jitter (0 without)
        assert abs(float(x[c - 1, 3]) - ds.level_shift_of(i)) < 1e-5
        start = ds.locate(i)[1]
        raw = torch.from_numpy(s.values[start : start + ds.window, :4].astype(np.float64))
        inside = x[:, :4].abs() < 5  # the clip is the only thing that may change a bar
        torch.testing.assert_close(_decoded(x, stats)[inside], raw[inside], rtol=1e-4, atol=1e-4)
        x0 = mean_centred[i][0]
        assert abs(float(x0[:c, 3].mean())) < 1e-4  # the reference's centre, for contrast
        torch.testing.assert_close(x[:, 4:], x0[:, 4:])  # volume and amount untouched
    with pytest.raises(ValueError, match="price_centre"):
        WindowDataset([s], context=48, horizon=16, price_centre="median")


def test_a_forecast_context_is_normalised_as_a_training_window_of_the_same_bars():
    s = _series()
    ds = WindowDataset([s], context=48, horizon=16, price_centre="last")
    x_train, _, stats, c = ds[30]
    start = ds.locate(30)[1]
    bars = s.values[start : start + int(c)].astype(np.float64)
    ctx = prepare_window(validate_series(_frame(bars)), price_centre="last")
    np.testing.assert_allclose(ctx.x, x_train[: int(c)].numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(ctx.mean[:4], stats[0, :4].numpy(), rtol=1e-6)
    # and it decodes to the bars it was given
    np.testing.assert_allclose(ctx.denormalise(ctx.x)[:, :4], bars[:, :4], rtol=1e-5)
    assert ctx.x[-1, 3] == 0.0


def _frame(bars):
    import pandas as pd

    cols = ["open", "high", "low", "close", "volume", "amount"]
    return pd.DataFrame(bars, columns=cols, index=pd.date_range("2024-01-01", periods=len(bars), freq="h"))


def _with_centre(model: Kronos, centre: str) -> Kronos:
    new = Kronos(dataclasses.replace(model.config, price_centre=centre))
    new.load_state_dict(model.state_dict())
    return new.eval()


@pytest.mark.parametrize("centre", ["mean", "last"])
def test_the_pipeline_feeds_the_tokenizer_contexts_centred_as_its_model_was_trained(
    centre, ohlcv_input, monkeypatch
):
    model = _with_centre(load_model(CKPT / "model"), centre)
    tokenizer = load_tokenizer(CKPT / "tokenizer")
    pipe = KronosPipeline(model, tokenizer, max_context=128)
    seen = []
    encode = pipe.tokenizer.encode

    def spy(x, *args, **kwargs):
        seen.append(x.detach().clone())
        return encode(x, *args, **kwargs)

    monkeypatch.setattr(pipe.tokenizer, "encode", spy)
    context = ohlcv_input.iloc[:80].set_index("timestamps")
    pipe.forecast(context, horizon=3, num_samples=2, seed=0, lookback=64)
    x = seen[0][0]  # the first encode is the context's (T, 6)
    assert x.shape[0] == 64
    close = x[:, 3].double()
    if centre == "last":
        assert abs(float(close[-1])) < 1e-6 and abs(float(close.mean())) > 1e-3
    else:
        assert abs(float(close.mean())) < 1e-5 and abs(float(close[-1])) > 1e-3


def test_the_checkpoint_carries_a_non_reference_centre_only(tmp_path):
    model = load_model(CKPT / "model")
    assert "price_centre" not in model.config.to_dict()  # the reference's config.json keys, unchanged
    save_checkpoint(_with_centre(model, "last"), tmp_path / "last")
    assert json.loads((tmp_path / "last" / "config.json").read_text())["price_centre"] == "last"
    assert load_model(tmp_path / "last").config.price_centre == "last"
    with pytest.raises(ValueError, match="price_centre"):
        KronosConfig(d_model=16, n_heads=2, ff_dim=32, n_layers=1, price_centre="median")


def test_the_facade_refuses_tokens_normalised_at_another_centre(ohlcv_input):
    tok = KLineTokenizer.from_pretrained(CKPT / "tokenizer", max_context=128)
    last = KronosForCausalLM(_with_centre(load_model(CKPT / "model"), "last"), max_context=128)
    frame = ohlcv_input.iloc[:60].set_index("timestamps")
    with pytest.raises(KronosInputError, match="price_centre='last'"):
        last.generate(**tok(frame), max_new_tokens=2, seed=0)
    enc = tok.encode(frame, price_centre="last")
    assert enc.contexts[0].x[-1, 3] == 0.0
    out = last.generate(**enc, max_new_tokens=2, seed=0)
    assert out.shape == (1, 62, 2)


def test_training_follows_the_models_centre_and_writes_it_into_the_checkpoint(tmp_path):
    cfg = TrainConfig.from_dict(tiny_config(tmp_path / "run", steps=(3, 3), **{"model.price_centre": "last"}))
    assert _price_centre(cfg) == "last"
    train(cfg)
    assert load_model(tmp_path / "run" / "model").config.price_centre == "last"
    warm = TrainConfig.from_dict(
        tiny_config(tmp_path / "warm", **{"init_model": str(tmp_path / "run" / "model"), "model": {}})
    )
    assert _price_centre(warm) == "last"  # a warm start keeps its model's convention
    assert _price_centre(TrainConfig.from_dict(tiny_config(tmp_path / "plain"))) == "mean"


def test_token_windows_for_evaluation_follow_the_models_centre():
    from kronos_plugins.training.evaluate import window_tokens

    tokenizer = load_tokenizer(CKPT / "tokenizer")
    s = _series()
    got = window_tokens(tokenizer, [s], 48, 16, stride=50, price_centre="last")
    ds = WindowDataset([s], context=48, horizon=16, price_centre="last")
    x = torch.stack([ds[i][0] for i in range(0, len(ds), 50)])
    s1, s2 = tokenizer.encode(x, half=True)
    assert torch.equal(got[0], s1) and torch.equal(got[1], s2)
    mean_centred = window_tokens(tokenizer, [s], 48, 16, stride=50)
    assert not torch.equal(mean_centred[0], s1)  # the centre changes the tokens
