"""Autoregressive generation of Kronos token paths, fast (cached) and reference (uncached).

`generate_tokens` is the generation loop: context token ids in, sampled token ids (G, S, H) out.
`generate_cached` wraps it (encode, loop, decode) and, like the uncached reference `generate_reference`,
takes normalised, clipped bars of a group of G series that share one context length Tc and returns normalised
bars of every sample path, shaped (G, S, H, 6). Randomness comes in as uniforms
(G, S, H, 2) (coarse and fine draw of each step), so a path depends only on its uniforms, not on batching.

Window semantics (both functions, identical to the reference): the step that predicts the token at absolute
position ``p = Tc + i`` sees the window of the last ``max_context`` tokens, positions ``[max(0, p - M), p)``,
with rotary positions counted from the window start. Finally each generated bar is decoded by the tokenizer
from a window of at most ``M`` tokens: the last ``M`` tokens when ``H <= M`` (the reference's single pass),
and consecutive windows ending at ``Tc + H``, ``Tc + H - M``, ... for longer horizons (the reference fails there).

Fast path (`generate_tokens`, then `decode_windows`):

- the context is tokenised once per series and prefilled once per series; its keys/values (the prefix) are
  shared by all samples without copying (see `kronos_plugins.kv_cache`);
- each step feeds one new token per row and attends over prefix + own suffix;
- when the window slides (``p > M``) the reference recomputes the whole window from position 0. We do the same,
  exactly, but cheaper: the context part of the window is re-prefilled once per *series* and only the generated
  part is recomputed per row. (Rolling the cache instead would not be exact: dropping the oldest token changes
  every later hidden state.)
- the tokenizer's causal decoder is prefilled with the context part of the final window once per series and
  then run over the generated tokens of each row only;
- samples are processed in chunks of at most `max_batch_rows` rows so memory stays bounded.
"""

from __future__ import annotations

import torch

from .config import SamplingConfig
from .kv_cache import KVCache
from .model import Kronos
from .sampling import sample_tokens
from .tokenizer import KronosTokenizer


def _rows(t: torch.Tensor, r: int) -> torch.Tensor:
    """Repeat each series' entry r times along dim 0 (series-major rows)."""
    return t.repeat_interleave(r, dim=0)


def decode_windows(tokenizer: KronosTokenizer, ctx, gen, Tc: int, M: int, cached: bool) -> torch.Tensor:
    """Decode generated tokens gen (B, H) to bars (B, H, d_in), each from a window of at most M tokens.

    ctx: (coarse, fine) context ids (G, Tc); gen: (coarse, fine) generated ids (B, H), B = G * R.
    """
    gen_s1, gen_s2 = gen
    B, H = gen_s1.shape
    G = ctx[0].shape[0]
    R = B // G
    out = None
    end = Tc + H
    while end > Tc:
        ws = max(0, end - M)
        g0, g1 = max(ws, Tc) - Tc, end - Tc  # generated rows decoded from this window
        if cached:
            cache = KVCache.allocate(len(tokenizer.decoder))
            if ws < Tc:
                tokenizer.decode((ctx[0][:, ws:], ctx[1][:, ws:]), cache=cache)  # prefix, once per series
            cache.start_decoding(R, max_new=g1 - g0)
            z = tokenizer.decode((gen_s1[:, g0:g1], gen_s2[:, g0:g1]), cache=cache)
        else:
            s1 = torch.cat([_rows(ctx[0][:, ws:], R), gen_s1[:, :g1]], dim=1) if ws < Tc else gen_s1[:, g0:g1]
            s2 = torch.cat([_rows(ctx[1][:, ws:], R), gen_s2[:, :g1]], dim=1) if ws < Tc else gen_s2[:, g0:g1]
            z = tokenizer.decode((s1, s2))[:, -(g1 - g0) :]
        if out is None:
            out = z.new_empty(B, H, z.shape[-1])
        out[:, g0:g1] = z
        end = ws
    return out


