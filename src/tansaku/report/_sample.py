"""Downsampling that keeps what matters: plots of 100k trials draw a few thousand marks.

Every helper is deterministic (fixed seed), so the same study always gives the same picture.
"""

from __future__ import annotations

import numpy as np

__all__ = ["subsample"]


def subsample(
    index: np.ndarray, limit: int, *, keep: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """At most ``limit`` entries of ``index`` (sorted), always including those in ``keep``
    (e.g. the best trials, the points where best-so-far improved); the rest uniformly at random."""
    index = np.asarray(index)
    if index.size <= limit:
        return index
    keep_set = np.intersect1d(index, keep) if keep is not None and keep.size else index[:0]
    if keep_set.size >= limit:
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(keep_set, size=limit, replace=False))
    rest = np.setdiff1d(index, keep_set, assume_unique=False)
    rng = np.random.default_rng(seed)
    picked = rng.choice(rest, size=limit - keep_set.size, replace=False)
    return np.sort(np.concatenate([keep_set, picked]))
