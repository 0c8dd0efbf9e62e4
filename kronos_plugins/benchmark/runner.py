"""Run a suite: load the data, cut the windows once, forecast every (model, window) task, score it.

The split engine is the heart of the harness: for each (dataset, horizon) the windows are cut ONCE with
:func:`~kronos_plugins.benchmark.splits.make_windows`, and every model receives exactly those ``Window``
objects, so every model sees the same context and is scored on the same target. Each task records the
:func:`~kronos_plugins.benchmark.splits.fingerprint` of the window as the model's process received it, which
lets a test (or a reader of ``windows.csv``) check the inputs were identical across models.

Tasks run in jobs (a few windows of one model, dataset, horizon and seed; for models that ``fit`` or
``batch``, every window of one dataset and seed), inline (``workers=1``), on local processes
(``concurrent.futures.ProcessPoolExecutor``) or on a Ray cluster. Finished tasks are written to a
:class:`~kronos_plugins.benchmark.cache.ForecastCache` as they arrive, so an interrupted run resumes where it
stopped. ``kronos`` and ``kronos-calibrated`` batch: the windows of one (dataset, seed, horizon) go through one
pipeline call, each window with its own seed (the pipeline's per-series seeds), which gives the paths of one
call per window (``run_suite(..., batch=False)``; a test checks they are equal).
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kronos_plugins.benchmark.cache import ForecastCache, TaskOutput, checkpoint_identity, task_key
from kronos_plugins.benchmark.models import REGISTRY, build_model, model_unavailable
from kronos_plugins.benchmark.scoring import score_forecast
from kronos_plugins.benchmark.splits import Window, fingerprint, make_windows
from kronos_plugins.benchmark.suite import DatasetSpec, ModelConfig, Suite

__all__ = ["BenchmarkResult", "DatasetWindows", "Job", "Task", "plan_windows", "run_job", "run_suite"]

logger = logging.getLogger(__name__)

KRONOS_COLUMNS = ("open", "high", "low", "close", "volume", "amount")
BACKENDS = ("local", "ray")
_CHUNK = {
    "kronos": 4,
    "default": 16,
}  # windows per job: small for slow models so progress moves and work spreads


# --------------------------------------------------------------------------------------------------------
# Data and windows
# --------------------------------------------------------------------------------------------------------


@dataclass
class DatasetWindows:
    """One dataset with its windows for every horizon (identical origins across horizons).

    Attributes
    ----------
    spec : DatasetSpec
    series : pd.DataFrame
        Every row the harness may use (for split parts: from the part's first allowed context bar to the
        end of its period).
    origins : list of int
        Row positions of the forecast origins (first target rows), shared by every horizon.
    step : int
        Rows between origins.
    windows : dict of int to list of Window
        Horizon -> windows, cut once by ``make_windows``.
    note : str or None
        Why fewer origins than asked were used, if so.
    """

    spec: DatasetSpec
    series: pd.DataFrame
    origins: list[int]
    step: int
    windows: dict[int, list[Window]]
    note: str | None = None

    @property
    def history(self) -> pd.DataFrame:
        """Rows strictly before the first origin (what models that ``fit`` may train on)."""
        return self.series.iloc[: self.origins[0]]


def load_dataset(spec: DatasetSpec) -> tuple[pd.DataFrame, int | None]:
    """The series of one dataset spec and the row where its target period starts (None: unbounded).

    Keeps the Kronos columns present (``close`` is required) so every model gets the same frame.
    """
    if spec.asset is not None:
        from kronos_plugins.datasets import load, load_split
        from kronos_plugins.datasets.registry import DataRepairWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataRepairWarning)
            data = load(spec.asset)
            if spec.part is not None:
                data = load_split().slice(spec.asset, spec.part, context_bars=len(data), data=data)
        period_start = data.attrs.get("context_rows") if spec.part is not None else None
    else:
        path = Path(spec.path)
        data = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
        if spec.timestamps not in data.columns:
            raise ValueError(
                f"dataset {spec.name!r}: `timestamps` column {spec.timestamps!r} not in {path} "
                f"(columns: {list(data.columns)}); set `timestamps:` in the suite."
            )
        data = data.set_index(pd.DatetimeIndex(pd.to_datetime(data.pop(spec.timestamps)), name="timestamps"))
        data.columns = [str(c).lower() for c in data.columns]
        period_start = None
    if "close" not in data.columns:
        raise ValueError(f"dataset {spec.name!r} has no `close` column (columns: {list(data.columns)}).")
    frame = data[[c for c in KRONOS_COLUMNS if c in data.columns]].astype(np.float64)
    frame.attrs = {"asset_id": spec.name}
    if spec.start is not None:
        if isinstance(spec.start, (int, np.integer)):
            period_start = int(spec.start)
        else:
            period_start = int(frame.index.searchsorted(pd.Timestamp(spec.start), side="left"))
    return frame, period_start


def plan_windows(suite: Suite, spec: DatasetSpec) -> DatasetWindows:
    """Place the origins of one dataset and cut its windows for every horizon.

    With a target period (a split part or ``start``) the origins start at the period's first row (or where a
    full context is first available) and, with ``step: auto``, spread evenly over the period. Without one,
    the last origin's longest target ends at the last row and ``step: auto`` means the longest horizon
    (non-overlapping targets). Every horizon uses the same origins. When the data is too short, fewer
    origins are used and ``note`` says so.

    Raises
    ------
    ValueError
        If not even one origin fits.
    """
    series, period_start = load_dataset(spec)
    n_rows, ctx, max_h, n = len(series), suite.context_length, max(suite.horizons), suite.n_origins
    note = None
    if period_start is not None:
        first = max(int(period_start), ctx)
        room = n_rows - max_h - first  # rows the origins can spread over after the first one
        if room < 0:
            raise ValueError(
                f"dataset {spec.name!r}: {n_rows} rows leave no room for one window with `context_length` "
                f"{ctx} and horizon {max_h} from row {first}; lower `context_length` or the horizons."
            )
        step = (
            max(1, room // (n - 1))
            if suite.step == "auto" and n > 1
            else (1 if suite.step == "auto" else suite.step)
        )
        fits = room // step + 1
    else:
        step = max_h if suite.step == "auto" else suite.step
        fits = (n_rows - max_h - ctx) // step + 1
        if fits < 1:
            raise ValueError(
                f"dataset {spec.name!r}: {n_rows} rows are too few for one window with `context_length` "
                f"{ctx} and horizon {max_h}; lower them or use a longer series."
            )
        first = n_rows - max_h - (min(n, fits) - 1) * step
    n_eff = min(n, fits)
    if n_eff < n:
        note = f"{n_eff} of {n} origins fit (rows {n_rows}, first origin {first}, step {step})"
    windows = {
        h: make_windows(series, ctx, h, n_eff, step, start=first, asset_id=spec.name) for h in suite.horizons
    }
    origins = [w.origin_index for w in windows[suite.horizons[0]]]
    return DatasetWindows(spec=spec, series=series, origins=origins, step=step, windows=windows, note=note)


# --------------------------------------------------------------------------------------------------------
# Tasks and jobs
# --------------------------------------------------------------------------------------------------------


@dataclass
class Task:
    """One (model, window, seed) forecast."""

    key: str
    dataset: str
    horizon: int
    seed: int
    task_seed: int
    window: Window
    fingerprint: str


@dataclass
class Job:
    """Tasks of one model that run together in one process call."""

    label: str
    model: str
    settings: dict
    num_samples: int
    tasks: list[Task]
    history: pd.DataFrame | None = None  # models with `fit`: rows before the dataset's first origin
    fit_seed: int = 0
    threads: int | None = None  # torch threads in the worker (None: leave torch's default)
    cost: float = 1.0
    batched: bool = False  # one `forecast_batch` call per horizon instead of one `forecast` per task


def derive_seed(seed: int, window_fingerprint: str) -> int:
    """The seed of one window's forecast: independent across windows, reproducible, order-free."""
    digest = hashlib.sha256(f"{seed}|{window_fingerprint}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


_INSTANCES: dict[tuple[str, str], object] = {}


def _instance(model: str, settings: dict):
    """One forecaster per (model, settings) and process, so a Kronos checkpoint loads once per worker."""
    import json

    key = (model, json.dumps(settings, sort_keys=True, default=str))
    if key not in _INSTANCES:
        _INSTANCES[key] = build_model(model, settings)
    return _INSTANCES[key]


def run_job(job: Job) -> list[TaskOutput]:
    """Run one job (in whatever process the backend chose) and return one output per task.

    A model that raises, or returns paths of the wrong shape or with non-finite values, gets an error
    recorded for that task; the other tasks go on.
    """
    if job.threads is not None and (REGISTRY[job.model].kronos or REGISTRY[job.model].needs_fit):
        import torch

        torch.set_num_threads(job.threads)
    outputs: list[TaskOutput] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_error, fit_seconds, fit_cpu = None, 0.0, 0.0
        try:
            model = build_model(job.model, job.settings) if job.history is not None else None
            if model is not None:
                t0, c0 = time.perf_counter(), time.process_time()
                model.fit(job.history, seed=job.fit_seed)
                fit_seconds, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
            else:
                model = _instance(job.model, job.settings)
        except Exception as err:  # recorded per task: the report lists failures
            model, fit_error = None, f"{type(err).__name__}: {err}"
        share = 1.0 / max(1, len(job.tasks))
        if model is None:
            return [TaskOutput(t.key, fingerprint(t.window), None, error=fit_error) for t in job.tasks]
        if job.batched:
            return _run_batched(model, job)
        for task in job.tasks:
            out = _forecast_one(model, job, task)
            out.seconds += fit_seconds * share
            out.cpu_seconds += fit_cpu * share
            outputs.append(out)
    return outputs


def _checked_paths(raw, num_samples: int, horizon: int) -> np.ndarray:
    """A task's paths as float32 (what the cache stores; scoring always starts from it, cached or fresh).

    Raises
    ------
    ValueError
        For paths of the wrong shape or with non-finite values.
    """
    samples = np.asarray(raw, dtype=np.float64)
    if samples.shape != (num_samples, horizon):
        raise ValueError(f"returned paths shaped {samples.shape}, expected ({num_samples}, {horizon})")
    if not np.all(np.isfinite(samples)):
        raise ValueError("returned non-finite paths")
    return samples.astype(np.float32)


def _forecast_one(model, job: Job, task: Task) -> TaskOutput:
    """One window through the model's ``forecast``; an exception becomes the task's error."""
    t0, c0 = time.perf_counter(), time.process_time()
    error, samples = None, None
    try:
        raw = model.forecast(task.window.context, task.horizon, job.num_samples, task.task_seed)
        samples = _checked_paths(raw, job.num_samples, task.horizon)
    except Exception as err:
        error, samples = f"{type(err).__name__}: {err}", None
    return TaskOutput(
        key=task.key,
        fingerprint=fingerprint(task.window),
        samples=samples,
        error=error,
        seconds=time.perf_counter() - t0,
        cpu_seconds=time.process_time() - c0,
    )


def _run_batched(model, job: Job) -> list[TaskOutput]:
    """Every task of a job through one ``forecast_batch`` call per horizon (each window with its own seed).

    Each task is timed at an equal share of its call. If the call raises, that horizon's tasks run one by one,
    so each gets its own error (or its forecast) as in an unbatched run.
    """
    by_horizon: dict[int, list[Task]] = {}
    for task in job.tasks:
        by_horizon.setdefault(task.horizon, []).append(task)
    done: dict[str, TaskOutput] = {}
    for horizon, tasks in by_horizon.items():
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            raw = model.forecast_batch(
                [t.window.context for t in tasks], horizon, job.num_samples, [t.task_seed for t in tasks]
            )
            paths = np.asarray(raw, dtype=np.float64)
            expected = (len(tasks), job.num_samples, horizon)
            if paths.shape != expected:
                raise ValueError(f"`forecast_batch` returned paths shaped {paths.shape}, expected {expected}")
        except Exception:
            for task in tasks:
                done[task.key] = _forecast_one(model, job, task)
            continue
        seconds = (time.perf_counter() - t0) / len(tasks)
        cpu = (time.process_time() - c0) / len(tasks)
        for task, task_paths in zip(tasks, paths, strict=True):
            error, samples = None, None
            try:
                samples = _checked_paths(task_paths, job.num_samples, horizon)
            except ValueError as err:
                error = f"{type(err).__name__}: {err}"
            done[task.key] = TaskOutput(
                task.key, fingerprint(task.window), samples, error=error, seconds=seconds, cpu_seconds=cpu
            )
    return [done[t.key] for t in job.tasks]


def _make_jobs(
    suite: Suite,
    datasets: list[DatasetWindows],
    models: list[ModelConfig],
    identities: dict[str, str],
    batch: bool = True,
) -> tuple[list[Job], list[tuple[ModelConfig, Task]]]:
    """Every (model, window, seed) task, grouped into jobs; also the flat task list in report order.

    Models that ``fit``, and with `batch` models that batch, get one job per (dataset, seed) holding every
    window; the others jobs of a few windows of one horizon."""
    jobs: list[Job] = []
    flat: list[tuple[ModelConfig, Task]] = []
    for cfg in models:
        spec = REGISTRY[cfg.model]
        chunk = _CHUNK["kronos"] if spec.kronos else _CHUNK["default"]
        model_json = cfg.settings_json()
        whole = spec.needs_fit or (batch and spec.batches)  # one job per (dataset, seed)
        for ds in datasets:
            for seed in suite.seeds:
                group: list[Task] = []
                for h in suite.horizons:
                    tasks = []
                    for w in ds.windows[h]:
                        fp = fingerprint(w)
                        task_seed = derive_seed(seed, fp)
                        key = task_key(
                            fp, model_json, h, suite.num_samples, task_seed, identities.get(cfg.label, "")
                        )
                        tasks.append(Task(key, ds.spec.name, h, seed, task_seed, w, fp))
                    flat.extend((cfg, t) for t in tasks)
                    if whole:
                        group.extend(tasks)
                    else:
                        for k in range(0, len(tasks), chunk):
                            part = tasks[k : k + chunk]
                            cost = spec.cost * sum(t.horizon + 4 for t in part)
                            jobs.append(
                                Job(cfg.label, cfg.model, cfg.settings, suite.num_samples, part, cost=cost)
                            )
                if whole and group:
                    fit = 50 if spec.needs_fit else 0
                    cost = spec.cost * (fit + sum(t.horizon + 4 for t in group))
                    jobs.append(
                        Job(
                            cfg.label,
                            cfg.model,
                            cfg.settings,
                            suite.num_samples,
                            group,
                            history=ds.history if spec.needs_fit else None,
                            fit_seed=seed,
                            cost=cost,
                            batched=not spec.needs_fit,
                        )
                    )
    return jobs, flat


# --------------------------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------------------------


def _run_inline(jobs: list[Job], on_done: Callable[[Job, list[TaskOutput]], None]) -> None:
    for job in jobs:
        on_done(job, run_job(job))


def _run_local(jobs: list[Job], workers: int, on_done: Callable[[Job, list[TaskOutput]], None]) -> None:
    import multiprocessing as mp

    # spawn, not fork: the parent may already run torch threads, which a forked child can deadlock on
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        pending = {pool.submit(run_job, job): job for job in jobs}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    on_done(pending.pop(fut), fut.result())
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def _run_ray(jobs: list[Job], workers: int | None, on_done: Callable[[Job, list[TaskOutput]], None]) -> None:
    try:
        import ray
    except ImportError as err:
        raise ImportError("`--backend ray` needs ray; `pip install 'kronos-plugins[ray]'`.") from err
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(num_cpus=1, max_retries=0)(run_job)
    pending = {remote.remote(job): job for job in jobs}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                on_done(pending.pop(ref), ray.get(ref))
    except BaseException:
        for ref in pending:
            ray.cancel(ref)
        raise


class _Progress:
    """Rich progress bars (one per model plus a total), or nothing when disabled."""

    def __init__(self, enabled: bool, totals: dict[str, int]):
        self.enabled = enabled and sum(totals.values()) > 0
        self.totals = totals
        self._bars: dict[str, int] = {}

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description:<20}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                transient=False,
            )
            self._progress.__enter__()
            self._bars["__all__"] = self._progress.add_task("all tasks", total=sum(self.totals.values()))
            for label, total in self.totals.items():
                self._bars[label] = self._progress.add_task(label, total=total)
        return self

    def advance(self, label: str, n: int) -> None:
        if self.enabled:
            self._progress.advance(self._bars[label], n)
            self._progress.advance(self._bars["__all__"], n)

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._progress.__exit__(*exc)


