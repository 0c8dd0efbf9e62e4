"""Conformance with the public Kronos implementation (shiyu-coder/Kronos, commit 67b630e).

The tensors in ``tests/fixtures/kronos-reference/*/reference_outputs.safetensors`` were recorded by running the
reference on the random-weight checkpoints beside them (see that folder's README.md). Every tensor is reproduced
here to relative error 1e-5, the reference's own regression tolerance. Computation is pinned to float32 on CPU.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from kronos_plugins import KronosPipeline
from kronos_plugins.checkpoints import load_model, load_tokenizer

from ..conftest import CONFIGS, REFERENCE

RTOL = 1e-5


def rel_err(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float(
        (actual.double() - expected.double()).abs().max() / expected.double().abs().max().clamp_min(1e-30)
    )


@pytest.fixture(scope="module", params=CONFIGS)
def ref(request):
    d = REFERENCE / request.param
    return {
        "dir": d,
        "out": load_file(d / "reference_outputs.safetensors"),
        "cases": json.loads((d / "cases.json").read_text())["predictor_cases"],
        "tokenizer": load_tokenizer(d / "tokenizer"),
        "model": load_model(d / "model"),
    }


def test_tokenizer_encode_matches_reference_ids(ref):
    out, tok = ref["out"], ref["tokenizer"]
    s1, s2 = tok.encode(out["tokenizer.input_normalized"], half=True)
    assert torch.equal(s1, out["tokenizer.encode_half.s1"])
    assert torch.equal(s2, out["tokenizer.encode_half.s2"])
    assert torch.equal(
        tok.encode(out["tokenizer.input_normalized"], half=False), out["tokenizer.encode_full"]
    )


def test_tokenizer_decode_and_forward_match_reference(ref):
    out, tok = ref["out"], ref["tokenizer"]
    ids = (out["tokenizer.encode_half.s1"], out["tokenizer.encode_half.s2"])
    with torch.no_grad():
        assert rel_err(tok.decode(ids), out["tokenizer.decode_half"]) < RTOL
        (z_pre, z), loss, _, _ = tok(out["tokenizer.input_normalized"])
    assert rel_err(z_pre, out["tokenizer.forward.z_pre"]) < RTOL
    assert rel_err(z, out["tokenizer.forward.z"]) < RTOL
    assert rel_err(loss.reshape(1), out["tokenizer.forward.bsq_loss_eval"]) < RTOL


def test_tokenizer_training_pass_matches_reference(ref):
    out, tok = ref["out"], ref["tokenizer"]
    tok.train()
    try:
        (_, z), loss, _, _ = tok(out["tokenizer.input_normalized"])
    finally:
        tok.eval()
    assert rel_err(z.detach(), out["tokenizer.forward_train.z"]) < RTOL
    assert rel_err(loss.detach().reshape(1), out["tokenizer.forward.bsq_loss_train"]) < RTOL


def test_model_logits_hidden_and_fine_head_match_reference(ref):
    out, model = ref["out"], ref["model"]
    s1, s2, stamp = out["tokenizer.encode_half.s1"], out["tokenizer.encode_half.s2"], out["tokenizer.stamp"]
    with torch.no_grad():
        logits, hidden = model.decode_s1(s1, s2, stamp)
        assert rel_err(logits, out["model.decode_s1.s1_logits"]) < RTOL
        assert rel_err(hidden, out["model.decode_s1.hidden"]) < RTOL
        next_s1 = logits[:, -1].argmax(-1, keepdim=True)
        assert torch.equal(next_s1, out["model.decode_s2.next_s1"])
        s2_logits = model.decode_s2(hidden, next_s1)[:, -1]
    assert rel_err(s2_logits, out["model.decode_s2.s2_logits_last"]) < RTOL


def test_teacher_forced_training_loss_matches_reference(ref):
    out, model = ref["out"], ref["model"]
    s1, s2, stamp = out["tokenizer.encode_half.s1"], out["tokenizer.encode_half.s2"], out["tokenizer.stamp"]
    model.train()
    try:
        s1_logits, s2_logits = model(
            s1[:, :-1], s2[:, :-1], stamp[:, :-1], use_teacher_forcing=True, s1_targets=s1[:, 1:]
        )
        loss = model.head.compute_loss(s1_logits, s2_logits, s1[:, 1:], s2[:, 1:])
    finally:
        model.eval()
    assert rel_err(s1_logits.detach(), out["model.train_teacher_forcing.s1_logits"]) < RTOL
    assert rel_err(s2_logits.detach(), out["model.train_teacher_forcing.s2_logits"]) < RTOL
    assert rel_err(torch.stack(loss).detach(), out["model.train_teacher_forcing.loss"]) < RTOL


def _pipeline(ref, max_context):
    return KronosPipeline(ref["model"], ref["tokenizer"], max_context=max_context)


@pytest.mark.parametrize("case", ["no_slide", "slide", "long_horizon"])
def test_greedy_forecast_reproduces_reference_predictor(ref, case, ohlcv_input):
    cs = ref["cases"][case]
    a, b = cs["context_rows"]
    fa, fb = cs["future_rows"]
    context = ohlcv_input.iloc[a:b]
    future = ohlcv_input["timestamps"].iloc[fa:fb]
    fc = _pipeline(ref, cs["max_context"]).forecast(
        context, horizon=cs["pred_len"], num_samples=1, top_k=1, seed=0, future_timestamps=future
    )
    expected = ref["out"][f"predictor.{case}.pred"].double().numpy()
    np.testing.assert_allclose(fc.mean()[0], expected, rtol=RTOL, atol=0)
    assert list(fc.timestamps[0]) == list(future)


def test_ragged_columns_batch_reproduces_reference(ref, ohlcv_input):
    cs = ref["cases"]["batch"]
    frames, futures = [], []
    for s in cs["series"]:
        a, b = s["rows"]
        df = ohlcv_input.iloc[a:b].copy()
        for col in ("open", "high", "low", "close", "amount"):
            df[col] *= s["price_and_amount_scale"]
        frames.append(df[["timestamps", *s["columns"]]])
        futures.append(ohlcv_input["timestamps"].iloc[s["future"][0] : s["future"][1]])
    fc = _pipeline(ref, cs["max_context"]).forecast(
        frames, horizon=cs["pred_len"], num_samples=1, top_k=1, seed=0, future_timestamps=futures
    )
    for i in range(3):
        expected = ref["out"][f"predictor.batch.{i}.pred"].double().numpy()
        if i == 2:  # no volume: volume/amount de-normalised with mean 0, std 0 -> ~1e-6, compare absolutely
            np.testing.assert_allclose(fc.mean()[i][:, :4], expected[:, :4], rtol=RTOL, atol=0)
            np.testing.assert_allclose(fc.mean()[i][:, 4:], expected[:, 4:], rtol=0, atol=1e-9)
            assert fc.constructed_columns[i] == ("volume", "amount")
        else:
            np.testing.assert_allclose(fc.mean()[i], expected, rtol=RTOL, atol=0)
            assert fc.constructed_columns[i] == ()
