"""``nelder-mead``: Nelder-Mead with restarts and predictive parallel evaluation.

See :mod:`tansaku.algorithms._nelder_mead` for the method and :mod:`tansaku.samplers._trajectory`
for how the sampler contract (resume by replay, pending trials, failures) is honoured.
"""

from __future__ import annotations

from typing import ClassVar

from tansaku.algorithms._nelder_mead import BOUNDARIES, INITS, RESTARTS, NelderMead
from tansaku.samplers._trajectory import TrajectorySampler, check_bool, check_choice, check_number

__all__ = ["NelderMeadSampler"]


class NelderMeadSampler(TrajectorySampler):
    """Nelder-Mead over the search space's unit cube.

    Options (keyword-only, also from YAML ``sampler: {name: nelder-mead, ...}``):

    * ``seed``: int; the run (simplex starts, restarts, speculation) is reproducible from it.
    * ``init``: initial simplex, ``"regular"`` (default; regular simplex, randomly rotated,
      centred in the cube), ``"lhs"`` (Latin hypercube) or ``"random"``; ``init_size`` (0, 1]
      scales the regular simplex (1 touches the box).
    * ``restart``: after a collapse, ``"random"`` (default; a regular simplex at a random place),
      ``"best"`` (with the best point as a vertex) or ``"auto"`` (alternating); ``restart_size``
      is its circumradius (default 0.4 of the cube's side).
    * ``boundary``: ``"penalty"`` (default; out-of-box points count as worst, not evaluated) or
      ``"clip"``.
    * ``xtol`` (1e-4), ``ftol`` (1e-8), ``stall`` (default ``20 * (d + 1)``): collapse tests.
    * ``predictive`` (true): with several workers, fill idle workers with points that simulated
      continuations need; ``n_simulations`` (64) and ``horizon`` (default ``2 * k + 2``) size it.
    * ``refine`` (true), ``refine_below`` (default 0.8 below 32 workers, 0.5 from 32): with 8+
      workers, tree points less likely than ``refine_below`` to be needed give way to
      model-guided points (below).

    With many workers (8 or more) the idle workers are shared between two searches by the value
    of what they would evaluate.  (1) The simplex: a tree of its futures, the pending move
    (reflection, expansion, outside or inside contraction) branching once per outcome that
    changes what comes next, each branch weighted by the local GP's probability of it; a worker
    gets a point of that tree while the point's probability of being needed is at least
    ``refine_below`` (0.8 below 32 workers, 0.5 from 32: at 64 workers 0.8 left the simplex
    too few workers, 0/4 seeds reached).  The simplex path is still exactly the sequential one.
    (2) Model-guided points (``refine``, true): every other free worker gets a point of a local GP search
    around the best point told so far, by Thompson sampling over candidates at several scales of
    the incumbent's neighbourhood, with the points in flight believed at the model's mean; first,
    while none in flight is near it, the minimum of a least-squares quadratic fitted around the
    incumbent, which resolves the last digits of a minimum (:mod:`tansaku.algorithms._refine`).
    So the run may find its best away from the simplex path.  Measured on hartmann6
    (benchmarks/RESULTS.md, "Many workers on a simulated clock", branch ``nm`` second pass, and
    "nelder-mead's quadratic step", session 18): at 16 workers the median time to the sequential
    200-evaluation best is 0.067 of the sequential wall time (0.103 before the quadratic step; the
    tree alone: 0.191 mean), 10/10 seeds; at 64 workers 0.036 (8/10 seeds reach it; 0.056 and
    6/10 before the quadratic step; the tree alone: 0/10), and on held-out seeds 10-19 0.075 (16
    workers, 10/10) and 0.0385 (64 workers, 8/10).  On hartmann3 the tree alone is
    faster (the 3-D simplex's few moves are guessed well), so ``refine: false`` is the choice for small ``d``.  One
    worker never speculates: a sequential run is the classic algorithm, unchanged.
    """

    name: ClassVar[str] = "nelder-mead"
    #: a conditional space: one simplex per branch (tansaku.samplers._branches)
    split_branches: ClassVar[bool] = True

    def __init__(
        self,
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
        predictive: bool = True,
        n_simulations: int = 64,
        horizon: int | None = None,
        refine: bool = True,
        refine_below: float | None = None,
    ) -> None:
        super().__init__(seed=seed)
        self.options = {
            "init": check_choice("init", init, INITS),
            "init_size": check_number("init_size", init_size, low=0.0, high=1.0, low_open=True),
            "restart": check_choice("restart", restart, RESTARTS),
            "restart_size": check_number("restart_size", restart_size, low=0.0, high=1.0,
                                         low_open=True),
            "boundary": check_choice("boundary", boundary, BOUNDARIES),
            "xtol": check_number("xtol", xtol, low=0.0),
            "ftol": check_number("ftol", ftol, low=0.0),
            "stall": check_number("stall", stall, low=1, integer=True, none_ok=True),
            "predictive": check_bool("predictive", predictive),
            "n_simulations": check_number("n_simulations", n_simulations, low=1, high=10_000,
                                          integer=True),
            "horizon": check_number("horizon", horizon, low=1, high=1000, integer=True,
                                    none_ok=True),
            "refine": check_bool("refine", refine),
            "refine_below": check_number("refine_below", refine_below, low=0.0, high=1.0,
                                         none_ok=True),
        }

    def _make_core(self, seed: int, n_workers: int) -> NelderMead:
        return NelderMead(self.space.dims, seed=seed, snap=self.space.snap, n_workers=n_workers,
                          **self._core_options())
