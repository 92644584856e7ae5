"""Run each trial in the coordinator's own thread, one at a time.

The simplest and most debuggable executor (breakpoints work, nothing is pickled).  It cannot stop
a Python objective that overruns ``trial_timeout`` — the study picks the ``local`` executor when a
timeout is set for a Python objective.  External commands are still timed out and pruned.
"""

from __future__ import annotations

import time
from typing import Any

from tansaku._records import TrialState
from tansaku._trial import Trial
from tansaku.executors._base import CancelReason, Executor, ExecutorHooks, Job, Outcome
from tansaku.objectives._callable import run_callable
from tansaku.objectives._command import Command, CommandRun

__all__ = ["DirectChannel", "InlineExecutor"]


class DirectChannel:
    """A trial channel calling the study's hooks directly (same thread)."""

    def __init__(self, hooks: ExecutorHooks) -> None:
        self.hooks = hooks
        self.prune = False

    def report(self, trial_id: int, step: int, value: float) -> None:
        if self.hooks.report(trial_id, step, value):
            self.prune = True

    def should_prune(self, trial_id: int) -> bool:
        return self.prune

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.hooks.set_user_attr(trial_id, key, value)


class InlineExecutor(Executor):
    name = "inline"

    def __init__(self, *, n_workers: int = 1) -> None:
        super().__init__(n_workers=1)
        self._queue: list[Job] = []
        self._done: list[Outcome] = []

    @property
    def running(self) -> int:
        return len(self._queue) + len(self._done)

    def submit(self, job: Job) -> None:
        self._queue.append(job)

    def wait(self, timeout: float | None) -> list[Outcome]:
        out, self._done = self._done, []
        while self._queue:
            out.append(self._run(self._queue.pop(0)))
        return out

    def _run(self, job: Job) -> Outcome:
        if isinstance(self.objective, Command):
            run = CommandRun(
                self.objective,
                job,
                on_report=lambda step, value: self.hooks.report(job.trial_id, step, value),
            )
            try:
                return run.run()
            except KeyboardInterrupt:  # the command is in its own session: stop it ourselves
                run.kill("interrupted")
                deadline = time.monotonic() + 2 * self.objective.kill_grace + 1
                while run.check() is None and time.monotonic() < deadline:
                    time.sleep(0.02)
                raise
        if job.workdir is not None:
            job.workdir.mkdir(parents=True, exist_ok=True)
        trial = Trial(
            number=job.number,
            trial_id=job.trial_id,
            params=job.params,
            study_name=job.study_name,
            channel=DirectChannel(self.hooks),
            workdir=job.workdir,
            seed=job.seed,
            setup_dir=job.extra_env.get("TANSAKU_SETUP_DIR"),
            parent_dir=job.extra_env.get("TANSAKU_PARENT_DIR"),
            gpu_ids=job.extra_env.get("TANSAKU_GPU_IDS"),
        )
        return run_callable(self.objective, trial)

    def cancel(self, trial_id: int, reason: CancelReason) -> None:
        """Nothing runs between calls, so only a submitted, not yet started job can be cancelled."""
        for job in [j for j in self._queue if j.trial_id == trial_id]:
            self._queue.remove(job)
            state = TrialState.PRUNED if reason == "pruned" else TrialState.FAILED
            self._done.append(
                Outcome(trial_id, state, message=reason, interrupted=reason == "interrupted")
            )
