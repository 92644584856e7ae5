"""Batch schedulers: every trial (or every ``trials_per_job`` trials) is a Slurm, SGE or PBS job.

How a trial runs.  On ``submit`` the executor writes ``<trial workdir>/.tansaku/run.sh`` (see
:mod:`._jobscript`) and a job script with the scheduler directives and the user's ``setup`` lines,
submits it with the scheduler's own command, and stores the job id, the job script, its log and
the trial's stdout/stderr paths in the trial's system attributes (``hooks.set_system_attrs``)
before waiting on it.  A :class:`~tansaku.Command` runs as its rendered argv (every word
``shlex``-quoted: a parameter value never becomes shell code); a Python callable runs through
``python -m tansaku.executors._jobrun`` (the objective is pickled with cloudpickle when installed,
else pickle, so it must then be importable on the node).

How it is watched.  The trial directories must be on a filesystem the coordinator shares with the
compute nodes (as on every cluster).  Every ``check_interval`` the coordinator reads what the
trial's ``stdout.txt`` gained — ``tansaku:report step=N value=V`` lines become intermediate values
(the pruner decides at once) — and looks for the ``started`` and ``exit`` markers; the result is
parsed with the command's :class:`~tansaku.objectives.OutputParser` (Python callables leave a
``result.json``).  Every ``poll_interval`` seconds it asks the scheduler (``squeue``, ``qstat``) which
jobs are still queued, which catches jobs that ended without finishing their trial (walltime,
node failure, ``scancel`` by hand): once ``marker_grace`` seconds have passed without the trial's
``exit`` marker (shared filesystems such as NFS may show a file written on a compute node only
after their attribute-cache delay), those trials fail with the scheduler's state and the job log.

Stopping.  ``trial_timeout`` counts from the ``started`` marker (time in the queue is not timed).
A pruned or timed-out trial whose job holds no other running trial is cancelled with
``scancel``/``qdel``; in a multi-trial job a ``cancel`` file makes the job's runner stop that
trial's process group only.  Scheduler commands that fail with a transient error (controller
unreachable, socket timeout, submit limit) are retried with exponential backoff for up to
``retry_timeout`` seconds; other errors fail the trial with the command's message.  At most
``n_workers`` trials, i.e. ``ceil(n_workers / trials_per_job)`` jobs, are in the queue at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tansaku import _layout
from tansaku._check import check_number
from tansaku._errors import ConfigError
from tansaku._files import read_regular
from tansaku._records import TrialState
from tansaku.executors._base import CancelReason, Executor, Job, Outcome
from tansaku.executors._jobscript import (
    MARKERS,
    TrialScript,
    job_script,
    safe_job_name,
    trial_script,
)
from tansaku.executors._schedulers import (
    PBS,
    SGE,
    JobStatus,
    Scheduler,
    Slurm,
    check_name,
    check_words,
    resource_items,
)
from tansaku.objectives._base import read_stderr_tail, trial_env, with_stderr_line
from tansaku.objectives._callable import tail
from tansaku.objectives._output import OutputParser
from tansaku.objectives._runner import killed_outcome

__all__ = ["BatchExecutor", "PBSExecutor", "SGEExecutor", "SlurmExecutor"]

log = logging.getLogger("tansaku.executors.batch")

_TRANSIENT = re.compile(
    r"timed? ?out|try again|temporar|unavailable|unable to contact|connect|refused|commlib|"
    r"busy|submit limit|MaxSubmit|too many|transport|socket|gdi request|communication",
    re.IGNORECASE,
)


class SchedulerCommandError(RuntimeError):
    pass


@dataclass
class _Trial:
    job: Job
    workdir: Path
    parser: OutputParser
    python: bool
    batch: _BatchJob | None = None
    offset: int = 0
    started: float | None = None  # coordinator's monotonic time when the started marker was seen
    kill_reason: str | None = None
    done: bool = False
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def markers(self) -> Path:
        return self.workdir / MARKERS


@dataclass
class _BatchJob:
    job_id: str
    trials: list[_Trial]
    script: Path
    log: Path
    status: str = "pending"
    detail: str = ""
    gone_since: float | None = None
    cancelled: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)


class BatchExecutor(Executor):
    """Shared machinery; use :class:`SlurmExecutor`, :class:`SGEExecutor` or :class:`PBSExecutor`."""

    scheduler: Scheduler
    needs_workdir = True
    gpu_slots_in_job = True  # the job script gives each of its trials its devices

    def _configure(
        self,
        *,
        n_workers: int,
        queue: str | None = None,
        account: str | None = None,
        group: str | None = None,
        project: str | None = None,
        resources: Mapping[str, Any] | None = None,
        directives: Sequence[str] | None = None,
        setup: Sequence[str] | None = None,
        trials_per_job: int = 1,
        poll_interval: float = 10.0,
        check_interval: float = 0.25,
        marker_grace: float = 30.0,
        retry_timeout: float = 120.0,
        export_env: bool = True,
        python: str | None = None,
        job_name: str | None = None,
        bin_dir: str | None = None,
        mode: str = "trials",
        jobs: int | None = None,
    ) -> None:
        super().__init__(n_workers=n_workers)
        if mode not in ("trials", "workers"):
            raise ConfigError(
                f"must be trials (a job per trial) or workers (an array of tansaku worker "
                f"jobs), got {mode!r}",
                field="mode",
            )
        if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
            raise ConfigError(f"must be a positive integer, got {jobs!r}", field="jobs")
        if jobs is not None and mode != "workers":
            raise ConfigError("only applies with mode: workers", field="jobs")
        #: "workers": ``tansaku run`` submits one array of ``jobs`` tasks, each a ``tansaku
        #: worker`` (:mod:`._arrays`); the executor then runs no trial itself
        self.mode = mode
        self.jobs = jobs if jobs is not None else 1
        self.queue = check_name(queue, field="queue")
        self.account = check_name(account, field="account")
        self.group = check_name(group, field="group")
        self.project = check_name(project, field="project")
        self.resources = resource_items(resources, field="resources")
        self.extra_directives = check_words(directives, field="directives")
        self.setup = check_words(setup, field="setup")
        for name, value in (
            ("trials_per_job", trials_per_job),
            ("poll_interval", poll_interval),
            ("check_interval", check_interval),
            ("marker_grace", marker_grace),
            ("retry_timeout", retry_timeout),
        ):
            check_number(value, name)
        if not isinstance(trials_per_job, int):
            raise ConfigError(
                f"must be a positive integer, got {trials_per_job!r}", field="trials_per_job"
            )
        if not isinstance(export_env, bool):
            raise ConfigError(f"must be true or false, got {export_env!r}", field="export_env")
        if python is not None and (not isinstance(python, str) or not python.strip()):
            raise ConfigError("must be the path of a python interpreter", field="python")
        self.trials_per_job = trials_per_job
        self.poll_interval = float(poll_interval)
        self.check_interval = float(check_interval)
        self.marker_grace = float(marker_grace)
        self.retry_timeout = float(retry_timeout)
        self.export_env = export_env
        self.python = python or sys.executable
        self.job_name = check_name(job_name, field="job_name")
        if bin_dir is not None and (not isinstance(bin_dir, str) or not bin_dir.strip()):
            raise ConfigError(
                "must be the directory holding the scheduler's commands", field="bin_dir"
            )
        # where qsub/qstat/qdel (sbatch/squeue/scancel) are: PBS and Grid Engine both install
        # a qsub, so a machine with both names PBS's directory (e.g. /opt/pbs/bin)
        self.bin_dir = None if bin_dir is None else Path(bin_dir).expanduser()
        self._trials: dict[int, _Trial] = {}
        self._buffer: list[_Trial] = []
        self._jobs: dict[str, _BatchJob] = {}
        self._ready: list[Outcome] = []
        self._next_poll = 0.0
        self._poll_failures = 0
        self._objective_file: Path | None = None
        self._token = uuid.uuid4().hex[:8]

    # ---------------------------------------------------------------- protocol
    @property
    def running(self) -> int:
        return len(self._trials) + len(self._ready)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "queue": self.queue,
            "account": self.account,
            "group": self.group,
            "project": self.project,
            "trials_per_job": self.trials_per_job,
            **({"mode": "workers", "jobs": self.jobs} if self.mode == "workers" else {}),
        }

    def start(self, objective: Any, hooks: Any) -> None:
        if self.mode == "workers":
            raise ConfigError(
                "mode: workers submits an array of `tansaku worker` jobs: start it with "
                "`tansaku run CONFIG`, not study.optimize",
                field="executor.mode",
            )
        super().start(objective, hooks)

    def submit(self, job: Job) -> None:
        workdir = Path(job.workdir or _layout.default_trial_dir(job.study_name, job.number))
        tr = _Trial(
            job=replace(job, workdir=workdir.resolve()),
            workdir=workdir.resolve(),
            parser=self.runner.output_parser(),
            python=not self.runner.external,
        )
        tr.parser.on_report = lambda step, value, tr=tr: self._on_report(tr, step, value)
        self._trials[job.trial_id] = tr
        self._buffer.append(tr)
        if len(self._buffer) >= self.trials_per_job:
            self._flush()

    def wait(self, timeout: float | None) -> list[Outcome]:
        self._flush()
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            now = time.monotonic()
            self._check(now)
            if now >= self._next_poll and any(not j.cancelled for j in self._jobs.values()):
                self._poll(now)
            out, self._ready = self._ready, []
            if out or not self._trials or (end is not None and now >= end):
                return out
            delay = self.check_interval
            if end is not None:
                delay = min(delay, max(0.0, end - now))
            time.sleep(delay)

    def cancel(self, trial_id: int, reason: CancelReason) -> None:
        tr = self._trials.get(trial_id)
        if tr is None or tr.done:
            return
        if tr.kill_reason is None:
            tr.kill_reason = reason
        if tr.batch is None:  # still buffered: never submitted
            self._buffer.remove(tr)
            self._end(tr, self._killed_outcome(tr))
            return
        self._write_marker(tr, "cancel", reason)
        b = tr.batch
        if all(t.done or t.kill_reason is not None for t in b.trials) and not b.cancelled:
            try:
                self._call(self.scheduler.cancel_argv([b.job_id]), what="cancel")
                b.cancelled = True
            except SchedulerCommandError as e:  # the cancel file still stops the trial
                log.warning("could not cancel job %s: %s", b.job_id, e)
        if b.cancelled:  # (no output read here: cancel may be called from inside a read)
            self._end(tr, self._killed_outcome(tr))

    def shutdown(self, *, cancel: bool = True) -> None:
        if not cancel:
            return
        live = [b for b in self._jobs.values() if not b.cancelled]
        for tr in self._trials.values():
            if tr.batch is not None and not tr.done:
                with contextlib.suppress(OSError):
                    self._write_marker(tr, "cancel", "interrupted")
        if live:
            try:
                self._call(
                    self.scheduler.cancel_argv([b.job_id for b in live]),
                    what="cancel",
                    retry_for=10.0,
                )
            except SchedulerCommandError as e:
                log.warning("could not cancel jobs %s: %s", ", ".join(b.job_id for b in live), e)
        self._jobs.clear()
        self._trials.clear()
        self._buffer.clear()

    # ---------------------------------------------------------------- submitting
    def _flush(self) -> None:
        while self._buffer:
            batch, self._buffer = (
                self._buffer[: self.trials_per_job],
                self._buffer[self.trials_per_job :],
            )
            self._submit_batch(batch)

    def _runner_argv(self, tr: _Trial) -> tuple[list[str], Path, dict[str, str]]:
        job = tr.job
        if self.runner.external:
            return self.runner.argv(job)
        payload = {
            "objective": str(self._pickle_objective(tr.workdir.parent)),
            "trial_id": job.trial_id,
            "number": job.number,
            "params": dict(job.params),
            "study_name": job.study_name,
            "workdir": str(tr.workdir),
            "seed": job.seed,
            "extra_env": dict(job.extra_env),  # setup_dir, parent_dir, ... (make_trial reads them)
            # define-by-run: what trial.suggest_* checks against and draws new names from
            "known": None if job.known is None else {k: dict(v) for k, v in job.known.items()},
            "learned": list(job.learned),
            "draw_seed": job.draw_seed,
            # like multiprocessing's spawn: the job can import what the coordinator could
            "sys_path": [p for p in sys.path if p],
        }
        spec = tr.markers / "job.json"
        spec.write_text(json.dumps(payload, default=str))
        env = {
            **trial_env(job),
            "TANSAKU_WORKDIR": str(tr.workdir),
            **dict(job.extra_env),
        }
        return [self.python, "-m", "tansaku.executors._jobrun", str(spec)], tr.workdir, env

    def _pickle_objective(self, root: Path) -> Path:
        if self._objective_file is None:
            try:
                import cloudpickle

                data = cloudpickle.dumps(self.objective)
            except ImportError:
                data = pickle.dumps(self.objective)
            root.mkdir(parents=True, exist_ok=True)
            path = root / f".tansaku-objective-{self._token}.pkl"
            path.write_bytes(data)
            self._objective_file = path
        return self._objective_file

    def _submit_batch(self, batch: list[_Trial]) -> None:
        runners = []
        try:
            for tr in batch:
                tr.markers.mkdir(parents=True, exist_ok=True)
                self._cancel_earlier_attempt(tr)
                for stale in ("started", "exit", "cancel", "result.json"):
                    with contextlib.suppress(FileNotFoundError):
                        (tr.markers / stale).unlink()
                argv, cwd, env = self._runner_argv(tr)
                cwd.mkdir(parents=True, exist_ok=True)
                grace = self.runner.kill_grace
                runner = tr.markers / "run.sh"
                runner.write_text(
                    trial_script(TrialScript(tr.workdir, cwd, argv, env, grace, tr.token))
                )
                runners.append(runner)
            first = batch[0]
            if len(batch) == 1:
                home = first.workdir
            else:
                home = _layout.job_dir(first.workdir.parent, first.job.number, self._token)
                home.mkdir(parents=True, exist_ok=True)
            script, job_log = home / "job.sh", home / "job.log"
            name = self.job_name or safe_job_name(
                f"tansaku-{first.job.study_name}-{first.job.number}"
            )
            numbers = ", ".join(str(t.job.number) for t in batch)
            script.write_text(
                job_script(
                    directives=self.scheduler.directives(
                        job_name=name,
                        log=job_log,
                        queue=self.queue,
                        account=self.account,
                        group=self.group,
                        project=self.project,
                        resources=self.resources,
                        extra=self.extra_directives,
                        export_env=self.export_env,
                    ),
                    setup=self.setup,
                    runners=runners,
                    comment=f"tansaku: study {first.job.study_name}, trial(s) {numbers}",
                    gpus=self.gpu_plan,
                )
            )
        except (
            OSError,
            ConfigError,
            KeyError,
            pickle.PicklingError,
            TypeError,
            AttributeError,
        ) as e:
            for tr in batch:
                self._end(
                    tr,
                    Outcome(
                        tr.job.trial_id,
                        TrialState.FAILED,
                        message=f"cannot write the job script: {e}",
                    ),
                )
            return
        try:
            out = self._call(self.scheduler.submit_argv(script), what="submit", cwd=home)
            job_id = self.scheduler.parse_job_id(out)
        except (SchedulerCommandError, ValueError) as e:
            for tr in batch:
                self._end(tr, Outcome(tr.job.trial_id, TrialState.FAILED, message=str(e)[:1000]))
            return
        b = _BatchJob(job_id, list(batch), script, job_log)
        self._jobs[job_id] = b
        for tr in batch:
            tr.batch = b
            with contextlib.suppress(OSError):
                self._write_marker(tr, "job", f"{self.scheduler.name} {job_id}")
            self.hooks.set_system_attrs(
                tr.job.trial_id,
                {
                    "job_id": job_id,
                    "scheduler": self.scheduler.name,
                    "workdir": str(tr.workdir),
                    "stdout": str(tr.workdir / "stdout.txt"),
                    "stderr": str(tr.workdir / "stderr.txt"),
                    "job_script": str(script),
                    "job_log": str(job_log),
                },
            )

    # ---------------------------------------------------------------- scheduler commands
    def _call(
        self, argv: list[str], *, what: str, cwd: Path | None = None, retry_for: float | None = None
    ) -> str:
        """Run a scheduler command; retry transient failures with exponential backoff."""
        deadline = time.monotonic() + (self.retry_timeout if retry_for is None else retry_for)
        delay = 0.5
        argv = self._command(argv)
        while True:
            try:
                r = subprocess.run(
                    argv,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                )
                if r.returncode == 0:
                    return r.stdout
                msg = r.stderr.strip() or r.stdout.strip() or f"exit code {r.returncode}"
                transient = bool(_TRANSIENT.search(msg))
            except FileNotFoundError:
                raise SchedulerCommandError(
                    f"{argv[0]} not found: is this a {self.scheduler.name} cluster?"
                ) from None
            except subprocess.TimeoutExpired:
                msg, transient = f"{argv[0]} timed out after 60 s", True
            except OSError as e:
                msg, transient = f"{argv[0]}: {e}", False
            msg = " ".join(msg.split())[:500]
            if not transient or time.monotonic() + delay > deadline:
                raise SchedulerCommandError(f"{what} failed: {' '.join(argv[:1])}: {msg}")
            log.warning("%s failed (%s); retrying in %.1f s", argv[0], msg, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _command(self, argv: list[str]) -> list[str]:
        """``argv`` with its program taken from ``bin_dir`` when one is set."""
        if self.bin_dir is None:
            return argv
        return [str(self.bin_dir / argv[0]), *argv[1:]]

    def _poll(self, now: float) -> None:
        active = [b for b in self._jobs.values() if not b.cancelled]
        ids = [b.job_id for b in active]
        statuses: dict[str, JobStatus] = {}
        try:
            r = subprocess.run(
                self._command(self.scheduler.status_argv(ids)),
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )
            failed = r.returncode != 0 and not self.scheduler.status_error_means_gone(r.stderr)
            if failed and not r.stdout.strip():
                raise SchedulerCommandError(" ".join((r.stderr or r.stdout).split())[:300])
            statuses = self.scheduler.parse_status(r.stdout, ids)
        except (OSError, subprocess.TimeoutExpired, SchedulerCommandError) as e:
            self._poll_failures += 1
            backoff = min(2**self._poll_failures, 8)
            log.warning(
                "polling %s failed (%s); next try in %.0f s",
                self.scheduler.name,
                e,
                self.poll_interval * backoff,
            )
            self._next_poll = now + self.poll_interval * backoff
            return
        self._poll_failures = 0
        self._next_poll = now + self.poll_interval
        for b in active:
            st = statuses.get(b.job_id)
            if st is None or st.state == "done":
                b.status, b.detail = "gone", (st.detail if st else "left the queue")
                if b.gone_since is None:
                    b.gone_since = now
            elif st.state == "error":
                b.status, b.detail = "error", st.detail
                with contextlib.suppress(SchedulerCommandError):
                    self._call(self.scheduler.cancel_argv([b.job_id]), what="cancel", retry_for=5)
                b.cancelled = True
                for tr in b.trials:
                    if not tr.done:
                        self._read_output(tr)
                        self._end(
                            tr,
                            Outcome(
                                tr.job.trial_id,
                                TrialState.FAILED,
                                message=(
                                    f"{self.scheduler.name} job {b.job_id} is in error state {st.detail};"
                                    " deleted it (the scheduler says why: qstat -j ID / job log)"
                                ),
                                stderr=self._log_tail(b) or None,
                            ),
                        )
            else:
                b.status, b.detail = st.state, st.detail

    # ---------------------------------------------------------------- watching trials
    def _check(self, now: float) -> None:
        for tr in list(self._trials.values()):
            if tr.done or tr.batch is None:
                continue
            self._read_output(tr)
            if tr.started is None and self._read_marker(tr, "started") is not None:
                tr.started = now
                if tr.batch.status == "pending":
                    tr.batch.status = "running"
            exit_text = self._read_marker(tr, "exit")
            if exit_text is not None:
                self._read_output(tr)
                self._end(tr, self._finished_outcome(tr, exit_text))
                continue
            t = tr.job.timeout
            if (
                t is not None
                and tr.started is not None
                and tr.kill_reason is None
                and now - tr.started > t
            ):
                self.cancel(tr.job.trial_id, "timeout")
                continue
            b = tr.batch
            if b.gone_since is not None and now - b.gone_since > self.marker_grace:
                self._read_output(tr)
                self._end(tr, self._vanished_outcome(tr))
        for job_id in [j for j, b in self._jobs.items() if all(t.done for t in b.trials)]:
            del self._jobs[job_id]

    def _on_report(self, tr: _Trial, step: int, value: float) -> None:
        if tr.done or tr.kill_reason is not None:
            return
        if self.hooks.report(tr.job.trial_id, step, value):
            self.cancel(tr.job.trial_id, "pruned")

    def _read_output(self, tr: _Trial) -> None:
        path = tr.workdir / "stdout.txt"
        try:
            data, _ = read_regular(path, 4 * 1024 * 1024, offset=tr.offset)
        except FileNotFoundError:
            return
        except OSError:  # e.g. the program replaced it with a FIFO: nothing to read there
            return
        if data:
            tr.offset += len(data)
            tr.parser.feed(data)

    @staticmethod
    def _read_marker(tr: _Trial, name: str) -> str | None:
        """A marker's text; ``started`` and ``exit`` only if this submission wrote them."""
        try:
            data, _ = read_regular(tr.markers / name, 4096)
        except OSError:  # missing, or not a regular file: not a marker we wrote
            return None
        text = data.decode("utf-8", errors="replace")
        if name in ("started", "exit"):
            parts = text.split()
            if not parts or parts[-1] != tr.token:
                return None  # not yet complete, or left by an earlier attempt's job
        return text

    def _cancel_earlier_attempt(self, tr: _Trial) -> None:
        """A trial re-queued after its coordinator died may still have its old job running (it
        would write into the same directory): cancel it, if it was ours to cancel."""
        old = self._read_marker(tr, "job")
        if old is None:
            return
        parts = old.split()
        if len(parts) == 2 and parts[0] == self.scheduler.name and parts[1] not in self._jobs:
            with contextlib.suppress(SchedulerCommandError):
                self._call(self.scheduler.cancel_argv([parts[1]]), what="cancel", retry_for=0)

    @staticmethod
    def _write_marker(tr: _Trial, name: str, text: str) -> None:
        tr.markers.mkdir(parents=True, exist_ok=True)
        tmp = tr.markers / f".{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, tr.markers / name)

    def _end(self, tr: _Trial, outcome: Outcome) -> None:
        if tr.done:
            return
        tr.done = True
        tr.parser.close()
        self._trials.pop(tr.job.trial_id, None)
        started = self._read_marker(tr, "started") if tr.batch is not None else None
        if started:
            parts = started.split()
            with contextlib.suppress(ValueError, IndexError):
                outcome.system_attrs["job_started_at"] = float(parts[0])
                outcome.system_attrs["job_host"] = parts[1]
        ended = self._read_marker(tr, "exit") if tr.batch is not None else None
        if ended:
            with contextlib.suppress(ValueError, IndexError):
                outcome.system_attrs["job_ended_at"] = float(ended.split()[1])
        if tr.batch is not None:
            outcome.system_attrs.setdefault("job_id", tr.batch.job_id)
        self._ready.append(outcome)

    # ---------------------------------------------------------------- outcomes
    def _stderr_tail(self, tr: _Trial) -> str:
        return read_stderr_tail(tr.workdir / "stderr.txt")

    @staticmethod
    def _log_tail(b: _BatchJob) -> str:
        try:
            return tail(b.log.read_text(errors="replace"), 2000)
        except OSError:
            return ""

    def _killed_outcome(self, tr: _Trial) -> Outcome:
        return killed_outcome(
            tr.job,
            str(tr.kill_reason),
            tr.parser.last_report,
            stderr=self._stderr_tail(tr) or None,
            user_attrs=None if tr.python else tr.parser.user_attrs(),
        )

    def _finished_outcome(self, tr: _Trial, exit_text: str) -> Outcome:
        if tr.kill_reason is not None:
            return self._killed_outcome(tr)
        try:
            code = int(exit_text.split()[0])
        except (ValueError, IndexError):
            code = -1
        stderr = self._stderr_tail(tr)
        attrs: dict[str, Any] = {"returncode": code, "workdir": str(tr.workdir)}
        if tr.python:
            return self._python_outcome(tr, code, stderr, attrs)
        return self.runner.command_outcome(
            tr.job, code, tr.parser, stderr, printed=tr.offset > 0, attrs=attrs
        )

    def _python_outcome(self, tr: _Trial, code: int, stderr: str, attrs: dict[str, Any]) -> Outcome:
        tid = tr.job.trial_id
        try:
            res = json.loads(read_regular(tr.markers / "result.json", 16 * 1024 * 1024)[0])
            if not isinstance(res, dict):
                raise ValueError("not an object")
        except (OSError, ValueError, RecursionError):
            return Outcome(
                tid,
                TrialState.FAILED,
                stderr=stderr,
                system_attrs=attrs,
                message=with_stderr_line(
                    f"the Python job runner failed (exit code {code}) before writing a result",
                    stderr,
                ),
            )
        state = TrialState(res.get("state", "failed"))
        return Outcome(
            tid,
            state,
            value=res.get("value"),
            message=res.get("message"),
            stderr=res.get("stderr") or stderr or None,
            system_attrs=attrs,
            user_attrs=dict(res.get("user_attrs") or {}),
            values=tuple(res["values"]) if isinstance(res.get("values"), list) else None,
            constraints=dict(res.get("constraints") or {}),
            params=res["params"] if isinstance(res.get("params"), dict) else None,
            suggested=res["suggested"] if isinstance(res.get("suggested"), dict) else None,
        )

    def _vanished_outcome(self, tr: _Trial) -> Outcome:
        b = tr.batch
        assert b is not None
        detail = b.detail
        argv = self.scheduler.explain_argv(b.job_id)
        if argv is not None:
            with contextlib.suppress(SchedulerCommandError):
                text = self._call(argv, what="explain", retry_for=0)
                found = re.findall(r"\b(JobState|Reason|ExitCode)=(\S+)", text)
                if found:
                    detail = " ".join(f"{k}={v}" for k, v in found)
        where = "before starting the trial" if tr.started is None else "before the trial finished"
        return Outcome(
            tr.job.trial_id,
            TrialState.FAILED,
            message=f"{self.scheduler.name} job {b.job_id} ended {where} ({detail})",
            stderr=(self._stderr_tail(tr) + self._log_tail(b)) or None,
        )


