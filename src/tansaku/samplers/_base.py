"""The sampler contract.

A sampler proposes parameters; the study owns everything else.  Call order, guaranteed by the study:

1. ``bind(space, direction=..., seed=..., n_workers=..., directions=...)`` once, before anything
   else.  A sampler constructed with its own ``seed`` keeps it; otherwise it takes the study's.
   ``directions`` (several objectives) is given only for a multi-objective study: a sampler whose
   class sets ``multi_objective = True`` reads each trial's ``values`` (:meth:`Sampler.losses`);
   any other refuses the study in ``bind`` with a ConfigError naming the samplers that can.
2. ``tell(trial)`` once for every *finished* trial of the study (COMPLETE, PRUNED or FAILED), in the
   order storage saw them finish, including trials it did not propose (enqueued ones, other workers'
   trials, trials finished before a resume).  On resume every stored finished trial is told first,
   so a stateful sampler rebuilds its state by replay.
3. ``ask(pending)`` whenever a worker is free, or ahead of time while trials run (the proposal
   buffer, ``study/_proposals.py``).  ``pending`` holds the study's RUNNING and WAITING trials
   (from every worker) and the proposals made but not started yet (WAITING records with
   ``number == -1`` carrying their ``sampler_meta``).  Return a params ``dict``, a :class:`Proposal` (params plus ``meta``
   stored with the trial and handed back in ``trial.sampler_meta``, plus optional ``system_attrs``
   stored beside it as the trial's own system attributes, e.g. ``auto_choice``), or ``None`` when
   the sampler has nothing more to propose (the study then stops asking).

Each ``Study.optimize`` call also calls ``plan(n_trials=..., n_workers=...)`` before its first ask:
the study's total of finished trials at which the call stops (None when unknown) and the call's
workers.  Samplers may ignore it (the default); ``auto`` picks its algorithm with it.

Only one thread calls a sampler at a time (the coordinator's, or while proposals are buffered the
buffer's own thread, never both), so samplers need no locks.  Samplers must not
mutate the records they receive.  With a fixed seed and one worker the sequence of proposals is
reproducible exactly.

Internally every sampler minimises: :meth:`Sampler.loss` turns a trial into a number to minimise
(sign-flipped for ``direction="maximize"``, ``+inf`` for failures), :meth:`Sampler.losses` a trial
of a multi-objective study into a vector of them.  Constraints: ``trial.violation`` (0 when every
constraint holds) -- samplers that use it rank an infeasible trial below every feasible one
(``tpe``, ``nsga2``); the others ignore constraints.

Pruned trials arrive as PRUNED with ``value`` = their last reported intermediate value and
``last_step`` = the step they reached.  That value was measured earlier in training than a
COMPLETE trial's, so it is not a final objective value.  Samplers that use values should rank every
PRUNED trial below every COMPLETE one (among pruned trials, a later ``last_step`` is better, then
the value) — e.g. TPE puts them in its "bad" group; regression models (GP, DNGO) leave them out of
the fit or impute the worst complete loss; direct-search methods treat a pruned point as worse
than any complete one.  All should count a pruned point as taken.  With ``repeats`` a COMPLETE
trial's value is the mean of its evaluations (``system_attrs["evaluations"]``); see
``docs/pruning.md``.
"""

from __future__ import annotations

import inspect
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from tansaku._errors import ConfigError, TansakuError
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Space

__all__ = ["MULTI_OBJECTIVE_SAMPLERS", "Proposal", "Sampler", "check_objectives"]

#: the registry names of the samplers that handle several objectives (for messages)
MULTI_OBJECTIVE_SAMPLERS = ("nsga2", "mo-tpe", "gp", "dngo", "random", "sobol", "grid")


def check_objectives(sampler: Sampler, n_objectives: int) -> None:
    """ConfigError unless ``sampler`` can serve a study with ``n_objectives`` objectives."""
    if n_objectives > 1 and not type(sampler).multi_objective:
        raise ConfigError(
            f"{sampler.name or type(sampler).__name__} handles one objective, the "
            f"study has {n_objectives}; use one of: {', '.join(MULTI_OBJECTIVE_SAMPLERS)}",
            field="sampler",
        )


@dataclass(frozen=True)
class Proposal:
    """Parameters to evaluate, plus JSON-serialisable ``meta`` the sampler wants back later (as
    ``trial.sampler_meta``) and ``system_attrs`` to store as the trial's own system attributes."""

    params: dict[str, Any]
    meta: Mapping[str, Any] = field(default_factory=dict)
    system_attrs: Mapping[str, Any] = field(default_factory=dict)

    def stored_attrs(self) -> dict[str, Any]:
        """The system attributes a study stores with the trial it starts for this proposal."""
        out: dict[str, Any] = {"sampler": dict(self.meta)} if self.meta else {}
        out.update(self.system_attrs)
        return out


