"""Who is running a study: the identity of one run, and when a run that stopped answering counts as gone.

Several processes may run one study in a shared SQLite file at the same time (on one machine, or on several
machines sharing a file system). Each run registers itself, then *claims* every point before running it
(:meth:`bt_optimize.storage.base.Storage.claim`): a point claimed by a live run is never run by another, and
trial numbers are handed out by the storage, so two runs never collide. A claim of a run that is gone (its
process ended without storing the trial: ``kill -9``, a crash) is *stale* and may be claimed again.
"""

from __future__ import annotations

import datetime as _dt
import os
import socket
from dataclasses import dataclass

__all__ = ["RunInfo", "RUN_TIMEOUT_S", "CONSTRAINT_REJECTED"]

#: Error text of a trial the constraint rejected: recorded ``infeasible`` without a backtest, it is the only kind
#: of trial that does not spend the budget ``n_trials`` (cache hits are never stored as trials of their own).
CONSTRAINT_REJECTED = "rejected by the constraint"

#: A run on another host that has written nothing (no claim, no trial) for this many seconds counts as gone.
#: On the same host a run is gone as soon as its process is.
RUN_TIMEOUT_S = 3600.0


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


@dataclass(frozen=True)
class RunInfo:
    """One process running a study.

    Attributes:
        host: Host name of the machine.
        pid: Process id there.
        started: When the run began (ISO 8601, UTC, seconds).
    """

    host: str
    pid: int
    started: str

    @classmethod
    def this_process(cls) -> RunInfo:
        """The run of the calling process, starting now."""
        return cls(socket.gethostname(), os.getpid(), _now().replace(microsecond=0).isoformat())

    @property
    def owner(self) -> str:
        """The text stored with each claim."""
        return f"{self.host}|{self.pid}|{self.started}"

    @classmethod
    def parse(cls, owner: str) -> RunInfo:
        """The inverse of :attr:`owner`."""
        host, pid, started = owner.rsplit("|", 2)
        return cls(host, int(pid), started)

    def describe(self) -> str:
        """``"pid 123 on host 'box' (started 2026-01-02T03:04:05+00:00)"``."""
        return f"pid {self.pid} on host {self.host!r} (started {self.started})"

    def is_gone(self, heartbeat: str | None) -> bool:
        """Whether this run has ended without cleaning up (its claims may be taken over).

        Args:
            heartbeat: When the run last wrote to the storage (ISO 8601), if known.
        """
        if self.host == socket.gethostname():
            return not _pid_alive(self.pid)
        if heartbeat is None:
            return False
        try:
            last = _dt.datetime.fromisoformat(heartbeat)
        except ValueError:
            return False
        return (_now() - last).total_seconds() > RUN_TIMEOUT_S
