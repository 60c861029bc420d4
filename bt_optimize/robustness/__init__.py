"""Robustness checks built on the engine: parameter sensitivity (noise and Monte Carlo live in ``analyzers``)."""

from .sensitivity import SensitivityPlan, SensitivityResult, plan_sensitivity, run_sensitivity

__all__ = ["SensitivityPlan", "SensitivityResult", "plan_sensitivity", "run_sensitivity"]
