"""The :class:`NoiseInfusion` analyzer: re-run a finished backtest on noisy copies of its data."""

from __future__ import annotations

import math
import multiprocessing as mp
import numbers
import os
from typing import Any

import backtrader as bt
import numpy as np

from bt_optimize.engine.data import _META_PARAMS, ArrayFeed, FeedSnapshot
from bt_optimize.engine.executors import Executor
from bt_optimize.engine.performance import Performance
from bt_optimize.engine.prepare import prepare
from bt_optimize.engine.worker import TrialSpec, make_template, windowed_strategy
from bt_optimize.exceptions import OptionError
from bt_optimize.objective import Objective
from bt_optimize.stats.metrics import LOWER_IS_BETTER
from bt_optimize.stats.metrics import METRICS as PERFORMANCE_METRICS
from bt_optimize.stats.noise import MODELS, summarize_noise
from bt_optimize.trial import TrialResult, Window

__all__ = ["NoiseInfusion", "NOISE_METRICS"]

NOISE_METRICS: tuple[str, ...] = ("sharpe_ratio", "total_return", "max_drawdown", "win_rate", "profit_factor")
"""Metrics reported by default (any of :data:`bt_optimize.stats.metrics.METRICS` can be asked for)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def rerun_template(cerebro: bt.Cerebro, strategy_index: int = 0) -> bt.Cerebro:
    """The configuration of a (running) Cerebro for clean re-runs of one of its strategies.

    Built on :func:`bt_optimize.engine.worker.make_template` (broker, sizers, commissions, observers and
    settings kept; data, strategies and writers dropped), then every user analyzer is removed (the re-runs
    only need the engine's Performance analyzer, and a NoiseInfusion or MonteCarlo inside a re-run would
    recurse or waste time) along with the run-time state of a Cerebro that is running (its strategies,
    writers, timers and counters). The sizer registered for ``strategy_index`` becomes the default sizer, as
    the re-run holds that strategy only. Call it before the first bar, while the broker is still fresh.
    """
    tpl = make_template(cerebro)
    tpl.analyzers = []
    for attr in ("runningstrats", "runwriters", "stcount", "_timers", "_timerscheat"):
        tpl.__dict__.pop(attr, None)
    sizers = dict(getattr(cerebro, "sizers", {}) or {})
    if strategy_index in sizers:
        tpl.sizers = {None: sizers[strategy_index]}
    elif None in sizers:
        tpl.sizers = {None: sizers[None]}
    else:
        tpl.sizers = {}
    return tpl


class NoiseInfusion(bt.Analyzer):
    """Re-run the same strategy on ``n_simulations`` noisy copies of its data and report how its metrics hold up.

    At ``stop()`` the analyzer re-runs the strategy it is attached to, with the same parameters, broker
    settings (cash, commissions, slippage), sizer, observers and backtrader mode, on copies of every data feed
    whose open, high, low and close are multiplied bar by bar by ``1 + e`` (``model="gaussian"``:
    ``e ~ N(0, std_pct)``; ``model="bootstrap"``: ``e`` drawn from the feed's own standardised log returns and
    scaled to ``std_pct``). After the noise the OHLC constraints hold on every bar. Details:
    :mod:`bt_optimize.stats.noise`. The re-runs carry no user analyzer: their metrics come from the built-in
    :class:`~bt_optimize.analyzers.Performance` analyzer, which also measures the original run (as a child of
    this analyzer), so original and noisy values are computed the same way.

    A strategy whose result lives on the exact historical price path (very short averages, tight stops,
    parameters tuned to a handful of trades) degrades a lot under noise of a fraction of the daily range; an
    edge that lives in longer moves barely notices.

    Where the data comes from:
        The data is captured from the run itself, never re-read from its source: inside the engine (a trial
        of an optimization, ``study.run_best()``) the rebuilt feeds already hold their bars as arrays; with
        ``exactbars < 1`` every feed's line buffers hold all its bars at ``stop()``; with ``exactbars >= 1``
        backtrader keeps only the last few bars, so the analyzer records each feed's new bar at every step of
        the run (this costs a few microseconds a bar and happens only in that mode). All paths give the same
        arrays, so every backtrader mode gives the same analysis. Several feeds are perturbed independently,
        each with its own draws; a resampled feed is perturbed as a feed of its own (not rebuilt from its
        noisy base feed).

    How it runs:
        The noisy runs go through the engine: the data is shipped once to ``maxcpus`` worker processes
        (``None``: the Cerebro's ``maxcpus``; backtrader's default of ``None`` there means every core), and
        each simulation derives its noise from ``(seed, simulation number)`` in the worker, so the result does
        not depend on the number of processes. When the analyzer itself runs inside a daemonic worker (an
        optimization trial, backtrader's own ``optstrategy``), which cannot start processes, the re-runs are
        serial. A configuration that cannot be pickled (a locally defined strategy, ...) also runs serially,
        with a warning. Positional strategy arguments (``addstrategy(S, 5)``) are not replayed; pass params by
        keyword. A strategy that reads its own analyzers (``self.analyzers.x``) fails in the re-runs, which
        carry none; the analysis then reports ``status == "failed"`` with the first error.

    Params:
        n_simulations (int): Noisy re-runs, at least 1. Default 200.
        std_pct (float): Standard deviation of the noise as a fraction (0.01 is 1 %), ``0 <= std_pct < 1``.
            0 re-runs on the unperturbed data, a self-check that the re-runs reproduce the original.
            Default 0.01.
        model (str): ``"gaussian"`` or ``"bootstrap"``. Default ``"gaussian"``.
        seed (int | None): Seed of the noise; equal seeds give equal analyses. ``None`` draws fresh entropy
            (reported as ``seed`` so the analysis can be repeated). Default ``None``.
        confidence (float): Level of the percentile interval ``ci``, in ``(0, 1)``. Default 0.95.
        robust_threshold (float): Degradation (%) below which a metric is ``"robust"``. Default 20.
        fragile_threshold (float): Degradation (%) above which a metric is ``"fragile"``. Default 50.
        metrics (tuple | None): Metrics to report, from :data:`bt_optimize.stats.metrics.METRICS`. Default
            :data:`NOISE_METRICS`.
        primary (str): The metric whose verdict becomes the analysis' overall ``verdict``. Default
            ``"sharpe_ratio"``.
        maxcpus (int | None): Worker processes for the re-runs (``None``: the Cerebro's ``maxcpus``; 1: serial).
        executor (str | Executor | None): Where the re-runs go: ``None`` (processes, by ``maxcpus``), ``"serial"``,
            ``"process"``, ``"ray"`` or an executor such as :class:`bt_optimize.RayExecutor` (the Ray cluster
            then runs the re-runs; the result does not change). Inside a worker the re-runs stay serial.
        periods_per_year (float | None): Passed to the Performance analyzers (annualisation).

    Raises:
        OptionError: When the analyzer is built (as ``cerebro.run()`` starts), if a param is invalid.

    ``get_analysis()`` returns plain, JSON-safe data (``None`` where a number is undefined)::

        {"status": "ok", "model": "gaussian", "std_pct": 0.01, "n_simulations": 200, "n_completed": 200,
         "n_failed": 0, "seed": 42, "confidence": 0.95, "thresholds": {"robust": 20.0, "fragile": 50.0},
         "metrics": ["sharpe_ratio", ...], "primary": "sharpe_ratio", "verdict": "robust",
         "sharpe_ratio": {"original": ..., "mean": ..., "std": ..., "ci": [lo, hi], "worst_case": ...,
                          "degradation_pct": ..., "verdict": "robust", "lower_is_better": False, "n_valid": 200,
                          "values": [...one per simulation, in order...]},
         ...}

    ``degradation_pct`` is ``(original - mean) / |original| * 100``, sign-turned for ``max_drawdown`` so that a
    positive value always means "worse under noise"; ``worst_case`` is the 5th percentile (95th for
    ``max_drawdown``). When the data cannot be captured or every re-run fails: ``{"status": "failed",
    "message": "..."}`` (the user's own run is never interrupted).

    Example:
        >>> cerebro = bto.Cerebro(maxcpus=2)  # doctest: +SKIP
        >>> cerebro.addanalyzer(NoiseInfusion, _name="noise", n_simulations=200, seed=42)  # doctest: +SKIP
        >>> noise = cerebro.run()[0].analyzers.noise.get_analysis()  # doctest: +SKIP
        >>> noise["sharpe_ratio"]["degradation_pct"], noise["verdict"]  # doctest: +SKIP
    """

    params = (
        ("n_simulations", 200),
        ("std_pct", 0.01),
        ("model", "gaussian"),
        ("seed", None),
        ("confidence", 0.95),
        ("robust_threshold", 20.0),
        ("fragile_threshold", 50.0),
        ("metrics", None),
        ("primary", "sharpe_ratio"),
        ("maxcpus", None),
        ("periods_per_year", None),
        ("executor", None),
    )

    def __init__(self) -> None:
        self._metrics = self._validate_params()
        # A child analyzer: backtrader dispatches it before this one, so it has stopped when stop() runs.
        self._perf = Performance(periods_per_year=self.p.periods_per_year)
        self._template: bt.Cerebro | None = None
        self._recorded: list[dict[str, list[float]]] | None = None
        self._gaps: list[str] = []

    def _validate_params(self) -> tuple[str, ...]:
        p = self.p
        if not _is_int(p.n_simulations) or p.n_simulations < 1:
            raise OptionError(f"n_simulations must be an integer >= 1, got {p.n_simulations!r}; e.g. 200.")
        if not _is_number(p.std_pct) or not 0.0 <= float(p.std_pct) < 1.0:
            raise OptionError(f"std_pct must be a fraction in [0, 1) (0.01 is 1 %), got {p.std_pct!r}.")
        if p.model not in MODELS:
            raise OptionError(f"model must be one of {', '.join(map(repr, MODELS))}, got {p.model!r}.")
        if p.seed is not None and (not _is_int(p.seed) or p.seed < 0):
            raise OptionError(f"seed must be None or an integer >= 0, got {p.seed!r}; e.g. seed=42.")
        if not _is_number(p.confidence) or not 0.0 < float(p.confidence) < 1.0:
            raise OptionError(f"confidence must be a number strictly between 0 and 1, got {p.confidence!r}.")
        for name in ("robust_threshold", "fragile_threshold"):
            if not _is_number(getattr(p, name)):
                raise OptionError(f"{name} must be a number (a degradation in %), got {getattr(p, name)!r}.")
        if float(p.robust_threshold) > float(p.fragile_threshold):
            raise OptionError(
                f"robust_threshold ({p.robust_threshold}) must not exceed fragile_threshold ({p.fragile_threshold})."
            )
        metrics = NOISE_METRICS if p.metrics is None else tuple(p.metrics) if not isinstance(p.metrics, str) else (
            p.metrics,)
        unknown = [m for m in metrics if m not in PERFORMANCE_METRICS]
        if unknown or not metrics:
            raise OptionError(f"metrics {unknown or metrics!r}: choose from {', '.join(PERFORMANCE_METRICS)}.")
        if p.primary not in metrics:
            raise OptionError(f"primary={p.primary!r} must be one of the reported metrics {list(metrics)}.")
        if p.maxcpus is not None and (not _is_int(p.maxcpus) or p.maxcpus < 0):
            raise OptionError(f"maxcpus must be None or an integer >= 0 (0: every core), got {p.maxcpus!r}.")
        if p.executor is not None and p.executor not in ("serial", "process", "ray") and not isinstance(
                p.executor, Executor):
            raise OptionError(f"executor must be None, 'serial', 'process', 'ray' or an Executor instance such as "
                              f"bto.RayExecutor(...), got {p.executor!r}.")
        return metrics

    # ------------------------------------------------------------------ collection
    def start(self) -> None:
        env = self.strategy.env
        runners = getattr(env, "runningstrats", None) or [self.strategy]
        index = next((i for i, s in enumerate(runners) if s is self.strategy), 0)
        # The broker has been started (reset) and no order exists yet: a clean copy of the configuration.
        self._template = rerun_template(env, index)
        self._env_maxcpus = getattr(env.p, "maxcpus", None)
        if int(getattr(env, "_exactbars", 0) or 0) > 0:  # bounded line buffers: record the bars as they come
            self._recorded = [{a: [] for a in d.getlinealiases()} for d in self.datas]
            self._seen = [0] * len(self.datas)

    def next(self) -> None:
        # Also reached from prenext() and nextstart(): one call per step of the strategy's clock.
        if self._recorded is None:
            return
        for i, data in enumerate(self.datas):
            n = len(data)
            if n == self._seen[i]:
                continue
            if n != self._seen[i] + 1:
                self._gaps.append(f"feed {i} moved from bar {self._seen[i]} to {n} in one step")
            self._seen[i] = n
            for alias, values in self._recorded[i].items():
                values.append(float(getattr(data.lines, alias)[0]))

    # ------------------------------------------------------------------ the re-runs
    def _snapshots(self) -> list[Any]:
        """Every feed's bars as a :class:`~bt_optimize.engine.data.FeedSnapshot` (see the class docstring)."""
        out = []
        for i, data in enumerate(self.datas):
            label = data._name or f"data{i}"
            # a rebuilt feed with filters (resampled, replayed) holds its base bars, not the bars it shows
            arrays = getattr(data.p, "arrays", None) if isinstance(data, ArrayFeed) and not data._filters else None
            if arrays is not None:
                lines = {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}
            elif self._recorded is not None:
                if self._gaps:
                    raise RuntimeError(f"bars were skipped while recording ({self._gaps[0]})")
                lines = {k: np.array(v, dtype=np.float64) for k, v in self._recorded[i].items()}
                if len(lines["datetime"]) != len(data):
                    raise RuntimeError(f"feed {label!r}: recorded {len(lines['datetime'])} of {len(data)} bars")
            else:
                n = data.buflen()
                lines = {a: np.array(getattr(data.lines, a).array[:n], dtype=np.float64)
                         for a in data.getlinealiases()}
            if len(lines.get("datetime", ())) == 0:
                raise RuntimeError(f"feed {label!r} delivered no bar")
            params = {key: getattr(data.p, key, None) for key in _META_PARAMS}
            out.append(FeedSnapshot(data._name or "", int(data._timeframe), int(data._compression), lines, params))
        return out

    def _strategy_and_window(self, snapshots: list[Any]) -> tuple[type, dict[str, Any], Window]:
        """The strategy class, its params and the window to replay.

        A trial of a windowed study runs a gated subclass of the user's strategy (no order before the window's
        first bar; see :func:`bt_optimize.engine.worker.windowed_strategy`). That subclass cannot be pickled, so
        the re-runs get the user's class and a window over the captured bars that rebuilds the same gate.
        """
        strategy = type(self.strategy)
        params = dict(self.strategy.params._getkwargs())
        window = Window()
        base = strategy.__bases__[0] if strategy.__bases__ else strategy
        if "bto_gate" in params and issubclass(base, bt.Strategy) and windowed_strategy(base) is strategy:
            gate = float(params.pop("bto_gate"))
            strategy = base
            if math.isfinite(gate):
                k = int(np.searchsorted(snapshots[0].datetime, gate, "left"))
                if k > 0:
                    window = Window(start=k, warmup=k)
        return strategy, params, window

    def _run_simulations(self, snapshots: list[Any], seed: int) -> list[TrialResult]:
        p = self.p
        n_sims = int(p.n_simulations)
        strategy, params, window = self._strategy_and_window(snapshots)
        perf_kwargs = {} if p.periods_per_year is None else {"periods_per_year": p.periods_per_year}
        cpus = self._env_maxcpus if p.maxcpus is None else p.maxcpus
        n_workers = min(int(cpus or os.cpu_count() or 1), n_sims)
        serial = mp.current_process().daemon  # daemonic processes (workers) cannot have children
        if p.executor is None:
            serial = serial or n_workers <= 1
        elif p.executor == "serial":
            serial = True
        _, ex = prepare(self.strategy.env, strategy, Objective("sharpe_ratio"),
                        executor="serial" if serial else (p.executor or "process"), maxcpus=n_workers,
                        feeds=snapshots, template=self._template, perf_kwargs=perf_kwargs,
                        serial_fallback="NoiseInfusion runs serially")
        specs = (TrialSpec(i, params, window, perturb={"model": str(p.model), "std_pct": float(p.std_pct),
                                                       "seed": [seed, i]})
                 for i in range(n_sims))
        try:
            results = {r.number: r for r in ex.imap_unordered(specs)}
        finally:
            ex.close()
        return [results[i] for i in range(n_sims)]

    def stop(self) -> None:
        p = self.p
        seed = int(p.seed) if p.seed is not None else int(np.random.SeedSequence().entropy)
        try:
            snapshots = self._snapshots()
        except Exception as exc:
            self.rets = {"status": "failed", "message": f"the data of this run could not be captured: {exc}"}
            return
        runs = self._run_simulations(snapshots, seed)
        ok = [r for r in runs if r.metrics]
        if not ok:
            first = next((r.error for r in runs if r.error), "no metrics")
            self.rets = {"status": "failed", "message": f"every noisy re-run failed; the first error was: {first}"}
            return
        original = self._perf.get_analysis()
        robust, fragile = float(p.robust_threshold), float(p.fragile_threshold)
        rets: dict[str, Any] = {
            "status": "ok",
            "model": str(p.model),
            "std_pct": float(p.std_pct),
            "n_simulations": int(p.n_simulations),
            "n_completed": len(ok),
            "n_failed": len(runs) - len(ok),
            "seed": seed,
            "confidence": float(p.confidence),
            "thresholds": {"robust": robust, "fragile": fragile},
            "metrics": list(self._metrics),
            "primary": str(p.primary),
        }
        for name in self._metrics:
            values = [r.metrics.get(name) for r in runs]
            summary = summarize_noise(original.get(name), values, float(p.confidence), name in LOWER_IS_BETTER,
                                      robust, fragile)
            summary["values"] = [None if v is None or not math.isfinite(v) else float(v) for v in values]
            rets[name] = summary
        rets["verdict"] = rets[str(p.primary)]["verdict"]
        if rets["n_failed"]:
            rets["first_error"] = next(r.error for r in runs if not r.metrics)
        self.rets = rets

    def get_analysis(self) -> dict[str, Any]:
        """Return the analysis (empty until the run has stopped); see the class docstring for its layout."""
        return self.rets

    def create_analysis(self) -> None:
        self.rets: dict[str, Any] = {}
