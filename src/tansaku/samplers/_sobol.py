"""Scrambled Sobol' low-discrepancy sequence (scipy.stats.qmc)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from tansaku._records import FrozenTrial
from tansaku.samplers._base import Sampler

__all__ = ["SobolSampler"]


class SobolSampler(Sampler):
    """Point ``i`` of one scrambled Sobol' sequence for proposal ``i`` of the study (finished plus
    pending trials), so parallel workers and resumed runs continue the same sequence.  The balance
    properties are best when the number of trials is a power of two."""

    name = "sobol"
    multi_objective = True  # never reads values

    def __init__(self, *, seed: int | None = None, scramble: bool = True) -> None:
        super().__init__(seed=seed)
        self.scramble = bool(scramble)
        self._told = 0
        self._engine: Any = None
        self._position = 0

    def setup(self) -> None:
        from scipy.stats import qmc

        self._engine = qmc.Sobol(d=len(self.space), scramble=self.scramble, seed=self.rng)
        self._position = 0

    def tell(self, trial: FrozenTrial) -> None:
        self._told += 1

    def ask(self, pending: Sequence[FrozenTrial]) -> dict[str, Any]:
        index = self._told + len(pending)
        if index < self._position:
            self.setup()
        if index > self._position:
            self._engine.fast_forward(index - self._position)
            self._position = index
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "balance properties ... power of 2": expected here
            u = self._engine.random(1)[0]
        self._position += 1
        return self.space.from_unit(u)
