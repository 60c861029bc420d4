"""A real local Ray cluster on 127.0.0.1 for the tests and the Ray benchmark, and its clean stop.

``ray stop`` would stop every Ray process of the machine (other test runs' clusters too), so the cluster runs under
``ray start --head --block`` in a session of its own: stopping it is a SIGTERM to that one process (which stops the
cluster's processes), then SIGKILL to whatever is left of its process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Bind and advertise the loopback address only (Ray otherwise picks the machine's outward address).
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}

#: A safety net against a cluster that never comes up, never a performance assertion.
START_DEADLINE_S = 300


def use_loopback() -> None:
    """Make this process's Ray (imported after this call) use 127.0.0.1, as the cluster does."""
    os.environ.update(LOOPBACK_ENV)


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRayCluster:
    """``ray start --head`` on 127.0.0.1 with ``num_cpus`` CPUs, free ports and a temp dir of its own.

    Attributes:
        address: ``"127.0.0.1:<port>"`` of the head node, for ``RayExecutor(address=...)`` or ``RAY_ADDRESS``.
    """

    def __init__(self, num_cpus: int = 2) -> None:
        self.num_cpus = num_cpus
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp_dir = tempfile.mkdtemp(prefix="bto-ray-", dir="/tmp")  # short: Ray's socket paths must fit
        self.log = Path(self.temp_dir) / "ray-start.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        """Start the head node and wait until it accepts drivers; returns :attr:`address`."""
        ray_cli = str(Path(sys.executable).with_name("ray"))
        cmd = [ray_cli, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={self.port}",
               f"--num-cpus={self.num_cpus}", "--include-dashboard=false", "--disable-usage-stats",
               f"--temp-dir={self.temp_dir}", f"--ray-client-server-port={free_port()}",
               f"--dashboard-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}",
               f"--object-store-memory={300 * 1024 * 1024}"]
        env = {**os.environ, **LOOPBACK_ENV}
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                         cwd=self.temp_dir)
        deadline = time.monotonic() + START_DEADLINE_S
        while "Ray runtime started" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                text = self.log.read_text(errors="replace")
                self.stop()
                raise RuntimeError(f"the local Ray cluster did not start:\n{text[-4000:]}")
            time.sleep(0.2)
        return self.address

    def stop(self) -> None:
        """Stop this cluster's processes (and no other Ray), remove its temp dir. Safe to call twice."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # `ray start --block` stops its cluster on SIGTERM
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # anything left of the cluster's own process group
            except ProcessLookupError:
                pass
            if proc.poll() is None:
                proc.wait(timeout=30)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> LocalRayCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
