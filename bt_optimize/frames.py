"""The trials table (one row per trial) shared by live studies and the report of stored studies.

It lives apart from :mod:`bt_optimize.study` so that the report, which the study calls, can build the table of a
stored study without importing the study back.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .stats.metrics import METRICS
from .trial import Trial

__all__ = ["trials_frame"]


def trials_frame(trials: list[Trial], names: list[str]) -> pd.DataFrame:
    """The :attr:`~bt_optimize.Study.trials` table of ``trials`` (parameters ``names``), also used for stored
    studies."""
    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "state": t.state.value,
                               "value": math.nan if t.value is None else t.value}
        for k in names:
            row[f"params_{k}"] = t.params.get(k)
        row["duration_s"] = t.duration_s
        for m in METRICS:
            v = t.metrics.get(m)
            row[m] = math.nan if v is None else v
        row["error"] = t.error
        row["cached"] = t.cached
        for k, v in t.user_attrs.items():
            if k == "values" and isinstance(v, list):  # multi-objective: one column per objective
                row.update({f"values_{i}": math.nan if x is None else x for i, x in enumerate(v)})
                continue
            row[f"attr_{k}"] = v if not isinstance(v, (list, dict)) else repr(v)
        rows.append(row)
    cols = ["number", "state", "value", *[f"params_{k}" for k in names], "duration_s", *METRICS,
            "error", "cached"]
    df = pd.DataFrame(rows, columns=None if rows else cols)
    return df.sort_values("number").reset_index(drop=True) if rows else df
