"""Run up to ``n_workers`` trials at once on this machine.

External commands are started directly as child processes (each in its own session) and
multiplexed with a selector on their stdout pipes and pidfds, so 50 concurrent commands cost 50
processes and no extra threads.  Python objectives run in worker processes forked from the
coordinator (no pickling of the objective on Linux; each worker in its own process group), reused
from trial to trial, talking to the study through a pipe (reports, prune decisions, user attrs).
A worker whose trial times out, or is pruned and has not returned ``kill_grace`` seconds (1 s for a
Python objective) after the report that pruned it, is killed with its whole group and replaced
(the trial is PRUNED with that report's value).

If the coordinator dies (even by ``kill -9``), nothing is left running: workers get SIGKILL from
the kernel (``PR_SET_PDEATHSIG``), and every command's and worker's process group is registered
with the reaper (:mod:`tansaku._reaper`), which kills them when the coordinator is gone.  Workers
put ``TANSAKU_STUDY``, ``TANSAKU_TRIAL_NUMBER`` (``TANSAKU_TRIAL_ID``) and the job's extra variables (``TANSAKU_WORKER``) in
their environment, so whatever the objective starts can be found again on resume.

With several workers, each trial's native thread pools (OpenMP, BLAS, ...) get a share of the
cores unless the user sized them: see :mod:`tansaku.executors._threads`.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import selectors
import signal
import sys
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from tansaku import _reaper
from tansaku._errors import ConfigError
from tansaku._records import TrialState
from tansaku.executors._base import CancelReason, Executor, ExecutorHooks, Job, Outcome
from tansaku.executors._threads import thread_env, threads_limited
from tansaku.objectives._base import signal_name, trial_env
from tansaku.objectives._command import CommandRun
from tansaku.objectives._runner import Runner, killed_outcome

__all__ = ["LocalExecutor"]


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the coordinator dies, so no worker outlives a ``kill -9``."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class _PipeChannel:
    """The worker-process side of a trial channel."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def report(self, trial_id: int, step: int, value: float) -> None:
        self.conn.send(("report", trial_id, step, value))

    def should_prune(self, trial_id: int) -> bool:
        self.conn.send(("prune?", trial_id))
        return bool(self.conn.recv())

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.conn.send(("attr", trial_id, key, value))


def _worker_main(conn: Connection, runner: Runner, parent: int) -> None:
    os.setpgrp()  # a kill of this group takes whatever the objective started
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is handled by the coordinator
    _die_with_parent()
    if os.getppid() != parent:  # the coordinator died before PR_SET_PDEATHSIG took effect
        os._exit(1)
    channel = _PipeChannel(conn)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        # processes the objective starts inherit these: a resumed run can find leftovers by them
        os.environ.update(
            {
                **trial_env(job),
                **job.extra_env,
                "TANSAKU_COORDINATOR_PID": str(parent),
            }
        )
        with threads_limited(job.extra_env):
            outcome = runner.run_python(job, channel)
        try:
            conn.send(("done", outcome))
        except Exception as e:  # e.g. an unpicklable user attribute
            outcome.user_attrs = {}
            outcome.message = (outcome.message or "") + f" (user attributes dropped: {e})"
            conn.send(("done", outcome))


