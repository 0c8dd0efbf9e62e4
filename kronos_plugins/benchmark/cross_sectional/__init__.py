"""Cross-sectional evaluation: rank a universe at each rebalance date, score IC / RankIC and costed portfolios.

Modules, one concept each:

* `universe`: a universe of assets sharing a calendar (`load_universe` for the split's reserved ones) and its
  rebalance dates on held-out days;
* `engine`: at each date every model scores every eligible asset from bars up to that date (`run_engine`);
* `signals`: Kronos (one batched forecast per date), statistical forecasters, momentum and reversal;
* `metrics`: IC / RankIC per date, mean, ICIR, Newey-West t;
* `portfolios`: top-k / bottom-k long-short and long-only top-k with turnover and costs;
* `suite`: the YAML suite and building its models; `report`: tables, CSVs and plots.

Run it with ``python -m kronos_plugins.benchmark.cross_sectional run benchmarks/suites/cross_sectional.yaml``.
"""

from .engine import EXCLUSION_REASONS, EngineResult, run_engine
from .metrics import ic_by_date, newey_west_t, pearson, spearman, summarise_ic
from .portfolios import Costs, backtest, portfolio_stats
from .signals import PATH_SIGNALS, BaselineSignals, KronosSignals, Momentum, Reversal, path_signals
from .universe import Universe, load_universe, rebalance_schedule

__all__ = [
    "EXCLUSION_REASONS",
    "PATH_SIGNALS",
    "BaselineSignals",
    "Costs",
    "EngineResult",
    "KronosSignals",
    "Momentum",
    "Reversal",
    "Universe",
    "backtest",
    "ic_by_date",
    "load_universe",
    "newey_west_t",
    "path_signals",
    "pearson",
    "portfolio_stats",
    "rebalance_schedule",
    "run_engine",
    "spearman",
    "summarise_ic",
]
