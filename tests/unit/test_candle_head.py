"""The "wicks" candle head: decoded candles consistent by construction, the same map in both forms, and
decoder-only training that keeps an existing model's token ids (issue 15, item 1); the "wicks-floor" head: the
same with volume and amount non-negative by construction."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch

from kronos_plugins import KronosPipeline
from kronos_plugins.candle_head import head_bars, wick_bars, wick_prices
from kronos_plugins.candles import consistent
from kronos_plugins.checkpoints import load_model, load_tokenizer, save_checkpoint
from kronos_plugins.config import KronosTokenizerConfig
from kronos_plugins.preparation import STD_EPS, PreparedContext
from kronos_plugins.tokenizer import KronosTokenizer

from ..conftest import REFERENCE, hourly_bars


def _context(rng, level=250.0) -> PreparedContext:
    """Statistics of a plausible window: price columns with slightly different means and spreads."""
    mean = np.array([level, level * 1.004, level * 0.996, level, 5e4, 1e7])
    std = np.array([2.0, 2.1, 1.9, 2.0, 1e4, 3e6]) * rng.uniform(0.2, 3.0)
    return PreparedContext(
        x=np.zeros((4, 6), np.float32),
        mean=mean,
        std=std,
        x_stamp=np.zeros((4, 5), np.float32),
        timestamps=None,
        constructed=(),
        scales=np.ones(6),
    )


def test_wick_head_candles_are_consistent_whatever_the_decoder_outputs_and_direct_ones_are_not():
    rng = np.random.default_rng(0)
    for trial in range(20):
        ctx = _context(rng)
        z = rng.normal(0.0, 3.0, size=(50, 6))
        z[:5, 1:3] = -800.0  # softplus underflows to exactly 0: high = max(open, close), still consistent
        z[5:10, 1:3] = 40.0  # huge wicks
        wicks = ctx.denormalise(z, "wicks")
        assert consistent(wicks[:, :4]).all(), trial
        direct = ctx.denormalise(z)
        assert not consistent(direct[:, :4]).all()  # the same outputs read the reference's way
        # open, close, volume and amount are the plain denormalisation; only high and low are wicks
        np.testing.assert_array_equal(wicks[:, [0, 3, 4, 5]], direct[:, [0, 3, 4, 5]])
        assert (wicks[:5, 1] == np.maximum(wicks[:5, 0], wicks[:5, 3])).all()


def test_the_training_map_and_the_price_map_are_the_same_map():
    rng = np.random.default_rng(1)
    ctx = _context(rng)
    z = rng.normal(0.0, 2.0, size=(3, 40, 6))
    mean = torch.tensor(ctx.mean).expand(3, 6)
    spread = torch.tensor(ctx.std + STD_EPS).expand(3, 6)
    bars = wick_bars(torch.tensor(z), mean, spread).numpy()  # normalised units, as the loss sees them
    via_training_map = ctx.denormalise(bars)  # then the reference's denormalisation
    np.testing.assert_allclose(via_training_map, ctx.denormalise(z, "wicks"), rtol=1e-12)
    # by hand for one bar: the wick is softplus(z) normalised units of the high column above max(open, close)
    o, c = (z[0, 0, j] * (ctx.std[j] + STD_EPS) + ctx.mean[j] for j in (0, 3))
    expected_high = max(o, c) + np.log1p(np.exp(z[0, 0, 1])) * (ctx.std[1] + STD_EPS)
    assert via_training_map[0, 0, 1] == pytest.approx(expected_high, rel=1e-12)
    np.testing.assert_array_equal(
        wick_prices(z, ctx.denormalise(z), ctx.std + STD_EPS)[..., 0], via_training_map[..., 0]
    )


def test_candle_head_is_saved_only_when_not_the_reference_one(tmp_path):
    tok = load_tokenizer(REFERENCE / "tiny-learnte" / "tokenizer")
    assert "candle_head" not in tok.config.to_dict()  # a saved direct config still loads in the reference
    wicks = KronosTokenizer(dataclasses.replace(tok.config, candle_head="wicks"))
    wicks.load_state_dict(tok.state_dict())
    saved = save_checkpoint(wicks, tmp_path / "tok")
    assert json.loads((saved / "config.json").read_text())["candle_head"] == "wicks"
    assert load_tokenizer(saved).config.candle_head == "wicks"
    with pytest.raises(ValueError, match="`candle_head` must be one of"):
        KronosTokenizerConfig(candle_head="wick")


def test_a_pipeline_with_a_wicks_tokenizer_forecasts_only_consistent_candles():
    d = REFERENCE / "tiny-learnte"
    tok = load_tokenizer(d / "tokenizer")
    wicks = KronosTokenizer(dataclasses.replace(tok.config, candle_head="wicks"))
    wicks.load_state_dict(tok.state_dict())
    frame = hourly_bars(120, seed=3)
    out = {}
    for name, t in (("direct", tok), ("wicks", wicks)):
        pipe = KronosPipeline(load_model(d / "model"), t, max_context=64)
        fc = pipe.forecast(frame, horizon=12, num_samples=8, seed=5)
        out[name] = np.stack([fc.column(c) for c in ("open", "high", "low", "close")], axis=-1)
    assert consistent(out["wicks"]).all()
    assert not consistent(out["direct"]).all()  # random weights: the reference head breaks candles
    # same tokens, same open and close: the head changes only what high and low mean
    np.testing.assert_allclose(out["wicks"][..., [0, 3]], out["direct"][..., [0, 3]], rtol=1e-6)


def test_floor_head_volumes_are_never_negative_and_far_from_zero_are_the_plain_ones():
    rng = np.random.default_rng(2)
    for trial in range(20):
        ctx = _context(rng)
        z = rng.normal(0.0, 3.0, size=(60, 6))
        z[:5, 4:] = -800.0  # far below zero volume: the softplus underflows to exactly 0, never below
        z[5:10, 4:] = 60.0
        floor, wicks = ctx.denormalise(z, "wicks-floor"), ctx.denormalise(z, "wicks")
        assert (floor[:, 4:] >= 0).all(), trial
        assert (wicks[:, 4:] < 0).any(), trial  # the same outputs read the wicks head's way
        np.testing.assert_array_equal(floor[:, :4], wicks[:, :4])  # prices untouched
        assert consistent(floor[:, :4]).all()
        assert (floor[:5, 4:] == 0).all()
        # by hand: s * log(1 + exp(v / s)), v the plain volume and s its spread
        s = ctx.std[4] + STD_EPS
        for row in range(10, 60):
            v = wicks[row, 4]
            assert floor[row, 4] == pytest.approx(s * np.logaddexp(0.0, v / s), rel=1e-12), (trial, row)
        # volumes more than 10 spreads above zero keep their value to 5e-5 of a spread
        far = wicks[:, 4] > 10 * s
        assert far.any()
        np.testing.assert_allclose(floor[far, 4], wicks[far, 4], rtol=0, atol=5e-5 * s)


def test_the_floor_heads_training_map_and_price_map_are_the_same_map():
    rng = np.random.default_rng(3)
    ctx = _context(rng)
    z = rng.normal(0.0, 2.0, size=(3, 40, 6))
    z[..., 4:] -= 4.0  # many volumes below zero before the floor
    mean = torch.tensor(ctx.mean).expand(3, 6)
    spread = torch.tensor(ctx.std + STD_EPS).expand(3, 6)
    bars = head_bars(torch.tensor(z), "wicks-floor", mean, spread).numpy()
    np.testing.assert_allclose(ctx.denormalise(bars), ctx.denormalise(z, "wicks-floor"), rtol=1e-12)
    assert (ctx.denormalise(z, "wicks")[..., 4:] < 0).any()
    with pytest.raises(ValueError, match="'wicks-floor' candle head needs"):
        head_bars(torch.tensor(z), "wicks-floor", None, None)
    assert head_bars(torch.tensor(z), "direct", None, None) is not None


def test_a_pipeline_with_a_floor_tokenizer_forecasts_no_negative_volume():
    d = REFERENCE / "tiny-learnte"
    tok = load_tokenizer(d / "tokenizer")
    frame = hourly_bars(120, seed=3)
    # volumes that spread as wide as their mean, as thin markets' do: zero lies about one std below the mean
    frame["volume"] = np.random.default_rng(4).exponential(1000.0, len(frame))
    frame["amount"] = frame["volume"] * frame["close"]
    out = {}
    for head in ("wicks", "wicks-floor"):
        t = KronosTokenizer(dataclasses.replace(tok.config, candle_head=head))
        t.load_state_dict(tok.state_dict())
        pipe = KronosPipeline(load_model(d / "model"), t, max_context=64)
        fc = pipe.forecast(frame, horizon=12, num_samples=16, seed=5)
        out[head] = np.stack([fc.column(c) for c in ("open", "high", "low", "close", "volume")], axis=-1)
    assert (out["wicks"][..., 4] < 0).any()  # random weights: the plain volume goes negative
    assert (out["wicks-floor"][..., 4] >= 0).all()
    assert consistent(out["wicks-floor"][..., :4]).all()
    np.testing.assert_allclose(out["wicks-floor"][..., :4], out["wicks"][..., :4], rtol=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# training a wicks decoder for an existing tokenizer's tokens

yaml = pytest.importorskip("yaml")


def _tiny_tokenizer_run(tmp_path):
    from kronos_plugins.training import TrainConfig, train

    from .test_training import tiny_config

    first = train(TrainConfig.from_dict(tiny_config(tmp_path / "first", steps=(20, 0))))
    return first.tokenizer, tmp_path / "first" / "tokenizer", tiny_config


@pytest.mark.parametrize("head", ["wicks", "wicks-floor"])
def test_decoder_only_training_keeps_the_token_ids_and_learns_wicks(tmp_path, head):
    from kronos_plugins.training import TrainConfig, WindowDataset, train
    from kronos_plugins.training.data import series_from_frame

    base, base_dir, tiny_config = _tiny_tokenizer_run(tmp_path)
    cfg = tiny_config(tmp_path / "wicks", steps=(40, 0), init_tokenizer=str(base_dir))
    cfg["tokenizer"] = {"candle_head": head}
    cfg["train_tokenizer"]["trainable"] = "decoder"
    result = train(TrainConfig.from_dict(cfg))
    tok = result.tokenizer
    assert tok.config.candle_head == head
    assert load_tokenizer(tmp_path / "wicks" / "tokenizer").config.candle_head == head
    before, after = base.state_dict(), tok.state_dict()
    frozen = [k for k in before if k.split(".")[0] in ("embed", "encoder", "quant_embed", "tokenizer")]
    trained = [k for k in before if k.split(".")[0] in ("decoder", "head", "post_quant_embed")]
    assert frozen and trained
    assert all(torch.equal(before[k], after[k]) for k in frozen)
    assert all(not torch.equal(before[k], after[k]) for k in trained)

    ds = WindowDataset(
        [series_from_frame(hourly_bars(200, seed=s).set_index("timestamps"), "s") for s in (1, 2)], 24, 8
    )
    x, _, stats, _ = (torch.stack(t) for t in zip(*[ds[i] for i in range(0, len(ds), 7)], strict=True))
    with torch.no_grad():
        for a, b in zip(base.encode(x), tok.encode(x), strict=True):
            assert torch.equal(a, b)  # the same tokens: a model trained on them stays valid
        z = tok.decode(tok.encode(x))
    bars = head_bars(z, head, stats[:, 0], stats[:, 1]).double()
    prices = bars * stats[:, 1:2].double() + stats[:, 0:1].double()
    assert consistent(prices[..., :4].numpy(), rtol=1e-6).all()
    if (
        head == "wicks-floor"
    ):  # float32 round-off of (softplus - offset) * spread + mean: a hair below 0 at most
        assert (prices[..., 4:] >= -1e-5 * stats[:, 1:2, 4:].double()).all()
    log = pd.read_csv(tmp_path / "wicks" / "train_log.csv")
    val = log[log["split"] == "val"]["recon_all"].to_numpy()
    assert val[-1] < 0.8 * val[0], val  # the decoder learned to read its high/low outputs as wicks


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda c: c["train_tokenizer"].update(trainable="decoder"), "init_tokenizer"),
        (lambda c: c["train_tokenizer"].update(trainable="encoder"), "train_tokenizer.trainable"),
        (
            lambda c: c["train_model"].update(trainable="decoder"),
            "train_model.trainable.*tokenizer stage only",
        ),
        (lambda c: c["tokenizer"].update(candle_head="wick"), "candle_head"),
    ],
)
def test_candle_head_and_trainable_errors_name_the_key(tmp_path, edit, match):
    from kronos_plugins.training import TrainConfig, TrainConfigError

    from .test_training import tiny_config

    cfg = tiny_config(tmp_path)
    edit(cfg)
    with pytest.raises((TrainConfigError, ValueError), match=match):
        TrainConfig.from_dict(cfg)


def test_the_wicks_loss_needs_the_window_statistics_and_the_dataset_carries_them():
    from kronos_plugins.training import WindowDataset, normalise_window, tokenizer_loss
    from kronos_plugins.training.data import series_from_frame

    tok = load_tokenizer(REFERENCE / "tiny-learnte" / "tokenizer")
    wicks = KronosTokenizer(dataclasses.replace(tok.config, candle_head="wicks"))
    with pytest.raises(ValueError, match="needs the windows' normalisation `stats`"):
        tokenizer_loss(wicks, torch.zeros(2, 8, 6))
    s = series_from_frame(hourly_bars(120, seed=4).set_index("timestamps"), "s")
    ds = WindowDataset([s], 24, 8)
    x, _, stats, _ = ds[10]
    start = ds.locate(10)[1]
    _, mean, std = normalise_window(s.values[start : start + 32], 24)
    np.testing.assert_allclose(stats.numpy(), np.stack([mean, std + STD_EPS]), rtol=1e-6)
    # the statistics undo the normalisation (the context rows: a z-score of 24 values cannot reach the clip)
    raw = s.values[start : start + 24].astype(np.float64)
    undone = x.numpy()[:24, :4] * stats.numpy()[1, :4] + stats.numpy()[0, :4]
    np.testing.assert_allclose(undone, raw[:, :4], rtol=1e-5)


def test_the_transformers_style_facade_decodes_with_the_tokenizers_candle_head(ohlcv_input):
    from kronos_plugins.facade import KLineTokenizer, KronosForCausalLM

    d = REFERENCE / "tiny-learnte"
    base = load_tokenizer(d / "tokenizer")
    wicks = KronosTokenizer(dataclasses.replace(base.config, candle_head="wicks"))
    wicks.load_state_dict(base.state_dict())
    model = KronosForCausalLM.from_pretrained(d / "model", max_context=128)
    frames = [ohlcv_input.iloc[s : s + 60].set_index("timestamps") for s in (0, 100)]
    tok = KLineTokenizer(wicks, max_context=128)
    enc = tok(frames, return_tensors="pt")
    out = model.generate(**enc, max_new_tokens=8, num_return_sequences=4, temperature=1.0, seed=2)
    bars = tok.decode(out, enc)
    prices = np.stack([b[["open", "high", "low", "close"]].to_numpy() for b in bars])
    assert consistent(prices).all()
    pipe = KronosPipeline(load_model(d / "model"), wicks, max_context=128)
    fc = pipe.forecast(frames, horizon=8, num_samples=4, temperature=1.0, seed=2)
    np.testing.assert_allclose(
        prices, fc.samples[..., :4].reshape(8, 8, 4), rtol=1e-6
    )  # the pipeline's paths
