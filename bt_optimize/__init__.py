"""bt_optimize: fast, sample-efficient, honest parameter search for backtrader.

Change one import and one call::

    import bt_optimize as bto
    cerebro = bto.Cerebro(maxcpus=2)
    cerebro.adddata(bto.datasets.load("orcl"))
    study = cerebro.optimize_random(SmaCross, fast=bto.Int(2, 60), slow=bto.Int(10, 250), n_trials=200, seed=1)
    study.best_params, study.best_value, study.trials
"""

from . import analyzers, datasets, objectives
from ._version import __version__
from .cerebro import Cerebro
from .engine.executors import RayExecutor
from .exceptions import (
    AllTrialsFailedError,
    BtOptimizeError,
    ClusterError,
    ConfigError,
    DataError,
    ObjectiveError,
    ObjectiveReadError,
    OptionError,
    PicklingError,
    SpaceError,
    StorageError,
    StudyMismatchError,
)
from .objective import BUILTIN_METRICS, Objective
from .objectives import Limits, Score
from .space import Cat, Int, Real, Space
from .study import Study
from .trial import Trial, TrialResult, TrialState, Window
from .walkforward import WalkForward

__all__ = [
    "Cerebro", "Study", "Int", "Real", "Cat", "Space", "Objective", "Score", "Limits", "BUILTIN_METRICS", "Trial",
    "TrialResult", "TrialState", "Window", "WalkForward", "analyzers", "datasets", "objectives", "BtOptimizeError",
    "SpaceError",
    "ObjectiveError", "DataError", "StorageError", "StudyMismatchError", "OptionError", "PicklingError",
    "AllTrialsFailedError", "ConfigError", "ClusterError", "RayExecutor", "ObjectiveReadError", "__version__",
]


def __getattr__(name: str):  # plotting is optional and imported lazily
    if name == "plot_distribution":
        from .plotting import plot_distribution

        return plot_distribution
    raise AttributeError(f"module 'bt_optimize' has no attribute {name!r}")
