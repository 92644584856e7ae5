"""Median stopping: stop a trial that is doing worse than the typical finished trial did."""

from __future__ import annotations

from collections import defaultdict

from tansaku._records import FrozenTrial, TrialState
from tansaku.pruners._history import HistoryPruner, SortedValues, check_int, signed_curve

__all__ = ["MedianPruner"]


class MedianPruner(HistoryPruner):
    """Prune when the trial's best intermediate value so far is worse than the median of the values
    that COMPLETE trials reported at the same step (the median stopping rule).

    * ``n_startup_trials``: never prune before that many trials have completed.
    * ``n_warmup_steps``: never prune at a step below this (early curves are noisy).
    * ``interval_steps``: decide only at steps ``n_warmup_steps + k * interval_steps`` — at the
      first report at or after each of them, so trials that report sparsely are still checked.
    * ``n_min_trials``: a step needs that many completed trials' values before it is used.

    Direction-aware ("worse" means larger when minimising).  Only COMPLETE trials form the median:
    pruned and failed trials never reached the end, so their curves are not the reference.
    Cost per report: O(log n) plus one storage query for newly finished trials.
    """

    name = "median"

    def __init__(
        self,
        *,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
    ) -> None:
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, minimum=0)
        self.n_warmup_steps = check_int("n_warmup_steps", n_warmup_steps, minimum=0)
        self.interval_steps = check_int("interval_steps", interval_steps, minimum=1)
        self.n_min_trials = check_int("n_min_trials", n_min_trials, minimum=1)
        super().__init__()

    def _reset(self) -> None:
        self._n_complete = 0
        self._at_step: dict[int, SortedValues] = defaultdict(SortedValues)

    def _consume(self, t: FrozenTrial) -> None:
        if t.state is not TrialState.COMPLETE:
            return
        self._n_complete += 1
        for step, v in signed_curve(t, self._feed.sign).items():
            self._at_step[step].set(t.number, v)

    def _is_check_step(self, steps: list[int], step: int) -> bool:
        if step < self.n_warmup_steps:
            return False
        w, k = self.n_warmup_steps, self.interval_steps
        checkpoint = w + ((step - w) // k) * k
        return not any(checkpoint <= s < step for s in steps)

    def _decide(self, number: int, curve: dict[int, float], step: int) -> bool:
        if self._n_complete < self.n_startup_trials:
            return False
        if not self._is_check_step(list(curve), step):
            return False
        ref = self._at_step.get(step)
        if ref is None or len(ref) < self.n_min_trials:
            return False
        return min(curve.values()) > ref.median()
