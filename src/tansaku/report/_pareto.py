"""The trade-off view of a multi-objective study: each complete trial's objective values (the
Pareto front, dominated and infeasible trials told apart) and the hypervolume of the feasible
trials found so far, trial by trial.  Plain data; :mod:`tansaku.plot._render` draws it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tansaku._records import FrozenTrial, TrialState

__all__ = ["Pareto", "pareto"]


@dataclass(frozen=True, eq=False)
class Pareto:
    study: str
    names: tuple[str, ...]
    directions: tuple[str, ...]
    number: np.ndarray  # (n,) trial numbers of the complete trials with values
    values: np.ndarray  # (n, m) their objective values as given (not sign-flipped)
    on_front: np.ndarray  # (n,) bool: on the feasible Pareto front
    feasible: np.ndarray  # (n,) bool
    hv_number: np.ndarray  # trial numbers at which the hypervolume is given
    hypervolume: np.ndarray  # of the feasible trials up to each (normalised objectives)
    reference: tuple[float, ...]  # in the flipped, normalised space: 1.1 per objective


def pareto(
    trials: Sequence[FrozenTrial],
    directions: Sequence[str],
    names: Sequence[str] = (),
    *,
    study: str = "",
    max_points: int = 400,
) -> Pareto:
    """The data of the trade-off plots; the hypervolume curve is taken at up to ``max_points``
    trial numbers (each an exact hypervolume of the objectives scaled to [0, 1] over the
    feasible trials, reference point 1.1 each)."""
    from tansaku.algorithms._pareto import hypervolume, non_dominated_mask

    m = len(directions)
    done = sorted(
        (
            t
            for t in trials
            if t.state is TrialState.COMPLETE and t.values is not None and len(t.values) == m
        ),
        key=lambda t: t.number,
    )
    number = np.array([t.number for t in done], dtype=int)
    values = np.array([list(t.values or ()) for t in done], dtype=float).reshape(-1, m)
    feasible = np.array([t.is_feasible for t in done], dtype=bool)
    sign = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    loss = values * sign
    on_front = np.zeros(len(done), dtype=bool)
    if feasible.any():
        on_front[np.flatnonzero(feasible)[non_dominated_mask(loss[feasible])]] = True
    hv_number, hv = np.zeros(0, dtype=int), np.zeros(0)
    if feasible.any():
        lo, hi = loss[feasible].min(axis=0), loss[feasible].max(axis=0)
        scaled = (loss - lo) / np.where(hi > lo, hi - lo, 1.0)
        ref = np.full(m, 1.1)
        cut = np.unique(np.linspace(0, len(done) - 1, min(len(done), max_points)).astype(int))
        hv_number = number[cut]
        hv = np.array([hypervolume(scaled[: i + 1][feasible[: i + 1]], ref) for i in cut])
    labels = tuple(names) or tuple(f"value{i}" for i in range(m))
    return Pareto(
        study, labels, tuple(directions), number, values, on_front, feasible, hv_number, hv,
        tuple([1.1] * m),
    )
