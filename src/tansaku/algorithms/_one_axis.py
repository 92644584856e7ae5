"""Multiple one-axis search for discrete grids (auto-tuning style).

The grid is the product of each dimension's levels (``Dim.levels`` for discrete and categorical
dimensions; ``levels`` evenly spaced values, bounds included, for continuous ones; 11 by default).
From the incumbent, the search walks the *line* through it along one direction:

1. the levels already known on the line (from any earlier step) are smoothed with a discrete
   smoothing spline (:mod:`tansaku.algorithms._smoothing`); with fewer than 3 known levels the
   line is explored maximin (the level farthest from the known ones);
2. the next points are the unknown levels with the lowest optimistic score
   ``s(t) - explore * sigma * min(1, 4 * dist(t) / n)`` (smoothed value minus a bonus for distance to
   known levels, ``sigma`` the spread of the line's values), ``batch`` of them at a time (one per
   worker), as long as that score is below the best value on the line;
3. then the next direction.  Categorical axes are unordered: every choice is tried.

Directions start as the coordinate axes.  When a whole cycle of directions brings no improvement,
pairwise diagonals (``e_i + e_j`` and ``e_i - e_j`` over ordered axes) are added; when a cycle
with them brings none either, the search restarts from a random unknown grid point (directions
reset, everything learnt kept), so a long budget is never wasted.  When every grid point is known
the core stops proposing (``ask`` returns None).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tansaku.algorithms._smoothing import smooth_levels
from tansaku.algorithms._trajectory import Speculation, TrajectoryCore
from tansaku.algorithms._types import Dim

__all__ = ["OneAxisSearch", "grid_axes"]


def grid_axes(dims: Sequence[Dim], levels: int = 11) -> list[np.ndarray]:
    """Unit coordinates of every level of each dimension (discrete: bin centres)."""
    out = []
    for d in dims:
        if d.kind == "continuous":
            out.append(np.linspace(0.0, 1.0, levels))
        else:
            n = int(d.levels or 1)
            out.append((np.arange(n) + 0.5) / n)
    return out


class _OneAxisMachine:
    def __init__(self, core: OneAxisSearch, prior: list[tuple[np.ndarray, float]]) -> None:
        self.axes = core.axes
        self.sizes = [len(a) for a in self.axes]
        self.ordered = [d.kind != "categorical" for d in core.dims]
        self.total = math.prod(self.sizes)
        self.batch = core.batch
        self.explore = float(core.options["explore"])
        self.entropy = core.entropy
        self.known: dict[tuple[int, ...], float] = {}
        self.best_z: tuple[int, ...] = ()
        self.best_f = math.inf
        self.run = 0
        self.finished = False
        start: tuple[int, ...] | None = None
        finite = [p for p in prior if math.isfinite(p[1])]
        if finite:
            start = self._index(min(finite, key=lambda p: p[1])[0])
        elif core.options["init"] == "center":
            start = tuple(n // 2 for n in self.sizes)
        self._begin(start)

    # -- machine protocol ------------------------------------------------------------------------
    def needs(self) -> list[np.ndarray]:
        return [self._unit(z) for z in self.request]

    def advance(self, values: Sequence[float]) -> None:
        for z, v in zip(self.request, values):
            self.known[z] = float(v)
            if v < self.best_f:
                self.best_z, self.best_f = z, float(v)
                self.improved = True
        self._plan()

    def clone(self) -> _OneAxisMachine:
        new = copy.copy(self)
        new.known = dict(self.known)
        return new

    # -- search ----------------------------------------------------------------------------------
    def _unit(self, z: tuple[int, ...]) -> np.ndarray:
        return np.array([a[i] for a, i in zip(self.axes, z)])

    def _index(self, u: np.ndarray) -> tuple[int, ...]:
        return tuple(int(np.argmin(np.abs(a - x))) for a, x in zip(self.axes, u))

    def _begin(self, start: tuple[int, ...] | None) -> None:
        if start is None:
            start = self._random_unknown()
        self.best_z = start
        self.best_f = self.known.get(start, math.inf)
        ordered = [i for i in range(len(self.sizes)) if self.sizes[i] > 1]
        self.directions = [tuple(int(i == j) for j in range(len(self.sizes))) for i in ordered]
        self.diagonals = False
        self.dir = 0
        self.improved = False
        self.request: list[tuple[int, ...]] = [start]

    def _random_unknown(self) -> tuple[int, ...]:
        rng = np.random.default_rng([self.entropy, 0, self.run])
        for _ in range(200):
            z = tuple(int(rng.integers(n)) for n in self.sizes)
            if z not in self.known:
                return z
        for flat in range(self.total):  # small grids nearly full: scan
            z = tuple(int(i) for i in np.unravel_index(flat, self.sizes))
            if z not in self.known:
                return z
        return tuple(int(rng.integers(n)) for n in self.sizes)

    def _line(self, v: tuple[int, ...]) -> list[tuple[int, ...]]:
        z = self.best_z
        moving = [i for i in range(len(v)) if v[i]]  # entries of v are -1, 0 or 1
        lo = max(-z[i] if v[i] > 0 else z[i] - self.sizes[i] + 1 for i in moving)
        hi = min(self.sizes[i] - 1 - z[i] if v[i] > 0 else z[i] for i in moving)
        return [tuple(z[i] + t * v[i] for i in range(len(v))) for t in range(lo, hi + 1)]

    def _choose(self, v: tuple[int, ...]) -> list[tuple[int, ...]]:
        """Up to ``batch`` promising unknown points on the line through the incumbent along v."""
        line = self._line(v)
        n = len(line)
        pos = [t for t, z in enumerate(line) if z in self.known]
        unknown = [t for t in range(n) if line[t] not in self.known]
        if not unknown:
            return []
        axis = v.index(1) if sum(abs(c) for c in v) == 1 else -1
        if axis >= 0 and not self.ordered[axis]:
            return [line[t] for t in unknown[: self.batch]]  # unordered: try every choice
        picked: list[int] = []
        ys = [self.known[line[t]] for t in pos]
        finite = [y for y in ys if math.isfinite(y)]
        best = min(finite) if finite else math.inf
        levels = np.arange(n)
        dist = np.min(np.abs(levels[:, None] - np.array(pos)[None, :]), axis=1).astype(float)
        smooth = smooth_levels(n, pos, ys) if len(pos) >= 3 else None
        sigma = float(np.std(finite)) if len(finite) > 1 else 1.0
        free = np.zeros(n, dtype=bool)
        free[unknown] = True
        while len(picked) < self.batch and free.any():
            if smooth is None:  # too little to smooth: maximin exploration
                t = int(np.argmax(np.where(free, dist, -1.0)))
            else:
                score = smooth - self.explore * sigma * np.minimum(1.0, 4.0 * dist / n)
                score = np.where(free & (score < best), score, np.inf)
                t = int(np.argmin(score))
                if not math.isfinite(score[t]):
                    break
            picked.append(t)
            free[t] = False
            dist = np.minimum(dist, np.abs(levels - t))
        return [line[t] for t in picked]

    def _plan(self) -> None:
        """Pick the next request, moving over directions, diagonals and restarts as needed."""
        if len(self.known) >= self.total:
            self.finished = True
            self.request = [self.best_z]
            return
        if self.best_z not in self.known:
            self.request = [self.best_z]
            return
        while True:  # ends: at most three full cycles without a point (plain, diagonals, restart)
            chosen = self._choose(self.directions[self.dir])
            if chosen:
                self.request = chosen
                return
            self.dir += 1
            if self.dir < len(self.directions):
                continue
            self.dir = 0
            if self.improved:
                self.improved = False
            elif not self.diagonals and len(self.directions) > 1:
                self.diagonals = True
                axes = [int(np.argmax(v)) for v in self.directions]
                ordered = [i for i in axes if self.ordered[i]]
                for a, i in enumerate(ordered):
                    for j in ordered[a + 1:]:
                        for sj in (1, -1):
                            self.directions.append(tuple(
                                1 if k == i else sj if k == j else 0 for k in range(len(self.sizes))))
            else:
                break
        self.run += 1
        self._begin(None)


class OneAxisSearch(TrajectoryCore):
    """Multiple one-axis search core over a grid; ``ask() -> point`` (a grid point of the unit cube)
    or None when the grid is exhausted; ``tell(point, loss)``.

    Options: ``batch`` (points per step, default ``n_workers``), ``levels`` (grid size of continuous
    dimensions, default 11), ``max_levels`` (longer axes are thinned to this many evenly spaced
    levels, default 64), ``axes`` (explicit unit coordinates of each dimension's levels, e.g.
    from a search space's transform; overrides ``levels``), ``explore`` (weight of the distance
    bonus, default 1.0), ``init`` ("center" or "random").
    """

    def __init__(
        self,
        dims: Sequence[Dim] | int,
        *,
        seed: int | None = None,
        batch: int | None = None,
        levels: int = 11,
        max_levels: int = 64,
        axes: Sequence[Sequence[float] | np.ndarray] | None = None,
        explore: float = 1.0,
        init: str = "center",
        n_workers: int = 1,
        predictive: bool = True,
        speculation: Speculation | None = None,
    ) -> None:
        super().__init__(dims, seed=seed, n_workers=n_workers, predictive=predictive,
                         speculation=speculation or Speculation(n_simulations=16))
        if levels < 2:
            raise ValueError(f"levels must be >= 2, got {levels!r}")
        if not explore >= 0:
            raise ValueError(f"explore must be >= 0, got {explore!r}")
        if init not in ("center", "random"):
            raise ValueError(f"init must be center or random, got {init!r}")
        self.batch = int(batch) if batch is not None else self.n_workers
        if self.batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch!r}")
        if max_levels < 2:
            raise ValueError(f"max_levels must be >= 2, got {max_levels!r}")
        if axes is not None:
            if len(axes) != self.d or any(len(a) < 1 for a in axes):
                raise ValueError(f"axes must give the levels of {self.d} dimensions")
            full = [np.asarray(sorted(float(v) for v in a)) for a in axes]
        else:
            full = grid_axes(self.dims, levels)
        # long axes (e.g. an int in [1, 10000]) are thinned to max_levels evenly spaced levels
        self.axes = [a if len(a) <= max_levels
                     else a[np.unique(np.round(np.linspace(0, len(a) - 1, max_levels)).astype(int))]
                     for a in full]
        self.options: dict[str, Any] = {"levels": int(levels), "max_levels": int(max_levels),
                        "explore": float(explore), "init": init}
        self.snap = self._snap_to_grid

    def _snap_to_grid(self, u: np.ndarray) -> np.ndarray:
        return np.array([a[int(np.argmin(np.abs(a - x)))] for a, x in zip(self.axes, u)])

    def _make_machine(self, prior: list[tuple[np.ndarray, float]]) -> _OneAxisMachine:
        return _OneAxisMachine(self, prior)

    def _fallback(self, rng: np.random.Generator) -> np.ndarray | None:
        m = self.machine
        if isinstance(m, _OneAxisMachine) and m.finished:
            return None
        return super()._fallback(rng)

    @property
    def restarts(self) -> int:
        m = self.machine
        return m.run if isinstance(m, _OneAxisMachine) else 0
