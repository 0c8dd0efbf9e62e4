"""Held-out evaluation of a checkpoint at the token level: negative log-likelihood against a unigram baseline.

The model's NLL of a bar is ``-log p(s1) - log p(s2 | s1)`` of its (coarse, fine) token pair, teacher forced on
the preceding tokens of its window. The unigram baseline assigns every bar ``-log u1(s1) - log u2(s2)`` with
token frequencies counted on the pretraining data (add-one smoothing), i.e. what a model that ignores context and
calendar would score with the same tokenizer. Both are measured on the same held-out tokens (the horizon part of
each window; windows are normalised on their context part only, as in training).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..model import Kronos
from ..tokenizer import KronosTokenizer
from .data import Series, WindowDataset


@torch.inference_mode()
def window_tokens(
    tokenizer: KronosTokenizer,
    series: Sequence[Series],
    context: int,
    horizon: int,
    stride: int,
    batch: int = 256,
    price_centre: str = "mean",
):
    """Tokens and stamps of every `stride`-th window: ((N, W) coarse, (N, W) fine, (N, W, 5) stamps, series id).

    `price_centre` is the convention of the model that will read the tokens (its ``config.price_centre``)."""
    ds = WindowDataset(series, context, horizon, price_centre=price_centre)
    idx = np.arange(0, len(ds), max(1, stride))
    s1s, s2s, stamps, owner = [], [], [], []
    for a in range(0, len(idx), batch):
        items = [ds[int(i)] for i in idx[a : a + batch]]
        x = torch.stack([it[0] for it in items])
        s1, s2 = tokenizer.encode(x, half=True)
        s1s.append(s1)
        s2s.append(s2)
        stamps.append(torch.stack([it[1] for it in items]))
        owner += [ds.locate(int(i))[0] for i in idx[a : a + batch]]
    names = [ds.series[k].name for k in owner]
    return torch.cat(s1s), torch.cat(s2s), torch.cat(stamps), names


@torch.inference_mode()
def model_bar_nll(model: Kronos, s1, s2, stamps, context: int, batch: int = 128) -> torch.Tensor:
    """NLL (nats) of each horizon bar's token pair, teacher forced: (N, W - context)."""
    out = []
    for a in range(0, len(s1), batch):
        b1, b2, st = s1[a : a + batch], s2[a : a + batch], stamps[a : a + batch]
        l1, l2 = model(b1[:, :-1], b2[:, :-1], st[:, :-1], use_teacher_forcing=True, s1_targets=b1[:, 1:])
        nll = F.cross_entropy(l1.transpose(1, 2), b1[:, 1:], reduction="none") + F.cross_entropy(
            l2.transpose(1, 2), b2[:, 1:], reduction="none"
        )  # (B, W - 1): position p predicts token p + 1
        out.append(nll[:, context - 1 :])
    return torch.cat(out)


def unigram_bar_nll(train_s1, train_s2, s1, s2, vocab_s1: int, vocab_s2: int, context: int) -> torch.Tensor:
    """NLL (nats) of each horizon bar under add-one-smoothed unigram token frequencies of the training tokens."""
    c1 = torch.bincount(train_s1.reshape(-1), minlength=vocab_s1).double() + 1
    c2 = torch.bincount(train_s2.reshape(-1), minlength=vocab_s2).double() + 1
    lp1, lp2 = (c1 / c1.sum()).log(), (c2 / c2.sum()).log()
    return -(lp1[s1[:, context:]] + lp2[s2[:, context:]])
