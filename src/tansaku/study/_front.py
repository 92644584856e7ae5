"""The Pareto front of a study's trials (``study.best_trials``, ``tansaku best``, reports)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tansaku._records import FrozenTrial

__all__ = ["loss_matrix", "pareto_front"]


def loss_matrix(trials: Sequence[FrozenTrial], directions: Sequence[str]) -> np.ndarray:
    """``(n, m)`` objective values of ``trials`` turned to minimise (maximised ones negated)."""
    sign = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    rows = [list(t.values or ()) for t in trials]
    if not rows:
        return np.zeros((0, len(directions)))
    return np.asarray(rows, dtype=float) * sign


def pareto_front(trials: Sequence[FrozenTrial], directions: Sequence[str]) -> list[FrozenTrial]:
    """The feasible trials (see ``FrozenTrial.is_feasible``) of ``trials`` with as many values as
    ``directions`` that no other such trial dominates, by number.  One objective: the trials
    sharing the best value."""
    from tansaku.algorithms._pareto import non_dominated_mask

    ok = [t for t in trials if t.is_feasible and t.values and len(t.values) == len(directions)]
    if not ok:
        return []
    mask = non_dominated_mask(loss_matrix(ok, directions))
    return sorted((t for t, keep in zip(ok, mask) if keep), key=lambda t: t.number)
