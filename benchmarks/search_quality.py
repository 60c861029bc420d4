"""Search quality and cost of ``optimize_bayes`` against random search, the genetic search and Optuna's TPE.

PLACEHOLDER: the full protocol is written below once the benchmark is complete.
"""

from __future__ import annotations

import argparse
import pathlib
import time
from dataclasses import dataclass
from typing import Any

import backtrader as bt
import pandas as pd

import bt_optimize as bto
from bt_optimize.space import Space, params_key
from sample_strategies import DonchianBreakout, RsiMeanReversion, SmaCross

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / "cache"


@dataclass(frozen=True)
class Problem:
    """A strategy, its data and a discrete space whose every point is backtested once and cached."""

    name: str
    strategy: type
    dataset: str
    fromdate: str
    todate: str
    dims: dict[str, Any]

    def cerebro(self, maxcpus: int = 2) -> bto.Cerebro:
        """The problem's Cerebro: 100k cash, 95 % of equity per trade, 0.1 % commission."""
        cerebro = bto.Cerebro(maxcpus=maxcpus)
        cerebro.adddata(bto.datasets.load(self.dataset, fromdate=self.fromdate, todate=self.todate))
        cerebro.broker.setcash(100_000)
        cerebro.broker.setcommission(commission=0.001)
        cerebro.addsizer(bt.sizers.PercentSizer, percents=95)
        return cerebro

    @property
    def space(self) -> Space:
        return Space(self.dims)

    @property
    def cache_path(self) -> pathlib.Path:
        return CACHE / f"{self.name}.csv"

    def grid(self) -> pd.DataFrame:
        """Every point and its Sharpe ratio (``NaN`` when the trial did not complete), from the cache or computed
        with ``optimize_grid(maxcpus=2)`` and cached."""
        if not self.cache_path.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            study = self.cerebro(2).optimize_grid(self.strategy, objective="sharpe_ratio", progress=False,
                                                  **self.dims)
            df = study.trials
            cols = [f"params_{n}" for n in self.space.names]
            out = df[cols + ["value", "state"]].rename(columns={c: c[len("params_"):] for c in cols})
            out.to_csv(self.cache_path, index=False, float_format="%.10g")
            print(f"grid {self.name}: {len(out)} backtests in {time.perf_counter() - t0:.0f} s -> {self.cache_path}")
        return pd.read_csv(self.cache_path)


PROBLEMS = (
    Problem("sma_orcl", SmaCross, "orcl", "2008-01-01", "2014-12-31",
            dict(fast=bto.Int(4, 40, step=4), slow=bto.Int(50, 200, step=10), stop=bto.Real(0.0, 0.15, step=0.03),
                 ma=bto.Cat(["sma", "ema"]))),
    Problem("donchian_nvda", DonchianBreakout, "nvda", "2004-01-01", "2010-12-31",
            dict(entry=bto.Int(5, 100, step=5), exit=bto.Int(2, 32, step=2),
                 exit_rule=bto.Cat(["channel", "atr", "time"]))),
    Problem("rsi_orcl", RsiMeanReversion, "orcl", "2005-01-01", "2014-12-31",
            dict(period=bto.Int(4, 30, step=2), lower=bto.Real(15.0, 40.0, step=5.0),
                 upper=bto.Real(55.0, 85.0, step=5.0), hold=bto.Int(0, 40, step=10))),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids-only", action="store_true")
    args = parser.parse_args()
    for p in PROBLEMS:
        g = p.grid()
        print(p.name, len(g), int(p.space.cardinality), g.value.describe().to_dict())
    if args.grids_only:
        return


if __name__ == "__main__":
    main()
    _ = params_key
