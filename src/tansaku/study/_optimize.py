"""The optimisation loop: ask the sampler, submit to the executor, store what comes back.

Order of every step is chosen so that a kill at any instant loses nothing: a trial is created
RUNNING in storage before it is submitted; its result is stored before the next trial is asked for;
on Ctrl-C (or any error) running trials are stopped and put back to WAITING, so a resumed run
evaluates exactly those params again and the trial count stays exact.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tansaku._errors import ConfigError
from tansaku._progress import Progress
from tansaku._records import FrozenTrial, TrialState
from tansaku.executors._base import Executor, ExecutorHooks, Job, Outcome
from tansaku.executors._registry import make_executor
from tansaku.objectives._command import Command
from tansaku.study._study import EXHAUSTED, Study, new_worker_id

__all__ = ["Coordinator", "pid_alive"]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _positive(name: str, value: Any, *, integer: bool = False, allow_none: bool = True) -> Any:
    if value is None and allow_none:
        return None
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not math.isfinite(value) or value <= 0:
        kind = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"must be {kind}, got {value!r}", field=name)
    return value


class Coordinator:
    """Runs one ``Study.optimize`` call (see its docstring for the options)."""

    def __init__(
        self,
        study: Study,
        objective: Any,
        *,
        n_trials: int | None,
        timeout: float | None,
        n_workers: int,
        callbacks: Sequence[Callable[[Study, FrozenTrial], Any]],
        executor: str | Mapping[str, Any] | Executor | None,
        total_trials: int | None,
        trial_timeout: float | None,
        workdir: str | Path | None,
        max_failures: int | None,
        show_progress: bool,
        heartbeat_interval: float,
        stale_after: float | None,
    ) -> None:
        if not callable(objective):
            raise ConfigError(
                f"the objective must be callable or a tk.Command, got {type(objective).__name__}",
                field="objective",
            )
        self.study = study
        self.objective = objective
        self.n_trials = _positive("n_trials", n_trials, integer=True)
        self.total_trials = _positive("total_trials", total_trials, integer=True)
        self.timeout = _positive("timeout", timeout)
        self.n_workers = _positive("n_workers", n_workers, integer=True, allow_none=False)
        self.trial_timeout = _positive("trial_timeout", trial_timeout)
        self.max_failures = _positive("max_failures", max_failures, integer=True)
        self.callbacks = list(callbacks)
        self.heartbeat_interval = float(heartbeat_interval)
        self.stale_after = stale_after
        self.is_command = isinstance(objective, Command)
        if self.is_command:
            objective.check_fields(list(study.space.names))
        if (
            executor is None
            and self.n_workers == 1
            and self.trial_timeout is not None
            and not self.is_command
        ):
            executor = "local"  # the only way to stop a Python objective that overruns
        self.executor = make_executor(executor, n_workers=self.n_workers)
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", study.name)
        if workdir is not None:
            self.workdir_root: Path | None = Path(workdir).resolve()
        elif self.is_command:
            self.workdir_root = Path.cwd() / "runs" / safe
        else:
            self.workdir_root = None
        self.worker = new_worker_id()
        self.running: dict[int, FrozenTrial] = {}
        self.n_done = 0  # COMPLETE + PRUNED in this call
        self.fail_streak = 0
        self.stop_reason: str | None = None
        self.error: str | None = None
        self.last_failure = ""
        self.progress = Progress(
            enabled=show_progress,
            study=study,
            total=self.total_trials or self.n_trials,
            count_study=self.total_trials is not None,
            n_workers=self.n_workers,
        )

    # ---------------------------------------------------------------- setup
    def recover(self) -> list[FrozenTrial]:
        """Re-queue RUNNING trials whose coordinator is gone (a dead pid on this host, or no
        heartbeat for ``stale_after`` seconds)."""
        st, sid = self.study.storage, self.study.study_id
        host, dead = socket.gethostname(), set()
        for t in st.pending_trials(sid):
            w = t.worker or ""
            if t.state is not TrialState.RUNNING or w.startswith("manual@"):
                continue
            parts = w.rsplit(":", 2)
            if len(parts) == 3 and parts[0] == host and parts[1].isdigit():
                pid = int(parts[1])
                if pid != os.getpid() and not pid_alive(pid):
                    dead.add(w)
        out = st.reclaim_worker_trials(sid, sorted(dead), requeue=True) if dead else []
        if self.stale_after is not None:
            out += st.reclaim_stale(sid, grace=float(self.stale_after), requeue=True)
        return out

    def hooks(self) -> ExecutorHooks:
        st = self.study.storage
        return ExecutorHooks(
            report=lambda tid, step, value: self.study._report(tid, step, value),
            set_user_attr=lambda tid, key, value: st.set_trial_user_attrs(tid, {key: value}),
            set_system_attrs=lambda tid, attrs: st.set_trial_system_attrs(tid, attrs),
        )

    def job(self, t: FrozenTrial) -> Job:
        wd = None if self.workdir_root is None else self.workdir_root / f"trial-{t.number:06d}"
        return Job(
            t.trial_id,
            t.number,
            dict(t.params),
            study_name=self.study.name,
            timeout=self.trial_timeout,
            workdir=wd,
        )

    # ---------------------------------------------------------------- the loop
    def run(self) -> None:
        for t in self.recover():
            self.progress.note(
                f"trial {t.number} was left running by a stopped worker: "
                f"{'re-queued' if t.state is TrialState.WAITING else 'failed'}"
            )
        self.executor.start(self.objective, self.hooks())
        self.started = time.monotonic()
        self.last_beat = self.started
        self.progress.start()
        try:
            self.loop()
        except BaseException as e:
            self.interrupt(e)
            raise
        finally:
            self.executor.shutdown(cancel=True)
            self.progress.close(self.stop_reason)

    def own_budget(self) -> float:
        return (
            math.inf if self.n_trials is None else self.n_trials - self.n_done - len(self.running)
        )

    def check_stop(self) -> None:
        if self.stop_reason is not None:
            return
        if self.study._stop:
            self.stop_reason = "stopped by a callback"
        elif self.timeout is not None and time.monotonic() - self.started >= self.timeout:
            self.stop_reason = f"timeout of {self.timeout:g} s reached"
        elif self.n_trials is not None and self.n_done >= self.n_trials:
            self.stop_reason = f"{self.n_trials} trials done"
        elif self.max_failures is not None and self.fail_streak >= self.max_failures:
            self.stop_reason = self.error = (
                f"{self.fail_streak} trials in a row failed; the last: {self.last_failure}"
            )

    def fill(self) -> bool:
        """Start trials while there is room; False when others' running trials hold the budget."""
        st, sid = self.study.storage, self.study.study_id
        while self.stop_reason is None and self.executor.free_slots() > 0 and self.own_budget() > 0:
            t = self.study._next_trial(self.worker, self.total_trials)
            if t is EXHAUSTED:
                self.stop_reason = "the sampler has nothing more to propose"
                return True
            if t is None:
                assert self.total_trials is not None
                if st.counts(sid).done >= self.total_trials:
                    self.stop_reason = f"the study has {self.total_trials} trials"
                    return True
                return False  # other workers' running trials may still fail and free the budget
            assert isinstance(t, FrozenTrial)
            self.running[t.trial_id] = t
            self.executor.submit(self.job(t))
            self.progress.started(t)
        return True

    def loop(self) -> None:
        while True:
            self.check_stop()
            budget_free = self.fill()
            if not self.running:
                if self.stop_reason is not None:
                    return
                if not budget_free:  # wait for other workers; reclaim theirs if they died
                    time.sleep(0.5)
                    if time.monotonic() - self.last_beat > self.heartbeat_interval:
                        self.last_beat = time.monotonic()
                        self.recover()
                    continue
            wait = self.heartbeat_interval
            if self.timeout is not None and self.stop_reason is None:
                wait = min(wait, max(0.0, self.started + self.timeout - time.monotonic()))
            for outcome in self.executor.wait(timeout=min(wait, self.progress.tick)):
                self.finish(outcome)
            now = time.monotonic()
            if now - self.last_beat > self.heartbeat_interval:
                self.last_beat = now
                self.study.storage.heartbeat(list(self.running), worker=self.worker)
                if self.stale_after is not None:
                    self.recover()
            self.progress.refresh(len(self.running))

    def finish(self, o: Outcome) -> None:
        st = self.study.storage
        t = self.running.pop(o.trial_id, None)
        if o.interrupted:
            st.release_trial(o.trial_id, worker=self.worker)
            return
        if o.user_attrs:
            st.set_trial_user_attrs(o.trial_id, o.user_attrs)
        value = o.value
        if o.state is TrialState.PRUNED and value is None:
            full = st.get_trial(o.trial_id, with_intermediate=True)
            if full.last_step is not None:
                value = full.intermediate.get(full.last_step)
        done = st.finish_trial(
            o.trial_id,
            worker=self.worker,
            state=o.state,
            value=value,
            message=o.message,
            stderr=o.stderr,
            system_attrs=o.system_attrs or None,
        )
        if done is None:
            number = t.number if t is not None else o.trial_id
            self.progress.note(
                f"trial {number} was reclaimed by another worker before it finished here; "
                "its result here was not stored"
            )
            return
        if done.state is TrialState.FAILED:
            self.fail_streak += 1
            self.last_failure = done.message or "failed"
        else:
            self.fail_streak = 0
            self.n_done += 1
        self.progress.finished(done)
        for cb in self.callbacks:
            cb(self.study, done)

    def interrupt(self, exc: BaseException) -> None:
        """Stop running trials and put them back to WAITING; store any that finished meanwhile."""
        if not self.running:
            return
        in_main = threading.current_thread() is threading.main_thread()
        old = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
        try:
            for tid in list(self.running):
                self.executor.cancel(tid, "interrupted")
            deadline = time.monotonic() + 10.0
            while self.running and time.monotonic() < deadline:
                for o in self.executor.wait(timeout=0.2):
                    with contextlib.suppress(Exception):
                        self.finish(o)
            for tid in list(self.running):
                with contextlib.suppress(Exception):
                    self.study.storage.release_trial(tid, worker=self.worker)
                self.running.pop(tid, None)
            self.stop_reason = (
                "interrupted" if isinstance(exc, KeyboardInterrupt) else f"error: {exc}"
            )
        finally:
            if in_main and old is not None:
                signal.signal(signal.SIGINT, old)
