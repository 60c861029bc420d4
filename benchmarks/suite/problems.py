"""The problems of the search suite: a strategy, a data slice, an objective and a discrete grid each.

Every grid is backtested exhaustively once with ``optimize_grid(maxcpus=2)`` and cached as one CSV per problem in
``benchmarks/suite/cache/`` (parameters, value, state); delete a file to recompute it. The searches are then scored
against the cached values (see ``run.py``).

The problems were chosen to cover the kinds of landscape ``optimize_bayes`` met badly on problems it was never
tuned on: short series with few trades, grids where many points never trade, lone spikes, small grids, four or
five mixed dimensions, 5-minute intraday bars, a parameter that matters for one category only, and objectives
other than the Sharpe ratio. :data:`SPLIT` assigns each problem to the ``tune`` or the ``holdout`` half; it was
drawn once with :func:`draw_split` (seed :data:`SPLIT_SEED`) and is written down here so that it never moves.
"""

from __future__ import annotations

import math
import pathlib
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import bt_optimize as bto
from bt_optimize.space import Cat, Int, Real, Space, params_key

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = HERE / "cache"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.search_quality import _dim_text as dim_text  # noqa: E402
from benchmarks.search_quality import _typed as typed  # noqa: E402
from benchmarks.search_quality import make_cerebro  # noqa: E402
from benchmarks.suite.strategies import (  # noqa: E402
    BollingerAtr,
    KeltnerBreakout,
    MacdTrend,
    OpeningRange,
    RocMomentum,
    StochRevert,
    TypedMaCross,
    VolBreakout,
)
from sample_strategies import DonchianBreakout, RsiMeanReversion  # noqa: E402

SPLIT_SEED = 20261129


@dataclass(frozen=True)
class Problem:
    """One problem of the suite.

    Args:
        name: Short identifier (also the cache file's name).
        kind: What the problem stands for (shown in the docs).
        strategy: The strategy class.
        dataset: A bundled dataset name.
        fromdate, todate: The data slice.
        dims: The discrete space.
        objective: The metric maximised.
    """

    name: str
    kind: str
    strategy: type
    dataset: str
    fromdate: str
    todate: str
    dims: dict[str, Any] = field(hash=False)
    objective: str = "sharpe_ratio"

    @property
    def space(self) -> Space:
        return Space(self.dims)

    @property
    def cache_path(self) -> pathlib.Path:
        return CACHE / f"{self.name}.csv"

    def cerebro(self, maxcpus: int = 2) -> bto.Cerebro:
        """100k cash, 95 % of equity per trade, 0.1 % commission (as ``benchmarks/search_quality.py``)."""
        return make_cerebro(self.dataset, self.fromdate, self.todate, maxcpus)

    def build(self, maxcpus: int = 2) -> pd.DataFrame:
        """Backtest every point (``optimize_grid``) and write the cache; returns the table."""
        CACHE.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        study = self.cerebro(maxcpus).optimize_grid(self.strategy, objective=self.objective, progress=False,
                                                    **self.dims)
        df = study.trials
        cols = [f"params_{n}" for n in self.space.names]
        out = df[cols + ["value", "state"]].rename(columns={c: c[len("params_"):] for c in cols})
        if "n_trades" in df.columns:
            out["n_trades"] = df["n_trades"]
        out.to_csv(self.cache_path, index=False, float_format="%.8g")
        print(f"{self.name}: {len(out)} backtests in {time.perf_counter() - t0:.0f} s", flush=True)
        return out

    def grid(self) -> pd.DataFrame:
        """The cached table (built first if missing)."""
        if not self.cache_path.exists():
            return self.build()
        return pd.read_csv(self.cache_path)

    def table(self) -> dict[str, float | None]:
        """``params_key`` -> value (``None`` when the point failed or its value is not finite) of every point."""
        space = self.space
        out: dict[str, float | None] = {}
        for row in self.grid().to_dict("records"):
            p = {n: typed(space[n], row[n]) for n in space.names}
            v = row["value"]
            ok = row["state"] == "complete" and isinstance(v, float) and math.isfinite(v)
            out[params_key(p)] = float(v) if ok else None
        missing = [p for p in space.grid() if params_key(p) not in out]
        if missing:
            raise RuntimeError(f"{self.cache_path} lacks {len(missing)} points (e.g. {missing[0]}); delete it")
        return out

    def describe(self) -> str:
        dims = ", ".join(f"`{n}` {dim_text(d)}" for n, d in self.space.dims.items())
        return (f"`{self.strategy.__name__}` on {self.dataset} {self.fromdate}..{self.todate}, {self.objective}: "
                f"{dims} ({int(self.space.cardinality)} points)")


