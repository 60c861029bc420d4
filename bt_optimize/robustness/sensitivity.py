"""Parameter sensitivity: one-at-a-time sweeps and interaction grids around a base point, run by the engine.

:meth:`bt_optimize.Cerebro.sensitivity` is the entry point. :func:`plan_sensitivity` validates the arguments and
lays out every point to run (before any backtest); :func:`run_sensitivity` runs the distinct points in
parallel through the engine (the data is snapshotted once and shipped once to each worker) and hands the
objective values to the pure statistics of :mod:`bt_optimize.stats.sensitivity`, whose docstring defines every
number and states what they assume (smoothness at the sweep's resolution, locality, one parameter at a time).

How the sweeps are laid out:
    A numeric parameter with base ``b`` is swept over ``[b - perturbation * |b|, b + perturbation * |b|]``,
    intersected with ``ranges[name]`` when given (a ``(low, high)`` pair, a ``bto.Int`` or a ``bto.Real``; an
    ``Int`` step puts the values on its grid). A parameter whose base is 0 has no relative range and sweeps
    ``ranges[name]`` whole (giving it is then required). ``n_points`` evenly spaced values are taken; integer
    parameters are rounded and deduplicated (so a narrow integer sweep has fewer points), and the base itself
    is always one of the values. Interaction grids use ``interaction_points`` values per axis laid out the same
    way. Points shared by several sweeps (the base, grid points on a sweep) run once.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.prepare import prepare
from ..engine.worker import TrialSpec
from ..exceptions import AllTrialsFailedError, ObjectiveError, SpaceError
from ..objective import Objective
from ..search.base import check_seed
from ..space import Int, Real, check_param_names, params_key
from ..stats.sensitivity import (
    INTERACTION_THRESHOLD,
    interaction_stats,
    sweep_stats,
)
from ..trial import TrialState, Window
from .result import Pair, SensitivityResult

__all__ = ["SensitivityPlan", "SensitivityResult", "plan_sensitivity", "run_sensitivity", "sweep_values"]



def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))


def _bounds(name: str, spec: Any) -> tuple[float, float, int | None]:
    """``(low, high, step)`` of an explicit range (step only for an ``Int``)."""
    if isinstance(spec, Int):
        return float(spec.low), float(spec.high), spec.step
    if isinstance(spec, Real):
        return float(spec.low), float(spec.high), None
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and all(_is_real(v) for v in spec):
        lo, hi = float(spec[0]), float(spec[1])
        if lo >= hi:
            raise SpaceError(f"ranges[{name!r}]={spec!r}: low must be smaller than high")
        return lo, hi, None
    raise SpaceError(f"ranges[{name!r}]={spec!r}: give a (low, high) pair of numbers, a bto.Int or a bto.Real")


def sweep_values(name: str, base: float, n: int, perturbation: float, bounds: tuple[float, float, int | None] | None,
                 integer: bool) -> list[Any]:
    """The sorted values swept for one parameter (see the module docstring); the base is always included.

    Raises:
        SpaceError: a zero base without a range, a base outside its range, or fewer than 3 distinct values.

    Example:
        >>> sweep_values("fast", 10, 5, 0.5, None, integer=True)
        [5, 8, 10, 12, 15]
    """
    if base == 0 and bounds is None:
        raise SpaceError(
            f"{name}: its base is 0, so a relative sweep of ±perturbation is empty; give an explicit range, "
            f"e.g. ranges={{{name!r}: (0.0, 0.1)}}, or pass it as a fixed keyword to leave it out of the sweeps"
        )
    if base == 0:
        lo, hi = bounds[0], bounds[1]  # type: ignore[index]
    else:
        lo, hi = base - perturbation * abs(base), base + perturbation * abs(base)
        if bounds is not None:
            if not bounds[0] <= base <= bounds[1]:
                raise SpaceError(f"{name}: the base {base!r} lies outside ranges[{name!r}]=({bounds[0]}, {bounds[1]})")
            lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    grid = np.linspace(lo, hi, n)
    if integer:
        step = bounds[2] if bounds is not None else None
        if step:
            anchor = bounds[0]  # type: ignore[index]
            grid = anchor + np.round((grid - anchor) / step) * step
            grid = grid[(grid >= lo - 1e-9) & (grid <= hi + 1e-9)]
        values: list[Any] = sorted({int(round(v)) for v in grid} | {int(base)})
    else:
        tol = 1e-9 * max(abs(base), hi - lo)  # linspace may miss the base by a rounding error: snap onto it
        values = sorted({float(base) if abs(v - base) <= tol else float(v) for v in grid} | {float(base)})
    if len(values) < 3:
        raise SpaceError(
            f"{name}: the sweep around {base!r} holds only {len(values)} distinct value(s) {values}; raise "
            f"perturbation or give a wider range in ranges={{{name!r}: (low, high)}}"
        )
    return values


@dataclass(frozen=True)
class SensitivityPlan:
    """Every point a sensitivity analysis runs, laid out and validated before any backtest.

    Attributes:
        strategy: The strategy class.
        base: Every parameter given (base and fixed ones), as the strategy receives them.
        sweeps: Swept parameter -> its values.
        grids: Pair -> (values of the first, values of the second).
        config: The arguments, recorded with the result.
    """

    strategy: type
    base: dict[str, Any]
    sweeps: dict[str, list[Any]]
    grids: dict[Pair, tuple[list[Any], list[Any]]]
    config: dict[str, Any] = field(default_factory=dict)

    def points(self) -> list[dict[str, Any]]:
        """The distinct parameter sets to run, the base first."""
        seen: dict[str, dict[str, Any]] = {}

        def add(p: dict[str, Any]) -> None:
            seen.setdefault(params_key(p), p)

        add(dict(self.base))
        for name, values in self.sweeps.items():
            for v in values:
                add({**self.base, name: v})
        for (a, b), (va, vb) in self.grids.items():
            for x in va:
                for y in vb:
                    add({**self.base, a: x, b: y})
        return list(seen.values())


def plan_sensitivity(strategy: Any, base_params: Any, *, n_points: int = 20, perturbation: float = 0.5,
                     interactions: Iterable[Any] | None = None, params: Iterable[str] | None = None,
                     ranges: Mapping[str, Any] | None = None, interaction_points: int | None = None,
                     n_bootstrap: int = 100, seed: int | None = 0, interaction_threshold: float = INTERACTION_THRESHOLD,
                     fixed: Mapping[str, Any] | None = None) -> SensitivityPlan:
    """Validate the arguments of a sensitivity analysis and lay out its points.

    Args: as :meth:`bt_optimize.Cerebro.sensitivity`.

    Returns:
        The plan.

    Raises:
        SpaceError: any invalid argument, with the fix in the message.
    """
    import backtrader as bt

    if not (isinstance(strategy, type) and issubclass(strategy, bt.Strategy)):
        raise SpaceError(f"strategy={strategy!r}: pass a backtrader Strategy class (not an instance)")
    if not isinstance(base_params, Mapping) or not base_params:
        raise SpaceError(f"base_params={base_params!r}: pass the parameters to examine as a dict, e.g. "
                         "study.best_params or {'fast': 10, 'slow': 30}")
    fixed = dict(fixed or {})
    both = set(base_params) & set(fixed)
    if both:
        raise SpaceError(f"{sorted(both)} given both in base_params and as fixed keywords; give each once")
    check_param_names(strategy, list(base_params) + list(fixed))
    for name, v in (("n_points", n_points), ("n_bootstrap", n_bootstrap)):
        if not _is_int(v) or v < (3 if name == "n_points" else 0):
            need = "a whole number >= 3" if name == "n_points" else "a whole number >= 0 (0: no interval)"
            raise SpaceError(f"{name}={v!r}: give {need}")
    if interaction_points is not None and (not _is_int(interaction_points) or interaction_points < 3):
        raise SpaceError(f"interaction_points={interaction_points!r}: give a whole number >= 3 (or None)")
    if not _is_real(perturbation) or not 0.0 < float(perturbation) < 1.0:
        raise SpaceError(f"perturbation={perturbation!r}: give the half-width of the sweep as a fraction of the "
                         "base, between 0 and 1 (0.5 sweeps from half to one and a half times the base)")
    check_seed(seed)
    if not _is_real(interaction_threshold) or not 0.0 <= float(interaction_threshold) < 1.0:
        raise SpaceError(f"interaction_threshold={interaction_threshold!r}: give a number in [0, 1)")
    numeric = [k for k, v in base_params.items() if _is_real(v)]
    if params is None:
        swept = numeric
    else:
        swept = [params] if isinstance(params, str) else list(params)
        for name in swept:
            if name not in base_params:
                raise SpaceError(f"params: {name!r} is not in base_params ({', '.join(base_params)})")
            if name not in numeric:
                raise SpaceError(f"params: {name}={base_params[name]!r} is not a number and cannot be swept")
    if not swept:
        raise SpaceError(f"no numeric parameter to sweep in base_params={dict(base_params)!r}; sensitivity sweeps "
                         "int and float parameters (strings and booleans are held at their base)")
    ranges = dict(ranges or {})
    for name in ranges:
        if name not in swept:
            raise SpaceError(f"ranges: {name!r} is not a swept parameter (swept: {', '.join(swept)})")
    bounds = {name: _bounds(name, spec) for name, spec in ranges.items()}
    base = {**fixed, **dict(base_params)}
    n_2d = int(interaction_points) if interaction_points is not None else min(int(n_points), 9)

    def values(name: str, n: int) -> list[Any]:
        b = base_params[name]
        return sweep_values(name, float(b), n, float(perturbation), bounds.get(name), integer=_is_int(b))

    sweeps = {name: values(name, int(n_points)) for name in swept}
    grids: dict[Pair, tuple[list[Any], list[Any]]] = {}
    for pair in interactions or ():
        if isinstance(pair, str) or not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise SpaceError(f"interactions: {pair!r} is not a pair; give pairs of names, e.g. [('fast', 'slow')]")
        a, b = pair
        for name in (a, b):
            if name not in swept:
                raise SpaceError(f"interactions: {name!r} is not a swept parameter (swept: {', '.join(swept)})")
        if a == b:
            raise SpaceError(f"interactions: ({a!r}, {b!r}) pairs a parameter with itself; give two different names")
        if (a, b) in grids or (b, a) in grids:
            continue
        grids[(a, b)] = (values(a, n_2d), values(b, n_2d))
    config = {"n_points": int(n_points), "perturbation": float(perturbation), "interaction_points": n_2d,
              "n_bootstrap": int(n_bootstrap), "seed": seed, "interaction_threshold": float(interaction_threshold),
              "ranges": {k: [v[0], v[1]] for k, v in bounds.items()}, "fixed": dict(fixed)}
    return SensitivityPlan(strategy=strategy, base=base, sweeps=sweeps, grids=grids, config=config)


def run_sensitivity(cerebro: Any, plan: SensitivityPlan, objective: Objective, *, window: Window | None = None,
                    executor: Any = None) -> SensitivityResult:
    """Run every point of ``plan`` through the engine and compute the statistics.

    Args:
        cerebro: The user's Cerebro (its data, broker, sizers and analyzers are used).
        plan: From :func:`plan_sensitivity`.
        objective: A validated objective.
        window: Optional window of the data to measure on.
        executor: ``"serial"``, ``"process"``, an Executor, or ``None`` (by ``maxcpus``).

    Returns:
        The :class:`SensitivityResult`.

    Raises:
        AllTrialsFailedError: every point failed.
        ObjectiveError: the base point gives no finite objective.
    """
    points = plan.points()
    win = window or Window()
    values: dict[str, float] = {}
    errors: list[str] = []
    _, ex = prepare(cerebro, plan.strategy, objective, executor=executor)
    try:
        specs = (TrialSpec(i, p, win) for i, p in enumerate(points))
        for res in ex.imap_unordered(specs):
            p = points[res.number]
            ok = res.value is not None and res.state is TrialState.COMPLETE
            values[params_key(p)] = float(res.value) if ok else math.nan  # type: ignore[arg-type]
            if res.error and len(errors) < 5:
                errors.append(f"{p}: {res.error.splitlines()[0]}")
    finally:
        ex.close()
    if all(math.isnan(v) for v in values.values()):
        raise AllTrialsFailedError(f"all {len(points)} sensitivity backtests failed; the first error was: "
                                   f"{errors[0] if errors else 'no finite objective'}")
    base_value = values[params_key(plan.base)]
    if math.isnan(base_value):
        raise ObjectiveError(f"the base point {plan.base} gives no finite {objective.describe()['objective']} "
                             f"({errors[0] if errors else 'no closed trades?'}); choose base params that trade")

    def value_at(p: dict[str, Any]) -> float:
        return values[params_key(p)]

    seed = plan.config.get("seed")
    ss = np.random.SeedSequence(seed)
    rngs = [np.random.default_rng(s) for s in ss.spawn(len(plan.sweeps))]
    results: dict[str, dict[str, Any]] = {}
    for (name, sweep), rng in zip(plan.sweeps.items(), rngs):
        ys = [value_at({**plan.base, name: v}) for v in sweep]
        stats = sweep_stats(sweep, ys, float(plan.base[name]), maximize=objective.maximize,
                            n_bootstrap=plan.config["n_bootstrap"], rng=rng)
        if _is_int(plan.base[name]):
            stats["values"] = [int(v) for v in sweep]
            for key in ("base", "best_at", "plateau_at"):
                if stats.get(key) is not None:
                    stats[key] = int(round(stats[key]))
        results[name] = stats
    interactions: dict[Pair, dict[str, Any]] = {}
    for (a, b), (va, vb) in plan.grids.items():
        matrix = [[value_at({**plan.base, a: x, b: y}) for y in vb] for x in va]
        st = interaction_stats(va, vb, matrix, plan.config["interaction_threshold"])
        if _is_int(plan.base[a]):
            st["values_a"] = [int(v) for v in va]
        if _is_int(plan.base[b]):
            st["values_b"] = [int(v) for v in vb]
        st["base_a"], st["base_b"] = plan.base[a], plan.base[b]
        interactions[(a, b)] = st
    strategy = f"{plan.strategy.__module__}.{plan.strategy.__qualname__}"
    return SensitivityResult(strategy=strategy, objective=str(objective.describe()["objective"]),
                             maximize=objective.maximize, base_params=dict(plan.base), base_value=base_value,
                             results=results, interactions=interactions, config=dict(plan.config),
                             n_backtests=len(points), errors=errors)
