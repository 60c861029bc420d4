"""Analyzers that plug into ``cerebro.addanalyzer``."""

from .performance import Performance

__all__ = ["Performance"]

try:  # the Monte Carlo analyzer lives in its own module
    from .montecarlo import MonteCarlo  # noqa: F401

    __all__.append("MonteCarlo")
except ImportError:  # pragma: no cover - only while the module is absent
    pass

try:  # the noise-infusion analyzer lives in its own module
    from .noise import NoiseInfusion  # noqa: F401

    __all__.append("NoiseInfusion")
except ImportError:  # pragma: no cover - only while the module is absent
    pass
