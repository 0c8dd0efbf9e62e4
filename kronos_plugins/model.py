"""The Kronos decoder-only transformer: next (coarse, fine) token logits, nothing else.

No sampling, pandas or normalisation here (see `kronos_plugins.sampling` and `kronos_plugins.pipeline`).
Module and parameter names follow the reference so the published checkpoints load strictly.

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import KronosConfig
from .kv_cache import KVCache
from .modules import (
    RMSNorm,
    RotaryEmbedding,
    TransformerBlock,
    attend_prefix_suffix,
    run_blocks,
)

N_TIME_FEATURES = 5  # minute, hour, weekday, day, month


class HierarchicalEmbedding(nn.Module):
    """Embeds a (coarse, fine) token pair: both sub-embeddings scaled by sqrt(d_model), concatenated, projected."""

    def __init__(self, s1_bits: int, s2_bits: int, d_model: int):
        super().__init__()
        self.d_model = d_model
        self.emb_s1 = nn.Embedding(2**s1_bits, d_model)
        self.emb_s2 = nn.Embedding(2**s2_bits, d_model)
        self.fusion_proj = nn.Linear(2 * d_model, d_model)

    def forward(self, s1_ids: torch.Tensor, s2_ids: torch.Tensor) -> torch.Tensor:
        scale = math.sqrt(self.d_model)
        return self.fusion_proj(torch.cat([self.emb_s1(s1_ids) * scale, self.emb_s2(s2_ids) * scale], dim=-1))


class FixedEmbedding(nn.Module):
    """Frozen sinusoidal table (used when ``learn_te`` is False); the weights are stored in checkpoints."""

    def __init__(self, c_in: int, d_model: int):
        super().__init__()
        w = torch.zeros(c_in, d_model)
        position = torch.arange(c_in).float().unsqueeze(1)
        div_term = (torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
        w[:, 0::2] = torch.sin(position * div_term)
        w[:, 1::2] = torch.cos(position * div_term)
        self.emb = nn.Embedding(c_in, d_model)
        self.emb.weight = nn.Parameter(w, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.emb(x).detach()


class TemporalEmbedding(nn.Module):
    """Sum of minute, hour, weekday, day and month embeddings; stamps are (B, T, 5) in that order."""

    def __init__(self, d_model: int, learn_te: bool):
        super().__init__()
        Embed = nn.Embedding if learn_te else FixedEmbedding
        self.minute_embed = Embed(60, d_model)
        self.hour_embed = Embed(24, d_model)
        self.weekday_embed = Embed(7, d_model)
        self.day_embed = Embed(32, d_model)
        self.month_embed = Embed(13, d_model)

    def forward(self, stamp: torch.Tensor) -> torch.Tensor:
        x = stamp.long()
        return (
            self.hour_embed(x[..., 1])
            + self.weekday_embed(x[..., 2])
            + self.day_embed(x[..., 3])
            + self.month_embed(x[..., 4])
            + self.minute_embed(x[..., 0])
        )


class MultiHeadCrossAttentionWithRoPE(nn.Module):
    """Cross-attention of the coarse-token query over the transformer's hidden states.

    As in the reference, rotary positions come from the query length: at inference the query has one position,
    so the rotation is the identity for queries and keys, and the attention is not causal. In training the
    query spans the sequence: rotary positions are applied and the attention is causal.
    """

    def __init__(
        self, d_model: int, n_heads: int = 4, attn_dropout_p: float = 0.0, resid_dropout_p: float = 0.0
    ):
        super().__init__()
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
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

    def keys_values(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._heads(self.k_proj(hidden)), self._heads(self.v_proj(hidden))

    def forward(self, query, key, value, key_padding_mask=None, causal: bool | None = None):
        B, Tq, _ = query.shape
        q, k, v = (
            self._heads(self.q_proj(query)),
            self._heads(self.k_proj(key)),
            self._heads(self.v_proj(value)),
        )
        cos, sin = self.rotary.cos_sin(torch.arange(Tq, device=q.device), q.dtype)
        q, k = self.rotary.rotate(q, cos, sin), self.rotary.rotate(k, cos, sin)
        attn_mask = None
        if key_padding_mask is not None:
            attn_mask = key_padding_mask[:, None, None, :].expand(-1, self.n_heads, Tq, -1)
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.attn_dropout_p if self.training else 0.0,
            is_causal=self.training if causal is None else causal,
        )
        return self.resid_dropout(self.out_proj(out.transpose(1, 2).contiguous().view(B, Tq, self.d_model)))

    def forward_cached(self, query: torch.Tensor, cache: KVCache, layer: int) -> torch.Tensor:
        """One-position query (B, 1, C) over all cached hidden states (prefix + suffix), unrotated, non-causal."""
        B = query.shape[0]
        q = self._heads(self.q_proj(query))  # (B, H, 1, D)
        pk, pv, sk, sv = cache.read(layer)
        if sk is None:
            sk = sv = q.new_zeros(B, self.n_heads, 0, self.head_dim)
        out = attend_prefix_suffix(q, pk, pv, sk, sv, causal_start=None)
        return self.out_proj(out.transpose(1, 2).contiguous().view(B, 1, self.d_model))


class DependencyAwareLayer(nn.Module):
    """Conditions the fine-token prediction on the chosen coarse token: RMSNorm(hidden + cross_attn)."""

    def __init__(
        self, d_model: int, n_heads: int = 4, attn_dropout_p: float = 0.0, resid_dropout_p: float = 0.0
    ):
        super().__init__()
        self.cross_attn = MultiHeadCrossAttentionWithRoPE(d_model, n_heads, attn_dropout_p, resid_dropout_p)
        self.norm = RMSNorm(d_model)

    def forward(self, hidden_states, sibling_embed, key_padding_mask=None, causal: bool | None = None):
        attn = self.cross_attn(sibling_embed, hidden_states, hidden_states, key_padding_mask, causal=causal)
        return self.norm(hidden_states + attn)


class DualHead(nn.Module):
    def __init__(self, s1_bits: int, s2_bits: int, d_model: int):
        super().__init__()
        self.vocab_s1, self.vocab_s2 = 2**s1_bits, 2**s2_bits
        self.proj_s1 = nn.Linear(d_model, self.vocab_s1)
        self.proj_s2 = nn.Linear(d_model, self.vocab_s2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj_s1(x)

    def cond_forward(self, x2: torch.Tensor) -> torch.Tensor:
        return self.proj_s2(x2)

    def compute_loss(self, s1_logits, s2_logits, s1_targets, s2_targets, padding_mask=None):
        """Returns (mean of the two cross-entropies, CE coarse, CE fine); padding_mask is 1 where padded."""
        if padding_mask is not None:
            valid = padding_mask == 0
            s1_logits, s2_logits = s1_logits[valid], s2_logits[valid]
            s1_targets, s2_targets = s1_targets[valid], s2_targets[valid]
        ce_s1 = F.cross_entropy(s1_logits.reshape(-1, self.vocab_s1), s1_targets.reshape(-1))
        ce_s2 = F.cross_entropy(s2_logits.reshape(-1, self.vocab_s2), s2_targets.reshape(-1))
        return (ce_s1 + ce_s2) / 2, ce_s1, ce_s2


class Kronos(nn.Module):
    """Kronos autoregressive model over (coarse, fine) token pairs with calendar embeddings.

    Parameters
    ----------
    config : KronosConfig
        Hyper-parameters, as in the checkpoint's ``config.json``.

    References
    ----------
    Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
    """

    def __init__(self, config: KronosConfig):
        super().__init__()
        c = self.config = config
        self.s1_vocab_size = 2**c.s1_bits
        self.token_drop = nn.Dropout(c.token_dropout_p)
        self.embedding = HierarchicalEmbedding(c.s1_bits, c.s2_bits, c.d_model)
        self.time_emb = TemporalEmbedding(c.d_model, c.learn_te)
        self.transformer = nn.ModuleList(
            [
                TransformerBlock(
                    c.d_model, c.n_heads, c.ff_dim, c.ffn_dropout_p, c.attn_dropout_p, c.resid_dropout_p
                )
                for _ in range(c.n_layers)
            ]
        )
        self.norm = RMSNorm(c.d_model)
        self.dep_layer = DependencyAwareLayer(c.d_model)
        self.head = DualHead(c.s1_bits, c.s2_bits, c.d_model)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.xavier_normal_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding) and module.weight.requires_grad:
            nn.init.normal_(module.weight, mean=0.0, std=module.embedding_dim**-0.5)
        elif isinstance(module, RMSNorm):
            nn.init.ones_(module.weight)

    def new_cache(self) -> KVCache:
        """A cache for the transformer stack plus one slot for the dependency layer's keys/values."""
        return KVCache.allocate(self.config.n_layers + 1)

    def decode_s1(self, s1_ids, s2_ids, stamp=None, padding_mask=None, cache: KVCache | None = None):
        """Coarse-token logits (B, T, 2**s1_bits) and final hidden states (B, T, C) for tokens (B, T).

        With a cache, the tokens are new positions after what the cache holds, and the dependency layer's
        keys/values for their hidden states are cached too (its query attends to every hidden state).
        """
        x = self.embedding(s1_ids, s2_ids)
        if stamp is not None:
            x = x + self.time_emb(stamp)
        x = self.token_drop(x)
        x = run_blocks(self.transformer, x, cache=cache, key_padding_mask=padding_mask, advance=False)
        x = self.norm(x)
        if cache is not None:
            cache.write(self.config.n_layers, *self.dep_layer.cross_attn.keys_values(x))
            cache.advance(x.shape[1])
        return self.head(x), x

    def decode_s2(self, context, s1_ids, padding_mask=None, cache: KVCache | None = None):
        """Fine-token logits given the hidden states `context` and the chosen coarse ids (B, 1).

        Without a cache `context` is (B, T, C) and the result (B, T, 2**s2_bits), as in the reference (only the
        last position is meaningful at inference). With a cache `context` is the last hidden state (B, 1, C)
        and the result (B, 1, 2**s2_bits).
        """
        sibling = self.embedding.emb_s1(s1_ids)
        if cache is None:
            return self.head.cond_forward(self.dep_layer(context, sibling, key_padding_mask=padding_mask))
        attn = self.dep_layer.cross_attn.forward_cached(sibling, cache, self.config.n_layers)
        return self.head.cond_forward(self.dep_layer.norm(context + attn))

    def forward(
        self,
        s1_ids,
        s2_ids,
        stamp=None,
        padding_mask=None,
        use_teacher_forcing=False,
        s1_targets=None,
        generator: torch.Generator | None = None,
    ):
        """Training pass: (s1_logits, s2_logits), both (B, T, vocab).

        The fine head is conditioned on `s1_targets` with teacher forcing, else on coarse ids sampled from the
        model's own coarse distribution. The dependency layer's attention is causal here, in train and eval mode.
        """
        s1_logits, x = self.decode_s1(s1_ids, s2_ids, stamp, padding_mask)
        if use_teacher_forcing:
            sibling = self.embedding.emb_s1(s1_targets)
        else:
            probs = F.softmax(s1_logits.detach(), dim=-1)
            sampled = torch.multinomial(probs.view(-1, self.s1_vocab_size), 1, generator=generator)
            sibling = self.embedding.emb_s1(sampled.view(s1_ids.shape))
        # Always causal: the reference uses causal attention only in train mode, which lets an eval-mode
        # teacher-forced pass see future hidden states. Train mode (the conformance case) is identical.
        x2 = self.dep_layer(x, sibling, key_padding_mask=padding_mask, causal=True)
        return s1_logits, self.head.cond_forward(x2)
