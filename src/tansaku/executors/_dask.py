"""Trials as tasks on a ``dask.distributed`` cluster.

Where: ``address`` (a running scheduler, e.g. ``tcp://10.0.0.1:8786``), ``cluster`` (a
dask-jobqueue cluster the executor starts and scales to ``n_workers`` single-process jobs:
``{type: slurm|sge|pbs|lsf, queue: ..., cores: 1, memory: 4GiB, walltime: "01:00:00", ...}`` —
every other key goes to the dask-jobqueue class), or by default a ``LocalCluster`` of ``n_workers``
processes with one thread each.  At most ``n_workers`` trials run at once.

The channel between a running trial and the study (the coordinator):

* task -> coordinator: the task publishes ``("started" | "report" | "attr", ...)`` events with
  ``Worker.log_event`` on a topic private to this executor; the coordinator subscribes with
  ``Client.subscribe_topic`` and the events land in a thread-safe queue that ``wait()`` blocks on,
  together with the futures' completions.  The task also returns every report it sent, so none is
  lost if its events arrive after the result.
* coordinator -> task: a ``distributed.Event`` per trial, set when the trial must stop (prune,
  timeout, Ctrl-C), with the reason in a ``distributed.Variable``; and, once the trial reports, a
  ``Variable`` holding ``{"step", "prune"}`` that the coordinator updates after storing each
  report and asking the pruner.  ``trial.should_prune()`` waits (up to ``prune_wait`` seconds)
  until that variable has caught up with the trial's last report, so report-then-ask behaves as
  in a local run.  A trial that never reports costs no scheduler round trip besides its task.

Stopping a trial (prune, timeout, Ctrl-C): a :class:`~tansaku.Command` is run by the task itself
(:class:`~tansaku.objectives.CommandRun`, in its own process group), which polls the variable every
``check_interval`` and kills the whole group; the command's own ``trial_timeout`` is enforced
inside the task from when it really started.  A Python callable sees ``should_prune()`` become
true; if it has not returned ``kill_grace`` seconds later, its future is cancelled and its worker
process restarted (``Client.restart_workers``: the only way to stop Python code in a thread),
which needs a nanny (the default for LocalCluster and dask-jobqueue).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import select
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from distributed import Client, Event, Future, Variable, get_worker

from tansaku._check import check_number
from tansaku._errors import ConfigError
from tansaku._install import install_hint
from tansaku._records import TrialState
from tansaku.executors._base import CancelReason, Executor, Job, Outcome
from tansaku.objectives._runner import Runner, killed_outcome

__all__ = ["DaskExecutor"]

log = logging.getLogger("tansaku.executors.dask")

CLUSTER_TYPES = {
    "slurm": "SLURMCluster",
    "sge": "SGECluster",
    "pbs": "PBSCluster",
    "lsf": "LSFCluster",
}


# ------------------------------------------------------------------------------ the task side
class _TaskChannel:
    def __init__(self, topic: str, name: str, prune_wait: float) -> None:
        self.worker = get_worker()
        self.topic = topic
        self.name = name
        self.prune_wait = prune_wait
        self.last_step: int | None = None
        self.reports: list[tuple[int, float]] = []

    def cancelled(self) -> str | None:
        """The reason the coordinator wants this trial stopped, or None."""
        try:
            if not Event(f"{self.name}-stop").is_set():
                return None
            return str(Variable(f"{self.name}-why").get(timeout=5))
        except Exception:  # scheduler briefly unreachable, or the reason not readable
            return None

    def report(self, trial_id: int, step: int, value: float) -> None:
        self.last_step = step
        self.reports.append((step, value))
        self.worker.log_event(self.topic, ("report", trial_id, step, value))

    def should_prune(self, trial_id: int) -> bool:
        if self.cancelled():
            return True
        if self.last_step is None:
            return False
        deadline = time.monotonic() + self.prune_wait
        decided = Variable(f"{self.name}-prune")
        while True:
            try:
                st = decided.get(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:  # not decided in time: carry on
                return False
            if st["step"] >= self.last_step:
                return bool(st["prune"])
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.worker.log_event(self.topic, ("attr", trial_id, key, value))


def _run_trial(
    runner: Runner, job: Job, topic: str, name: str, opts: Mapping[str, float]
) -> tuple[Outcome, list[tuple[int, float]]]:
    """The Dask task: run one trial, return its outcome and the reports it made."""
    channel = _TaskChannel(topic, name, opts["prune_wait"])
    channel.worker.log_event(topic, ("started", job.trial_id, channel.worker.address, os.getpid()))
    cancel = channel.cancelled()
    if cancel:
        return _killed(job, cancel, None), []
    if runner.external:
        return _run_command(runner, job, channel, opts["check_interval"]), channel.reports
    return runner.run_python(job, channel), channel.reports


def _run_command(runner: Runner, job: Job, channel: _TaskChannel, check: float) -> Outcome:
    run = runner.command_run(job, lambda s, v: channel.report(job.trial_id, s, v))
    early = run.start()
    if early is not None:
        return early
    next_check = time.monotonic() + check
    while True:
        out = run.check()
        if out is not None:
            return out
        fds = [] if run._eof else [run.fileno()]
        if run.pidfd is not None:
            fds.append(run.pidfd)
        try:
            ready, _, _ = select.select(fds, [], [], 0.05)
        except (OSError, ValueError):
            ready = []
        if ready:
            run.read()
        if time.monotonic() >= next_check and run.kill_reason is None:
            next_check = time.monotonic() + check
            reason = channel.cancelled()
            if reason:
                run.kill(reason)


_killed = killed_outcome


# ------------------------------------------------------------------------------ coordinator side
@dataclass
class _Running:
    job: Job
    future: Future
    name: str  # prefix of the trial's Event / Variables
    decided: Variable | None = None  # {"step", "prune"}, created at the first report
    started: float | None = None
    worker: str | None = None
    kill_reason: str | None = None
    kill_at: float | None = None  # Python callables: restart the worker after this time
    steps: dict[int, float] = field(default_factory=dict)


class DaskExecutor(Executor):
    """Run trials on a Dask cluster; see the module docstring for options and the channel."""

    name = "dask"

    def __init__(
        self,
        *,
        n_workers: int = 1,
        address: str | None = None,
        cluster: Mapping[str, Any] | None = None,
        processes: bool = True,
        threads_per_worker: int = 1,
        resources: Mapping[str, float] | None = None,
        dashboard_address: str | None = None,
        check_interval: float = 0.5,
        prune_wait: float = 10.0,
        kill_grace: float = 3.0,
    ) -> None:
        super().__init__(n_workers=n_workers)
        if address is not None and cluster is not None:
            raise ConfigError("give either address or cluster, not both", field="address")
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ConfigError(
                f"must be a scheduler address like tcp://host:8786, got {address!r}",
                field="address",
            )
        self.cluster_spec: dict[str, Any] | None = None
        if cluster is not None:
            if not isinstance(cluster, Mapping):
                raise ConfigError(
                    "must be a mapping like {type: slurm, queue: ...}", field="cluster"
                )
            spec = dict(cluster)
            kind = spec.get("type")
            if kind not in CLUSTER_TYPES:
                raise ConfigError(
                    f"must be one of {', '.join(CLUSTER_TYPES)}, got {kind!r}", field="cluster.type"
                )
            jobs = spec.get("jobs")
            if jobs is not None and (
                isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1
            ):
                raise ConfigError(f"must be a positive integer, got {jobs!r}", field="cluster.jobs")
            self.cluster_spec = spec
        for name, value in (
            ("check_interval", check_interval),
            ("prune_wait", prune_wait),
            ("kill_grace", kill_grace),
            ("threads_per_worker", threads_per_worker),
        ):
            check_number(value, name)
        if resources is not None and not isinstance(resources, Mapping):
            raise ConfigError(
                "must map resource names to amounts, e.g. {GPU: 1}", field="resources"
            )
        self.address = address
        self.processes = bool(processes)
        self.threads_per_worker = int(threads_per_worker)
        self.resources = dict(resources) if resources else None
        self.dashboard_address = dashboard_address
        self.opts = {"check_interval": float(check_interval), "prune_wait": float(prune_wait)}
        self.kill_grace = float(kill_grace)
        self.client: Client | None = None
        self._cluster: Any = None
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._running: dict[int, _Running] = {}
        self._ready: list[Outcome] = []
        self._token = uuid.uuid4().hex[:10]
        self._topic = f"tansaku-{self._token}"

    # ---------------------------------------------------------------- lifecycle
    def start(self, objective: Any, hooks: Any) -> None:
        super().start(objective, hooks)
        if self.address is not None:
            self.client = Client(self.address)
        elif self.cluster_spec is not None:
            self._cluster = self._jobqueue_cluster(dict(self.cluster_spec))
            self.client = Client(self._cluster)
        else:
            from distributed import LocalCluster

            self._cluster = LocalCluster(
                n_workers=self.n_workers,
                threads_per_worker=self.threads_per_worker,
                processes=self.processes,
                dashboard_address=self.dashboard_address or ":0",  # any free port
                silence_logs=logging.ERROR,
            )
            self.client = Client(self._cluster)
        self.client.subscribe_topic(self._topic, lambda ev: self._events.put(("event", ev[1])))

    def _jobqueue_cluster(self, spec: dict[str, Any]) -> Any:
        try:
            import dask_jobqueue
        except ImportError:
            raise ImportError(
                "executor 'dask' with a cluster needs dask-jobqueue: " + install_hint("dask")
            ) from None
        cls = getattr(dask_jobqueue, CLUSTER_TYPES[spec.pop("type")])
        jobs = spec.pop("jobs", None)
        spec.setdefault("processes", 1)
        spec.setdefault("cores", 1)
        spec.setdefault("memory", "2GiB")
        options = dict(spec.get("scheduler_options") or {})
        options.setdefault("dashboard_address", self.dashboard_address or ":0")
        spec["scheduler_options"] = options
        try:
            cluster = cls(**spec)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{cls.__name__}: {e}", field="executor.cluster") from None
        cluster.scale(jobs=jobs or math.ceil(self.n_workers / max(1, int(spec["processes"]))))
        return cluster

    @property
    def running(self) -> int:
        return len(self._running) + len(self._ready)

    def describe(self) -> dict[str, Any]:
        where = self.address or (self.cluster_spec or {}).get("type") or "local"
        return {**super().describe(), "cluster": where}

    # ---------------------------------------------------------------- submit / wait
    def submit(self, job: Job) -> None:
        assert self.client is not None, "start() first"
        name = f"{self._topic}-{job.trial_id}"
        future = self.client.submit(
            _run_trial,
            self.runner,
            job,
            self._topic,
            name,
            self.opts,
            key=f"tansaku-trial-{job.trial_id}-{uuid.uuid4().hex[:8]}",
            pure=False,
            resources=self.resources,
        )
        self._running[job.trial_id] = _Running(job, future, name)
        tid = job.trial_id
        future.add_done_callback(lambda f: self._events.put(("done", tid)))

    def wait(self, timeout: float | None) -> list[Outcome]:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            while True:
                try:
                    kind, data = self._events.get_nowait()
                except queue.Empty:
                    break
                self._handle(kind, data)
            self._check_deadlines(time.monotonic())
            out, self._ready = self._ready, []
            now = time.monotonic()
            if out or not self._running or (end is not None and now >= end):
                return out
            delay = 0.5 if end is None else min(0.5, end - now)
            try:
                kind, data = self._events.get(timeout=max(0.0, delay))
            except queue.Empty:
                continue
            self._handle(kind, data)

    def _handle(self, kind: str, data: Any) -> None:
        if kind == "done":
            self._finish(data)
            return
        what, tid = data[0], data[1]
        r = self._running.get(tid)
        if r is None:
            return
        if what == "started":
            r.started, r.worker = time.monotonic(), data[2]
        elif what == "report":
            self._report(r, data[2], data[3])
        elif what == "attr":
            self.hooks.set_user_attr(tid, data[2], data[3])

    def _report(self, r: _Running, step: int, value: float) -> None:
        if step in r.steps and r.steps[step] == value:
            return
        r.steps[step] = value
        prune = bool(self.hooks.report(r.job.trial_id, step, value))
        if r.kill_reason is not None:
            return
        with contextlib.suppress(Exception):
            if r.decided is None:
                r.decided = Variable(f"{r.name}-prune", client=self.client)
            r.decided.set({"step": step, "prune": prune})
        if prune:
            self._stop(r, "pruned")

    def _finish(self, tid: int) -> None:
        r = self._running.pop(tid, None)
        if r is None:
            return
        f = r.future
        if f.cancelled():
            outcome = _killed(r.job, r.kill_reason or "interrupted", self._last(r))
        else:
            try:
                outcome, reports = f.result(timeout=30)
                for step, value in reports:
                    if r.steps.get(step) != value:
                        r.steps[step] = value
                        self.hooks.report(tid, step, value)
            except Exception as e:
                outcome = Outcome(
                    tid,
                    TrialState.FAILED,
                    message=f"the Dask task failed: {type(e).__name__}: {e}"[:1000],
                )
            if r.kill_reason == "timeout" and outcome.state is not TrialState.COMPLETE:
                outcome = _killed(r.job, "timeout", None)
            elif r.kill_reason == "interrupted":
                outcome.interrupted = True
        if r.worker:
            outcome.system_attrs.setdefault("dask_worker", r.worker)
        self._ready.append(outcome)
        self._forget(r)

    def _forget(self, r: _Running) -> None:
        """Drop the trial's Event and Variables from the scheduler."""
        with contextlib.suppress(Exception):
            if r.decided is not None:
                r.decided.delete()
            if r.kill_reason is not None:
                Event(f"{r.name}-stop", client=self.client).clear()
                Variable(f"{r.name}-why", client=self.client).delete()

    @staticmethod
    def _last(r: _Running) -> tuple[int, float] | None:
        if not r.steps:
            return None
        step = max(r.steps)
        return step, r.steps[step]

    # ---------------------------------------------------------------- stopping
    def _check_deadlines(self, now: float) -> None:
        for r in list(self._running.values()):
            t = r.job.timeout
            if (
                t is not None
                and r.kill_reason is None
                and r.started is not None
                and not self.runner.external
                and now - r.started > t
            ):
                self._stop(r, "timeout")
            if r.kill_at is not None and now >= r.kill_at:
                r.kill_at = None
                self._hard_kill(r)

    def cancel(self, trial_id: int, reason: CancelReason) -> None:
        r = self._running.get(trial_id)
        if r is not None and r.kill_reason is None:
            self._stop(r, reason)

    def _signal_stop(self, r: _Running, reason: str) -> None:
        with contextlib.suppress(Exception):
            Variable(f"{r.name}-why", client=self.client).set(reason)
            Event(f"{r.name}-stop", client=self.client).set()

    def _stop(self, r: _Running, reason: str) -> None:
        r.kill_reason = reason
        self._signal_stop(r, reason)
        if r.started is None:  # still queued: it will not start (or sees the cancel at once)
            r.future.cancel()
            self._running.pop(r.job.trial_id, None)
            self._ready.append(_killed(r.job, reason, self._last(r)))
            self._forget(r)
        elif not self.runner.external:
            r.kill_at = time.monotonic() + self.kill_grace

    def _hard_kill(self, r: _Running) -> None:
        """A Python trial ignored its cancel: drop the future, restart its worker process."""
        if r.job.trial_id not in self._running:
            return
        self._running.pop(r.job.trial_id)
        r.future.cancel()
        self._ready.append(_killed(r.job, r.kill_reason or "interrupted", self._last(r)))
        self._forget(r)
        if r.worker and self.client is not None:
            client, worker = self.client, r.worker

            def restart() -> None:
                try:
                    client.restart_workers([worker], timeout=60, raise_for_error=False)
                except Exception as e:  # no nanny, or the worker is already gone
                    log.warning("could not restart dask worker %s: %s", worker, e)

            threading.Thread(target=restart, daemon=True, name="tansaku-dask-restart").start()

    def shutdown(self, *, cancel: bool = True) -> None:
        if self.client is None:
            return
        if cancel:
            for r in list(self._running.values()):
                if r.kill_reason is None:
                    r.kill_reason = "interrupted"
                    self._signal_stop(r, "interrupted")
            # commands stop their own process groups: give them a moment to do so
            deadline = time.monotonic() + 2 * self.opts["check_interval"] + 2.0
            cmds = [r.future for r in self._running.values()] if self.runner.external else []
            while cmds and time.monotonic() < deadline and not all(f.done() for f in cmds):
                time.sleep(0.05)
            for r in self._running.values():
                r.future.cancel()
        self._running.clear()
        with contextlib.suppress(Exception):
            self.client.close(timeout=10)
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close(timeout=30)
        self.client = None
        self._cluster = None
