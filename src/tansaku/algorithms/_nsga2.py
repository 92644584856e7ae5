"""NSGA-II over the unit cube (Deb et al. 2002), for several objectives, all minimised.

The core keeps every told point ``(x, losses, violation)``.  Survivors are the best
``population_size`` of all of them (elitism over everything seen, which suits trials that finish
in any order): ranked by constraint domination (:func:`~tansaku.algorithms._pareto.constrained_sort`)
and, within the last front that fits, by crowding distance.  A child comes from two parents picked
by binary tournaments on (rank, crowding), simulated binary crossover (SBX) of the continuous and
discrete coordinates, uniform crossover of categorical ones, then polynomial mutation (or a fresh
level for a categorical) of each coordinate with probability ``mutation_prob`` (default ``1/d``).
Until ``population_size`` points are known (told or pending), points are drawn uniformly.

Every random draw of proposal ``i`` comes from ``default_rng([seed, i])``: a replay of the same
told points proposes the same points (resume).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tansaku.algorithms._pareto import constrained_sort, crowding_distance
from tansaku.algorithms._types import Dim

__all__ = ["NSGA2"]


class NSGA2:
    """``ask(index, n_pending) -> x`` / ``tell(x, losses, violation)``; see the module docstring."""

    def __init__(
        self,
        dims: Sequence[Dim],
        n_objectives: int,
        *,
        population_size: int = 50,
        crossover_prob: float = 0.9,
        eta_crossover: float = 15.0,
        eta_mutation: float = 20.0,
        mutation_prob: float | None = None,
        seed: int | None = None,
    ) -> None:
        self.dims = list(dims)
        self.m = int(n_objectives)
        self.population_size = int(population_size)
        self.crossover_prob = float(crossover_prob)
        self.eta_c = float(eta_crossover)
        self.eta_m = float(eta_mutation)
        d = max(1, len(self.dims))
        self.mutation_prob = 1.0 / d if mutation_prob is None else float(mutation_prob)
        self.seed = seed
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._v: list[float] = []
        self._parents: tuple[np.ndarray, np.ndarray] | None = None  # (indices, keys), cached
        self._categorical = np.array([dim.kind == "categorical" for dim in self.dims], dtype=bool)

    @property
    def n_told(self) -> int:
        return len(self._x)

    def tell(self, x: np.ndarray, losses: np.ndarray, violation: float = 0.0) -> None:
        """One evaluated point: ``losses`` (length ``n_objectives``, ``inf`` for a failure) and
        its total constraint violation (0 = feasible)."""
        y = np.asarray(losses, dtype=float).reshape(self.m)
        v = float(violation)
        if not np.all(np.isfinite(y)):  # a failure: behind every point that has values
            y = np.full(self.m, np.inf)
            v = np.inf
        self._x.append(np.asarray(x, dtype=float).copy())
        self._y.append(y)
        self._v.append(v)
        self._parents = None

    # ---------------------------------------------------------------- selection
    def survivors(self) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the current population and their tournament keys ``(rank, -crowding)``
        as one array of shape ``(k, 2)``."""
        if self._parents is not None:
            return self._parents
        y = np.array(self._y)
        v = np.array(self._v)
        # failures rank last: a violation above every real one, and finite stand-in losses so
        # that crowding distances stay numbers
        finite = np.all(np.isfinite(y), axis=1)
        fill = y[finite].max(axis=0) + 1.0 if finite.any() else np.zeros(self.m)
        y_safe = np.where(finite[:, None], y, fill)
        rank = constrained_sort(y_safe, np.where(np.isfinite(v), v, 1e308))
        chosen: list[int] = []
        keys: list[tuple[float, float]] = []
        for r in range(int(rank.max()) + 1):
            front = np.flatnonzero(rank == r)
            crowd = crowding_distance(y_safe[front]) if len(front) else np.zeros(0)
            order = np.argsort(-crowd, kind="stable")
            room = self.population_size - len(chosen)
            for j in order[:room]:
                chosen.append(int(front[j]))
                keys.append((float(r), -float(crowd[j])))
            if len(chosen) >= self.population_size:
                break
        self._parents = (np.array(chosen, dtype=int), np.array(keys, dtype=float))
        return self._parents

    def _tournament(self, rng: np.random.Generator, keys: np.ndarray) -> int:
        a, b = rng.integers(len(keys), size=2)
        ka, kb = tuple(keys[a]), tuple(keys[b])
        return int(a if ka <= kb else b)

    # ---------------------------------------------------------------- proposals
    def ask(self, index: int, n_pending: int = 0) -> np.ndarray:
        """Proposal number ``index`` of the study (told + pending before it), given ``n_pending``
        points still being evaluated."""
        rng = np.random.default_rng(None if self.seed is None else [self.seed, index])
        d = len(self.dims)
        if self.n_told + n_pending < self.population_size or self.n_told < 2:
            return rng.random(d)
        idx, keys = self.survivors()
        p1 = self._x[idx[self._tournament(rng, keys)]]
        p2 = self._x[idx[self._tournament(rng, keys)]]
        child = self._crossover(rng, p1, p2)
        return np.clip(self._mutate(rng, child), 0.0, 1.0)

    def _crossover(self, rng: np.random.Generator, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
        child = p1.copy()
        if rng.random() >= self.crossover_prob:
            return child
        for k in range(len(child)):
            if self._categorical[k]:
                if rng.random() < 0.5:
                    child[k] = p2[k]
                continue
            if rng.random() >= 0.5 or abs(p1[k] - p2[k]) < 1e-14:
                continue
            lo, hi = min(p1[k], p2[k]), max(p1[k], p2[k])
            u = rng.random()
            # SBX with bounds [0, 1] (Deb & Agrawal's bounded form)
            beta = 1.0 + 2.0 * lo / (hi - lo)
            alpha = 2.0 - beta ** -(self.eta_c + 1.0)
            bq = _sbx_beta(u, alpha, self.eta_c)
            c1 = 0.5 * ((lo + hi) - bq * (hi - lo))
            beta = 1.0 + 2.0 * (1.0 - hi) / (hi - lo)
            alpha = 2.0 - beta ** -(self.eta_c + 1.0)
            bq = _sbx_beta(u, alpha, self.eta_c)
            c2 = 0.5 * ((lo + hi) + bq * (hi - lo))
            child[k] = c1 if rng.random() < 0.5 else c2
        return child

    def _mutate(self, rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
        for k in range(len(x)):
            if rng.random() >= self.mutation_prob:
                continue
            if self._categorical[k]:
                x[k] = rng.random()
                continue
            u = rng.random()
            y = x[k]
            e = self.eta_m + 1.0
            if u < 0.5:
                xy = 1.0 - y
                val = 2.0 * u + (1.0 - 2.0 * u) * xy**e
                delta = val ** (1.0 / e) - 1.0
            else:
                xy = y
                val = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * xy**e
                delta = 1.0 - val ** (1.0 / e)
            x[k] = y + delta
        return x


def _sbx_beta(u: float, alpha: float, eta: float) -> float:
    if u <= 1.0 / alpha:
        return float((u * alpha) ** (1.0 / (eta + 1.0)))
    return float((1.0 / (2.0 - u * alpha)) ** (1.0 / (eta + 1.0)))
