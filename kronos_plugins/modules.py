"""Transformer building blocks shared by the tokenizer and the model.

Attribute names follow the reference implementation (``norm1``, ``self_attn.q_proj``, ``ffn.w1``, ...) so that
published checkpoints load without a key map. Every block runs in two modes:

- ``cache=None``: the reference computation over a whole window (causal self-attention, rotary positions
  0..T-1). Training, conformance and the uncached reference generator use it.
- with a `KVCache`: prefill (writes the per-series prefix) or incremental steps (rows append to their suffix
  and attend to prefix + suffix), with rotary positions continuing after the prefix.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .kv_cache import KVCache


class RMSNorm(nn.Module):
    """RMSNorm computed in float32, eps 1e-5 (the reference's)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        out = xf * torch.rsqrt(torch.mean(xf * xf, dim=-1, keepdim=True) + self.eps)
        return out.type_as(x) * self.weight


class FeedForward(nn.Module):
    """SwiGLU feed-forward without biases."""

    def __init__(self, d_model: int, ff_dim: int, ffn_dropout_p: float = 0.0):
        super().__init__()
        self.w1 = nn.Linear(d_model, ff_dim, bias=False)
        self.w3 = nn.Linear(d_model, ff_dim, bias=False)
        self.w2 = nn.Linear(ff_dim, d_model, bias=False)
        self.ffn_dropout = nn.Dropout(ffn_dropout_p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffn_dropout(self.w2(F.silu(self.w1(x)) * self.w3(x)))


class RotaryEmbedding(nn.Module):
    """Rotary position embedding applied per head to q and k, with explicit positions.

    The reference takes positions ``0..q_len-1`` from the query length; cached decoding passes the absolute
    positions of the new tokens instead. ``inv_freq`` is recomputed, not loaded (it is a pure function of
    the head width), so checkpoints with or without the buffer both load.
    """

    def __init__(self, dim: int):
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def cos_sin(self, positions: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        freqs = torch.outer(positions.to(self.inv_freq.dtype), self.inv_freq)  # (T, D/2)
        emb = torch.cat((freqs, freqs), dim=-1)  # (T, D)
        return emb.cos().to(dtype), emb.sin().to(dtype)

    @staticmethod
    def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=-1)
        return x * cos + torch.cat((-x2, x1), dim=-1) * sin


def attend_prefix_suffix(
    q: torch.Tensor,
    prefix_k: torch.Tensor | None,
    prefix_v: torch.Tensor | None,
    sk: torch.Tensor,
    sv: torch.Tensor,
    causal_start: int | None,
) -> torch.Tensor:
    """Softmax attention of q (B, H, Ts, D) over a group-shared prefix (G, H, Tp, D) and per-row keys sk/sv
    (B, H, S, D). With `causal_start`, query i sits at suffix index causal_start + i and sees only suffix
    indices up to it; the prefix is always visible. Rows are series-major: row b belongs to group b // (B//G).
    """
    B, H, Ts, D = q.shape
    scale = 1.0 / math.sqrt(D)
    scores_s = torch.matmul(q, sk.transpose(-2, -1)) * scale  # (B, H, Ts, S)
    if causal_start is not None and Ts > 1:
        key_idx = torch.arange(sk.shape[2], device=q.device)[None, :]
        query_idx = causal_start + torch.arange(Ts, device=q.device)[:, None]
        scores_s = scores_s.masked_fill(key_idx > query_idx, float("-inf"))
    if prefix_k is None or prefix_k.shape[2] == 0:
        return torch.matmul(torch.softmax(scores_s, dim=-1), sv)
    G, Tp = prefix_k.shape[0], prefix_k.shape[2]
    R = B // G
    # Group the rows of each series so one matmul per (series, head) covers all its samples: the prefix keys are
    # read in place, never broadcast to (G, R, ...) copies.
    qg = q.view(G, R, H, Ts, D).transpose(1, 2).reshape(G, H, R * Ts, D)
    scores_p = torch.matmul(qg, prefix_k.transpose(-2, -1)) * scale  # (G, H, R*Ts, Tp)
    scores_p = scores_p.view(G, H, R, Ts, Tp).transpose(1, 2).reshape(B, H, Ts, Tp)
    probs = torch.softmax(torch.cat([scores_p, scores_s], dim=-1), dim=-1)
    p_p = probs[..., :Tp].reshape(G, R, H, Ts, Tp).transpose(1, 2).reshape(G, H, R * Ts, Tp)
    out_p = torch.matmul(p_p, prefix_v).view(G, H, R, Ts, D).transpose(1, 2).reshape(B, H, Ts, D)
    return out_p + torch.matmul(probs[..., Tp:], sv)


class MultiHeadAttentionWithRoPE(nn.Module):
    """Causal multi-head self-attention with rotary embeddings (biases on all projections)."""

    def __init__(self, d_model: int, n_heads: int, attn_dropout_p: float = 0.0, resid_dropout_p: float = 0.0):
        super().__init__()
        self.d_model = d_model
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.rotary = RotaryEmbedding(self.head_dim)
        self.attn_dropout_p = attn_dropout_p
        self.resid_dropout = nn.Dropout(resid_dropout_p)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)

    def forward(
        self,
        x: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        B, T, _ = x.shape
        q, k, v = self._heads(self.q_proj(x)), self._heads(self.k_proj(x)), self._heads(self.v_proj(x))
        start = 0 if cache is None else cache.get_seq_length()
        cos, sin = self.rotary.cos_sin(torch.arange(start, start + T, device=x.device), q.dtype)
        q, k = self.rotary.rotate(q, cos, sin), self.rotary.rotate(k, cos, sin)
        if cache is None or cache.prefilling:
            attn_mask = None
            if key_padding_mask is not None:
                # the reference passes a boolean mask (True = attend) together with is_causal=True
                attn_mask = key_padding_mask[:, None, None, :].expand(-1, self.n_heads, T, -1)
            out = F.scaled_dot_product_attention(
                q,
                k,
                v,
                attn_mask=attn_mask,
                dropout_p=self.attn_dropout_p if self.training else 0.0,
                is_causal=True,
            )
            if cache is not None:
                cache.write(layer, k, v)  # the prefix
        else:
            sk, sv = cache.write(layer, k, v)  # appended to each row's suffix
            pk, pv, _, _ = cache.read(layer)
            out = attend_prefix_suffix(q, pk, pv, sk, sv, causal_start=cache.suffix_len)
        out = out.transpose(1, 2).contiguous().view(B, T, self.d_model)  # (B, T, C)
        return self.resid_dropout(self.out_proj(out))


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attn(norm1(x)), then x + ffn(norm2(x))."""

    def __init__(self, d_model, n_heads, ff_dim, ffn_dropout_p=0.0, attn_dropout_p=0.0, resid_dropout_p=0.0):
        super().__init__()
        self.norm1 = RMSNorm(d_model)
        self.self_attn = MultiHeadAttentionWithRoPE(d_model, n_heads, attn_dropout_p, resid_dropout_p)
        self.norm2 = RMSNorm(d_model)
        self.ffn = FeedForward(d_model, ff_dim, ffn_dropout_p)

    def forward(self, x, key_padding_mask=None, cache: KVCache | None = None, layer: int = 0):
        x = x + self.self_attn(self.norm1(x), key_padding_mask=key_padding_mask, cache=cache, layer=layer)
        return x + self.ffn(self.norm2(x))


def run_blocks(
    blocks: nn.ModuleList, x: torch.Tensor, cache: KVCache | None = None, key_padding_mask=None, advance=True
):
    """Run a stack of blocks; with a cache, advance it by the number of new positions unless told not to."""
    for i, block in enumerate(blocks):
        x = block(x, key_padding_mask=key_padding_mask, cache=cache, layer=i)
    if cache is not None and advance:
        cache.advance(x.shape[1])
    return x
