"""The executor contract: :class:`Executor` turns a stream of trial specs into a stream of
:class:`~bt_optimize.trial.TrialResult`.

Every executor (serial, process, ray) exposes the same small interface: :meth:`Executor.start` once with the
study's :class:`~bt_optimize.engine.worker.Payload`, :meth:`Executor.imap_unordered` per round of specs, and
:meth:`Executor.close`. :func:`dump_payload` pickles the payload once for executors that ship it to workers.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from typing import Any

from ...exceptions import PicklingError
from ...trial import TrialResult
from ..worker import Payload, TrialSpec

__all__ = ["Executor", "dump_payload"]


def _describe_unpicklable(payload: Payload) -> str:
    """Find which part of the payload cannot be pickled, for an error message that names it."""
    checks: list[tuple[str, Any]] = [("the strategy class", payload.strategy)]
    if payload.objective.func is not None:
        checks.append((f"the objective function {payload.objective.name!r}", payload.objective.func))
    for what, obj in checks:
        try:
            pickle.dumps(obj)
        except Exception as exc:
            return f"{what} ({exc})"
    return "part of the study's configuration"


def dump_payload(payload: Payload) -> bytes:
    """Pickle the payload once, with an error that names what cannot be sent to a worker.

    Raises:
        PicklingError: a lambda/local objective, a locally defined strategy, an unpicklable analyzer argument.
    """
    try:
        return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        what = _describe_unpicklable(payload)
        raise PicklingError(
            f"{what} cannot be sent to worker processes: {type(exc).__name__}: {exc}. Define strategies and "
            "objective functions at module level (not lambdas or inside functions), pass analyzer/sizer arguments "
            "that can be pickled, or run in the main process with maxcpus=1"
        ) from exc


class Executor:
    """Runs trial specs and yields their :class:`~bt_optimize.trial.TrialResult` as they finish (in any order)."""

    n_workers = 1

    def start(self, payload: Payload) -> None:
        """Prepare to run trials of the study described by ``payload``."""
        raise NotImplementedError

    def imap_unordered(self, specs: Iterable[TrialSpec]) -> Iterator[TrialResult]:
        """Pull specs lazily (only when a worker is free) and yield each result when it is ready."""
        raise NotImplementedError

    def close(self) -> None:
        """Release workers. Safe to call twice."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
