"""Parameter importance: which parameters move the objective, from a study's trials.

Method: **fANOVA** (functional analysis of variance, Hutter, Hoos and Leyton-Brown 2014), the method behind
Optuna's default importance evaluator. A random forest (scikit-learn's ``RandomForestRegressor``, 64 trees) is
fitted to the complete trials' values over the encoded space. Each tree cuts the space into boxes with one
predicted value each, so its prediction averaged over *all other* parameters is exact and cheap: for parameter
``i`` it is a step function of ``i``, the *main effect* of ``i``. The importance of ``i`` in one tree is the
variance of its main effect divided by the tree's total variance over the space (both uniform over the space:
numeric parameters on their unit scale, log dimensions in log space, each category of a ``Cat`` with equal
weight). The shares are averaged over the trees and normalised to sum to 1; the variance that no single
parameter explains (interactions) is thereby shared out in proportion.

Why fANOVA rather than permutation importance: the issue asks for each parameter's *share of the objective's
variance*, which is what fANOVA measures, over the whole space. Permutation importance measures how much a
model's fit degrades when one column is shuffled, on the trials themselves. Trials of a Bayesian or genetic
search crowd around the optimum, so permutation importance would describe the neighbourhood the search
happened to sample (and is noisy on the few dozen trials a study has), while fANOVA integrates the surrogate
over the whole space. Its weakness is the surrogate itself: with few trials the forest is rough, so the
result needs :data:`MIN_TRIALS` complete trials and says nothing about parameters the trials barely vary.
``docs/benchmarks_importance.md`` compares it with Optuna's evaluator and with the exact decomposition of full
grids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import SpaceError
from .search.encoding import Encoder
from .space import Cat, Space

__all__ = ["param_importances", "MIN_TRIALS", "N_TREES"]

#: Fewest complete trials with distinct parameters the importance needs.
MIN_TRIALS = 4
#: Trees of the random forest.
N_TREES = 64
#: Fewest trials in a leaf of a tree (1, as in Optuna's fANOVA; averaging the main effects over the trees, not
#: their variances, is what keeps split noise down, see ``docs/benchmarks_importance.md``).
MIN_LEAF = 1


def _encode(space: Space, params: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of encoded params and each column's (low, high): unit values for numbers, the index for ``Cat``."""
    names = space.names
    x = Encoder(space).genes(params)
    lo, hi = np.zeros(len(names)), np.ones(len(names))
    for j, n in enumerate(names):
        d = space[n]
        if isinstance(d, Cat):
            lo[j], hi[j] = -0.5, len(d.choices) - 0.5
    return x, lo, hi


