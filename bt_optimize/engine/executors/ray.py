"""Running trials on a Ray cluster: :class:`RayExecutor`, the same interface as the local executors.

How a study runs on Ray:

- The driver (the script calling ``optimize_*``) connects to a running cluster (``address``) or starts a local one
  (``address=None``). An address that cannot be reached is a :class:`~bt_optimize.exceptions.ClusterError` in
  :meth:`RayExecutor.start`, before any backtest.
- The study's :class:`~bt_optimize.engine.worker.Payload` (the pickled Cerebro template and the feed arrays) is put
  into the object store once. A pool of actors, one per CPU the cluster offers (or ``num_workers``), each loads it
  once into a :class:`~bt_optimize.engine.worker.Runtime`; afterwards only trial specs go out and
  :class:`~bt_optimize.trial.TrialResult` records of plain data come back, each as soon as it is ready. Storage,
  the search and the progress bar stay in the driver.
- An actor that dies (killed process, out of memory, lost node) takes only its own trial with it: the trial runs
  again on a fresh actor up to ``max_retries`` times, and is recorded as failed after that. A trial that needed more
  than one attempt says so in ``user_attrs`` (``attempts``, ``actor_errors``). The dead actor is replaced and the
  study goes on.
- Ctrl-C in the driver stops the actors that are running a trial (their partial work is dropped) and lets the
  study keep every trial that had finished.

Actors outlive a study, briefly: an executor returns its idle actors to a pool when it closes, and the next
executor of the same driver that starts within :data:`IDLE_TIMEOUT_S` seconds (the next walk-forward window, the
next study of a script) takes them back with their Python imports done. Idle actors hold their CPUs, so the pool
stops them after that time (or at once: :func:`release_idle_actors`), and they always end with the driver.
"""

from __future__ import annotations

import importlib.util
import multiprocessing as mp
import socket
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from ...exceptions import ClusterError, OptionError, PicklingError
from ...trial import TrialResult, TrialState
from ..worker import Payload, Runtime, TrialSpec
from .base import Executor, dump_payload

__all__ = ["RayExecutor", "INSTALL_HINT", "IDLE_TIMEOUT_S", "release_idle_actors"]

#: Seconds an idle actor waits in the pool for the next executor of this driver before it is stopped.
IDLE_TIMEOUT_S = 20.0

#: What to run when Ray is missing.
INSTALL_HINT = "pip install 'bt-optimize[ray]'"

_NOT_REACHABLE_FIX = (
    "Start a cluster with `ray start --head --port=6379` on the head machine (and `ray start --address=HEAD:6379` "
    "on the others), then pass its address as 'host:port' (or 'auto' on a machine of the cluster, or "
    "'ray://host:10001' for Ray Client); address=None starts a local Ray on this machine instead"
)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError(f"RayExecutor needs Ray, which is not installed: {INSTALL_HINT}") from exc
    return ray


class _TrialActor:
    """One Ray worker: loads a study's payload once, then runs trial specs (wrapped by ``ray.remote`` lazily)."""

    def __init__(self) -> None:
        # Behave like a worker of the process pool: a daemonic process starts no processes of its own, so an
        # analyzer that would (NoiseInfusion) runs its re-runs serially inside the trial.
        mp.current_process().daemon = True
        self.runtime: Runtime | None = None

    def load(self, payload_bytes: bytes) -> str:
        """Unpickle the study's payload (imports the strategy's module here); returns the node's host name."""
        self.runtime = None
        self.runtime = Runtime(payload_bytes)
        return socket.gethostname()

    def run(self, spec: TrialSpec) -> TrialResult:
        """Run one trial and return its result."""
        if self.runtime is None:
            raise RuntimeError("no study loaded in this Ray actor")
        return self.runtime.run(spec)[0]


_REMOTE_ACTOR: Any = None


def _actor_class() -> Any:
    global _REMOTE_ACTOR
    if _REMOTE_ACTOR is None:
        ray = _import_ray()
        _REMOTE_ACTOR = ray.remote(max_restarts=0, max_task_retries=0)(_TrialActor)
    return _REMOTE_ACTOR


#: Idle actors of this driver, by (Ray job id, CPUs per actor), with the time each was given back.
_IDLE: dict[tuple[str, float], list[tuple[float, Any]]] = {}
_IDLE_LOCK = threading.Lock()
_REAPER: threading.Timer | None = None


def _job_key(num_cpus: float) -> tuple[str, float]:
    ray = _import_ray()
    return ray.get_runtime_context().get_job_id(), num_cpus


