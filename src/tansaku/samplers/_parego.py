"""ParEGO scalarising (Knowles 2006) so a single-objective model (gp, dngo) serves a study with
several objectives.

At each proposal a weight vector ``w`` is drawn uniformly from the simplex (seeded by the
sampler's seed, the number of finished trials and of pending ones, so a resume proposes the same
points), every complete trial's loss vector is scaled to ``[0, 1]`` per objective over the
complete trials, and the model is fitted to the augmented Chebyshev scalarisation
``max_i(w_i f_i) + rho * sum_i(w_i f_i)`` (``rho = 0.05``) and asked for one point.  Different
weights at different asks spread the proposals along the Pareto front.  Constraints are the
model's own business (gp models them whatever the objectives: constrained EI).  The model is
rebuilt from every trial on each ask (its targets change with ``w``), so an ask costs a model
fit: fine for the tens to hundreds of trials an expensive study has.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RHO", "chebyshev", "parego_weights"]

#: the weight of the sum term of the augmented Chebyshev scalarisation (Knowles 2006)
RHO = 0.05


def parego_weights(seed: int, n_finished: int, n_pending: int, m: int) -> np.ndarray:
    """A weight vector drawn uniformly from the ``m``-simplex, a function of its arguments."""
    rng = np.random.default_rng([seed, 31, n_finished, n_pending])
    return rng.dirichlet(np.ones(m))


def chebyshev(losses: np.ndarray, weights: np.ndarray, rho: float = RHO) -> np.ndarray:
    """The augmented Chebyshev scalarisation of each row of ``losses`` (minimised, all finite),
    each objective first scaled to ``[0, 1]`` over the rows (a constant one to 0)."""
    y = np.asarray(losses, dtype=float)
    lo, hi = y.min(axis=0), y.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    f = (y - lo) / span * np.asarray(weights)
    return np.max(f, axis=1) + rho * np.sum(f, axis=1)
