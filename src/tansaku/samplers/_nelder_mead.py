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

    With many workers (8 or more) the idle workers are planned from a tree of the simplex's
    futures instead of random continuations: the pending move (reflection, expansion, outside or
    inside contraction) branches once per outcome that changes what comes next, each branch
    weighted by the local GP's probability of it, and the free workers get the points of the
    likeliest future simplices (this iteration's moves, then the next iteration's, ...), up to
    ``2 * n_workers + d + 1`` points per plan.  The simplex path is still exactly the sequential
    one; the workers only make it arrive sooner.  What that buys on hartmann6 (benchmarks/RESULTS.md,
    "Many workers on a simulated clock"): the simplex advances about 4-5 steps per median trial
    duration at 16 workers and about 5 at 64 (each further step needs its outcome guessed
    right, so more workers add little); the first trials of a run (the initial simplex, before
    any value is known) leave the other workers to random points.
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
        refine_below: float = 0.8,
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
            "refine_below": check_number("refine_below", refine_below, low=0.0, high=1.0),
        }

    def _make_core(self, seed: int, n_workers: int) -> NelderMead:
        return NelderMead(self.space.dims, seed=seed, snap=self.space.snap, n_workers=n_workers,
                          **self._core_options())
