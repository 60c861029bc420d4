"""Parameter importance by variance decomposition, and the binned grid of two parameters (pure pandas/numpy).

Importance here is the share of the objective's variance across the complete trials that one parameter explains
on its own. Each parameter's values are put into groups (a categorical parameter, or a numeric one with at most
:data:`MAX_BINS` distinct values: one group per value; otherwise :data:`MAX_BINS` quantile bins of its values).
With ``SST`` the total sum of squares of the objective, ``SSB`` the between-group sum of squares
(``sum n_g (mean_g - mean)^2``), ``k`` groups and ``n`` trials, the importance is epsilon squared::

    eps2 = (SSB - (k - 1) * MSW) / (SST + MSW),   MSW = (SST - SSB) / (n - k)

clipped at 0. Unlike the raw ratio ``SSB / SST`` (eta squared), which grows with the number of groups even for a
parameter that does nothing, epsilon squared subtracts what ``k`` groups explain by chance, so an irrelevant
parameter scores near 0. It is a one-at-a-time measure: it sees main effects, not interactions, and trials from
an adaptive search (Bayesian, genetic) crowd near the optimum, which dampens every parameter's spread. Read it
as a ranking, not as exact shares.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MAX_BINS", "groups_of", "variance_importance", "binned_grid"]

#: Most groups a numeric parameter is cut into.
MAX_BINS = 8


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def groups_of(series: pd.Series, max_bins: int = MAX_BINS) -> tuple[pd.Series, list[str], list[float]]:
    """Assign each value of a parameter column to a group.

    Returns:
        ``(codes, labels, centres)``: an integer group code per row (aligned with ``series``), one label per
        group in axis order, and a numeric position per group (the bin's median for numeric bins, the value for
        few numeric values, the index for categories).
    """
    if _is_numeric(series):
        values = series.astype(float)
        uniq = np.unique(values.dropna().to_numpy())
        if len(uniq) <= max_bins:
            pos = {v: i for i, v in enumerate(uniq)}
            codes = values.map(pos).astype(int)
            return codes, [f"{v:.4g}" for v in uniq], [float(v) for v in uniq]
        ranks = values.rank(method="first")
        codes = pd.Series(pd.qcut(ranks, max_bins, labels=False), index=series.index).astype(int)
        labels, centres = [], []
        for g in range(max_bins):
            part = values[codes == g]
            labels.append(f"{part.min():.4g}-{part.max():.4g}")
            centres.append(float(part.median()))
        return codes, labels, centres
    as_text = series.map(lambda v: v if isinstance(v, str) else repr(v))
    labels = sorted(as_text.unique(), key=str)
    pos = {lab: i for i, lab in enumerate(labels)}
    return as_text.map(pos).astype(int), labels, [float(i) for i in range(len(labels))]


def _complete(frame: pd.DataFrame) -> pd.DataFrame:
    done = frame[frame["state"] == "complete"]
    return done[np.isfinite(done["value"].astype(float))]


def variance_importance(frame: pd.DataFrame, names: list[str], max_bins: int = MAX_BINS) -> dict[str, float]:
    """Epsilon-squared importance of each parameter over the complete trials (see the module docstring).

    Args:
        frame: ``study.trials``.
        names: The parameter names.
        max_bins: Most groups per numeric parameter.

    Returns:
        ``{name: importance in [0, 1]}`` in the order of ``names`` (all 0 with fewer than 3 complete trials or
        a constant objective).

    Example:
        >>> df = pd.DataFrame({"state": ["complete"] * 6, "value": [1.0, 1.1, 2.0, 2.1, 3.0, 3.1],
        ...                    "params_a": [1, 1, 2, 2, 3, 3], "params_b": ["x", "y"] * 3})
        >>> {k: round(v, 3) for k, v in variance_importance(df, ["a", "b"]).items()}
        {'a': 0.995, 'b': 0.0}
    """
    done = _complete(frame)
    y = done["value"].to_numpy(dtype=float)
    n = len(y)
    sst = float(((y - y.mean()) ** 2).sum()) if n else 0.0
    out = {}
    for name in names:
        if n < 3 or sst <= 0:
            out[name] = 0.0
            continue
        codes, _, _ = groups_of(done[f"params_{name}"], max_bins)
        codes_arr = codes.to_numpy()
        k = len(np.unique(codes_arr))
        ssb = sum(float((codes_arr == g).sum()) * (float(y[codes_arr == g].mean()) - float(y.mean())) ** 2
                  for g in np.unique(codes_arr))
        msw = (sst - ssb) / (n - k) if n > k else 0.0
        eps2 = (ssb - (k - 1) * msw) / (sst + msw)
        out[name] = float(min(1.0, max(0.0, eps2))) if math.isfinite(eps2) else 0.0
    return out


def binned_grid(frame: pd.DataFrame, a: str, b: str, maximize: bool = True,
                max_bins: int = MAX_BINS) -> dict[str, Any]:
    """The best objective value in each cell of a grid over two parameters (complete trials only).

    Args:
        frame: ``study.trials``.
        a: Parameter on the x axis.
        b: Parameter on the y axis.
        maximize: Direction: a cell shows its best trial (highest, or lowest when minimising).
        max_bins: Most groups per numeric parameter.

    Returns:
        ``{"x": a, "y": b, "x_labels": [...], "y_labels": [...], "values": rows (y) x columns (x) of floats or
        None for empty cells, "counts": same shape}``.
    """
    done = _complete(frame)
    cx, xl, _ = groups_of(done[f"params_{a}"], max_bins)
    cy, yl, _ = groups_of(done[f"params_{b}"], max_bins)
    values: list[list[float | None]] = [[None] * len(xl) for _ in yl]
    counts = [[0] * len(xl) for _ in yl]
    for i, j, v in zip(cy.to_numpy(), cx.to_numpy(), done["value"].to_numpy(dtype=float)):
        counts[i][j] += 1
        cur = values[i][j]
        if cur is None or (v > cur if maximize else v < cur):
            values[i][j] = float(v)
    return {"x": a, "y": b, "x_labels": xl, "y_labels": yl, "values": values, "counts": counts}
