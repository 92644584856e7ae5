"""Gaussian-process regression for the GP core: MAP hyperparameters, Cholesky posterior, fantasies.

* Targets are standardized by the caller; the GP has a zero mean, a Matérn-5/2 ARD kernel
  (:mod:`tansaku.algorithms._kernel`) and Gaussian noise with a floor of ``1e-6`` (relative to unit
  signal variance), so duplicated points never make the Gram matrix singular.
* Hyperparameters: MAP on log-parameters by L-BFGS-B with analytic gradients and a few restarts.
  Priors (in log space, normal): lengthscales centred at ``0.4 sqrt(d)`` (longer in higher
  dimension, as Hvarfner et al. 2024 recommend) with sd 1.2; signal variance centred at 1 with sd
  1.5; noise variance centred at ``1e-3`` with sd 3.
* :func:`robust_cholesky` escalates a diagonal jitter (``1e-10`` .. ``1e-2`` of the signal
  variance) until the factorisation succeeds.
* :class:`TriFactor` is a Cholesky factor that may carry one appended block (pending points with
  fantasised values) without copying the ``n x n`` factor.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.optimize import minimize

from tansaku.algorithms._kernel import MaternKernel

__all__ = ["NOISE_FLOOR", "TriFactor", "fit_hyperparameters", "robust_cholesky"]

NOISE_FLOOR = 1e-6
_LOG_2PI = math.log(2.0 * math.pi)


def robust_cholesky(k: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Lower Cholesky factor of ``k``, adding jitter ``scale * 10^-10 .. 10^-2`` if needed."""
    try:
        return np.linalg.cholesky(k)
    except np.linalg.LinAlgError:
        pass
    eye = np.eye(k.shape[0])
    for e in range(-10, -1):
        try:
            return np.linalg.cholesky(k + (scale * 10.0**e) * eye)
        except np.linalg.LinAlgError:
            continue
    raise np.linalg.LinAlgError("Gram matrix is not positive definite even with jitter 1e-2")


def prior(d: int) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """Means, sds and bounds of the log-hyperparameters ``[log l * d, log sf2, log noise]``."""
    mu = np.concatenate([np.full(d, math.log(0.4 * math.sqrt(d))), [0.0, math.log(1e-3)]])
    sd = np.concatenate([np.full(d, 1.2), [1.5, 3.0]])
    bounds = [(math.log(5e-3), math.log(50.0))] * d
    bounds += [(math.log(1e-2), math.log(1e2)), (math.log(NOISE_FLOOR), math.log(0.5))]
    return mu, sd, bounds


def neg_log_posterior(
    theta: np.ndarray, kernel: MaternKernel, dist: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Negative log marginal likelihood plus negative log prior, and its gradient."""
    d = kernel.d
    mu, sd, _ = prior(d)
    k, grads = kernel.gram_and_grads(dist, theta)
    noise = math.exp(theta[d + 1])
    n = y.size
    kk = k + noise * np.eye(n)
    try:
        chol = np.linalg.cholesky(kk)
    except np.linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = cho_solve((chol, True), y)
    nll = 0.5 * float(y @ alpha) + float(np.sum(np.log(np.diag(chol)))) + 0.5 * n * _LOG_2PI
    w = np.outer(alpha, alpha) - cho_solve((chol, True), np.eye(n))
    grad = np.empty_like(theta)
    grad[: d + 1] = -0.5 * np.einsum("ij,kij->k", w, grads)
    grad[d + 1] = -0.5 * float(np.trace(w)) * noise
    z = (theta - mu) / sd
    return nll + 0.5 * float(z @ z), grad + z / sd


def fit_hyperparameters(
    kernel: MaternKernel, x: np.ndarray, y: np.ndarray, rng: np.random.Generator, *, n_restarts: int = 2
) -> np.ndarray:
    """MAP log-hyperparameters from the prior mode plus ``n_restarts`` draws from the prior."""
    d = kernel.d
    mu, sd, bounds = prior(d)
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    dist = kernel.per_dim_sqdist(x)
    starts = [mu.copy()]
    for _ in range(n_restarts):
        starts.append(np.clip(mu + sd * rng.standard_normal(mu.size) * 0.7, lo, hi))
    best_theta, best_val = np.clip(mu, lo, hi), math.inf
    for t0 in starts:
        res = minimize(
            neg_log_posterior,
            t0,
            args=(kernel, dist, y),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 200},
        )
        if np.isfinite(res.fun) and res.fun < best_val:
            best_theta, best_val = np.clip(res.x, lo, hi), float(res.fun)
    return best_theta


class TriFactor:
    """``L' = [[L, 0], [B, C]]``: the data's Cholesky factor ``L`` plus an optional block for
    appended points (``B = K_21 L^-T``, ``C = chol(K_22 - B B^T)``)."""

    def __init__(self, chol: np.ndarray, b: np.ndarray | None = None, c: np.ndarray | None = None):
        self.L, self.B, self.C = chol, b, c

    @property
    def n(self) -> int:
        return self.L.shape[0] + (0 if self.C is None else self.C.shape[0])

    def forward(self, rhs: np.ndarray) -> np.ndarray:
        """``L'^-1 rhs`` for ``rhs`` of shape ``(n', m)``."""
        n0 = self.L.shape[0]
        v1 = solve_triangular(self.L, rhs[:n0], lower=True, check_finite=False)
        if self.C is None:
            return v1
        assert self.B is not None
        v2 = solve_triangular(self.C, rhs[n0:] - self.B @ v1, lower=True, check_finite=False)
        return np.concatenate([v1, v2], axis=0)

    def backward(self, z: np.ndarray) -> np.ndarray:
        """``L'^-T z``."""
        n0 = self.L.shape[0]
        if self.C is None:
            return solve_triangular(self.L, z, lower=True, trans="T", check_finite=False)
        assert self.B is not None
        u2 = solve_triangular(self.C, z[n0:], lower=True, trans="T", check_finite=False)
        u1 = solve_triangular(self.L, z[:n0] - self.B.T @ u2, lower=True, trans="T", check_finite=False)
        return np.concatenate([u1, u2], axis=0)

    @staticmethod
    def append_block(
        chol: np.ndarray, k21: np.ndarray, k22: np.ndarray, scale: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``(B, C)`` block for appending points with cross-covariance ``k21`` ``(m, n)``."""
        b = solve_triangular(chol, k21.T, lower=True, check_finite=False).T
        s = k22 - b @ b.T
        return b, robust_cholesky(0.5 * (s + s.T), scale)


def extend_cholesky(chol: np.ndarray, k21: np.ndarray, k22: np.ndarray, scale: float) -> np.ndarray:
    """Cholesky factor of ``[[K, k21^T], [k21, k22]]`` from that of ``K`` in ``O(n^2 m)``."""
    b, c = TriFactor.append_block(chol, k21, k22, scale)
    n, m = chol.shape[0], k22.shape[0]
    out = np.zeros((n + m, n + m))
    out[:n, :n] = chol
    out[n:, :n] = b
    out[n:, n:] = c
    return out