class SlurmExecutor(BatchExecutor):
    """Trials as Slurm jobs (``sbatch``/``squeue``/``scancel``).

    ``resources`` become ``#SBATCH --key=value`` lines (``{cpus-per-task: 4, mem: 8G,
    gres: "gpu:1", time: "01:00:00", qos: normal}``); ``directives`` are extra raw options.
    """

    name = "slurm"

    def __init__(
        self,
        *,
        n_workers: int = 1,
        partition: str | None = None,
        account: str | None = None,
        resources: Mapping[str, Any] | None = None,
        directives: Sequence[str] | None = None,
        setup: Sequence[str] | None = None,
        trials_per_job: int = 1,
        poll_interval: float = 10.0,
        check_interval: float = 0.25,
        marker_grace: float = 30.0,
        retry_timeout: float = 120.0,
        export_env: bool = True,
        python: str | None = None,
        job_name: str | None = None,
        bin_dir: str | None = None,
        mode: str = "trials",
        jobs: int | None = None,
    ) -> None:
        self.scheduler = Slurm()
        self._configure(
            n_workers=n_workers,
            queue=partition,
            account=account,
            resources=resources,
            directives=directives,
            setup=setup,
            trials_per_job=trials_per_job,
            poll_interval=poll_interval,
            check_interval=check_interval,
            marker_grace=marker_grace,
            retry_timeout=retry_timeout,
            export_env=export_env,
            python=python,
            job_name=job_name,
            bin_dir=bin_dir,
            mode=mode,
            jobs=jobs,
        )


