"""A transformers-style facade: a K-line tokenizer and a causal model with ``generate``.

This is the workflow articles about Kronos show: encode a DataFrame of candles into token ids, sample many
continuations with ``generate``, decode them back into OHLCV bars. It is a thin layer over the same functions
`KronosPipeline.forecast` uses (preparation, cached sampling with per-path seed streams, windowed decoding), so
for the same checkpoint, window, settings and seed it returns exactly the pipeline's paths.

Examples
--------
>>> tok = KLineTokenizer.from_pretrained("NeoQuasar/Kronos-Tokenizer-base")  # doctest: +SKIP
>>> model = KronosForCausalLM.from_pretrained("NeoQuasar/Kronos-small")  # doctest: +SKIP
>>> enc = tok(df, return_tensors="pt")  # doctest: +SKIP
>>> out = model.generate(**enc, max_new_tokens=30, num_return_sequences=50, do_sample=True, seed=0)  # doctest: +SKIP
>>> futures = tok.decode(out, enc)  # 50 DataFrames of 30 bars, in price units  # doctest: +SKIP

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from .checkpoints import DEFAULT_MAX_CONTEXT, load_model, load_tokenizer, published_max_context
from .config import SamplingConfig
from .generation import decode_windows, generate_tokens
from .model import Kronos
from .preparation import PreparedContext, path_uniforms, prepare_series
from .preparation import future_stamps as future_stamps_of
from .tokenizer import KronosTokenizer
from .validation import KRONOS_COLUMNS, KronosInputError, check_positive_int

__all__ = ["KLineEncoding", "KLineTokenizer", "KronosForCausalLM"]


class KLineEncoding(dict):
    """What `KLineTokenizer` returns: a dict you can unpack into `KronosForCausalLM.generate`.

    Keys: ``input_ids`` (B, T, 2) int64 (coarse, fine) token ids; ``stamps`` (B, T, 5) calendar features;
    ``timestamps`` the list of the B context indexes (used to infer the future bars' calendar); ``price_centre``
    the normalisation's centre (`generate` checks it against the model's). The attribute
    ``contexts`` keeps each series' normalisation statistics, so decoding restores price units.
    """

    def __init__(self, data: dict, contexts: list[PreparedContext]):
        super().__init__(data)
        self.contexts = contexts

    @property
    def input_ids(self) -> torch.Tensor:
        return self["input_ids"]


class KLineTokenizer:
    """Encode OHLCV DataFrames into Kronos token ids and decode generated ids back into bars.

    Parameters
    ----------
    tokenizer : KronosTokenizer
        The tokenizer module.
    max_context : int, default=512
        The model window; decoding uses the same windows as `KronosPipeline` with this value.
    """

    def __init__(self, tokenizer: KronosTokenizer, max_context: int = DEFAULT_MAX_CONTEXT):
        self.tokenizer = tokenizer.eval()
        self.max_context = check_positive_int(max_context, "max_context")

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, max_context: int | None = None, **kwargs):
        """Load from a checkpoint directory or hub id (kwargs: revision, cache_dir, device); `max_context`
        defaults to the published value (2048 for Kronos-Tokenizer-2k, else 512)."""
        if max_context is None:
            max_context = published_max_context(name_or_path)
        return cls(load_tokenizer(name_or_path, **kwargs), max_context=max_context)

    def __call__(self, context, return_tensors: str = "pt", **kwargs) -> KLineEncoding:
        return self.encode(context, return_tensors=return_tensors, **kwargs)

    @torch.inference_mode()
    def encode(
        self,
        context: pd.DataFrame | Sequence[pd.DataFrame],
        return_tensors: str = "pt",
        column_mapping: dict[str, str] | None = None,
        price_centre: str = "mean",
    ) -> KLineEncoding:
        """Validate, normalise (per series, over its context) and tokenise one frame or equal-length frames.

        `price_centre` is the convention of the model that will continue the tokens (its ``config.price_centre``:
        "mean", the reference's, or "last"); `KronosForCausalLM.generate` refuses an encoding made with another.
        """
        if return_tensors != "pt":
            raise KronosInputError(
                f"`return_tensors` must be 'pt' (PyTorch tensors), got {return_tensors!r}."
            )
        frames = [context] if isinstance(context, pd.DataFrame) else list(context)
        if not frames:
            raise KronosInputError("`context` is an empty list; pass at least one DataFrame.")
        names = ["context"] if len(frames) == 1 else [f"context[{i}]" for i in range(len(frames))]
        ctxs = [
            prepare_series(f, name=n, column_mapping=column_mapping, price_centre=price_centre)
            for f, n in zip(frames, names, strict=True)
        ]
        lengths = {len(c.x) for c in ctxs}
        if len(lengths) > 1:
            raise KronosInputError(
                f"frames have different lengths {sorted(lengths)}; a token batch needs equal lengths. Encode them "
                "separately, or use `KronosPipeline.forecast`, which accepts ragged lists."
            )
        device = next(self.tokenizer.parameters()).device
        x = torch.from_numpy(np.stack([c.x for c in ctxs])).to(device)
        s1, s2 = self.tokenizer.encode(x, half=True)
        return KLineEncoding(
            {
                "input_ids": torch.stack([s1, s2], dim=-1),  # (B, T, 2)
                "stamps": torch.from_numpy(np.stack([c.x_stamp for c in ctxs])).to(device),
                "timestamps": [c.timestamps for c in ctxs],
                "price_centre": price_centre,
            },
            ctxs,
        )

    @torch.inference_mode()
    def decode(
        self, sequences: torch.Tensor, encoding: KLineEncoding, future_timestamps=None
    ) -> list[pd.DataFrame]:
        """Decode generated sequences (N, T + H, 2), as `generate` returns them, into N DataFrames of H bars.

        Rows are series-major (row ``i * R + j`` is continuation j of series i, R = N / B). Bars are in price
        units (each series' own statistics), indexed by the future timestamps (inferred as in the pipeline
        unless given).
        """
        ids = encoding["input_ids"]
        B, T, _ = ids.shape
        N, total, _ = sequences.shape
        if N % B or total <= T:
            raise KronosInputError(
                f"`sequences` shaped {tuple(sequences.shape)} does not continue the encoding's {B} series of "
                f"{T} tokens; pass the output of `generate` for this encoding."
            )
        H, R = total - T, N // B
        ctx = (ids[..., 0], ids[..., 1])
        gen = (sequences[:, T:, 0].to(ids.device), sequences[:, T:, 1].to(ids.device))
        z = decode_windows(self.tokenizer, ctx, gen, T, self.max_context, cached=True).float().cpu().numpy()
        out = []
        for row in range(N):
            c = encoding.contexts[row // R]
            index, _ = future_stamps_of(c.timestamps, len(c.x), H, future_timestamps)
            out.append(
                pd.DataFrame(
                    c.denormalise(z[row], self.tokenizer.config.candle_head),
                    index=index,
                    columns=list(KRONOS_COLUMNS),
                )
            )
        return out


class KronosForCausalLM:
    """The Kronos model with a transformers-style ``generate``.

    Parameters
    ----------
    model : Kronos
        The model module.
    max_context : int, default=512
        Window of tokens the model sees (the same rule as `KronosPipeline`).
    """

    def __init__(self, model: Kronos, max_context: int = DEFAULT_MAX_CONTEXT):
        self.model = model.eval()
        self.max_context = check_positive_int(max_context, "max_context")

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, max_context: int | None = None, **kwargs):
        """Load from a checkpoint directory or hub id; `max_context` defaults to the published value."""
        if max_context is None:
            max_context = published_max_context(name_or_path)
        return cls(load_model(name_or_path, **kwargs), max_context=max_context)

    @torch.inference_mode()
    def generate(
        self,
        input_ids: torch.Tensor,
        stamps: torch.Tensor,
        timestamps: Sequence | None = None,
        max_new_tokens: int = 1,
        num_return_sequences: int | None = None,
        do_sample: bool = True,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        future_stamps: torch.Tensor | None = None,
        max_batch_rows: int = 512,
        sampling: SamplingConfig | dict | None = None,
        price_centre: str | None = None,
    ) -> torch.Tensor:
        """Sample continuations of token sequences.

        Parameters
        ----------
        input_ids : (B, T, 2) coarse and fine token ids (from `KLineTokenizer`).
        stamps : (B, T, 5) calendar features of the context bars.
        timestamps : list of B DatetimeIndex, optional
            Context timestamps, from which the future bars' calendar is inferred (or pass `future_stamps`).
        max_new_tokens : bars to generate.
        num_return_sequences : continuations per series (default 1; ``sampling.num_samples`` when `sampling`
            is given).
        do_sample : False is greedy decoding (``top_k=1``); every returned sequence is then the same.
        temperature, top_k, top_p, seed : as in `KronosPipeline.forecast` (same seed, same paths).
        future_stamps : (B, max_new_tokens, 5), optional
            Calendar features of the future bars.
        sampling : SamplingConfig or dict, optional
            The sampling settings as one value; the keywords above override its fields.
        price_centre : str, optional
            The centre the tokens were normalised at (an encoding carries it); an error if it is not the
            model's ``config.price_centre``.

        Returns
        -------
        torch.Tensor
            (B * num_return_sequences, T + max_new_tokens, 2) int64: prompt followed by the new tokens,
            series-major (row ``i * num_return_sequences + j``).
        """
        H = check_positive_int(max_new_tokens, "max_new_tokens")
        if price_centre is not None and price_centre != self.model.config.price_centre:
            raise KronosInputError(
                f"the tokens were normalised with prices centred at {price_centre!r}, but this model was trained "
                f"with them centred at {self.model.config.price_centre!r}; encode with "
                f"`KLineTokenizer.encode(..., price_centre={self.model.config.price_centre!r})`."
            )
        if sampling is None and num_return_sequences is None:
            num_return_sequences = 1
        if not do_sample:
            top_k = 1
        sampling = SamplingConfig.resolve(
            sampling, num_samples=num_return_sequences, temperature=temperature, top_k=top_k, top_p=top_p
        )
        R = sampling.num_samples
        if input_ids.ndim != 3 or input_ids.shape[-1] != 2:
            raise KronosInputError(f"`input_ids` must be shaped (B, T, 2), found: {tuple(input_ids.shape)}")
        B, T, _ = input_ids.shape
        if future_stamps is None:
            if timestamps is None:
                raise KronosInputError(
                    "`generate` needs `timestamps` (from the encoding) or `future_stamps`."
                )
            futures = [future_stamps_of(ts, T, H)[1] for ts in timestamps]
            future_stamps = torch.from_numpy(np.stack(futures)).to(stamps.device)
        uniforms = path_uniforms(seed, range(B), R, H).to(stamps.device)
        s1, s2 = generate_tokens(
            self.model,
            (input_ids[..., 0], input_ids[..., 1]),
            stamps,
            future_stamps,
            uniforms,
            self.max_context,
            sampling,
            max_batch_rows,
        )  # each (B, R, H)
        new = torch.stack([s1, s2], dim=-1).reshape(B * R, H, 2)
        return torch.cat([input_ids.repeat_interleave(R, dim=0), new], dim=1)
