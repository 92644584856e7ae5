"""Adapter from a trajectory core (:mod:`tansaku.algorithms._trajectory`) to the sampler contract.

Shared by ``nelder-mead``, ``coordinate`` and ``one-axis``.  How the contract is honoured:

* **Points.**  The core works in the unit cube; a proposal's params are ``space.from_unit(x)``
  and its ``meta`` keeps the exact unit point (``u``), so a finished trial is matched to the
  core's request exactly.  Trials the sampler did not propose (enqueued, other samplers') are
  mapped with ``space.to_unit(params)``.
* **Losses.**  COMPLETE trials give ``sign * value``; FAILED and PRUNED trials give ``+inf``
  (worse than any complete trial: a pruned trial was judged unpromising by the pruner, and its
  intermediate value is not comparable with final values).
* **Resume by replay.**  The core is built lazily at the first ``ask``: every trial told before
  then is buffered.  The core's path depends only on its seed and the values of the points it
  needs, so a fresh sampler told every stored finished trial continues the same run: points it
  already has are consumed from the cache, points still RUNNING/WAITING (``pending``) are awaited,
  not proposed again.  ``meta`` also records the seed actually used (``seed``, so an unseeded run
  resumes too), the parallelism (``k``) and, in the first proposal, the foreign trials that were
  finished before the start and seeded the search (``x0``).
* **Parallelism.**  ``self.n_workers`` (from ``bind``) is passed to the core; pending trials are
  declared to the core on every ``ask`` so a free worker gets a useful point (needed now, or
  speculative: see the core).
"""

from __future__ import annotations

import math
import secrets
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from tansaku._check import check_number as _check_number
from tansaku._errors import ConfigError
from tansaku._records import FrozenTrial, TrialState
from tansaku.algorithms._trajectory import Speculation, TrajectoryCore, point_key
from tansaku.samplers._base import Proposal, Sampler
from tansaku.samplers._branches import Branches, split

__all__ = ["TrajectorySampler", "check_bool", "check_choice", "check_number"]


def check_choice(field: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"must be one of {', '.join(allowed)}, got {value!r}", field=field)
    return value


def check_number(
    field: str, value: Any, *, low: float, high: float = math.inf, integer: bool = False,
    low_open: bool = False, none_ok: bool = False,
) -> Any:
    """A sampler option checked by :func:`tansaku._check.check_number`, as a Python int/float."""
    v = _check_number(
        value, field, integer=integer, low=low, low_open=low_open, high=high, none_ok=none_ok
    )
    return None if v is None else (int(v) if integer else float(v))


def check_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"must be true or false, got {value!r}", field=field)
    return value


