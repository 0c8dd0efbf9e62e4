"""Training configuration: YAML files read into validated dataclasses.

A config file has the top-level keys of `TrainConfig`; the nested sections ``data``, ``augment``,
``train_tokenizer`` and ``train_model`` map onto `DataConfig`, `AugmentConfig` and `StageConfig`, and the
architecture sections ``tokenizer`` and ``model`` hold the keys of `kronos_plugins.KronosTokenizerConfig` and
`kronos_plugins.KronosConfig`. Every key is checked: an unknown key, a wrong type or an invalid value raises
`TrainConfigError` naming the key by its dotted path (``train_model.lr``), the value and the fix.

Examples
--------
>>> cfg = TrainConfig.from_dict({"seed": 1, "train_model": {"steps": 10}})
>>> cfg.train_model.steps, cfg.train_model.lr
(10, 0.0004)
>>> TrainConfig.from_dict({"train_model": {"step": 10}})
Traceback (most recent call last):
...
kronos_plugins.training.config.TrainConfigError: unknown key `train_model.step`; did you mean `train_model.steps`? ...
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import KronosConfig, KronosTokenizerConfig

__all__ = [
    "AugmentConfig",
    "DataConfig",
    "StageConfig",
    "TrainConfig",
    "TrainConfigError",
    "load_config",
    "parse_override",
]

#: Architecture keys a fine-tuning run may change on a loaded checkpoint (they hold no weights).
EDITABLE_ARCH_KEYS = ("ffn_dropout_p", "attn_dropout_p", "resid_dropout_p", "token_dropout_p", "candle_head")

DATA_SOURCES = ("split", "files", "synthetic")
WEIGHTINGS = ("windows", "sqrt", "series")
SYNTHETIC_KINDS = ("garch", "jump", "regime")


class TrainConfigError(ValueError):
    """A training config has an unknown key, a value of the wrong type, or an invalid value."""


@dataclass
class DataConfig:
    """Where the training series come from and how they are cut into windows.

    Each window holds ``context + horizon`` consecutive bars, normalised with the mean and standard deviation of
    its first ``context`` bars only (see `kronos_plugins.training.data`).
    """

    source: str = "split"  # "split" (kronos_plugins.datasets), "files" (CSV/parquet) or "synthetic"
    assets: list[str] | None = (
        None  # split: asset ids; None = every pretrain asset whose package is installed
    )
    frequencies: list[str] | None = None  # split: keep these bar lengths only, e.g. ["1d", "1h"]; None = all
    split_path: str | None = (
        None  # split: a split JSON other than the one shipped with kronos_plugins.datasets
    )
    split_version: int = (
        1  # split: which shipped split (1: 61 assets; 2: every catalogued source; 3: 2 + Debian R)
    )
    constructions: list[str] | None = (
        None  # split: keep bars made this way: "ohlc", "ticks", "closes"; None = all
    )
    files: list[str] = field(default_factory=list)  # files: CSV or parquet paths, one series each
    val_fraction: float = 0.1  # files/synthetic: the last fraction of each series is validation
    n_series: int = 32  # synthetic: how many series
    length: int = 1024  # synthetic: bars per series
    context: int = 96  # bars whose statistics normalise the window
    min_context: int | None = None  # vary that per training window in [min_context, context]; None = fixed
    horizon: int = 32  # bars after the context (normalised with the context's statistics)
    # model stage: count only the next-bar targets at most this many bars after the bars that normalise the
    # window (with min_context, a window's later bars lie far beyond a short context and are mostly clipped to
    # +-5, which a forecast of `horizon` bars never meets); None = every bar of the window
    loss_horizon: int | None = None
    # model stage: leave out of the training loss every next-bar target whose open, high, low or close was clipped
    # to +-5 (a plateau a window reaches when it trends past its short context; learnt, it makes sampled paths jump
    # to the clip); the validation loss still counts every target, so that runs stay comparable
    mask_clipped: bool = False
    # shift each training window's normalised prices by a fixed draw in [-level_jitter, level_jitter] (context
    # standard deviations), so that contexts are not always centred on 0; validation windows are not shifted
    level_jitter: float = 0.0
    weighting: str = "sqrt"  # how often a series is drawn: "windows" (its window count), "sqrt" or "series"
    # factors on that draw weight by source (the asset id's package, e.g. {"fastquant": 0.25}); 0 leaves a
    # source out of training; validation windows are unchanged. None = 1 for every source
    source_weights: dict[str, float] | None = None
    val_windows: int = 256  # fixed validation windows, spread over the validation series
    num_workers: int = 0  # DataLoader workers (windows are cheap; 0 is usually fastest)


@dataclass
class AugmentConfig:
    """Synthetic OHLCV series mixed into the training windows (never into validation).

    See `kronos_plugins.training.augment` for the generators and the parameter ranges they draw from.
    """

    enabled: bool = False
    fraction: float = 0.2  # share of training windows drawn from synthetic series, in [0, 1)
    n_series: int = 64  # synthetic series generated once per run
    length: int = 1024  # bars per synthetic series
    kinds: list[str] = field(default_factory=lambda: list(SYNTHETIC_KINDS))  # "garch", "jump", "regime"
    freq: str = "B"  # bar spacing of the synthetic timestamps (a pandas frequency)
    # "simple": the daily generators above (kinds, freq); "market": the synthetic-market corpus
    # (kronos_plugins.datasets.synthetic_market: GARCH/GJR/EGARCH-t, SV with jumps, regimes, sessions, gaps and
    # ten calendars from 1-minute to daily), which ignores kinds and freq
    generator: str = "simple"


@dataclass
class StageConfig:
    """Optimisation settings of one stage (tokenizer or model).

    The learning rate warms up linearly for ``warmup_steps`` and then follows a cosine from ``lr`` down to
    ``lr * min_lr_ratio`` at ``steps``.
    """

    steps: int = 1000  # optimizer steps; 0 skips the stage
    batch_size: int = 32  # windows per step, over all processes together
    lr: float = 4e-4  # peak learning rate (AdamW)
    min_lr_ratio: float = 0.1  # final learning rate as a fraction of `lr`
    warmup_steps: int = 50
    weight_decay: float = 0.05
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # max gradient norm; 0 disables clipping
    eval_every: int = 100  # validation loss every this many steps (and at the first and last step)
    checkpoint_every: int = 200  # resumable checkpoint every this many steps (and at the last step)
    # a copy of the weights (config.json + model.safetensors) kept in <out_dir>/snapshots/<stage>/step<N>/ every this
    # many steps, for figures along training (learning curves of the quality gate's metrics); 0 keeps none
    snapshot_every: int = 0
    log_every: int = 1  # a train-loss row in the logs every this many steps
    # tokenizer stage only: weights of the reconstruction error of (open, high, low, close, volume, amount),
    # rescaled to mean 1 (so equal weights give the unweighted loss); None weighs the six features equally
    feature_weights: list[float] | None = None
    # tokenizer stage only: weight of the coarse-only reconstruction (decoded from the s1 bits alone) in the loss,
    # the full one (s1 + s2 bits) weighing 1 - it; 0.5 is the published recipe's plain average
    recon_pre_weight: float = 0.5
    # tokenizer stage only: "all" parameters, or only the "decoder" side (encoder and quantiser frozen, so the
    # token ids do not change: a new decoder or candle head for an existing model's tokens)
    trainable: str = "all"


@dataclass
class TrainConfig:
    """A whole training run: stage 1 trains the tokenizer, stage 2 the model with the tokenizer frozen.

    ``init_tokenizer`` / ``init_model`` start a stage from a checkpoint (a directory or a hub id such as
    ``"NeoQuasar/Kronos-small"``) instead of random weights: that is fine-tuning. ``tokenizer`` / ``model`` give
    the architecture of a freshly initialised module; with an ``init_*`` checkpoint they may only change the
    dropout probabilities.
    """

    seed: int = 0  # seeds python, numpy and torch; the data order and initial weights follow from it
    out_dir: str = "runs/kronos"  # where the checkpoints, logs and plot go
    device: str = "auto"  # "auto" (cuda when available), "cpu", "cuda", "cuda:1", ...
    num_threads: int | None = None  # torch CPU threads per process; None leaves torch's default
    precision: str = "fp32"  # "bf16": bfloat16 autocast of the model stage's forward (weights stay float32)
    progress: bool | None = None  # progress bars; None = only when stderr is a terminal
    init_tokenizer: str | None = None  # checkpoint to start the tokenizer from
    init_model: str | None = None  # checkpoint to start the model from
    tokenizer: dict[str, Any] = field(default_factory=dict)  # KronosTokenizerConfig keys
    model: dict[str, Any] = field(default_factory=dict)  # KronosConfig keys (bits default to the tokenizer's)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train_tokenizer: StageConfig = field(default_factory=lambda: StageConfig(lr=1e-3))
    train_model: StageConfig = field(default_factory=StageConfig)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TrainConfig:
        """Build and validate a config from nested dicts (as read from YAML).

        Raises
        ------
        TrainConfigError
            Naming the first offending key by its dotted path.
        """
        cfg = _build(cls, {} if data is None else data, "")
        cfg.validate()
        return cfg

    def to_dict(self) -> dict[str, Any]:
        """The config as nested dicts (YAML/JSON ready); ``from_dict(to_dict())`` gives an equal config."""
        return dataclasses.asdict(self)

    # ------------------------------------------------------------------------------------------------------------
    def tokenizer_config(self) -> KronosTokenizerConfig:
        """The architecture of a freshly initialised tokenizer."""
        if self.init_tokenizer is not None:
            raise TrainConfigError(
                "`tokenizer_config()` is undefined with `init_tokenizer`; load the checkpoint."
            )
        return _arch(KronosTokenizerConfig, self.tokenizer, "tokenizer")

    def model_config(self, s1_bits: int, s2_bits: int) -> KronosConfig:
        """The architecture of a freshly initialised model; its bits default to the tokenizer's."""
        arch = {"s1_bits": s1_bits, "s2_bits": s2_bits, **self.model}
        cfg = _arch(KronosConfig, arch, "model")
        if (cfg.s1_bits, cfg.s2_bits) != (s1_bits, s2_bits):
            raise TrainConfigError(
                f"`model.s1_bits`/`model.s2_bits` {cfg.s1_bits}/{cfg.s2_bits} do not match the tokenizer's "
                f"{s1_bits}/{s2_bits}; remove them from `model` (they default to the tokenizer's)."
            )
        return cfg

    def validate(self) -> None:
        """Check values and cross-field rules; raises `TrainConfigError` naming the key."""
        _require(self.seed >= 0, "seed", self.seed, "must be >= 0")
        _require(
            self.num_threads is None or self.num_threads >= 1, "num_threads", self.num_threads, "must be >= 1"
        )
        _require(self.precision in ("fp32", "bf16"), "precision", self.precision, "must be 'fp32' or 'bf16'")
        dev = self.device
        _require(
            dev == "auto" or dev == "cpu" or dev.startswith("cuda"),
            "device",
            dev,
            "must be 'auto', 'cpu' or 'cuda[:N]'",
        )
        d = self.data
        _require(d.source in DATA_SOURCES, "data.source", d.source, f"must be one of {list(DATA_SOURCES)}")
        _require(
            d.weighting in WEIGHTINGS, "data.weighting", d.weighting, f"must be one of {list(WEIGHTINGS)}"
        )
        _require(d.context >= 2, "data.context", d.context, "must be >= 2 bars (its statistics normalise)")
        _require(d.horizon >= 0, "data.horizon", d.horizon, "must be >= 0")
        _require(
            d.context + d.horizon >= 3,
            "data.horizon",
            d.horizon,
            "gives windows shorter than 3 bars; raise `data.context` or `data.horizon`",
        )
        _require(0 < d.val_fraction < 1, "data.val_fraction", d.val_fraction, "must be in (0, 1)")
        _require(d.val_windows >= 1, "data.val_windows", d.val_windows, "must be >= 1")
        _require(d.n_series >= 1, "data.n_series", d.n_series, "must be >= 1")
        _require(d.length >= 3, "data.length", d.length, "must be >= 3")
        _require(d.num_workers >= 0, "data.num_workers", d.num_workers, "must be >= 0")
        _require(d.split_version in (1, 2, 3), "data.split_version", d.split_version, "must be 1, 2 or 3")
        _require(
            d.min_context is None or 2 <= d.min_context <= d.context,
            "data.min_context",
            d.min_context,
            "must be null or in [2, data.context]",
        )
        _require(
            d.source_weights is None
            or (
                isinstance(d.source_weights, dict)
                and all(
                    isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
                    for k, v in d.source_weights.items()
                )
            ),
            "data.source_weights",
            d.source_weights,
            "must be null or a mapping of source names to factors >= 0",
        )
        _require(
            isinstance(d.level_jitter, int | float) and 0 <= d.level_jitter <= 5,
            "data.level_jitter",
            d.level_jitter,
            "must be in [0, 5] (context standard deviations)",
        )
        _require(
            isinstance(d.mask_clipped, bool), "data.mask_clipped", d.mask_clipped, "must be true or false"
        )
        _require(
            d.loss_horizon is None or d.loss_horizon >= 1,
            "data.loss_horizon",
            d.loss_horizon,
            "must be null or >= 1 (bars after the normalising context whose targets count in the model loss)",
        )
        constructions = ("ohlc", "ticks", "closes")
        _require(
            d.constructions is None
            or (len(d.constructions) > 0 and set(d.constructions) <= set(constructions)),
            "data.constructions",
            d.constructions,
            f"must be null or a non-empty list of {list(constructions)}",
        )
        if d.source == "files":
            _require(
                bool(d.files),
                "data.files",
                d.files,
                "must list at least one CSV/parquet file with `data.source: files`",
            )
        a = self.augment
        _require(0 <= a.fraction < 1, "augment.fraction", a.fraction, "must be in [0, 1)")
        _require(a.n_series >= 1, "augment.n_series", a.n_series, "must be >= 1")
        _require(a.length >= 3, "augment.length", a.length, "must be >= 3")
        _require(
            a.generator in ("simple", "market"),
            "augment.generator",
            a.generator,
            "must be 'simple' or 'market'",
        )
        bad = [k for k in a.kinds if k not in SYNTHETIC_KINDS]
        _require(
            a.kinds and not bad,
            "augment.kinds",
            a.kinds,
            f"must be a non-empty subset of {list(SYNTHETIC_KINDS)}",
        )
        for name in ("train_tokenizer", "train_model"):
            _validate_stage(getattr(self, name), name)
        if self.train_tokenizer.steps == 0 and self.init_tokenizer is None:
            raise TrainConfigError(
                "`train_tokenizer.steps` is 0 but `init_tokenizer` is not set: stage 2 needs a tokenizer. "
                "Set `init_tokenizer` to a checkpoint (e.g. 'NeoQuasar/Kronos-Tokenizer-base') or train one."
            )
        if self.train_tokenizer.trainable == "decoder" and self.init_tokenizer is None:
            raise TrainConfigError(
                "`train_tokenizer.trainable` is 'decoder' (the encoder keeps its weights) but `init_tokenizer` is "
                "not set: name the checkpoint whose encoder and token ids to keep."
            )
        for name, init in (("tokenizer", self.init_tokenizer), ("model", self.init_model)):
            arch = getattr(self, name)
            if init is not None:
                fixed = sorted(k for k in arch if k not in EDITABLE_ARCH_KEYS)
                if fixed:
                    raise TrainConfigError(
                        f"`{name}` sets {fixed}, but the architecture comes from `init_{name}` {init!r}; with a "
                        f"checkpoint only {list(EDITABLE_ARCH_KEYS)} may be changed. Remove those keys."
                    )
        if self.init_tokenizer is None:
            tok = self.tokenizer_config()  # architecture errors surface at load time, not mid-run
            if self.init_model is None:
                self.model_config(tok.s1_bits, tok.s2_bits)


