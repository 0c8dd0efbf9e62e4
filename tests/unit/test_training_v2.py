"""Training options of model v2: varied normalisation context, bfloat16 autocast, split version and mix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("yaml")

from kronos_plugins.training import TrainConfig, TrainConfigError, WindowDataset, normalise_window, train  # noqa: E402
from kronos_plugins.training.augment import synthetic_series  # noqa: E402
from kronos_plugins.training.data import series_from_frame  # noqa: E402

from .test_training import tiny_config  # noqa: E402


def _series(n=400, seed=0):
    return series_from_frame(synthetic_series("garch", n, np.random.default_rng(seed)), "s")


def test_min_context_normalises_each_window_on_a_fixed_draw_of_its_first_bars():
    s = _series()
    ds = WindowDataset([s], context=48, horizon=16, min_context=8)
    contexts = [ds.context_of(i) for i in range(len(ds))]
    assert min(contexts) >= 8 and max(contexts) <= 48
    assert len(set(contexts)) >= 30  # spread over the range, not a constant
    assert contexts == [ds.context_of(i) for i in range(len(ds))]  # the same draw every time
    for i in (0, 7, 100):
        x, *_ = ds[i]
        start = ds.locate(i)[1]
        expected, _, _ = normalise_window(s.values[start : start + 64], contexts[i])
        np.testing.assert_array_equal(x.numpy(), expected)
    fixed = WindowDataset([s], context=48, horizon=16)
    assert {fixed.context_of(i) for i in range(len(fixed))} == {48}


@pytest.mark.parametrize("bad", [1, 49])
def test_min_context_outside_the_context_is_rejected(bad):
    with pytest.raises(ValueError, match="`min_context` must be in"):
        WindowDataset([_series()], context=48, horizon=16, min_context=bad)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"precision": "fp16"}, "precision"),
        ({"data.min_context": 500}, "data.min_context"),
        ({"data.split_version": 4}, "data.split_version"),
        ({"data.loss_horizon": 0}, "data.loss_horizon"),
        ({"data.level_jitter": 6}, "data.level_jitter"),
        ({"data.mask_clipped": "yes"}, "data.mask_clipped"),
        ({"data.constructions": ["candles"]}, "data.constructions"),
        ({"train_tokenizer.feature_weights": [1, 1, 1, 1, 0.1]}, "train_tokenizer.feature_weights"),
        ({"train_tokenizer.feature_weights": [1, 1, 1, -1, 0, 0]}, "train_tokenizer.feature_weights"),
        ({"train_tokenizer.feature_weights": [0, 0, 0, 0, 0, 0]}, "train_tokenizer.feature_weights"),
        (
            {"train_model.feature_weights": [1, 1, 1, 1, 1, 1]},
            "train_model.feature_weights.*tokenizer stage only",
        ),
        ({"train_tokenizer.recon_pre_weight": 1.5}, "train_tokenizer.recon_pre_weight.*from 0 to 1"),
        ({"train_model.recon_pre_weight": 0.0}, "train_model.recon_pre_weight.*tokenizer stage only"),
    ],
)
def test_v2_config_errors_name_the_key(tmp_path, override, match):
    with pytest.raises(TrainConfigError, match=match):
        TrainConfig.from_dict(tiny_config(tmp_path, **override))


def test_dataset_items_carry_the_context_length_that_normalised_them():
    ds = WindowDataset([_series()], context=48, horizon=16, min_context=8)
    for i in (0, 3, 50):
        x, _, stats, n_context = ds[i]
        assert int(n_context) == ds.context_of(i)
        start = ds.locate(i)[1]
        ctx = ds.series[0].values[start : start + int(n_context), 3].astype(np.float64)
        assert stats[0, 3].item() == pytest.approx(ctx.mean(), rel=1e-6)


def test_loss_padding_masks_targets_beyond_the_loss_horizon_after_each_context():
    from kronos_plugins.training.trainer import loss_padding

    assert loss_padding(torch.tensor([4]), 10, None) is None
    mask = loss_padding(torch.tensor([4, 2, 8]), 10, 3)  # targets are bars 1..9
    # window 0: bars 1..6 count (t < 4 + 3), 7..9 padded; window 1: bars 1..4; window 2: every bar (t < 11)
    expected = torch.tensor(
        [
            [0, 0, 0, 0, 0, 0, 1, 1, 1],
            [0, 0, 0, 0, 1, 1, 1, 1, 1],
            [0, 0, 0, 0, 0, 0, 0, 0, 0],
        ]
    )
    torch.testing.assert_close(mask, expected)


def _tiny_tokenizer_and_model():
    from kronos_plugins.model import Kronos, KronosConfig
    from kronos_plugins.tokenizer import KronosTokenizer, KronosTokenizerConfig

    torch.manual_seed(0)
    tok = KronosTokenizer(
        KronosTokenizerConfig(
            d_model=16, n_heads=2, ff_dim=32, n_enc_layers=1, n_dec_layers=1, s1_bits=3, s2_bits=3
        )
    ).eval()
    model = Kronos(KronosConfig(s1_bits=3, s2_bits=3, n_layers=1, d_model=16, n_heads=2, ff_dim=32)).eval()
    return tok, model


def _per_target_cross_entropy(tok, model, x, stamp):
    """By hand: the (B, W - 1) cross-entropies of both token halves of every next-bar target."""
    s1, s2 = tok.encode(x, half=True)
    l1, l2 = model(s1[:, :-1], s2[:, :-1], stamp[:, :-1], use_teacher_forcing=True, s1_targets=s1[:, 1:])
    ce1 = torch.nn.functional.cross_entropy(l1.transpose(1, 2), s1[:, 1:], reduction="none")
    ce2 = torch.nn.functional.cross_entropy(l2.transpose(1, 2), s2[:, 1:], reduction="none")
    return ce1, ce2


def test_model_loss_with_a_loss_horizon_is_the_cross_entropy_of_the_kept_targets_only():
    from kronos_plugins.training import model_loss

    tok, model = _tiny_tokenizer_and_model()
    x, stamp = torch.randn(2, 12, 6), torch.zeros(2, 12, 5)
    n_context = torch.tensor([3, 6])
    with torch.no_grad():
        full, _ = model_loss(model, model.head, tok, x, stamp)
        kept, parts = model_loss(model, model.head, tok, x, stamp, n_context, loss_horizon=4)
        # by hand: the per-target cross-entropies of the full window, averaged over targets t < n_context + 4
        ce1, ce2 = _per_target_cross_entropy(tok, model, x, stamp)
    t = torch.arange(1, 12)
    keep = t[None, :] < (n_context[:, None] + 4)
    assert keep.sum() == 6 + 9
    torch.testing.assert_close(parts["ce_s1"], ce1[keep].mean())
    torch.testing.assert_close(kept, (ce1[keep].mean() + ce2[keep].mean()) / 2)
    torch.testing.assert_close(full, (ce1.mean() + ce2.mean()) / 2)
    assert not torch.allclose(kept, full)
    with pytest.raises(ValueError, match="n_context"):
        model_loss(model, model.head, tok, x, stamp, None, loss_horizon=4)


def test_clipped_padding_marks_targets_whose_prices_sit_at_the_clip():
    from kronos_plugins.training.trainer import clipped_padding

    x = torch.zeros(2, 6, 6)
    x[0, 2, 3] = 5.0  # a close at the clip: target 2 (row 1 of the mask)
    x[0, 4, 1] = -5.0  # a high at the negative clip: target 4
    x[0, 0, 0] = 5.0  # bar 0 is never a target
    x[1, 3, 4] = 5.0  # volume at the clip: not a price, counts
    x[1, 5, 2] = 4.999  # inside the clip
    expected = torch.tensor([[0, 1, 0, 1, 0], [0, 0, 0, 0, 0]])
    torch.testing.assert_close(clipped_padding(x), expected)


def test_model_loss_with_mask_clipped_is_the_cross_entropy_of_the_unclipped_targets():
    from kronos_plugins.training import model_loss

    tok, model = _tiny_tokenizer_and_model()
    x, stamp = torch.randn(2, 12, 6).clamp(-2, 2), torch.zeros(2, 12, 5)
    x[0, 8:, :4] = 5.0  # window 0 trends into the clip: bars 8..11
    x[1, 3, 2] = -5.0  # window 1: one low clipped, bar 3
    n_context = torch.tensor([6, 6])
    with torch.no_grad():
        full, _ = model_loss(model, model.head, tok, x, stamp)
        kept, parts = model_loss(model, model.head, tok, x, stamp, mask_clipped=True)
        both, _ = model_loss(model, model.head, tok, x, stamp, n_context, loss_horizon=4, mask_clipped=True)
        ce1, ce2 = _per_target_cross_entropy(tok, model, x, stamp)
    t = torch.arange(1, 12)
    keep = torch.ones(2, 11, dtype=torch.bool)
    keep[0, 7:] = False  # targets 8..11
    keep[1, 2] = False  # target 3
    torch.testing.assert_close(parts["ce_s2"], ce2[keep].mean())
    torch.testing.assert_close(kept, (ce1[keep].mean() + ce2[keep].mean()) / 2)
    assert not torch.allclose(kept, full)
    keep_both = keep & (t[None, :] < 10)  # and t < n_context + 4
    assert keep_both.sum() == 7 + 8  # window 0: targets 1..7; window 1: 1..9 but 3
    torch.testing.assert_close(both, (ce1[keep_both].mean() + ce2[keep_both].mean()) / 2)


def test_a_mask_clipped_run_masks_training_but_not_validation(tmp_path, monkeypatch):
    from kronos_plugins.training import trainer

    calls = []
    real = trainer.model_loss

    def spy(model, *args, **kwargs):
        calls.append((model.training, args[-1] if len(args) >= 6 else kwargs.get("mask_clipped", False)))
        return real(model, *args, **kwargs)

    monkeypatch.setattr(trainer, "model_loss", spy)
    cfg = tiny_config(tmp_path / "run", steps=(2, 3), **{"data.mask_clipped": True})
    train(TrainConfig.from_dict(cfg))
    assert {masked for training, masked in calls if training} == {True}
    assert {masked for training, masked in calls if not training} == {False}
    assert sum(training for training, _ in calls) == 3  # one call per training step


def test_a_loss_horizon_run_trains_and_records_the_key(tmp_path):
    cfg = tiny_config(tmp_path / "run", steps=(2, 3), **{"data.min_context": 8, "data.loss_horizon": 4})
    result = train(TrainConfig.from_dict(cfg))
    assert result.model is not None
    import json

    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["data"]["loss_horizon"] == 4


def _tiny_tokenizer_and_windows():
    """A small random tokenizer (4 + 4 bits) in eval mode and three random 20-bar windows (seeded)."""
    torch.manual_seed(0)
    from kronos_plugins.tokenizer import KronosTokenizer, KronosTokenizerConfig

    tok = KronosTokenizer(
        KronosTokenizerConfig(
            d_model=16, n_heads=2, ff_dim=32, n_enc_layers=2, n_dec_layers=2, s1_bits=4, s2_bits=4
        )
    ).eval()
    return tok, torch.randn(3, 20, 6)


def test_tokenizer_feature_weights_weigh_each_features_reconstruction_error():
    from kronos_plugins.training import tokenizer_loss

    tok, x = _tiny_tokenizer_and_windows()
    with torch.no_grad():
        (z_pre, z), bsq, _, _ = tok(x)
        plain, parts = tokenizer_loss(tok, x)
        equal, _ = tokenizer_loss(tok, x, [2, 2, 2, 2, 2, 2])  # rescaled to mean 1: the plain loss
        close_only, cparts = tokenizer_loss(tok, x, [0, 0, 0, 5, 0, 0])
    torch.testing.assert_close(equal, plain)
    # all the weight on the close: each term is the close's MSE alone (mean over bars, not over 6 features)
    torch.testing.assert_close(cparts["recon_pre"], ((z_pre[..., 3] - x[..., 3]) ** 2).mean())
    torch.testing.assert_close(cparts["recon_all"], ((z[..., 3] - x[..., 3]) ** 2).mean())
    torch.testing.assert_close(close_only, (cparts["recon_pre"] + cparts["recon_all"]) / 2 + bsq)
    assert not torch.allclose(close_only, plain)


def test_recon_pre_weight_moves_the_loss_between_the_coarse_only_and_the_full_reconstruction():
    from kronos_plugins.training import tokenizer_loss

    tok, x = _tiny_tokenizer_and_windows()
    with torch.no_grad():
        (z_pre, z), bsq, _, _ = tok(x)
        pre, all_ = ((z_pre - x) ** 2).mean(), ((z - x) ** 2).mean()
        assert not torch.isclose(pre, all_)
        torch.testing.assert_close(tokenizer_loss(tok, x, recon_pre_weight=0.0)[0], all_ + bsq)
        torch.testing.assert_close(tokenizer_loss(tok, x, recon_pre_weight=1.0)[0], pre + bsq)
        torch.testing.assert_close(
            tokenizer_loss(tok, x, recon_pre_weight=0.2)[0], 0.2 * pre + 0.8 * all_ + bsq
        )
        torch.testing.assert_close(tokenizer_loss(tok, x)[0], (pre + all_) / 2 + bsq)  # the published recipe


def test_bf16_autocast_trains_the_model_stage_and_differs_from_fp32(tmp_path):
    fp32 = train(TrainConfig.from_dict(tiny_config(tmp_path / "a", steps=(5, 5))))
    bf16 = train(TrainConfig.from_dict(tiny_config(tmp_path / "b", steps=(5, 5), precision="bf16")))
    # same data, same tokenizer (stage 1 runs in float32 either way), different arithmetic in stage 2
    for k, v in fp32.tokenizer.state_dict().items():
        torch.testing.assert_close(bf16.tokenizer.state_dict()[k], v, rtol=0, atol=0)
    a, b = fp32.model.head.proj_s1.weight, bf16.model.head.proj_s1.weight
    assert a.dtype == b.dtype == torch.float32  # weights stay float32
    assert not torch.equal(a, b)
    assert torch.allclose(a, b, atol=0.05)  # but the updates are close: autocast, not a different model


def test_the_synthetic_market_mix_enters_training_and_the_data_summary(tmp_path):
    cfg = tiny_config(
        tmp_path / "run",
        steps=(2, 2),
        **{
            "augment.enabled": True,
            "augment.generator": "market",
            "augment.n_series": 4,
            "augment.length": 200,
        },
    )
    train(TrainConfig.from_dict(cfg))
    lines = (tmp_path / "run" / "data_summary.txt").read_text().splitlines()
    synthetic = next(line.split() for line in lines if line.split()[0] == "synthetic")
    assert synthetic[-3:] == ["4", "800", "0"]  # 4 series x 200 bars, never in validation


def test_an_unknown_augment_generator_is_rejected(tmp_path):
    with pytest.raises(TrainConfigError, match="augment.generator"):
        TrainConfig.from_dict(tiny_config(tmp_path, **{"augment.generator": "gan"}))


def test_source_weights_scale_each_sources_draw_probability_and_zero_leaves_it_out():
    from kronos_plugins.training.data import WindowSampler, source_factors

    frames = [synthetic_series("garch", 300, np.random.default_rng(k)) for k in range(3)]
    names = ["alpha/A", "alpha/B", "beta/C"]
    ds = WindowDataset([series_from_frame(f, n) for f, n in zip(frames, names, strict=True)], 24, 8)
    np.testing.assert_array_equal(source_factors(names, {"alpha": 0.5}), [0.5, 0.5, 1.0])
    np.testing.assert_array_equal(source_factors(["synthetic 0"], None), [1.0])
    even = WindowSampler(ds, 8, seed=0, weighting="series").p
    np.testing.assert_allclose(even, [1 / 3] * 3)
    half = WindowSampler(ds, 8, seed=0, weighting="series", source_weights={"alpha": 0.5}).p
    np.testing.assert_allclose(half, [0.25, 0.25, 0.5])  # weights 0.5, 0.5, 1 normalised
    gone = WindowSampler(ds, 8, seed=0, weighting="series", source_weights={"beta": 0})
    assert gone.p[2] == 0
    drawn = np.concatenate([gone.global_batch(k) for k in range(50)])
    assert not np.isin(drawn, np.arange(ds.offsets[2], ds.offsets[3])).any()  # never a beta window
    with pytest.raises(ValueError, match=r"no training series: \['gamma'\]"):
        WindowSampler(ds, 8, seed=0, source_weights={"gamma": 2.0})
    with pytest.raises(ValueError, match="positive draw weight"):
        WindowSampler(ds, 8, seed=0, source_weights={"alpha": 0, "beta": 0})


@pytest.mark.parametrize("bad", [{"fastquant": -1}, {"fastquant": "x"}, ["fastquant"]])
def test_bad_source_weights_are_rejected(tmp_path, bad):
    with pytest.raises(TrainConfigError, match="data.source_weights"):
        TrainConfig.from_dict(tiny_config(tmp_path, **{"data.source_weights": bad}))


def test_level_jitter_shifts_each_windows_prices_by_a_fixed_draw_and_its_stats_still_decode_it():
    s = _series()
    plain = WindowDataset([s], context=48, horizon=16, min_context=16)
    shifted = WindowDataset([s], context=48, horizon=16, min_context=16, level_jitter=1.5)
    shifts = np.array([shifted.level_shift_of(i) for i in range(len(shifted))])
    assert shifts.min() >= -1.5 and shifts.max() <= 1.5 and shifts.std() > 0.6  # spread over the range
    assert shifted.level_shift_of(7) == shifted.level_shift_of(7)
    assert plain.level_shift_of(7) == 0.0
    for i in (0, 9, 120):
        x0, _, st0, c0 = plain[i]
        x1, _, st1, c1 = shifted[i]
        assert int(c0) == int(c1)  # the same context draw
        inside = (x0[:, :4].abs() + abs(shifts[i])) < 5  # not clipped either way
        torch.testing.assert_close(x1[:, :4][inside], (x0[:, :4] + shifts[i])[inside])
        torch.testing.assert_close(x1[:, 4:], x0[:, 4:])  # volume and amount untouched
        # both decode to the same prices: x * (std + eps) + mean
        back0 = x0[:, :4].double() * st0[1, :4].double() + st0[0, :4].double()
        back1 = x1[:, :4].double() * st1[1, :4].double() + st1[0, :4].double()
        torch.testing.assert_close(back1[inside], back0[inside], rtol=1e-4, atol=1e-4)
    # a bar beyond the clip is shifted from its true value, then clipped: not from +-5
    for i in range(len(shifted)):
        start = shifted.locate(i)[1]
        raw = normalise_window(s.values[start : start + shifted.window], shifted.context_of(i), clip=np.inf)[
            0
        ]
        if (np.abs(raw[:, :4]) > 5).any():
            x1 = shifted[i][0].numpy()[:, :4]
            np.testing.assert_allclose(x1, np.clip(raw[:, :4] + shifts[i], -5, 5), rtol=0, atol=1e-5)
            break
    else:
        pytest.fail("no window of the series reaches the clip")
    with pytest.raises(ValueError, match="level_jitter"):
        WindowDataset([s], context=48, horizon=16, level_jitter=-1)
