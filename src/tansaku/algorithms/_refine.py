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

__all__ = ["refine_point"]


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
    best = int(np.argmin(np.where(finite, y, math.inf)))
    centre = x[best]
    dist = np.sqrt(np.sum((x - centre) ** 2, axis=1))
    near = np.argsort(dist, kind="stable")[:n_model]
    xs, ys = x[near], y[near]
    radius = float(np.median(dist[near[1:2 * (d + 1) + 1]])) if len(near) > 1 else 0.1
    radius = min(max(radius, 1e-9), 0.5)
    gp = SimpleGP()
    if len(pending):
        pend = np.array(pending, dtype=float)
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
