"""What pruners know about other trials, kept up to date incrementally.

A pruner is asked after *every* report, so it must not re-read the whole study each time.  Finished
trials never change their intermediate values, so each one is read once (when
``storage.finished_since`` first returns it) and folded into the pruner's own tables; running
trials are known from the reports the pruner itself is asked about.  Per report the storage work is
one indexed query for trials finished since the last call (usually none).
"""

from __future__ import annotations

import bisect
import inspect
import math
from abc import abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tansaku._check import check_number
from tansaku._records import FrozenTrial
from tansaku.pruners._base import Pruner

if TYPE_CHECKING:
    from tansaku.study._study import Study

__all__ = [
    "FinishedFeed",
    "HistoryPruner",
    "SortedValues",
    "check_int",
    "first_at_or_after",
    "signed_curve",
]


def check_int(name: str, value: Any, *, minimum: int) -> int:
    """An integer option ``>= minimum`` (the rule of :func:`tansaku._check.check_number`)."""
    return int(check_number(value, name, integer=True, low=minimum, low_open=False))


def signed_curve(trial: FrozenTrial, sign: float) -> dict[int, float]:
    """The trial's finite intermediate values, multiplied by ``sign`` (so smaller is better)."""
    return {
        int(s): sign * float(v)
        for s, v in trial.intermediate.items()
        if v is not None and math.isfinite(v)
    }


class SortedValues:
    """Values keyed by trial number, kept sorted, so a rank or a median costs O(log n).

    A trial number appears at most once: setting it again replaces its value (a re-queued trial
    that runs again reports again).
    """

    __slots__ = ("by_number", "values")

    def __init__(self) -> None:
        self.by_number: dict[int, float] = {}
        self.values: list[float] = []

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, number: object) -> bool:
        return number in self.by_number

    def set(self, number: int, value: float) -> None:
        old = self.by_number.get(number)
        if old is not None:
            if old == value:
                return
            del self.values[bisect.bisect_left(self.values, old)]
        self.by_number[number] = value
        bisect.insort(self.values, value)

    def n_better(self, value: float) -> int:
        """How many stored values are strictly smaller (better) than ``value``."""
        return bisect.bisect_left(self.values, value)

    def median(self) -> float:
        v, n = self.values, len(self.values)
        return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


class FinishedFeed:
    """Feeds each finished trial of a study (with its intermediate values) to ``consume`` once.

    One feed serves one study; :meth:`update` notices when the pruner is reused on another study
    (or another storage) and calls ``reset`` first, so nothing leaks between studies.
    """

    def __init__(
        self,
        consume: Callable[[FrozenTrial], None],
        reset: Callable[[], None],
    ) -> None:
        self._consume = consume
        self._reset = reset
        self._key: tuple[int, int] | None = None
        self._seq = 0
        self.direction = "minimize"

    @property
    def sign(self) -> float:
        return -1.0 if self.direction == "maximize" else 1.0

    def update(self, study: Study) -> None:
        storage = study.storage
        key = (id(storage), study.study_id)
        if key != self._key:
            self._key, self._seq = key, 0
            self.direction = study.direction
            self._reset()
        new, self._seq = storage.finished_since(study.study_id, self._seq)
        for t in new:
            if t.last_step is None:
                self._consume(t)  # no reports: consumers may still count it
                continue
            self._consume(storage.get_trial(t.trial_id, with_intermediate=True))


def first_at_or_after(curve: Mapping[int, float], resource: int) -> tuple[int, float] | None:
    """``(step, value)`` of the first report at a step >= ``resource``, or None."""
    steps = [s for s in curve if s >= resource]
    if not steps:
        return None
    s = min(steps)
    return s, curve[s]


class HistoryPruner(Pruner):
    """The pruners that learn from the study's finished trials (median, asha, hyperband).

    One rule for all of them: a trial is judged at a report only when it has reported
    (``last_step``) and that step's value is finite; the finished trials are first folded in
    through a :class:`FinishedFeed` (each read once), and the trial's curve is signed so that
    smaller is better.  Subclasses keep every keyword of their constructor as an attribute of the
    same name (:meth:`describe` reports them, so ``make_pruner(p.describe())`` builds the same
    pruner), call ``super().__init__()`` after setting them, and implement :meth:`_reset`,
    :meth:`_consume` and :meth:`_decide`.
    """

    def __init__(self) -> None:
        self._feed = FinishedFeed(self._consume, self._reset)
        self._reset()

    def describe(self) -> dict[str, Any]:
        """The name and every constructor keyword with its value."""
        params = inspect.signature(type(self).__init__).parameters.values()
        names = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
        return {"name": self.name, **{n: getattr(self, n) for n in names}}

    def should_prune(self, study: Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        self._feed.update(study)
        curve = signed_curve(trial, self._feed.sign)
        return step in curve and self._decide(trial.number, curve, step)

    @abstractmethod
    def _reset(self) -> None:
        """Forget every table (a new study, or the first use)."""

    @abstractmethod
    def _consume(self, t: FrozenTrial) -> None:
        """Fold in one finished trial (intermediate values loaded when it has any)."""

    @abstractmethod
    def _decide(self, number: int, curve: dict[int, float], step: int) -> bool:
        """True to prune trial ``number``, whose signed finite curve ``curve`` has just reached
        ``step`` (a key of ``curve``)."""
