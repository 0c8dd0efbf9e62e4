"""The settings schema of the benchmark's models: each setting's default, check and description, and the
registry entry (`ModelSpec`) that holds them (the registry itself is `kronos_plugins.benchmark.models`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

__all__ = ["ModelSpec", "Setting", "choice", "float_in", "int_at_least", "kronos_settings", "text"]


@dataclass(frozen=True)
class Setting:
    default: Any
    check: Callable[[Any], bool]
    expect: str  # how the error message describes a valid value


def int_at_least(minimum: int, optional: bool = False) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        if v is None:
            return optional
        return isinstance(v, Integral) and not isinstance(v, bool) and v >= minimum

    return check


def float_in(lo: float, hi: float, lo_open: bool = True) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, Real):
            return False
        return (v > lo if lo_open else v >= lo) and v <= hi

    return check


def choice(*values: Any) -> Callable[[Any], bool]:
    return lambda v: v in values


def text(optional: bool = False) -> Callable[[Any], bool]:
    return lambda v: (v is None and optional) or (isinstance(v, str) and v != "")


def kronos_settings() -> dict[str, Setting]:
    return {
        "checkpoint": Setting("bundled", text(), "a checkpoint directory, a hub id, or 'bundled'"),
        "tokenizer": Setting(None, text(optional=True), "a tokenizer directory or hub id (or null)"),
        "max_context": Setting(None, int_at_least(1, optional=True), "a positive integer (or null)"),
        "device": Setting("cpu", text(), "a torch device such as 'cpu'"),
        "temperature": Setting(
            None,
            lambda v: v is None or float_in(0.0, float("inf"))(v),
            "a float > 0 (or null: the checkpoint's default, 1.0 unless its bundle.json names one)",
        ),
        "top_k": Setting(0, int_at_least(0), "an integer >= 0 (0: off)"),
        "top_p": Setting(1.0, float_in(0.0, 1.0), "a float in (0, 1]"),
        "min_p": Setting(0.0, lambda v: float_in(0.0, 1.0, lo_open=False)(v) and v < 1, "a float in [0, 1)"),
        "lookback": Setting(None, int_at_least(8, optional=True), "an integer >= 8 (or null)"),
    }


def anchor_setting() -> Setting:
    """``anchor`` of the pipeline-based Kronos entries (`KronosPipeline.forecast`): None keeps the checkpoint's
    default (on for the bundled one)."""
    return Setting(
        None,
        lambda v: v is None or isinstance(v, bool),
        "true or false (or null: the checkpoint's default)",
    )


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry.

    Attributes
    ----------
    name : str
        Registry name used in suites (``model: <name>``).
    description : str
        One line for the docs and the report.
    settings : dict
        Setting name -> default and validator.
    factory : callable
        ``factory(**settings) -> forecaster``.
    requires : tuple of str
        Modules that must import for the model to run (else it is skipped with the reason recorded).
    kronos : bool
        Kronos interfaces get the suite's ``kronos`` defaults and a checkpoint check before the run.
    needs_fit : bool
        The forecaster has ``fit(history)``; its windows of one (dataset, seed) run as one job.
    batches : bool
        The forecaster has ``forecast_batch(contexts, horizon, num_samples, seeds)``, which returns the paths
        of every window at once, equal to one ``forecast`` per window; its windows of one (dataset, seed) run
        as one job, with one batched call per horizon.
    """

    name: str
    description: str
    settings: dict[str, Setting]
    factory: Callable[..., Any]
    requires: tuple[str, ...] = ()
    kronos: bool = False
    needs_fit: bool = False
    batches: bool = False
    cost: float = 1.0  # relative cost per window and horizon step, to schedule expensive jobs first
    extra: dict = field(default_factory=dict)
