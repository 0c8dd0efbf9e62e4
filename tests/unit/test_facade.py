"""The transformers-style facade agrees with KronosPipeline.forecast, and its docs page runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from kronos_plugins import KronosInputError
from kronos_plugins.facade import KLineTokenizer, KronosForCausalLM

from ..conftest import REFERENCE

CKPT = REFERENCE / "tiny-learnte"
DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "transformers-workflow.md"


@pytest.fixture(scope="module")
def facade():
    return KLineTokenizer.from_pretrained(
        CKPT / "tokenizer", max_context=128
    ), KronosForCausalLM.from_pretrained(CKPT / "model", max_context=128)


def _frames(ohlcv_input, *starts, n=60):
    return [ohlcv_input.iloc[s : s + n].set_index("timestamps") for s in starts]


@pytest.mark.parametrize("settings", [dict(do_sample=False), dict(temperature=0.8, top_p=0.9, seed=3)])
def test_generate_and_decode_reproduce_the_pipeline(facade, tiny_pipeline, ohlcv_input, settings):
    tok, model = facade
    frames = _frames(ohlcv_input, 0, 100)
    enc = tok(frames, return_tensors="pt")
    R = 1 if not settings.get("do_sample", True) else 4
    out = model.generate(**enc, max_new_tokens=6, num_return_sequences=R, **settings)
    assert out.shape == (2 * R, 66, 2) and out.dtype == torch.int64
    assert torch.equal(out[:, :60], enc["input_ids"].repeat_interleave(R, dim=0))  # the prompt comes first
    bars = tok.decode(out, enc)
    kw = (
        dict(top_k=1, seed=0)
        if not settings.get("do_sample", True)
        else dict(temperature=0.8, top_p=0.9, seed=3)
    )
    fc = tiny_pipeline.forecast(frames, horizon=6, num_samples=R, **kw)
    for i in range(2):
        for j in range(R):
            np.testing.assert_allclose(bars[i * R + j].to_numpy(), fc.samples[i, j], rtol=1e-6)
            assert list(bars[i * R + j].index) == list(fc.timestamps[i])


def test_greedy_sequences_are_identical_and_sampled_ones_differ(facade, ohlcv_input):
    tok, model = facade
    enc = tok(_frames(ohlcv_input, 0)[0])
    greedy = model.generate(**enc, max_new_tokens=4, num_return_sequences=3, do_sample=False)
    assert torch.equal(greedy[0], greedy[1]) and torch.equal(greedy[1], greedy[2])
    sampled = model.generate(**enc, max_new_tokens=4, num_return_sequences=3, seed=0)
    assert not torch.equal(sampled[0], sampled[1])


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda tok, model, enc, frames: tok(frames[:1], return_tensors="np"), "return_tensors"),
        (lambda tok, model, enc, frames: tok([frames[0], frames[1].iloc[:30]]), "different lengths"),
        (
            lambda tok, model, enc, frames: model.generate(enc["input_ids"], enc["stamps"], max_new_tokens=2),
            "timestamps",
        ),
        (lambda tok, model, enc, frames: model.generate(**enc, max_new_tokens=0), "max_new_tokens"),
        (lambda tok, model, enc, frames: tok.decode(enc["input_ids"], enc), "does not continue"),
    ],
)
def test_when_facade_input_is_invalid_then_error_names_it(facade, ohlcv_input, call, match):
    tok, model = facade
    frames = _frames(ohlcv_input, 0, 100)
    enc = tok(frames[0])
    with pytest.raises(KronosInputError, match=match):
        call(tok, model, enc, frames)


def test_docs_page_runs_on_the_tiny_checkpoint(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOCS_PAGE.read_text(), flags=re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    exec(blocks[0], namespace)  # defines MODEL, TOKENIZER, MAX_CONTEXT
    namespace.update(MODEL=str(CKPT / "model"), TOKENIZER=str(CKPT / "tokenizer"), MAX_CONTEXT=128)
    for block in blocks[1:]:
        exec(block, namespace)
    assert len(namespace["futures"]) == 50 and namespace["futures"][0].shape == (30, 6)
    assert namespace["pnl"].shape == (50,) and np.isfinite(namespace["pnl"]).all()
    assert "P&L over 30 bars" in capsys.readouterr().out
