"""The :class:`Study`: the ask -> run -> tell loop, and the results object users read.

- :mod:`.core`: :class:`Study` itself, put together from the parts below;
- :mod:`.records`: what the study knows of its trials (lean records, cache, best);
- :mod:`.loop`: :meth:`Study.optimize` and the runs that share a study;
- :mod:`.views`: the best trial, the ``trials`` table, analyzer output and returns, ``run_best``;
- :mod:`.analysis`: overfitting statistics, importances, plots and the report (delegated).
"""

from ..frames import trials_frame
from .core import Study
from .loop import AWAIT_POLL_S, MAX_INFEASIBLE_IN_A_ROW
from .records import REJECTED

__all__ = ["Study", "MAX_INFEASIBLE_IN_A_ROW", "AWAIT_POLL_S", "REJECTED", "trials_frame"]
