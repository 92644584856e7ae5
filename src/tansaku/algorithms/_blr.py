"""Bayesian linear regression and Laplace logistic regression on fixed basis functions (DNGO).

:class:`BLR`: ``y = Q lam + Phi w + eps``, ``w ~ N(0, I/alpha)``, ``eps ~ N(0, 1/beta)``, where
``Q lam`` is a prior mean with non-negative coefficients (DNGO's quadratic prior: ``Q`` holds
``(x_j - 1/2)^2``, a bowl centred in the box that keeps the model from favouring the edges where the
network extrapolates).  ``alpha``, ``beta`` and ``lam`` maximise the marginal likelihood (type-II
ML, Bishop 2006 §3.5); ``beta <= 1e4`` (noise sd >= 0.01 of the standardized targets), since with
fewer trials than basis functions the evidence would otherwise interpolate with no noise at all and
the model becomes overconfident away from the data.  One eigendecomposition of ``Phi^T Phi`` makes each evidence evaluation
``O(D^2)``; building the sufficient statistics is ``O(n D^2)``, linear in the number of trials.

:class:`LogisticLaplace`: ``P(ok | phi) = sigmoid(phi^T w)`` with ``w ~ N(0, I/prior)``, MAP by
Newton's method and the Laplace posterior; predictions use the probit approximation
``sigmoid(m / sqrt(1 + pi s^2 / 8))`` so unexplored regions stay near 1/2 rather than certain.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize

__all__ = ["BLR", "LogisticLaplace"]

_LOG_2PI = math.log(2.0 * math.pi)


class BLR:
    """Bayesian linear regression with evidence-maximised ``alpha``, ``beta`` and prior mean."""

    def __init__(self) -> None:
        self.alpha = 1.0
        self.beta = 1.0
        self.lam = np.zeros(0)
        self.mean = np.zeros(0)
        self.cov = np.zeros((0, 0))
        self.precision = np.zeros((0, 0))

    def log_evidence(self, log_alpha: float, log_beta: float, lam: np.ndarray) -> float:
        a, b = math.exp(log_alpha), math.exp(log_beta)
        s = self._stats
        n, dd = s["n"], s["eig"].size
        pt = s["pty"] - s["ptq"] @ lam  # Phi^T t
        tt = s["yty"] - 2.0 * float(lam @ s["qty"]) + float(lam @ s["qtq"] @ lam)
        proj = s["vecs"].T @ pt
        denom = a + b * s["eig"]
        m_eig = b * proj / denom
        resid = tt - 2.0 * float(m_eig @ proj) + float(np.sum(s["eig"] * m_eig**2))
        return float(
            0.5 * dd * log_alpha
            + 0.5 * n * log_beta
            - 0.5 * b * max(resid, 0.0)
            - 0.5 * a * float(m_eig @ m_eig)
            - 0.5 * float(np.sum(np.log(denom)))
            - 0.5 * n * _LOG_2PI
        )

    def fit(self, phi: np.ndarray, y: np.ndarray, q: np.ndarray | None = None) -> BLR:
        n, dd = phi.shape
        q = np.zeros((n, 0)) if q is None else q
        ptp = phi.T @ phi
        eig, vecs = np.linalg.eigh(0.5 * (ptp + ptp.T))
        eig = np.maximum(eig, 0.0)
        self._stats = {
            "n": n, "eig": eig, "vecs": vecs, "pty": phi.T @ y, "ptq": phi.T @ q,
            "yty": float(y @ y), "qty": q.T @ y, "qtq": q.T @ q,
        }
        nq = q.shape[1]

        def neg(p: np.ndarray) -> float:
            return -self.log_evidence(p[0], p[1], p[2:])

        bounds = [(math.log(1e-4), math.log(1e4)), (math.log(1e-2), math.log(1e4))]
        bounds += [(0.0, 10.0)] * nq
        best = None
        for la, lb in ((0.0, math.log(10.0)), (math.log(10.0), math.log(1e3))):
            res = minimize(neg, np.array([la, lb, *([0.1] * nq)]), method="L-BFGS-B", bounds=bounds)
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None
        self.alpha, self.beta = math.exp(best.x[0]), math.exp(best.x[1])
        self.lam = np.asarray(best.x[2:], dtype=float)
        self.precision = self.alpha * np.eye(dd) + self.beta * ptp
        self.cov = (vecs / (self.alpha + self.beta * eig)) @ vecs.T
        self.mean = self.beta * self.cov @ (self._stats["pty"] - self._stats["ptq"] @ self.lam)
        self._ptt = self._stats["pty"] - self._stats["ptq"] @ self.lam
        return self

    def predict(self, phi: np.ndarray, q: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the latent function (no observation noise)."""
        mu = phi @ self.mean
        if q is not None and self.lam.size:
            mu = mu + q @ self.lam
        var = np.sum((phi @ self.cov) * phi, axis=1)
        return mu, np.maximum(var, 1e-12)

    def conditioned(
        self, phi_p: np.ndarray, t_p: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior ``(means (D, S), cov)`` after also observing ``phi_p`` with residual targets
        ``t_p`` ``(m, S)`` (one column per fantasy); the covariance is shared.  A Kalman update
        with an ``m x m`` solve, which stays accurate when ``beta`` is large."""
        gain_t = self.cov @ phi_p.T  # (D, m)
        s = phi_p @ gain_t + np.eye(phi_p.shape[0]) / self.beta
        gain = np.linalg.solve(0.5 * (s + s.T), gain_t.T).T  # (D, m)
        cov = self.cov - gain @ gain_t.T
        means = self.mean[:, None] + gain @ (t_p - (phi_p @ self.mean)[:, None])
        return means, 0.5 * (cov + cov.T)


class LogisticLaplace:
    """Bayesian logistic regression by Laplace approximation (labels: 1 = feasible)."""

    def __init__(self, prior_precision: float = 1.0) -> None:
        self.prior = prior_precision
        self.w = np.zeros(0)
        self.cov = np.zeros((0, 0))

    def fit(self, phi: np.ndarray, ok: np.ndarray, *, iters: int = 30) -> LogisticLaplace:
        dd = phi.shape[1]
        t = ok.astype(float)
        w = np.zeros(dd)
        eye = np.eye(dd)
        for _ in range(iters):
            p = 1.0 / (1.0 + np.exp(-np.clip(phi @ w, -30, 30)))
            grad = phi.T @ (p - t) + self.prior * w
            hess = (phi * (p * (1 - p))[:, None]).T @ phi + self.prior * eye
            step = np.linalg.solve(hess, grad)
            w -= step
            if float(np.max(np.abs(step))) < 1e-8:
                break
        p = 1.0 / (1.0 + np.exp(-np.clip(phi @ w, -30, 30)))
        hess = (phi * (p * (1 - p))[:, None]).T @ phi + self.prior * eye
        self.w, self.cov = w, np.linalg.inv(hess)
        return self

    def log_prob(self, phi: np.ndarray) -> np.ndarray:
        """``log P(feasible)`` with the probit-moderated predictive."""
        m = phi @ self.w
        s2 = np.sum((phi @ self.cov) * phi, axis=1)
        a = m / np.sqrt(1.0 + np.pi * s2 / 8.0)
        return -np.logaddexp(0.0, -a)
