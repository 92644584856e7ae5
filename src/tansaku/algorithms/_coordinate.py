"""Coordinate search over ``[0, 1]^d``, the baseline compared with Nelder-Mead by Ozaki, Yano &
Onishi (2017).

From the incumbent ``x`` with step ``s``, the axes are polled in turn: try ``x + s e_i``; if it is
not better try ``x - s e_i``; move as soon as a trial is strictly better and go on with the next
axis from the new point.  When a full sweep over all axes brings no improvement the step is halved;
when it falls below ``xtol`` the search restarts from a uniform random point with the initial step,
so a long budget is never wasted (on discrete axes, steps shorter than a level snap back to the
incumbent and cost nothing).  The first start is the centre of the cube (``init="center"``) or a random
point (``init="random"``); a point told before the first ask (e.g. an enqueued trial) is used
instead, the best one if several.

Like every trajectory core (:mod:`tansaku.algorithms._trajectory`), trial points outside the box
get ``+inf`` without evaluation, failures are worst, repeated snapped points are free, and idle
workers evaluate the points that simulated continuations most often need.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tansaku.algorithms._trajectory import Snap, Speculation, TrajectoryCore
from tansaku.algorithms._types import Dim

__all__ = ["CoordinateSearch"]


class _CoordMachine:
    def __init__(self, core: CoordinateSearch, prior: list[tuple[np.ndarray, float]]) -> None:
        self.d = core.d
        self.entropy = core.entropy
        self.step0 = float(core.options["step"])
        self.xtol = float(core.options["xtol"])
        self.run = 0
        self.best_x: np.ndarray | None = None
        self.best_f = math.inf
        finite = [p for p in prior if math.isfinite(p[1])]
        if finite:
            start = min(finite, key=lambda p: p[1])[0]
        elif core.options["init"] == "random":
            start = np.random.default_rng([self.entropy, 0, 0]).random(self.d)
        else:
            start = np.full(self.d, 0.5)
        self._begin(np.array(start, dtype=float))

    def _begin(self, x: np.ndarray) -> None:
        self.x = x
        self.fx = math.nan
        self.step = self.step0
        self.axis = 0
        self.sign = 1.0
        self.improved = False
        self.phase = "start"

    def needs(self) -> list[np.ndarray]:
        if self.phase == "start":
            return [self.x]
        return [self._trial()]

    def _trial(self) -> np.ndarray:
        t = self.x.copy()
        t[self.axis] += self.sign * self.step
        return t

    def advance(self, values: Sequence[float]) -> None:
        f = float(values[0])
        if self.phase == "start":
            self.fx = f
            self.phase = "poll"
            self._note(self.x, f)
            if not math.isfinite(f):
                self._restart()
            return
        if f < self.fx:
            self.x, self.fx = self._trial(), f
            self.improved = True
            self._note(self.x, f)
            self._next_axis()
        elif self.sign > 0:
            self.sign = -1.0
        else:
            self._next_axis()

    def _note(self, x: np.ndarray, f: float) -> None:
        if f < self.best_f:
            self.best_x, self.best_f = x.copy(), f

    def _next_axis(self) -> None:
        self.sign = 1.0
        self.axis += 1
        if self.axis < self.d:
            return
        self.axis = 0
        if not self.improved:
            self.step *= 0.5
            if self.step < self.xtol:
                self._restart()
                return
        self.improved = False

    def _restart(self) -> None:
        self.run += 1
        self._begin(np.random.default_rng([self.entropy, 0, self.run]).random(self.d))

    def clone(self) -> _CoordMachine:
        return copy.copy(self)  # arrays are replaced, never modified in place


class CoordinateSearch(TrajectoryCore):
    """Coordinate search core: ``ask() -> point`` in ``[0, 1]^d``, ``tell(point, loss)``.

    Options: ``step`` (initial step, default 0.25 of the cube's side), ``xtol`` (restart when the
    step falls below it, default 1e-4), ``init`` ("center" or "random"); parallel options as in
    :class:`tansaku.algorithms._trajectory.TrajectoryCore`.
    """

    def __init__(
        self,
        dims: Sequence[Dim] | int,
        *,
        seed: int | None = None,
        step: float = 0.25,
        xtol: float = 1e-4,
        init: str = "center",
        snap: Snap | None = None,
        n_workers: int = 1,
        predictive: bool = True,
        speculation: Speculation | None = None,
    ) -> None:
        super().__init__(dims, seed=seed, snap=snap, n_workers=n_workers, predictive=predictive,
                         speculation=speculation)
        if not 0 < step <= 1:
            raise ValueError(f"step must be in (0, 1], got {step!r}")
        if not 0 < xtol < step:
            raise ValueError(f"xtol must be in (0, step), got {xtol!r}")
        if init not in ("center", "random"):
            raise ValueError(f"init must be center or random, got {init!r}")
        self.options: dict[str, Any] = {"step": float(step), "xtol": float(xtol), "init": init}

    def _make_machine(self, prior: list[tuple[np.ndarray, float]]) -> _CoordMachine:
        return _CoordMachine(self, prior)

    @property
    def step(self) -> float | None:
        """The current step length (None before the start)."""
        m = self.machine
        return m.step if isinstance(m, _CoordMachine) else None

    @property
    def restarts(self) -> int:
        m = self.machine
        return m.run if isinstance(m, _CoordMachine) else 0
