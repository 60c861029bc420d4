"""Analyzers that plug into ``cerebro.addanalyzer``."""

from .performance import Performance

__all__ = ["Performance"]

try:  # the Monte Carlo analyzer lives in its own module
    from .montecarlo import MonteCarlo  # noqa: F401

    __all__.append("MonteCarlo")
except ImportError:  # pragma: no cover - only while the module is absent
    pass
