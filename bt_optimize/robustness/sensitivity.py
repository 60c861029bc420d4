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
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.runner import prepare
from ..engine.worker import TrialSpec
from ..exceptions import AllTrialsFailedError, ObjectiveError, SpaceError
from ..objective import Objective
from ..space import Int, Real, check_param_names, params_key
from ..stats.sensitivity import (
    INTERACTION_THRESHOLD,
    ROBUST_ABOVE,
    SENSITIVE_AT_OR_BELOW,
    interaction_stats,
    sweep_stats,
)
from ..trial import Window

__all__ = ["SensitivityPlan", "SensitivityResult", "plan_sensitivity", "run_sensitivity", "sweep_values"]

Pair = tuple[str, str]


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
    if seed is not None and not _is_int(seed):
        raise SpaceError(f"seed={seed!r}: give a whole number or None")
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
            p = points[res["number"]]
            v = res.get("value")
            values[params_key(p)] = float(v) if v is not None and res.get("state") == "complete" else math.nan
            if res.get("error") and len(errors) < 5:
                errors.append(f"{p}: {str(res['error']).splitlines()[0]}")
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


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, bool) or _is_int(x):
        return str(x)
    if isinstance(x, float):
        return "n/a" if not math.isfinite(x) else f"{x:.{digits}g}"
    return str(x)


