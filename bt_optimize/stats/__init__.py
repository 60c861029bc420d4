"""Pure-numpy statistics over equity curves and trades; imports nothing else from bt_optimize."""

from bt_optimize.stats import overfitting, returns
from bt_optimize.stats.metrics import LOWER_IS_BETTER, METRICS, compute_metrics, periods_per_year

__all__ = ["LOWER_IS_BETTER", "METRICS", "compute_metrics", "periods_per_year", "overfitting", "returns"]
