"""The analyses of a :class:`~bt_optimize.Study` that delegate to other modules: overfitting statistics, parameter
importances, plots and the HTML report (each imported when called, so the core never loads them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .views import StudyViews

if TYPE_CHECKING:
    from ..robustness.overfitting import OverfittingReport

__all__ = ["StudyAnalyses"]


class StudyAnalyses(StudyViews):
    """The analysis part of :class:`~bt_optimize.Study`."""

    def overfitting(self, n_blocks: int = 16, metric: str = "sharpe_ratio") -> OverfittingReport:
        """How likely the best trial is a fluke: deflated Sharpe ratio and probability of backtest overfitting.

        Uses the per-bar returns every trial kept (``keep_returns=True``, the default). See
        :mod:`bt_optimize.robustness.overfitting` for what each number means and what it assumes (in particular
        for Bayesian and genetic studies, whose trials are not a random sample of the space).

        Args:
            n_blocks: Even number of blocks the bars are cut into for the probability of backtest overfitting.
            metric: ``"sharpe_ratio"``, ``"sortino_ratio"``, ``"mean_return"`` or ``"total_return"``: the
                performance the cross-validation ranks trials by.

        Returns:
            An :class:`~bt_optimize.robustness.overfitting.OverfittingReport`; its ``verdict`` is
            ``"insufficient"`` (never NaN) when too few trials or bars kept returns.

        Raises:
            ValueError: a bad ``n_blocks`` or ``metric``.
            ObjectiveError: a multi-objective study (no single best trial to judge; combine the objectives with
                ``bto.Score(...)``).

        Example:
            >>> rep = study.overfitting()  # doctest: +SKIP
            >>> rep.verdict, rep.dsr, rep.pbo  # doctest: +SKIP
        """
        from ..robustness.overfitting import study_overfitting

        return study_overfitting(self, n_blocks=n_blocks, metric=metric)

    def plot_generations(self, path: str | None = None) -> Any:
        """Draw best/mean fitness and diversity per generation (see :func:`bt_optimize.plotting.plot_generations`);
        returns the matplotlib Figure and saves it when ``path`` is given."""
        from ..plotting import plot_generations

        return plot_generations(self.generations, path)

    def importances(self, target: int | str | None = None) -> pd.Series:
        """Each parameter's share of the objective's variance (fANOVA on a random forest; sums to 1, most
        important first). See :mod:`bt_optimize.importance` for the method and why it was chosen.

        Args:
            target: In a multi-objective study, which objective (index or name; default the first).

        Raises:
            SpaceError: fewer than :data:`bt_optimize.importance.MIN_TRIALS` complete trials.
        """
        from ..importance import study_importances

        return study_importances(self, target)

    def plot_importances(self, path: str | None = None, target: int | str | None = None) -> Any:
        """Draw :meth:`importances` as horizontal bars; returns the matplotlib Figure, saved when ``path`` is given."""
        from ..plotting.objectives import plot_importances

        return plot_importances(self.importances(target), path)

    def plot_pareto(self, path: str | None = None) -> Any:
        """Draw a multi-objective study's complete trials in objective space with :attr:`best_trials` highlighted
        (see :func:`bt_optimize.plotting.objectives.plot_pareto`).

        Raises:
            ObjectiveError: the study has a single objective.
        """
        from ..objectives.multi import front_points
        from ..plotting.objectives import plot_pareto

        points, on_front = front_points(self)
        return plot_pareto(points, on_front, self.objective.names, self.objective.directions, path)

    def plot_convergence(self, path: str | None = None) -> Any:
        """Draw each trial's value and the best so far (see :func:`bt_optimize.plotting.plot_convergence`)."""
        from ..plotting import plot_convergence

        return plot_convergence(self.trials, self.objective.maximize, path)

    def plot_objective(self, path: str | None = None) -> Any:
        """Draw the objective against each parameter (see :func:`bt_optimize.plotting.plot_objective`)."""
        from ..plotting import plot_objective

        return plot_objective(self.trials, self.space.names, self.objective.maximize, path)

    def plot_evaluations(self, path: str | None = None) -> Any:
        """Draw where the search looked, by trial (see :func:`bt_optimize.plotting.plot_evaluations`)."""
        from ..plotting import plot_evaluations

        return plot_evaluations(self.trials, self.space.names, path)

    def report(self, path: str | Path = "report.html", *, sensitivity: Any = None,
               analyses: dict[str, Any] | None = None, options: dict[str, Any] | None = None,
               run_best: bool = True, title: str | None = None) -> Path:
        """Write one self-contained HTML page about this study (see :mod:`bt_optimize.report`).

        Sections: set-up; best result (params, metrics, and the equity and drawdown of :meth:`run_best` against
        buy-and-hold, with its trades); trials (convergence, top 50, objective per parameter, importances and the
        heatmap of the two most important parameters); robustness (every Monte Carlo and noise-infusion analyzer
        among the best trial's analyzers and ``analyses``, ``sensitivity``, and the overfitting statistics when the
        study has them). Figures are embedded; the page loads nothing from the network.

        Args:
            path: The HTML file to write.
            sensitivity: A :class:`~bt_optimize.robustness.SensitivityResult` to include.
            analyses: More analyzer outputs to include, by name (e.g. a MonteCarlo run on the best params).
            options: The method's options, shown in the set-up (default: every option of the ``optimize_*``
                call that ran the study, defaults included).
            run_best: Re-run the best params for the equity curve and trades (one backtest).
            title: The page title (default: the study name).

        Returns:
            The path written.

        Example:
            >>> study.report("report.html")  # doctest: +SKIP
        """
        from ..report import study_html

        out = Path(path)
        out.write_text(study_html(self, sensitivity=sensitivity, analyses=analyses, options=options,
                                  run_best=run_best, title=title), encoding="utf-8")
        return out
