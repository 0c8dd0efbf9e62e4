"""The cached generator against the uncached reference algorithm, and the sampler against its distribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from kronos_plugins import Kronos, KronosConfig, KronosTokenizer, KronosTokenizerConfig
from kronos_plugins.config import SamplingConfig
from kronos_plugins.generation import generate_cached, generate_reference, generate_tokens


def _tiny(seed=0, learn_te=True):
    """Odd sizes (d_model 24, 3 heads) make shape bugs fail loudly."""
    torch.manual_seed(seed)
    tok = KronosTokenizer(
        KronosTokenizerConfig(
            d_model=24, n_heads=3, ff_dim=40, n_enc_layers=3, n_dec_layers=3, s1_bits=4, s2_bits=4
        )
    ).eval()
    model = Kronos(
        KronosConfig(s1_bits=4, s2_bits=4, n_layers=3, d_model=24, n_heads=3, ff_dim=40, learn_te=learn_te)
    ).eval()
    with torch.no_grad():  # spread the logits so that sampling is far from uniform
        model.head.proj_s1.weight.mul_(4)
        model.head.proj_s2.weight.mul_(4)
    return model, tok


def _inputs(G, Tc, H, S, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(G, Tc, 6, generator=g).clamp(-5, 5)
    stamp = torch.stack(
        [torch.randint(0, n, (G, Tc + H), generator=g) for n in (60, 24, 7, 32, 13)], dim=-1
    ).float()
    u = torch.rand(G, S, H, 2, generator=g, dtype=torch.float64)
    return x, stamp[:, :Tc], stamp[:, Tc:], u


@pytest.mark.parametrize(
    "G,Tc,H,S,M,rows",
    [
        (1, 20, 6, 3, 64, 512),  # window never slides
        (2, 20, 10, 3, 24, 4),  # slides mid-way; chunked (4 rows per call)
        (1, 30, 5, 2, 16, 512),  # context longer than the window: slides from the first step
        (
            2,
            6,
            40,
            2,
            16,
            512,
        ),  # horizon longer than the window: generated-only windows, several decode windows
    ],
)
def test_cached_generation_equals_uncached_reference_algorithm(G, Tc, H, S, M, rows):
    model, tok = _tiny()
    x, xs, ys, u = _inputs(G, Tc, H, S)
    fast = generate_cached(model, tok, x, xs, ys, u, M, max_batch_rows=rows)
    s1, s2 = generate_tokens(model, tok.encode(x, half=True), xs, ys, u, M, max_batch_rows=rows)
    slow = generate_reference(model, tok, x, xs, ys, u, M)
    assert fast.shape == (G, S, H, 6)
    torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-4)
    # the paths really are different samples (the test would be vacuous if every path were the same)
    assert len({tuple(row.tolist()) for row in s1.reshape(G * S, H)}) > 1


def test_paths_do_not_depend_on_chunking():
    model, tok = _tiny()
    x, xs, ys, u = _inputs(2, 12, 7, 5)
    a = generate_cached(model, tok, x, xs, ys, u, 64, max_batch_rows=1000)
    b = generate_cached(model, tok, x, xs, ys, u, 64, max_batch_rows=3)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def _expected_probs(logits: np.ndarray, T: float, top_k: int, top_p: float, min_p: float = 0.0) -> np.ndarray:
    """Independent numpy statement of the reference's rule: logits/T, then top-k if k > 0 else top-p; then
    min-p: drop what the filtered distribution gives less than min_p times its largest probability."""
    z = logits / T
    keep = np.ones_like(z, dtype=bool)
    order = np.argsort(-z, kind="stable")
    if top_k > 0:
        keep[:] = z >= np.sort(z)[-top_k]
    elif top_p < 1:
        p = np.exp(z - z.max())
        p /= p.sum()
        cum = np.cumsum(p[order])
        n_keep = int(np.searchsorted(cum, top_p, side="right")) + 1  # include the token crossing top_p
        keep[:] = False
        keep[order[: min(n_keep, len(z))]] = True
    p = np.where(keep, np.exp(z - z.max()), 0.0)
    p /= p.sum()
    p[p < min_p * p.max()] = 0.0
    return p / p.sum()


@pytest.mark.parametrize(
    "T,top_k,top_p,min_p",
    [
        (1.0, 0, 1.0, 0.0),
        (0.7, 0, 1.0, 0.0),
        (1.5, 5, 1.0, 0.0),
        (1.0, 0, 0.8, 0.0),
        (1.0, 0, 1.0, 0.1),
        (1.3, 0, 0.95, 0.12),
    ],
)
def test_first_step_coarse_token_frequencies_match_filtered_softmax(T, top_k, top_p, min_p):
    model, tok = _tiny()
    x, xs, ys, _ = _inputs(1, 16, 1, 1)
    n = 6000
    u = torch.rand(1, n, 1, 2, generator=torch.Generator().manual_seed(123), dtype=torch.float64)
    sampling = SamplingConfig(temperature=T, top_k=top_k, top_p=top_p, min_p=min_p)
    s1, _ = generate_tokens(model, tok.encode(x, half=True), xs, ys, u, 64, sampling)
    with torch.no_grad():
        ids = tok.encode(x)
        logits = model.decode_s1(ids[0], ids[1], xs)[0][0, -1].double().numpy()
    expected = _expected_probs(logits, T, top_k, top_p, min_p)
    if min_p > 0:  # the filter must bite here, or this case tests nothing beyond the others
        assert (expected > 0).sum() < (_expected_probs(logits, T, top_k, top_p) > 0).sum()
    counts = np.bincount(s1.reshape(-1).numpy(), minlength=len(expected))
    assert counts[expected == 0].sum() == 0, "a filtered-out token was drawn"
    support = expected > 0
    assert support.sum() >= 3
    # merge rare categories so every expected count is >= 5, then chi-square
    f_exp, f_obs = expected[support] * n, counts[support].astype(float)
    order = np.argsort(f_exp)
    f_exp, f_obs = f_exp[order], f_obs[order]
    while f_exp[0] < 5:
        f_exp[1] += f_exp[0]
        f_obs[1] += f_obs[0]
        f_exp, f_obs = f_exp[1:], f_obs[1:]
    p_value = stats.chisquare(f_obs, f_exp).pvalue
    assert p_value > 0.001, f"frequencies differ from the filtered softmax (p={p_value:.2g})"
