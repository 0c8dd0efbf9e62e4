"""Raw vs calibrated Kronos intervals on simulated prices whose law is known.

Simulates ``--windows`` independent OHLCV series (a geometric random walk with constant volatility, or a
GARCH(1,1)), forecasts the last ``--horizon`` bars of each from the bars before them, and scores the close
forecasts raw and calibrated by each method: coverage of the central 50/80/95% intervals (pooled over windows
and steps, with a standard error clustered by window) and the mean CRPS.

Forecasters: ``standin`` (a random walk whose volatility is 0.35 times the context's: deliberately too
narrow, like Kronos' reported intervals; fast), ``tiny`` (the tiny random-weight reference checkpoint) and
``bundled`` (the bundled pretrained checkpoint, when installed).

``--process heldout`` replaces the simulation by real bars: ``--windows`` origins spread over the held-out
period of each asset of the fixed split (`kronos_plugins.datasets.load_split`); CRPS is then in percent of the
last context close, so that assets are comparable.

Usage::

    .venv/bin/python benchmarks/calibration/compare.py --forecaster standin --process grw --windows 1000
    .venv/bin/python benchmarks/calibration/compare.py --forecaster bundled --process heldout --windows 10

Prints a table, then one JSON line with every number.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kronos_plugins.calibration import CalibrationConfig, calibrate_samples
from kronos_plugins.crps import crps_ensemble
from kronos_plugins.datasets.processes import garch_filter
from kronos_plugins.quantiles import central_interval

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "kronos-reference" / "tiny-learnte"
LEVELS = (0.5, 0.8, 0.95)


def simulate(process: str, n_series: int, length: int, seed: int, sigma: float = 0.01) -> list[pd.DataFrame]:
    """OHLCV bars: open = previous close, high/low beyond the body by |N(0, (0.3 sigma)^2)| in log terms,
    lognormal volume, amount = volume x mean(OHLC); 5-minute timestamps."""
    rng = np.random.default_rng(seed)
    if process == "grw":
        vol = np.full((n_series, length), sigma)
        z = rng.standard_normal((n_series, length))
    elif process == "garch":  # GARCH(1,1) with unconditional variance sigma^2, 200 bars of burn-in
        a, b = 0.08, 0.90
        z = rng.standard_normal((n_series, length + 200))
        _, var = garch_filter(z, sigma**2 * (1 - a - b), a, b, sigma**2)
        vol, z = np.sqrt(var[:, 200:]), z[:, 200:]
    else:
        raise ValueError(process)
    logc = np.log(100.0) + np.cumsum(vol * z, axis=1)
    close = np.exp(logc)
    open_ = np.exp(np.concatenate([np.full((n_series, 1), np.log(100.0)), logc[:, :-1]], axis=1))
    wick = lambda: np.exp(np.abs(rng.normal(0, 0.3 * sigma, (n_series, length))))  # noqa: E731
    high = np.maximum(open_, close) * wick()
    low = np.minimum(open_, close) / wick()
    volume = np.exp(rng.normal(7.0, 0.5, (n_series, length)))
    amount = volume * (open_ + high + low + close) / 4
    index = pd.date_range("2024-01-02 09:30", periods=length, freq="5min")
    return [
        pd.DataFrame(
            dict(open=open_[i], high=high[i], low=low[i], close=close[i], volume=volume[i], amount=amount[i]),
            index=index,
        )
        for i in range(n_series)
    ]


def heldout(per_asset: int, context: int, horizon: int) -> tuple[list[pd.DataFrame], np.ndarray]:
    """Windows of `context + horizon` real bars, `per_asset` per held-out asset, spread over its period."""
    from kronos_plugins.datasets import load_split

    split = load_split()
    frames = []
    for asset in split.assets("heldout"):
        f = split.slice(asset, "heldout", context_bars=context)
        first, last = f.attrs["context_rows"], len(f) - horizon
        for pos in np.linspace(max(first, context), last, per_asset).astype(int):
            frames.append(f.iloc[pos - context : pos + horizon])
    return frames, np.array([f["close"].iloc[context - 1] for f in frames])


def standin(num_samples: int, seed: int, narrow: float = 0.35, window: int = 64):
    """A too-narrow random-walk forecaster with the `forecast_fn` signature of `calibrate_samples`."""

    def forecast_fn(frames, horizon, future, offset):
        out = np.empty((len(frames), num_samples, horizon, 6))
        for i, f in enumerate(frames):
            rng = np.random.default_rng([seed, offset + i])  # one stream per series, as the pipeline
            c = f["close"].to_numpy()
            r = np.diff(np.log(c[-window - 1 :]))
            s = narrow * r.std()
            logc = np.log(c[-1]) + np.cumsum(rng.normal(0, s, (num_samples, horizon)), axis=1)
            close = np.exp(logc)
            open_ = np.concatenate([np.full((num_samples, 1), c[-1]), close[:, :-1]], axis=1)
            wick = np.exp(np.abs(rng.normal(0, 0.3 * s, (2, num_samples, horizon))))
            high, low = np.maximum(open_, close) * wick[0], np.minimum(open_, close) / wick[1]
            v = f["volume"].to_numpy()
            volume = np.exp(rng.normal(np.log(v).mean(), 0.2, (num_samples, horizon)))
            out[i] = np.stack(
                [open_, high, low, close, volume, volume * (open_ + high + low + close) / 4], -1
            )
        return out

    return forecast_fn


def pipeline_fn(pipe, num_samples: int, seed: int, lookback: int | None = None):
    def forecast_fn(frames, horizon, future, offset):
        return pipe.forecast(
            frames,
            horizon,
            num_samples=num_samples,
            seed=seed,
            future_timestamps=future,
            series_offset=offset,
            lookback=lookback,
        ).samples

    return forecast_fn


def cached(fn):
    """Memoise pseudo-forecasts, so that every method scores the same ones (key: offset, context lengths)."""
    store = {}

    def forecast_fn(frames, horizon, future, offset):
        key = (offset, horizon, tuple(len(f) for f in frames))
        if key not in store:
            store[key] = fn(frames, horizon, future, offset)
        return store[key]

    return forecast_fn


def crps(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of ensembles (N, S, H) at y (N, H): E|X - y| - E|X - X'| / 2, per (N, H)."""
    return crps_ensemble(samples, y, axis=1)


