"""The executor protocol: where a trial runs.

The study's coordinator thread is the only caller, in this order::

    executor.start(objective, hooks)      # once
    executor.submit(job)                  # whenever executor.free_slots() > 0
    outcomes = executor.wait(timeout)     # returns finished jobs; calls hooks meanwhile
    executor.cancel(trial_id, reason)     # prune / interrupt; the job still ends in wait()
    executor.shutdown(cancel=True)        # once; kills whatever still runs

``wait`` returns every submitted job exactly once as an :class:`Outcome` (COMPLETE, PRUNED or
FAILED), however it ended — objective error, timeout, killed worker.  Executors enforce
``job.timeout`` themselves, counted from when the trial really started (a batch job waiting in the
queue is not timed).  While a job runs, the executor passes what it says back through ``hooks``
(intermediate reports, user attributes, system attributes such as a batch job id) from the
coordinator thread, so the study can store them before acting on them.

Killing a trial kills its whole process group (or cancels its batch job), never just the top
process.  ``cancel(..., reason="pruned")`` ends the job as PRUNED with its last reported value;
``"interrupted"`` ends it as FAILED with ``interrupted=True`` so the study can re-queue it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tansaku.objectives._base import Job, Outcome
from tansaku.objectives._runner import Runner

__all__ = ["CancelReason", "Executor", "ExecutorHooks", "Job", "Outcome"]

CancelReason = Literal["timeout", "pruned", "interrupted"]


@dataclass
class ExecutorHooks:
    """Callbacks into the study, always invoked on the coordinator thread.

    ``report`` stores an intermediate value and returns True when the trial should be pruned.
    """

    report: Callable[[int, int, float], bool] = lambda trial_id, step, value: False
    set_user_attr: Callable[[int, str, Any], None] = lambda trial_id, key, value: None
    set_system_attrs: Callable[[int, Mapping[str, Any]], None] = lambda trial_id, attrs: None


class Executor(ABC):
    """Base class; see the module docstring for the protocol."""

    name: str = ""
    #: every trial needs a directory (batch jobs keep their script and markers there): the
    #: coordinator then gives Python objectives one too, under the study's run directory
    needs_workdir: bool = False
    #: the executor's job scripts give each trial of a multi-trial job its GPUs (batch); the
    #: coordinator then sets ``gpu_plan`` instead of handing out slots itself (``_gpus.py``)
    gpu_slots_in_job: bool = False
    gpu_plan: Any = None

    def __init__(self, *, n_workers: int = 1) -> None:
        self.n_workers = max(1, int(n_workers))
        self.objective: Any = None
        self.runner = Runner(None)
        self.hooks = ExecutorHooks()

    def start(self, objective: Any, hooks: ExecutorHooks) -> None:
        self.objective = objective
        #: what runs (a command or Python code): see :mod:`tansaku.objectives._runner`
        self.runner = Runner(objective)
        self.hooks = hooks

    @property
    @abstractmethod
    def running(self) -> int:
        """Jobs submitted and not yet returned by ``wait``."""

    def free_slots(self) -> int:
        return max(0, self.n_workers - self.running)

    @abstractmethod
    def submit(self, job: Job) -> None: ...

    @abstractmethod
    def wait(self, timeout: float | None) -> list[Outcome]:
        """Block up to ``timeout`` seconds (None: until something happens) and return finished jobs."""

    @abstractmethod
    def cancel(self, trial_id: int, reason: CancelReason) -> None: ...

    def shutdown(self, *, cancel: bool = True) -> None:  # noqa: B027 - nothing to free by default
        """Stop; with ``cancel`` kill whatever still runs (the outcomes are then discarded)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "n_workers": self.n_workers}
