"""GluonTS adapter: `KronosPredictor`, a GluonTS `Predictor` backed by `KronosPipeline`, and `KronosEstimator`,
whose ``train(training_data, validation_data)`` fine-tunes Kronos and returns a `KronosPredictor`.

A thin translator: each dataset entry becomes a context frame (its ``start`` Period and frequency give the
timestamps), the pipeline samples the paths, and each series' slice of the `KronosForecast` becomes a
`SampleForecast`. Sampling, normalisation and input validation are the pipeline's.

References
----------
Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
"""

import os
import shutil
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..calibration import CalibrationConfig
from ..columns import frame_from_close
from ..config import SamplingConfig
from ..validation import KRONOS_COLUMNS, KronosInputError, check_positive_int, resolve_columns
from ._common import KronosSettings, base_name, finetune_settings, require

require("gluonts", "KronosPredictor", "gluonts")

from gluonts.dataset.util import forecast_start  # noqa: E402
from gluonts.model.estimator import Estimator  # noqa: E402
from gluonts.model.forecast import SampleForecast  # noqa: E402
from gluonts.model.predictor import RepresentablePredictor  # noqa: E402

__all__ = ["KronosEstimator", "KronosPredictor"]

_CLOSE = KRONOS_COLUMNS.index("close")
#: Where `KronosPredictor.serialize` puts fine-tuned weights inside its directory.
_WEIGHTS_DIR = "kronos-weights"