class _PyWorker:
    def __init__(self, ctx: Any, runner: Runner) -> None:
        parent, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child, runner, os.getpid()), daemon=True)
        self.proc.start()
        child.close()
        assert self.proc.pid is not None
        self.pid: int = self.proc.pid
        _reaper.register(self.pid)  # the worker's group (= its pid) dies with us
        self.conn: Connection = parent
        self.job: Job | None = None
        self.started = 0.0
        self.prune = False
        #: when a pruned trial that has not returned is killed (``kill_grace`` after the prune)
        self.prune_at: float | None = None
        self.last_report: tuple[int, float] | None = None

    def kill(self) -> None:
        """Kill the worker's process group, then reap it.  Never signal an already reaped worker:
        its pid (and group id) may have been reused by an unrelated process."""
        popen = getattr(self.proc, "_popen", None)  # .exitcode would reap it before we signal
        if popen is not None and popen.returncode is None:  # not reaped: the pid is still ours
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)
        _reaper.unregister(self.pid)  # before reaping: until then the group id is ours
        self.proc.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        """Ask an idle worker to exit; kill what it left in its group while it is a zombie (its
        group id cannot be reused yet), then reap it.  One that does not exit is killed."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                exited = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:  # already reaped elsewhere: nothing of ours to signal
                break
            if exited is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)  # whatever the objective left behind
                break
            time.sleep(0.01)
        else:
            self.kill()
            return
        _reaper.unregister(self.pid)
        self.proc.join(timeout=5)
        self.conn.close()


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, *, n_workers: int = 1, start_method: str | None = None) -> None:
        super().__init__(n_workers=n_workers)
        if start_method is None:
            start_method = "fork" if sys.platform.startswith("linux") else "spawn"
        methods = mp.get_all_start_methods()
        if not isinstance(start_method, str) or start_method not in methods:
            raise ConfigError(
                f"must be one of {', '.join(methods)}, got {start_method!r:.60}",
                field="start_method",
            )
        self._ctx = mp.get_context(start_method)
        self._sel = selectors.DefaultSelector()
        self._cmds: dict[int, CommandRun] = {}
        self._busy: dict[int, _PyWorker] = {}
        self._idle: list[_PyWorker] = []
        self._ready: list[Outcome] = []
        self._thread_env: dict[str, str] = {}

    def start(self, objective: Any, hooks: ExecutorHooks) -> None:
        super().start(objective, hooks)
        self._thread_env = thread_env(self.n_workers, user_env=self.runner.user_env)

    @property
    def running(self) -> int:
        return len(self._cmds) + len(self._busy) + len(self._ready)

    # -- submitting ------------------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        if self._thread_env:
            job = replace(job, extra_env={**self._thread_env, **job.extra_env})
        if self.runner.external:
            run = self.runner.command_run(
                job, lambda step, value: self.hooks.report(job.trial_id, step, value)
            )
            early = run.start()
            if early is not None:
                self._ready.append(early)
                return
            self._cmds[job.trial_id] = run
            self._sel.register(run.fileno(), selectors.EVENT_READ, ("out", run))
            if run.pidfd is not None:
                self._sel.register(run.pidfd, selectors.EVENT_READ, ("exit", run))
            return
        worker = self._idle.pop() if self._idle else _PyWorker(self._ctx, self.runner)
        worker.job, worker.started, worker.prune, worker.last_report = (
            job,
            time.monotonic(),
            False,
            None,
        )
        worker.prune_at = None
        try:
            worker.conn.send(job)
        except (OSError, ValueError) as e:
            worker.kill()
            self._ready.append(
                Outcome(job.trial_id, TrialState.FAILED, message=f"cannot reach the worker: {e}")
            )
            return
        self._busy[job.trial_id] = worker
        self._sel.register(worker.conn.fileno(), selectors.EVENT_READ, ("py", worker))

    # -- waiting ---------------------------------------------------------------------------------
    def _next_timer(self, now: float) -> float:
        """Seconds until something must be checked without an I/O event."""
        delay = 1.0
        for run in self._cmds.values():
            if run.pidfd is None or run.kill_reason is not None:
                delay = min(delay, 0.02)
            if run.deadline is not None:
                delay = min(delay, max(0.0, run.deadline - now))
        for w in self._busy.values():
            if w.job is not None and w.job.timeout is not None:
                delay = min(delay, max(0.0, w.started + w.job.timeout - now))
            if w.prune_at is not None:
                delay = min(delay, max(0.0, w.prune_at - now))
        return delay

    def wait(self, timeout: float | None) -> list[Outcome]:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            out, self._ready = self._ready, []
            now = time.monotonic()
            out.extend(self._check(now))
            if out or not (self._cmds or self._busy):
                return out
            delay = self._next_timer(now)
            if end is not None:
                delay = min(delay, max(0.0, end - now))
            for key, _ in self._sel.select(delay):
                kind, obj = key.data
                if kind == "out":
                    obj.read()
                elif kind == "py":
                    self._on_message(obj)
            if end is not None and time.monotonic() >= end:
                out, self._ready = self._ready, []
                out.extend(self._check(time.monotonic()))
                return out

    def _check(self, now: float) -> list[Outcome]:
        out = []
        for tid, run in list(self._cmds.items()):
            if run.check() is not None:
                self._drop_cmd(tid, run)
                assert run.outcome is not None
                out.append(run.outcome)
        for tid, w in list(self._busy.items()):
            if w.job is not None and w.job.timeout is not None and now - w.started > w.job.timeout:
                self._retire(tid, w)
                out.append(killed_outcome(w.job, "timeout"))
            elif w.job is not None and w.prune_at is not None and now >= w.prune_at:
                # pruned, told so by should_prune(), and still running: stopped like a command
                self._retire(tid, w)
                out.append(killed_outcome(w.job, "pruned", w.last_report))
        return out

    def _drop_cmd(self, tid: int, run: CommandRun) -> None:
        del self._cmds[tid]
        for key in list(self._sel.get_map().values()):
            if (
                key.data[1] is run
            ):  # stdout and pidfd (already closed by the run; unregister by number)
                with contextlib.suppress(KeyError, ValueError, OSError):
                    self._sel.unregister(key.fd)

    def _retire(self, tid: int, w: _PyWorker) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(w.conn.fileno())
        self._busy.pop(tid, None)
        w.kill()

    def _on_message(self, w: _PyWorker) -> None:
        job = w.job
        assert job is not None
        tid = job.trial_id
        try:
            while w.conn.poll():
                msg = w.conn.recv()
                kind = msg[0]
                if kind == "report":
                    w.last_report = (msg[2], msg[3])
                    if self.hooks.report(tid, msg[2], msg[3]) and not w.prune:
                        w.prune = True
                        w.prune_at = time.monotonic() + self.runner.kill_grace
                elif kind == "prune?":
                    w.conn.send(w.prune)
                elif kind == "attr":
                    self.hooks.set_user_attr(tid, msg[2], msg[3])
                elif kind == "done":
                    self._sel.unregister(w.conn.fileno())
                    del self._busy[tid]
                    w.job = None
                    self._idle.append(w)
                    self._ready.append(msg[1])
                    return
        except (EOFError, OSError):
            self._retire(tid, w)  # kills what the worker left in its group, then reaps it
            code = w.proc.exitcode
            why = (
                f"exit code {code}" if code is None or code >= 0 else f"signal {signal_name(-code)}"
            )
            self._ready.append(
                Outcome(tid, TrialState.FAILED, message=f"the worker process died ({why})")
            )

    # -- cancelling ------------------------------------------------------------------------------
    def cancel(self, trial_id: int, reason: CancelReason) -> None:
        run = self._cmds.get(trial_id)
        if run is not None:
            run.kill(reason)
            return
        w = self._busy.get(trial_id)
        if w is None:
            return
        self._retire(trial_id, w)
        job = w.job
        assert job is not None
        self._ready.append(killed_outcome(job, reason, w.last_report))

    def shutdown(self, *, cancel: bool = True) -> None:
        for run in list(self._cmds.values()):
            run.kill("interrupted")
        deadline = time.monotonic() + 5.0
        while self._cmds and time.monotonic() < deadline:
            self._check(time.monotonic())
            time.sleep(0.02)
        for tid, w in list(self._busy.items()):
            self._retire(tid, w)
        for w in self._idle:
            w.stop()
        self._idle.clear()
        self._sel.close()
