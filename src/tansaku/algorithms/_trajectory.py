"""Trajectory cores: a deterministic search *machine* driven through a cache of evaluated points.

Nelder-Mead, coordinate search and multiple one-axis search share one shape: a state machine that
says which points it needs next (``needs()``), and moves on once it is given their values
(``advance(values)``).  :class:`TrajectoryCore` turns such a machine into an ask/tell core:

* **Cache.**  Every told point is stored by its key (the snapped point, see :func:`point_key`); the
  first value told for a key wins.  The machine advances as soon as every point it needs is in the
  cache, so a point evaluated earlier, out of order, speculatively or by the user costs nothing,
  and repeated points on discrete grids are never evaluated twice.
* **Determinism.**  The path of the machine (the *trajectory*) depends only on the seed and on the
  cached values of the points it asked for, never on timing.  Hence a parallel run follows exactly
  the same trajectory as a sequential one (just sooner), and a fresh core told the same points
  continues the same run: resume by replay.  Every random choice of a machine is drawn from a
  generator seeded by ``(seed, purpose, counter)`` where the counter is part of the trajectory.
* **Box.**  A needed point outside ``[0, 1]^d`` is given ``+inf`` without being evaluated (the
  machine sees it as worse than everything, e.g. a Nelder-Mead reflection out of the box leads to a
  contraction).  Points inside are snapped to what they decode to before lookup/evaluation.
* **Handles.**  ``ask()`` returns the snapped point; ``tell(x, y)`` matches it by value (coordinates
  rounded to ``2**-44``), so results may come back in any order and no id is needed.  A sampler
  keeps the exact array (e.g. in trial metadata) and passes it back.
* **Speculation.**  When every point the machine needs is already under evaluation and a worker is
  free, the core fits a small surrogate to the results nearest to the machine's position,
  simulates many continuations of the machine with values drawn from it, and hands out the point
  most often needed soon (predictive parallel evaluation, Ozaki, Watanabe & Onishi 2019; see
  :mod:`tansaku.algorithms._predictive`); with many workers a machine that has ``thresholds()``
  (Nelder-Mead) is planned as a best-first tree of its futures instead, deterministic and
  cheaper (:class:`Speculation`).  With one worker this never happens, so a sequential
  run is exactly the classic algorithm.  The ranking is drawn from a generator seeded by
  ``(seed, number of points told)``, so parallel runs and their replays are reproducible too.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tansaku.algorithms._predictive import plan_needs, rank_needs
from tansaku.algorithms._refine import refine_point
from tansaku.algorithms._surrogate import SimpleGP, Surrogate
from tansaku.algorithms._types import Dim

__all__ = ["Machine", "Speculation", "TrajectoryCore", "as_dims", "default_snap", "point_key"]

_EPS = 1e-12
_KEY_SCALE = float(2**44)
Snap = Callable[[np.ndarray], np.ndarray]


class Machine(Protocol):
    """A deterministic search procedure over the unit cube (minimising)."""

    def needs(self) -> list[np.ndarray]:
        """Points whose values are needed to move on (never empty; stable until ``advance``)."""
        ...

    def advance(self, values: Sequence[float]) -> None:
        """Values (``+inf`` = failed or out of the box) of the points of the last ``needs()``."""

    def clone(self) -> Machine:
        """An independent copy (for simulating continuations)."""
        ...


def point_key(x: np.ndarray) -> bytes:
    """Identity of a point: coordinates rounded to ``2**-44`` (robust to JSON/transform round trips)."""
    return np.rint(np.asarray(x, dtype=float) * _KEY_SCALE).astype(np.int64).tobytes()


def as_dims(dims: Sequence[Dim] | int) -> list[Dim]:
    if isinstance(dims, (int, np.integer)) and not isinstance(dims, bool):
        if dims < 1:
            raise ValueError(f"dims must be >= 1, got {dims}")
        return [Dim("continuous")] * int(dims)
    out = list(dims)  # type: ignore[arg-type]
    if not out or not all(isinstance(d, Dim) for d in out):
        raise ValueError("dims must be a positive int or a non-empty sequence of Dim")
    return out


def default_snap(dims: Sequence[Dim]) -> Snap:
    """Snap discrete/categorical coordinates to their bin centre ``(k + 0.5) / levels``."""
    idx = [i for i, d in enumerate(dims) if d.kind != "continuous"]
    levels = np.array([dims[i].levels for i in idx], dtype=float)

    def snap(u: np.ndarray) -> np.ndarray:
        out = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if idx:
            k = np.minimum(np.floor(out[idx] * levels), levels - 1)
            out[idx] = (k + 0.5) / levels
        return out

    return snap


def entropy_of(seed: int | None) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
    return int(seed)


@dataclass(frozen=True)
class Speculation:
    """How idle workers are kept busy (predictive parallel evaluation, see
    :mod:`tansaku.algorithms._predictive`).

    ``n_simulations`` continuations are simulated from the machine's current state, each until it
    has drawn ``horizon`` unknown values (default ``2 * n_workers + 2``, at most
    ``MAX_HORIZON``, so the work per ranking is bounded however many workers); a point needed as the
    ``j``-th unknown of a continuation scores ``decay ** j``, and free workers get the
    highest-scoring points.  The surrogate (default :class:`SimpleGP`) is fitted to the
    ``model_points`` told points nearest to the machine, on the losses and/or their ranks
    (``warp``: ``"none"``, ``"rank"`` or ``"both"``); with ``joint=True`` and a surrogate that has
    ``joint(x)``, values along one continuation are drawn jointly.

    From ``tree_workers`` workers on (default 8), a machine with ``thresholds()`` (Nelder-Mead) is
    planned as a tree of its futures instead (:func:`tansaku.algorithms._predictive.plan_needs`):
    the ``2 * n_workers + d + 1`` points (at most ``MAX_PLANNED``) likeliest to be needed, which
    is cheaper and spreads many workers over several levels of look-ahead.

    In tree mode with ``refine`` (default), a free worker whose best tree point is less likely
    than ``refine_below`` (default 0.8 below 32 workers, 0.5 from 32 on: measured on hartmann6,
    benchmarks/RESULTS.md) to be needed gets a model-guided point near the incumbent instead
    (:func:`tansaku.algorithms._refine.refine_point`, role ``"model"``), drawn from a generator
    seeded by the told count and the number of points in flight.

    One ranking serves every idle worker until the machine moves or ``max(1, n_workers // 8)``
    (tree: ``max(1, n_workers // 32)``) more values are told (with many workers a ranking per tell
    would cost a fit and all the simulations per proposal).  The ranking then uses only the told values up to that boundary,
    so it depends on the told sequence alone and resume by replay stays exact.
    """

    n_simulations: int = 64
    horizon: int | None = None
    decay: float = 0.5
    model_points: int = 40
    joint: bool = True
    warp: str = "none"
    surrogate: Surrogate | None = None
    tree_workers: int = 8
    refine: bool = True
    refine_below: float | None = None

    def __post_init__(self) -> None:
        if self.n_simulations < 1 or self.model_points < 2 or not 0 < self.decay <= 1:
            raise ValueError("need n_simulations >= 1, model_points >= 2 and 0 < decay <= 1")
        if self.warp not in ("none", "rank", "both"):
            raise ValueError(f"warp must be none, rank or both, got {self.warp!r}")
        if self.horizon is not None and self.horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {self.horizon!r}")
        if self.refine_below is not None and not 0 <= self.refine_below <= 1:
            raise ValueError(f"refine_below must be in [0, 1], got {self.refine_below!r}")


MAX_HORIZON = 40
MAX_PLANNED = 512  # points one tree ranking returns at most


class TrajectoryCore(ABC):
    """Ask/tell core around a :class:`Machine` (see the module docstring for the contract).

    Subclasses implement :meth:`_make_machine`.  Points told before the first ``ask`` (or before
    :meth:`start`) that the core did not hand out are *prior* points: the machine may use them
    (e.g. as initial simplex vertices).  ``n_workers`` is a hint sizing the speculation; with
    ``predictive=False`` a free worker with nothing needed gets a uniform random point instead.
    """

    max_revisits = 20_000  # machine steps in a row without a new point -> the machine is spent

    def __init__(
        self,
        dims: Sequence[Dim] | int,
        *,
        seed: int | None = None,
        snap: Snap | None = None,
        n_workers: int = 1,
        predictive: bool = True,
        speculation: Speculation | None = None,
    ) -> None:
        self.dims = as_dims(dims)
        self.d = len(self.dims)
        self.entropy = entropy_of(seed)
        self.snap = snap if snap is not None else default_snap(self.dims)
        if n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers!r}")
        self.n_workers = int(n_workers)
        self.predictive = bool(predictive)
        spec = speculation if speculation is not None else Speculation()
        self.speculation = spec
        self.horizon = (spec.horizon if spec.horizon is not None
                        else min(2 * self.n_workers + 2, MAX_HORIZON))
        #: rank by a tree of futures (see :class:`Speculation`) instead of random continuations
        self.tree = False
        self._refresh = max(1, self.n_workers // 8)  # told values per ranking
        #: tree points less likely than this to be needed give way to model points
        self.refine_below = (spec.refine_below if spec.refine_below is not None
                             else 0.8 if self.n_workers < 32 else 0.5)
        self._steps = 0  # machine advances so far
        self._known_at_step = 0  # values told when the machine last advanced
        self.model_points = spec.model_points
        self.surrogate: Surrogate = spec.surrogate if spec.surrogate is not None else SimpleGP()
        self._cache: dict[bytes, float] = {}
        self._points: dict[bytes, np.ndarray] = {}
        self._told: list[bytes] = []
        self._prior: list[tuple[np.ndarray, float]] = []
        self._outstanding: dict[bytes, np.ndarray] = {}
        self._role: dict[bytes, str] = {}
        self._consumed: set[bytes] = set()
        self.trajectory: list[tuple[np.ndarray, float]] = []
        self.machine: Machine | None = None
        self.exhausted = False
        self._revisits = 0
        self._spec_epoch: tuple[int, int] = (-1, -1)
        self._resolved: dict[bytes, tuple[bytes, np.ndarray] | None] = {}  # raw point -> resolved
        self._spec: list[tuple[bytes, np.ndarray]] = []
        self._spec_score: dict[bytes, float] = {}  # tree rankings: probability of being needed
        self.last_role = ""
        self.n_hits = 0
        self.n_asked = {"needed": 0, "speculative": 0, "model": 0, "random": 0}
        self.best_x: np.ndarray | None = None
        self.best_y = math.inf
        #: the representative of the points that decode to the same parameters (a conditional
        #: space's inactive coordinates at a constant, set by the sampler): points alike under
        #: it share one cache entry, so a move along an inactive axis is never evaluated again
        self.same: Callable[[np.ndarray], np.ndarray] | None = None

    def _key(self, x: np.ndarray) -> bytes:
        return point_key(x if self.same is None else self.same(x))

    # -- subclass hook ------------------------------------------------------------------------
    @abstractmethod
    def _make_machine(self, prior: list[tuple[np.ndarray, float]]) -> Machine:
        """Build the machine; ``prior`` are the (point, value) pairs told before the start."""

    def _fallback(self, rng: np.random.Generator) -> np.ndarray | None:
        """A point to hand out when nothing else is useful (default: a fresh uniform point)."""
        for _ in range(64):
            q = self.snap(rng.random(self.d))
            key = self._key(q)
            if key not in self._cache and key not in self._outstanding:
                return q
        return None

    # -- public API ---------------------------------------------------------------------------
    def start(self) -> None:
        """Build the machine now (``ask`` does it on first use); later tells are not prior."""
        if self.machine is None:
            self.machine = self._make_machine(list(self._prior))
            self.tree = (self.n_workers >= self.speculation.tree_workers
                         and hasattr(self.machine, "thresholds"))
            if self.tree:
                self._refresh = max(1, self.n_workers // 32)
            self._advance()

    def ask(self) -> np.ndarray | None:
        """The next point to evaluate (a copy; pass it back to :meth:`tell`), or None if spent."""
        self.start()
        assert self.machine is not None
        if not self.exhausted:
            for p in self.machine.needs():
                r = self.resolve(p)
                if r is not None and r[0] not in self._cache and r[0] not in self._outstanding:
                    return self._hand_out(r[0], r[1], "needed")
            if self.predictive:
                refine = self.tree and self.speculation.refine
                for key, q in self._speculation():
                    if refine and self._spec_score.get(key, 1.0) < self.refine_below:
                        break  # the rest are unlikely to be needed: a model point is worth more
                    if key not in self._cache and key not in self._outstanding:
                        return self._hand_out(key, q, "speculative")
                if refine:
                    q = self._refine()
                    if q is not None:
                        return self._hand_out(self._key(q), q, "model")
        rng = np.random.default_rng([self.entropy, 2, len(self._told), len(self._outstanding)])
        filler = self._fallback(rng)
        return None if filler is None else self._hand_out(self._key(filler), filler, "random")

    def tell(self, x: Sequence[float] | np.ndarray, y: float) -> None:
        """Record the loss ``y`` at ``x`` (``nan``/``inf``: failed, treated as worst)."""
        x = np.array(x, dtype=float).ravel()
        if x.shape != (self.d,):
            raise ValueError(f"expected a point with {self.d} coordinates, got shape {x.shape}")
        y = float(y)
        if math.isnan(y):
            y = math.inf
        key = self._key(x)
        self._outstanding.pop(key, None)
        if key in self._cache:
            return
        self._cache[key] = y
        self._points[key] = x
        self._told.append(key)
        if y < self.best_y:
            self.best_x, self.best_y = x.copy(), y
        if self.machine is None:
            self._prior.append((x, y))
        else:
            self._advance()

    def set_pending(self, points: Sequence[Sequence[float] | np.ndarray]) -> None:
        """Declare exactly which points are under evaluation now (replaces own book-keeping)."""
        out: dict[bytes, np.ndarray] = {}
        for p in points:
            arr = np.array(p, dtype=float).ravel()
            out[self._key(arr)] = arr
        self._outstanding = out

    @property
    def pending(self) -> list[np.ndarray]:
        return [p.copy() for p in self._outstanding.values()]

    @property
    def cache(self) -> dict[bytes, float]:
        """Every told value by point key (read-only use)."""
        return self._cache

    def known(self, n_known: int | None = None) -> dict[bytes, float]:
        """The first ``n_known`` told values by point key (default: all, the live cache)."""
        if n_known is None or n_known >= len(self._told):
            return self._cache
        return {k: self._cache[k] for k in self._told[:n_known]}

    @property
    def n_told(self) -> int:
        return len(self._told)

    def stats(self) -> dict[str, int]:
        """Counters: trajectory length, cache hits (needed points evaluated ahead), asks by role."""
        return {"trajectory": len(self.trajectory), "hits": self.n_hits, "told": len(self._told),
                **{f"asked_{k}": v for k, v in self.n_asked.items()}}

    # -- internals ----------------------------------------------------------------------------
    def resolve(self, p: np.ndarray) -> tuple[bytes, np.ndarray] | None:
        """Key and snapped point for a needed point; None when it lies outside the box."""
        raw = p.tobytes()
        if raw in self._resolved:
            return self._resolved[raw]
        lo, hi = float(p.min()), float(p.max())
        if lo < -_EPS or hi > 1.0 + _EPS:
            out = None
        else:
            q = self.snap(np.clip(p, 0.0, 1.0) if lo < 0.0 or hi > 1.0 else p.copy())
            out = (self._key(q), q)
        if len(self._resolved) > 50_000:
            self._resolved.clear()
        self._resolved[raw] = out
        return out

    def _hand_out(self, key: bytes, q: np.ndarray, role: str) -> np.ndarray:
        self._outstanding[key] = q
        self._role.setdefault(key, role)
        self.n_asked[role] += 1
        self.last_role = role
        return q.copy()

    def _advance(self) -> None:
        """Move the machine on while every point it needs is known."""
        machine = self.machine
        while machine is not None and not self.exhausted:
            if getattr(machine, "finished", False):  # e.g. a grid search that has seen every point
                self.exhausted = True
                return
            resolved = [self.resolve(p) for p in machine.needs()]
            values: list[float] = []
            for r in resolved:
                if r is None:
                    values.append(math.inf)
                elif r[0] in self._cache:
                    values.append(self._cache[r[0]])
                else:
                    return
            new = False
            for r, v in zip(resolved, values):
                if r is not None and r[0] not in self._consumed:
                    self._consumed.add(r[0])
                    self.trajectory.append((r[1], v))
                    new = True
                    if self._role.get(r[0]) in ("speculative", "random"):
                        self.n_hits += 1
            machine.advance(values)
            self._steps += 1
            self._known_at_step = len(self._told)
            self._revisits = 0 if new else self._revisits + 1
            if self._revisits > self.max_revisits:
                self.exhausted = True

    def model_data(self, n_known: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``model_points`` told points nearest to where the machine is now (a local model
        resolves the small value differences that decide the next moves), among the first
        ``n_known`` told (default: all)."""
        assert self.machine is not None
        told = self._told if n_known is None else self._told[:n_known]
        x = np.array([self._points[k] for k in told])
        y = np.array([self._cache[k] for k in told])
        if len(x) > self.model_points:
            focus = np.mean(self.machine.needs(), axis=0)
            near = np.argsort(np.sum((x - focus) ** 2, axis=1), kind="stable")[: self.model_points]
            x, y = x[near], y[near]
        return x, y

    def _refine(self) -> np.ndarray | None:
        """A model-guided point near the best told one (:func:`tansaku.algorithms._refine.
        refine_point`), drawn from a generator seeded by the told count and the points in
        flight; None when it is already told or in flight (then a random filler follows)."""
        if len(self._told) < 2:
            return None
        x = np.array([self._points[k] for k in self._told])
        y = np.array([self._cache[k] for k in self._told])
        pending = [self._outstanding[k] for k in sorted(self._outstanding)]
        rng = np.random.default_rng([self.entropy, 3, len(self._told), len(self._outstanding)])
        q = refine_point(x, y, pending, rng, snap=self.snap, n_model=self.model_points)
        if q is None:
            return None
        key = self._key(q)
        return None if key in self._cache or key in self._outstanding else q

    def _speculation(self) -> list[tuple[bytes, np.ndarray]]:
        """Points ranked by how often (and how soon) simulated continuations need them (one
        ranking per epoch, see :class:`Speculation`)."""
        epoch = (self._steps, len(self._told) // self._refresh)
        if self._spec_epoch != epoch:
            self._spec_epoch = epoch
            # what is known at the epoch's start, not at the first ask inside it
            n_known = max(epoch[1] * self._refresh, self._known_at_step)
            if self.tree:
                budget = min(2 * self.n_workers + self.d + 1, MAX_PLANNED)
                self._spec = plan_needs(self, budget, n_known=n_known, scores=self._spec_score)
            else:
                rng = np.random.default_rng([self.entropy, 1, n_known])
                self._spec = rank_needs(self, rng, n_known=n_known)
        return self._spec
