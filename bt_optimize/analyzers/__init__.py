"""Analyzers that plug into ``cerebro.addanalyzer``."""

from .montecarlo import MonteCarlo
from .noise import NoiseInfusion
from .performance import Performance

__all__ = ["Performance", "MonteCarlo", "NoiseInfusion"]
