"""Nelder-Mead over ``[0, 1]^d`` for hyperparameter optimisation, with restarts and predictive
parallel evaluation.

The method of Ozaki, Yano & Onishi (2017): the classic simplex moves with reflection 1, expansion 2,
outside contraction 0.5, inside contraction -0.5 and shrink 0.5.  For an iteration with vertices
sorted ``f_1 <= ... <= f_{n+1}`` and centroid ``c`` of the best ``n``, the trial points are
``x(t) = c + t (c - x_{n+1})``:

* reflect (t=1): accept if ``f_1 <= f_r < f_n``; expand (t=2) if ``f_r < f_1`` and keep the better
  of ``x_e``/``x_r``; outside contraction (t=0.5) if ``f_n <= f_r < f_{n+1}``, accepted if
  ``f_oc <= f_r``; inside contraction (t=-0.5) if ``f_r >= f_{n+1}``, accepted if
  ``f_ic < f_{n+1}``; otherwise shrink every vertex halfway towards the best one.

Choices for hyperparameter optimisation (documented here because they change results):

* **Box.**  ``boundary="penalty"`` (default): a trial point outside the cube gets ``+inf`` *without
  being evaluated*, so the simplex contracts instead (an out-of-box reflection leads to an inside
  contraction, which is always inside).  No evaluation is wasted and the geometry stays exact.
  ``boundary="clip"`` projects trial points onto the box instead (can flatten the simplex).
* **Discrete dimensions.**  The simplex moves in the continuous cube; a point is evaluated where it
  decodes (its snapped point) and a repeated snapped point is served from the cache for free.
* **Failures** (``y = inf/nan``) are worst; an all-failed simplex restarts.
* **Restarts** when the simplex collapses: its diameter (max-norm, relative to the cube) falls
  below ``xtol``, or the spread of its values below ``ftol`` (relative), or its best value has not
  improved for ``stall`` iterations.  ``restart="random"`` (default) starts a regular rotated
  simplex of circumradius ``restart_size`` (0.4) centred at a uniform random point (vertices
  mirrored into the box); ``"best"`` builds it with the best point found as a vertex (its value
  is reused); ``"auto"`` alternates best, random, best, ...  On multimodal functions (Styblinski-Tang,
  Ackley) random restarts found the global basin more often than restarts at the best point.
* **Initial simplex**: ``init="regular"`` (default: regular simplex, randomly rotated, centred in
  the cube, scaled by ``init_size``; in our benchmarks it beat the others clearly on Hartmann6 and
  Rosenbrock-10D), ``"lhs"`` (Latin hypercube) or ``"random"`` (uniform).  Points told
  before the first ask become vertices first (e.g. user-enqueued trials), best first.

Parallel runs: see :mod:`tansaku.algorithms._trajectory`; the initial simplex and shrinks hand out
all their points at once, and other free workers evaluate the points that simulated continuations
(on a small GP) most often need; from 8 workers on, the points of the likeliest branches of the
tree of the simplex's futures (``_NMMachine.thresholds`` says where each move's outcome changes;
see :func:`tansaku.algorithms._predictive.plan_needs`).  The real simplex path is the same as in
a sequential run.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tansaku.algorithms import _simplex
from tansaku.algorithms._trajectory import Snap, Speculation, TrajectoryCore
from tansaku.algorithms._types import Dim

__all__ = ["NelderMead"]

INITS = ("regular", "lhs", "random")
RESTARTS = ("random", "best", "auto")
BOUNDARIES = ("penalty", "clip")

REFLECT, EXPAND, OUTSIDE, INSIDE, SHRINK = 1.0, 2.0, 0.5, -0.5, 0.5


class _NMMachine:
    """The Nelder-Mead state machine (see :class:`tansaku.algorithms._trajectory.Machine`).

    Vertices live in fixed slots and the centroid is summed in slot order, so a simulated
    continuation that takes the same decisions computes bit-identical points.
    """

    def __init__(self, core: NelderMead, prior: list[tuple[np.ndarray, float]]) -> None:
        self.o = core.options
        self.d = core.d
        self.entropy = core.entropy
        self.run = 0
        self.iteration = 0
        self.best_x: np.ndarray | None = None
        self.best_f = math.inf
        self.run_best = math.inf
        self.run_best_iter = 0
        finite_first = sorted(prior, key=lambda p: (not math.isfinite(p[1]), p[1]))
        rng = self._rng()
        design = self._design(rng)
        self._set_simplex(_simplex.pick_vertices([p[0] for p in finite_first], self.d, rng,
                                                 fill=design))

    # -- machine protocol ----------------------------------------------------------------------
    def needs(self) -> list[np.ndarray]:
        if self.phase in ("init", "shrink"):
            return [self.V[i] for i in self.todo]
        return [self.cand]

    def advance(self, values: Sequence[float]) -> None:
        if self.phase in ("init", "shrink"):
            for i, v in zip(self.todo, values):
                self.F[i] = v
                self._seen(self.V[i], v)
            self._end_iteration()
            return
        f = float(values[0])
        self._seen(self.cand, f)
        b, s, w = self.order[0], self.order[-2], self.order[-1]
        if self.phase == "reflect":
            self.xr, self.fr = self.cand, f
            if f < self.F[b]:
                self._try("expand", EXPAND)
            elif f < self.F[s]:
                self._accept(w, self.xr, f)
            elif f < self.F[w]:
                self._try("outside", OUTSIDE)
            else:
                self._try("inside", INSIDE)
        elif self.phase == "expand":
            if f < self.fr:
                self._accept(w, self.cand, f)
            else:
                self._accept(w, self.xr, self.fr)
        elif self.phase == "outside":
            if f <= self.fr:
                self._accept(w, self.cand, f)
            else:
                self._shrink()
        elif f < self.F[w]:  # inside contraction
            self._accept(w, self.cand, f)
        else:
            self._shrink()

    def thresholds(self) -> list[float]:
        """Values at which the decision on the one point needed now changes (which move follows,
        and which vertex is the worst afterwards); used to plan many workers' speculation."""
        if self.phase in ("init", "shrink"):
            return []
        s, w = self.order[-2], self.order[-1]
        fb, fs, fw = self.F[self.order[0]], self.F[s], self.F[w]
        if self.phase == "reflect":
            return [fb, fs, fw]
        if self.phase == "expand":
            return [self.fr]
        if self.phase == "outside":
            return [fs, self.fr]
        return [fs, fw]  # inside contraction

    def clone(self) -> _NMMachine:
        new = copy.copy(self)
        new.V = self.V.copy()
        new.F = self.F.copy()
        new.todo = list(self.todo)
        return new

    # -- moves --------------------------------------------------------------------------------
    def _rng(self) -> np.random.Generator:
        return np.random.default_rng([self.entropy, 0, self.run])

    def _design(self, rng: np.random.Generator) -> np.ndarray:
        if self.o["init"] == "random":
            return _simplex.random_design(rng, self.d)
        if self.o["init"] == "regular":
            return _simplex.centred_regular(rng, self.d, self.o["init_size"])
        return _simplex.lhs_design(rng, self.d)

    def _set_simplex(self, verts: np.ndarray, known: dict[int, float] | None = None) -> None:
        self.V = np.array(verts, dtype=float)
        self.F = np.full(self.d + 1, math.nan)
        for i, v in (known or {}).items():
            self.F[i] = v
        self.todo = [i for i in range(self.d + 1) if math.isnan(self.F[i])]
        self.phase = "init"
        self.order = np.arange(self.d + 1)
        self.run_best = math.inf if not known else min(known.values())
        self.run_best_iter = self.iteration
        if not self.todo:
            self._end_iteration()

    def _seen(self, x: np.ndarray, f: float) -> None:
        if f < self.best_f:
            self.best_x, self.best_f = np.array(x, dtype=float), f
        if f < self.run_best:
            self.run_best, self.run_best_iter = f, self.iteration

    def _point(self, t: float) -> np.ndarray:
        w = self.order[-1]
        c = (self.V.sum(axis=0) - self.V[w]) / self.d
        x = c + t * (c - self.V[w])
        return np.clip(x, 0.0, 1.0) if self.o["boundary"] == "clip" else x

    def _try(self, phase: str, t: float) -> None:
        self.phase = phase
        self.cand = self._point(t)

    def _accept(self, slot: int, x: np.ndarray, f: float) -> None:
        self.V[slot] = x
        self.F[slot] = f
        self._end_iteration()

    def _shrink(self) -> None:
        b = self.order[0]
        self.todo = [i for i in range(self.d + 1) if i != b]
        for i in self.todo:
            self.V[i] = self.V[b] + SHRINK * (self.V[i] - self.V[b])
        self.phase = "shrink"

    def _end_iteration(self) -> None:
        self.iteration += 1
        self.order = np.argsort(self.F, kind="stable")
        if self._collapsed():
            self._restart()
            return
        self._try("reflect", REFLECT)

    def _collapsed(self) -> bool:
        fb, fw = self.F[self.order[0]], self.F[self.order[-1]]
        if not math.isfinite(fb) or self.iteration - self.run_best_iter > self.o["stall"]:
            return True
        if math.isfinite(fw) and fw - fb <= self.o["ftol"] * max(abs(fb), abs(fw)):
            return True
        return float(np.abs(self.V - self.V[self.order[0]]).max()) < self.o["xtol"]

    def _restart(self) -> None:
        self.run += 1
        rng = self._rng()
        policy = self.o["restart"]
        if policy == "auto":
            policy = "best" if self.run % 2 == 1 else "random"
        if policy == "best" and self.best_x is not None:
            verts = _simplex.around(rng, self.best_x, self.o["restart_size"])
            self._set_simplex(verts, known={0: self.best_f})
        else:
            centre = rng.random(self.d)
            self._set_simplex(_simplex.centred_at(rng, centre, self.o["restart_size"]))


