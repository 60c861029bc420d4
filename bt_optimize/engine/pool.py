"""One started executor shared by several studies that run at the same time (two-level parallelism).

A walk-forward's windows are independent until they are stitched, so their searches can run side by side: each
window's pipeline (train search, validation, test) runs in its own thread and sends its trials through a
:class:`Lane`, an :class:`~bt_optimize.engine.executors.Executor` like any other as far as the study is concerned.
The calling thread runs :meth:`SharedPool.serve`: the only code that talks to the real executor, which therefore
keeps its single-threaded contract (a process pool's pipes, a cluster client). Trials from every lane queue up
in one FIFO, so a core freed at the end of one window's round takes the next window's trial instead of idling.

How lanes and the server meet:

- A lane keeps up to ``depth`` trials of its study queued or running (default: the executor's workers), pulling
  the next one from the study only when one of its own finishes, so a search that streams still proposes lazily.
  A study that asks in rounds (``batch_size``) gives a lane its round, then nothing until the round is told.
- The server pulls queued trials into the executor as its workers free up. When the queue is empty it waits for
  a lane that is busy (running study code: proposing, recording) to queue more; when every lane is waiting for
  running trials, it lets the executor finish what is running (the only moment a core can idle, and then there
  is nothing else to run) and starts again when trials are queued.
- Trial numbers are unique within a study only, so the server renumbers each trial on its way in and restores
  the study's number on the way back.
- Ctrl-C reaches the server (the main thread): it stops the executor and every lane raises
  ``KeyboardInterrupt`` in its study, which records the study as interrupted. :meth:`SharedPool.cancel` (a
  pipeline that failed) makes the other lanes raise :class:`Cancelled`.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import replace

from ..trial import TrialResult
from .executors import Executor
from .worker import Payload, TrialSpec

__all__ = ["SharedPool", "Lane", "Cancelled"]


class Cancelled(Exception):
    """Raised in a lane whose pool was cancelled because another pipeline failed."""


class Lane(Executor):
    """One study's way into a :class:`SharedPool` (see the module docstring). Use it from one thread."""

    def __init__(self, pool: SharedPool) -> None:
        self.pool = pool
        self.inbox: deque[TrialResult] = deque()
        self.busy = True  # running study code; False only while waiting for a result

    @property
    def n_workers(self) -> int:  # type: ignore[override]
        return self.pool.inner.n_workers

    def start(self, payload: Payload) -> None:
        """Nothing to do: the pool's executor was started once with the shared payload."""

    def imap_unordered(self, specs: Iterable[TrialSpec]) -> Iterator[TrialResult]:
        pool = self.pool
        it = iter(specs)
        exhausted = False
        outstanding = 0
        while True:
            while not exhausted and outstanding < pool.depth:
                try:
                    spec = next(it)
                except StopIteration:
                    exhausted = True
                    break
                pool._submit(self, spec)
                outstanding += 1
            if outstanding == 0:
                return
            res = pool._receive(self)
            outstanding -= 1
            yield res

    def close(self) -> None:
        """Nothing to release per study: :meth:`release` ends the lane, the pool owns the workers."""

    def release(self) -> None:
        """This lane will send nothing more (its pipeline ended)."""
        self.pool._release(self)


class SharedPool:
    """A started executor that several studies in several threads use at once.

    Args:
        inner: The started executor (serial, process or cluster).
        depth: Trials each lane keeps queued or running (default: ``inner.n_workers``).
    """

    def __init__(self, inner: Executor, depth: int | None = None) -> None:
        self.inner = inner
        self.depth = max(1, int(depth or inner.n_workers or 1))
        self._cv = threading.Condition()
        self._queue: deque[tuple[Lane, TrialSpec]] = deque()
        self._lanes: set[Lane] = set()
        self._owner: dict[int, tuple[Lane, int]] = {}
        self._ids = itertools.count()
        self._stop: BaseException | None = None

    def lane(self) -> Lane:
        """A new lane (busy until it first waits); create lanes before :meth:`serve` starts."""
        lane = Lane(self)
        with self._cv:
            self._lanes.add(lane)
        return lane

    # ------------------------------------------------------------------ lane side (pipeline threads)
    def _submit(self, lane: Lane, spec: TrialSpec) -> None:
        with self._cv:
            if self._stop is not None:
                raise self._stopped()
            self._queue.append((lane, spec))
            self._cv.notify_all()

    def _receive(self, lane: Lane) -> TrialResult:
        with self._cv:
            while not lane.inbox:
                if self._stop is not None:
                    raise self._stopped()
                lane.busy = False
                self._cv.notify_all()
                self._cv.wait()
            lane.busy = True
            return lane.inbox.popleft()

    def _release(self, lane: Lane) -> None:
        with self._cv:
            self._lanes.discard(lane)
            lane.busy = False
            self._cv.notify_all()

    def _stopped(self) -> BaseException:
        stop = self._stop
        return KeyboardInterrupt() if isinstance(stop, KeyboardInterrupt) else Cancelled(str(stop))

    def cancel(self, reason: str) -> None:
        """Make every lane raise :class:`Cancelled` at its next submit or wait."""
        with self._cv:
            if self._stop is None:
                self._stop = Cancelled(reason)
            self._cv.notify_all()

    # ------------------------------------------------------------------ server side (the calling thread)
    def _specs(self) -> Iterator[TrialSpec]:
        while True:
            with self._cv:
                while not self._queue:
                    if self._stop is not None or not any(lane.busy for lane in self._lanes):
                        return  # nothing queued and nobody about to queue: let the executor finish what runs
                    self._cv.wait()
                lane, spec = self._queue.popleft()
                gid = next(self._ids)
                self._owner[gid] = (lane, spec.number)
            yield replace(spec, number=gid)

    def _deliver(self, res: TrialResult) -> None:
        with self._cv:
            lane, number = self._owner.pop(res.number)
            if lane in self._lanes:
                lane.inbox.append(replace(res, number=number))
                lane.busy = True
                self._cv.notify_all()

    def serve(self) -> None:
        """Run the lanes' trials until every lane is released (call from the thread that owns the executor).

        Raises:
            KeyboardInterrupt: Ctrl-C; the executor is closed and every lane raises it too.
        """
        try:
            while True:
                with self._cv:
                    while not self._queue and self._lanes and self._stop is None:
                        self._cv.wait(timeout=0.5)
                    if not self._lanes or (self._stop is not None and not self._owner):
                        return
                for res in self.inner.imap_unordered(self._specs()):
                    self._deliver(res)
        except KeyboardInterrupt as exc:
            self.inner.close()
            with self._cv:
                self._stop = exc
                self._owner.clear()
                self._cv.notify_all()
            raise
