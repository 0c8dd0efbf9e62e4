"""Pure sampling functions: temperature, top-k / top-p / min-p filtering, and inverse-CDF draws from given uniforms.

Sampling takes its randomness as explicit uniforms (drawn by the caller from a seeded numpy PCG64 stream per
path, see `kronos_plugins.pipeline`), so a path depends only on its own stream, not on how rows are batched or
chunked.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def filter_logits(
    logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0, min_p: float = 0.0
) -> torch.Tensor:
    """Mask logits (B, V) outside the top-k if ``top_k > 0``, otherwise outside the nucleus if ``top_p < 1``;
    then, if ``min_p > 0``, every token whose probability is below ``min_p`` times the largest one.

    The reference's rule: top-k takes precedence and top-p is then not applied. The nucleus keeps the smallest
    set of most probable tokens whose cumulative probability exceeds `top_p` (always at least one token).
    Min-p (not in the reference) compares logits: ``p_i < min_p * p_max`` exactly when
    ``logit_i < logit_max + log(min_p)``; the most likely token always stays.
    """
    if top_k > 0:
        k = min(top_k, logits.size(-1))
        kth = torch.topk(logits, k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    elif top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, descending=True, dim=-1)
        cum = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        remove = cum > top_p
        remove[..., 1:] = remove[..., :-1].clone()  # keep the token that crosses the threshold
        remove[..., 0] = False
        mask = remove.scatter(-1, sorted_idx, remove)
        logits = logits.masked_fill(mask, float("-inf"))
    if min_p > 0.0:
        floor = logits.amax(dim=-1, keepdim=True) + math.log(min_p)
        logits = logits.masked_fill(logits < floor, float("-inf"))
    return logits


def sampling_probs(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, min_p: float = 0.0
) -> torch.Tensor:
    """The distribution tokens are drawn from: softmax(filter(logits / temperature)), shaped like `logits`."""
    return F.softmax(filter_logits(logits.float() / temperature, top_k, top_p, min_p), dim=-1)


def sample_tokens(
    logits: torch.Tensor,
    uniforms: torch.Tensor,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    min_p: float = 0.0,
) -> torch.Tensor:
    """Draw one token per row of `logits` (B, V) by inverting the CDF at `uniforms` (B,) in [0, 1).

    ``top_k=1`` is greedy (the argmax; ties go to the lowest id).
    """
    if top_k == 1:
        return logits.argmax(dim=-1)
    probs = sampling_probs(logits, temperature, top_k, top_p, min_p)
    cdf = torch.cumsum(probs, dim=-1)
    target = (uniforms.to(cdf.dtype) * cdf[:, -1]).unsqueeze(-1)  # scale by the total to absorb rounding
    ids = torch.searchsorted(cdf, target, right=True).squeeze(-1)
    return ids.clamp_(max=logits.shape[-1] - 1)