def _take_idle(key: tuple[str, float], n: int) -> list[Any]:
    with _IDLE_LOCK:
        idle = _IDLE.get(key, [])
        taken = [a for _, a in idle[-n:]] if n > 0 else []
        del idle[len(idle) - len(taken):]
    return taken


def _give_back(key: tuple[str, float], actors: list[Any]) -> None:
    now = time.monotonic()
    with _IDLE_LOCK:
        _IDLE.setdefault(key, []).extend((now, a) for a in actors)
    _arm_reaper()


def _arm_reaper() -> None:
    """Start the timer that stops actors idle for :data:`IDLE_TIMEOUT_S` (one timer at a time)."""
    global _REAPER
    with _IDLE_LOCK:
        if _REAPER is not None or not any(_IDLE.values()):
            return
        _REAPER = threading.Timer(IDLE_TIMEOUT_S, _reap)
        _REAPER.daemon = True
        _REAPER.start()


def _reap() -> None:
    global _REAPER
    with _IDLE_LOCK:
        _REAPER = None
    release_idle_actors(older_than=IDLE_TIMEOUT_S)
    _arm_reaper()  # again for the actors given back since


def release_idle_actors(older_than: float = 0.0) -> int:
    """Stop the idle actors this driver keeps for its next executor (they hold cluster CPUs while they wait).

    Args:
        older_than: Only those idle for at least this many seconds.

    Returns:
        How many actors were stopped.
    """
    now = time.monotonic()
    stop: list[Any] = []
    with _IDLE_LOCK:
        for idle in _IDLE.values():
            stop += [a for t, a in idle if now - t >= older_than]
            idle[:] = [(t, a) for t, a in idle if now - t < older_than]
    if stop:
        try:
            ray = _import_ray()
            if ray.is_initialized():
                for a in stop:
                    ray.kill(a, no_restart=True)
        except Exception:  # the connection went away: the actors went with it
            pass
    return len(stop)


def _check_address(address: str) -> tuple[str, int]:
    target = address[len("ray://"):] if address.startswith("ray://") else address
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise OptionError(f"address={address!r}: give the head node as 'host:port' (e.g. '10.0.0.5:6379'), "
                         "'ray://host:10001' for Ray Client, 'auto' on a machine of the cluster, or None to start a "
                         "local Ray")
    return host.strip("[]"), int(port)


