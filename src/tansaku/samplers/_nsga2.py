"""``nsga2``: NSGA-II for several objectives (core: :mod:`tansaku.algorithms._nsga2`).

Every finished trial is told to the core: COMPLETE ones with their objective vector (maximised
objectives negated) and total constraint violation (``trial.violation``, so feasible trials beat
infeasible ones and infeasible ones compare by how much they violate); FAILED ones, and PRUNED
ones (whose values are not final), rank behind every trial with values.  Pending trials (RUNNING
and WAITING, every worker's) count toward the first random population, so several workers do not
over-draw it.  Works for one objective too (then it is a plain elitist genetic algorithm).

Stateless beyond the trials: a resumed study replays them and proposes what the first run would
have (same seed and trials).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tansaku._records import FrozenTrial, TrialState
from tansaku.algorithms._nsga2 import NSGA2
from tansaku.samplers._base import Sampler
from tansaku.samplers._tpe import _float_option, _int_option, unit_point

__all__ = ["NSGA2Sampler"]


class NSGA2Sampler(Sampler):
    """NSGA-II with constraint domination and crowding distance (see the module docstring)."""

    name = "nsga2"
    multi_objective = True

    def __init__(
        self,
        *,
        seed: int | None = None,
        population_size: int = 50,
        crossover_prob: float = 0.9,
        mutation_prob: float | None = None,
    ) -> None:
        super().__init__(seed=seed)
        self.population_size = _int_option("population_size", population_size, 2)
        self.crossover_prob = _float_option("crossover_prob", crossover_prob, 0.0, 1.0)
        self.mutation_prob = (
            None
            if mutation_prob is None
            else _float_option("mutation_prob", mutation_prob, 0.0, 1.0)
        )
        self._core: NSGA2 | None = None
        self._told = 0

    def setup(self) -> None:
        self._core = NSGA2(
            self.space.dims,
            len(self.directions),
            population_size=int(self.population_size or 50),
            crossover_prob=self.crossover_prob,
            mutation_prob=self.mutation_prob,
            seed=self.seed if self.seed is not None else int(self.rng.integers(2**62)),
        )
        self._told = 0

    def tell(self, trial: FrozenTrial) -> None:
        assert self._core is not None
        self._told += 1
        x = unit_point(self.space, trial.params)
        if x is None:
            return
        if trial.state is TrialState.COMPLETE:
            self._core.tell(x, self.losses(trial), trial.violation)
        else:  # failed, or pruned (not final values): behind every trial with values
            self._core.tell(x, np.full(len(self.directions), np.inf), np.inf)

    def ask(self, pending: Sequence[FrozenTrial]) -> dict[str, Any]:
        assert self._core is not None
        x = self._core.ask(self._told + len(pending), len(pending))
        return self.space.from_unit(x)
