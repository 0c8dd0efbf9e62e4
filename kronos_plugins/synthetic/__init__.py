"""Synthetic OHLCV futures from Kronos, their fidelity to real data, and probabilistic backtests.

- `trajectories`: `generate_trajectories` samples many futures per context and repairs every bar into a
  consistent candle (`repair_ohlcv`), counting the repairs.
- `fidelity`: stylised facts (return moments, tails, volatility clustering, leverage, volume-volatility
  correlation), a discriminative score and a temperature / top_p sweep.
- `backtest`: a strategy run on the real future and on every synthetic one, vectorised over paths.
- `strategies`: moving-average crossover and z-score mean reversion.
- `report`: Markdown reports with PNG plots.

The discriminative score needs scikit-learn and the reports need matplotlib. See ``docs/synthetic.md``.
"""

from .backtest import (
    OHLCV,
    BacktestResult,
    LookAheadError,
    backtest,
    path_metrics,
    periods_per_year,
    strategy_returns,
)
from .fidelity import FidelityResult, compare, discriminative_score, sampling_sweep
from .report import write_backtest_report, write_fidelity_report
from .strategies import MovingAverageCrossover, ZScoreMeanReversion
from .trajectories import (
    SyntheticRepairWarning,
    Trajectories,
    generate_trajectories,
    load_pipeline,
    repair_ohlcv,
)

__all__ = [
    "OHLCV",
    "BacktestResult",
    "FidelityResult",
    "LookAheadError",
    "MovingAverageCrossover",
    "SyntheticRepairWarning",
    "Trajectories",
    "ZScoreMeanReversion",
    "backtest",
    "compare",
    "discriminative_score",
    "generate_trajectories",
    "load_pipeline",
    "path_metrics",
    "periods_per_year",
    "repair_ohlcv",
    "sampling_sweep",
    "strategy_returns",
    "write_backtest_report",
    "write_fidelity_report",
]
