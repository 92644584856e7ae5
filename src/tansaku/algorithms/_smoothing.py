"""A discrete smoothing spline over the ``n`` ordered levels of one axis.

Given values ``y`` observed at some level positions ``idx``, find ``s`` over *all* ``n`` levels
minimising ``sum_k (s[idx_k] - y_k)^2 + lam * sum_j (s[j-1] - 2 s[j] + s[j+1])^2`` (a
Whittaker-Henderson smoother, the "d-Spline" of the auto-tuning literature).  Unobserved levels are
filled by the penalty (cubic-spline-like interpolation, linear extrapolation).  ``lam`` is chosen by
generalised cross-validation from a short list unless given.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

__all__ = ["LAMBDAS", "smooth_levels"]

LAMBDAS = (1e-4, 1e-2, 1.0, 1e2)


@lru_cache(maxsize=64)
def _second_difference(n: int) -> np.ndarray:
    d = np.zeros((max(n - 2, 0), n))
    for j in range(n - 2):
        d[j, j : j + 3] = (1.0, -2.0, 1.0)
    return d.T @ d


def smooth_levels(
    n: int, idx: Sequence[int] | np.ndarray, y: Sequence[float] | np.ndarray, *,
    lam: float | None = None,
) -> np.ndarray:
    """Smoothed values at all ``n`` levels from observations ``y`` at positions ``idx``.

    Needs at least one observation; with one, or with two on an axis of fewer than 3 levels, the
    result is constant/linear.  Non-finite ``y`` are replaced by the worst finite value.
    """
    idx = np.asarray(idx, dtype=int)
    y = np.asarray(y, dtype=float)
    if idx.size == 0 or idx.size != y.size:
        raise ValueError("need at least one observation, with one value per position")
    if np.any(idx < 0) or np.any(idx >= n):
        raise ValueError(f"positions must be in [0, {n})")
    finite = np.isfinite(y)
    if not finite.any():
        return np.zeros(n)
    y = np.where(finite, y, np.max(y[finite]))
    # average repeated positions
    uniq, inv = np.unique(idx, return_inverse=True)
    ys = np.bincount(inv, weights=y) / np.bincount(inv)
    if uniq.size == 1:
        return np.full(n, ys[0])
    if n < 3:
        return np.interp(np.arange(n), uniq, ys)
    w = np.zeros(n)
    w[uniq] = 1.0
    wy = np.zeros(n)
    wy[uniq] = ys
    pen = _second_difference(n)
    best: tuple[float, np.ndarray] | None = None
    for cand in (lam,) if lam is not None else LAMBDAS:
        a = np.diag(w) + cand * pen
        try:
            inv_a = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            continue
        s = inv_a @ wy
        if lam is not None:
            return s
        m = uniq.size
        trace = float(np.sum(np.diag(inv_a)[uniq]))
        rss = float(np.sum((s[uniq] - ys) ** 2))
        dof = m - trace
        gcv = m * rss / dof**2 if dof > 1e-6 else np.inf
        if best is None or gcv < best[0]:
            best = (gcv, s)
    if best is None:  # pragma: no cover - two distinct positions make the system regular
        return np.interp(np.arange(n), uniq, ys)
    return best[1]
