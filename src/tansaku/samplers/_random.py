"""Uniform random search over the unit cube (log scales and discrete levels via the space)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tansaku._records import FrozenTrial
from tansaku.samplers._base import Sampler

__all__ = ["RandomSampler"]


class RandomSampler(Sampler):
    """Independent uniform draws.

    With a seed, proposal ``i`` of the study (counting finished and pending trials) is drawn from
    ``default_rng([seed, i])``, so a resumed study continues the sequence instead of repeating it.
    """

    name = "random"
    multi_objective = True  # never reads values

    def __init__(self, *, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self._told = 0

    def tell(self, trial: FrozenTrial) -> None:
        self._told += 1

    def ask(self, pending: Sequence[FrozenTrial]) -> dict[str, Any]:
        d = len(self.space)
        if self.seed is None:
            u = self.rng.random(d)
        else:
            u = np.random.default_rng([self.seed, self._told + len(pending)]).random(d)
        return self.space.from_unit(u)