class KronosPredictor(RepresentablePredictor):
    """Kronos as a GluonTS predictor: probabilistic forecasts (`SampleForecast`) for every dataset entry.

    Two target layouts are supported.

    - **Univariate** (``target_columns=None``, 1-D target): the target is read as closes and turned into
      an OHLC frame by `kronos_plugins.columns.frame_from_close` (each bar opens at the previous close;
      volume and amount are absent and the pipeline sets them to 0). The forecast's samples are the close
      paths, shaped (num_samples, prediction_length).
    - **Multivariate** (2-D target shaped (dim, T), e.g. a ``ListDataset(..., one_dim_target=False)``): row
      ``d`` of the target is the Kronos column ``target_columns[d]``; open, high, low and close are required,
      volume and amount optional. Samples are shaped (num_samples, prediction_length, dim), in
      `target_columns` order.

    Dynamic and static features (``feat_dynamic_real``, ``feat_static_cat``, ...) are ignored: Kronos
    conditions only on the bars and their calendar. Targets must be complete (impute NaNs first). The entry's
    ``start`` must be a pandas Period (GluonTS's default): bar ``t`` is stamped with the start time of the
    Period ``start + t``, and the forecast bars with those of the Periods after the last target entry, which
    are passed to the pipeline as ``future_timestamps`` (so the dataset's frequency, e.g. business days, is
    respected).

    Parameters
    ----------
    prediction_length : int
        Bars to forecast.
    model, tokenizer : str or path, optional
        Checkpoint directories or hub ids (see `KronosPipeline.from_pretrained`); stored as strings, so the
        predictor serializes. None (the default) is the small checkpoint bundled with the package, offline.
    max_context : int, optional
        Model window; defaults to the checkpoint's (128 bundled, 512 Kronos-small/-base, 2048 Kronos-mini).
    device : str, optional
        Torch device, default "cpu".
    num_samples : int, optional
        Sample paths per entry (`predict` can override it); replaces ``sampling.num_samples`` (default 100).
    temperature, top_k, top_p : optional
        Sampling settings (see `kronos_plugins.config.SamplingConfig`); each one given replaces that field of
        `sampling` (defaults: the checkpoint's temperature, 1.0 unless its ``bundle.json`` names one; 0; 1.0).
    seed : int, optional
        Same seed, same forecasts. Entry ``p`` of the dataset (0-based, in iteration order) gets the paths of
        series ``p`` of one ``KronosPipeline.forecast(all_frames, seed=seed)`` call, whatever `batch_size` is
        (each batch passes its offset); a one-entry dataset gives exactly ``KronosPipeline.forecast(frame,
        seed=seed)``. Paths depend on an entry's position (a `ParallelizedPredictor`, which splits the dataset
        into chunks, changes them). None draws fresh entropy.
    column_mapping : dict, optional
        Multivariate targets only: Kronos column -> the name that `target_columns` uses for it, e.g.
        ``{"close": "c"}`` with ``target_columns=["o", "h", "l", "c"]``.
    target_columns : list of str, optional
        Names of the rows of a multivariate target, in order: Kronos column names (open, high, low, close,
        volume, amount) or names that `column_mapping` maps to. None (default) means univariate close-only
        targets.
    batch_size : int, default=16
        Entries per pipeline call.
    lookback : int, optional
        Use only the last `lookback` bars of each entry's target as context (None: the pipeline's
        default, the bundled checkpoint's default context of 64 bars (its bundle.json), or the whole target for published
        checkpoints).
    allow_non_positive : bool, default=False
        Accept values <= 0 in price rows (targets that are not prices); by default they are an error.
    calibration : {None, "conformal", "scale"}, dict or CalibrationConfig, optional
        Calibrate the sample paths from pseudo-forecasts inside each entry's target (see
        `kronos_plugins.calibration`, the `Calibrator` layer); its pseudo-forecasts cost ``n_origins``
        forecasts per entry, run in one batched call per batch. It is kept as the dict of the
        `CalibrationConfig` fields, so the predictor still serializes. ``info["kronos"]["calibration"]`` of
        each forecast says what was done.
    sampling : SamplingConfig or dict, optional
        The sampling settings as one value (kept as the dict of its fields, so the predictor serializes).
    ohlc : {"raise", "widen"}, default="raise"
        Bars whose high/low do not hold their open and close: an error, or widened and reported in
        ``info["kronos"]["ohlc_widened"]`` (see `KronosPipeline.forecast`).

    Notes
    -----
    The pipeline draws path ``j`` of series ``i`` from the random stream ``(seed, series_offset + i, j)``; each
    batch passes the position of its first entry as ``series_offset``, so batching never changes a path.

    Examples
    --------
    >>> from gluonts.dataset.common import ListDataset
    >>> ds = ListDataset([{"start": "2024-01-02 09:30", "target": closes}], freq="5min")  # doctest: +SKIP
    >>> predictor = KronosPredictor(prediction_length=12, model="NeoQuasar/Kronos-small",  # doctest: +SKIP
    ...                             tokenizer="NeoQuasar/Kronos-Tokenizer-base", num_samples=50, seed=0)
    >>> forecast = next(iter(predictor.predict(ds)))  # doctest: +SKIP
    >>> forecast.samples.shape  # doctest: +SKIP
    (50, 12)

    References
    ----------
    Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
    """

    # Not `@validated()`: its pydantic model would silently truncate `num_samples=2.5` to 2 and reject a
    # `pathlib.Path` checkpoint. `__init_args__` and `__getnewargs_ex__` are what GluonTS' serde and
    # equality read, so `serialize`/`deserialize`, `==` and pickling work as for validated predictors.
    def __init__(
        self,
        prediction_length: int,
        model: str | os.PathLike | None = None,
        tokenizer: str | os.PathLike | None = None,
        max_context: int | None = None,
        device: str | None = None,
        num_samples: int | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        column_mapping: dict[str, str] | None = None,
        target_columns: list[str] | None = None,
        batch_size: int = 16,
        lookback: int | None = None,
        allow_non_positive: bool = False,
        calibration: str | dict | CalibrationConfig | None = None,
        sampling: SamplingConfig | dict | None = None,
        ohlc: str = "raise",
    ) -> None:
        prediction_length = check_positive_int(prediction_length, "prediction_length")
        super().__init__(prediction_length=prediction_length)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if seed is not None:
            check_positive_int(seed, "seed", minimum=0)
        model = None if model is None else os.fspath(model)
        tokenizer = None if tokenizer is None else os.fspath(tokenizer)
        column_mapping = None if column_mapping is None else dict(column_mapping)
        config = CalibrationConfig.coerce(calibration)
        calibration = None if config is None else config.to_dict()  # JSON-friendly for GluonTS' serde
        if sampling is not None:  # checked now; a dict keeps only its own fields (a checkpoint's default
            # temperature still applies to one that sets none), a SamplingConfig all of them
            checked = SamplingConfig.resolve(sampling)
            sampling = dict(sampling) if isinstance(sampling, Mapping) else checked.to_dict()
        self.target_columns = None if target_columns is None else list(target_columns)
        self.__init_args__ = OrderedDict(
            prediction_length=prediction_length,
            model=model,
            tokenizer=tokenizer,
            max_context=max_context,
            device=device,
            num_samples=num_samples,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
            column_mapping=column_mapping,
            target_columns=self.target_columns,
            batch_size=self.batch_size,
            lookback=lookback,
            allow_non_positive=allow_non_positive,
            calibration=calibration,
            sampling=sampling,
            ohlc=ohlc,
        )
        self._settings = KronosSettings.from_args(self.__init_args__)
        self._kronos_columns = _resolve_target_columns(self.target_columns, column_mapping)
        self._dims = (
            None if self._kronos_columns is None else [KRONOS_COLUMNS.index(c) for c in self._kronos_columns]
        )

    def __getnewargs_ex__(self) -> tuple[tuple, dict]:
        return (), dict(self.__init_args__)

    def serialize(self, path: Path) -> None:
        """GluonTS serialization; fine-tuned weights (a `model` directory written by fine-tuning) are copied
        into ``path/kronos-weights``, so the serialized predictor is self-contained."""
        path = Path(path)
        model = self.__init_args__["model"]
        if model is not None and (Path(model) / "finetune.json").is_file():
            shutil.copytree(model, path / _WEIGHTS_DIR, dirs_exist_ok=True)
        super().serialize(path)

    @classmethod
    def deserialize(cls, path: Path, **kwargs) -> "KronosPredictor":
        """Load a predictor written by `serialize` (with its fine-tuned weights, if it has them)."""
        from gluonts.core.serde import load_json

        path = Path(path)
        with (path / "predictor.json").open("r") as fp:
            args = dict(load_json(fp.read()).__init_args__)
        if (path / _WEIGHTS_DIR).is_dir():
            args["model"] = str(path / _WEIGHTS_DIR)
        return cls(**args)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.__init_args__.items())
        return f"{type(self).__name__}({args})"

    def predict(self, dataset: Iterable[dict], num_samples: int | None = None) -> Iterator[SampleForecast]:
        """Forecast every entry of `dataset`, in order.

        Parameters
        ----------
        dataset : gluonts Dataset or iterable of dict
            Entries with ``start`` (a pandas Period) and ``target``; ``item_id`` and ``info`` are passed on.
        num_samples : int, optional
            Overrides the predictor's `num_samples` (with a seed, the first ``k`` paths of more samples are
            the paths of ``num_samples=k``).

        Yields
        ------
        SampleForecast
            ``samples`` float64 shaped (num_samples, prediction_length) for univariate targets or
            (num_samples, prediction_length, dim) for multivariate ones; ``start_date`` the Period after the
            entry's last target value; ``item_id`` the entry's; ``info`` the entry's ``info`` plus
            ``info["kronos"]`` with the entry's ``seed`` and ``constructed_columns`` (volume/amount that
            the pipeline constructed because the target lacks them).
        """
        pipe = self._settings.forecaster()
        kwargs = self._settings.forecast_kwargs(num_samples)
        kwargs["column_mapping"] = None  # the frames already carry Kronos column names
        per_call = self.batch_size
        batch: list[tuple[int, dict]] = []
        for position, entry in enumerate(dataset):
            batch.append((position, entry))
            if len(batch) == per_call:
                yield from self._predict_batch(pipe, batch, kwargs)
                batch = []
        if batch:
            yield from self._predict_batch(pipe, batch, kwargs)

    def _predict_batch(self, pipe, batch: list[tuple[int, dict]], kwargs: dict) -> Iterator[SampleForecast]:
        frames, futures = [], []
        for position, entry in batch:
            frame, future = self._entry_frame(position, entry)
            frames.append(frame)
            futures.append(future)
        seed = self._settings.seed
        try:
            fc = pipe.forecast(
                frames,
                horizon=self.prediction_length,
                future_timestamps=futures,
                item_ids=[entry.get("item_id", position) for position, entry in batch],
                series_offset=batch[0][0],
                **kwargs,
            )
        except KronosInputError as e:
            if len(batch) == 1:
                raise KronosInputError(f"GluonTS {_describe(*batch[0])}: {e}") from e
            first, last = batch[0][0], batch[-1][0]
            raise KronosInputError(
                f"GluonTS entries {first} to {last} (`context[i]` is entry {first} + i): {e}"
            ) from e
        for k, (_, entry) in enumerate(batch):
            if self._kronos_columns is None:
                samples = fc.samples[k, :, :, _CLOSE]  # (S, H)
            else:
                samples = fc.samples[k][..., self._dims]  # (S, H, D), in `target_columns` order
            kronos_info = {"seed": seed, "constructed_columns": fc.constructed_columns[k]}
            if fc.calibration is not None:
                kronos_info["calibration"] = fc.calibration[k]
            if "ohlc_widened" in fc.info:
                kronos_info["ohlc_widened"] = fc.info["ohlc_widened"][k]
            info = {**(entry.get("info") or {}), "kronos": kronos_info}
            yield SampleForecast(
                samples=samples, start_date=forecast_start(entry), item_id=entry.get("item_id"), info=info
            )

    def _entry_frame(self, position: int, entry: dict) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
        """The context frame of one entry and the timestamps of its forecast bars."""
        start = entry.get("start")
        if not isinstance(start, pd.Period):
            raise KronosInputError(
                f"GluonTS {_describe(position, entry)}: `start` must be a pandas Period (GluonTS's default "
                f"when a dataset is built with a `freq`), got {type(start).__name__} {start!r}."
            )
        target = np.asarray(entry["target"])
        if self._kronos_columns is None:
            if target.ndim != 1:
                raise KronosInputError(
                    f"GluonTS {_describe(position, entry)} has a target shaped {target.shape}, but "
                    "`target_columns` is None, which means a 1-D close-only target. For an OHLCV target "
                    "shaped (dim, T) name its rows, e.g. `target_columns=['open', 'high', 'low', 'close', "
                    "'volume']`."
                )
        elif target.ndim != 2 or target.shape[0] != len(self._kronos_columns):
            raise KronosInputError(
                f"GluonTS {_describe(position, entry)} has a target shaped {target.shape}, but "
                f"`target_columns` {self.target_columns} names {len(self._kronos_columns)} rows; pass a "
                f"2-D target shaped ({len(self._kronos_columns)}, T) (`ListDataset(..., "
                "one_dim_target=False)`) or one name per target row."
            )
        n = target.shape[-1]
        index = _period_start_times(start, n)
        future = _period_start_times(start + n, self.prediction_length)
        if self._kronos_columns is None:
            name = f"GluonTS {_describe(position, entry)}"
            frame = frame_from_close(pd.Series(target, index=index), name=name)
        else:
            frame = pd.DataFrame(target.T, index=index, columns=self._kronos_columns)
        return frame, future


