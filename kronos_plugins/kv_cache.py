"""An explicit key/value cache for incremental decoding with a shared prefix.

Kronos forecasts draw many sample paths from one context. The context part of every path is identical, so its
keys and values are computed once per series (the *prefix*, shaped ``(G, H, Tp, D)`` for G series) and never
copied per sample; each of the ``B = G * R`` rows (R samples per series, rows ordered series-major) then owns
only the keys and values of the tokens generated after the prefix (the *suffix*, preallocated as
``(B, H, max_new, D)``). Attention of a new token looks at its series' prefix plus its own suffix.

The cache owns its state: attention layers hand it their new keys/values (`KVCache.write`) and read what it
holds (`KVCache.read`); only the cache decides whether a write fills the prefix or extends a suffix, and
where. Its owner moves it through its life cycle: ``prefill`` (writes go to the prefix) ->
`start_decoding` (the prefix is now shared by ``rows_per_group`` rows) -> decoding steps -> `reset` to start
over (when the reference's sliding window moves, see `kronos_plugins.generation`). A stack of layers calls
`advance` once per forward pass, after every layer has written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class LayerCache:
    prefix_k: torch.Tensor | None = None  # (G, H, Tp, D)
    prefix_v: torch.Tensor | None = None  # (G, H, Tp, D)
    suffix_k: torch.Tensor | None = None  # (B, H, max_new, D), filled up to KVCache.suffix_len
    suffix_v: torch.Tensor | None = None


@dataclass
class KVCache:
    """Cache for a stack of `n_layers` attention layers (see the module docstring for its life cycle)."""

    n_layers: int
    layers: list[LayerCache] = field(default_factory=list)
    prefix_len: int = 0  # Tp
    suffix_len: int = 0  # tokens written in the suffix (after `advance`)
    rows_per_group: int = 1  # R
    prefilling: bool = True
    max_new: int = 0  # suffix capacity

    @classmethod
    def allocate(cls, n_layers: int) -> KVCache:
        return cls(n_layers=n_layers, layers=[LayerCache() for _ in range(n_layers)])

    def reset(self) -> None:
        """Forget everything: the next writes prefill again."""
        for layer in self.layers:
            layer.prefix_k = layer.prefix_v = layer.suffix_k = layer.suffix_v = None
        self.prefix_len = self.suffix_len = 0
        self.rows_per_group = 1
        self.max_new = 0
        self.prefilling = True

    def get_seq_length(self) -> int:
        """Positions the cache holds (prefix + suffix): the rotary position of the next token."""
        return self.prefix_len + self.suffix_len

    def start_decoding(self, rows_per_group: int, max_new: int) -> None:
        """End the prefill: every group's prefix is now shared by `rows_per_group` rows, each of which may
        append up to `max_new` tokens."""
        if not self.prefilling:
            raise RuntimeError("KVCache.start_decoding() called twice without reset()")
        self.prefilling = False
        self.rows_per_group = rows_per_group
        self.max_new = max_new

    def write(self, layer: int, k: torch.Tensor, v: torch.Tensor):
        """Store a layer's new keys/values (rows, H, T, D): the prefix while prefilling, else appended to the
        rows' suffixes (at `suffix_len`, not yet advanced). Returns the layer's suffix keys and values filled up
        to and including the new ones (None while prefilling)."""
        lc = self.layers[layer]
        if self.prefilling:
            lc.prefix_k, lc.prefix_v = k, v
            return None, None
        if lc.suffix_k is None:
            B, H, _, D = k.shape
            lc.suffix_k = k.new_empty(B, H, self.max_new, D)
            lc.suffix_v = v.new_empty(B, H, self.max_new, D)
        start, n = self.suffix_len, k.shape[2]
        if start + n > self.max_new:
            raise RuntimeError(
                f"KV cache overflow: {start + n} suffix tokens for a capacity of {self.max_new}"
            )
        lc.suffix_k[:, :, start : start + n] = k
        lc.suffix_v[:, :, start : start + n] = v
        return lc.suffix_k[:, :, : start + n], lc.suffix_v[:, :, : start + n]

    def read(self, layer: int):
        """A layer's (prefix_k, prefix_v, suffix_k, suffix_v), the suffix up to `suffix_len` (None if empty)."""
        lc = self.layers[layer]
        if lc.suffix_k is None:
            return lc.prefix_k, lc.prefix_v, None, None
        n = self.suffix_len
        return lc.prefix_k, lc.prefix_v, lc.suffix_k[:, :, :n], lc.suffix_v[:, :, :n]

    def advance(self, n: int) -> None:
        """Count `n` new positions, once every layer of a forward pass has written them."""
        if self.prefilling:
            self.prefix_len += n
        else:
            self.suffix_len += n
