"""The Kronos K-line tokenizer: a causal transformer autoencoder with binary spherical quantisation.

Tensors in, tensors out: normalisation, clipping and calendar features belong to the pipeline.
A bar (6 normalised values) is encoded to a ``s1_bits + s2_bits`` dimensional latent, L2-normalised, and each
dimension becomes ±1 by its sign (0 -> -1), scaled by ``1/sqrt(codebook_dim)``. Bits are read least
significant first; the first ``s1_bits`` give the coarse id, the rest the fine id.

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
Zhao et al., "Image and Video Tokenization with Binary Spherical Quantization", arXiv 2406.07548.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import KronosTokenizerConfig
from .kv_cache import KVCache
from .modules import TransformerBlock, run_blocks


class BinarySphericalQuantizer(nn.Module):
    """Sign quantiser with the soft-entropy regulariser of BSQ (analytical per-sample entropy)."""

    def __init__(self, embed_dim, beta, gamma0, gamma, zeta, group_size, codebook_entropy_group=1):
        super().__init__()
        self.embed_dim = embed_dim
        self.beta, self.gamma0, self.gamma, self.zeta = beta, gamma0, gamma, zeta
        self.group_size = group_size
        self.codebook_entropy_group = codebook_entropy_group
        # Saved by the reference as buffers; recomputed here (non-persistent) so they may be absent.
        self.register_buffer("basis", 2 ** torch.arange(embed_dim - 1, -1, -1), persistent=False)
        self.register_buffer("group_basis", 2 ** torch.arange(group_size - 1, -1, -1), persistent=False)

    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        zhat = torch.where(z > 0, torch.ones_like(z), -torch.ones_like(z))
        return z + (zhat - z).detach()  # straight-through estimator

    @staticmethod
    def _entropy(probs: torch.Tensor) -> torch.Tensor:
        return -(probs * torch.log(probs + 1e-8)).sum(dim=-1)

    def group_probs(self, p: torch.Tensor) -> torch.Tensor:
        """Soft probabilities (N, C / g, 2**g) of each group of g consecutive bits taking each of its 2**g codes,
        from each bit's probability p (..., C) of being -1 (the bits of one position taken as independent; their
        batch-average is not, which is what the grouped codebook entropy measures). Code k of a group has bit j at
        -1 where bit j of k is 0: the group's first bit varies fastest."""
        g = self.codebook_entropy_group
        p = p.reshape(-1, self.embed_dim // g, g)
        joint = torch.ones_like(p[..., :1])
        for j in range(g):
            pj = p[..., j : j + 1]
            joint = torch.cat([joint * pj, joint * (1 - pj)], dim=-1)
        return joint

    def forward(self, z: torch.Tensor, collect_loss: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantise an L2-normalised latent (B, T, C). Returns (zq, loss)."""
        q_scale = 1.0 / self.embed_dim**0.5
        zq = self.quantize(z) * q_scale
        if not collect_loss:
            return zq, zq.new_zeros(())
        # Soft entropy, "analytical" per-sample variant: each bit's probability of being -1 is
        # sigmoid(-4 z / sqrt(C)); the codebook entropy is the entropy of those probabilities averaged
        # over all positions (per bit), as in the reference.
        p = torch.sigmoid(-4 * z / self.embed_dim**0.5)
        prob = torch.stack([p, 1 - p], dim=-1)  # (B, T, C, 2)
        per_sample_entropy = self._entropy(prob).sum(dim=-1).mean()
        # (C / g, 2**g); g = 1 is each bit's (p, 1 - p), the reference's per-bit average
        avg_prob = self.group_probs(p).mean(dim=0)
        codebook_entropy = self._entropy(avg_prob).sum()
        entropy_penalty = self.gamma0 * per_sample_entropy - self.gamma * codebook_entropy
        commit_loss = self.beta * torch.mean(((zq.detach() - z) ** 2).sum(dim=-1))
        return zq, commit_loss + self.zeta * entropy_penalty


class BSQuantizer(nn.Module):
    """Wraps the quantiser and converts between bits and (coarse, fine) ids."""

    def __init__(self, s1_bits, s2_bits, beta, gamma0, gamma, zeta, group_size, codebook_entropy_group=1):
        super().__init__()
        self.s1_bits, self.s2_bits = s1_bits, s2_bits
        self.codebook_dim = s1_bits + s2_bits
        self.bsq = BinarySphericalQuantizer(
            self.codebook_dim, beta, gamma0, gamma, zeta, group_size, codebook_entropy_group
        )

    @staticmethod
    def bits_to_indices(bits: torch.Tensor) -> torch.Tensor:
        b = (bits >= 0).long()
        weights = 2 ** torch.arange(b.shape[-1], dtype=torch.long, device=b.device)  # LSB first
        return (b * weights).sum(-1)

    def forward(self, z: torch.Tensor, half: bool = False, collect_loss: bool = True):
        z = F.normalize(z, dim=-1)
        zq, loss = self.bsq(z, collect_loss=collect_loss)
        if half:
            ids = (
                self.bits_to_indices(zq[..., : self.s1_bits]),
                self.bits_to_indices(zq[..., self.s1_bits :]),
            )
        else:
            ids = self.bits_to_indices(zq)
        return loss, zq, ids


class KronosTokenizer(nn.Module):
    """Kronos tokenizer (encoder, BSQ quantiser, decoder). Loads the published checkpoints' keys.

    Parameters
    ----------
    config : KronosTokenizerConfig
        Hyper-parameters, as in the checkpoint's ``config.json``.
    """

    def __init__(self, config: KronosTokenizerConfig):
        super().__init__()
        c = self.config = config
        self.s1_bits, self.s2_bits, self.codebook_dim = c.s1_bits, c.s2_bits, c.codebook_dim
        block = lambda: TransformerBlock(  # noqa: E731
            c.d_model, c.n_heads, c.ff_dim, c.ffn_dropout_p, c.attn_dropout_p, c.resid_dropout_p
        )
        self.embed = nn.Linear(c.d_in, c.d_model)
        self.head = nn.Linear(c.d_model, c.d_in)
        self.encoder = nn.ModuleList([block() for _ in range(c.n_enc_layers - 1)])
        self.decoder = nn.ModuleList([block() for _ in range(c.n_dec_layers - 1)])
        self.quant_embed = nn.Linear(c.d_model, c.codebook_dim)
        self.post_quant_embed_pre = nn.Linear(c.s1_bits, c.d_model)
        self.post_quant_embed = nn.Linear(c.codebook_dim, c.d_model)
        self.tokenizer = BSQuantizer(
            c.s1_bits, c.s2_bits, c.beta, c.gamma0, c.gamma, c.zeta, c.group_size, c.codebook_entropy_group
        )

    def _latent(self, x: torch.Tensor) -> torch.Tensor:
        z = run_blocks(self.encoder, self.embed(x))
        return self.quant_embed(z)

    def forward(self, x: torch.Tensor):
        """Training/reconstruction pass on normalised bars x (B, T, d_in).

        Returns ``((z_pre, z), bsq_loss, quantized, ids)``: z_pre is the reconstruction from the coarse bits
        only, z from all bits.
        """
        bsq_loss, quantized, ids = self.tokenizer(self._latent(x))
        z_pre = self.head(run_blocks(self.decoder, self.post_quant_embed_pre(quantized[..., : self.s1_bits])))
        z = self.head(run_blocks(self.decoder, self.post_quant_embed(quantized)))
        return (z_pre, z), bsq_loss, quantized, ids

    @torch.no_grad()
    def encode(self, x: torch.Tensor, half: bool = True):
        """Token ids of normalised bars x (B, T, d_in): a (coarse, fine) pair of (B, T) if `half`."""
        _, _, ids = self.tokenizer(self._latent(x), half=half, collect_loss=False)
        return ids

    def indices_to_bits(self, ids, half: bool = True) -> torch.Tensor:
        if half:
            n = self.codebook_dim // 2
            mask = 2 ** torch.arange(n, device=ids[0].device, dtype=torch.long)
            bits = torch.cat([(ids[0].unsqueeze(-1) & mask) != 0, (ids[1].unsqueeze(-1) & mask) != 0], dim=-1)
        else:
            mask = 2 ** torch.arange(self.codebook_dim, device=ids.device, dtype=torch.long)
            bits = (ids.unsqueeze(-1) & mask) != 0
        return (bits.float() * 2 - 1) / self.codebook_dim**0.5

    def decode(self, ids, half: bool = True, cache: KVCache | None = None) -> torch.Tensor:
        """Reconstruct normalised bars (B, T, d_in) from ids; with `cache`, prefill or extend incrementally."""
        z = self.post_quant_embed(self.indices_to_bits(ids, half))
        return self.head(run_blocks(self.decoder, z, cache=cache))
