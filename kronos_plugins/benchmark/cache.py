"""On-disk cache of forecasts: one file per (model, window) task, so an interrupted run resumes.

A task's key hashes everything that determines its sample paths: the window's input fingerprint (context
values and index, target timestamps), the model's registry name and resolved settings, the identity of a
Kronos checkpoint, the horizon, the number of samples and the task's seed. Scores are not cached: they are
recomputed from the cached paths on every run, so changing the target or the metrics never needs a rerun.

Files are ``<cache_dir>/<model label>/<key[:2]>/<key>.npz`` holding ``samples`` (float32, shaped
``(num_samples, horizon)``) and a JSON ``meta`` record (timings, fingerprint, error).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["CACHE_VERSION", "ForecastCache", "TaskOutput", "checkpoint_identity", "task_key"]

CACHE_VERSION = 1
"""Bumped when the meaning of cached paths changes, which invalidates every cached file."""


@dataclass
class TaskOutput:
    """What running one (model, window) task produced.

    Attributes
    ----------
    key : str
        The task's cache key.
    fingerprint : str
        Fingerprint of the window as the model's process received it.
    samples : np.ndarray or None
        Close-price paths, float32, shaped ``(num_samples, horizon)``; None when the task failed.
    error : str or None
        ``"<ExceptionType>: <message>"`` when the model raised or returned invalid paths.
    seconds, cpu_seconds : float
        Wall-clock and process CPU time of the forecast (for models with ``fit``, including an equal share
        of the fitting time).
    cached : bool
        True when read from the cache in this run rather than computed.
    """

    key: str
    fingerprint: str
    samples: np.ndarray | None
    error: str | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    cached: bool = False
    extra: dict = field(default_factory=dict)


def checkpoint_identity(checkpoint: str, tokenizer: str | None) -> str:
    """A string that changes when a Kronos checkpoint's files change (part of the cache key).

    Local directories contribute each file's size and modification time, ``"bundled"`` the bundled
    checkpoint's ``SHA256SUMS`` (so retraining it invalidates the cache), hub ids their name; a bundle's
    ``bundle.json`` (beside a ``model/`` directory, or the bundled one's) its text, since the defaults it
    names (context, anchor, temperature) change the paths of a setting left at null.
    """
    import kronos_plugins

    parts = [f"kronos_plugins {kronos_plugins.__version__}"]
    for ref in (checkpoint, tokenizer):
        if ref is None:
            continue
        if ref == "bundled":
            from kronos_plugins import checkpoints

            bundled = Path(getattr(checkpoints, "BUNDLED_DIR", ""))
            sums, meta = bundled / "SHA256SUMS", bundled / "bundle.json"
            parts.append("bundled:" + (sums.read_text(encoding="utf-8") if sums.is_file() else "missing"))
            if meta.is_file():
                parts.append("bundle.json:" + meta.read_text(encoding="utf-8"))
            continue
        path = Path(str(ref))
        if path.is_dir():
            for f in sorted(path.iterdir()):
                if f.is_file():
                    st = f.stat()
                    parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
            meta = path.parent / "bundle.json"
            if path.name == "model" and meta.is_file():
                parts.append("bundle.json:" + meta.read_text(encoding="utf-8"))
        else:
            parts.append(str(ref))
    return "|".join(parts)


def task_key(
    fingerprint: str, model_json: str, horizon: int, num_samples: int, seed: int, identity: str = ""
) -> str:
    """SHA-256 cache key of one task (see the module docstring)."""
    payload = json.dumps(
        {
            "v": CACHE_VERSION,
            "fingerprint": fingerprint,
            "model": model_json,
            "identity": identity,
            "horizon": int(horizon),
            "num_samples": int(num_samples),
            "seed": int(seed),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "._-+" else "_" for c in label)


class ForecastCache:
    """Read and write task outputs under one folder.

    Parameters
    ----------
    root : path or None
        The cache folder; None disables caching (nothing is read or written).
    """

    def __init__(self, root: str | os.PathLike | None):
        self.root = None if root is None else Path(root)

    def _path(self, label: str, key: str) -> Path:
        assert self.root is not None
        return self.root / _safe(label) / key[:2] / f"{key}.npz"

    def get(self, label: str, key: str) -> TaskOutput | None:
        """The cached output of a task, or None (also for an unreadable, e.g. half-written, file)."""
        if self.root is None:
            return None
        path = self._path(label, key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                samples = data["samples"] if "samples" in data.files else None
                if samples is not None:
                    samples = np.array(samples, dtype=np.float32)
        except (OSError, ValueError, KeyError, EOFError):
            return None
        return TaskOutput(
            key=key,
            fingerprint=meta["fingerprint"],
            samples=samples,
            error=meta.get("error"),
            seconds=float(meta.get("seconds", 0.0)),
            cpu_seconds=float(meta.get("cpu_seconds", 0.0)),
            cached=True,
        )

    def put(self, label: str, out: TaskOutput) -> None:
        """Write a task's output atomically (a temporary file renamed into place). Failed tasks are not
        cached, so a rerun retries them."""
        if self.root is None or out.error is not None or out.samples is None:
            return
        path = self._path(label, out.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "fingerprint": out.fingerprint,
            "error": out.error,
            "seconds": out.seconds,
            "cpu_seconds": out.cpu_seconds,
        }
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(
            tmp, samples=np.asarray(out.samples, dtype=np.float32), meta=np.array(json.dumps(meta))
        )
        os.replace(tmp, path)
