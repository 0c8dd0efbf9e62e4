"""The cross-sectional suite file (YAML) and the models it names.

Layout (see ``benchmarks/suites/cross_sectional.yaml``)::

    name: cross_sectional
    split_version: 2
    seed: 0
    costs_bp: {in: 10, out: 15}
    bootstrap: 2000
    universes:
      sp500_2009: {step: 5, horizon: 5, min_history: 60, top_k: 50}
    models:
      - {name: kronos, kind: kronos, checkpoint: bundled, num_samples: 16}
      - {name: momentum, kind: momentum, lookback: 252, skip: 21}
      - {name: reversal, kind: reversal, window: 5}
      - {name: rw-drift, kind: baseline, baseline: RandomWalkDrift, args: {mode: normal}, num_samples: 16}

``kind: kronos`` takes ``checkpoint`` (``bundled`` or a checkpoint directory, relative to the suite file),
optional ``tokenizer``, ``max_context``, ``lookback``; ``kind: baseline`` names a class of
`kronos_plugins.benchmark.baselines` and its constructor ``args``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CrossSectionalSuite", "UniverseSettings", "build_models", "load_suite"]

_MODEL_KINDS = ("kronos", "baseline", "momentum", "reversal")
_UNIVERSE_KEYS = {"step", "horizon", "min_history", "top_k", "max_dates", "max_bar_ratio"}


@dataclass(frozen=True)
class UniverseSettings:
    name: str
    step: int
    horizon: int
    min_history: int
    top_k: int
    max_dates: int | None = None
    max_bar_ratio: float | None = 3.0


@dataclass(frozen=True)
class CrossSectionalSuite:
    name: str
    path: Path
    split_version: int
    seed: int
    cost_in_bp: float
    cost_out_bp: float
    bootstrap: int
    universes: tuple[UniverseSettings, ...]
    models: tuple[dict, ...]
    raw: dict = field(default_factory=dict)


def _int(value: Any, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"suite: {where} must be an integer >= {minimum}, got {value!r}.")
    return value


def load_suite(path: str | Path) -> CrossSectionalSuite:
    """Read and check a suite file; errors name the key that is wrong."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"suite file {str(path)!r} does not exist.")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"suite {path}: expected a mapping at the top level.")
    unknown = set(raw) - {
        "name",
        "description",
        "split_version",
        "seed",
        "costs_bp",
        "bootstrap",
        "universes",
        "models",
    }
    if unknown:
        raise ValueError(f"suite {path}: unknown keys {sorted(unknown)}.")
    universes = raw.get("universes")
    if not isinstance(universes, dict) or not universes:
        raise ValueError(f"suite {path}: `universes` must map universe names to settings.")
    settings = []
    for uname, u in universes.items():
        u = dict(u or {})
        bad = set(u) - _UNIVERSE_KEYS
        if bad:
            raise ValueError(
                f"suite {path}: universes.{uname} has unknown keys {sorted(bad)}; known: {sorted(_UNIVERSE_KEYS)}."
            )
        max_dates = u.get("max_dates")
        settings.append(
            UniverseSettings(
                name=str(uname),
                step=_int(u.get("step"), f"universes.{uname}.step"),
                horizon=_int(u.get("horizon"), f"universes.{uname}.horizon"),
                min_history=_int(u.get("min_history"), f"universes.{uname}.min_history", 2),
                top_k=_int(u.get("top_k"), f"universes.{uname}.top_k"),
                max_dates=None if max_dates is None else _int(max_dates, f"universes.{uname}.max_dates"),
                max_bar_ratio=None
                if u.get("max_bar_ratio", 3.0) is None
                else float(u.get("max_bar_ratio", 3.0)),
            )
        )
    models = raw.get("models")
    if not isinstance(models, list) or not models:
        raise ValueError(f"suite {path}: `models` must be a non-empty list.")
    for i, m in enumerate(models):
        if not isinstance(m, dict) or "name" not in m or m.get("kind") not in _MODEL_KINDS:
            raise ValueError(
                f"suite {path}: models[{i}] needs a `name` and a `kind` in {list(_MODEL_KINDS)}, got {m!r}."
            )
    names = [m["name"] for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f"suite {path}: model names repeat: {names}.")
    costs = raw.get("costs_bp", {"in": 10, "out": 15})
    return CrossSectionalSuite(
        name=str(raw.get("name", path.stem)),
        path=path,
        split_version=_int(raw.get("split_version", 2), "split_version", 2),
        seed=_int(raw.get("seed", 0), "seed", 0),
        cost_in_bp=float(costs["in"]),
        cost_out_bp=float(costs["out"]),
        bootstrap=_int(raw.get("bootstrap", 2000), "bootstrap", 100),
        universes=tuple(settings),
        models=tuple(dict(m) for m in models),
        raw=raw,
    )


def build_models(suite: CrossSectionalSuite) -> tuple[list, dict[str, dict]]:
    """The signal models of a suite, and per Kronos model what its checkpoint is (for the report).

    Returns
    -------
    (models, checkpoints)
        ``checkpoints[name] = {"checkpoint": ..., "split_version": ...}`` for each Kronos model: the split
        version its bundle trained on (None when unknown), used to exclude trained-on assets.
    """
    from kronos_plugins.benchmark import baselines
    from kronos_plugins.checkpoints import checkpoint_pair

    from .signals import BaselineSignals, KronosSignals, Momentum, Reversal
    from .universe import checkpoint_split_version

    out, checkpoints = [], {}
    for m in suite.models:
        kind, name = m["kind"], m["name"]
        if kind == "kronos":
            from kronos_plugins import KronosPipeline

            ckpt = m.get("checkpoint", "bundled")
            tok = m.get("tokenizer")
            if ckpt not in (None, "bundled"):
                ckpt = str((suite.path.parent / ckpt).resolve())
                tok = None if tok is None else str((suite.path.parent / tok).resolve())
            model_dir, _, _ = checkpoint_pair(None if ckpt == "bundled" else ckpt, tok, m.get("max_context"))
            pipe = KronosPipeline.from_pretrained(
                None if ckpt == "bundled" else ckpt, tok, max_context=m.get("max_context")
            )
            out.append(
                KronosSignals(
                    pipe,
                    _int(m.get("num_samples", 16), f"models.{name}.num_samples"),
                    name=name,
                    lookback=m.get("lookback"),
                )
            )
            checkpoints[name] = {
                "checkpoint": "bundled" if ckpt == "bundled" else str(ckpt),
                "model_dir": str(model_dir),
                "split_version": checkpoint_split_version(model_dir),
                "parameters": int(sum(p.numel() for p in pipe.model.parameters())),
                "lookback": pipe.default_lookback if m.get("lookback") is None else m.get("lookback"),
            }
        elif kind == "baseline":
            cls_name = m.get("baseline")
            if cls_name not in baselines.__all__ or cls_name == "Baseline":
                raise ValueError(
                    f"suite: models.{name}.baseline must name a class of kronos_plugins.benchmark.baselines, got {cls_name!r}."
                )
            baseline = getattr(baselines, cls_name)(**dict(m.get("args") or {}))
            out.append(
                BaselineSignals(
                    baseline,
                    _int(m.get("num_samples", 16), f"models.{name}.num_samples"),
                    lookback=int(m.get("lookback", 96)),
                    name=name,
                )
            )
        elif kind == "momentum":
            out.append(Momentum(int(m.get("lookback", 252)), int(m.get("skip", 21)), name=name))
        else:
            out.append(Reversal(int(m.get("window", 5)), name=name))
    return out, checkpoints