class SGEExecutor(BatchExecutor):
    """Trials as Grid Engine jobs (``qsub``/``qstat``/``qdel``), e.g. ABCI 2.0::

        executor: {name: sge, group: gxx, resources: {rt_F: 1, h_rt: "1:00:00"}}

    ``resources`` become ``#$ -l key=value`` lines; ``group`` is ``-g`` (UGE), ``project``
    ``-P``, ``account`` ``-A``; ``directives`` are extra raw options (``-pe smp 4``).
    """

    name = "sge"

    def __init__(
        self,
        *,
        n_workers: int = 1,
        queue: str | None = None,
        group: str | None = None,
        project: str | None = None,
        account: str | None = None,
        resources: Mapping[str, Any] | None = None,
        directives: Sequence[str] | None = None,
        setup: Sequence[str] | None = None,
        trials_per_job: int = 1,
        poll_interval: float = 10.0,
        check_interval: float = 0.25,
        marker_grace: float = 30.0,
        retry_timeout: float = 120.0,
        export_env: bool = True,
        python: str | None = None,
        job_name: str | None = None,
        bin_dir: str | None = None,
        mode: str = "trials",
        jobs: int | None = None,
    ) -> None:
        self.scheduler = SGE()
        self._configure(
            n_workers=n_workers,
            queue=queue,
            group=group,
            project=project,
            account=account,
            resources=resources,
            directives=directives,
            setup=setup,
            trials_per_job=trials_per_job,
            poll_interval=poll_interval,
            check_interval=check_interval,
            marker_grace=marker_grace,
            retry_timeout=retry_timeout,
            export_env=export_env,
            python=python,
            job_name=job_name,
            bin_dir=bin_dir,
            mode=mode,
            jobs=jobs,
        )