class KronosEstimator(Estimator):
    """Fine-tuning Kronos as a GluonTS estimator: ``train(training_data, validation_data)`` returns a
    `KronosPredictor` on the fine-tuned weights.

    The entries are read as `KronosPredictor` reads them (univariate closes, or a ``(dim, T)`` OHLCV target
    named by `target_columns`; ``start`` a pandas Period), and `kronos_plugins.training.finetune.finetune`
    trains a copy of the weights on them (the model stage; windows wholly inside each entry, each normalised
    with its own context bars). Validation entries stop the training early: an entry that continues its
    training entry (same position, starting at or before the training entry's end) is cut to its new bars plus
    the context before them, so validation targets are bars the training never saw. Without
    `validation_data`, the last ``val_fraction`` of each entry validates.

    The fine-tuned checkpoint (safetensors, with a model card) is written to `output_dir`, and the predictor's
    `model` points to it: ``predictor.serialize(path)`` copies it inside `path`, so
    ``Predictor.deserialize(path)`` gives the same forecasts anywhere.

    Parameters
    ----------
    prediction_length : int
        Bars the predictor forecasts.
    finetune : FinetuneConfig or dict, optional
        Fine-tuning settings (``steps``, ``lr``, ``context``, ``horizon``, ``freeze`` / ``unfreeze``
        patterns, ...; see `kronos_plugins.training.finetune.FinetuneConfig`); None: the defaults.
    output_dir : str or path, optional
        Where the fine-tuned checkpoint goes; by default a new temporary directory (``kronos-finetuned-*``),
        which is not removed (the predictor reads it).
    **predictor_args
        Every other argument of `KronosPredictor` (``model``, ``tokenizer``, ``target_columns``,
        ``column_mapping``, ``num_samples``, ``seed``, ...), passed to the predictor it returns.

    Examples
    --------
    >>> estimator = KronosEstimator(prediction_length=12, finetune={"steps": 100})  # doctest: +SKIP
    >>> predictor = estimator.train(train_ds, validation_data=val_ds)  # doctest: +SKIP
    >>> forecasts = list(predictor.predict(test_ds))  # doctest: +SKIP

    References
    ----------
    Shi et al., "Kronos: A Foundation Model for the Language of Financial Markets", arXiv 2508.02739.
    """

    def __init__(
        self,
        prediction_length: int,
        finetune: dict | None = None,
        output_dir: str | os.PathLike | None = None,
        **predictor_args,
    ) -> None:
        super().__init__(lead_time=0)
        self.prediction_length = check_positive_int(prediction_length, "prediction_length")
        self.finetune = finetune_settings(True if finetune is None else finetune, "finetune")
        self.output_dir = None if output_dir is None else os.fspath(output_dir)
        # a zero-shot predictor with the same settings: it reads the entries and checks the arguments now
        self._reader = KronosPredictor(prediction_length=self.prediction_length, **predictor_args)
        self.predictor_args = dict(predictor_args)
        self.finetune_result_: dict | None = None

    def train(
        self, training_data: Iterable[dict], validation_data: Iterable[dict] | None = None, **kwargs
    ) -> KronosPredictor:
        """Fine-tune on `training_data` (early stopping on `validation_data`) and return the predictor.

        Returns
        -------
        KronosPredictor
            With ``model`` = the fine-tuned checkpoint directory; ``finetune_result_`` on the estimator holds
            the losses and the data span.
        """
        from ..training.finetune import finetune, window_context

        train = [self._reader._entry_frame(i, e)[0] for i, e in enumerate(training_data)]
        settings = self._reader._settings
        base = settings.pipeline()
        val = None
        if validation_data is not None:
            context = window_context(self.finetune, base)
            val = []
            for i, entry in enumerate(validation_data):
                frame = self._reader._entry_frame(i, entry)[0]
                if (
                    i < len(train)
                    and len(train[i])
                    and frame.index[0] <= train[i].index[-1] < frame.index[-1]
                ):
                    new = int((frame.index > train[i].index[-1]).sum())
                    frame = frame.iloc[-(new + context) :]
                val.append(frame)
        result = finetune(base, train, self.finetune, val_data=val, base=base_name(settings))
        out = Path(self.output_dir) if self.output_dir else Path(tempfile.mkdtemp(prefix="kronos-finetuned-"))
        result.save(out)
        self.finetune_result_ = result.summary()
        args = {**self.predictor_args, "model": str(out), "tokenizer": None, "max_context": None}
        return KronosPredictor(prediction_length=self.prediction_length, **args)


