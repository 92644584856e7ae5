"""``mo-tpe``: multi-objective TPE (after Ozaki et al., GECCO 2020 / JAIR 2022).

TPE needs one ranking of the trials to split them into a "good" and a "bad" group.  With several
objectives the ranking is by Pareto dominance: non-dominated sorting of the feasible complete
trials gives each a front rank, and the good group is the first fronts; the front that the
group's size cuts gives the points that a greedy hypervolume subset selection picks (each the point
adding the most hypervolume to those already picked, measured from that front's own worst point
times 1.1), as in Optuna's multi-objective TPE.  Elsewhere trials within a front are ordered by
hypervolume contribution (2 and 3 objectives; crowding distance beyond), the largest first.  The
split, the densities and the candidate selection are then those of :mod:`tansaku.samplers._tpe`
(same options; its pending-trial liar and its handling of pruned, failed and infeasible trials --
the last ranked after every feasible one by total violation).

Good trials weigh by hypervolume contribution (``weights="hv"``, the default here; Optuna 4.x's
multi-objective TPE weighted them so, Optuna 5.1 weighs them equally): a good trial on the good
group's own front weighs its exclusive hypervolume contribution to that front, measured from
the group's worst point times 1.1, divided by the largest one; a good trial that another good
trial dominates weighs ``1e-12`` (next to nothing; it still shapes its neighbours' kernel
widths).  The good density so puts its mass where the front is sparse and at its ends, not on
clusters of near twins.  On the issue-18 benchmark at 200 evaluations this beat equal weights
(``"uniform"``, the default before) on held-out seeds on all four problems (benchmarks/
RESULTS.md, session 17).  Contributions are exact for 2 objectives and for 3-objective fronts
of at most ``_EXACT_WEIGHTS`` points; a larger front, or more objectives, weighs equally.
``"ei"`` (tpe's ramp over the Pareto scores) and ``"uniform"`` remain options.

Ranks change as trials arrive, so the core is rebuilt from every stored trial on each ask
(O(n) tells; fine for the thousands of trials of an expensive study).  Stateless beyond the
trials: a resume replays them and proposes the same points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tansaku._records import FrozenTrial, TrialState
from tansaku.algorithms._pareto import (
    crowding_distance,
    hypervolume,
    non_dominated_mask,
    non_dominated_sort,
)
from tansaku.samplers._tpe import TPESampler

__all__ = ["MOTPESampler", "hv_weights", "pareto_scores"]


#: the largest front whose 3-D hypervolume contributions are computed exactly (leave-one-out
#: costs grow fast: a 150-point front took minutes); larger fronts use crowding distance
_EXACT_3D = 24
#: the largest 3-objective front whose points are weighted by exact contributions (``"hv"``)
_EXACT_WEIGHTS = 32


def pareto_scores(losses: np.ndarray, n_top: int | None = None) -> np.ndarray:
    """A score per row (lower is better) ordering rows by front rank, then within a front by
    hypervolume contribution (2 objectives; 3 for fronts of at most 24 points) or crowding
    distance, largest first: ``rank + [0, 1)``.
    With ``n_top``, the front holding the ``n_top``-th row puts first the rows that
    :func:`greedy_hv_order` picks to fill the good group, and fronts wholly after it are ordered
    by crowding distance only (cheaper; their order does not decide the good group)."""
    y = np.asarray(losses, dtype=float)
    n = len(y)
    if n == 0:
        return np.zeros(0)
    rank = non_dominated_sort(y)
    score = rank.astype(float)
    span = y.max(axis=0) - y.min(axis=0)
    ref = y.max(axis=0) + 0.1 * np.where(span > 0, span, 1.0)
    seen = 0
    for r in range(int(rank.max()) + 1):
        idx = np.flatnonzero(rank == r)
        if n_top is not None and seen < n_top < seen + len(idx):
            # the front the good group's boundary cuts: its first n_top - seen points are the
            # greedy hypervolume subset, measured from the front's own worst point
            pts = y[idx]
            worst = pts.max(axis=0)
            fref = np.maximum(1.1 * worst, 0.9 * worst)
            fref[fref == 0] = 1e-12
            first = greedy_hv_order(pts, fref, n_top - seen)
            rest = np.setdiff1d(np.arange(len(idx)), first)
            crowd = crowding_distance(pts)[rest]
            order = np.concatenate([first, rest[np.argsort(-crowd, kind="stable")]])
            score[idx[order]] += np.arange(len(idx)) / len(idx)
        elif len(idx) >= 2:
            pts = y[idx]
            exact = (n_top is None or seen < n_top) and (
                y.shape[1] == 2 or (y.shape[1] == 3 and len(idx) <= _EXACT_3D)
            )
            key = _contributions(pts, ref) if exact else crowding_distance(pts)
            order = np.argsort(-key, kind="stable")  # the largest contribution first
            score[idx[order]] += np.arange(len(idx)) / len(idx)
        seen += len(idx)
    return score


def greedy_hv_order(pts: np.ndarray, ref: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` rows of ``pts`` (one front) chosen greedily for hypervolume: each step
    takes the row adding the most hypervolume to the rows taken so far (a (1 - 1/e)
    approximation of the best k-subset).  Lazy: a row's gain only shrinks as rows are taken, so
    a stale gain is an upper bound and only the current leader is re-computed."""
    n = len(pts)
    k = min(k, n)
    box = np.prod(np.maximum(ref - pts, 0.0), axis=1)
    gain = box.copy()  # upper bounds; exact for the first pick
    fresh = np.ones(n, dtype=bool)
    taken: list[int] = []
    free = np.ones(n, dtype=bool)
    while len(taken) < k:
        cand = np.flatnonzero(free)
        j = int(cand[np.argmax(gain[cand])])
        if not fresh[j]:
            sel = pts[taken]
            gain[j] = box[j] - hypervolume(np.maximum(sel, pts[j]), ref)
            fresh[j] = True
            continue
        taken.append(j)
        free[j] = False
        fresh[:] = False
    return np.array(taken, dtype=int)


