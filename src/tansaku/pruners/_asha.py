"""Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel
Hyperparameter Tuning", MLSys 2020), in its stopping form.

Rung ``k`` sits at resource (step) ``r_k = min_resource * eta**(min_early_stopping_rate + k)``.
When a trial's reports first reach ``r_k``, its value there (the first reported step >= ``r_k``)
joins rung ``k`` and the trial goes on only if it is among the best ``max(1, n // eta)`` of the
``n`` values that rung holds now — every trial that got there before it, finished, pruned or still
running.  Nobody waits for a rung to fill: that is what makes it asynchronous, and it is why the
first trials to reach a rung are let through.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tansaku._errors import ConfigError
from tansaku._records import FrozenTrial
from tansaku.pruners._history import (
    HistoryPruner,
    SortedValues,
    check_int,
    first_at_or_after,
    signed_curve,
)

__all__ = ["ASHAPruner", "SuccessiveHalving"]


class SuccessiveHalving:
    """The rung tables of one successive-halving run and its promotion rule (no storage access).

    ``n_rungs`` limits the number of rungs; rungs at or beyond ``max_resource`` are never used
    (reaching the maximum is finishing).  ``min_trials``: a rung prunes nobody until it holds that
    many values.  Values are signed so that smaller is better.
    """

    def __init__(
        self,
        *,
        min_resource: int,
        reduction_factor: int,
        min_early_stopping_rate: int = 0,
        n_rungs: int | None = None,
        max_resource: int | None = None,
        min_trials: int = 1,
    ) -> None:
        self.min_resource = min_resource
        self.eta = reduction_factor
        self.rate = min_early_stopping_rate
        self.n_rungs = n_rungs
        self.max_resource = max_resource
        self.min_trials = min_trials
        self.rungs: list[SortedValues] = []

    def resources(self, up_to: int) -> Iterator[tuple[int, int]]:
        """``(k, r_k)`` for every rung with ``r_k <= up_to``."""
        k = 0
        while self.n_rungs is None or k < self.n_rungs:
            r = self.min_resource * self.eta ** (self.rate + k)
            if r > up_to or (self.max_resource is not None and r >= self.max_resource):
                return
            yield k, r
            k += 1

    def _rung(self, k: int) -> SortedValues:
        while len(self.rungs) <= k:
            self.rungs.append(SortedValues())
        return self.rungs[k]

    def add(self, number: int, curve: Mapping[int, float]) -> None:
        """Record the rung values of a trial (e.g. a finished one) without deciding anything."""
        if not curve:
            return
        for k, r in self.resources(max(curve)):
            hit = first_at_or_after(curve, r)
            if hit is None:
                return
            self._rung(k).set(number, hit[1])

    def decide(self, number: int, curve: Mapping[int, float], step: int) -> bool:
        """Record the trial's rung values; True (prune) if the report at ``step`` is where it
        reached a rung and it is not among that rung's best ``max(1, n // eta)``."""
        prune = False
        for k, r in self.resources(step):
            hit = first_at_or_after(curve, r)
            if hit is None:
                break
            at, value = hit
            rung = self._rung(k)
            rung.set(number, value)  # a value reached counts, even for a trial pruned below
            if prune or at != step or len(rung) < self.min_trials:
                continue  # decided at an earlier report, or the rung is still filling
            keep = max(1, len(rung) // self.eta)
            prune = rung.n_better(value) >= keep
        return prune


def check_resources(
    min_resource: Any, reduction_factor: Any, max_resource: Any, *, allow_auto: bool
) -> None:
    check_int("min_resource", min_resource, minimum=1)
    check_int("reduction_factor", reduction_factor, minimum=2)
    if max_resource is None or (allow_auto and max_resource == "auto"):
        return
    check_int("max_resource", max_resource, minimum=1)
    if max_resource <= min_resource:
        raise ConfigError(
            f"must be larger than min_resource ({min_resource}), got {max_resource}",
            field="max_resource",
        )


class ASHAPruner(HistoryPruner):
    """Asynchronous successive halving (see the module docstring).

    * ``min_resource``: the step of the first rung (default 1).
    * ``reduction_factor`` (eta, default 3): a rung keeps the best 1/eta of what reaches it.
    * ``min_early_stopping_rate``: skip that many rungs at the bottom (the first rung is at
      ``min_resource * eta**rate``).
    * ``n_rungs``: at most that many rungs; ``max_resource``: no rung at or past this step.
    * ``min_trials``: a rung prunes nobody until it holds that many values (default 1: pure ASHA).

    A rung's values are those of this study's finished trials (read once each) and of running
    trials this pruner has been asked about; running trials of other coordinators join when they
    finish.  Direction-aware.  Cost per report: O(log n) per rung reached plus one storage query
    for newly finished trials.
    """

    name = "asha"

    def __init__(
        self,
        *,
        min_resource: int = 1,
        reduction_factor: int = 3,
        min_early_stopping_rate: int = 0,
        n_rungs: int | None = None,
        max_resource: int | None = None,
        min_trials: int = 1,
    ) -> None:
        check_resources(min_resource, reduction_factor, max_resource, allow_auto=False)
        check_int("min_early_stopping_rate", min_early_stopping_rate, minimum=0)
        if n_rungs is not None:
            check_int("n_rungs", n_rungs, minimum=1)
        check_int("min_trials", min_trials, minimum=1)
        self.min_resource = min_resource
        self.reduction_factor = reduction_factor
        self.min_early_stopping_rate = min_early_stopping_rate
        self.n_rungs = n_rungs
        self.max_resource = max_resource
        self.min_trials = min_trials
        super().__init__()

    def _reset(self) -> None:
        self._sh = SuccessiveHalving(
            min_resource=self.min_resource,
            reduction_factor=self.reduction_factor,
            min_early_stopping_rate=self.min_early_stopping_rate,
            n_rungs=self.n_rungs,
            max_resource=self.max_resource,
            min_trials=self.min_trials,
        )

    def _consume(self, t: FrozenTrial) -> None:
        self._sh.add(t.number, signed_curve(t, self._feed.sign))

    def rung_sizes(self) -> list[int]:
        """How many values each rung holds (for reports and tests)."""
        return [len(r) for r in self._sh.rungs]

    def _decide(self, number: int, curve: dict[int, float], step: int) -> bool:
        return self._sh.decide(number, curve, step)