class Sampler(ABC):
    """Base class of every sampler; see the module docstring for the contract."""

    #: registry name, e.g. "random"
    name: ClassVar[str] = ""
    #: handles a study with several objectives (see the module docstring)
    multi_objective: ClassVar[bool] = False

    def __init__(self, *, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        self.seed: int | None = None if seed is None else int(seed)
        self._space: Space | None = None
        self.direction = "minimize"
        self.directions: tuple[str, ...] = ("minimize",)
        self.n_workers = 1
        self.rng = np.random.default_rng(self.seed)

    # -- binding -------------------------------------------------------------------------------
    def bind(
        self,
        space: Space,
        *,
        direction: str = "minimize",
        seed: int | None = None,
        n_workers: int = 1,
        directions: Sequence[str] | None = None,
    ) -> None:
        dirs = tuple(directions) if directions else (direction,)
        check_objectives(self, len(dirs))
        if self._space is not None and self._space != space:
            raise TansakuError(
                "this sampler is already bound to another study's space; create a new one"
            )
        self._space = space
        self.direction = dirs[0]
        self.directions = dirs
        self.n_workers = max(1, int(n_workers))
        if self.seed is None and seed is not None:
            self.seed = int(seed)
        own = self.seed
        if space.free and own is not None:
            # a space that grew by define-by-run parameters: seeded by its size too, so the grown
            # space's first draws do not replay the smaller one's in its leading coordinates
            self.seed = int(np.random.SeedSequence([own % 2**63, len(space)]).generate_state(1)[0])
        try:
            self.rng = np.random.default_rng(self.seed)
            self.setup()
        finally:
            self.seed = own  # describe() and resume see the seed the sampler was given

    def rebind(self, space: Space) -> None:
        """The study's space grew (define-by-run parameters learned): drop every state and bind
        to ``space`` with the same direction, seed and workers.  The study then tells every
        finished trial again, in finishing order, as on a resume (contract step 2)."""
        self._space = None
        self.bind(space, direction=self.direction, n_workers=self.n_workers)

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Hook run by :meth:`bind` once ``self.space`` is known (build the core here)."""

    @property
    def space(self) -> Space:
        if self._space is None:
            raise TansakuError(
                f"sampler {self.name or type(self).__name__} is not bound to a study yet"
            )
        return self._space

    # -- the contract ---------------------------------------------------------------------------
    @abstractmethod
    def ask(self, pending: Sequence[FrozenTrial]) -> Proposal | dict[str, Any] | None:
        """Propose the next parameters (see module docstring)."""

    def tell(self, trial: FrozenTrial) -> None:  # noqa: B027 - stateless samplers ignore it
        """Learn from one finished trial (see module docstring)."""

    def plan(self, *, n_trials: int | None, n_workers: int) -> None:  # noqa: B027 - optional hook
        """What the next ``optimize`` call will do: stop at ``n_trials`` finished trials in the
        study (None: unknown), with ``n_workers`` trials at once (see module docstring)."""

    # -- helpers for subclasses -----------------------------------------------------------------
    @property
    def sign(self) -> float:
        return -1.0 if self.direction == "maximize" else 1.0

    def loss(self, trial: FrozenTrial) -> float:
        """The value to minimise: ``sign * value``; ``+inf`` for failed trials or missing values."""
        if (
            trial.state is TrialState.FAILED
            or trial.value is None
            or not math.isfinite(trial.value)
        ):
            return math.inf
        return self.sign * float(trial.value)

    def losses(self, trial: FrozenTrial) -> np.ndarray:
        """The vector to minimise, one entry per objective (sign-flipped where maximised); all
        ``+inf`` for failed trials or missing or wrong-length values."""
        m = len(self.directions)
        vals = trial.values
        if (
            trial.state is TrialState.FAILED
            or vals is None
            or len(vals) != m
            or not all(math.isfinite(v) for v in vals)
        ):
            return np.full(m, math.inf)
        sign = np.array([-1.0 if d == "maximize" else 1.0 for d in self.directions])
        return sign * np.asarray(vals, dtype=float)

    def describe(self) -> dict[str, Any]:
        """``{"name": ..., **options}`` as stored with the study, enough to rebuild the sampler with
        :func:`~tansaku.samplers.make_sampler`.  Options are read from attributes named like the
        constructor's keyword arguments (the convention every sampler follows)."""
        out: dict[str, Any] = {"name": self.name}
        for p in inspect.signature(type(self).__init__).parameters.values():
            if (
                p.name == "self"
                or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                or not hasattr(self, p.name)
            ):
                continue
            value = getattr(self, p.name)
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                continue
            out[p.name] = value
        return out
