"""What the tokenizer's decoder outputs mean: the reference's six bars, or candles consistent by construction.

The published tokenizers decode six normalised numbers per bar, open, high, low, close, volume and amount, each
in its own column's units (`kronos_plugins.preparation.normalise`: per column, ``(v - mean) / (std + eps)``).
Nothing makes the decoded high lie above the decoded open and close, and in practice up to a sixth of decoded
candles are inconsistent (issue 15). That is the ``"direct"`` head, the default, as in the reference.

The ``"wicks"`` head (`KronosTokenizerConfig.candle_head`) reads the decoder's high and low outputs as the
normalised *wicks* instead: with open ``o`` and close ``c`` in price units,

    high = max(o, c) + softplus(z_high) * spread_high,    low = min(o, c) - softplus(z_low) * spread_low,

where ``spread`` is ``(std + eps) * scale``, the price size of one normalised unit of that column. Every decoded
candle then satisfies ``low <= min(open, close) <= max(open, close) <= high``: by construction, not by
repair (`kronos_plugins.candles.widen` is never needed). The tokenizer is trained through the same map
(`wick_bars`, in normalised units, so its reconstruction loss is the reference's), which is why the map needs
the window's statistics: they are an input of the head, as they are of the denormalisation.

The ``"wicks-floor"`` head is the wicks head with volume and amount non-negative by construction as well: with
``v`` the plain denormalised volume (or amount) and ``s`` its spread,

    volume = s * softplus(v / s),

a smooth floor at zero that leaves any volume well above one spread as it was (softplus(u) - u < 0.007 for
u > 5). A decoder trained for the plain map therefore starts close to its optimum under this one, and sampled
paths no longer need `kronos_plugins.synthetic` to repair negative volumes. Both heads read the same decoder
outputs, so a ``"wicks-floor"`` decoder, too, can be fitted to an existing model's tokens.

Two forms of each map: `wick_bars` (torch, normalised units; training and the round trip) and
`wick_prices` (numpy float64, price units; what forecasts return, where the guarantee must hold exactly).
The encoder and the token ids do not depend on the head, so a ``"wicks"`` decoder can be trained for the
tokens of an existing model without retraining the model.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "CANDLE_HEADS",
    "check_head",
    "floor_bars",
    "floor_prices",
    "head_bars",
    "head_prices",
    "wick_bars",
    "wick_prices",
]

#: The decoder output conventions a tokenizer config may name.
CANDLE_HEADS = ("direct", "wicks", "wicks-floor")

_O, _H, _L, _C, _V, _A = 0, 1, 2, 3, 4, 5


def check_head(head: str) -> str:
    if head not in CANDLE_HEADS:
        raise ValueError(f"`candle_head` must be one of {list(CANDLE_HEADS)}, got {head!r}.")
    return head


def head_bars(
    z: torch.Tensor, head: str, mean: torch.Tensor | None, spread: torch.Tensor | None
) -> torch.Tensor:
    """Normalised bars from decoder output `z` (..., T, 6) under candle head `head` (training's form): `z` itself
    for ``"direct"``, else through `wick_bars` (and `floor_bars` for ``"wicks-floor"``), which need the window
    statistics `mean` and `spread` (..., 6)."""
    if check_head(head) == "direct":
        return z
    if mean is None or spread is None:
        raise ValueError(
            f"a {head!r} candle head needs the windows' normalisation statistics (mean and std + eps)."
        )
    bars = wick_bars(z, mean, spread)
    return floor_bars(bars, mean, spread) if head == "wicks-floor" else bars


def head_prices(z: np.ndarray, prices: np.ndarray, spread: np.ndarray, head: str) -> np.ndarray:
    """Price-unit bars under candle head `head` (forecasts' form): `prices` (the plain denormalisation of `z`)
    for ``"direct"``, else through `wick_prices` (and `floor_prices` for ``"wicks-floor"``)."""
    if check_head(head) == "direct":
        return prices
    out = wick_prices(z, prices, spread)
    return floor_prices(out, spread) if head == "wicks-floor" else out


def wick_bars(z: torch.Tensor, mean: torch.Tensor, spread: torch.Tensor) -> torch.Tensor:
    """Normalised bars from a ``"wicks"`` decoder output, in the units the direct head decodes.

    Parameters
    ----------
    z : torch.Tensor
        Decoder output (..., T, 6): open, wick above, wick below, close, volume, amount (open, close, volume and
        amount normalised as usual; the wicks before the softplus).
    mean, spread : torch.Tensor
        The window's normalisation statistics (..., 6): column means and ``std + eps`` (of the scaled bars, as
        `kronos_plugins.preparation.normalise` computes them), broadcast over T.
    """
    mean, spread = mean.unsqueeze(-2), spread.unsqueeze(-2)  # (..., 1, 6)
    o = z[..., _O] * spread[..., _O] + mean[..., _O]
    c = z[..., _C] * spread[..., _C] + mean[..., _C]
    high = (torch.maximum(o, c) - mean[..., _H]) / spread[..., _H] + F.softplus(z[..., _H])
    low = (torch.minimum(o, c) - mean[..., _L]) / spread[..., _L] - F.softplus(z[..., _L])
    return torch.stack([z[..., _O], high, low, *z[..., _C:].unbind(-1)], dim=-1)


def wick_prices(z: np.ndarray, prices: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Price-unit bars from a ``"wicks"`` decoder output (numpy, float64), consistent exactly.

    `prices` is the plain denormalisation of `z` (its open, close, volume and amount columns are kept);
    `spread` (6,) is ``(std + eps) * scale`` per column. ``softplus >= 0`` in float64, so the high is never below
    ``max(open, close)`` nor the low above ``min(open, close)``, whatever the rounding.
    """
    z = np.asarray(z, dtype=np.float64)
    out = np.array(prices, dtype=np.float64, copy=True)
    o, c = out[..., _O], out[..., _C]
    out[..., _H] = np.maximum(o, c) + np.logaddexp(0.0, z[..., _H]) * spread[_H]
    out[..., _L] = np.minimum(o, c) - np.logaddexp(0.0, z[..., _L]) * spread[_L]
    return out


def floor_bars(bars: torch.Tensor, mean: torch.Tensor, spread: torch.Tensor) -> torch.Tensor:
    """`bars` (..., T, 6, normalised) with volume and amount floored at zero volume by ``s * softplus(v / s)``
    (module docstring), in normalised units: ``softplus(x + m / s) - m / s`` for a column with mean ``m``."""
    offset = (mean / spread).unsqueeze(-2)[..., _V:]  # (..., 1, 2): zero volume sits at -offset
    floored = F.softplus(bars[..., _V:] + offset) - offset
    return torch.cat([bars[..., :_V], floored], dim=-1)


def floor_prices(prices: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Price-unit `prices` (..., 6) with volume and amount ``s * softplus(v / s)`` (float64): never negative."""
    out = np.array(prices, dtype=np.float64, copy=True)
    s = np.asarray(spread, dtype=np.float64)[_V:]
    out[..., _V:] = np.logaddexp(0.0, out[..., _V:] / s) * s
    return out
