"""Executors turn a stream of :class:`~bt_optimize.engine.worker.TrialSpec` into a stream of
:class:`~bt_optimize.trial.TrialResult` (plain data, pickled cheaply).

- :mod:`.base`: the :class:`Executor` contract (``start``, ``imap_unordered``, ``close``) and :func:`dump_payload`;
- :mod:`.serial`: :class:`SerialExecutor`, trials in the main process, one by one;
- :mod:`.process`: :class:`ProcessExecutor`, real worker processes on this machine;
- :mod:`.ray`: :class:`RayExecutor`, actors on a Ray cluster (Ray itself is imported only when one starts);
- :mod:`.factory`: :func:`make_executor`, an executor by name or by the number of CPUs.
"""

from .base import Executor, dump_payload
from .factory import make_executor
from .process import ProcessExecutor, default_start_method
from .ray import RayExecutor
from .serial import SerialExecutor

__all__ = ["Executor", "SerialExecutor", "ProcessExecutor", "RayExecutor", "make_executor", "dump_payload",
           "default_start_method"]
