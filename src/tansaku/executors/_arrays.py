"""Job arrays of workers: ``executor: {name: slurm|sge|pbs, mode: workers, jobs: N}``.

For long allocations a job per trial costs a scheduler round trip per trial (about a second on
Slurm, more on a busy cluster).  In ``mode: workers`` ``tansaku run`` instead submits ONE array
job of ``jobs`` tasks (``sbatch --array=0-N-1``, ``qsub -t 1-N``, ``qsub -J 0-N-1``; PBS rejects
``-J 1-1``, so one task is a plain job).  Every task runs ``tansaku worker --storage URL --study
NAME`` on the shared study: it takes trials from the same atomic budget as any worker (the study
ends with exactly ``n_trials`` finished trials, whoever ran them), runs ``trials_per_job`` of them
at once with the local executor on its node, and exits when the study is done.  A task that dies
(walltime, node failure, ``kill -9``) leaves RUNNING trials whose heartbeat stops: the other
tasks re-queue them after ``stale_after`` seconds and run them again.

What the job script does, in order: the scheduler directives (the executor's queue, account,
project, resources, directives, ``-V``/``--export=ALL`` unless ``export_env: false``), the user's
``setup`` lines, ``cd`` into the config's directory (PBS starts jobs in ``$HOME`` with a bare
``PATH``), one line ``tansaku worker-array task I of N on HOST`` in the task's log, then ``exec``
of the executor's ``python`` (default: the interpreter running ``tansaku run``, by absolute
path) ``-m tansaku worker``.  Scripts and per-task logs (``task-I.log``) go to
``<run dir>/jobs/workers-<token>/``.

The storage must be one every task reaches: PostgreSQL, or ``journal:///`` on a shared
filesystem.  ``sqlite:///`` works only when every task runs on the host that holds the file.

``tansaku run`` waits for the array, printing the study's counts as they change; Ctrl-C (or the
scheduler's SIGTERM) cancels the array (``scancel``/``qdel``).  The storage URL is written into
the job script (mode 0700).
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tansaku import _layout
from tansaku.executors._batch import BatchExecutor, SchedulerCommandError
from tansaku.executors._jobscript import safe_job_name
from tansaku.executors._schedulers import JobStatus

__all__ = ["WorkerArray", "is_worker_array", "run_worker_array", "submit_worker_array"]

log = logging.getLogger("tansaku.executors.arrays")


def is_worker_array(spec: Any) -> bool:
    """Whether an executor spec (a config's ``executor:``) asks for an array of workers."""
    if isinstance(spec, BatchExecutor):
        return spec.mode == "workers"
    return isinstance(spec, Mapping) and spec.get("mode") == "workers"


@dataclass
class WorkerArray:
    """One submitted array job of ``tansaku worker`` tasks."""

    executor: BatchExecutor
    job_id: str
    script: Path
    log_dir: Path
    n_tasks: int

    def state(self) -> JobStatus | None:
        """The whole array's state (see ``Scheduler.array_state``), or None when the scheduler
        could not be asked this time (the caller asks again later)."""
        ex = self.executor
        argv = ex._command(ex.scheduler.array_status_argv(self.job_id))
        try:
            r = subprocess.run(
                argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            log.warning("polling %s failed (%s)", ex.scheduler.name, e)
            return None
        if r.returncode != 0 and not r.stdout.strip():
            if ex.scheduler.status_error_means_gone(r.stderr):
                return JobStatus("done", "left the queue")
            log.warning("polling %s failed (%s)", ex.scheduler.name, " ".join(r.stderr.split()))
            return None
        return ex.scheduler.array_state(r.stdout, self.job_id)

    def cancel(self) -> None:
        ex = self.executor
        try:
            ex._call(ex.scheduler.cancel_argv([self.job_id]), what="cancel", retry_for=10.0)
        except SchedulerCommandError as e:
            log.warning("could not cancel the worker array %s: %s", self.job_id, e)


def worker_script(
    ex: BatchExecutor,
    *,
    storage_url: str,
    study_name: str,
    cwd: Path,
    log_dir: Path,
    job_name: str,
) -> str:
    """The array job's script (see the module docstring); every word from a value is quoted."""
    q = shlex.quote
    sch = ex.scheduler
    n = ex.jobs
    lines = [
        "#!/bin/bash",
        *sch.directives(
            job_name=job_name,
            log=sch.array_log(log_dir, n),
            queue=ex.queue,
            account=ex.account,
            group=ex.group,
            project=ex.project,
            resources=ex.resources,
            extra=ex.extra_directives,
            export_env=ex.export_env,
        ),
        *sch.array_directives(n),
        f"# tansaku: study {' '.join(study_name.split())}, an array of {n} workers",
    ]
    if ex.setup:
        lines.append("set -e  # a failing setup line fails the task, with its message in its log")
        lines.extend(ex.setup)
        lines.append("set +e")
    argv = [ex.python, "-m", "tansaku", "worker", "--storage", storage_url, "--study", study_name]
    argv += ["--n-workers", str(ex.trials_per_job), "--quiet"]
    lines += [
        f"export TANSAKU_ARRAY_TASK={sch.task_index}",
        f'echo "tansaku worker-array task $TANSAKU_ARRAY_TASK of {n} on $(hostname)"',
        f"cd {q(str(cwd))} || exit 1",
        "exec " + " ".join(q(a) for a in argv),
    ]
    return "\n".join(lines) + "\n"


def submit_worker_array(
    ex: BatchExecutor, *, storage_url: str, study_name: str, cwd: Path, run_dir: Path
) -> WorkerArray:
    """Write the array's script under ``<run_dir>/jobs/`` and submit it; raises
    :class:`SchedulerCommandError` (or ``ValueError`` for an unreadable job id) if that fails."""
    home = _layout.jobs_dir(run_dir) / f"workers-{uuid.uuid4().hex[:8]}"
    home.mkdir(parents=True, exist_ok=True)
    script = home / "job.sh"
    name = ex.job_name or safe_job_name(f"tansaku-{study_name}-workers")
    script.write_text(
        worker_script(
            ex,
            storage_url=storage_url,
            study_name=study_name,
            cwd=cwd,
            log_dir=home,
            job_name=name,
        )
    )
    script.chmod(0o700)  # it holds the storage URL
    out = ex._call(ex.scheduler.submit_argv(script), what="submit", cwd=home)
    return WorkerArray(ex, ex.scheduler.parse_job_id(out), script, home, ex.jobs)


def run_worker_array(
    ex: BatchExecutor,
    study: Any,
    *,
    storage_url: str,
    cwd: Path,
    run_dir: Path,
    n_trials: int | None,
    out: TextIO | None = sys.stderr,
) -> str | None:
    """Submit the array, wait until all its tasks have left the queue, and return None, or a
    one-line error (submit failed, a task the scheduler will never run, fewer than ``n_trials``
    finished trials when the array ended).  Progress lines go to ``out`` (None: quiet); an
    interrupt cancels the array and propagates."""
    try:
        arr = submit_worker_array(
            ex, storage_url=storage_url, study_name=study.name, cwd=cwd, run_dir=run_dir
        )
    except (SchedulerCommandError, ValueError, OSError) as e:
        return f"could not submit the worker array: {e}"
    if out is not None:
        print(
            f"submitted {ex.scheduler.name} job {arr.job_id}: {arr.n_tasks} tansaku worker "
            f"task(s); logs in {arr.log_dir}",
            file=out,
            flush=True,
        )
    shown = None
    try:
        while True:
            st = arr.state()
            c = study.counts()
            line = f"{c.done} done, {c.running} running, {c.failed} failed"
            if st is not None:
                line += f" (array {st.state})"
            if out is not None and line != shown:
                print(f"worker array {arr.job_id}: {line}", file=out, flush=True)
                shown = line
            if st is not None and st.state == "error":
                arr.cancel()
                return (
                    f"{ex.scheduler.name} job {arr.job_id} has a task in error state; deleted "
                    f"it (see qstat -j {arr.job_id} and the logs in {arr.log_dir})"
                )
            if st is not None and st.state == "done":
                break
            time.sleep(ex.poll_interval)
    except BaseException:
        with contextlib.suppress(Exception):
            arr.cancel()
        raise
    c = study.counts()
    if n_trials is not None and c.done < n_trials:
        return (
            f"the worker array {arr.job_id} ended with {c.done} of {n_trials} trials done; "
            f"see the task logs in {arr.log_dir}"
        )
    return None
