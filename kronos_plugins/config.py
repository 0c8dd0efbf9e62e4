"""Configuration dataclasses.

`KronosConfig` and `KronosTokenizerConfig` mirror the keys of the published checkpoints' ``config.json``
(the constructor arguments of the reference implementation), so a published config loads unchanged.
`SamplingConfig` holds the settings every adapter exposes under the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .candle_head import check_head


def _from_mapping(cls, data: dict[str, Any], what: str):
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(
            f"{what} config.json has unknown keys {unknown}; known keys are {sorted(names)}. "
            "Is this a Kronos checkpoint of the right kind (model vs tokenizer)?"
        )
    return cls(**data)


@dataclass
class KronosTokenizerConfig:
    d_in: int = 6  # open, high, low, close, volume, amount
    d_model: int = 256  # width of the encoder/decoder transformer
    n_heads: int = 4  # attention heads per block
    ff_dim: int = 512  # SwiGLU hidden width
    n_enc_layers: int = 4  # the reference builds n_enc_layers - 1 encoder blocks
    n_dec_layers: int = 4  # the reference builds n_dec_layers - 1 decoder blocks
    ffn_dropout_p: float = 0.0
    attn_dropout_p: float = 0.0
    resid_dropout_p: float = 0.0
    s1_bits: int = 10  # coarse token bits (vocabulary 2**s1_bits)
    s2_bits: int = 10  # fine token bits; must equal s1_bits (the reference's decode assumes it)
    beta: float = 0.05  # commitment loss weight
    gamma0: float = 1.0  # per-sample entropy weight
    gamma: float = 1.1  # codebook entropy weight
    zeta: float = 0.05  # weight of the entropy penalty
    group_size: int = 4  # sub-code group size of the soft entropy
    # what the decoder's outputs mean (`kronos_plugins.candle_head`): "direct" bars as in the reference, or
    # "wicks": high/low as wicks around open/close, so decoded candles are consistent by construction;
    # "wicks-floor": the same with volume and amount non-negative by construction
    candle_head: str = "direct"
    # training only: bits per group of the quantiser's codebook entropy. 1 (the reference's): the entropy of each
    # bit's batch-average, which a set of correlated bits maximises as well as independent ones; g > 1: the
    # entropy of the joint distribution of each group's 2**g codes, which also penalises dependent bits
    codebook_entropy_group: int = 1

    def __post_init__(self) -> None:
        check_head(self.candle_head)
        g = self.codebook_entropy_group
        if isinstance(g, bool) or not isinstance(g, int) or not 1 <= g <= 10 or self.s1_bits % g:
            raise ValueError(
                f"`codebook_entropy_group` must be an integer from 1 to 10 that divides `s1_bits` {self.s1_bits} "
                f"(groups never straddle the coarse and fine halves), got {g!r}."
            )
        if self.s1_bits != self.s2_bits:
            raise ValueError(
                f"`s1_bits` {self.s1_bits} != `s2_bits` {self.s2_bits}: the Kronos tokenizer decodes (coarse, fine) "
                "ids assuming equal halves, as in every published checkpoint."
            )
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(
                f"`d_model` {self.d_model} must split into `n_heads` {self.n_heads} heads of even width (rotary)."
            )

    @property
    def codebook_dim(self) -> int:
        return self.s1_bits + self.s2_bits

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KronosTokenizerConfig:
        return _from_mapping(cls, data, "tokenizer")

    def to_dict(self) -> dict[str, Any]:
        """The ``config.json`` keys; ``candle_head`` and ``codebook_entropy_group`` only when not the reference's,
        so such a config still loads in the reference implementation."""
        out = asdict(self)
        if out["candle_head"] == "direct":
            del out["candle_head"]
        if out["codebook_entropy_group"] == 1:
            del out["codebook_entropy_group"]
        return out


@dataclass
class KronosConfig:
    s1_bits: int = 10  # coarse vocabulary is 2**s1_bits
    s2_bits: int = 10  # fine vocabulary is 2**s2_bits
    n_layers: int = 8  # decoder-only transformer blocks
    d_model: int = 512
    n_heads: int = 8
    ff_dim: int = 1024
    ffn_dropout_p: float = 0.0
    attn_dropout_p: float = 0.0
    resid_dropout_p: float = 0.0
    token_dropout_p: float = 0.0
    learn_te: bool = True  # learned (True) or fixed sinusoidal (False) calendar embeddings
    # where a context's normalised prices are centred (`kronos_plugins.preparation.PRICE_CENTRES`): "mean", the
    # reference's (the context's mean), or "last" (the context's last close at 0); a convention the model is
    # trained with, so inference must follow it. Not in the reference: written to config.json only when not "mean"
    price_centre: str = "mean"

    def __post_init__(self) -> None:
        from .preparation import check_price_centre

        check_price_centre(self.price_centre)
        for heads in (self.n_heads, 4):  # the s2 dependency layer always has 4 heads
            if self.d_model % heads or (self.d_model // heads) % 2:
                raise ValueError(
                    f"`d_model` {self.d_model} must split into {heads} heads of even width (rotary embeddings)."
                )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KronosConfig:
        return _from_mapping(cls, data, "model")

    def to_dict(self) -> dict[str, Any]:
        """The ``config.json`` keys; ``price_centre`` only when not the reference's, so such a config still loads
        in the reference implementation."""
        out = asdict(self)
        if out["price_centre"] == "mean":
            del out["price_centre"]
        return out


@dataclass(frozen=True)
class SamplingConfig:
    """Sampling settings, one value that travels through the pipeline, the facade, the synthetic futures, the
    command line, the benchmark harness and every adapter (same names, same meaning).

    Logits are divided by `temperature`; then top-k filtering applies if ``top_k > 0``, otherwise nucleus
    (top-p) filtering if ``top_p < 1`` (the reference's rule). ``top_k=1`` is greedy decoding. Then, if
    ``min_p > 0``, every token less likely than ``min_p`` times the most likely one is dropped (min-p
    filtering, not in the reference: it removes the long floor of unlikely tokens that makes rare huge one-bar
    jumps, see `kronos_plugins.sampling.filter_logits`).

    Functions that take ``sampling=`` also take the fields as keyword arguments (sugar): a keyword given
    (not None) replaces that field of `sampling` (see `resolve`).

    Examples
    --------
    >>> calm = SamplingConfig(num_samples=50, temperature=0.8, top_p=0.9)
    >>> SamplingConfig.resolve(calm, num_samples=200)
    SamplingConfig(num_samples=200, temperature=0.8, top_k=0, top_p=0.9, min_p=0.0)
    """

    num_samples: int = 100  # sample paths per series
    temperature: float = 1.0  # > 0
    top_k: int = 0  # 0 disables top-k
    top_p: float = 1.0  # in (0, 1]; 1 disables nucleus filtering
    min_p: float = 0.0  # in [0, 1); 0 disables min-p filtering

    def __post_init__(self) -> None:
        from .validation import check_sampling  # the one place sampling settings are checked

        check_sampling(self.temperature, self.top_k, self.top_p, self.num_samples, self.min_p)

    @classmethod
    def resolve(
        cls,
        sampling: SamplingConfig | Mapping[str, Any] | None = None,
        *,
        num_samples: int | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        min_p: float | None = None,
    ) -> SamplingConfig:
        """`sampling` (None: the defaults; a dict of fields is accepted) with each keyword that is not None
        replacing its field; checked once."""
        if sampling is None:
            sampling = cls()
        elif isinstance(sampling, Mapping):
            from .validation import KronosInputError

            unknown = sorted(set(sampling) - {f.name for f in fields(cls)})
            if unknown:
                raise KronosInputError(
                    f"`sampling` has unknown fields {unknown}; fields are {[f.name for f in fields(cls)]}."
                )
            sampling = cls(**sampling)
        elif not isinstance(sampling, cls):
            from .validation import KronosInputError

            raise KronosInputError(
                f"`sampling` must be a SamplingConfig, a dict of its fields or None, got {type(sampling).__name__}."
            )
        given = {
            k: v
            for k, v in (
                ("num_samples", num_samples),
                ("temperature", temperature),
                ("top_k", top_k),
                ("top_p", top_p),
                ("min_p", min_p),
            )
            if v is not None
        }
        return replace(sampling, **given) if given else sampling

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