def score(samples: np.ndarray, y: np.ndarray) -> dict:
    """Coverage (pooled, window-clustered SE) at LEVELS and mean CRPS; samples (N, S, H), y (N, H)."""
    out = {}
    for a in LEVELS:
        lo, hi = central_interval(samples, a, axis=1)  # the package's intervals (plotting position q(n + 1))
        per_window = ((y >= lo) & (y <= hi)).mean(axis=1)
        out[f"cov{round(a * 100)}"] = float(per_window.mean())
        out[f"se{round(a * 100)}"] = float(per_window.std(ddof=1) / np.sqrt(len(per_window)))
    out["crps"] = float(crps(samples, y).mean())
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--forecaster", choices=["standin", "tiny", "bundled"], default="standin")
    p.add_argument("--process", choices=["grw", "garch", "heldout"], default="grw")
    p.add_argument("--windows", type=int, default=1000)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--horizon", type=int, default=10)
    p.add_argument("--num-samples", type=int, default=100)
    p.add_argument("--n-origins", type=int, default=CalibrationConfig().n_origins)
    p.add_argument("--step", type=int, default=None)
    p.add_argument("--max-factor", type=float, default=CalibrationConfig().max_factor)
    p.add_argument("--lookback", type=int, default=None, help="the pipeline's lookback (Kronos forecasters)")
    p.add_argument(
        "--min-context",
        default=None,
        help="CalibrationConfig.min_context; a comma list adds one variant each",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk", type=int, default=100, help="series per calibrate_samples call")
    p.add_argument("--variants", choices=["main", "all"], default="main", help="which calibrations to score")
    args = p.parse_args(argv)

    if args.process == "heldout":
        frames, unit = heldout(args.windows, args.context, args.horizon)
        unit = unit / 100.0  # CRPS in percent of the last context close
        args.windows = len(frames)
    else:
        frames = simulate(args.process, args.windows, args.context + args.horizon, args.seed)
        unit = np.ones(len(frames))
    contexts = [f.iloc[: args.context] for f in frames]
    y = np.stack([f["close"].to_numpy()[args.context :] for f in frames]) / unit[:, None]  # (N, H)

    window = (
        None  # the bars the forecaster uses (the default min_context is half of it): all, for the stand-in
    )
    if args.forecaster == "standin":
        fn = standin(args.num_samples, args.seed)
    else:
        import torch

        from kronos_plugins import KronosPipeline

        torch.set_num_threads(1)
        if args.forecaster == "tiny":
            pipe = KronosPipeline.from_pretrained(TINY / "model", TINY / "tokenizer", max_context=128)
        else:
            pipe = KronosPipeline.from_pretrained()
        fn = pipeline_fn(pipe, args.num_samples, args.seed, args.lookback)
        window = args.lookback or pipe.max_context  # as `KronosPipeline.forecast(calibration=...)` does
    fn = cached(fn)

    extra = [int(v) for v in args.min_context.split(",")] if args.min_context else []
    base = dict(
        n_origins=args.n_origins,
        step=args.step,
        max_factor=args.max_factor,
        min_context=extra[0] if len(extra) == 1 else None,
    )
    methods = {
        "conformal": CalibrationConfig(**base),  # the default
        "conformal-per-step": CalibrationConfig(pool_shape=False, pool_steps=0, **base),
        "conformal-one-level-0.8": CalibrationConfig(levels=(0.8,), **base),
        "scale": CalibrationConfig(method="scale", **base),
    }
    for v in extra if len(extra) > 1 else []:
        methods[f"conformal (min_context={v})"] = CalibrationConfig(**dict(base, min_context=v))
        methods[f"scale (min_context={v})"] = CalibrationConfig(method="scale", **dict(base, min_context=v))
    if args.variants == "all":
        methods.update(
            {
                "conformal-pool_steps=0": CalibrationConfig(pool_steps=0, **base),
                "conformal-pool_steps=2": CalibrationConfig(pool_steps=2, **base),
                "conformal-levels-0.5,0.8,0.95": CalibrationConfig(levels=(0.5, 0.8, 0.95), **base),
                "scale-pool_steps=0": CalibrationConfig(method="scale", pool_steps=0, **base),
            }
        )
    raw = np.concatenate(
        [fn(contexts[k : k + args.chunk], args.horizon, None, k) for k in range(0, args.windows, args.chunk)]
    )
    rows = {"raw": score(raw[..., 3] / unit[:, None, None], y)}
    timing = {}
    for name, cfg in methods.items():
        t0 = time.perf_counter()
        parts = []
        for k in range(0, args.windows, args.chunk):
            offset_fn = (lambda k0: lambda fr, h, fut, off: fn(fr, h, fut, k0 + off))(k)
            cal, _ = calibrate_samples(
                offset_fn,
                contexts[k : k + args.chunk],
                args.horizon,
                raw[k : k + args.chunk],
                cfg,
                window=window,
            )
            parts.append(cal)
        timing[name] = time.perf_counter() - t0
        rows[name] = score(np.concatenate(parts)[..., 3] / unit[:, None, None], y)

    table = pd.DataFrame(rows).T
    cols = [f"cov{round(a * 100)}" for a in LEVELS] + ["crps"]
    print(
        f"forecaster={args.forecaster} process={args.process} windows={args.windows} context={args.context} "
        f"horizon={args.horizon} samples={args.num_samples} n_origins={args.n_origins} step={args.step}"
    )
    print(table[cols].to_string(float_format=lambda v: f"{v:.4f}"))
    print(
        "max SE of coverage:",
        f"{table[[c for c in table.columns if c.startswith('se')]].to_numpy().max():.4f}",
    )
    result = {"args": vars(args), "results": rows, "seconds": timing}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    sys.exit(main() and 0)
