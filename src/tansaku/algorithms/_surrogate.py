"""A deliberately small Gaussian-process surrogate for *speculation*, not for Bayesian optimisation.

The predictive parallel Nelder-Mead (and the other trajectory cores) only need a rough guess of the
objective at a handful of points to decide which points to evaluate ahead of time; a wrong guess
costs one speculative evaluation, never a wrong result.  So the model here is minimal: a GP with a
Matérn-5/2 kernel on standardised values, a fixed small noise, and the length scale picked from a
short list (relative to the spread of the data) by marginal likelihood.  No gradient-based
hyperparameter fitting.

Any object with ``fit(x, y)`` and ``predict(x) -> (mean, std)`` (the :class:`Surrogate` protocol)
can replace it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.linalg import solve_triangular

__all__ = ["SimpleGP", "Surrogate"]


@runtime_checkable
class Surrogate(Protocol):
    """What a speculating core needs from a model: fit on points, predict mean and std."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        """``x``: (n, d) points in the unit cube; ``y``: (n,) losses (``+inf`` for failures)."""

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the loss at the (m, d) points ``x``."""
        ...


def _matern52(a: np.ndarray, b: np.ndarray, lengthscale: float) -> np.ndarray:
    d2 = np.maximum(
        np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * a @ b.T, 0.0
    )
    r = np.sqrt(5.0 * d2) / lengthscale
    return (1.0 + r + r * r / 3.0) * np.exp(-r)


class SimpleGP:
    """GP with a Matérn-5/2 kernel and unit signal variance on standardised residuals of a trend.

    ``lengthscales`` are multiplied by the median distance between the fitted points (so the model
    adapts to a shrinking neighbourhood) and the one with the highest marginal likelihood is kept.
    ``trend="linear"`` puts a least-squares linear mean under the GP (default: constant).  Failed
    points (``+inf``/``nan``) get the worst finite value seen, so the model learns "bad here".
    Before any fit, ``predict`` returns mean 0 and std 1 everywhere (an uninformed prior).
    """

    def __init__(
        self,
        *,
        lengthscales: Sequence[float] = (0.125, 0.25, 0.5, 1.0, 2.0),
        noise: float = 1e-4,
        trend: str = "constant",
    ) -> None:
        if trend not in ("constant", "linear"):
            raise ValueError(f"trend must be constant or linear, got {trend!r}")
        self.trend = trend
        if not lengthscales or any(not (ls > 0) for ls in lengthscales):
            raise ValueError(f"lengthscales must be positive numbers, got {lengthscales!r}")
        if not noise > 0:
            raise ValueError(f"noise must be > 0, got {noise!r}")
        self.lengthscales = tuple(float(ls) for ls in lengthscales)
        self.noise = float(noise)
        self.lengthscale: float | None = None
        self._x: np.ndarray | None = None
        self._linv: np.ndarray | None = None  # inverse Cholesky factor of the kernel matrix
        self._alpha: np.ndarray | None = None
        self._center = np.zeros(0)
        self._beta = np.zeros(1)
        self._scale = 1.0

    def fit(self, x: np.ndarray, y: np.ndarray) -> None:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        y = np.asarray(y, dtype=float).ravel()
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]} values")
        if y.size == 0:
            self._x = None
            return
        finite = np.isfinite(y)
        worst = float(np.max(y[finite])) if finite.any() else 1.0
        y = np.where(finite, y, worst)
        self._center = np.mean(x, axis=0)
        self._beta = self._fit_trend(x, y)
        resid = y - self._trend(x)
        std = float(np.std(resid))
        self._scale = std if std > 1e-12 else (float(np.std(y)) or 1.0)
        z = resid / self._scale
        dist = np.sqrt(np.maximum(np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=2), 0.0))
        positive = dist[dist > 0]
        base = float(np.median(positive)) if positive.size else math.sqrt(x.shape[1])
        best: tuple[float, float, np.ndarray, np.ndarray] | None = None
        eye = np.eye(x.shape[0])
        for rel in self.lengthscales:
            ls = rel * base
            k = _matern52(x, x, ls) + self.noise * eye
            try:
                chol = np.linalg.cholesky(k)
            except np.linalg.LinAlgError:
                continue
            alpha = solve_triangular(chol.T, solve_triangular(chol, z, lower=True), lower=False)
            loglik = -0.5 * float(z @ alpha) - float(np.sum(np.log(np.diag(chol))))
            if best is None or loglik > best[0]:
                best = (loglik, ls, chol, alpha)
        if best is None:  # pragma: no cover - the noise term keeps K positive definite
            self._x = None
            return
        _, self.lengthscale, chol, self._alpha = best
        self._linv = solve_triangular(chol, np.eye(x.shape[0]), lower=True)  # L^-1: predict is a matmul
        self._x = x

    def _fit_trend(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Least-squares constant or linear trend (ridge-damped) under the GP."""
        if self.trend == "constant" or x.shape[0] <= x.shape[1] + 1:
            return np.array([float(np.mean(y))])
        a = np.hstack([np.ones((x.shape[0], 1)), x - self._center])
        ridge = 1e-8 * np.trace(a.T @ a) * np.eye(a.shape[1])
        ridge[0, 0] = 0.0
        return np.linalg.solve(a.T @ a + ridge, a.T @ y)

    def _trend(self, x: np.ndarray) -> np.ndarray:
        if self._beta.size == 1:
            return np.full(x.shape[0], self._beta[0])
        return self._beta[0] + (x - self._center) @ self._beta[1:]

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if self._x is None or self._linv is None or self._alpha is None or self.lengthscale is None:
            return np.zeros(x.shape[0]), np.ones(x.shape[0])
        ks = _matern52(x, self._x, self.lengthscale)
        mean = ks @ self._alpha
        v = self._linv @ ks.T
        var = np.maximum(1.0 + self.noise - np.sum(v * v, axis=0), 1e-12)
        return self._trend(x) + self._scale * mean, self._scale * np.sqrt(var)

    def joint(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Joint posterior mean and covariance of the loss at the (m, d) points ``x`` (optional
        part of the protocol: lets simulated continuations draw coherent sample paths)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if self._x is None or self._linv is None or self._alpha is None or self.lengthscale is None:
            return np.zeros(x.shape[0]), np.eye(x.shape[0])
        ks = _matern52(x, self._x, self.lengthscale)
        v = self._linv @ ks.T
        cov = _matern52(x, x, self.lengthscale) + self.noise * np.eye(x.shape[0]) - v.T @ v
        mean = self._trend(x) + self._scale * (ks @ self._alpha)
        return mean, self._scale**2 * cov
