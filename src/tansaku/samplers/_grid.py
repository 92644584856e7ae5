"""Exhaustive grid search, in a seeded random order, stopping when every point is taken."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tansaku._errors import ConfigError
from tansaku._records import FrozenTrial
from tansaku._space import Categorical, Distribution, Float, Int
from tansaku.samplers._base import Sampler

__all__ = ["GridSampler"]

MAX_POINTS = 10_000_000


def _key_value(v: Any) -> Any:
    return float(f"{v:.12g}") if isinstance(v, float) else v


class GridSampler(Sampler):
    """Every combination of the parameters' values, each once, in a shuffled order.

    Ints, stepped floats and categoricals use all their values; a continuous float uses
    ``resolution`` evenly spaced values (log-spaced when ``log=True``), endpoints included.
    ``values`` overrides the values of chosen parameters: ``{"lr": [1e-3, 1e-2]}``.  Points taken
    by pending or finished trials (any worker, any earlier run) are skipped; when none is left the
    sampler returns None and the study stops.

    In a conditional space a point is its active parameters only: combinations that differ only
    in inactive parameters are one point, proposed once, so the grid enumerates exactly the valid
    combinations (``n_points`` counts those).
    """

    name = "grid"
    multi_objective = True  # never reads values

    def __init__(
        self,
        *,
        seed: int | None = None,
        resolution: int = 10,
        shuffle: bool = True,
        values: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        super().__init__(seed=seed)
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
            raise ConfigError(f"must be an integer >= 2, got {resolution!r}", field="resolution")
        self.resolution = resolution
        self.shuffle = bool(shuffle)
        self.values = {k: list(v) for k, v in (values or {}).items()}
        self._axes: list[list[Any]] = []
        self._order: np.ndarray = np.zeros(0, dtype=np.int64)
        self._cursor = 0
        self._taken: set[tuple[Any, ...]] = set()

    def _axis(self, name: str, dist: Distribution) -> list[Any]:
        if name in self.values:
            return [dist.validate(v) for v in self.values[name]]
        if isinstance(dist, (Int, Categorical)) or (
            isinstance(dist, Float) and dist.step is not None
        ):
            return dist.values()
        assert isinstance(dist, Float)
        if dist.log:
            return [float(v) for v in np.geomspace(dist.low, dist.high, self.resolution)]
        return [float(v) for v in np.linspace(dist.low, dist.high, self.resolution)]

    def setup(self) -> None:
        if self.space.free:
            raise ConfigError(
                "grid enumerates a declared space; it cannot search define-by-run parameters "
                f"({', '.join(sorted(self.space.free))}): declare them in the space",
                field="sampler",
            )
        unknown = sorted(set(self.values) - set(self.space.names))
        if unknown:
            raise ConfigError(f"not a parameter of the space: {unknown[0]!r}", field="values")
        try:
            self._axes = [self._axis(n, d) for n, d in self.space.items()]
        except ConfigError as e:
            raise ConfigError(e.reason, field="values") from None
        sizes = [len(a) for a in self._axes]
        total = math.prod(sizes)
        self._valid: list[tuple[Any, ...]] | None = None
        if self.space.conditional:
            self._valid = self._enumerate()
            total = len(self._valid)
        if total > MAX_POINTS:
            raise ConfigError(
                f"the grid has {total:,} points (more than {MAX_POINTS:,}); use random, sobol "
                "or a model-based sampler, or give fewer values",
                field="sampler",
            )
        self._sizes = sizes
        if not self.shuffle:
            self._order = np.arange(total)
        elif self._valid is None:
            self._order = self.rng.permutation(total)
        else:
            self._order = self._weighted_order()
        self._cursor = 0

    def _weighted_order(self) -> np.ndarray:
        """The shuffled order of a conditional grid: a random order in which each combination
        comes early in proportion to its chance under independent uniform draws of every axis
        (``1 / len(axis)`` per active parameter), so the points taken so far are spread over the
        branches as random draws (or the flat grid) would spread them.  A uniform shuffle of
        the valid combinations instead gave each branch a share proportional to its number of
        combinations: on ``benchmarks/conditional.py depth`` (1 to 4 layers) 90 % of the first
        points had 4 layers, and the grid was worse with conditions than flat (RESULTS.md,
        branch ``cnm``).  Weighted sampling without replacement (Efraimidis & Spirakis): sort by
        ``log(E) - log(w)`` with ``E`` standard exponential."""
        assert self._valid is not None
        keys = np.log(self.rng.standard_exponential(len(self._valid))) - np.array(self._log_weight)
        return np.argsort(keys, kind="stable")

    def _enumerate(self) -> list[tuple[Any, ...]]:
        """Every valid combination of a conditional space (None for an inactive parameter),
        walking the parameters in order and branching only over the active ones."""
        names = self.space.names
        out: list[tuple[Any, ...]] = []
        #: per combination, the log of its chance under uniform draws of each active axis
        self._log_weight: list[float] = []
        log_len = [-math.log(len(a)) for a in self._axes]

        def walk(i: int, params: dict[str, Any], log_w: float) -> None:
            if len(out) > MAX_POINTS:
                return
            if i == len(names):
                out.append(tuple(params.get(n) for n in names))
                self._log_weight.append(log_w)
                return
            if not self.space.is_active(names[i], params):
                walk(i + 1, params, log_w)
                return
            for v in self._axes[i]:
                params[names[i]] = v
                walk(i + 1, params, log_w + log_len[i])
            del params[names[i]]

        walk(0, {}, 0.0)
        return out

    @property
    def n_points(self) -> int:
        return int(self._order.size)

    def _point(self, flat: int) -> tuple[Any, ...]:
        if self._valid is not None:
            return self._valid[int(flat)]
        idx = np.unravel_index(int(flat), self._sizes)
        return tuple(axis[i] for axis, i in zip(self._axes, idx))

    def _key(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(_key_value(params.get(n)) for n in self.space.names)

    def tell(self, trial: FrozenTrial) -> None:
        self._taken.add(self._key(trial.params))

    def ask(self, pending: Sequence[FrozenTrial]) -> dict[str, Any] | None:
        busy = {self._key(t.params) for t in pending}
        while self._cursor < self._order.size:
            params = self.space.active(
                dict(zip(self.space.names, self._point(self._order[self._cursor])))
            )
            key = self._key(params)
            if key in self._taken or key in busy:
                self._cursor += 1
                continue
            return params
        return None
