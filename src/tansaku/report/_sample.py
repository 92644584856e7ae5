"""Downsampling that keeps what matters: plots of 100k trials draw a few thousand marks.

Every helper is deterministic (fixed seed), so the same study always gives the same picture.
"""

from __future__ import annotations

import numpy as np

__all__ = ["merge_intervals", "subsample"]


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


def merge_intervals(
    start: np.ndarray, end: np.ndarray, gap: float
) -> tuple[np.ndarray, np.ndarray]:
    """Merge intervals (of one lane, any order) whose gaps are ``<= gap``: drawing a bar per trial is
    pointless when a pixel spans many trials.  Returns merged ``(start, end)`` sorted by start."""
    if start.size == 0:
        return start, end
    order = np.argsort(start, kind="stable")
    s, e = start[order], end[order]
    run_end = np.maximum.accumulate(e)
    # a new block begins where the next start is beyond everything so far (+ gap)
    new = np.empty(s.size, dtype=bool)
    new[0] = True
    new[1:] = s[1:] > run_end[:-1] + gap
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, s.size - 1)
    return s[first], run_end[last]
