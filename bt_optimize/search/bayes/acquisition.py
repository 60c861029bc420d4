"""Acquisition functions of :class:`~bt_optimize.search.bayes.BayesSearch` and the ``"auto"`` ladder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

__all__ = ["Acquisition", "ACQUISITIONS", "AUTO_LADDER", "AUTO_START", "STALL_THRESHOLD", "FIXED", "HEDGE",
           "auto_level"]

#: Accepted values of ``acquisition``.
ACQUISITIONS = ("auto", "EI", "PI", "LCB", "gp_hedge")

#: Relative improvement (of the best value, as a share of the range of values seen) below which ``"auto"`` calls
#: the last window stalled.
STALL_THRESHOLD = 0.01


@dataclass(frozen=True)
class Acquisition:
    """An acquisition function and its parameter.

    Args:
        name: ``"EI"`` (expected improvement), ``"PI"`` (probability of improvement) or ``"LCB"`` (lower confidence
            bound of the minimised value).
        xi: Improvement margin of EI and PI, in standard deviations of the values seen.
        kappa: Weight of the posterior standard deviation in LCB.
    """

    name: str
    xi: float = 0.01
    kappa: float = 1.96

    def attrs(self) -> dict[str, Any]:
        """The attributes recorded with a trial proposed by this acquisition."""
        if self.name == "LCB":
            return {"acquisition": "LCB", "kappa": self.kappa}
        return {"acquisition": self.name, "xi": self.xi}

    def score(self, mu: np.ndarray, sd: np.ndarray, y_best: float) -> np.ndarray:
        """Acquisition values (larger is better) of a minimised posterior with mean ``mu`` and std ``sd``."""
        sd = np.maximum(sd, 1e-12)
        if self.name == "LCB":
            return -(mu - self.kappa * sd)
        imp = y_best - mu - self.xi
        z = imp / sd
        if self.name == "PI":
            return norm.cdf(z)
        return imp * norm.cdf(z) + sd * norm.pdf(z)


#: The ``"auto"`` ladder, from exploitation (index 0) to exploration (last). ``"auto"`` starts at
#: :data:`AUTO_START` (EI, xi=0.01), moves one rung toward exploration after a stalled window and one rung toward
#: exploitation after a window that improved; it never leaves the ladder. (Chosen on the benchmark problems of
#: ``benchmarks/search_quality.py``: a ladder reaching EI ``xi=0.1`` and LCB ``kappa=4`` explored too far once the
#: good region was found; see ``docs/benchmarks_search.md``.)
AUTO_LADDER: tuple[Acquisition, ...] = (
    Acquisition("PI", xi=0.001),
    Acquisition("EI", xi=0.01),
    Acquisition("LCB", kappa=1.0),
    Acquisition("LCB", kappa=1.96),
    Acquisition("LCB", kappa=3.0),
)
AUTO_START = 1


#: The fixed acquisitions of ``acquisition="EI"``, ``"PI"`` and ``"LCB"``.
FIXED = {"EI": Acquisition("EI", xi=0.01), "PI": Acquisition("PI", xi=0.01), "LCB": Acquisition("LCB", kappa=1.96)}
#: The acquisitions ``"gp_hedge"`` chooses between.
HEDGE = ("EI", "PI", "LCB")


def auto_level(ys: Sequence[float | None], start: int, window: int, period: int,
               stall_threshold: float = STALL_THRESHOLD) -> int:
    """The rung of :data:`AUTO_LADDER` reached after the minimised full-fidelity values ``ys`` (tell order).

    Starting at :data:`AUTO_START`, at told trial ``k = start + period``, ``k + period``, ... one window is judged:
    the best value of the last ``window`` trials against the best before them, relative to the range of values
    seen; below ``stall_threshold`` -> one rung toward exploration, otherwise one toward exploitation.
    ``None`` values (failed, infeasible, pruned) do not count.
    """
    level = AUTO_START
    k = start + period
    while k <= len(ys):
        before = [v for v in ys[: k - window] if v is not None]
        recent = [v for v in ys[k - window: k] if v is not None]
        if before:
            seen = before + recent
            spread = max(seen) - min(seen)
            gain = (min(before) - min(recent)) if recent else 0.0
            rel = gain / spread if spread > 0 else 0.0
            level = min(level + 1, len(AUTO_LADDER) - 1) if rel < stall_threshold else max(level - 1, 0)
        k += period
    return level
