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

__all__ = ["CHOICE_ATTR", "FrozenTrial", "TrialState", "choice_summary", "sampler_label", "to_datetime"]

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
    the last reported intermediate value (or None).  Times are POSIX seconds in ``start_time`` /
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
        """COMPLETE with a finite value."""
        return (
            self.state is TrialState.COMPLETE
            and self.value is not None
            and math.isfinite(self.value)
        )

    def replace(self, **changes: Any) -> FrozenTrial:
        from dataclasses import replace

        return replace(self, **changes)


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
