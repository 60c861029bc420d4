"""The first half of the runner: :func:`prepare` the payload and the executor once for a whole job.

Kept apart from :mod:`bt_optimize.engine.runner` (which opens and runs studies) because the jobs that re-run one
strategy without a study (:func:`~bt_optimize.robustness.run_sensitivity`, the
:class:`~bt_optimize.analyzers.NoiseInfusion` analyzer) need only this half.
"""

from __future__ import annotations

import warnings
from typing import Any

import backtrader as bt

from ..exceptions import PicklingError
from ..objective import Objective
from .data import FeedSnapshot, snapshot_feeds
from .executors import Executor, SerialExecutor, make_executor
from .worker import Payload, make_template, pack_config

__all__ = ["prepare"]


def prepare(cerebro: bt.Cerebro, strategy: type, objective: Objective, *, executor: str | Executor | None = None,
            maxcpus: int | None = None, feeds: list[FeedSnapshot] | None = None, template: bt.Cerebro | None = None,
            perf_kwargs: dict[str, Any] | None = None, serial_fallback: str | None = None,
            run_options: dict[str, Any] | None = None, strategy_args: tuple = (),
            strategy_kwargs: dict[str, Any] | None = None, keep_observers: bool = False) -> tuple[Payload, Executor]:
    """Snapshot the feeds, pack the configuration and start the executor, once for a whole job.

    Args:
        cerebro: The user's Cerebro (its feeds, configuration and ``maxcpus`` unless given below).
        strategy: The strategy class every trial runs.
        objective: How each run is scored.
        executor: ``"serial"``, ``"process"``, an :class:`~bt_optimize.engine.executors.Executor` instance or
            ``None`` (by ``maxcpus``); see :func:`~bt_optimize.engine.executors.make_executor`.
        maxcpus: Worker processes (default: ``cerebro.p.maxcpus``).
        feeds: Snapshots to use instead of the Cerebro's feeds.
        template: A configuration to ship instead of :func:`~bt_optimize.engine.worker.make_template` of
            ``cerebro`` (for re-runs that drop the user's analyzers).
        perf_kwargs: Extra parameters of the Performance analyzer of every trial.
        serial_fallback: ``None``: a configuration that cannot be sent to workers raises. A text: warn with it
            as a prefix and run serially instead.
        run_options: ``Cerebro.run()`` options applied to every trial (see
            :func:`~bt_optimize.engine.worker.make_template`).
        strategy_args, strategy_kwargs: Fixed arguments of the strategy in every trial (feed references made by
            :func:`~bt_optimize.engine.worker.feed_refs`).
        keep_observers: Keep backtrader's default observers in every trial (by default trials leave them out
            unless something reads them: :func:`~bt_optimize.engine.worker.reads_observers`).

    Returns:
        The payload and the started executor; the caller closes the executor.

    Raises:
        DataError: no feed, or a feed that cannot be snapshotted.
        PicklingError: something the workers need cannot be pickled (without ``serial_fallback``).
    """
    feeds = snapshot_feeds(cerebro) if feeds is None else feeds
    ex = make_executor(cerebro.p.maxcpus if maxcpus is None else maxcpus, executor)
    config = make_template(cerebro, run_options) if template is None else template
    kwargs = dict(feeds=feeds, strategy=strategy, objective=objective, perf_kwargs=dict(perf_kwargs or {}),
                  strategy_args=tuple(strategy_args), strategy_kwargs=dict(strategy_kwargs or {}),
                  keep_observers=bool(keep_observers))
    try:
        packed: bytes | bt.Cerebro = pack_config(config)
    except PicklingError as exc:
        if not isinstance(ex, SerialExecutor):
            if serial_fallback is None:
                raise
            warnings.warn(f"{serial_fallback}: {exc}", stacklevel=3)
            ex = SerialExecutor()
        packed = config  # serial: the configuration never leaves this process
    payload = Payload(template=packed, **kwargs)
    try:
        ex.start(payload)  # pickles the payload: fails here, before any backtest, if something cannot be sent
    except PicklingError as exc:
        ex.close()
        if serial_fallback is None:
            raise
        warnings.warn(f"{serial_fallback}: {exc}", stacklevel=3)
        ex = SerialExecutor()
        payload = Payload(template=config, **kwargs)
        ex.start(payload)
    except BaseException:
        ex.close()
        raise
    return payload, ex