class PBSExecutor(BatchExecutor):
    """Trials as PBS Pro / OpenPBS jobs (``qsub``/``qstat -f -F json``/``qdel``), e.g. ABCI 3.0::

        executor: {name: pbs, queue: rt_HF, project: gxx, resources: {select: 1, walltime: "1:00:00"}}

    ``resources`` become ``#PBS -l key=value`` lines; ``project`` (or ``group``) is ``-P``,
    ``account`` ``-A``.
    """

    name = "pbs"

    def __init__(
        self,
        *,
        n_workers: int = 1,
        queue: str | None = None,
        project: str | None = None,
        group: str | None = None,
        account: str | None = None,
        resources: Mapping[str, Any] | None = None,
        directives: Sequence[str] | None = None,
        setup: Sequence[str] | None = None,
        trials_per_job: int = 1,
        poll_interval: float = 10.0,
        check_interval: float = 0.25,
        marker_grace: float = 30.0,
        retry_timeout: float = 120.0,
        export_env: bool = True,
        python: str | None = None,
        job_name: str | None = None,
        bin_dir: str | None = None,
        mode: str = "trials",
        jobs: int | None = None,
    ) -> None:
        self.scheduler = PBS()
        self._configure(
            n_workers=n_workers,
            queue=queue,
            project=project,
            group=group,
            account=account,
            resources=resources,
            directives=directives,
            setup=setup,
            trials_per_job=trials_per_job,
            poll_interval=poll_interval,
            check_interval=check_interval,
            marker_grace=marker_grace,
            retry_timeout=retry_timeout,
            export_env=export_env,
            python=python,
            job_name=job_name,
            bin_dir=bin_dir,
            mode=mode,
            jobs=jobs,
        )
