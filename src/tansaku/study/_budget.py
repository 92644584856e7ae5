"""Study-wide budgets beyond ``n_trials`` and ``timeout``: total trial time and patience.

Both count the whole study (every worker, every earlier run), like ``total_trials``, so a resumed
study does not get a fresh budget.  They are followed incrementally with
``storage.finished_since``: each finished trial is read once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from tansaku._records import FrozenTrial, TrialState
from tansaku.storage._base import BaseStorage

__all__ = ["Budget"]


class Budget:
    """Stop conditions of one ``optimize`` call.

    * ``max_trial_hours``: no new trial starts once the durations of the study's finished trials
      (complete, pruned or failed: compute spent is spent) plus the time its running trials have
      run so far reach this many hours.  Running trials finish.
    * ``patience``: stop after this many finished trials (complete or pruned, in finishing order)
      in a row did not improve on the best complete value.
    """

    def __init__(
        self,
        storage: BaseStorage,
        study_id: int,
        direction: str,
        *,
        max_trial_hours: float | None = None,
        patience: int | None = None,
    ) -> None:
        self.storage = storage
        self.study_id = study_id
        self.sign = -1.0 if direction == "maximize" else 1.0
        self.max_trial_hours = max_trial_hours
        self.patience = patience
        self.trial_seconds = 0.0
        self.best: float | None = None
        self.since_best = 0
        self._seq = 0

    @property
    def active(self) -> bool:
        return self.max_trial_hours is not None or self.patience is not None

    def update(self) -> None:
        new, self._seq = self.storage.finished_since(self.study_id, self._seq)
        for t in new:
            self._count(t)

    def _count(self, t: FrozenTrial) -> None:
        if t.duration is not None:
            self.trial_seconds += max(0.0, t.duration)
        if t.state is TrialState.FAILED:
            return
        v = t.value
        if (
            t.state is TrialState.COMPLETE
            and v is not None
            and math.isfinite(v)
            and (self.best is None or self.sign * v < self.sign * self.best)
        ):
            self.best, self.since_best = v, 0
        else:
            self.since_best += 1

    def exhausted(self, running: Iterable[FrozenTrial]) -> str | None:
        """Why no new trial should start, or None."""
        if not self.active:
            return None
        self.update()
        if self.patience is not None and self.since_best >= self.patience:
            return f"no improvement in the last {self.since_best} trials (patience {self.patience})"
        if self.max_trial_hours is not None:
            now = time.time()
            used = self.trial_seconds + sum(
                max(0.0, now - t.start_time) for t in running if t.start_time is not None
            )
            if used >= self.max_trial_hours * 3600.0:
                return (
                    f"max_trial_hours of {self.max_trial_hours:g} h reached "
                    f"({used / 3600.0:.3g} trial-hours used)"
                )
        return None
