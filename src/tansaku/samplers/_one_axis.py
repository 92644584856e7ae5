"""``one-axis``: multiple one-axis search with a discrete smoothing spline, for discrete grids.

See :mod:`tansaku.algorithms._one_axis` for the method and :mod:`tansaku.samplers._trajectory`
for how the sampler contract (resume by replay, pending trials, failures) is honoured.  The grid
is the search space's own: every value of ints, stepped floats and categoricals (axes longer than
``max_levels`` thinned evenly in unit space), ``levels`` evenly spaced unit values for continuous
floats (log floats: evenly in log).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tansaku._space import Float
from tansaku.algorithms._one_axis import OneAxisSearch
from tansaku.samplers._trajectory import TrajectorySampler, check_bool, check_choice, check_number

__all__ = ["OneAxisSampler"]


class OneAxisSampler(TrajectorySampler):
    """Multiple one-axis search over the search space's grid.

    Options: ``seed``; ``levels`` (grid size of continuous floats, default 11); ``max_levels``
    (longer discrete axes are thinned to this many levels, default 64); ``explore`` (weight of the
    bonus for levels far from known ones, default 1.0); ``init`` (``"center"`` of the grid, default,
    or ``"random"``); ``batch`` (points per step, default the study's ``n_workers``);
    ``predictive``, ``n_simulations``, ``horizon`` as in ``nelder-mead``.  Proposes nothing more
    (the study stops) once every grid point has been evaluated.
    """

    name: ClassVar[str] = "one-axis"

    def __init__(
        self,
        *,
        seed: int | None = None,
        levels: int = 11,
        max_levels: int = 64,
        explore: float = 1.0,
        init: str = "center",
        batch: int | None = None,
        predictive: bool = True,
        n_simulations: int = 16,
        horizon: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        self.options = {
            "levels": check_number("levels", levels, low=2, high=10_000, integer=True),
            "max_levels": check_number("max_levels", max_levels, low=2, high=10_000, integer=True),
            "explore": check_number("explore", explore, low=0.0),
            "init": check_choice("init", init, ("center", "random")),
            "batch": check_number("batch", batch, low=1, high=10_000, integer=True, none_ok=True),
            "predictive": check_bool("predictive", predictive),
            "n_simulations": check_number("n_simulations", n_simulations, low=1, high=10_000,
                                          integer=True),
            "horizon": check_number("horizon", horizon, low=1, high=1000, integer=True,
                                    none_ok=True),
        }

    def _axes(self) -> list[np.ndarray]:
        """Unit coordinates of each parameter's grid values."""
        axes = []
        for dist in self.space.values():
            n = dist.levels
            if n is None:  # continuous float
                assert isinstance(dist, Float)
                axes.append(np.linspace(0.0, 1.0, self.options["levels"]))
            elif n <= self.options["max_levels"]:
                axes.append(np.array([dist.to_unit(v) for v in dist.values()]))
            else:  # thin in unit space without listing every value
                m = self.options["max_levels"]
                u = [dist.to_unit(dist.from_unit((i + 0.5) / m)) for i in range(m)]
                axes.append(np.unique(np.array(u)))
        return axes

    def _make_core(self, seed: int, n_workers: int) -> OneAxisSearch:
        return OneAxisSearch(self.space.dims, seed=seed, axes=self._axes(), n_workers=n_workers,
                             **self._core_options())
