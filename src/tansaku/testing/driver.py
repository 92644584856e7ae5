"""A minimal, deterministic study loop that drives a sampler exactly through its contract.

For sampler tests and benchmarks that must not depend on the study, storage or executors:
``drive`` binds the sampler, keeps up to ``n_workers`` trials RUNNING (passed to ``ask`` as
pending), finishes them in a chosen order and tells every finished trial, as the study does.
The objective receives the params dict and returns a float; raising
:class:`tansaku.TrialPruned` records a PRUNED trial (value from ``pruned_value``), any other
exception a FAILED one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tansaku._errors import TrialPruned
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Space, as_space
from tansaku.samplers._base import Proposal, Sampler

__all__ = ["DriveResult", "drive", "replay"]


@dataclass
class DriveResult:
    """Everything the loop produced: proposals in asking order, trials in finishing order."""

    proposals: list[dict[str, Any]] = field(default_factory=list)
    finished: list[FrozenTrial] = field(default_factory=list)
    pending: list[FrozenTrial] = field(default_factory=list)

    def values(self) -> list[float]:
        return [t.value for t in self.finished if t.state is TrialState.COMPLETE and t.value is not None]

    def best(self, direction: str = "minimize") -> float:
        vals = self.values()
        return (max if direction == "maximize" else min)(vals)


def _proposal(out: Proposal | dict[str, Any] | None) -> tuple[dict[str, Any], Mapping[str, Any]] | None:
    """Params and the system attrs the study would store with the trial."""
    if out is None:
        return None
    if isinstance(out, Proposal):
        return dict(out.params), out.stored_attrs()
    return dict(out), {}


def drive(
    sampler: Sampler,
    space: Space | Mapping[str, Any],
    objective: Callable[[dict[str, Any]], float],
    *,
    n_trials: int,
    n_workers: int = 1,
    seed: int | None = 0,
    direction: str = "minimize",
    finish: str = "fifo",
    pruned_value: float | None = None,
    history: Sequence[FrozenTrial] = (),
    leave_pending: int = 0,
    bind: bool = True,
) -> DriveResult:
    """Run ``n_trials`` new trials; ``history`` (earlier finished trials) is told first, as on a
    resume.  ``finish="fifo"`` finishes the oldest running trial first, ``"random"`` a random one
    (seeded by ``seed``), ``"lifo"`` the newest.  The last ``leave_pending`` proposals are left
    RUNNING (returned in ``pending``), as when a coordinator is killed."""
    space = as_space(space)
    if bind:
        sampler.bind(space, direction=direction, seed=seed, n_workers=n_workers)
    sampler.plan(n_trials=len(history) + n_trials, n_workers=n_workers)  # as Study.optimize does
    for t in history:
        sampler.tell(t)
    rng = np.random.default_rng(seed)
    res = DriveResult()
    running: list[FrozenTrial] = []
    number = len(history)
    created = 0
    while True:
        while created < n_trials and len(running) < n_workers:
            got = _proposal(sampler.ask(list(running)))
            if got is None:  # the sampler has nothing more to propose
                n_trials = created
                break
            params, attrs = got
            res.proposals.append(params)
            running.append(FrozenTrial(number=number, state=TrialState.RUNNING, params=params,
                                       system_attrs=attrs))
            number += 1
            created += 1
        if not running or (created >= n_trials and len(running) <= leave_pending):
            break
        i = {"fifo": 0, "lifo": len(running) - 1}.get(finish)
        if i is None:
            i = int(rng.integers(len(running)))
        t = running.pop(i)
        try:
            done = t.replace(state=TrialState.COMPLETE, value=float(objective(dict(t.params))))
        except TrialPruned:
            done = t.replace(state=TrialState.PRUNED, value=pruned_value)
        except Exception as e:  # objective failures are data
            done = t.replace(state=TrialState.FAILED, message=repr(e))
        res.finished.append(done)
        sampler.tell(done)
    res.pending = running
    return res


def replay(sampler: Sampler, space: Space | Mapping[str, Any], finished: Sequence[FrozenTrial], *,
           seed: int | None = 0, direction: str = "minimize", n_workers: int = 1) -> Sampler:
    """Bind a fresh sampler and tell it ``finished`` in order, as the study does on resume."""
    sampler.bind(as_space(space), direction=direction, seed=seed, n_workers=n_workers)
    for t in finished:
        sampler.tell(t)
    return sampler
