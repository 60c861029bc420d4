"""Module-level strategies for the objectives tests (worker processes import them by module path)."""

from __future__ import annotations

from sample_strategies import RsiMeanReversion, SmaCross


class SmaCrossIgnoring(SmaCross):
    """``SmaCross`` with a parameter ``unused`` that the strategy never reads: it cannot affect any result."""

    params = (("unused", 0),)


class RsiIgnoring(RsiMeanReversion):
    """``RsiMeanReversion`` with a parameter ``unused`` that the strategy never reads."""

    params = (("unused", 0),)