def _leaves(tree: Any, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The boxes of a fitted sklearn tree: per leaf its lower bounds, upper bounds and value."""
    t = tree.tree_
    lows, highs, values = [], [], []
    stack = [(0, lo.copy(), hi.copy())]
    while stack:
        node, a, b = stack.pop()
        left, right = t.children_left[node], t.children_right[node]
        if left == right:  # a leaf
            lows.append(a)
            highs.append(b)
            values.append(float(t.value[node].ravel()[0]))
            continue
        f, thr = t.feature[node], t.threshold[node]
        b_left, a_right = b.copy(), a.copy()
        b_left[f] = min(b[f], thr)
        a_right[f] = max(a[f], thr)
        stack.append((left, a, b_left))
        stack.append((right, a_right, b))
    return np.array(lows), np.array(highs), np.array(values)


def _main_effects(trees: Sequence[Any], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Variance over the space of the forest's main effect of each dimension.

    The main effect of dimension ``i`` is the forest's prediction averaged over every other dimension, a step
    function of ``i``; it is exact per tree (the leaves are boxes) and averaged over the trees before its
    variance is taken, so split noise that differs from tree to tree cancels instead of adding up.
    """
    boxes = [_leaves(t, lo, hi) for t in trees]
    out = np.zeros(len(lo))
    for i in range(len(lo)):
        cuts = np.unique(np.concatenate([[lo[i], hi[i]]] + [np.concatenate([a[:, i], b[:, i]]) for a, b, _ in boxes]))
        cuts = cuts[(cuts >= lo[i]) & (cuts <= hi[i])]
        mids, widths = (cuts[:-1] + cuts[1:]) / 2, np.diff(cuts) / (hi[i] - lo[i])
        effect = np.zeros(len(mids))
        for a, b, v in boxes:
            frac = np.clip((b - a) / (hi - lo), 0.0, 1.0)
            others = np.delete(frac, i, axis=1).prod(axis=1)  # weight of each leaf over the other dimensions
            inside = (a[:, i][None, :] <= mids[:, None]) & (mids[:, None] < b[:, i][None, :])
            effect += inside.astype(float) @ (others * v)
        effect /= len(boxes)
        mean = float(widths @ effect)
        out[i] = float(widths @ (effect - mean) ** 2)
    return out


def param_importances(space: Space, params: Sequence[dict[str, Any]], values: Sequence[float], *,
                      n_trees: int = N_TREES, seed: int = 0) -> pd.Series:
    """fANOVA importance of each parameter (see the module docstring).

    Args:
        space: The study's space.
        params: The parameters of the complete trials.
        values: Their objective values (finite).
        n_trees: Trees of the random forest.
        seed: Seed of the forest.

    Returns:
        A Series indexed by parameter name, most important first, summing to 1. A parameter with a single
        value in the space gets 0; when the values do not vary at all, every varying parameter gets an equal
        share.

    Raises:
        SpaceError: fewer than :data:`MIN_TRIALS` complete trials with distinct parameters.
    """
    from sklearn.ensemble import RandomForestRegressor

    names = space.names
    y = np.asarray(values, dtype=float)
    if len(params) != len(y) or not np.all(np.isfinite(y)):
        raise ValueError("params and values must have equal lengths and finite values")
    distinct = {tuple(sorted((k, repr(v)) for k, v in p.items())) for p in params}
    if len(distinct) < MIN_TRIALS:
        raise SpaceError(f"importance needs at least {MIN_TRIALS} complete trials with distinct parameters; this "
                         f"study has {len(distinct)}. Run more trials first")
    x, lo, hi = _encode(space, params)
    varying = hi - lo > 0
    varying &= np.array([space[n].cardinality != 1 for n in names])
    forest = RandomForestRegressor(n_estimators=n_trees, max_depth=64, min_samples_leaf=MIN_LEAF,
                                   max_features=1.0, bootstrap=True, random_state=seed)
    forest.fit(x, y)
    imp = np.where(varying, _main_effects(forest.estimators_, lo, hi), 0.0)
    if imp.sum() <= 1e-15 * max(1.0, float(np.var(y))):
        imp = np.where(varying, 1.0, 0.0) if varying.any() else np.ones(len(names))
    imp = imp / imp.sum()
    return pd.Series(imp, index=pd.Index(names, name="param"), name="importance").sort_values(
        ascending=False, kind="stable")


def study_importances(study: Any, target: int | str | None = None, *, seed: int = 0) -> pd.Series:
    """:func:`param_importances` of a study's complete full-fidelity trials (one per distinct parameter set).

    Args:
        study: The :class:`~bt_optimize.Study`.
        target: In a multi-objective study, which objective (index or name; default the first).
        seed: Seed of the forest.

    Raises:
        SpaceError: too few complete trials, or an unknown ``target``.
    """
    from .space import params_key

    obj = study.objective
    index = None
    if obj.is_multi:
        names = obj.names
        index = 0 if target is None else (names.index(target) if target in names else target)
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(names):
            raise SpaceError(f"target={target!r}: give the index (0 to {len(names) - 1}) or name of one of the "
                             f"objectives {names}")
    elif target not in (None, 0):
        raise SpaceError(f"target={target!r}: a single-objective study has only its objective (target=None)")
    params, values, seen = [], [], set()
    for t in study.get_trials():
        if not t.ok or t.user_attrs.get("fidelity", 1.0) != 1.0:
            continue
        v = t.value if index is None else (t.user_attrs.get("values") or [None] * (index + 1))[index]
        key = params_key(t.params)
        if v is None or key in seen:
            continue
        seen.add(key)
        params.append(t.params)
        values.append(float(v))
    return param_importances(study.space, params, values, seed=seed)
