"""The serial executor: every trial in the calling process, one by one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ...trial import TrialResult
from ..worker import Payload, Runtime, TrialSpec
from .base import Executor

__all__ = ["SerialExecutor"]


class SerialExecutor(Executor):
    """Runs every trial in the calling process."""

    def start(self, payload: Payload) -> None:
        self.runtime = Runtime(payload)

    def imap_unordered(self, specs: Iterable[TrialSpec]) -> Iterator[TrialResult]:
        for spec in specs:
            yield self.runtime.run(spec)[0]
