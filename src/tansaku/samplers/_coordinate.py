"""``coordinate``: coordinate search (one axis at a time, halving the step), with restarts.

See :mod:`tansaku.algorithms._coordinate` for the method and :mod:`tansaku.samplers._trajectory`
for how the sampler contract (resume by replay, pending trials, failures) is honoured.
"""

from __future__ import annotations

from typing import ClassVar

from tansaku.algorithms._coordinate import CoordinateSearch
from tansaku.samplers._trajectory import TrajectorySampler, check_bool, check_choice, check_number

__all__ = ["CoordinateSampler"]


class CoordinateSampler(TrajectorySampler):
    """Coordinate search over the search space's unit cube.

    Options: ``seed``; ``step`` (initial step as a fraction of each parameter's unit range,
    default 0.25); ``xtol`` (restart when the step falls below it, default 1e-4); ``init``
    (``"center"`` of the space, default, or ``"random"``); ``predictive``, ``n_simulations``,
    ``horizon`` for parallel runs as in ``nelder-mead``.
    """

    name: ClassVar[str] = "coordinate"

    def __init__(
        self,
        *,
        seed: int | None = None,
        step: float = 0.25,
        xtol: float = 1e-4,
        init: str = "center",
        predictive: bool = True,
        n_simulations: int = 64,
        horizon: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        step = check_number("step", step, low=0.0, high=1.0, low_open=True)
        self.options = {
            "step": step,
            "xtol": check_number("xtol", xtol, low=0.0, high=step, low_open=True),
            "init": check_choice("init", init, ("center", "random")),
            "predictive": check_bool("predictive", predictive),
            "n_simulations": check_number("n_simulations", n_simulations, low=1, high=10_000,
                                          integer=True),
            "horizon": check_number("horizon", horizon, low=1, high=1000, integer=True,
                                    none_ok=True),
        }

    def _make_core(self, seed: int, n_workers: int) -> CoordinateSearch:
        return CoordinateSearch(self.space.dims, seed=seed, snap=self.space.snap,
                                n_workers=n_workers, **self._core_options())
