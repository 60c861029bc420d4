"""Numerical checks of the Bayesian search's Gaussian process (``bt_optimize.search.bayes.gp``).

- The analytic gradient of the negative log marginal likelihood matches central finite differences.
- A batch posterior conditioned on chosen points by rank-one updates (the cheap path every round takes) equals
  the posterior of a GP refitted with those points added as observations (same kernel, same noise).
- The unconditioned batch posterior equals the textbook formulas computed with dense solves.
"""

from __future__ import annotations

import numpy as np
import pytest

from bt_optimize.search.bayes.gp import GP, Batch


def _data(seed: int, n: int = 14, d: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, d))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 - 0.5 * X[:, 2] + 0.05 * rng.standard_normal(n)
    alpha = rng.uniform(0, 0.02, n)  # known per-point noise (e.g. fold spreads)
    return X, (y - y.mean()) / y.std(), alpha


def _pairs(X: np.ndarray) -> np.ndarray:
    return ((X[:, None, :] - X[None, :, :]) ** 2).reshape(len(X) * len(X), X.shape[1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nll_gradient_matches_finite_differences(seed: int) -> None:
    X, y, alpha = _data(seed)
    D = _pairs(X)
    rng = np.random.default_rng(100 + seed)
    lo, hi = np.array(GP.bounds(X.shape[1])).T
    theta = lo + (hi - lo) * rng.uniform(0.3, 0.7, len(lo))  # well inside the bounds
    f, grad = GP.nll(theta, D, y, alpha)
    assert np.isfinite(f) and grad.shape == theta.shape
    h = 1e-6
    numeric = np.empty_like(theta)
    for k in range(len(theta)):
        e = np.zeros_like(theta)
        e[k] = h
        numeric[k] = (GP.nll(theta + e, D, y, alpha)[0] - GP.nll(theta - e, D, y, alpha)[0]) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-6)


def test_fitted_hyperparameters_are_a_stationary_point_or_on_a_bound() -> None:
    X, y, alpha = _data(3)
    gp = GP.fit(X, y, alpha, [GP.default_theta(X.shape[1])])
    _, grad = GP.nll(gp.theta, _pairs(X), y, alpha)
    lo, hi = np.array(GP.bounds(X.shape[1])).T
    inside = (gp.theta > lo + 1e-6) & (gp.theta < hi - 1e-6)
    assert np.all(np.abs(grad[inside]) < 1e-2 * max(1.0, float(np.abs(grad).max())))


def _posterior(gp: GP, X: np.ndarray, y: np.ndarray, noise: np.ndarray, Xc: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    K = gp.kernel(X, X) + np.diag(noise)
    Kc = gp.kernel(Xc, X)
    mu = Kc @ np.linalg.solve(K, y)
    var = gp.amp - np.einsum("ij,ji->i", Kc, np.linalg.solve(K, Kc.T))
    return mu, var


@pytest.mark.parametrize("seed", [0, 4])
def test_unconditioned_batch_is_the_textbook_posterior(seed: int) -> None:
    X, y, alpha = _data(seed)
    gp = GP.fit(X, y, alpha, [GP.default_theta(X.shape[1])])
    Xc = np.random.default_rng(seed + 50).uniform(0, 1, (40, X.shape[1]))
    noise = alpha + gp.noise
    batch = Batch(gp, X, y, noise, Xc)
    mu, var = _posterior(gp, X, y, noise, Xc)
    np.testing.assert_allclose(batch.mu, mu, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(batch.var, np.maximum(var, 1e-12), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", [0, 5, 6])
def test_conditioned_batch_equals_refit_posterior(seed: int) -> None:
    X, y, alpha = _data(seed)
    gp = GP.fit(X, y, alpha, [GP.default_theta(X.shape[1])])
    rng = np.random.default_rng(seed + 70)
    Xc = rng.uniform(0, 1, (30, X.shape[1]))
    noise = alpha + gp.noise
    batch = Batch(gp, X, y, noise, Xc)
    chosen = [int(j) for j in rng.choice(len(Xc), 3, replace=False)]
    lies = [float(batch.mu[chosen[0]].min()), -0.7, 1.3]  # a constant-liar style value, then arbitrary ones
    X2, y2, n2 = X, y, noise
    for j, v in zip(chosen, lies):
        batch.condition(j, v)
        # the same posterior from scratch: the chosen point observed at v with the fitted noise
        X2, y2, n2 = np.vstack([X2, Xc[j]]), np.append(y2, v), np.append(n2, gp.noise)
        refit = Batch(gp, X2, y2, n2, Xc)
        np.testing.assert_allclose(batch.mu, refit.mu, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(batch.var, refit.var, rtol=1e-5, atol=1e-8)
