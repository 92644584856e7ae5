"""Pareto dominance for several objectives, all minimised: pure numpy, no study or storage.

* :func:`dominates` / :func:`non_dominated_mask` / :func:`non_dominated_sort` (fronts by rank);
* :func:`constrained_sort`: Deb's constraint domination (a feasible point beats an infeasible one;
  two infeasible points compare by total violation; two feasible ones by Pareto dominance);
* :func:`crowding_distance` within one front (NSGA-II; boundary points get ``inf``);
* :func:`hypervolume`: the volume dominated by a set and bounded by a reference point -- exact,
  by a sweep in 2-D, by slicing the third axis in 3-D and recursively beyond.

Points are rows of an ``(n, m)`` array; equal points do not dominate each other (so duplicates
share a front).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "constrained_sort",
    "crowding_distance",
    "dominates",
    "hypervolume",
    "non_dominated_mask",
    "non_dominated_sort",
]


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` is no worse than ``b`` in every objective and better in one (minimising)."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated_mask(points: np.ndarray) -> np.ndarray:
    """True for each row that no other row dominates (duplicates of a front point stay in)."""
    y = np.asarray(points, dtype=float)
    n = len(y)
    if n == 0:
        return np.zeros(0, dtype=bool)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        # rows that row i dominates
        worse = np.all(y[i] <= y, axis=1) & np.any(y[i] < y, axis=1)
        keep &= ~worse
    return keep


def non_dominated_sort(points: np.ndarray) -> np.ndarray:
    """The front index of each row (0 = non-dominated, 1 = non-dominated once front 0 is gone,
    ...), by repeated peeling; O(n^2 m) per front, fine for the thousands of trials of a study."""
    y = np.asarray(points, dtype=float)
    rank = np.full(len(y), -1, dtype=int)
    left = np.arange(len(y))
    r = 0
    while len(left):
        mask = non_dominated_mask(y[left])
        rank[left[mask]] = r
        left = left[~mask]
        r += 1
    return rank


def constrained_sort(points: np.ndarray, violation: np.ndarray | None = None) -> np.ndarray:
    """Front ranks under constraint domination: feasible points (``violation <= 0``) are ranked
    by :func:`non_dominated_sort`; every infeasible point comes after all feasible ones, ordered
    by its total violation (equal violations share a rank)."""
    y = np.asarray(points, dtype=float)
    if violation is None:
        return non_dominated_sort(y)
    v = np.asarray(violation, dtype=float)
    feasible = v <= 0
    rank = np.zeros(len(y), dtype=int)
    top = 0
    if feasible.any():
        rank[feasible] = non_dominated_sort(y[feasible])
        top = int(rank[feasible].max()) + 1
    if (~feasible).any():
        _, inverse = np.unique(v[~feasible], return_inverse=True)
        rank[~feasible] = top + inverse.reshape(-1)
    return rank


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each row of one front: per objective, the gap between the
    neighbours on either side divided by the objective's range, summed; the extreme points of
    every objective get ``inf`` (kept first)."""
    y = np.asarray(points, dtype=float)
    n, m = y.shape if y.ndim == 2 else (len(y), 0)
    dist = np.zeros(n)
    if n <= 2:
        dist[:] = np.inf
        return dist
    for k in range(m):
        order = np.argsort(y[:, k], kind="stable")
        col = y[order, k]
        span = col[-1] - col[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span <= 0 or not np.isfinite(span):
            continue
        dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return dist


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """The exact volume of the region dominated by ``points`` and dominating ``reference``
    (minimising; points not better than the reference in every objective add nothing)."""
    y = np.asarray(points, dtype=float)
    ref = np.asarray(reference, dtype=float)
    if y.size == 0:
        return 0.0
    y = y.reshape(-1, len(ref))
    y = y[np.all(y < ref, axis=1)]
    if len(y) == 0:
        return 0.0
    y = y[non_dominated_mask(y)]
    return _hv(np.unique(y, axis=0), ref)


def _hv(y: np.ndarray, ref: np.ndarray) -> float:
    m = y.shape[1]
    if m == 1:
        return float(ref[0] - y[:, 0].min())
    if m == 2:
        order = np.argsort(y[:, 0], kind="stable")
        xs, ys = y[order, 0], y[order, 1]
        total, best_y = 0.0, ref[1]
        for i in range(len(xs)):
            if ys[i] < best_y:
                # the slab from xs[i] to the reference in x, between ys[i] and the lower so far
                total += (ref[0] - xs[i]) * (best_y - ys[i])
                best_y = ys[i]
        return float(total)
    # slice along the last objective: between consecutive levels the dominated region's
    # cross-section is the (m-1)-D hypervolume of the points at or below that level
    order = np.argsort(y[:, -1], kind="stable")
    y = y[order]
    total = 0.0
    for i in range(len(y)):
        top = ref[-1] if i + 1 == len(y) else y[i + 1, -1]
        depth = top - y[i, -1]
        if depth <= 0:
            continue
        below = y[: i + 1, :-1]
        below = below[non_dominated_mask(below)]
        total += depth * _hv(below, ref[:-1])
    return float(total)
