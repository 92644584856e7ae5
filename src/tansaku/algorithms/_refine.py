"""Model-guided points around the incumbent, for the workers a trajectory's speculation cannot use.

With many workers the tree of a Nelder-Mead simplex's futures (:func:`tansaku.algorithms.
_predictive.plan_needs`) ranks points by the probability that the simplex will need them; past
the first few levels that probability is small, and a worker evaluating such a point mostly waits
for a future that does not come.  :func:`refine_point` gives such a worker a point of a second,
independent search instead: a local Gaussian-process search around the best point told so far.

* **Model.**  A :class:`tansaku.algorithms._surrogate.SimpleGP` on the ``n_model`` told points
  nearest to the incumbent (its length scales follow their spread, so the model tightens as the
  points close in), plus the points under evaluation near it as *kriging believers* (told the
  model's own mean): a pending point lowers the variance around it, so consecutive asks spread.
* **Candidates.**  ``n_candidates`` points ``x* + r 2^u z / sqrt(d)`` with ``z`` standard normal,
  ``u`` uniform in ``[-3, 1]`` and ``r`` the median distance of the ``2 (d + 1)`` nearest told
  points to the incumbent ``x*`` (several scales at once: a step as long as the neighbourhood, and
  refinements 8 times finer), clipped to the cube.
* **Choice.**  Thompson sampling: one joint draw of the model at the candidates, the candidate
  with the lowest draw wins (the draws differ per ask, so a batch is diverse without a penalty).
* **A quadratic step first.**  Near a smooth minimum the GP's noise floor stops the draws from
  resolving the last digits, which the sequential simplex does resolve (with 64 workers the runs
  ended 1e-7 to 3e-3 above the one-worker best).  So each ask first fits a full quadratic by least
  squares to the told points nearest the incumbent (:func:`quadratic_step`: twice as many as its
  ``1 + d + d (d + 1) / 2`` coefficients) and, when its Hessian is positive definite, proposes the
  model's minimum, its step cut to the neighbourhood's size ``r``; that point is skipped (Thompson
  instead) when a point in flight or told already lies within a quarter of the step, so one
  quadratic point is in flight per model state, not one per worker.

Everything is drawn from the generator the caller passes (the core seeds it by the told count and
the number of points in flight), and the inputs are the told values and the pending points only,
so the choice is reproducible and resume by replay stays exact.  The simplex never sees these
points unless it needs them (then they are cache hits): its path is unchanged; what changes is
that the run's best may come from here, ahead of the simplex.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from tansaku.algorithms._surrogate import SimpleGP

__all__ = ["quadratic_step", "refine_point"]


def refine_point(
    x: np.ndarray,
    y: np.ndarray,
    pending: Sequence[np.ndarray],
    rng: np.random.Generator,
    *,
    snap: Callable[[np.ndarray], np.ndarray],
    n_model: int = 40,
    n_candidates: int = 256,
) -> np.ndarray | None:
    """A snapped point in ``[0, 1]^d`` near the best of the told points ``x`` (losses ``y``),
    chosen by Thompson sampling of a local GP that also believes the ``pending`` points (see the
    module docstring); None while no told value is finite."""
    finite = np.isfinite(y)
    if not finite.any() or len(x) < 2:
        return None
    d = x.shape[1]
    pend = np.array(pending, dtype=float).reshape(-1, d)
    best = int(np.argmin(np.where(finite, y, math.inf)))
    centre = x[best]
    dist = np.sqrt(np.sum((x - centre) ** 2, axis=1))
    order = np.argsort(dist, kind="stable")  # nearest first: the GP's points and the quadratic's
    near = order[:n_model]
    xs, ys = x[near], y[near]
    radius = float(np.median(dist[near[1:2 * (d + 1) + 1]])) if len(near) > 1 else 0.1
    radius = min(max(radius, 1e-9), 0.5)
    near_q = order[: 2 * _n_coef(d)]
    step = quadratic_step(x[near_q] - centre, y[near_q], radius)
    if step is not None:
        q = np.asarray(snap(np.clip(centre + step, 0.0, 1.0)), dtype=float)
        length = float(np.sqrt(np.sum((q - centre) ** 2)))
        others = np.vstack([x, pend])
        if length > 0 and float(np.min(np.sum((others - q) ** 2, axis=1))) > (0.25 * length) ** 2:
            return q
    gp = SimpleGP()
    if len(pend):
        pd = np.sqrt(np.sum((pend - centre) ** 2, axis=1))
        keep = pend[np.argsort(pd, kind="stable")[:n_model]]
        gp.fit(xs, ys)
        believed, _ = gp.predict(keep)
        xs, ys = np.vstack([xs, keep]), np.concatenate([ys, believed])
    gp.fit(xs, ys)
    z = rng.standard_normal((n_candidates, d)) / math.sqrt(d)
    scale = radius * 2.0 ** rng.uniform(-3.0, 1.0, size=(n_candidates, 1))
    cand = np.array([snap(c) for c in np.clip(centre + scale * z, 0.0, 1.0)])
    mean, cov = gp.joint(cand)
    cov = 0.5 * (cov + cov.T) + 1e-10 * max(float(np.max(np.diag(cov))), 1e-12) * np.eye(len(cand))
    try:
        chol = np.linalg.cholesky(cov)
        draw = mean + chol @ rng.standard_normal(len(cand))
    except np.linalg.LinAlgError:  # numerically singular: independent draws instead
        draw = mean + np.sqrt(np.maximum(np.diag(cov), 0.0)) * rng.standard_normal(len(cand))
    return np.asarray(cand[int(np.argmin(draw))], dtype=float)


def _n_coef(d: int) -> int:
    """Coefficients of a full quadratic in ``d`` variables."""
    return 1 + d + d * (d + 1) // 2


def quadratic_step(dx: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray | None:
    """The step from the incumbent to the minimum of a quadratic fitted by least squares to the
    losses ``y`` at offsets ``dx`` from it (rows; the incumbent's own row is ``0``), its length cut
    to ``radius``; None when the points are too few (fewer than ``1.5`` times the coefficients),
    not all finite, the fit is singular, or its Hessian is not positive definite (no minimum)."""
    n, d = dx.shape
    if n < 1.5 * _n_coef(d) or not np.all(np.isfinite(y)):
        return None
    scale = float(np.max(np.abs(dx)))
    if not scale > 0:
        return None
    u = dx / scale
    iu, ju = np.triu_indices(d)
    design = np.hstack([np.ones((n, 1)), u, u[:, iu] * u[:, ju]])
    yc = y - float(np.min(y))
    coef, _, rank, _ = np.linalg.lstsq(design, yc, rcond=None)
    if rank < design.shape[1]:
        return None
    g = coef[1:1 + d]
    h = np.zeros((d, d))
    h[iu, ju] = coef[1 + d:]
    h = h + h.T  # off-diagonals appear once in the fit, the diagonal twice after this
    try:
        np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        return None
    step = -np.linalg.solve(h, g) * scale
    length = float(np.sqrt(np.sum(step**2)))
    if not np.isfinite(length):
        return None
    return step * (radius / length) if length > radius else step
