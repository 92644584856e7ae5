"""Predictive parallel evaluation: which points will a machine need next?

Used by :class:`tansaku.algorithms._trajectory.TrajectoryCore` when every point its machine needs is
already under evaluation and a worker is free (Ozaki, Watanabe & Onishi 2019).  The idea: fit a
cheap surrogate near the machine's position, simulate many continuations of the machine with
values drawn from it, and rank the points those continuations need, earliest and most often first.

Details that matter for the quality of the guesses (measured on Hartmann/Rosenbrock/Branin):

* the surrogate sees only the ``model_points`` told points nearest to the machine, and its
  length scales follow their spread, so it resolves the small differences near convergence;
* values along one continuation are drawn jointly (conditioned on the earlier draws of that
  continuation), so consecutive decisions are coherent;
* ``warp``: the surrogate is fitted on the losses (``"none"``, default), on the normal scores of
  their ranks (``"rank"``: Nelder-Mead only compares values) or both, continuations alternating
  (``"both"``).  Which predicts Nelder-Mead's comparisons better depends on the function: with 4
  simulated workers rank helped on Rosenbrock-10D (time ratio 0.38 vs 0.41) and hurt on
  Hartmann6 (0.42 vs 0.37); no variant was better on average, so the simplest is the default;
* a point needed as the ``j``-th unknown value of a continuation scores ``decay ** j``.

Everything is drawn from a generator the caller seeds, so the ranking is reproducible.

**Many workers: the outcome tree** (:func:`plan_needs`).  Random continuations spend most of their
draws on the likeliest path, so with many free workers they rank too few distinct points that a
future simplex may need.  A machine that can say where its next decision changes
(``thresholds()``: for a Nelder-Mead reflection, the values of the best, second-worst and worst
vertex) is expanded instead as a tree of futures, best first: a state whose next needed point is
unknown branches once per interval between the thresholds, each child told the surrogate's mean
of the value truncated to its interval and weighted by the surrogate's probability of that
interval.  Points are ranked by the summed probability of the states that need them, so W workers
evaluate the W points likeliest to be needed: reflection, expansion and both contractions of this
iteration, then those of the likeliest next simplices, and so on (several levels of look-ahead
where the outcome is uncertain, one long path where it is not).  It is deterministic (no draws)
and costs one surrogate prediction per tree node, the tree capped at ``MAX_NODES`` nodes.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr, ndtri

if TYPE_CHECKING:
    from tansaku.algorithms._surrogate import Surrogate
    from tansaku.algorithms._trajectory import Machine, TrajectoryCore

__all__ = ["MAX_NODES", "RankWarp", "plan_needs", "rank_needs"]

MAX_NODES = 1024  # tree states expanded per ranking (bounds the cost however many workers)

Resolved = tuple[bytes, np.ndarray]


class RankWarp:
    """Losses -> normal scores of their ranks, and back (monotone, linear beyond the data)."""

    def __init__(self, y: np.ndarray) -> None:
        y = np.asarray(y, dtype=float)
        finite = np.isfinite(y)
        hi = float(np.max(y[finite])) if finite.any() else 0.0
        lo = float(np.min(y[finite])) if finite.any() else 0.0
        y = np.where(finite, y, hi + max(hi - lo, 1.0))  # failures: beyond the worst
        order = np.argsort(y, kind="stable")
        ranks = np.empty(y.size)
        ranks[order] = np.arange(y.size)
        for v in np.unique(y):  # ties share their mean rank
            tie = y == v
            ranks[tie] = ranks[tie].mean()
        self.z = ndtri((ranks + 0.5) / y.size)
        self._zs, idx = np.unique(self.z, return_index=True)
        self._ys = y[idx]

    def back(self, z: float) -> float:
        zs, ys = self._zs, self._ys
        if zs.size == 1:
            return float(ys[0] + z)
        if z < zs[0]:
            return float(ys[0] - (zs[0] - z) * (ys[1] - ys[0]) / (zs[1] - zs[0]))
        if z > zs[-1]:
            return float(ys[-1] + (z - zs[-1]) * (ys[-1] - ys[-2]) / (zs[-1] - zs[-2]))
        return float(np.interp(z, zs, ys))


class _Model:
    """One fitted surrogate, with an optional warp of the losses."""

    def __init__(self, surrogate: Surrogate, x: np.ndarray, y: np.ndarray, warp: bool) -> None:
        self.surrogate = surrogate
        self.warp = RankWarp(y) if warp else None
        surrogate.fit(x, self.warp.z if self.warp is not None else y)
        self.joint: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = getattr(
            surrogate, "joint", None)

    def to_loss(self, v: float) -> float:
        return v if self.warp is None else self.warp.back(v)


def _draw(model: _Model, unknown: list[Resolved], path: list[np.ndarray], values: list[float],
          use_joint: bool, rng: np.random.Generator) -> list[float]:
    """Model-space draws at ``unknown``, conditioned on this continuation's earlier draws."""
    pts = np.array([r[1] for r in unknown])
    if model.joint is None or not use_joint:
        mean, std = model.surrogate.predict(pts)
        return [float(m + s * rng.standard_normal()) for m, s in zip(mean, std)]
    m = len(path)
    mean, cov = model.joint(np.array([*path, *pts]) if m else pts)
    mu, c = mean[m:], cov[m:, m:]
    if m:
        c_ss = cov[:m, :m] + 1e-10 * np.eye(m)
        c_us = cov[m:, :m]
        w = np.linalg.solve(c_ss, c_us.T).T
        mu = mu + w @ (np.array(values) - mean[:m])
        c = c - w @ c_us.T
    std = np.sqrt(np.maximum(np.diag(c), 0.0))
    return [float(mi + si * rng.standard_normal()) for mi, si in zip(mu, std)]


