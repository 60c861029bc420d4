"""Analyzers that plug into ``cerebro.addanalyzer``.

:class:`Performance` is the engine's own analyzer (every trial runs it; it lives in
:mod:`bt_optimize.engine.performance`) and is offered here for hand-made runs. :class:`MonteCarlo` works on the
trades of the run it watches; :class:`NoiseInfusion` re-runs the strategy through the engine's runner.
"""

from ..engine.performance import Performance
from .montecarlo import MonteCarlo
from .noise import NoiseInfusion

__all__ = ["Performance", "MonteCarlo", "NoiseInfusion"]
