"""An explicit key/value cache for incremental decoding with a shared prefix.

Kronos forecasts draw many sample paths from one context. The context part of every path is identical, so its
keys and values are computed once per series (the *prefix*, shaped ``(G, H, Tp, D)`` for G series) and never
copied per sample; each of the ``B = G * R`` rows (R samples per series, rows ordered series-major) then owns
only the keys and values of the tokens generated after the prefix (the *suffix*, preallocated as
``(B, H, max_new, D)``). Attention of a new token looks at its series' prefix plus its own suffix.

One `LayerCache` holds one attention layer; `KVCache` holds the stack plus the position counters.
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
    """Cache for a stack of `n_layers` attention layers.

    Life cycle: ``allocate`` -> ``prefill`` (the model's forward writes each layer's prefix) ->
    ``expand(rows_per_group, max_new)`` -> steps that append to the suffix -> ``reset`` to start over (used
    when the reference's sliding window moves, see `kronos_plugins.generation`).
    """

    n_layers: int
    layers: list[LayerCache] = field(default_factory=list)
    prefix_len: int = 0  # Tp
    suffix_len: int = 0  # tokens written in the suffix
    rows_per_group: int = 1  # R
    prefilling: bool = True

    @classmethod
    def allocate(cls, n_layers: int) -> KVCache:
        return cls(n_layers=n_layers, layers=[LayerCache() for _ in range(n_layers)])

    def reset(self) -> None:
        for layer in self.layers:
            layer.prefix_k = layer.prefix_v = layer.suffix_k = layer.suffix_v = None
        self.prefix_len = self.suffix_len = 0
        self.rows_per_group = 1
        self.prefilling = True

    def get_seq_length(self) -> int:
        return self.prefix_len + self.suffix_len

    def expand(self, rows_per_group: int, max_new: int, n_groups: int | None = None) -> None:
        """End the prefill: every group's prefix is now shared by `rows_per_group` rows.

        ``n_groups`` is needed only when the prefix is empty (no prefix tensors to read it from).
        """
        assert self.prefilling, "expand() called twice without reset()"
        self.prefilling = False
        self.rows_per_group = rows_per_group
        self._max_new = max_new
        self._n_groups = n_groups

    def suffix_buffers(self, layer: int, like: torch.Tensor) -> LayerCache:
        """The layer's cache, allocating the suffix on first use. `like` is (B, H, T, D)."""
        lc = self.layers[layer]
        if lc.suffix_k is None:
            B, H, _, D = like.shape
            lc.suffix_k = like.new_empty(B, H, self._max_new, D)
            lc.suffix_v = like.new_empty(B, H, self._max_new, D)
        return lc

    def advance(self, n: int) -> None:
        if self.prefilling:
            self.prefix_len += n
        else:
            self.suffix_len += n
            assert self.suffix_len <= self._max_new, "KV cache overflow: allocate a larger max_new"
