"""Constraint models for the GP core: one Gaussian process per constraint and the probability
that a point satisfies them all (constrained EI, Gardner et al. 2014 / Gelbart et al. 2014).

A constraint is feasible when its value is ``<= 0``.  Each constraint's values (the told points
that have it, finite ones only) are standardised and modelled by their own GP (the objective's
kernel family, MAP hyperparameters refitted on the objective's schedule, seeded, so the model is
a pure function of the told data and the seed).  ``P(feasible | x)`` is the product over the
constraints of ``Phi((0 - mu(x)) / sigma(x))``, the constraints taken as independent; its log is
added to log-EI.  A constraint whose told values are all equal teaches no direction and is left
out (it would be a constant factor).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import log_ndtr

from tansaku.algorithms._gp_model import fit_hyperparameters, robust_cholesky
from tansaku.algorithms._kernel import MaternKernel

__all__ = ["ConstrainedAcquisition", "FeasibilityModel", "feasibility_of"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def feasibility_of(constraints: Sequence[Mapping[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Per told point: feasible (every constraint ``<= 0``; a point without constraints is
    feasible) and the total violation (sum of the positive values; nan counts as ``inf``)."""
    viol = np.array(
        [sum(math.inf if math.isnan(v) else max(v, 0.0) for v in c.values()) for c in constraints],
        dtype=float,
    ).reshape(-1)
    return viol == 0.0, viol


class FeasibilityModel:
    """``log P(every constraint <= 0)`` at query points, with its gradient; see the module
    docstring.  ``fit`` is called before each use with every told point."""

    def __init__(
        self, kernel: MaternKernel, *, seed: int, max_fit_points: int = 300, max_points: int = 512
    ) -> None:
        self.kernel = kernel
        self.seed = seed
        self.max_fit_points = max_fit_points
        self.max_points = max_points
        self._theta: dict[tuple[str, int], np.ndarray] = {}
        self._models: list[tuple[Any, float]] = []  # (posterior, standardised threshold)

    def fit(self, x: np.ndarray, constraints: Sequence[Mapping[str, float]], s: int) -> None:
        """Condition on the told points ``x`` and their ``constraints``; ``s`` is the objective's
        refit schedule point (hyperparameters are refitted when it moves)."""
        from tansaku.algorithms._gp import _Acquisition  # the GP posterior (moments, gradients)

        names = sorted({k for c in constraints for k in c})
        self._models = []
        d = self.kernel.d
        for j, name in enumerate(names):
            rows = [i for i, c in enumerate(constraints) if name in c and math.isfinite(c[name])]
            rows = rows[-self.max_points :]
            if len(rows) < 2:
                continue
            v = np.array([constraints[i][name] for i in rows], dtype=float)
            mean, sd = float(v.mean()), float(v.std())
            if sd <= 1e-12 * max(1.0, abs(mean)):
                continue
            z = (v - mean) / sd
            xi = x[rows]
            key = (name, s)
            if key not in self._theta:
                fit = slice(-self.max_fit_points, None)
                rng = np.random.default_rng([self.seed, 11, j, s])
                self._theta[key] = fit_hyperparameters(self.kernel, xi[fit], z[fit], rng)
            theta = self._theta[key]
            sf2, noise = float(np.exp(theta[d])), float(np.exp(theta[d + 1]))
            chol = robust_cholesky(self.kernel(xi, xi, theta) + noise * np.eye(len(rows)), sf2)
            post = _Acquisition(
                self.kernel, xi, z, theta, chol, np.zeros((0, d)), np.random.default_rng(0), 0
            )
            self._models.append((post, -mean / sd))

    @property
    def active(self) -> bool:
        """True when at least one constraint is modelled."""
        return bool(self._models)

    def log_pof(self, xq: np.ndarray) -> np.ndarray:
        out = np.zeros(len(xq))
        for post, thr in self._models:
            mu, var, _ = post._moments(xq)
            out += log_ndtr((thr - mu[:, 0]) / np.sqrt(var))
        return out

    def log_pof_and_grad(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        val = np.zeros(len(xq))
        grad = np.zeros(xq.shape)
        for post, thr in self._models:
            mu, dmu, sigma, dsigma, var = post.moments_and_grad(xq)
            m, dm = mu[:, 0], dmu[:, 0, :]
            z = (thr - m) / sigma
            lp = log_ndtr(z)
            dz = (-dm * sigma[:, None] - (thr - m)[:, None] * dsigma) / var[:, None]
            ratio = np.exp(-0.5 * z * z - _LOG_SQRT_2PI - lp)  # phi(z) / Phi(z)
            val += lp
            grad += ratio[:, None] * dz
        return val, grad


class ConstrainedAcquisition:
    """``log EI(x) + log P(feasible | x)``; ``ei=None`` (no feasible point yet): the second alone."""

    def __init__(self, ei: Any | None, feasibility: FeasibilityModel) -> None:
        self.ei = ei
        self.feasibility = feasibility

    def value(self, xq: np.ndarray) -> np.ndarray:
        out = self.feasibility.log_pof(xq)
        return out if self.ei is None else out + self.ei.value(xq)

    def value_and_grad(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        val, grad = self.feasibility.log_pof_and_grad(xq)
        if self.ei is not None:
            v, g = self.ei.value_and_grad(xq)
            val, grad = val + v, grad + g
        return val, grad
