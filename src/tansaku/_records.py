"""Immutable trial records and trial states.

A :class:`FrozenTrial` is what storage returns and what samplers, reports and users read.  It is a
snapshot: when the trial changes, storage hands out a new record.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

#: trial system attribute marking an imported trial (``{"source": ..., "row"/"number": ...}``);
#: here, in the record layer, so samplers read it without loading the storage package
IMPORTED_ATTR = "imported"

__all__ = [
    "CHOICE_ATTR",
    "IMPORTED_ATTR",
    "FrozenTrial",
    "TrialState",
    "choice_summary",
    "constraint_violation",
    "sampler_label",
    "to_datetime",
]

#: the trial system attribute holding what the ``auto`` sampler picked for it
CHOICE_ATTR = "auto_choice"


class TrialState(str, Enum):
    """Life cycle: ``WAITING`` (enqueued, not yet started) -> ``RUNNING`` -> one of the finished
    states ``COMPLETE``, ``PRUNED``, ``FAILED``.  A RUNNING trial whose worker is lost may go back to
    WAITING (re-queued) and keeps its number."""

    WAITING = "waiting"
    RUNNING = "running"
    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"

    @property
    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)

    def __str__(self) -> str:
        return self.value


def to_datetime(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


@dataclass(frozen=True)
class FrozenTrial:
    """A snapshot of one trial.

    ``value`` is the objective as the user returned it (not sign-flipped); for a PRUNED trial it is
    the last reported intermediate value (or None).  ``values`` holds every objective of a
    multi-objective study in the study's order (``(value,)`` for a single objective, None without a
    value); ``value`` is then its first.  ``constraints`` maps each constraint name to its value; the
    trial is feasible when every one is ``<= 0`` (see :attr:`violation`).  Times are POSIX seconds in ``start_time`` /
    ``end_time``; ``started_at`` / ``finished_at`` give them as aware UTC datetimes.
    ``system_attrs`` holds framework data (``sampler``: the proposing sampler's meta, ``job_id``,
    ``workdir``, ``attempts`` ...), ``user_attrs`` what the objective set.  Do not mutate them.
    """

    number: int
    state: TrialState
    params: Mapping[str, Any]
    value: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    worker: str | None = None
    message: str | None = None
    stderr: str | None = None
    last_step: int | None = None
    intermediate: Mapping[int, float] = field(default_factory=dict)
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    system_attrs: Mapping[str, Any] = field(default_factory=dict)
    trial_id: int = -1
    values: tuple[float, ...] | None = None
    constraints: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.values is None:
            if self.value is not None:
                object.__setattr__(self, "values", (self.value,))
        else:
            vals = tuple(float(v) for v in self.values)
            object.__setattr__(self, "values", vals)
            if self.value is None and vals:
                object.__setattr__(self, "value", vals[0])

    @property
    def violation(self) -> float:
        """The total constraint violation: the sum of the positive constraint values (0.0 when
        every constraint holds or there is none; nan counts as infinitely violated)."""
        return constraint_violation(self.constraints)

    @property
    def satisfies_constraints(self) -> bool:
        """Every constraint is ``<= 0`` (True without constraints), whatever the state."""
        return self.violation == 0.0

    @property
    def started_at(self) -> datetime | None:
        return to_datetime(self.start_time)

    @property
    def finished_at(self) -> datetime | None:
        return to_datetime(self.end_time)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (None while running)."""
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time

    @property
    def sampler_meta(self) -> Mapping[str, Any]:
        """What the proposing sampler attached to its proposal (empty for enqueued trials)."""
        meta = self.system_attrs.get("sampler")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def is_feasible(self) -> bool:
        """COMPLETE with finite values and every constraint satisfied (``<= 0``): a trial that
        ``best_value`` / ``best_trial`` / ``best_trials`` may return."""
        return (
            self.state is TrialState.COMPLETE
            and self.values is not None
            and all(math.isfinite(v) for v in self.values)
            and self.satisfies_constraints
        )

    def replace(self, **changes: Any) -> FrozenTrial:
        """A copy with ``changes``; changing ``value`` alone resets ``values`` to ``(value,)``."""
        from dataclasses import replace

        if "value" in changes and "values" not in changes:
            changes["values"] = None
        return replace(self, **changes)


def constraint_violation(constraints: Mapping[str, float] | None) -> float:
    """The sum of the positive values of ``constraints`` (feasible is ``<= 0``); nan -> inf.
    The one rule for what "feasible" means, for records, storages and samplers."""
    total = 0.0
    for v in (constraints or {}).values():
        f = float(v)
        if math.isnan(f):
            return math.inf
        if f > 0:
            total += f
    return total


def choice_summary(trials: Iterable[FrozenTrial]) -> str:
    """``"sobol 10, gp 40"``: how many trials each pick proposed, in first-use order ("" if none)."""
    counts = Counter(
        c for t in trials if isinstance(c := t.system_attrs.get(CHOICE_ATTR), str)
    )
    return ", ".join(f"{name} {n}" for name, n in counts.items())


def sampler_label(name: str, trials: Iterable[FrozenTrial]) -> str:
    """The study's sampler as ``status`` and the report name it: ``"auto (sobol 10, gp 40)"``."""
    summary = choice_summary(trials)
    if not summary:
        return name
    return f"{name} ({summary})" if name == "auto" else f"{name}; earlier auto picks: {summary}"
