"""Helpers for the tests that kill or interrupt a real optimization running in a child process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

#: A safety net against a hung child, never a performance assertion.
POLL_DEADLINE_S = 300


def count_rows(db: Path) -> int:
    """Trials stored in ``db`` so far, read through a read-only connection (0 while the file or table is missing)."""
    if not Path(db).exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(con.execute("SELECT count(*) FROM trials").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0  # schema not created yet


def wait_for_rows(proc: subprocess.Popen, db: Path, n: int, what: str = "the optimization") -> int:
    """Wait until ``db`` holds ``n`` trials; fail with the child's output if it exits first or hangs."""
    deadline = time.monotonic() + POLL_DEADLINE_S
    while True:
        stored = count_rows(db)
        if stored >= n:
            return stored
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"{what} exited (code {proc.returncode}) after storing {stored} trials, before {n} were "
                        f"stored:\n{out}\n{err}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"only {stored} trials stored after {POLL_DEADLINE_S}s")
        time.sleep(0.02)


def kill_9_after(proc: subprocess.Popen, db: Path, n: int, what: str = "the optimization") -> None:
    """``kill -9`` the child's whole process group (main process and workers) once ``db`` holds ``n`` trials,
    reap it, and check that it was the kill that ended it."""
    try:
        wait_for_rows(proc, db, n, what)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"{what} finished before it could be killed"


def sigint_after(proc: subprocess.Popen, db: Path, n: int, what: str = "the optimization") -> tuple[int, str, str]:
    """Ctrl-C the child once ``db`` holds ``n`` trials (SIGINT to its whole group, as a terminal does) and wait for
    it to end; returns the trials stored when the signal was sent and the child's stdout and stderr."""
    try:
        n_at_signal = wait_for_rows(proc, db, n, what)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=POLL_DEADLINE_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return n_at_signal, out, err