class RayExecutor(Executor):
    """Runs a study's trials on a Ray cluster (module docstring); pass it as ``executor=`` to any entry point.

    Args:
        address: The cluster: ``"host:port"`` of the head node (as printed by ``ray start --head``),
            ``"ray://host:10001"`` (Ray Client), ``"auto"`` (the cluster this machine belongs to), or ``None``: the
            cluster named by ``RAY_ADDRESS`` or started on this machine with ``ray start`` if there is one, else a
            new local Ray that ends with this process. When this process is already connected (``ray.init`` was
            called), that connection is used.
        num_workers: Actors running trials (default: one per CPU the cluster offers).
        max_retries: How many times a trial whose actor died is run again on a fresh actor before it is recorded
            as failed (0: never).
        **init_kwargs: Passed to ``ray.init`` (e.g. ``runtime_env={"py_modules": [my_strategies]}`` to ship the
            strategy's module to every node).

    Raises:
        ImportError: Ray is not installed (``pip install 'bt-optimize[ray]'``).
        OptionError: an argument is invalid.

    Example:
        >>> ex = bto.RayExecutor(address="auto")  # doctest: +SKIP
        >>> study = cerebro.optimize_grid(SmaCross, fast=range(5, 50), executor=ex)  # doctest: +SKIP
    """

    def __init__(self, address: str | None = None, num_workers: int | None = None, max_retries: int = 1,
                 **init_kwargs: Any) -> None:
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise OptionError(f"address={address!r}: give 'host:port' of the Ray head node, 'auto', "
                             "'ray://host:10001', or None to start a local Ray")
        if address is not None and address != "auto":
            _check_address(address)
        if num_workers is not None and (isinstance(num_workers, bool) or not isinstance(num_workers, int)
                                        or num_workers < 1):
            raise OptionError(f"num_workers={num_workers!r}: give a whole number of actors >= 1, or None for one "
                             "per CPU of the cluster")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise OptionError(f"max_retries={max_retries!r}: give a whole number >= 0 (0: a trial whose actor dies "
                             "fails at once)")
        if importlib.util.find_spec("ray") is None:
            raise ImportError(f"RayExecutor needs Ray, which is not installed: {INSTALL_HINT}")
        self.address = address
        self.num_workers = num_workers
        self.max_retries = max_retries
        self.init_kwargs = dict(init_kwargs)
        self.n_workers = num_workers or 1
        self._actors: list[Any] = []
        self._payload_ref: Any = None
        self._strategy: type | None = None
        self._busy: set[int] = set()
        self._num_cpus = 1.0

    def __repr__(self) -> str:
        return (f"RayExecutor(address={self.address!r}, num_workers={self.num_workers!r}, "
                f"max_retries={self.max_retries!r})")

    def __getstate__(self) -> dict[str, Any]:
        # An executor travels as its settings (e.g. as an analyzer parameter inside a study's template).
        return {"address": self.address, "num_workers": self.num_workers, "max_retries": self.max_retries,
                "init_kwargs": self.init_kwargs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["address"], state["num_workers"], state["max_retries"], **state["init_kwargs"])

    # ------------------------------------------------------------------ connection
    def connect(self) -> None:
        """Connect this process to the cluster (once per process; an existing connection is reused).

        Raises:
            ClusterError: the cluster cannot be reached, or this process is connected to another cluster.
        """
        ray = _import_ray()
        if ray.is_initialized():
            self._check_same_cluster(ray)
            return
        if self.address is not None and self.address != "auto":
            host, port = _check_address(self.address)
            try:
                socket.create_connection((host, port), timeout=5).close()
            except OSError as exc:
                raise ClusterError(f"cannot reach the Ray cluster at {self.address!r} ({exc}). "
                                   f"{_NOT_REACHABLE_FIX}") from exc
        kwargs = dict(self.init_kwargs)
        if self.address is None:
            kwargs.setdefault("include_dashboard", False)
        try:
            ray.init(address=self.address, **kwargs)
        except (ConnectionError, TimeoutError, OSError, RuntimeError) as exc:
            raise ClusterError(f"cannot connect to the Ray cluster at {self.address!r}: {exc}. "
                               f"{_NOT_REACHABLE_FIX}") from exc

    def _check_same_cluster(self, ray: Any) -> None:
        if self.address in (None, "auto") or self.address.startswith("ray://"):
            return
        current = ray.get_runtime_context().gcs_address
        host, port = _check_address(self.address)
        chost, _, cport = str(current).rpartition(":")
        try:
            same = int(cport) == port and socket.gethostbyname(chost) == socket.gethostbyname(host)
        except (OSError, ValueError):
            same = False
        if not same:
            raise ClusterError(f"this process is already connected to the Ray cluster at {current!r}, not "
                               f"{self.address!r}; call ray.shutdown() first, or pass that address")

    # ------------------------------------------------------------------ actors
    def _cluster_cpus(self) -> int:
        ray = _import_ray()
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def _new_actor(self) -> Any:
        return _actor_class().options(num_cpus=self._num_cpus).remote()

    def _load(self, actor: Any) -> Any:
        return actor.load.remote(self._payload_ref)

    def start(self, payload: Payload) -> None:
        """Connect, put ``payload`` into the object store once, and load it into every actor of the pool.

        Raises:
            ClusterError: the cluster cannot be reached.
            PicklingError: the payload cannot be pickled, or the workers cannot unpickle it (the strategy's module
                is not importable on the cluster's nodes).
        """
        payload_bytes = dump_payload(payload)  # before connecting: a pickling error needs no cluster
        self.connect()
        ray = _import_ray()
        cpus = self._cluster_cpus()
        self.n_workers = self.num_workers or cpus
        self._num_cpus = 1.0 if self.n_workers <= cpus else cpus / self.n_workers
        if self._actors and len(self._actors) != self.n_workers:
            self.close()
        self._payload_ref = ray.put(payload_bytes)
        self._strategy = payload.strategy
        if not self._actors:
            self._actors = _take_idle(_job_key(self._num_cpus), self.n_workers)
            while len(self._actors) < self.n_workers:
                self._actors.append(self._new_actor())
        self._actors = [a if a is not None else self._new_actor() for a in self._actors]
        loads = [self._load(a) for a in self._actors]
        try:
            _, waiting = ray.wait(loads, num_returns=len(loads), timeout=120)
            if waiting:
                warnings.warn(f"{len(waiting)} of {len(loads)} Ray actors are still waiting for a CPU of the cluster "
                              "(is another driver using it?); the study starts when they get one", stacklevel=3)
            ray.get(loads)
        except ray.exceptions.RayTaskError as exc:
            self.close()
            raise PicklingError(self._load_error(exc)) from None
        except ray.exceptions.RayActorError:
            for i, ref in enumerate(loads):  # an idle actor that died since: replace it
                try:
                    ray.get(ref)
                except ray.exceptions.RayActorError:
                    self._actors[i] = self._new_actor()
                    ray.get(self._load(self._actors[i]))

    def _load_error(self, exc: Exception) -> str:
        cause = getattr(exc, "cause", None) or exc
        text = f"{type(cause).__name__}: {cause}".strip().splitlines()[0]
        strat = self._strategy
        where = f"{strat.__module__}.{strat.__qualname__}" if strat is not None else "the strategy"
        hint = ""
        if strat is not None and strat.__module__ == "__main__":
            hint = (f" {strat.__qualname__} is defined in the script you run (__main__), which Ray workers do not "
                    "import: move it to a module of its own.")
        return (f"the Ray workers cannot load the study ({text}).{hint} Every node must be able to import "
                f"bt_optimize and the strategy's module ({where}), as well as any analyzer or objective it uses: "
                "install them there, or ship them with RayExecutor(..., runtime_env={'py_modules': [module]}) or "
                "runtime_env={'working_dir': '.'}")

    def _replace(self, i: int) -> None:
        self._actors[i] = self._new_actor()
        if self._payload_ref is not None:
            self._load(self._actors[i])  # runs before any trial sent to it (an actor runs its calls in order)

    def _stop(self, i: int) -> None:
        """Stop actor ``i`` (a running actor task cannot be cancelled otherwise); it is replaced when next needed."""
        ray = _import_ray()
        try:
            ray.kill(self._actors[i], no_restart=True)
        except Exception:  # already dead, or the connection is gone
            pass
        self._actors[i] = None
        self._busy.discard(i)

    # ------------------------------------------------------------------ running
    def imap_unordered(self, specs: Iterable[TrialSpec]) -> Iterator[TrialResult]:
        if self._payload_ref is None:
            raise RuntimeError("RayExecutor.imap_unordered before start(payload)")
        ray = _import_ray()
        lost = (ray.exceptions.RayActorError, ray.exceptions.ObjectLostError)
        for i, actor in enumerate(self._actors):
            if actor is None:
                self._replace(i)
        it = iter(specs)
        exhausted = False
        free = [i for i in range(len(self._actors)) if i not in self._busy]
        inflight: dict[Any, tuple[int, TrialSpec, int]] = {}
        deaths: dict[int, list[str]] = {}

        def submit(i: int, spec: TrialSpec, attempt: int) -> None:
            inflight[self._actors[i].run.remote(spec)] = (i, spec, attempt)
            self._busy.add(i)

        try:
            while True:
                while free and not exhausted:
                    try:
                        spec = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    submit(free.pop(), spec, 1)
                if not inflight:
                    return
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    i, spec, attempt = inflight.pop(ref)
                    try:
                        res = ray.get(ref)
                    except lost as exc:
                        self._replace(i)
                        deaths.setdefault(spec.number, []).append(_short(exc))
                        if attempt <= self.max_retries:
                            submit(i, spec, attempt + 1)
                            continue
                        res = TrialResult(number=spec.number, state=TrialState.FAIL, window=spec.window,
                                          error=f"the Ray actor running this trial died on each of {attempt} "
                                                f"attempt(s) (max_retries={self.max_retries}): "
                                                f"{deaths[spec.number][-1]}")
                    except ray.exceptions.RayTaskError as exc:
                        res = TrialResult(number=spec.number, state=TrialState.FAIL, window=spec.window,
                                          error=f"Ray task failed: {_short(exc)}")
                    self._busy.discard(i)
                    free.append(i)
                    if spec.number in deaths:
                        res = replace(res, attempts=attempt, actor_errors=tuple(deaths.pop(spec.number)))
                    yield res
        finally:
            # Interrupted (Ctrl-C) or abandoned: a running actor task cannot be cancelled, so stop its actor.
            for i, _, _ in inflight.values():
                self._stop(i)

    def close(self) -> None:
        """Stop actors still running a trial, give the idle ones back to the pool. Safe to call twice."""
        if not self._actors:
            self._payload_ref = None
            return
        ray = _import_ray()
        if ray.is_initialized():
            for i in sorted(self._busy):
                self._stop(i)
            idle = [a for a in self._actors if a is not None]
            try:
                _give_back(_job_key(self._num_cpus), idle)
            except Exception:  # the connection went away meanwhile
                pass
        self._actors, self._busy, self._payload_ref = [], set(), None


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:500]