# --------------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------------


@dataclass
class BenchmarkResult:
    """Everything a run produced.

    Attributes
    ----------
    suite : Suite
    steps : pd.DataFrame
        One row per (model, window, seed, horizon step) with the realised value, the point forecast and
        every per-step metric.
    windows : pd.DataFrame
        One row per (model, window, seed): window aggregates, the input fingerprint, the cache key, timing
        (``seconds``, ``cpu_seconds``), ``cached`` and ``error``.
    meta : dict
        Run facts for ``run.json``: backend, workers, counts of computed/cached/failed tasks, skipped models
        and why, per-dataset origins, versions, wall time.
    datasets : list of DatasetWindows
        The windows (for fan charts).
    samples : dict
        ``(label, dataset, horizon, origin_index, seed) -> float32 paths`` of every successful task.
    """

    suite: Suite
    steps: pd.DataFrame
    windows: pd.DataFrame
    meta: dict
    datasets: list[DatasetWindows] = field(default_factory=list)
    samples: dict = field(default_factory=dict)


def default_cache_dir(suite: Suite, out_dir: str | Path | None) -> Path:
    """``benchmarks/results/cache/<suite>`` for the default output folder, else ``<out_dir>/cache``."""
    if out_dir is None:
        return Path("benchmarks") / "results" / "cache" / suite.name
    return Path(out_dir) / "cache"


