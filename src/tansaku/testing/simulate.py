"""Drive a sampler on a simulated clock, without a study, storage or real workers.

:class:`SimulatedStudy` honours the sampler contract (:mod:`tansaku.samplers._base`) the way the
study does, as a discrete-event simulation: ``n_workers`` workers; whenever one is free the sampler
is asked (with the running trials as ``pending``); a trial takes a simulated duration (drawn per
trial number from ``duration``, so it does not depend on the sampler); finished trials are told
in the order they finish.  It is used by tests (resume by replay: attach a fresh sampler to a run
half way through) and by the benchmarks (wall time and worker utilisation of parallel runs).

With ``charge_proposals=True`` the simulated coordinator is one thread, like the real one: each
``ask`` and ``tell`` costs the CPU time it really took (``time.thread_time``, times
``cost_scale``), asks and tells happen one after the other, and a trial starts only when its
proposal is ready -- so a slow sampler shows up as idle workers in :attr:`utilisation`.  Without
it (the default) proposals are free and instantaneous.  ``ask_seconds`` keeps the CPU seconds of
every ask either way.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tansaku._errors import TrialPruned
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Space, as_space
from tansaku.samplers._base import Proposal, Sampler

__all__ = ["SimulatedStudy", "lognormal"]

Objective = Callable[[Mapping[str, Any]], float]
Duration = Callable[[np.random.Generator], float]


def lognormal(sigma: float = 0.5) -> Duration:
    """Durations with median 1 and log-standard-deviation ``sigma``."""
    return lambda rng: float(rng.lognormal(0.0, sigma))


class SimulatedStudy:
    """A study stand-in with a simulated clock (see the module docstring).

    ``objective(params)`` returns the value; raising :class:`tansaku.TrialPruned` gives a PRUNED
    trial, any other exception or a non-finite value a FAILED one.  ``trials`` lists every trial by
    number; ``finished`` in finishing order.
    """

    def __init__(
        self,
        space: Space | Mapping[str, Any],
        objective: Objective,
        *,
        n_workers: int = 1,
        duration: Duration | None = None,
        seed: int = 0,
        direction: str = "minimize",
        charge_proposals: bool = False,
        cost_scale: float = 1.0,
    ) -> None:
        self.space = as_space(space)
        self.objective = objective
        self.n_workers = int(n_workers)
        self.duration = duration or (lambda rng: 1.0)
        self.seed = int(seed)
        self.direction = direction
        self.charge_proposals = bool(charge_proposals)
        self.cost_scale = float(cost_scale)
        #: CPU seconds of each sampler ask, in order
        self.ask_seconds: list[float] = []
        self._busy_until = 0.0  # simulated time at which the coordinator is free again
        self.now = 0.0
        self.trials: list[FrozenTrial] = []
        self.finished: list[FrozenTrial] = []
        self._running: list[tuple[float, int]] = []  # (finish time, number)
        self._waiting: list[int] = []  # enqueued numbers, not started
        self.exhausted = False
        self.sampler: Sampler | None = None

    # -- wiring --------------------------------------------------------------------------------
    def attach(self, sampler: Sampler, *, seed: int | None = None) -> None:
        """Bind ``sampler`` and replay every finished trial to it (as a study does on resume)."""
        sampler.bind(self.space, direction=self.direction, seed=seed, n_workers=self.n_workers)
        for trial in self.finished:
            sampler.tell(trial)
        self.sampler = sampler
        self.exhausted = False

    def enqueue(self, params: Mapping[str, Any]) -> None:
        number = len(self.trials)
        self.trials.append(FrozenTrial(number=number, state=TrialState.WAITING,
                                       params=self.space.validate_params(params)))
        self._waiting.append(number)

    # -- running -------------------------------------------------------------------------------
    def run(
        self,
        n_trials: int,
        *,
        stop: Callable[[SimulatedStudy], bool] | None = None,
        max_finished: int | None = None,
    ) -> SimulatedStudy:
        """Start trials until ``n_trials`` exist in total and run until they all finished, ``stop``
        returns True after a trial finished, or ``max_finished`` trials have finished (a "crash":
        running trials stay running, resumable by :meth:`attach`-ing a new sampler)."""
        if self.sampler is None:
            raise RuntimeError("attach a sampler first")
        while True:
            while (len(self._running) < self.n_workers and not self.exhausted
                   and (self._waiting or len(self.trials) < n_trials)):
                self._start_one()
            if not self._running:
                return self
            if max_finished is not None and len(self.finished) >= max_finished:
                return self
            self._finish_one()
            if stop is not None and stop(self):
                return self

    def _pending(self) -> list[FrozenTrial]:
        return [self.trials[n] for n in self._waiting] + [self.trials[n] for _, n in self._running]

    def _start_one(self) -> None:
        assert self.sampler is not None
        start = self.now
        if self._waiting:
            number = self._waiting.pop(0)
            trial = self.trials[number]
        else:
            pending = self._pending()
            t0 = time.thread_time()
            out = self.sampler.ask(pending)
            cost = time.thread_time() - t0
            self.ask_seconds.append(cost)
            if self.charge_proposals:
                start = self._busy_until = max(self.now, self._busy_until) + cost * self.cost_scale
            if out is None:
                self.exhausted = True
                return
            proposal = out if isinstance(out, Proposal) else Proposal(dict(out))
            number = len(self.trials)
            trial = FrozenTrial(number=number, state=TrialState.WAITING,
                                params=self.space.validate_params(proposal.params),
                                system_attrs=proposal.stored_attrs())
            self.trials.append(trial)
        rng = np.random.default_rng([self.seed, number])
        dt = float(self.duration(rng))
        self.trials[number] = trial.replace(state=TrialState.RUNNING, start_time=start)
        heapq.heappush(self._running, (start + dt, number))

    def _finish_one(self) -> None:
        assert self.sampler is not None
        end, number = heapq.heappop(self._running)
        self.now = end
        trial = self.trials[number]
        state, value, message = TrialState.COMPLETE, None, None
        try:
            value = float(self.objective(trial.params))
            if not math.isfinite(value):
                state, message = TrialState.FAILED, f"objective returned {value}"
        except TrialPruned:
            state = TrialState.PRUNED
        except Exception as e:  # objective failures are data
            state, message = TrialState.FAILED, f"{type(e).__name__}: {e}"
        done = trial.replace(state=state, value=value, end_time=end, message=message)
        self.trials[number] = done
        self.finished.append(done)
        t0 = time.thread_time()
        self.sampler.tell(done)
        if self.charge_proposals:
            cost = (time.thread_time() - t0) * self.cost_scale
            self._busy_until = max(self.now, self._busy_until) + cost

    # -- results -------------------------------------------------------------------------------
    @property
    def pending(self) -> list[FrozenTrial]:
        return self._pending()

    @property
    def best_value(self) -> float:
        sign = -1.0 if self.direction == "maximize" else 1.0
        vals = [t.value for t in self.finished if t.is_feasible and t.value is not None]
        return sign * min(sign * v for v in vals) if vals else math.nan

    @property
    def utilisation(self) -> float:
        """Busy worker time up to ``now`` (the last event) over ``n_workers * now``; trials still
        running count for the part of their time already spent."""
        used = sum((t.end_time or 0.0) - (t.start_time or 0.0) for t in self.finished)
        used += sum(max(0.0, self.now - (self.trials[n].start_time or 0.0)) for _, n in self._running)
        return used / (self.n_workers * self.now) if self.now > 0 else 0.0
