"""What the storage contract's wide methods hand every backend, normalised once by
:class:`~tansaku.storage.BaseStorage` (its ``create_study``, ``enqueue_trial``/``start_trial``,
``finish_trial`` and ``get_trials`` check and shape their arguments, then call the backend's
``_create_study``, ``_new_trial``, ``_finish_trial`` or ``_get_trials`` with one of these)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tansaku._records import TrialState
from tansaku._space import Space

__all__ = ["Finish", "NewStudy", "NewTrial", "TrialQuery", "finish_values"]


def finish_values(
    state: TrialState, value: float | None, values: Sequence[float] | None
) -> tuple[float | None, tuple[float, ...] | None]:
    """``(value, values)`` as every storage keeps them: with ``values`` (several objectives),
    ``value`` is its first; a COMPLETE trial needs finite ones (ValueError otherwise)."""
    vals = None if values is None else tuple(float(v) for v in values)
    if vals is not None:
        if not vals:
            raise ValueError("values must not be empty")
        value = vals[0]
    if state is TrialState.COMPLETE:
        check = vals if vals is not None else (value,)
        if any(v is None or not math.isfinite(v) for v in check):
            raise ValueError("a COMPLETE trial needs a finite value")
    return value, vals


@dataclass(frozen=True)
class NewStudy:
    """A study to store, as :meth:`BaseStorage.create_study` hands it to every storage: sampler
    and user attributes as dicts, ``directions`` only with several objectives (else ``()``)."""

    name: str
    space: Space
    direction: str
    sampler: dict[str, Any] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    directions: tuple[str, ...] = ()
    objective_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewTrial:
    """A trial to add: WAITING (:meth:`BaseStorage.enqueue_trial`) or RUNNING under ``worker``
    while the study has fewer than ``limit`` running and done trials (``start_trial``)."""

    study_id: int
    state: TrialState
    params: Mapping[str, Any]
    system_attrs: Mapping[str, Any] | None = None
    worker: str | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "system_attrs", dict(self.system_attrs or {}))


@dataclass(frozen=True)
class Finish:
    """How a trial ended, checked once for every storage by :meth:`BaseStorage.finish_trial`
    (and by a journal's replay): a finished ``state``, ``value``/``values`` as
    :func:`finish_values` keeps them, constraints as a ``{str: float}`` dict, ``system_attrs``
    to merge as a dict.  Raises ValueError for anything else."""

    state: TrialState
    value: float | None
    values: Sequence[float] | None
    constraints: Mapping[str, float] | None
    message: str | None = None
    stderr: str | None = None
    system_attrs: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        state = TrialState(self.state)
        if not state.is_finished:
            raise ValueError(f"finish_trial needs a finished state, got {state}")
        value, values = finish_values(state, self.value, self.values)
        cons = {str(k): float(v) for k, v in (self.constraints or {}).items()}
        for name, v in (
            ("state", state),
            ("value", value),
            ("values", values),
            ("constraints", cons),
            ("system_attrs", dict(self.system_attrs or {})),
        ):
            object.__setattr__(self, name, v)


@dataclass(frozen=True)
class TrialQuery:
    """Which trials :meth:`BaseStorage.get_trials` reads: ``states`` (None: all), by number or
    (``by_finish``) only finished ones in finishing order, ``limit``/``offset`` after that."""

    states: Iterable[TrialState] | None = None
    with_intermediate: bool = False
    by_finish: bool = False
    limit: int | None = None
    offset: int = 0

    def __post_init__(self) -> None:
        if self.states is not None:
            object.__setattr__(self, "states", frozenset(TrialState(s) for s in self.states))