PROBLEMS: tuple[Problem, ...] = (
    Problem("rsi_short_orcl", "short series (about 380 bars), few trades, many points never trade",
            RsiMeanReversion, "orcl", "2013-07-01", "2014-12-31",
            dict(period=Int(4, 16, step=2), lower=Real(10.0, 40.0, step=5.0), upper=Real(55.0, 80.0, step=5.0))),
    Problem("donchian_small_nvda", "small grid (190 points: 10 % is 19 trials)",
            DonchianBreakout, "nvda", "2008-01-01", "2010-12-31",
            dict(entry=Int(10, 100, step=10), exit=Int(2, 38, step=2))),
    Problem("bb_atr_5min", "5-minute intraday bars, stepped Reals",
            BollingerAtr, "index-2006-5min", "2006-01-09", "2006-01-31",
            dict(period=Int(10, 50, step=10), devfactor=Real(1.5, 3.0, step=0.25), atr_mult=Real(1.0, 4.0, step=0.5))),
    Problem("ma_cat_nvda", "categorical MA type, 3 years daily",
            TypedMaCross, "nvda", "2005-01-01", "2007-12-31",
            dict(fast=Int(5, 30, step=5), slow=Int(40, 200, step=20), ma=Cat(["sma", "ema", "wma", "dema"]))),
    Problem("cond_stop_orcl", "conditional parameter: the stop matters only for exit=trail",
            TypedMaCross, "orcl", "2010-01-01", "2012-12-31",
            dict(fast=Int(5, 20, step=5), slow=Int(30, 120, step=30), exit=Cat(["cross", "trail", "time"]),
                 stop=Real(0.02, 0.10, step=0.02))),
    Problem("roc_calmar_nvda", "calmar_ratio objective",
            RocMomentum, "nvda", "2011-01-01", "2014-12-31",
            dict(period=Int(5, 60, step=5), threshold=Real(0.0, 0.15, step=0.03), hold=Int(5, 25, step=10)),
            objective="calmar_ratio"),
    Problem("keltner_pf_orcl", "profit_factor objective",
            KeltnerBreakout, "orcl", "2003-01-01", "2006-12-31",
            dict(period=Int(10, 40, step=5), mult=Real(1.0, 3.0, step=0.5), trail=Real(1.0, 6.0, step=1.0)),
            objective="profit_factor"),
    Problem("stoch_index_daily", "short series (255 daily bars of the 2006 index), few trades",
            StochRevert, "index-2006-daily", "2006-01-01", "2006-12-31",
            dict(period=Int(5, 25, step=2), lower=Int(5, 30, step=5), upper=Int(70, 90, step=5))),
    Problem("mix5_nvda", "five dimensions mixing Int, stepped Real and Cat",
            TypedMaCross, "nvda", "2009-01-01", "2011-12-31",
            dict(fast=Int(5, 25, step=5), slow=Int(30, 90, step=20), ma=Cat(["sma", "ema", "wma"]),
                 stop=Real(0.04, 0.12, step=0.04), filter=Cat(["none", "rsi"]))),
    Problem("orb_5min", "5-minute intraday opening-range breakout",
            OpeningRange, "index-2006-5min", "2006-01-01", "2006-01-31",
            dict(range_bars=Int(1, 12), target=Real(0.5, 3.0, step=0.5), stop=Real(0.5, 2.5, step=0.5))),
    Problem("macd_orcl", "four dimensions with a Cat filter, 5 years daily",
            MacdTrend, "orcl", "2005-01-01", "2009-12-31",
            dict(fast=Int(6, 18, step=3), slow=Int(20, 40, step=5), signal=Int(5, 13, step=2),
                 filter=Cat(["none", "sma100"]))),
    Problem("volbreak_nvda_short", "short series (about 370 bars), rare signals: a lone spike",
            VolBreakout, "nvda", "2006-01-01", "2007-06-30",
            dict(k=Real(0.5, 3.0, step=0.25), atr=Int(5, 30, step=5), hold=Int(1, 9, step=2))),
    Problem("donchian_exit_orcl", "small grid with a categorical exit rule",
            DonchianBreakout, "orcl", "2011-01-01", "2014-12-31",
            dict(entry=Int(10, 80, step=10), exit=Int(5, 40, step=5), exit_rule=Cat(["channel", "atr", "time"]))),
    Problem("bb_short_nvda", "short series (about 370 bars) mean reversion, few trades",
            BollingerAtr, "nvda", "2013-01-01", "2014-06-30",
            dict(period=Int(10, 50, step=10), devfactor=Real(1.5, 3.0, step=0.25), atr_mult=Real(1.0, 4.0, step=0.5))),
    Problem("rsi_5min", "5-minute intraday RSI reversion, many points never trade",
            RsiMeanReversion, "index-2006-5min", "2006-01-01", "2006-01-20",
            dict(period=Int(2, 14, step=4), lower=Real(10.0, 40.0, step=5.0), upper=Real(60.0, 90.0, step=5.0))),
    Problem("sma_index_daily", "tiny grid (110 points) on 255 daily bars",
            TypedMaCross, "index-2006-daily", "2006-01-01", "2006-12-31",
            dict(fast=Int(2, 20, step=2), slow=Int(25, 75, step=5))),
)

BY_NAME = {p.name: p for p in PROBLEMS}


def draw_split(names: list[str], seed: int = SPLIT_SEED) -> dict[str, str]:
    """Assign half of ``names`` (sorted) to ``"tune"`` and the rest to ``"holdout"``, at random with ``seed``."""
    names = sorted(names)
    order = np.random.default_rng(seed).permutation(len(names))
    tune = {names[i] for i in order[: len(names) // 2]}
    return {n: ("tune" if n in tune else "holdout") for n in names}


#: The split, drawn once by ``draw_split([p.name for p in PROBLEMS])`` on 2026-11-29 and frozen here (a test checks
#: the two agree). Tune: defaults may be chosen on these. Holdout: a default stays only if it also helps here.
SPLIT: dict[str, str] = {
    "bb_atr_5min": "tune", "bb_short_nvda": "tune", "keltner_pf_orcl": "tune", "mix5_nvda": "tune",
    "roc_calmar_nvda": "tune", "rsi_5min": "tune", "stoch_index_daily": "tune", "volbreak_nvda_short": "tune",
    "cond_stop_orcl": "holdout", "donchian_exit_orcl": "holdout", "donchian_small_nvda": "holdout",
    "ma_cat_nvda": "holdout", "macd_orcl": "holdout", "orb_5min": "holdout", "rsi_short_orcl": "holdout",
    "sma_index_daily": "holdout",
}
