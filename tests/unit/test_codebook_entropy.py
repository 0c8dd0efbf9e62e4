"""The quantiser's grouped codebook entropy (issue 15, tokenizer close error): a training-only option that also
penalises bits which move together, saved only when set, on hand-computed cases."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from kronos_plugins.checkpoints import load_tokenizer, save_checkpoint
from kronos_plugins.config import KronosTokenizerConfig
from kronos_plugins.tokenizer import BinarySphericalQuantizer, KronosTokenizer

from ..conftest import REFERENCE


def _quantiser(dim: int, group: int, gamma0: float = 0.0) -> BinarySphericalQuantizer:
    # beta 0 and gamma 1, zeta 1: the loss is gamma0 * per-sample entropy - codebook entropy
    return BinarySphericalQuantizer(
        dim, beta=0.0, gamma0=gamma0, gamma=1.0, zeta=1.0, group_size=4, codebook_entropy_group=group
    )


def test_group_probs_are_products_of_the_bits_and_sum_to_one():
    q = _quantiser(4, 2)
    p = torch.tensor([[0.9, 0.2, 0.5, 1.0]])  # each bit's probability of being -1
    joint = q.group_probs(p)
    assert joint.shape == (1, 2, 4)
    assert torch.allclose(joint.sum(-1), torch.ones(1, 2))
    # group 0: codes of bits (0, 1) in the order (-1,-1), (+1,-1), (-1,+1), (+1,+1) (bit 0 varies fastest)
    assert torch.allclose(joint[0, 0], torch.tensor([0.9 * 0.2, 0.1 * 0.2, 0.9 * 0.8, 0.1 * 0.8]))
    assert torch.allclose(joint[0, 1], torch.tensor([0.5, 0.5, 0.0, 0.0]))  # bit 3 is -1 for sure


def test_grouped_entropy_sees_two_copies_of_one_bit_where_the_per_bit_entropy_does_not():
    # two positions; both bits certain and equal at each: +,+ and -,- (each bit balanced over the batch)
    big = 50.0  # sigmoid(-4 z / sqrt(2)) is 0 or 1 to float precision (z not normalised: only that matters here)
    z = torch.tensor([[[big, big], [-big, -big]]])
    _, per_bit = _quantiser(2, 1)(z)
    _, grouped = _quantiser(2, 2)(z)
    # per bit: each bit's average is (1/2, 1/2), entropy ln 2 each -> -2 ln 2; grouped: two of four codes -> -ln 2
    assert per_bit.item() == pytest.approx(-2 * math.log(2), abs=1e-5)
    assert grouped.item() == pytest.approx(-math.log(2), abs=1e-5)
    # independent bits over four positions: all four codes -> both measures give 2 ln 2
    z4 = torch.tensor([[[big, big], [big, -big], [-big, big], [-big, -big]]])
    assert _quantiser(2, 1)(z4)[1].item() == pytest.approx(-2 * math.log(2), abs=1e-5)
    assert _quantiser(2, 2)(z4)[1].item() == pytest.approx(-2 * math.log(2), abs=1e-5)


def test_grouping_changes_the_loss_but_not_the_tokens():
    torch.manual_seed(0)
    z = torch.nn.functional.normalize(torch.randn(3, 7, 4), dim=-1)
    zq1, l1 = _quantiser(4, 1, gamma0=1.0)(z)
    zq2, l2 = _quantiser(4, 2, gamma0=1.0)(z)
    assert torch.equal(zq1, zq2)
    assert not torch.isclose(l1, l2)


def test_codebook_entropy_group_is_validated_and_saved_only_when_set(tmp_path):
    with pytest.raises(
        ValueError, match="`codebook_entropy_group` must be an integer from 1 to 10 that divides"
    ):
        KronosTokenizerConfig(s1_bits=10, s2_bits=10, codebook_entropy_group=3)
    with pytest.raises(ValueError, match="codebook_entropy_group"):
        KronosTokenizerConfig(codebook_entropy_group=0)
    tok = load_tokenizer(REFERENCE / "tiny-learnte" / "tokenizer")
    # a default config still loads in the reference
    assert "codebook_entropy_group" not in tok.config.to_dict()
    bits = tok.config.s1_bits
    grouped = KronosTokenizer(dataclasses.replace(tok.config, codebook_entropy_group=bits))
    grouped.load_state_dict(tok.state_dict())
    saved = save_checkpoint(grouped, tmp_path / "tok")
    assert json.loads((saved / "config.json").read_text())["codebook_entropy_group"] == bits
    assert load_tokenizer(saved).config.codebook_entropy_group == bits