class TrajectorySampler(Sampler):
    """Base of the samplers built on a :class:`TrajectoryCore` (see the module docstring)."""

    #: search each branch of a conditional space apart (:mod:`tansaku.samplers._branches`)
    split_branches: ClassVar[bool] = False

    def __init__(self, *, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ConfigError(f"must be a non-negative integer, got {seed!r}", field="seed")
        super().__init__(seed=seed)
        self.options: dict[str, Any] = {}
        self.setup()

    @abstractmethod
    def _make_core(self, seed: int, n_workers: int) -> TrajectoryCore:
        """Build the core for ``self.space`` (called once, at the first ``ask``)."""

    def _core_options(self) -> dict[str, Any]:
        """``self.options`` as core keyword arguments (speculation settings grouped)."""
        opts = dict(self.options)
        spec = {k: opts.pop(k) for k in ("n_simulations", "horizon", "refine", "refine_below")
                if k in opts}
        opts["speculation"] = Speculation(**spec)
        return opts

    # -- contract -------------------------------------------------------------------------------
    def setup(self) -> None:
        self.core: TrajectoryCore | None = None
        self._buffer: list[tuple[FrozenTrial, np.ndarray, float]] = []
        self._x0: list[list[float]] | None = None
        self._run_seed: int | None = None
        self._sent_x0 = False
        #: a conditional space: one trajectory per branch (tansaku.samplers._branches)
        self._split: Branches | None = (
            split(self, self._branch_sampler) if self.split_branches else None)

    def _branch_sampler(self, seed: int | None, names: Sequence[str]) -> Sampler:
        """The inner sampler of one branch: the same class and options."""
        return type(self)(seed=seed, **self.options)

    def tell(self, trial: FrozenTrial) -> None:
        if self._split is not None:
            self._split.tell(trial)
            return
        if not trial.state.is_finished:
            return
        u = self._unit(trial)
        if u is None:
            return
        y = math.inf if trial.state is TrialState.PRUNED else self.loss(trial)
        if self.core is None:
            self._buffer.append((trial, u, y))
        else:
            self.core.tell(u, y)

    def ask(self, pending: Sequence[FrozenTrial]) -> Proposal | None:
        if self._split is not None:
            return self._split.ask(pending)
        if self.core is None:
            self._start(pending)
        core = self.core
        assert core is not None and self._run_seed is not None
        core.set_pending([u for u in (self._unit(t) for t in pending) if u is not None])
        x = core.ask()
        if x is None:
            return None
        meta: dict[str, Any] = {"by": self.name, "u": [float(v) for v in x], "role": core.last_role,
                                "restart": int(getattr(core, "restarts", 0)),
                                "seed": self._run_seed, "k": core.n_workers}
        if not self._sent_x0:
            meta["x0"] = self._x0 or []
            self._sent_x0 = True
        return Proposal(self.space.from_unit(x), meta)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), **self.options}

    # -- helpers --------------------------------------------------------------------------------
    def _own(self, meta: Mapping[str, Any]) -> bool:
        return meta.get("by") == self.name and isinstance(meta.get("u"), list)

    def _unit(self, trial: FrozenTrial) -> np.ndarray | None:
        meta = trial.sampler_meta
        if self._own(meta):
            try:
                u = np.array(meta["u"], dtype=float)
            except (TypeError, ValueError):
                u = None
            if u is not None and u.shape == (len(self.space),) and np.all(np.isfinite(u)):
                return u
        try:
            return self.space.to_unit(trial.params)
        except (KeyError, TypeError, ValueError):  # ConfigError is a ValueError
            return None

    def _start(self, pending: Sequence[FrozenTrial]) -> None:
        """Build the core, replaying everything told so far (see the module docstring)."""
        own = [m for m in [t.sampler_meta for t, _, _ in self._buffer]
               + [t.sampler_meta for t in pending] if self._own(m)]
        seed = self.seed
        if seed is None:
            seeds = [m["seed"] for m in own if isinstance(m.get("seed"), int)]
            seed = seeds[0] if seeds else secrets.randbits(63)
        ks = [m["k"] for m in own if isinstance(m.get("k"), int) and m["k"] >= 1]
        self._run_seed = int(seed)
        core = self._make_core(int(seed), ks[0] if ks else self.n_workers)
        if self.space.conditional:  # moving an inactive coordinate gives the same params
            core.same = self.space.canonical
        x0s = [m["x0"] for m in own if isinstance(m.get("x0"), list)]
        foreign = [(u, y) for t, u, y in self._buffer if not self._own(t.sampler_meta)]
        if x0s:
            wanted = {point_key(np.asarray(p, dtype=float)) for p in x0s[0]}
            prior = [(u, y) for u, y in foreign if point_key(u) in wanted]
        elif own:
            prior = []
        else:
            prior = foreign
        for u, y in prior:
            core.tell(u, y)
        self._x0 = [[float(v) for v in u] for u, _ in prior]
        core.start()
        for _, u, y in self._buffer:
            core.tell(u, y)  # repeats of prior points are ignored by the core's cache
        self._buffer.clear()
        self.core = core