def rank_needs(core: TrajectoryCore, rng: np.random.Generator,
               n_known: int | None = None) -> list[Resolved]:
    """Points (key, snapped point) ranked by their score over simulated continuations, knowing
    the first ``n_known`` told values (default: all)."""
    machine = core.machine
    assert machine is not None
    spec = core.speculation
    horizon = core.horizon
    models: list[_Model] = []
    if core.n_told and n_known != 0:
        x, y = core.model_data(n_known)
        warps = {"none": (False,), "rank": (True,), "both": (False, True)}[spec.warp]
        for i, warp in enumerate(warps):
            sur = core.surrogate if i == 0 else copy.deepcopy(core.surrogate)
            models.append(_Model(sur, x, y, warp))
    score: dict[bytes, float] = {}
    where: dict[bytes, np.ndarray] = {}
    cache = core.known(n_known)
    for s in range(spec.n_simulations):
        model = models[s % len(models)] if models else None
        sim = machine.clone()
        drawn: dict[bytes, float] = {}  # loss values of this continuation
        path: list[np.ndarray] = []  # ... and where they were drawn, in model space:
        path_values: list[float] = []
        for _step in range(8 * horizon + 40):
            if len(drawn) >= horizon:
                break
            resolved = [core.resolve(p) for p in sim.needs()]
            unknown: list[Resolved] = []
            for r in resolved:
                if (r is not None and r[0] not in cache and r[0] not in drawn
                        and all(r[0] != u[0] for u in unknown)):
                    unknown.append(r)
            if unknown:
                rank = len(drawn)
                if model is None:  # nothing told yet: any order is as likely
                    draws = [float(v) for v in rng.standard_normal(len(unknown))]
                else:
                    draws = _draw(model, unknown, path, path_values, spec.joint, rng)
                for i, (r, v) in enumerate(zip(unknown, draws)):
                    drawn[r[0]] = model.to_loss(v) if model is not None else v
                    path.append(r[1])
                    path_values.append(v)
                    where[r[0]] = r[1]
                    score[r[0]] = score.get(r[0], 0.0) + spec.decay ** (rank + i)
            sim.advance([math.inf if r is None else cache.get(r[0], drawn.get(r[0], math.inf))
                         for r in resolved])
    return [(k, where[k]) for k in sorted(score, key=lambda k: -score[k])]