@torch.inference_mode()
def reconstruct_last_bar(tokenizer: KronosTokenizer, x: torch.Tensor, max_context: int) -> torch.Tensor:
    """The tokenizer's round trip of each context's last bar: normalised bars (G, d_in) (raw decoder outputs,
    as `generate_cached` returns them).

    `x` (G, Tc, d_in) is encoded as `generate_cached` encodes it, and the last ``min(Tc, max_context)`` context
    tokens are decoded: the window the first generated bar is decoded in, so the result is where the tokens
    put the origin. Its distance to the true last bar is the quantisation error that forecast anchoring
    (`KronosPipeline.forecast`'s ``anchor``) removes from the paths.
    """
    s1, s2 = tokenizer.encode(x, half=True)
    w = min(x.shape[1], max_context)
    return tokenizer.decode((s1[:, -w:], s2[:, -w:]))[:, -1]


@torch.inference_mode()
def generate_tokens(
    model: Kronos,
    ctx_ids: tuple[torch.Tensor, torch.Tensor],
    x_stamp: torch.Tensor,
    y_stamp: torch.Tensor,
    uniforms: torch.Tensor,
    max_context: int,
    sampling: SamplingConfig | None = None,
    max_batch_rows: int = 512,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample token paths for G series of equal context length with the KV cache: the generation loop.

    Parameters
    ----------
    ctx_ids : the context's (coarse, fine) token ids, each (G, Tc).
    x_stamp, y_stamp : (G, Tc, 5) and (G, H, 5) calendar features of the context and of the horizon.
    uniforms : (G, S, H, 2) uniforms in [0, 1) driving the coarse and fine draws of each sample and step (they
        set S and H; ``sampling.num_samples`` is not read).
    max_context : the model's window M.
    sampling : temperature, top_k, top_p and min_p (default: `SamplingConfig()`).
    max_batch_rows : upper bound on rows (series x samples) run together; samples are chunked to respect it.

    Returns
    -------
    (coarse, fine) : the generated token ids, each (G, S, H) int64.
    """
    sampling = SamplingConfig() if sampling is None else sampling
    T, top_k, top_p, min_p = sampling.temperature, sampling.top_k, sampling.top_p, sampling.min_p
    ctx = ctx_ids
    G, Tc = ctx[0].shape
    _, S, H, _ = uniforms.shape
    M = max_context
    R = _rows_per_chunk(G, S, max_batch_rows)
    full_stamp = torch.cat([x_stamp, y_stamp], dim=1)  # (G, Tc + H, 5)
    tokens = (ctx[0].new_empty(G, S, H), ctx[1].new_empty(G, S, H))
    for a in range(0, S, R):
        r = min(R, S - a)
        u = uniforms[:, a : a + r].reshape(G * r, H, 2)  # rows are series-major
        gen_s1 = ctx[0].new_zeros(G * r, H)
        gen_s2 = ctx[1].new_zeros(G * r, H)
        row_stamp = _rows(full_stamp, r)  # (B, Tc + H, 5)
        cache = model.new_cache()
        prev_ws = None
        for i in range(H):
            p = Tc + i  # absolute position of the token predicted now
            ws = max(0, p - M)
            if ws != prev_ws:
                # (Re)build the window: prefix = context part (per series), then generated part (per row).
                cache.reset()
                if ws < Tc:
                    logits, hidden = model.decode_s1(
                        ctx[0][:, ws:], ctx[1][:, ws:], full_stamp[:, ws:Tc], cache=cache
                    )
                    cache.start_decoding(r, max_new=H)
                    if i == 0:
                        logits, hidden = _rows(logits[:, -1:], r), _rows(hidden[:, -1:], r)
                    else:
                        logits, hidden = model.decode_s1(
                            gen_s1[:, :i], gen_s2[:, :i], row_stamp[:, Tc:p], cache=cache
                        )
                else:
                    cache.start_decoding(r, max_new=H)
                    g0 = ws - Tc
                    logits, hidden = model.decode_s1(
                        gen_s1[:, g0:i], gen_s2[:, g0:i], row_stamp[:, ws:p], cache=cache
                    )
                prev_ws = ws
            else:
                logits, hidden = model.decode_s1(
                    gen_s1[:, i - 1 : i], gen_s2[:, i - 1 : i], row_stamp[:, p - 1 : p], cache=cache
                )
            s1 = sample_tokens(logits[:, -1], u[:, i, 0], T, top_k, top_p, min_p)
            s2_logits = model.decode_s2(hidden[:, -1:], s1[:, None], cache=cache)[:, -1]
            s2 = sample_tokens(s2_logits, u[:, i, 1], T, top_k, top_p, min_p)
            gen_s1[:, i], gen_s2[:, i] = s1, s2
        tokens[0][:, a : a + r], tokens[1][:, a : a + r] = gen_s1.view(G, r, H), gen_s2.view(G, r, H)
    return tokens


@torch.inference_mode()
def generate_cached(
    model: Kronos,
    tokenizer: KronosTokenizer,
    x: torch.Tensor,
    x_stamp: torch.Tensor,
    y_stamp: torch.Tensor,
    uniforms: torch.Tensor,
    max_context: int,
    sampling: SamplingConfig | None = None,
    max_batch_rows: int = 512,
) -> torch.Tensor:
    """Sample paths of normalised bars: encode the context, `generate_tokens`, decode (`decode_windows`).

    Same arguments as `generate_tokens`, with the normalised, clipped context bars `x` (G, Tc, d_in) in place
    of their token ids. Returns normalised bars (G, S, H, d_in); the rows are decoded in the chunks of
    `generate_tokens` (at most `max_batch_rows` rows at a time).
    """
    ctx = tokenizer.encode(x, half=True)  # ((G, Tc), (G, Tc))
    s1, s2 = generate_tokens(model, ctx, x_stamp, y_stamp, uniforms, max_context, sampling, max_batch_rows)
    G, S, H = s1.shape
    Tc = ctx[0].shape[1]
    R = _rows_per_chunk(G, S, max_batch_rows)
    out = x_stamp.new_empty(G, S, H, tokenizer.config.d_in)
    for a in range(0, S, R):
        r = min(R, S - a)
        gen = (s1[:, a : a + r].reshape(G * r, H), s2[:, a : a + r].reshape(G * r, H))
        out[:, a : a + r] = decode_windows(tokenizer, ctx, gen, Tc, max_context, cached=True).view(
            G, r, H, -1
        )
    return out


def _rows_per_chunk(G: int, S: int, max_batch_rows: int) -> int:
    """Samples per series in one chunk of at most `max_batch_rows` rows (at least one)."""
    return max(1, min(S, max_batch_rows // G))


@torch.inference_mode()
def generate_reference(
    model: Kronos,
    tokenizer: KronosTokenizer,
    x: torch.Tensor,
    x_stamp: torch.Tensor,
    y_stamp: torch.Tensor,
    uniforms: torch.Tensor,
    max_context: int,
    sampling: SamplingConfig | None = None,
) -> torch.Tensor:
    """The uncached algorithm of the public implementation, for parity tests and the speed benchmark.

    Every sample is a separate row from the start (the context is repeated S times and tokenised per row), and
    every step recomputes the whole window. Same arguments and result as `generate_cached`.
    """
    sampling = SamplingConfig() if sampling is None else sampling
    T, top_k, top_p, min_p = sampling.temperature, sampling.top_k, sampling.top_p, sampling.min_p
    G, Tc, _ = x.shape
    _, S, H, _ = uniforms.shape
    M = max_context
    B = G * S
    xr = _rows(x, S)
    ctx_rows = tokenizer.encode(xr, half=True)  # (B, Tc) each
    full_stamp = _rows(torch.cat([x_stamp, y_stamp], dim=1), S)
    u = uniforms.reshape(B, H, 2)
    seq_s1 = torch.cat([ctx_rows[0], ctx_rows[0].new_zeros(B, H)], dim=1)
    seq_s2 = torch.cat([ctx_rows[1], ctx_rows[1].new_zeros(B, H)], dim=1)
    for i in range(H):
        p = Tc + i
        ws = max(0, p - M)
        logits, hidden = model.decode_s1(seq_s1[:, ws:p], seq_s2[:, ws:p], full_stamp[:, ws:p])
        s1 = sample_tokens(logits[:, -1], u[:, i, 0], T, top_k, top_p, min_p)
        s2_logits = model.decode_s2(hidden, s1[:, None])[:, -1]
        s2 = sample_tokens(s2_logits, u[:, i, 1], T, top_k, top_p, min_p)
        seq_s1[:, p], seq_s2[:, p] = s1, s2
    ctx = (ctx_rows[0][::S], ctx_rows[1][::S])
    z = decode_windows(tokenizer, ctx, (seq_s1[:, Tc:], seq_s2[:, Tc:]), Tc, M, cached=False)
    return z.view(G, S, H, -1)
