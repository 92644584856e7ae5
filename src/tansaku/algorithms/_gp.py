"""GP-BO core: Gaussian-process model + log-EI over the unit cube (``ask`` / ``tell``, minimises).

Contract: ``tell(x, y)`` adds one finished evaluation (``y = inf`` for a failure: it is imputed as
the worst finite value seen, so the model is pushed away from crashing points); ``ask(pending)``
returns the next point, snapped so discrete/categorical coordinates sit at their bin centres.

Design (documented choices):

* The first ``n_startup`` points come from one scrambled Sobol sequence, point number ``told +
  pending`` so a resumed or parallel run continues the same design.
* Targets: failures imputed, then a Yeo-Johnson power transform of the standardized values
  (``transform="power"``, robust to heavy tails such as Rosenbrock's) or plain standardization.
* Kernel hyperparameters are MAP estimates (:mod:`._gp_model`) refitted at *schedule points*: every
  trial up to 100, then whenever ``n`` has grown by 5%.  A fit uses the first ``s`` observations
  (at most ``max_fit_points`` of them: the best quarter plus a seeded random subset) and restarts
  seeded by ``(seed, s)``, so the model is a pure function of the told data and the seed: replaying
  the trials after a resume rebuilds exactly the same model.  Between refits the Cholesky factor is
  extended block-wise in ``O(n^2)``.
* Many trials (``n > max_posterior_points``, 512): the posterior conditions on a subset of
  ``max_posterior_points`` observations chosen per ``n``: the best quarter, the most recent
  quarter (where a parallel search is working now) and a seeded random sample of the rest, so an
  ask costs ``O(m^2 (m + p))`` for ``m`` such points and ``p`` pending ones instead of growing
  with every finished trial (2,000 finished and 256 pending: about 0.1-0.2 s).  The subset is a
  pure function of ``n`` and the seed, so a replay after resume conditions on the same points;
  up to 512 trials (every sequential benchmark) the model is exactly the full GP.
* Pending points: ``n_fantasies`` Monte-Carlo draws of their values from the joint posterior; the
  acquisition is the log of the average EI over the fantasised posteriors (one shared Cholesky
  block, one right-hand side per fantasy).  ``n_fantasies=0`` is the kriging believer (pending
  values set to the posterior mean: the variance still collapses there).
* Acquisition: log-EI (:mod:`._acquisition`) on a Sobol set plus perturbations of the best points,
  then joint L-BFGS-B refinement of the best ``n_refine`` candidates over continuous and discrete
  coordinates (discrete ones relaxed, then snapped and re-scored); categorical coordinates keep
  their candidate value.
* Constraints (``tell(x, y, constraints)``, feasible when ``<= 0``): one GP per constraint
  (:mod:`._feasibility`); the acquisition is constrained EI, ``log EI + log P(feasible)``, with
  the best *feasible* value as the incumbent; while no trial is feasible it is ``log
  P(feasible)`` alone (find the feasible region first).  Without constraints nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.stats import qmc, yeojohnson

from tansaku.algorithms._acquisition import (
    candidates,
    dlog_h,
    log_h,
    logmeanexp,
    mask_seen,
    snap,
)
from tansaku.algorithms._feasibility import (
    ConstrainedAcquisition,
    FeasibilityModel,
    feasibility_of,
)
from tansaku.algorithms._gp_model import (
    TriFactor,
    extend_cholesky,
    fit_hyperparameters,
    robust_cholesky,
)
from tansaku.algorithms._kernel import MaternKernel
from tansaku.algorithms._types import Dim

__all__ = ["GPOptimizer", "seed_int", "subset", "transform_targets"]


def seed_int(seed: int | None) -> int:
    """The core's seed: the given one, or fresh OS entropy (then proposals are not reproducible)."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0]) % 2**63
    return int(seed) % 2**63


def transform_targets(y: np.ndarray, how: str) -> np.ndarray:
    """Impute failures with the worst finite value, then standardize (and power-transform)."""
    y = np.asarray(y, dtype=float).copy()
    finite = np.isfinite(y)
    y[~finite] = np.max(y[finite]) if finite.any() else 0.0
    std = float(np.std(y))
    z = (y - float(np.mean(y))) / (std if std > 0 else 1.0)
    if how == "power" and std > 0 and y.size >= 3:
        z = np.asarray(yeojohnson(z)[0], dtype=float)
        std = float(np.std(z))
        z = (z - float(np.mean(z))) / (std if std > 0 else 1.0)
    return z


