"""Small, deterministic backtrader strategies used by the examples, docs, tests and benchmarks."""

from sample_strategies.donchian import DonchianBreakout
from sample_strategies.rsi_revert import RsiMeanReversion
from sample_strategies.sma_cross import SmaCross
from sample_strategies.two_feed import TwoFeedSma

__all__ = ["DonchianBreakout", "RsiMeanReversion", "SmaCross", "TwoFeedSma"]
