"""Simplex designs in the unit cube for Nelder-Mead starts and restarts.

All functions return ``(d + 1, d)`` arrays of vertices inside ``[0, 1]^d`` and draw only from the
generator they are given (the caller seeds it per restart, which keeps runs replayable).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "around",
    "centred_at",
    "centred_regular",
    "is_simplex",
    "lhs_design",
    "mirror",
    "pick_vertices",
    "random_design",
    "regular_simplex",
]

_MIN_SV = 1e-9


def random_design(rng: np.random.Generator, d: int) -> np.ndarray:
    """``d + 1`` independent uniform points."""
    return rng.random((d + 1, d))


def lhs_design(rng: np.random.Generator, d: int) -> np.ndarray:
    """A Latin hypercube of ``d + 1`` points: each axis cut into ``d + 1`` strata, one point each."""
    n = d + 1
    strata = np.stack([rng.permutation(n) for _ in range(d)], axis=1)
    return (strata + rng.random((n, d))) / n


def regular_simplex(rng: np.random.Generator, d: int) -> np.ndarray:
    """A regular simplex centred at 0 with circumradius 1, randomly rotated (Haar measure)."""
    n = d + 1
    centred = np.eye(n) - 1.0 / n  # vertices e_i, centred: they span the plane sum(x) = 0
    basis, _ = np.linalg.qr(centred[:, :d])  # orthonormal basis of that plane, (n, d)
    verts = centred @ basis
    verts /= np.linalg.norm(verts[0])
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))  # uniform over the orthogonal group
    return verts @ q.T


def centred_regular(rng: np.random.Generator, d: int, size: float = 1.0) -> np.ndarray:
    """Regular rotated simplex centred at the cube's centre, scaled so that its widest coordinate
    reaches ``size`` times the distance to the faces (``size=1`` touches the box)."""
    verts = regular_simplex(rng, d)
    verts *= 0.5 * size / np.max(np.abs(verts))
    return np.clip(0.5 + verts, 0.0, 1.0)


def mirror(x: np.ndarray) -> np.ndarray:
    """Fold points back into ``[0, 1]`` by reflecting at the faces."""
    return np.abs(np.mod(np.asarray(x, dtype=float) + 1.0, 2.0) - 1.0)


def around(rng: np.random.Generator, x: np.ndarray, radius: float) -> np.ndarray:
    """Regular rotated simplex with circumradius ``radius`` having ``x`` as vertex 0 (its value is
    known, so a restart there costs ``d`` evaluations); vertices outside the box are mirrored in."""
    x = np.asarray(x, dtype=float)
    d = x.size
    for _ in range(20):
        verts = regular_simplex(rng, d) * radius
        out = mirror(x + verts - verts[0])
        out[0] = x
        if is_simplex(out):
            return out
    return pick_vertices([x], d, rng)


def centred_at(rng: np.random.Generator, centre: np.ndarray, radius: float) -> np.ndarray:
    """Regular rotated simplex with circumradius ``radius`` centred at ``centre``; vertices
    outside the box are mirrored in."""
    centre = np.asarray(centre, dtype=float)
    for _ in range(20):
        out = mirror(centre + regular_simplex(rng, centre.size) * radius)
        if is_simplex(out):
            return out
    return pick_vertices([], centre.size, rng)


def is_simplex(verts: np.ndarray) -> bool:
    """True when the ``d + 1`` vertices are affinely independent (not flat)."""
    edges = verts[1:] - verts[0]
    return bool(np.linalg.svd(edges, compute_uv=False)[-1] > _MIN_SV)


def pick_vertices(
    candidates: Sequence[np.ndarray], d: int, rng: np.random.Generator, *, fill: np.ndarray | None = None
) -> np.ndarray:
    """Greedily keep candidates that add a dimension, then fill from ``fill`` (default: a Latin
    hypercube) and, if still flat, from uniform points, until ``d + 1`` affinely independent
    vertices are chosen."""
    chosen: list[np.ndarray] = []

    def offer(p: np.ndarray) -> None:
        if len(chosen) > d:
            return
        trial = np.array([*chosen, p])
        if len(chosen) == 0 or np.linalg.svd(trial[1:] - trial[0], compute_uv=False)[-1] > _MIN_SV:
            chosen.append(np.asarray(p, dtype=float))

    for p in candidates:
        offer(np.asarray(p, dtype=float))
    pool = lhs_design(rng, d) if fill is None else fill
    for p in pool:
        offer(p)
    while len(chosen) <= d:
        offer(rng.random(d))
    return np.array(chosen)