def subset(y: np.ndarray, m: int, rng: np.random.Generator, *, recent: int = 0) -> np.ndarray:
    """Indices of ``m`` of the observations ``y`` (``m < len(y)``): the best ``m // 4`` by value,
    then the ``recent`` latest of the others, then a sample (``rng``) of the rest."""
    order = np.argsort(y, kind="stable")
    n_best = m // 4
    chosen = order[:n_best]
    rest = order[n_best:]
    if recent > 0:
        late = np.sort(rest)[::-1][:recent]
        chosen = np.concatenate([chosen, late])
        rest = rest[~np.isin(rest, late)]
    return np.concatenate([chosen, rng.choice(rest, m - chosen.size, replace=False)])


class GPOptimizer:
    """Sequential GP-BO over ``[0, 1]^d``; see the module docstring."""

    def __init__(
        self,
        dims: Sequence[Dim],
        *,
        seed: int | None = None,
        n_startup: int = 10,
        n_candidates: int = 1024,
        n_refine: int = 5,
        n_fantasies: int = 8,
        max_fit_points: int = 300,
        max_posterior_points: int = 512,
        transform: str = "power",
    ) -> None:
        self.dims = list(dims)
        self.d = len(self.dims)
        self.kernel = MaternKernel(self.dims)
        self.seed = seed_int(seed)
        self.n_startup = max(1, int(n_startup))
        self.n_candidates = int(n_candidates)
        self.n_refine = int(n_refine)
        self.n_fantasies = int(n_fantasies)
        self.max_fit_points = int(max_fit_points)
        self.max_posterior_points = max(8, int(max_posterior_points))
        self.transform = transform
        self._x: list[np.ndarray] = []
        self._y: list[float] = []
        self._theta: np.ndarray | None = None
        self._theta_at = -1  # schedule point of the current hyperparameters
        self._chol: np.ndarray | None = None
        self._subset: tuple[tuple[int, int], np.ndarray, np.ndarray] | None = None  # (n, s), idx, L
        self._sobol: np.ndarray | None = None
        self._seen = np.zeros((0, self.d))
        self._c: list[dict[str, float]] = []
        self._feasibility = FeasibilityModel(self.kernel, seed=self.seed)
        self._model_idx: np.ndarray | None = None  # the told points the posterior conditions on
        #: rows -> rows as they will be told (set by a sampler over a conditional space: the
        #: inactive coordinates at their constant), so candidates are scored where their trial
        #: will sit in the model, not at coordinates no trial has
        self.canonical: Callable[[np.ndarray], np.ndarray] | None = None

    def _canon(self, xs: np.ndarray) -> np.ndarray:
        return xs if self.canonical is None else snap(self.canonical(xs), self.dims)

    # -- data ----------------------------------------------------------------------------------
    #: ``tell`` takes the trial's constraint values (see :mod:`._feasibility`)
    supports_constraints = True

    def tell(self, x: np.ndarray, y: float, constraints: Mapping[str, float] | None = None) -> None:
        """``constraints``: the trial's constraint values by name (feasible when ``<= 0``); once
        any trial has one, the acquisition is EI over the feasible incumbent times the modelled
        probability that every constraint holds."""
        self._x.append(snap(np.asarray(x, dtype=float).reshape(self.d), self.dims))
        self._y.append(float(y))
        self._c.append(dict(constraints or {}))

    @property
    def n_told(self) -> int:
        return len(self._x)

    def model_ready(self) -> bool:
        """True once ``n_startup`` (and at least 2) finite values have been told."""
        return int(np.sum(np.isfinite(self._y))) >= max(self.n_startup, 2)

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *key])

    def _startup_point(self, index: int) -> np.ndarray:
        if self._sobol is None or self._sobol.shape[0] <= index:
            m = max(4, int(np.ceil(np.log2(index + 1))) + 1)
            self._sobol = qmc.Sobol(self.d, scramble=True, seed=self._rng(0)).random_base2(m)
        return snap(self._sobol[index], self.dims)

    @staticmethod
    def schedule_point(n: int) -> int:
        """The largest refit point ``<= n``: every n up to 100, then 5% growth steps."""
        if n <= 100:
            return n
        s = 100
        while int(np.ceil(s * 1.05)) <= n:
            s = int(np.ceil(s * 1.05))
        return s

    # -- model ---------------------------------------------------------------------------------
    def _fit(self, s: int) -> np.ndarray:
        x = np.asarray(self._x[:s])
        y = transform_targets(np.asarray(self._y[:s]), self.transform)
        rng = self._rng(1, s)
        if s > self.max_fit_points:
            idx = subset(y, self.max_fit_points, rng)
            x, y = x[idx], y[idx]
        return fit_hyperparameters(self.kernel, x, y, rng)

    def _model(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(X, y_transformed, theta, L)`` for all told data, reusing what is cached."""
        n = self.n_told
        x = np.asarray(self._x)
        s = self.schedule_point(n)
        if self._theta is None or s != self._theta_at:
            self._theta, self._theta_at, self._chol = self._fit(s), s, None
        theta = self._theta
        scale = float(np.exp(theta[self.d]))
        noise = float(np.exp(theta[self.d + 1]))
        yt = transform_targets(np.asarray(self._y), self.transform)
        if n > self.max_posterior_points:
            if self._subset is None or self._subset[0] != (n, s):
                m = self.max_posterior_points
                idx = subset(yt, m, self._rng(7, n), recent=m // 4)
                k = self.kernel(x[idx], x[idx], theta) + noise * np.eye(idx.size)
                self._subset = ((n, s), idx, robust_cholesky(k, scale))
            _, idx, chol = self._subset
            self._model_idx = idx
            return x[idx], yt[idx], theta, chol
        self._model_idx = None
        if self._chol is None or self._chol.shape[0] > n:
            k = self.kernel(x, x, theta) + noise * np.eye(n)
            self._chol = robust_cholesky(k, scale)
        elif self._chol.shape[0] < n:
            m = self._chol.shape[0]
            k21 = self.kernel(x[m:], x[:m], theta)
            k22 = self.kernel(x[m:], x[m:], theta) + noise * np.eye(n - m)
            self._chol = extend_cholesky(self._chol, k21, k22, scale)
        return x, yt, theta, self._chol

    def predict(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and latent variance at ``xq`` in the transformed target scale."""
        x, y, theta, chol = self._model()
        acq = _Acquisition(self.kernel, x, y, theta, chol, np.zeros((0, self.d)), self._rng(9), 0)
        mu, var, _ = acq._moments(np.atleast_2d(np.asarray(xq, dtype=float)))
        return mu[:, 0], var

    # -- ask -----------------------------------------------------------------------------------
    def ask(self, pending: np.ndarray | None = None) -> np.ndarray:
        pend = np.zeros((0, self.d)) if pending is None else np.atleast_2d(np.asarray(pending, float))
        pend = snap(pend.reshape(-1, self.d), self.dims) if pend.size else np.zeros((0, self.d))
        if not self.model_ready():
            return self._startup_point(self.n_told + len(pend))
        rng = self._rng(2, self.n_told, len(pend))
        x, y, theta, chol = self._model()
        acq: _Acquisition | ConstrainedAcquisition
        if any(self._c):
            feasible, violation = feasibility_of(self._c)
            feasible &= np.isfinite(np.asarray(self._y))  # a failure is no incumbent
            if self._model_idx is not None:
                feasible = feasible[self._model_idx]
            self._feasibility.fit(np.asarray(self._x), self._c, self.schedule_point(self.n_told))
            incumbent = float(np.min(y[feasible])) if feasible.any() else None
            ei = (
                _Acquisition(self.kernel, x, y, theta, chol, pend, rng, self.n_fantasies, incumbent)
                if incumbent is not None
                else None
            )
            acq = ConstrainedAcquisition(ei, self._feasibility)
            # local candidates around the best feasible points, else the least violating ones
            key = np.where(feasible, y, np.inf) if feasible.any() else None
            if key is None:
                xs_all = np.asarray(self._x)
                top = xs_all[np.argsort(violation, kind="stable")[:5]]
            else:
                top = x[np.argsort(key, kind="stable")[: min(5, int(feasible.sum()))]]
        else:
            acq = _Acquisition(self.kernel, x, y, theta, chol, pend, rng, self.n_fantasies)
            top = x[np.argsort(y, kind="stable")[: min(5, len(y))]]
        cand = candidates(
            self.dims, rng, n_sobol=self.n_candidates, centres=top, n_local=self.n_candidates // 2
        )
        cand = self._canon(cand)
        scores = np.concatenate([acq.value(c) for c in np.array_split(cand, max(1, len(cand) // 512))])
        self._seen = np.concatenate([np.asarray(self._x), pend])
        return self._refine(acq, cand, mask_seen(cand, self._seen, scores))

    def _refine(self, acq: _Acquisition | ConstrainedAcquisition, cand: np.ndarray, scores: np.ndarray) -> np.ndarray:
        order = np.argsort(-scores, kind="stable")
        starts: list[np.ndarray] = []
        for i in order:
            if len(starts) >= self.n_refine:
                break
            if all(np.max(np.abs(cand[i] - s)) > 1e-9 for s in starts):
                starts.append(cand[i])
        free = np.array([dm.kind != "categorical" for dm in self.dims])
        best_x, best_v = cand[order[0]], float(scores[order[0]])
        if not starts or not free.any():
            return best_x
        x0 = np.stack(starts)
        k = len(starts)

        def f(flat: np.ndarray) -> tuple[float, np.ndarray]:
            xs = x0.copy()
            xs[:, free] = flat.reshape(k, -1)
            val, grad = acq.value_and_grad(xs)
            return -float(np.sum(val)), -grad[:, free].ravel()

        res = minimize(f, x0[:, free].ravel(), jac=True, method="L-BFGS-B",
                       bounds=[(0.0, 1.0)] * (k * int(free.sum())), options={"maxiter": 100})
        xs = x0.copy()
        xs[:, free] = res.x.reshape(k, -1)
        xs = self._canon(snap(xs, self.dims))
        vals = mask_seen(xs, self._seen, acq.value(xs))
        j = int(np.argmax(vals))
        if np.isfinite(vals[j]) and vals[j] > best_v:
            return xs[j]
        return best_x


class _Acquisition:
    """log of the mean EI over fantasised posteriors (one fantasy = plain log-EI)."""

    def __init__(
        self,
        kernel: MaternKernel,
        x: np.ndarray,
        y: np.ndarray,
        theta: np.ndarray,
        chol: np.ndarray,
        pending: np.ndarray,
        rng: np.random.Generator,
        n_fantasies: int,
        incumbent: float | None = None,
    ) -> None:
        """``incumbent``: the value EI improves on (default the lowest ``y``; with constraints
        the lowest feasible one, and pending fantasies, whose feasibility is unknown, do not
        lower it)."""
        self.kernel, self.theta = kernel, theta
        d = kernel.d
        self.sf2 = float(np.exp(theta[d]))
        noise = float(np.exp(theta[d + 1]))
        z1 = TriFactor(chol).forward(y[:, None])
        if len(pending) == 0:
            self.fac = TriFactor(chol)
            self.xall = x
            self.alpha = self.fac.backward(z1)  # (n, 1)
            self.best = np.array([float(np.min(y)) if incumbent is None else incumbent])
            return
        k21 = kernel(pending, x, theta)
        k22 = kernel(pending, pending, theta) + noise * np.eye(len(pending))
        b, c = TriFactor.append_block(chol, k21, k22, self.sf2)
        self.fac = TriFactor(chol, b, c)
        self.xall = np.concatenate([x, pending])
        mu_p = b @ z1[:, 0]
        if n_fantasies <= 0:  # kriging believer
            yp = mu_p[:, None]
        else:
            yp = mu_p[:, None] + c @ rng.standard_normal((len(pending), n_fantasies))
        s = yp.shape[1]
        yall = np.concatenate([np.repeat(y[:, None], s, axis=1), yp], axis=0)
        self.alpha = self.fac.backward(self.fac.forward(yall))  # (n + p, S)
        if incumbent is None:
            self.best = np.minimum(float(np.min(y)), np.min(yp, axis=0))
        else:
            self.best = np.full(s, incumbent)

    def _moments(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        kq = self.kernel(xq, self.xall, self.theta)  # (B, n)
        v = self.fac.forward(kq.T)  # (n, B)
        var = np.maximum(self.sf2 - np.sum(v * v, axis=0), 1e-12 * self.sf2)
        return kq @ self.alpha, var, v

    def value(self, xq: np.ndarray) -> np.ndarray:
        mu, var, _ = self._moments(xq)
        sigma = np.sqrt(var)[:, None]
        z = (self.best[None, :] - mu) / sigma
        return logmeanexp(log_h(z) + np.log(sigma), axis=1)

    def moments_and_grad(
        self, xq: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(mu (B, S), dmu (B, S, d), sigma (B,), dsigma (B, d), var (B,))`` at ``xq``."""
        kq, dk = self.kernel.cross_and_grad_x(xq, self.xall, self.theta)  # (B,n), (B,n,d)
        v = self.fac.forward(kq.T)
        var = np.maximum(self.sf2 - np.sum(v * v, axis=0), 1e-12 * self.sf2)
        u = self.fac.backward(v)  # K^-1 k_q, (n, B)
        mu = kq @ self.alpha  # (B, S)
        dmu = np.einsum("bnd,ns->bsd", dk, self.alpha)
        dvar = -2.0 * np.einsum("bnd,nb->bd", dk, u)
        sigma = np.sqrt(var)
        dsigma = dvar / (2.0 * sigma[:, None])  # (B, d)
        return mu, dmu, sigma, dsigma, var

    def value_and_grad(self, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, dmu, sigma, dsigma, var = self.moments_and_grad(xq)
        z = (self.best[None, :] - mu) / sigma[:, None]
        lh = log_h(z)
        lei = lh + np.log(sigma)[:, None]  # (B, S)
        dz = (-dmu * sigma[:, None, None] - (self.best[None, :] - mu)[:, :, None] * dsigma[:, None, :])
        dz = dz / var[:, None, None]
        dlei = dlog_h(z, lh)[:, :, None] * dz + (dsigma / sigma[:, None])[:, None, :]
        w = np.exp(lei - np.max(lei, axis=1, keepdims=True))
        w = w / np.sum(w, axis=1, keepdims=True)
        return logmeanexp(lei, axis=1), np.einsum("bs,bsd->bd", w, dlei)
