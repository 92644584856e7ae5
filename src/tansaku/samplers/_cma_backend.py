"""One face for the three ``cmaes`` optimisers the ``cmaes`` sampler may use.

The sampler works in the unit cube; a :class:`Backend` owns the *free* dimensions (continuous ones,
discrete ones with 2+ levels, categoricals with 2+ choices) and picks the optimiser that can
represent them:

* only continuous dims, or discrete dims with ``with_margin=False`` (then rounded by the space):
  ``cmaes.CMA`` with bounds ``[0, 1]``;
* discrete dims on equal cells (ints, stepped floats) and no categoricals: ``cmaes.CMAwM``
  (CMA-ES with margin, Hamano et al. 2022): a discrete dim with ``n`` levels lives on the grid
  ``(k + 0.5) / n``, and the margin keeps every level's probability above a floor so the search
  never freezes on a plateau of equal rounded values;
* categoricals, or discrete dims on unequal cells (log ints): ``cmaes.CatCMAwM`` (Hamano et al.
  2025): a Gaussian over continuous + discrete dims (with margin, arbitrary level positions) and a
  categorical distribution per categorical dim, updated together;
* no free dim at all: no optimiser, every proposal is the space's only point.

Every optimiser starts from the same Gaussian: mean ``mean`` and covariance ``sigma**2 * I`` over
the Gaussian dims of the unit cube, so ``sigma`` is the initial standard deviation of each free
continuous or discrete dim whichever optimiser runs (before clipping to the cube and rounding to
a level); categoricals start uniform.

``ask()`` returns the unit point to evaluate and an opaque token; ``tell`` takes
``(token, value)`` pairs, one per population member.  All randomness comes from ``seed``, so the
same sequence of asks and tells reproduces the same points (the sampler's resume relies on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from cmaes import CMA, CatCMAwM, CMAwM

from tansaku.algorithms._types import Dim

__all__ = ["Backend"]


class Backend:
    """A CMA-ES instance over the free dims of a unit cube; see the module docstring."""

    def __init__(
        self,
        dims: Sequence[Dim],
        *,
        edges: Sequence[np.ndarray | None],
        mean: np.ndarray,
        sigma: float,
        popsize: int | None,
        seed: int,
        with_margin: bool = True,
    ) -> None:
        self.d = len(dims)
        self.fixed = np.full(self.d, 0.5)  # every one-level dim decodes from its only cell
        cont: list[int] = []
        disc: list[int] = []
        cat: list[int] = []
        for i, dim in enumerate(dims):
            if dim.kind == "continuous":
                cont.append(i)
            elif (dim.levels or 1) >= 2:
                (cat if dim.kind == "categorical" else disc).append(i)
        self.cat = np.array(cat, dtype=np.int64)
        self.n_cat = np.array([dims[i].levels or 1 for i in cat], dtype=np.int64)
        uneven = any(edges[i] is not None for i in disc)
        if cat or (with_margin and uneven):
            self.kind = "catcmawm"
        elif with_margin and disc:
            self.kind = "cmawm"
        else:
            self.kind = "cma"
            cont, disc = sorted(cont + disc), []
        self.cont = np.array(cont, dtype=np.int64)
        self.disc = np.array(disc, dtype=np.int64)
        gauss = np.concatenate([self.cont, self.disc])
        self.gauss = gauss
        grids = [self._centres(dims[i], edges[i]) for i in disc]
        m = np.asarray(mean, dtype=float)[gauss] if gauss.size else np.empty(0)
        self._opt: Any = None
        if not gauss.size and not cat:
            self.kind = "fixed"  # nothing to search: every dim has a single value
            self._popsize = popsize or 1
        elif self.kind == "cma":
            bounds = np.tile([0.0, 1.0], (gauss.size, 1))
            self._opt = CMA(mean=np.clip(m, 0, 1), sigma=sigma, bounds=bounds, seed=seed,
                            population_size=popsize)
        elif self.kind == "cmawm":
            lo = np.array([0.0] * len(cont) + [g[0] for g in grids])
            hi = np.array([1.0] * len(cont) + [g[-1] for g in grids])
            steps = np.array([0.0] * len(cont) + [g[1] - g[0] for g in grids])
            self._opt = CMAwM(mean=np.clip(m, lo, hi), sigma=sigma, bounds=np.stack([lo, hi], 1),
                              steps=steps, seed=seed, population_size=popsize)
        else:
            self._opt = CatCMAwM(
                x_space=[[0.0, 1.0]] * len(cont) or None,
                z_space=[list(g) for g in grids] or None,
                c_space=list(self.n_cat) or None,
                population_size=popsize,
                mean=m if gauss.size else None,
                sigma=sigma if gauss.size else None,
                # CatCMAwM's default covariance is diag((distance to the nearer bound / 6)^2),
                # which would multiply ``sigma`` (0.5/6 * 1/6 = 0.014 at the centre, ~0 near a
                # bound after a restart); the identity makes ``sigma`` the std in the unit cube,
                # as for CMA and CMAwM
                cov=np.eye(gauss.size) if gauss.size else None,
                seed=seed,
            )

    @staticmethod
    def _centres(dim: Dim, edges: np.ndarray | None) -> np.ndarray:
        n = int(dim.levels or 1)
        if edges is None:
            return (np.arange(n) + 0.5) / n
        return 0.5 * (edges[:-1] + edges[1:])

    @property
    def popsize(self) -> int:
        return self._popsize if self._opt is None else int(self._opt.population_size)

    def ask(self) -> tuple[np.ndarray, Any]:
        u = self.fixed.copy()
        if self._opt is None:
            return u, None
        if self.kind == "cma":
            x = self._opt.ask()
            u[self.gauss] = x
            return u, x
        if self.kind == "cmawm":
            x_eval, x_tell = self._opt.ask()
            u[self.gauss] = x_eval
            return u, x_tell
        sol = self._opt.ask()
        if self.cont.size:
            u[self.cont] = sol.x
        if self.disc.size:
            u[self.disc] = sol.z
        if self.cat.size:
            u[self.cat] = (np.argmax(sol.c, axis=1) + 0.5) / self.n_cat
        return u, sol

    def tell(self, pairs: list[tuple[Any, float]]) -> None:
        if self._opt is not None:
            self._opt.tell(pairs)

    def should_stop(self) -> bool:
        if self._opt is None:
            return False
        if self.kind == "catcmawm" and not self.gauss.size:
            return False  # its stopping rules only watch the Gaussian part
        return bool(self._opt.should_stop())