def _validate_stage(s: StageConfig, name: str) -> None:
    _require(s.steps >= 0, f"{name}.steps", s.steps, "must be >= 0 (0 skips the stage)")
    _require(s.batch_size >= 1, f"{name}.batch_size", s.batch_size, "must be >= 1")
    _require(math.isfinite(s.lr) and s.lr > 0, f"{name}.lr", s.lr, "must be a finite number > 0")
    _require(0 <= s.min_lr_ratio <= 1, f"{name}.min_lr_ratio", s.min_lr_ratio, "must be in [0, 1]")
    _require(s.warmup_steps >= 0, f"{name}.warmup_steps", s.warmup_steps, "must be >= 0")
    _require(s.weight_decay >= 0, f"{name}.weight_decay", s.weight_decay, "must be >= 0")
    _require(0 <= s.beta1 < 1, f"{name}.beta1", s.beta1, "must be in [0, 1)")
    _require(0 <= s.beta2 < 1, f"{name}.beta2", s.beta2, "must be in [0, 1)")
    _require(s.grad_clip >= 0, f"{name}.grad_clip", s.grad_clip, "must be >= 0 (0 disables clipping)")
    for key in ("eval_every", "checkpoint_every", "log_every"):
        _require(getattr(s, key) >= 1, f"{name}.{key}", getattr(s, key), "must be >= 1")
    _require(s.snapshot_every >= 0, f"{name}.snapshot_every", s.snapshot_every, "must be >= 0 (0 keeps none)")
    _require(
        s.trainable in ("all", "decoder"), f"{name}.trainable", s.trainable, "must be 'all' or 'decoder'"
    )
    _require(
        s.trainable == "all" or name == "train_tokenizer",
        f"{name}.trainable",
        s.trainable,
        "applies to the tokenizer stage only",
    )
    r = s.recon_pre_weight
    _require(
        isinstance(r, (int, float)) and not isinstance(r, bool) and math.isfinite(r) and 0 <= r <= 1,
        f"{name}.recon_pre_weight",
        r,
        "must be a number from 0 to 1",
    )
    _require(
        r == 0.5 or name == "train_tokenizer",
        f"{name}.recon_pre_weight",
        r,
        "applies to the tokenizer stage only",
    )
    w = s.feature_weights
    if w is not None:
        _require(
            name == "train_tokenizer", f"{name}.feature_weights", w, "applies to the tokenizer stage only"
        )
        _require(
            isinstance(w, (list, tuple))
            and len(w) == 6
            and all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in w)
            and sum(w) > 0,
            f"{name}.feature_weights",
            w,
            "must be 6 finite numbers >= 0 (open, high, low, close, volume, amount), not all 0",
        )


