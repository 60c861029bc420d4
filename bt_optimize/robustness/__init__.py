"""Robustness checks built on the engine: parameter sensitivity and overfitting statistics (noise and Monte Carlo
live in ``analyzers``)."""

from .overfitting import OverfittingReport, WalkForwardOverfitting
from .sensitivity import SensitivityPlan, SensitivityResult, plan_sensitivity, run_sensitivity

__all__ = ["OverfittingReport", "WalkForwardOverfitting", "SensitivityPlan", "SensitivityResult", "plan_sensitivity",
           "run_sensitivity"]
