"""The live trial an objective receives: its params, and a channel back to the study."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from tansaku._errors import ConfigError

__all__ = ["MAX_STEP", "NullChannel", "Trial", "TrialChannel", "step_problem"]

#: the largest report step every storage keeps (PostgreSQL's ``integer`` column is 32-bit)
MAX_STEP = 2**31 - 1


def step_problem(step: object) -> str | None:
    """None for a usable report step (an int in ``0..MAX_STEP``), else what is wrong with it --
    the one rule for ``trial.report`` and ``tansaku:report`` lines alike."""
    if isinstance(step, bool) or not isinstance(step, int):
        return f"must be an int, got {type(step).__name__}"
    if not 0 <= step <= MAX_STEP:
        shown = repr(step) if abs(step) < 10**30 else f"about 10**{step.bit_length() * 0.30103:.0f}"
        return f"must be in 0..{MAX_STEP}, got {shown}"
    return None


class TrialChannel(Protocol):
    """How a running trial talks to its study, wherever it runs (same thread, a forked process,
    a Dask worker).  Implemented by executors; the study decides what a report means."""

    def report(self, trial_id: int, step: int, value: float) -> None: ...

    def should_prune(self, trial_id: int) -> bool: ...

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None: ...


class NullChannel:
    """A channel that stores nothing (for objectives called outside a study, e.g. in tests)."""

    def __init__(self) -> None:
        self.reports: dict[int, float] = {}
        self.user_attrs: dict[str, Any] = {}

    def report(self, trial_id: int, step: int, value: float) -> None:
        self.reports[step] = value

    def should_prune(self, trial_id: int) -> bool:
        return False

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.user_attrs[key] = value


class Trial:
    """What ``objective(trial)`` gets.

    ``trial.params`` is a read-only dict of the proposed values; ``trial.number`` counts from 0 per
    study; ``trial.workdir`` is the trial's own directory when the study has one.  Long objectives
    call ``trial.report(value, step)`` and then ``if trial.should_prune(): raise tk.TrialPruned()``.
    ``trial.seed`` is this evaluation's seed (different for each repeat of a point);
    ``trial.setup_dir`` is the directory of the study's setup step (None without one);
    ``trial.parent_dir`` the directory of the trial it was enqueued to start from (``from_trial``);
    ``trial.gpu_ids`` the devices this trial has to itself with ``gpus:`` (also in
    ``CUDA_VISIBLE_DEVICES``), ``()`` without.
    """

    __slots__ = (
        "_channel",
        "_constraints",
        "_user_attrs",
        "gpu_ids",
        "number",
        "params",
        "parent_dir",
        "seed",
        "setup_dir",
        "study_name",
        "trial_id",
        "workdir",
    )

    def __init__(
        self,
        *,
        number: int,
        params: Mapping[str, Any],
        trial_id: int = -1,
        study_name: str = "",
        channel: TrialChannel | None = None,
        workdir: str | Path | None = None,
        seed: int | None = None,
        setup_dir: str | Path | None = None,
        parent_dir: str | Path | None = None,
        gpu_ids: str | None = None,
    ) -> None:
        self.number = number
        self.trial_id = trial_id
        self.params: Mapping[str, Any] = MappingProxyType(dict(params))
        self.study_name = study_name
        self.workdir = None if workdir is None else Path(workdir)
        self.seed = seed
        self.setup_dir = None if not setup_dir else Path(setup_dir)
        self.parent_dir = None if not parent_dir else Path(parent_dir)
        #: from ``TANSAKU_GPU_IDS`` (comma-separated) as the executor set it
        self.gpu_ids: tuple[str, ...] = tuple(d for d in (gpu_ids or "").split(",") if d)
        self._channel: TrialChannel = channel if channel is not None else NullChannel()
        self._user_attrs: dict[str, Any] = {}
        self._constraints: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={dict(self.params)!r})"

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def report(self, value: float, step: int) -> None:
        """Record an intermediate value (e.g. validation loss after ``step`` epochs).

        ``step`` is an int in ``0..MAX_STEP`` (2**31 - 1, what every storage keeps); anything else
        raises :class:`~tansaku.ConfigError` naming ``report.step``, which fails the trial with
        that message unless the objective catches it."""
        problem = step_problem(step)
        if problem is not None:  # uncaught, it fails the trial with this message
            raise ConfigError(f"step {problem}", field="report.step")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"value must be a number, got {value!r}", field="report.value"
            ) from None
        if not math.isfinite(v):
            return  # a nan/inf intermediate value carries no information for pruning; not stored
        self._channel.report(self.trial_id, step, v)

    def should_prune(self) -> bool:
        """True when the study's pruner decided this trial should stop now."""
        return bool(self._channel.should_prune(self.trial_id))

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value with the trial (kept even if the trial fails)."""
        if not isinstance(key, str):
            raise ConfigError(
                f"user attribute keys must be strings, got {key!r}", field="user_attr"
            )
        self._user_attrs[key] = value
        self._channel.set_user_attr(self.trial_id, key, value)

    @property
    def user_attrs(self) -> Mapping[str, Any]:
        return MappingProxyType(self._user_attrs)

    def set_constraint(self, name: str, value: float) -> None:
        """Record constraint ``name`` of this trial: it holds when ``value <= 0`` (e.g.
        ``memory_gb - 40``).  A trial is feasible when all its constraints hold; ``best_value``,
        ``best_trial`` and ``best_trials`` consider feasible trials only.  Kept with the trial
        whatever its state; a later call with the same name replaces the value."""
        if not isinstance(name, str) or not name:
            raise ConfigError(
                f"constraint names must be non-empty strings, got {name!r:.40}", field="constraint"
            )
        if isinstance(value, bool):
            raise ConfigError(f"value must be a number, got {value!r}", field=f"constraint.{name}")
        try:
            v = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(
                f"value must be a number, got {type(value).__name__}", field=f"constraint.{name}"
            ) from None
        self._constraints[name] = v

    @property
    def constraints(self) -> Mapping[str, float]:
        """The constraints set so far (read-only)."""
        return MappingProxyType(self._constraints)