def _require(ok: bool, key: str, value: Any, rule: str) -> None:
    if not ok:
        raise TrainConfigError(f"`{key}` {value!r} {rule}.")


def _arch(cls, arch: dict[str, Any], name: str):
    try:
        return cls(**arch)
    except TypeError:
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(arch) - set(known))
        raise TrainConfigError(_unknown_message(f"{name}.{unknown[0]}", unknown[0], known, name)) from None
    except ValueError as e:
        raise TrainConfigError(f"`{name}`: {e}") from None


# ----------------------------------------------------------------------------------------------------------------
# dict -> dataclass with type checks


def _build(cls, data: Any, prefix: str):
    where = prefix.rstrip(".") or "the config"
    if not isinstance(data, dict):
        raise TrainConfigError(
            f"`{where}` must be a mapping of keys to values, got {type(data).__name__} {data!r}."
        )
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            raise TrainConfigError(_unknown_message(f"{prefix}{key}", str(key), names, where))
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, {} if value is None else value, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, hint, f"{prefix}{key}")
    return cls(**kwargs)


def _unknown_message(path: str, key: str, known: list[str], where: str) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"did you mean `{path[: len(path) - len(key)]}{close[0]}`? " if close else ""
    return f"unknown key `{path}`; {hint}Known keys of `{where}`: {sorted(known)}."


