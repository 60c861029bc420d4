"""The result of a parameter-sensitivity run: plain data, a text report, plots and the HTML page."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..stats.sensitivity import ROBUST_ABOVE, SENSITIVE_AT_OR_BELOW

__all__ = ["SensitivityResult"]

Pair = tuple[str, str]


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


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