def hv_weights(losses: np.ndarray) -> np.ndarray:
    """The ``"hv"`` weights of a good group (rows, all minimised), each in ``[1e-12, 1]``: a
    non-dominated row weighs its exclusive hypervolume contribution to the group's front
    (duplicates count as one point), from the reference ``max(1.1 * worst, 0.9 * worst)`` over
    the group (0 moved to ``1e-12``), divided by the largest contribution; a dominated row
    weighs ``1e-12``.  Every row weighs 1 when there is one row, more than 3 objectives, or a
    3-objective front of more than ``_EXACT_WEIGHTS`` points."""
    y = np.asarray(losses, dtype=float)
    n = len(y)
    w = np.full(n, 1e-12)
    front = np.flatnonzero(non_dominated_mask(y))
    m = y.shape[1] if y.ndim == 2 else 0
    if n <= 1 or m > 3 or (m == 3 and len(front) > _EXACT_WEIGHTS):
        return np.ones(n)
    worst = y.max(axis=0)
    ref = np.maximum(1.1 * worst, 0.9 * worst)
    ref[ref == 0] = 1e-12
    # duplicates share the front and each adds nothing alone: give twins one unique point's share
    pts, inverse = np.unique(y[front], axis=0, return_inverse=True)
    c = _contributions(pts, ref)[inverse.reshape(-1)] if len(pts) > 1 else np.ones(len(front))
    top = c.max()
    w[front] = np.maximum(c / top, 1e-12) if top > 0 else 1.0
    return w


def _contributions(pts: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Each point's exclusive hypervolume contribution within one front (no point dominates
    another): exact, O(k log k) in 2-D, by leaving each out in 3-D."""
    if pts.shape[1] == 2:
        order = np.argsort(pts[:, 0], kind="stable")
        x, yy = pts[order, 0], pts[order, 1]
        right = np.append(x[1:], ref[0])  # the next point's x bounds the box on the right
        above = np.insert(yy[:-1], 0, ref[1])  # the previous point's y bounds it above
        out = np.empty(len(pts))
        out[order] = np.maximum(right - x, 0) * np.maximum(above - yy, 0)
        return out
    total = hypervolume(pts, ref)
    return np.array([total - hypervolume(np.delete(pts, j, axis=0), ref) for j in range(len(pts))])


class MOTPESampler(TPESampler):
    """Multi-objective TPE; options as for ``tpe`` (see the module docstring)."""

    name = "mo-tpe"
    multi_objective = True
    WEIGHTS = ("hv", "ei", "uniform")

    def __init__(
        self,
        *,
        seed: int | None = None,
        multivariate: bool = False,
        weights: str = "hv",
        **options: Any,
    ) -> None:
        # independent densities by default: on the ZDT problems at 200 evaluations the joint
        # ones reach a clearly lower hypervolume; good points weighted by hypervolume
        # contribution (the module docstring; benchmarks/RESULTS.md)
        super().__init__(seed=seed, multivariate=multivariate, weights=weights, **options)

    def setup(self) -> None:
        super().setup()
        self._trials: list[FrozenTrial] = []
        self._scores: dict[int, float] = {}
        self._weights: dict[int, float] = {}

    def tell(self, trial: FrozenTrial) -> None:
        if trial.state.is_finished:
            self._trials.append(trial)

    def loss(self, trial: FrozenTrial) -> float:
        """The trial's Pareto score (see :func:`pareto_scores`); ``inf`` for failures.  PRUNED
        trials keep their first objective's loss (they rank after complete ones anyway)."""
        if trial.state is TrialState.COMPLETE:
            if not trial.satisfies_constraints and np.all(np.isfinite(self.losses(trial))):
                return 0.0  # any finite number: tpe ranks it by its violation (group 2)
            return self._scores.get(trial.trial_id, math.inf)
        if trial.state is TrialState.PRUNED and trial.value is not None:
            return float(self.sign * trial.value)
        return math.inf

    def good_weight(self, trial: FrozenTrial) -> float:
        """With ``weights="hv"``, the trial's :func:`hv_weights` weight within this ask's good
        group; ``1e-12`` for another feasible complete trial (the core's good set only takes
        one when infeasible or pruned trials make it larger than the group: it is dominated
        there); 1 otherwise and with the other ``weights``."""
        return self._weights.get(trial.trial_id, 1.0)

    def ask(self, pending: Sequence[FrozenTrial]) -> dict[str, Any]:
        ok = [
            t
            for t in self._trials
            if t.state is TrialState.COMPLETE
            and t.satisfies_constraints
            and np.all(np.isfinite(self.losses(t)))
        ]
        o = self.options
        top = max(1, math.ceil(o["gamma"] * len(ok)))
        if o["max_below"] is not None:
            top = min(top, o["max_below"])
        scores = pareto_scores(np.array([self.losses(t) for t in ok]), top) if ok else []
        self._scores = {t.trial_id: float(s) for t, s in zip(ok, scores)}
        self._weights = {}
        if o["weights"] == "hv" and ok:
            good = np.argsort(scores, kind="stable")[:top]
            w = hv_weights(np.array([self.losses(ok[i]) for i in good]))
            self._weights = {t.trial_id: 1e-12 for t in ok}
            self._weights.update({ok[i].trial_id: float(wi) for i, wi in zip(good, w)})
        told = self._trials
        super().setup()  # fresh cores, told every trial with today's ranks
        self._trials = told
        for t in told:
            super().tell(t)
        return super().ask(pending)
