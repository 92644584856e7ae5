"""Shared adapter for the unit-cube model-based cores (GP, DNGO).

The adapter keeps no state of its own beyond the core: every finished trial told is mapped to the
unit cube (``Space.to_unit``) with its loss (``+inf`` for failures, see :meth:`Sampler.loss`) and
passed to the core; ``ask(pending)`` maps the pending trials' params the same way and decodes the
core's point with ``Space.from_unit``.  A resumed study replays every finished trial, which rebuilds
the core.  Option checking helpers raise :class:`tansaku.ConfigError` naming the option.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from tansaku._check import check_number
from tansaku._errors import ConfigError
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Int
from tansaku.algorithms._types import Dim
from tansaku.samplers._base import Proposal, Sampler

__all__ = ["ModelBasedSampler", "check_int", "check_real"]


class _Core(Protocol):
    def tell(self, x: np.ndarray, y: float) -> None: ...

    def ask(self, pending: np.ndarray | None = None) -> np.ndarray: ...


def _log_int(dist: Any) -> bool:
    return isinstance(dist, Int) and dist.log


def check_int(name: str, value: Any, *, low: int, high: int | None = None) -> int:
    """An integer option in ``[low, high]`` (see :func:`tansaku._check.check_number`)."""
    top = math.inf if high is None else high
    return int(check_number(value, name, integer=True, low=low, low_open=False, high=top))


def check_real(name: str, value: Any, *, low: float, high: float) -> float:
    """A number option in ``[low, high]`` (see :func:`tansaku._check.check_number`)."""
    return float(check_number(value, name, low=low, low_open=False, high=high))


class ModelBasedSampler(Sampler):
    """Base adapter: subclasses build the core in :meth:`_make_core`.  With several objectives
    the core is fitted to a ParEGO scalarisation with new random weights at every ask
    (:mod:`tansaku.samplers._parego`)."""

    multi_objective = True

    def __init__(self, *, seed: int | None = None, consider_pending: bool = True) -> None:
        super().__init__(seed=seed)
        if not isinstance(consider_pending, bool):
            raise ConfigError(f"must be true or false, got {consider_pending!r}", field="consider_pending")
        self.consider_pending = consider_pending
        self._core: _Core | None = None
        self.n_told = 0
        self._worst_loss = -math.inf  # the worst loss of a complete trial told so far

    def setup(self) -> None:
        self._reset_core()
        self._mo_trials: list[FrozenTrial] = []  # several objectives: every finished trial
        self._scalar: dict[int, float] = {}
        self._in_replay = False
        from tansaku.algorithms._gp import seed_int

        self._weight_seed = seed_int(self.seed)

    def core_dims(self) -> list[Dim]:
        """The space's dimensions as the core sees them: a log ``Int`` is given as continuous.

        Its levels own bins of equal width in log space (:mod:`tansaku._space`), not the equal
        unit bins a core snaps a discrete coordinate to, so the core's snap sent candidates to
        other integers than they decode to: a candidate decoding to a tried integer escaped the
        cores' "no repeated point" mask (gp re-proposed its incumbent on tree_cancer), and an
        integer whose log bin holds no unit bin centre could never be proposed.  The core leaves
        the coordinate alone and :meth:`_reset_core`'s ``canonical`` moves each candidate to the
        point its integer is encoded at, where the mask and the model see the trial."""
        return [Dim("continuous") if _log_int(d) else d.dim for d in self.space.values()]

    def _reset_core(self) -> None:
        core: Any = self._make_core()
        logs = [(j, d) for j, d in enumerate(self.space.values()) if _log_int(d)]
        conditional = self.space.conditional
        if (logs or conditional) and hasattr(core, "canonical"):
            space = self.space

            def canonical(xs: np.ndarray) -> np.ndarray:
                """Candidates where their trials will be told: log ints at their integer's
                point, inactive coordinates (conditional spaces) at their constant."""
                out = np.array(xs, dtype=float)
                for j, d in logs:
                    out[:, j] = [d.to_unit(d.from_unit(u)) for u in out[:, j]]
                return np.array([space.canonical(r) for r in out]) if conditional else out

            core.canonical = canonical
        self._core = core
        self.n_told = 0
        self._worst_loss = -math.inf

    @abstractmethod
    def _make_core(self) -> _Core:
        """Build the algorithm core for :meth:`core_dims` and ``self.seed``."""

    @property
    def core(self) -> _Core:
        if self._core is None:
            _ = self.space  # raises the "not bound" error
            self._core = self._make_core()
        return self._core

    def loss(self, trial: FrozenTrial) -> float:
        """With several objectives: the trial's ParEGO scalarisation at this ask's weights
        (``inf`` for a failed or pruned trial); else :meth:`Sampler.loss`."""
        if len(self.directions) > 1:
            return self._scalar.get(trial.trial_id, math.inf)
        return super().loss(trial)

    def tell(self, trial: FrozenTrial) -> None:
        if not trial.state.is_finished:
            return
        if len(self.directions) > 1 and not getattr(self, "_in_replay", False):
            self._mo_trials.append(trial)  # told to the core at the next ask, scalarised
            return
        try:
            x = self.space.to_unit(trial.params)
        except (KeyError, TypeError, ValueError):
            return  # a trial with params from another space teaches nothing
        loss = self.loss(trial)
        if trial.state is TrialState.PRUNED and math.isfinite(loss):
            # its value is an intermediate one: rank it with the worst complete trial, not better
            loss = max(loss, self._worst_loss)
        elif math.isfinite(loss):
            self._worst_loss = max(self._worst_loss, loss)
        if getattr(self.core, "supports_constraints", False):
            # a core that models constraints learns where they hold (gp: constrained EI)
            self.core.tell(x, loss, dict(trial.constraints))  # type: ignore[call-arg]
        else:
            self.core.tell(x, loss)
        self.n_told += 1

    def _pending_points(self, pending: Sequence[FrozenTrial]) -> np.ndarray:
        rows = []
        for t in pending:
            try:
                rows.append(self.space.to_unit(t.params))
            except (KeyError, TypeError, ValueError):
                continue
        return np.array(rows, dtype=float).reshape(-1, len(self.space))

    def _scalarise(self, n_pending: int) -> None:
        """Rebuild the core told every trial with its scalarisation at fresh weights."""
        from tansaku.samplers._parego import chebyshev, parego_weights

        trials = self._mo_trials
        ok = [
            t
            for t in trials
            if t.state is TrialState.COMPLETE and np.all(np.isfinite(self.losses(t)))
        ]
        self._scalar = {}
        if ok:
            w = parego_weights(self._weight_seed, len(trials), n_pending, len(self.directions))
            values = chebyshev(np.array([self.losses(t) for t in ok]), w)
            self._scalar = {t.trial_id: float(v) for t, v in zip(ok, values)}
        self._reset_core()
        self._in_replay = True
        try:
            for t in trials:
                self.tell(t)
        finally:
            self._in_replay = False

    def ask(self, pending: Sequence[FrozenTrial]) -> Proposal:
        if len(self.directions) > 1:
            self._scalarise(len(pending))
        pend = self._pending_points(pending)
        if not self.consider_pending:
            # still count them so the startup design does not repeat a pending point
            x = self.core.ask(None) if self._model_ready() else self.core.ask(pend)
        else:
            x = self.core.ask(pend)
        params = self.space.from_unit(np.asarray(x, dtype=float))
        return Proposal(params=params, meta={"n_model": self.n_told})

    def _model_ready(self) -> bool:
        return getattr(self.core, "model_ready", lambda: True)()