def _intervals(thresholds: Sequence[float], mean: float, std: float
               ) -> list[tuple[float, float]]:
    """(probability, representative value) of each interval between the finite ``thresholds``
    under a normal(mean, std): the mean truncated to the interval (the boundary if it is too
    unlikely to compute)."""
    cuts = sorted({float(t) for t in thresholds if math.isfinite(t)})
    if not cuts:
        return [(1.0, mean)]
    std = max(std, 1e-12 * max(1.0, abs(mean)))
    out: list[tuple[float, float]] = []
    edges = [-math.inf, *cuts, math.inf]
    for lo, hi in itertools.pairwise(edges):
        za, zb = (lo - mean) / std, (hi - mean) / std
        p = float(ndtr(zb) - ndtr(za))
        if p <= 1e-9:
            continue
        pdf_a = math.exp(-0.5 * za * za) if math.isfinite(za) else 0.0
        pdf_b = math.exp(-0.5 * zb * zb) if math.isfinite(zb) else 0.0
        v = mean + std * (pdf_a - pdf_b) / (p * math.sqrt(2.0 * math.pi))
        v = min(max(v, lo), hi) if math.isfinite(v) else (lo if math.isfinite(lo) else hi)
        if hi < math.inf and v >= hi:  # the interval is [lo, hi): stay strictly below hi
            v = math.nextafter(hi, -math.inf)
        out.append((p, v))
    return out


def plan_needs(core: TrajectoryCore, budget: int, n_known: int | None = None,
               scores: dict[bytes, float] | None = None) -> list[Resolved]:
    """Points (key, snapped point) ranked by the probability that the machine needs them, from a
    best-first tree of its futures (see the module docstring), knowing the first ``n_known``
    told values; at most ``budget`` points.  The machine must have ``thresholds()``.  ``scores``,
    when given, receives each returned point's probability (summed over the states needing it)."""
    machine = core.machine
    assert machine is not None
    cache = core.known(n_known)
    model: _Model | None = None
    if core.n_told and n_known != 0:
        x, y = core.model_data(n_known)
        model = _Model(core.surrogate, x, y, warp=False)
    score: dict[bytes, float] = {}
    where: dict[bytes, np.ndarray] = {}
    heap: list[tuple[float, int, Machine, dict[bytes, float]]] = [(-1.0, 0, machine.clone(), {})]
    counter = 1
    nodes = 0
    while heap and nodes < MAX_NODES and len(score) < budget:
        neg, _, sim, drawn = heapq.heappop(heap)
        prob = -neg
        nodes += 1
        unknown: list[Resolved] = []
        for _step in range(core.max_revisits):
            resolved = [core.resolve(p) for p in sim.needs()]
            unknown = []
            for r in resolved:
                if (r is not None and r[0] not in cache and r[0] not in drawn
                        and all(r[0] != u[0] for u in unknown)):
                    unknown.append(r)
            if unknown or getattr(sim, "finished", False):
                break
            sim.advance([math.inf if r is None else cache.get(r[0], drawn.get(r[0], math.inf))
                         for r in resolved])
        if not unknown:
            continue
        for key, q in unknown:
            score[key] = score.get(key, 0.0) + prob
            where[key] = q
        if model is None:  # nothing told: no values to branch on
            continue
        mean, std = model.surrogate.predict(np.array([r[1] for r in unknown]))
        if len(unknown) == 1:
            branches = _intervals(sim.thresholds(), float(mean[0]), float(std[0]))  # type: ignore[attr-defined]
            for p, v in branches:
                heapq.heappush(heap, (-prob * p, counter, sim.clone() if len(branches) > 1 else sim,
                                      {**drawn, unknown[0][0]: v}))
                counter += 1
        else:  # several points at once (a new or shrunk simplex): their expected values
            heapq.heappush(heap, (-prob, counter, sim,
                                  {**drawn, **{r[0]: float(m) for r, m in zip(unknown, mean)}}))
            counter += 1
    ranked = sorted(score, key=lambda k: -score[k])[:budget]
    if scores is not None:
        scores.clear()
        scores.update((k, score[k]) for k in ranked)
    return [(k, where[k]) for k in ranked]
