"""Choosing an executor by name or by the number of CPUs: :func:`make_executor`."""

from __future__ import annotations

import os

from ...exceptions import OptionError
from .base import Executor
from .process import ProcessExecutor
from .ray import RayExecutor
from .serial import SerialExecutor

__all__ = ["make_executor"]


def make_executor(maxcpus: int | None, executor: str | Executor | None = None) -> Executor:
    """Pick an executor: an instance passes through; ``"serial"``/``"process"``/``"ray"`` by name; else by ``maxcpus``.

    ``maxcpus=None`` or ``0`` means every core (as in backtrader); ``1`` runs in the main process. ``"ray"`` is a
    :class:`~bt_optimize.engine.executors.ray.RayExecutor` with its defaults (a local Ray, or the cluster this
    process is connected to; one actor per CPU of the cluster, whatever ``maxcpus`` says).

    Raises:
        OptionError: an executor name that is none of these.
    """
    if isinstance(executor, Executor):
        return executor
    if executor == "ray":
        return RayExecutor()
    n = maxcpus or os.cpu_count() or 1
    if executor == "serial" or (executor is None and n == 1):
        return SerialExecutor()
    if executor in (None, "process"):
        return ProcessExecutor(n)
    raise OptionError(f"executor={executor!r}: use 'serial', 'process', 'ray' or an Executor instance")
