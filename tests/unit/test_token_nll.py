"""Token-level evaluation: unigram NLL on hand-computed counts, model NLL equal to the training loss."""

from __future__ import annotations

import math

import torch

from kronos_plugins import Kronos, KronosConfig
from kronos_plugins.training.evaluate import model_bar_nll, unigram_bar_nll


def test_unigram_nll_uses_add_one_smoothed_frequencies():
    train_s1 = torch.tensor([[0, 0, 1]])  # counts 2, 1, 0 -> smoothed 3, 2, 1 of 6
    train_s2 = torch.tensor([[2, 2, 2]])  # counts 0, 0, 3 -> smoothed 1, 1, 4 of 6
    s1 = torch.tensor([[9, 0, 2]])  # context 1: the first column is not scored
    s2 = torch.tensor([[9, 1, 2]])
    nll = unigram_bar_nll(train_s1, train_s2, s1, s2, 3, 3, context=1)
    expected = [-math.log(3 / 6) - math.log(1 / 6), -math.log(1 / 6) - math.log(4 / 6)]
    torch.testing.assert_close(nll, torch.tensor([expected], dtype=torch.float64))


def test_model_nll_of_horizon_bars_matches_the_training_cross_entropy():
    torch.manual_seed(0)
    model = Kronos(KronosConfig(s1_bits=3, s2_bits=3, n_layers=1, d_model=24, n_heads=3, ff_dim=32)).eval()
    s1, s2 = torch.randint(0, 8, (2, 10)), torch.randint(0, 8, (2, 10))
    stamps = torch.zeros(2, 10, 5)
    nll = model_bar_nll(model, s1, s2, stamps, context=1)  # every bar after the first
    with torch.no_grad():
        l1, l2 = model(s1[:, :-1], s2[:, :-1], stamps[:, :-1], use_teacher_forcing=True, s1_targets=s1[:, 1:])
        _, ce1, ce2 = model.head.compute_loss(l1, l2, s1[:, 1:], s2[:, 1:])
    assert nll.shape == (2, 9)
    torch.testing.assert_close(nll.mean(), ce1 + ce2)
    # scoring only the last 3 bars (context 7) keeps the same per-bar values
    torch.testing.assert_close(model_bar_nll(model, s1, s2, stamps, context=7), nll[:, 6:])
