"""Bayesian optimisation with a Gaussian-process surrogate: cheap batches, adaptive acquisition, no duplicates.

The package: :mod:`~bt_optimize.search.encoding` (the point encoding, shared with the other searches),
:mod:`.gp` (the GP and its batch posterior), :mod:`.acquisition` (EI/PI/LCB and the ``"auto"`` ladder),
:mod:`.candidates` (candidate sets, the trust region), :mod:`.parzen` (the density-ratio proposer),
:mod:`.targets` (what the surrogate is fitted to), :mod:`.rounds` (one surrogate round) and :mod:`.search`
(:class:`BayesSearch`).


The encoding of points is scikit-optimize's (``normalize_dimensions``: ``[0, 1]`` per numeric dimension, log
dimensions in log space, one-hot categoricals; the tests check the two agree) and so is the kernel (a constant times
a Matern-5/2 with one length scale per encoded column, plus Gaussian noise). Both are computed here on whole arrays,
together with everything else, because doing it the generic way is what makes batches slow (skopt itself is no
longer imported at run time):

- **Initial design.** ``initial_points``, then a seeded Latin hypercube (every dimension's range cut into
  ``n_initial_points`` strata, one point per stratum), deterministic in ``seed``.
- **The surrogate** (:class:`~.gp.GP`) is fitted by maximising the marginal likelihood with an analytic gradient
  (L-BFGS-B, two starts: the previous fit and a default), on at most :data:`MAX_FIT_POINTS` points (a seeded
  subset beyond). The hyperparameters are refitted when the number of told points has grown by
  :data:`REFIT_GROWTH` since the last fit and kept in between; every round still conditions on every point told.
  Training points are sorted canonically, so the fit does not depend on the order in which parallel results
  arrived.
- **Cheap batches.** The points of a batch are chosen one after the other, each time conditioning the posterior on
  the points already chosen (and on any point still running) with the *fixed* kernel and a constant lie (the best
  value seen: skopt's ``"cl_min"``). Conditioning is a rank-one update of the candidates' posterior, so a round of
  four costs one Cholesky factorisation plus a few matrix-vector products, where skopt's
  ``Optimizer.ask(n_points=4)`` refits the kernel hyperparameters for every lie.
  See ``docs/benchmarks_search.md``.
- **Acquisition over a candidate set.** The acquisition is maximised over every point of a finite space not yet
  seen (up to ``4 * n_candidates`` points), else over ``n_candidates`` random points plus local perturbations of
  the best points.
- **A trust region and a share of random points** (real landscapes have plateaus, narrow peaks and integer grids,
  where a surrogate alone stalls). With ``local_picks`` the first of the GP's points in every round is the acquisition's
  best among the candidates near the incumbent: within
  :data:`LOCAL_BOX` of each numeric range (at least one step) with the same categories, or one category switched
  (recorded ``local=True``). ``random_share`` of the proposals (evenly spread, 1 in 8 by default) are uniform random
  points (recorded ``acquisition="random"``).
- **A density-ratio proposer on grids** (:mod:`.parzen`). On a finite space, every other proposal after the
  initial design (``parzen_share=0.5``, :func:`default_parzen_share`; recorded ``acquisition="parzen"``) comes from
  a tree-structured-Parzen-style proposer: Parzen densities of the best tenth of the told points and of the rest,
  candidates drawn from the first, the one with the largest ratio proposed. It needs no kernel fit and does not
  extrapolate, which suits plateaus, steps and optima on an edge of the grid; the GP's picks of the same round
  condition on its points as pending ones. On the search suite it won on both the tune and the holdout half (see
  ``docs/benchmarks_suite.md``); on continuous spaces it is off (the GP alone did better on a smooth function).
- **No duplicates.** A point already told or proposed is never proposed again (keys from
  :func:`~bt_optimize.space.params_key`). A finite space is exhausted when every point has been proposed.
- **Output transform.** Values are minimised internally (negated when ``maximize``). With
  ``output_transform="rank"`` (the default) they are replaced by normal scores of their ranks (ties share their
  mean rank) before fitting, which tames the wide plateaus (a parameter set that never trades scores exactly 0)
  and lone outliers of real strategy landscapes; ``"standard"`` only standardises them. ``xi`` and ``kappa`` are in
  units of the transformed values (one standard deviation).
- **Failed and infeasible points** (told with ``value=None``) enter the surrogate at the worst complete value
  seen, so proposals move away from them.
- **Observation noise per point.** A value told with ``noise_var`` (with ``cv=k`` folds: the variance of the fold
  values divided by ``k``, i.e. the squared standard error of their mean) adds that variance, divided by the
  variance of the values seen and floored at :data:`NOISE_FLOOR`, to the diagonal of the kernel at that point, on
  top of the fitted noise common to all points (a heteroscedastic GP).
- **Multi-fidelity** (``optimize_bayes(fidelity=...)``). The GP models the full-fidelity objective only. A point
  pruned by the quick screen (state ``pruned``, its told value the quick value) enters as a pessimistic stand-in:
  its quick value mapped to the full scale by a least-squares line through the promoted points (which have both
  values; the slope is clipped at 0), but never better than the median full value, with the line's residual
  variance as its own noise (at least :data:`PRUNED_NOISE_FLOOR`, in transformed units). Until three promoted
  points exist, a pruned point stands at the median full value with noise 1. Quick values never count as
  results: they cannot become the best value, move ``patience`` or the ``"auto"`` acquisition.
"""

from __future__ import annotations

from ..encoding import Encoder as _Encoder
from .acquisition import ACQUISITIONS, AUTO_LADDER, AUTO_START, STALL_THRESHOLD, Acquisition
from .candidates import LOCAL_BOX
from .rounds import MAX_FIT_POINTS, REFIT_GROWTH
from .search import (
    BayesSearch,
    check_arguments,
    default_n_initial_points,
    default_parzen_share,
    default_window,
    fold_noise,
)
from .targets import NOISE_FLOOR, OUTPUT_TRANSFORMS, PRUNED_NOISE_FLOOR

__all__ = ["BayesSearch", "Acquisition", "ACQUISITIONS", "AUTO_LADDER", "AUTO_START", "STALL_THRESHOLD",
           "OUTPUT_TRANSFORMS", "NOISE_FLOOR", "PRUNED_NOISE_FLOOR", "REFIT_GROWTH", "MAX_FIT_POINTS", "LOCAL_BOX",
           "default_n_initial_points", "default_parzen_share", "default_window", "fold_noise", "check_arguments",
           "_Encoder"]