def run_suite(
    suite: Suite,
    *,
    backend: str = "local",
    workers: int | None = None,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    fresh: bool = False,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    threads: int | None = None,
    batch: bool = True,
) -> BenchmarkResult:
    """Run every enabled model of a suite on every window and score the forecasts.

    Parameters
    ----------
    suite : Suite
        A validated suite.
    backend : {"local", "ray"}, default="local"
        ``local``: a process pool of ``workers`` processes (inline when ``workers=1``). ``ray``: Ray tasks
        (connects to ``RAY_ADDRESS`` when set, else starts a local instance with ``workers`` CPUs; an
        already initialised Ray is used as it is).
    workers : int, optional
        Parallel processes; default ``os.cpu_count()``.
    cache_dir : path, optional
        Where task outputs are cached (see :func:`default_cache_dir`); ``use_cache=False`` disables it.
    fresh : bool, default=False
        Ignore cached outputs (they are overwritten).
    progress : bool, optional
        Show rich progress bars; default: when stderr is a terminal.
    log : callable, optional
        Receives one-line status messages (skipped models, dataset notes).
    threads : int, optional
        Torch threads of each Kronos/LSTM job. Default: 1 when jobs run in parallel (so workers do not
        oversubscribe the cores), torch's own default when they run inline.
    batch : bool, default=True
        Models that batch (``kronos``, ``kronos-calibrated``) forecast the windows of one (dataset, seed,
        horizon) in one call; False: one call per window. The paths (and so the cache) are the same either way.

    Returns
    -------
    BenchmarkResult
    """
    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {list(BACKENDS)}, found: {backend!r}.")
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"`workers` must be >= 1, found: {workers}.")
    say = log or (lambda msg: logger.info(msg))
    if progress is None:
        progress = sys.stderr.isatty()
    started = time.time()

    datasets, dataset_notes = [], {}
    for spec in suite.datasets:
        try:
            ds = plan_windows(suite, spec)
        except (ValueError, KeyError, ImportError) as err:
            dataset_notes[spec.name] = f"skipped: {err}"
            say(f"dataset {spec.name}: skipped: {err}")
            continue
        datasets.append(ds)
        if ds.note:
            dataset_notes[spec.name] = ds.note
            say(f"dataset {spec.name}: {ds.note}")
    if not datasets:
        raise ValueError(f"suite {suite.name!r}: no dataset could be windowed: {dataset_notes}")

    skipped: dict[str, str] = {}
    models: list[ModelConfig] = []
    identities: dict[str, str] = {}
    for cfg in suite.enabled_models:
        reason = model_unavailable(cfg.model, cfg.settings)
        if reason is not None:
            skipped[cfg.label] = reason
            say(f"model {cfg.label}: skipped: {reason}")
            continue
        models.append(cfg)
        if REGISTRY[cfg.model].kronos:
            identities[cfg.label] = checkpoint_identity(cfg.settings["checkpoint"], cfg.settings["tokenizer"])
            if cfg.settings.get("calibration"):  # calibrated paths also change with the calibration's code
                from kronos_plugins.calibration import CALIBRATION_VERSION

                identities[cfg.label] += f"\ncalibration v{CALIBRATION_VERSION}"
    if suite.reference in skipped:
        raise RuntimeError(f"the reference model {suite.reference!r} cannot run: {skipped[suite.reference]}")

    jobs, flat = _make_jobs(suite, datasets, models, identities, batch=batch)
    cache = ForecastCache(None if not use_cache else (cache_dir or default_cache_dir(suite, None)))
    outputs: dict[str, TaskOutput] = {}
    todo: list[Job] = []
    for job in jobs:
        missing = []
        for task in job.tasks:
            hit = None if fresh else cache.get(job.label, task.key)
            if hit is not None:
                outputs[task.key] = hit
            else:
                missing.append(task)
        if missing:
            job.tasks = missing
            todo.append(job)
    todo.sort(key=lambda j: -j.cost)  # longest first: better load balance
    n_cached = len(outputs)

    parallel = backend == "ray" or (workers > 1 and len(todo) > 1)
    for job in todo:
        job.threads = threads if threads is not None else (1 if parallel else None)

    totals = {cfg.label: sum(len(j.tasks) for j in todo if j.label == cfg.label) for cfg in models}
    with _Progress(progress, totals) as bars:

        def on_done(job: Job, outs: list[TaskOutput]) -> None:
            for out in outs:
                outputs[out.key] = out
                cache.put(job.label, out)
            bars.advance(job.label, len(outs))

        if backend == "ray":
            _run_ray(todo, workers, on_done)
        elif workers == 1 or len(todo) <= 1:
            _run_inline(todo, on_done)
        else:
            _run_local(todo, min(workers, len(todo)), on_done)

    steps, windows, samples = _collect(suite, flat, outputs)
    n_failed = int(windows["error"].notna().sum()) if len(windows) else 0
    meta = {
        "suite": suite.name,
        "suite_file": suite.source,
        "backend": backend,
        "workers": workers,
        "batch": bool(batch),
        "n_tasks": len(flat),
        "n_computed": len(flat) - n_cached,
        "n_cached": n_cached,
        "n_failed": n_failed,
        "skipped_models": skipped,
        "datasets": {
            ds.spec.name: {
                "rows": len(ds.series),
                "origins": len(ds.origins),
                "first_origin": str(ds.series.index[ds.origins[0]]),
                "last_origin": str(ds.series.index[ds.origins[-1]]),
                "step": ds.step,
                "note": ds.note,
            }
            for ds in datasets
        },
        "dataset_notes": dataset_notes,
        "started": pd.Timestamp(started, unit="s").isoformat(),
        "wall_seconds": round(time.time() - started, 2),
        "versions": _versions(),
        "cpu_count": os.cpu_count(),
    }
    return BenchmarkResult(
        suite=suite, steps=steps, windows=windows, meta=meta, datasets=datasets, samples=samples
    )