@dataclass(frozen=True)
class SensitivityResult:
    """The outcome of :meth:`bt_optimize.Cerebro.sensitivity` (plain data; see :mod:`bt_optimize.stats.sensitivity`).

    Attributes:
        strategy: ``module.Class`` of the strategy.
        objective: The objective's name.
        maximize: Its direction.
        base_params: Every parameter of the base point (fixed ones included).
        base_value: The objective at the base point.
        results: Per swept parameter: ``values``, ``objective``, ``variance``, ``max_gradient``,
            ``max_curvature``, ``score``, ``ci``, ``class``, ``best_at``, ``plateau_at``, ... (see
            :func:`bt_optimize.stats.sensitivity.sweep_stats`).
        interactions: Per ``(a, b)`` pair: ``values_a``, ``values_b``, ``matrix`` (rows: ``a``), ``strength``,
            ``has_interaction``, ``threshold``, ``base_a``, ``base_b``.
        config: The arguments of the analysis.
        n_backtests: Distinct points run.
        errors: The first few errors of failed points, if any.

    Example:
        >>> sens = cerebro.sensitivity(SmaCross, {"fast": 10, "slow": 30}, n_points=9)  # doctest: +SKIP
        >>> sens.results["fast"]["class"], sens.results["fast"]["score"]  # doctest: +SKIP
        >>> print(sens.report())  # doctest: +SKIP
    """

    strategy: str
    objective: str
    maximize: bool
    base_params: dict[str, Any]
    base_value: float
    results: dict[str, dict[str, Any]]
    interactions: dict[Pair, dict[str, Any]]
    config: dict[str, Any]
    n_backtests: int
    errors: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ plain data
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (interaction keys become ``"a,b"``); the plotting functions accept it too."""
        return {
            "strategy": self.strategy, "objective": self.objective, "maximize": self.maximize,
            "base_params": dict(self.base_params), "base_value": self.base_value, "results": dict(self.results),
            "interactions": {f"{a},{b}": v for (a, b), v in self.interactions.items()}, "config": dict(self.config),
            "n_backtests": self.n_backtests, "errors": list(self.errors),
        }

    @property
    def overall_class(self) -> str:
        """The class of the weakest parameter (``"undefined"`` if no score)."""
        order = {"sensitive": 0, "moderate": 1, "robust": 2}
        classes = [r["class"] for r in self.results.values() if r["class"] in order]
        return min(classes, key=order.__getitem__) if classes else "undefined"

    # ------------------------------------------------------------------ plots
    def plot(self, param: str, path: str | None = None) -> Any:
        """The objective along ``param``'s sweep, base marked (see :func:`bt_optimize.plotting.plot_sensitivity`)."""
        from ..plotting import plot_sensitivity

        return plot_sensitivity(self, param, path=path)

    def plot_interaction(self, a: str, b: str, path: str | None = None) -> Any:
        """Heatmap of the ``(a, b)`` grid, the base starred (see :func:`bt_optimize.plotting.plot_interaction`)."""
        from ..plotting import plot_interaction

        return plot_interaction(self, a, b, path=path)

    # ------------------------------------------------------------------ report
    def _indicators(self) -> list[str]:
        out = []
        for name, r in self.results.items():
            if r["score"] is None:
                out.append(f"`{name}`: no score (the base or every point of the sweep failed).")
                continue
            drop = r.get("neighbour_drop_pct")
            if drop is not None and drop > 20.0:
                out.append(f"`{name}`: the base beats its direct neighbours by {drop:.0f} % of its value: a sharp, "
                           "isolated peak, typical of parameters fitted to noise.")
            flips = r.get("sign_flip_share")
            if flips is not None and flips > 0.2:
                out.append(f"`{name}`: the objective has the opposite sign of the base on {flips:.0%} of the sweep: "
                           "the edge disappears close to the chosen value.")
            curv = r.get("max_curvature")
            if curv is not None and curv > 25.0:
                out.append(f"`{name}`: large curvature ({curv:.3g} on the normalised sweep): a jagged response, the "
                           "result depends on exact parameter values.")
            scale = r.get("scale") or 0.0
            best = r.get("best_value")
            if best is not None and scale > 0:
                gain = (best - self.base_value) / scale * 100.0 * (1 if self.maximize else -1)
                if gain > 10.0:
                    out.append(f"`{name}`: {name}={_fmt(r['best_at'])} beats the base by {gain:.0f} %: the base is not "
                               "the optimum of this parameter (unconverged search, or a noisy landscape).")
            if r.get("n_missing"):
                out.append(f"`{name}`: {r['n_missing']} of {len(r['values'])} points gave no finite objective "
                           "(failed, skipped or no trades).")
        return out

    def indicators(self) -> list[str]:
        """Overfitting indicators that fired, one sentence each (markdown: names in backticks)."""
        return self._indicators()

    def assessment(self) -> list[str]:
        """The robustness assessment: the overall class, a caveat for a base near 0, then one ``"- "`` line per
        parameter and interacting pair (markdown: names in backticks, the class in bold)."""
        out = []
        overall = self.overall_class
        scored = {k: r for k, r in self.results.items() if r["score"] is not None}
        if scored:
            weakest = min(scored, key=lambda k: scored[k]["score"])
            out.append(f"Overall: **{overall}** (the weakest parameter, `{weakest}`, scores "
                       f"{scored[weakest]['score']:.2f}; robust > {ROBUST_ABOVE}, sensitive <= "
                       f"{SENSITIVE_AT_OR_BELOW}).")
        spread = max((abs(v) for r in self.results.values() for v in r["objective"] if v is not None), default=0.0)
        if spread > 0 and abs(self.base_value) < 0.1 * spread:
            out.append(f"The base value {_fmt(self.base_value)} is close to 0 next to values up to {_fmt(spread)} "
                       "along the sweeps: changes relative to it are large by construction, so low scores here "
                       "mostly say the base has no edge to lose.")
        for name, r in self.results.items():
            if r["score"] is None:
                out.append(f"- `{name}`: undefined (no finite objective along the sweep).")
                continue
            moved = (1.0 - r["score"]) * 100.0
            out.append(f"- `{name}` is **{r['class']}**: over its sweep the objective moves on average by "
                       f"{moved:.0f} % of its base value (score {r['score']:.2f}, CI {_fmt(r['ci'][0], 3)} to "
                       f"{_fmt(r['ci'][1], 3)}).")
        for (a, b), st in self.interactions.items():
            if st["has_interaction"]:
                out.append(f"- `{a}` and `{b}` interact (strength {st['strength']:.2f} > {st['threshold']}): "
                           f"the best `{a}` depends on `{b}`.")
            elif st["has_interaction"] is False:
                out.append(f"- `{a}` and `{b}` act independently (strength {st['strength']:.2f} <= "
                           f"{st['threshold']}).")
        return out

    def recommendations(self) -> list[str]:
        """What to do about each parameter and pair, one ``"- "`` line each (markdown)."""
        recs = []
        for name, r in self.results.items():
            if r["class"] == "sensitive":
                recs.append(f"- `{name}` is sensitive: small changes move the result a lot. Prefer the middle of a "
                            f"broad good region: the best 5-point neighbourhood is around {name}="
                            f"{_fmt(r['plateau_at'])} (mean {_fmt(r['plateau_value'])}), or treat the edge as "
                            "unproven until it holds out of sample.")
            elif r["class"] == "moderate":
                recs.append(f"- `{name}` is moderately sensitive: check it out of sample (walk-forward) and "
                            f"consider {name}={_fmt(r['plateau_at'])}, the centre of the best neighbourhood.")
            elif r["class"] == "robust":
                recs.append(f"- `{name}` is robust: its exact value matters little; a coarse grid is enough to set "
                            "it.")
        for (a, b), st in self.interactions.items():
            if st["has_interaction"]:
                recs.append(f"- Optimise `{a}` and `{b}` together; conclusions drawn about either one alone are "
                            "incomplete.")
        if self.overall_class == "robust" and not self._indicators():
            recs.append("- The base sits on a broad plateau; still validate it on data it was not tuned on.")
        return recs or ["- No recommendation: no parameter could be scored."]

    def report(self, format: str = "markdown", path: str | Path | None = None) -> str:
        """A report: summary table, robustness assessment, recommendations, overfitting indicators.

        Args:
            format: ``"markdown"`` (the default: text) or ``"html"`` (one self-contained page with the sweep and
                interaction plots embedded; see :mod:`bt_optimize.report`).
            path: If given, the report is also written to this file.

        Returns:
            The report's text (markdown or HTML).

        Raises:
            ValueError: an unknown ``format``.

        Example:
            >>> print(sens.report())  # doctest: +SKIP
            >>> sens.report(format="html", path="sensitivity.html")  # doctest: +SKIP
        """
        if format not in ("markdown", "html"):
            raise ValueError(f"format={format!r}: give 'markdown' or 'html'")
        if format == "html":
            from ..report import sensitivity_html

            text = sensitivity_html(self)
        else:
            text = self._markdown()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def _markdown(self) -> str:
        direction = "higher is better" if self.maximize else "lower is better"
        base = ", ".join(f"{k}={_fmt(v)}" for k, v in self.base_params.items())
        cfg = self.config
        lines = [
            f"# Parameter sensitivity of {self.strategy.rsplit('.', 1)[-1]}",
            "",
            f"Objective `{self.objective}` ({direction}) at the base {base}: **{_fmt(self.base_value)}**.",
            f"Each parameter is swept one at a time over ±{cfg['perturbation']:.0%} of its base "
            f"({cfg['n_points']} points, fewer for narrow integer sweeps), the others at their base; "
            f"{len(self.interactions)} interaction grid(s) of {cfg['interaction_points']} x "
            f"{cfg['interaction_points']}; {self.n_backtests} distinct backtests.",
            "",
            "## Summary",
            "",
            "| parameter | base | swept range | points | score | CI | class | max abs gradient | "
            "max abs curvature | variance | best (at) |",
            "|---|---:|---|---:|---:|---|---|---:|---:|---:|---|",
        ]
        for name, r in self.results.items():
            ci = f"[{_fmt(r['ci'][0], 3)}, {_fmt(r['ci'][1], 3)}]" if r["ci"][0] is not None else "n/a"
            pts = f"{r['n_valid']}" + (f" ({r['n_missing']} missing)" if r["n_missing"] else "")
            lines.append(
                f"| {name} | {_fmt(r['base'])} | {_fmt(r['values'][0])} to {_fmt(r['values'][-1])} | {pts} | "
                f"{_fmt(r['score'], 3)} | {ci} | {r['class']} | {_fmt(r['max_gradient'], 3)} | "
                f"{_fmt(r['max_curvature'], 3)} | {_fmt(r['variance'], 3)} | {_fmt(r['best_value'])} "
                f"({_fmt(r['best_at'])}) |")
        if self.interactions:
            lines += ["", "| interaction | strength | threshold | interacting |", "|---|---:|---:|---|"]
            for (a, b), st in self.interactions.items():
                flag = {True: "yes", False: "no", None: "n/a"}[st["has_interaction"]]
                lines.append(f"| {a} x {b} | {_fmt(st['strength'], 3)} | {_fmt(st['threshold'])} | {flag} |")
        lines += ["", "## Robustness assessment", ""]
        for text in self.assessment():
            lines += [text, ""] if not text.startswith("- ") else [text]
        lines += ["", "## Recommendations", ""]
        lines += self.recommendations()
        lines += ["", "## Overfitting indicators", ""]
        lines += [f"- {text}" for text in self.indicators()] or [
            "None of the indicators fired (sharp peak, sign flips, large curvature, a better neighbour, missing "
            "points)."]
        lines += [
            "", "## What the numbers assume", "",
            "Scores and derivatives are computed on each sweep normalised to [0, 1] in the parameter and to the "
            "base value in the objective. They assume the objective is reasonably smooth at the sweep's resolution "
            "(finite differences amplify backtest noise) and judge only the swept neighbourhood, one parameter at a "
            "time with the others at their base; the interaction grids cover the requested pairs only.",
        ]
        if self.errors:
            lines += ["", "Points without a value (first few): " + "; ".join(self.errors)]
        return "\n".join(lines) + "\n"