def _resolve_target_columns(target_columns: list[str] | None, column_mapping: dict | None) -> list | None:
    """The Kronos column of each target row (None for univariate targets)."""
    if target_columns is None:
        if column_mapping is not None:
            raise KronosInputError(
                f"`column_mapping` {column_mapping} renames the rows of a multivariate target, but "
                "`target_columns` is None (close-only targets); pass `target_columns` or drop "
                "`column_mapping`."
            )
        return None
    # the library's one column resolver (exact name, mapping, or a unique case-insensitive match), applied to
    # the row names as if they were a frame's columns; every row must then be a Kronos column
    if len(set(target_columns)) < len(target_columns):
        repeated = sorted({c for c in target_columns if target_columns.count(c) > 1})
        raise KronosInputError(
            f"`target_columns` {target_columns} must name each Kronos column at most once; repeated: {repeated}."
        )
    sources = resolve_columns(pd.DataFrame(columns=list(target_columns)), "target_columns", column_mapping)
    kronos_of = {label: col for col, label in sources.items()}
    unknown = [name for name in target_columns if name not in kronos_of]
    if unknown:
        name = unknown[0]
        raise KronosInputError(
            f"`target_columns` entry {name!r} is not a Kronos column {list(KRONOS_COLUMNS)} (names match "
            f"ignoring case); map it with `column_mapping`, e.g. `column_mapping={{'close': {name!r}}}`."
        )
    return [kronos_of[name] for name in target_columns]


def _period_start_times(start: pd.Period, n: int) -> pd.DatetimeIndex:
    """Start times of the `n` Periods from `start` on (the bars' timestamps)."""
    with warnings.catch_warnings():
        # GluonTS represents business days as Periods with freq "B", which pandas deprecates; the dataset
        # already warned when it built them.
        warnings.filterwarnings("ignore", message=r".*(BDay|PeriodDtype\[B\])", category=FutureWarning)
        return pd.period_range(start=start, periods=n, freq=start.freq).to_timestamp(how="start")


def _describe(position: int, entry: dict) -> str:
    item = entry.get("item_id")
    return f"entry {position}" + (f" (item_id {item!r})" if item is not None else "")