def _collect(
    suite: Suite, flat: Iterable[tuple[ModelConfig, Task]], outputs: dict[str, TaskOutput]
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Score every task's paths; build the per-step and per-window tables."""
    step_rows, window_rows, samples = [], [], {}
    for cfg, task in flat:
        out = outputs[task.key]
        w = task.window
        base = {
            "model": cfg.label,
            "dataset": task.dataset,
            "horizon": task.horizon,
            "origin_index": w.origin_index,
            "origin_timestamp": w.origin_timestamp,
            "seed": task.seed,
        }
        row = {
            **base,
            "task_seed": task.task_seed,
            "fingerprint": out.fingerprint,
            "key": task.key,
            "seconds": out.seconds,
            "cpu_seconds": out.cpu_seconds,
            "cached": out.cached,
            "error": out.error,
        }
        if out.error is None and out.fingerprint != task.fingerprint:
            row["error"] = (
                f"fingerprint mismatch: the model received window {out.fingerprint[:12]}, planned {task.fingerprint[:12]}"
            )
        if row["error"] is None and out.samples is not None:
            try:
                scored = score_forecast(
                    out.samples.astype(np.float64), w, suite.target, suite.intervals, pit_seed=task.task_seed
                )
            except ValueError as err:
                row["error"] = f"scoring: {err}"
            else:
                row.update(scored.window)
                samples[(cfg.label, task.dataset, task.horizon, w.origin_index, task.seed)] = out.samples
                stamps = w.target.index
                for j, step in enumerate(scored.steps):
                    srow = {
                        **base,
                        "step": int(step),
                        "timestamp": stamps[int(step) - 1],
                        "y_true": scored.y_true[j],
                        "y_pred": scored.y_pred[j],
                    }
                    for name, values in scored.per_step.items():
                        srow[name] = values[j]
                    step_rows.append(srow)
        window_rows.append(row)
    steps = pd.DataFrame(step_rows)
    windows = pd.DataFrame(window_rows)
    if len(windows):
        windows["error"] = windows["error"].astype(object)
    return steps, windows, samples


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in (
        "kronos-plugins",
        "torch",
        "numpy",
        "pandas",
        "statsforecast",
        "arch",
        "darts",
        "sktime",
        "gluonts",
    ):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out
