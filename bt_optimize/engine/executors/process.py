"""The process executor: real worker processes on this machine.

Each worker receives the study's :class:`~bt_optimize.engine.worker.Payload` once, at start-up (pickled once by
:func:`~bt_optimize.engine.executors.base.dump_payload`); afterwards only small trial specs and plain results cross
the pipe. A worker that dies (killed, segfault) fails only its trial; a fresh worker replaces it. A worker whose
main process is gone exits on its own.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import wait
from typing import Any

from ...trial import TrialResult, TrialState
from ..worker import Payload, Runtime, TrialSpec
from .base import Executor, dump_payload

__all__ = ["ProcessExecutor", "default_start_method", "PARENT_CHECK_S"]


def default_start_method() -> str:
    """``fork`` on Linux (fast start, what backtrader itself uses), ``spawn`` elsewhere.

    ``BTO_START_METHOD`` in the environment overrides it (``spawn``, ``fork`` or ``forkserver``).
    """
    env = os.environ.get("BTO_START_METHOD")
    if env:
        return env
    return "fork" if sys.platform.startswith("linux") else "spawn"




#: Seconds between a worker's checks that the main process is still alive.
PARENT_CHECK_S = 0.5


def _exit_when_orphaned(parent: int) -> None:
    """Exit this worker as soon as the main process ``parent`` is gone (``kill -9`` gives it no chance to say so).

    Runs in a daemon thread, so it also ends a worker that is in the middle of a long backtest.
    """
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            os._exit(3)  # reparented: nobody is left to read the result, and files must not stay open


def _worker_main(conn: Any, payload_bytes: bytes, parent_end: Any = None, parent: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides what Ctrl-C means
    if parent_end is not None:
        parent_end.close()  # a forked worker inherits the main process's end of its own pipe: drop it, or a dead
        # main process would never look like end-of-file here
    if parent is not None:
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True, name="bto-parent-watch").start()
    runtime = Runtime(payload_bytes)
    while True:
        try:
            spec = conn.recv()
        except (EOFError, OSError):
            break
        if spec is None:
            break
        result, _ = runtime.run(spec)
        conn.send(result)


class _Worker:
    def __init__(self, ctx: Any, payload_bytes: bytes) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        method = ctx.get_start_method()
        # a fork or spawn child's parent is this process, which it watches; a forkserver child's parent is the
        # server (it ends with this process, and then the pipe's end-of-file tells the worker)
        watch = os.getpid() if method in ("fork", "spawn") else None
        inherited = self.conn if method == "fork" else None
        self.proc = ctx.Process(target=_worker_main, args=(child, payload_bytes, inherited, watch), daemon=True)
        self.proc.start()
        child.close()
        self.spec: TrialSpec | None = None

    def stop(self, force: bool = False) -> None:
        try:
            if not force and self.proc.is_alive():
                self.conn.send(None)
                self.proc.join(timeout=5)
        except (OSError, BrokenPipeError):
            pass
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        self.conn.close()


class ProcessExecutor(Executor):
    """Real worker processes on this machine.

    Args:
        n_workers: Number of worker processes.
        start_method: ``multiprocessing`` start method (default: :func:`default_start_method`). The payload
            is always pickled once up front, so a study that works here also works under ``spawn``.
    """

    def __init__(self, n_workers: int, start_method: str | None = None) -> None:
        self.n_workers = max(1, int(n_workers))
        self.ctx = mp.get_context(start_method or default_start_method())
        self.workers: list[_Worker] = []

    def start(self, payload: Payload) -> None:
        self.payload_bytes = dump_payload(payload)
        self.workers = [_Worker(self.ctx, self.payload_bytes) for _ in range(self.n_workers)]

    def imap_unordered(self, specs: Iterable[TrialSpec]) -> Iterator[TrialResult]:
        it = iter(specs)
        exhausted = False
        while True:
            for w in self.workers:
                if w.spec is None and not exhausted:
                    try:
                        spec = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    w.spec = spec
                    try:
                        w.conn.send(spec)
                    except (OSError, BrokenPipeError):
                        pass  # noticed below as a dead worker
            busy = [w for w in self.workers if w.spec is not None]
            if not busy:
                return
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy])
            for i, w in enumerate(list(self.workers)):
                if w.spec is None or (w.conn not in ready and w.proc.sentinel not in ready):
                    continue
                spec = w.spec
                result = None
                if w.conn in ready or w.conn.poll():
                    try:
                        result = w.conn.recv()
                    except (EOFError, OSError):
                        result = None
                if result is not None:
                    w.spec = None
                    yield result
                    continue
                if w.proc.is_alive() and w.proc.sentinel not in ready:
                    continue
                w.proc.join(timeout=1)
                code = w.proc.exitcode
                w.spec = None
                w.stop(force=True)
                self.workers[i] = _Worker(self.ctx, self.payload_bytes)
                yield TrialResult(
                    number=spec.number, state=TrialState.FAIL, window=spec.window,
                    error=f"worker process died while running this trial (exit code {code}"
                          + (f", signal {-code}" if code is not None and code < 0 else "") + ")")

    def close(self) -> None:
        for w in self.workers:
            w.stop(force=w.spec is not None)
        self.workers = []