class NelderMead(TrajectoryCore):
    """Nelder-Mead core: ``ask() -> point`` in ``[0, 1]^d``, ``tell(point, loss)``.

    ``ask`` returns the (snapped) point to evaluate; give it back to ``tell`` with its loss in any
    order.  Options (see the module docstring): ``init``, ``init_size``, ``restart``,
    ``restart_size``, ``boundary``, ``xtol``, ``ftol``, ``stall`` (default ``20 * (d + 1)``
    iterations); parallel: ``n_workers`` (hint), ``predictive``, ``speculation`` (see
    :class:`tansaku.algorithms._trajectory.Speculation`).  ``snap`` maps a unit point to what it decodes to (default: bin centres of the
    discrete ``dims``).
    """

    def __init__(
        self,
        dims: Sequence[Dim] | int,
        *,
        seed: int | None = None,
        init: str = "regular",
        init_size: float = 1.0,
        restart: str = "random",
        restart_size: float = 0.4,
        boundary: str = "penalty",
        xtol: float = 1e-4,
        ftol: float = 1e-8,
        stall: int | None = None,
        snap: Snap | None = None,
        n_workers: int = 1,
        predictive: bool = True,
        speculation: Speculation | None = None,
    ) -> None:
        super().__init__(dims, seed=seed, snap=snap, n_workers=n_workers, predictive=predictive,
                         speculation=speculation)
        for name, value, allowed in (("init", init, INITS), ("restart", restart, RESTARTS),
                                     ("boundary", boundary, BOUNDARIES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        for name, size in (("init_size", init_size), ("restart_size", restart_size)):
            if not 0 < size <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {size!r}")
        if not xtol >= 0 or not ftol >= 0:
            raise ValueError(f"xtol and ftol must be >= 0, got {xtol!r}, {ftol!r}")
        if stall is not None and stall < 1:
            raise ValueError(f"stall must be >= 1, got {stall!r}")
        self.options: dict[str, Any] = {
            "init": init, "init_size": float(init_size), "restart": restart,
            "restart_size": float(restart_size), "boundary": boundary, "xtol": float(xtol),
            "ftol": float(ftol), "stall": int(stall) if stall is not None else 20 * (self.d + 1),
        }

    def _make_machine(self, prior: list[tuple[np.ndarray, float]]) -> _NMMachine:
        return _NMMachine(self, prior)

    @property
    def restarts(self) -> int:
        """How many times the simplex has been rebuilt so far."""
        return 0 if self.machine is None else self.machine.run  # type: ignore[attr-defined]

    @property
    def simplex(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Current vertices and their values (``nan`` while unknown), or None before the start."""
        m = self.machine
        if not isinstance(m, _NMMachine):
            return None
        return m.V.copy(), m.F.copy()