def _coerce(value: Any, hint: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _coerce(value, option, path)
            except TrainConfigError as e:
                errors.append(str(e))
        raise TrainConfigError(
            errors[0] if len(errors) == 1 else f"`{path}` {value!r} has the wrong type ({hint})."
        )
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise TrainConfigError(
                f"`{path}` must be a list, got {type(value).__name__} {value!r}; e.g. `[a, b]`."
            )
        return [_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise TrainConfigError(f"`{path}` must be a mapping, got {type(value).__name__} {value!r}.")
        return dict(value)
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise TrainConfigError(f"`{path}` must be true or false, got {value!r}.")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)  # YAML reads 1e3 as a float
            raise TrainConfigError(f"`{path}` must be an integer, got {type(value).__name__} {value!r}.")
        return value
    if hint is float:
        if isinstance(value, str):
            try:  # YAML 1.1 reads "3e-4" (no dot) as a string
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TrainConfigError(f"`{path}` must be a number, got {type(value).__name__} {value!r}.")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise TrainConfigError(f"`{path}` must be a string, got {type(value).__name__} {value!r}.")
        return value
    raise TypeError(f"internal: unsupported config type {hint} for `{path}`")  # pragma: no cover


# ----------------------------------------------------------------------------------------------------------------
# files and command-line overrides


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``"train_model.steps=10"`` into ``(["train_model", "steps"], 10)``; the value is read as YAML."""
    import yaml

    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise TrainConfigError(f"override {text!r} must look like KEY=VALUE, e.g. `train_model.steps=10`.")
    return key.strip().split("."), yaml.safe_load(raw)


def load_config(path: str | Path | None = None, overrides: typing.Sequence[str] = ()) -> TrainConfig:
    """Read a YAML training config, apply ``KEY=VALUE`` overrides, and validate.

    Parameters
    ----------
    path : str or Path, optional
        A YAML file; None starts from the defaults.
    overrides : sequence of str
        Dotted ``KEY=VALUE`` pairs applied after the file, e.g. ``["train_model.steps=10", "seed=3"]``.

    Returns
    -------
    TrainConfig

    Raises
    ------
    TrainConfigError
        For a missing or unreadable file, an unknown key, a wrong type or an invalid value.
    ImportError
        If PyYAML is not installed.
    """
    try:
        import yaml
    except ImportError as e:  # pragma: no cover - part of the [train] extra
        raise ImportError("training configs need PyYAML; `pip install 'kronos-plugins[train]'`") from e
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise TrainConfigError(f"config file `{path}` does not exist; pass the path of a YAML file.")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise TrainConfigError(f"config file `{path}` is not valid YAML: {e}") from None
        if not isinstance(data, dict):
            raise TrainConfigError(
                f"config file `{path}` must hold a mapping of keys, got {type(data).__name__}."
            )
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for k in keys[:-1]:
            child = node.get(k)
            if not isinstance(child, dict):
                child = node[k] = {}
            node = child
        node[keys[-1]] = value
    return TrainConfig.from_dict(data)
