"""What differs between batch schedulers: directives, and the commands to submit, poll, cancel.

Each :class:`Scheduler` turns options into directive lines and builds/parses the argv of the
scheduler's own commands; it runs nothing itself (the executor runs the commands, with retries).

=========  ===========================  ==========================================  ============
scheduler  submit                       poll                                        cancel
=========  ===========================  ==========================================  ============
Slurm      ``sbatch --parsable job.sh``  ``squeue --states=all --jobs=ID,...``       ``scancel``
SGE/UGE    ``qsub -terse job.sh``        ``qstat -u USER`` (finished jobs vanish)    ``qdel``
PBS Pro    ``qsub job.sh``               ``qstat -x -f ID ...``                      ``qdel``
=========  ===========================  ==========================================  ============

A job missing from the poll output has left the queue.  ``JobStatus.state`` is one of
``pending``, ``running``, ``done`` (ended; the trial's own exit marker tells how), or ``error``
(the scheduler will never run it, e.g. SGE ``Eqw``; the executor deletes it).
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tansaku._errors import ConfigError

__all__ = [
    "PBS",
    "SCHEDULERS",
    "SGE",
    "JobStatus",
    "Scheduler",
    "Slurm",
    "check_name",
    "check_words",
    "resource_items",
]


@dataclass(frozen=True)
class JobStatus:
    state: str  # pending | running | done | error
    detail: str = ""


def resource_items(resources: Any, *, field: str) -> list[tuple[str, str | None]]:
    """``{rt_F: 1, h_rt: "1:00:00"}`` -> ``[("rt_F", "1"), ("h_rt", "1:00:00")]``; True -> flag."""
    if resources is None:
        return []
    if not isinstance(resources, Mapping):
        raise ConfigError("must map resource names to values, e.g. {h_rt: '1:00:00'}", field=field)
    out: list[tuple[str, str | None]] = []
    for key, value in resources.items():
        if not isinstance(key, str) or not re.fullmatch(r"-{0,2}[A-Za-z_][\w.-]*", key):
            raise ConfigError(f"invalid resource name {key!r}", field=field)
        if value is True:
            out.append((key, None))
        elif value is None or value is False:
            continue
        elif isinstance(value, (str, int, float)):
            text = str(value)
            if "\n" in text or "\r" in text:
                raise ConfigError(f"the value of {key} must be one line", field=f"{field}.{key}")
            out.append((key, text))
        else:
            raise ConfigError(
                f"the value of {key} must be a string or number, got {type(value).__name__}",
                field=f"{field}.{key}",
            )
    return out


def _one_line(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        raise ConfigError(f"must be a non-empty string, got {value!r}", field=field)
    text = str(value)
    if any(c.isspace() for c in text):
        raise ConfigError(f"must not contain spaces, got {text!r}", field=field)
    return text


class Scheduler:
    """Base: subclasses fill in the prefix and the command builders."""

    name = ""
    prefix = ""
    submit_cmd = ""
    cancel_cmd = ""

    def directives(
        self,
        *,
        job_name: str,
        log: Path,
        queue: str | None,
        account: str | None,
        group: str | None,
        project: str | None,
        resources: list[tuple[str, str | None]],
        extra: Sequence[str],
        export_env: bool,
    ) -> list[str]:
        lines = [
            f"{self.prefix} {d}"
            for d in self._directives(
                job_name, log, queue, account, group, project, resources, export_env
            )
        ]
        for d in extra:
            lines.append(d if d.lstrip().startswith("#") else f"{self.prefix} {d}")
        return lines

    def _directives(
        self,
        job_name: str,
        log: Path,
        queue: str | None,
        account: str | None,
        group: str | None,
        project: str | None,
        resources: list[tuple[str, str | None]],
        export_env: bool,
    ) -> list[str]:
        raise NotImplementedError

    def submit_argv(self, script: Path) -> list[str]:
        raise NotImplementedError

    def parse_job_id(self, stdout: str) -> str:
        text = stdout.strip().splitlines()
        if not text or not text[-1].strip():
            raise ValueError(f"{self.submit_cmd} printed no job id")
        return text[-1].strip()

    def status_argv(self, job_ids: Sequence[str]) -> list[str]:
        raise NotImplementedError

    def parse_status(self, stdout: str, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        raise NotImplementedError

    def status_error_means_gone(self, stderr: str) -> bool:
        """True when a failed poll only says the jobs are unknown (they all left the queue)."""
        return False

    def cancel_argv(self, job_ids: Sequence[str]) -> list[str]:
        return [self.cancel_cmd, *job_ids]

    def explain_argv(self, job_id: str) -> list[str] | None:
        """A command that tells why a job ended (best effort), or None."""
        return None

    # ------------------------------------------------------------ job arrays (mode: workers)
    #: a shell expression for an array task's index in its job, 0 .. n-1
    task_index = "0"

    def array_log(self, directory: Path, n_tasks: int) -> Path:
        """The ``-o`` path of an array job: one log per task, named by its index."""
        raise NotImplementedError

    def array_directives(self, n_tasks: int) -> list[str]:
        """Directive lines (with the prefix) that make the job an array of ``n_tasks`` tasks."""
        raise NotImplementedError

    def array_status_argv(self, job_id: str) -> list[str]:
        return self.status_argv([job_id])

    def array_state(self, stdout: str, job_id: str) -> JobStatus:
        """The state of a whole array: ``running``/``pending`` while any task is, ``error``
        when the scheduler holds a task it will never run, else ``done``."""
        st = self.parse_status(stdout, [job_id]).get(job_id)
        return st if st is not None else JobStatus("done", "left the queue")


class Slurm(Scheduler):
    name, prefix, submit_cmd, cancel_cmd = "slurm", "#SBATCH", "sbatch", "scancel"

    _ACTIVE = {
        "PENDING": "pending",
        "CONFIGURING": "pending",
        "REQUEUED": "pending",
        "REQUEUE_HOLD": "pending",
        "REQUEUE_FED": "pending",
        "RESV_DEL_HOLD": "pending",
        "RUNNING": "running",
        "COMPLETING": "running",
        "SUSPENDED": "running",
        "STOPPED": "running",
        "SIGNALING": "running",
        "STAGE_OUT": "running",
        "RESIZING": "running",
    }

    def _directives(self, job_name, log, queue, account, group, project, resources, export_env):  # type: ignore[no-untyped-def]
        out = [f"--job-name={job_name}", f"--output={log}", f"--error={log}"]
        if queue:
            out.append(f"--partition={queue}")
        if account:
            out.append(f"--account={account}")
        for key, value in resources:
            key = key.lstrip("-")
            flag = f"-{key}" if len(key) == 1 else f"--{key}"
            out.append(
                flag
                if value is None
                else (f"{flag} {value}" if len(key) == 1 else f"{flag}={value}")
            )
        out.append("--export=ALL" if export_env else "--export=NONE")
        return out

    def submit_argv(self, script: Path) -> list[str]:
        return ["sbatch", "--parsable", str(script)]

    def parse_job_id(self, stdout: str) -> str:
        job = super().parse_job_id(stdout).split(";")[0]  # "123" or "123;cluster"
        if not job.isdigit():
            raise ValueError(f"sbatch printed {stdout.strip()[:200]!r}, not a job id")
        return job

    def status_argv(self, job_ids: Sequence[str]) -> list[str]:
        return [
            "squeue",
            "--noheader",
            "--states=all",
            "--format=%i|%T|%r",
            f"--jobs={','.join(job_ids)}",
        ]

    def parse_status(self, stdout: str, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        wanted, out = set(job_ids), {}
        for line in stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) < 2 or parts[0] not in wanted:
                continue
            state = parts[1].strip().upper()
            reason = parts[2].strip() if len(parts) > 2 else ""
            kind = self._ACTIVE.get(state, "done")
            out[parts[0]] = JobStatus(
                kind,
                state if kind != "pending" or reason in ("", "None") else f"{state} ({reason})",
            )
        return out

    def status_error_means_gone(self, stderr: str) -> bool:
        return "Invalid job id" in stderr

    def explain_argv(self, job_id: str) -> list[str] | None:
        return ["scontrol", "show", "job", "-o", job_id]

    task_index = "$SLURM_ARRAY_TASK_ID"

    def array_log(self, directory: Path, n_tasks: int) -> Path:
        return directory / "task-%a.log"

    def array_directives(self, n_tasks: int) -> list[str]:
        return [f"{self.prefix} --array=0-{n_tasks - 1}"]  # 0-0 too: %a needs an array

    def array_status_argv(self, job_id: str) -> list[str]:
        # one line per task (-r: pending tasks too), each named by the array's own id (%F)
        return [
            "squeue",
            "--noheader",
            "--states=all",
            "-r",
            "--format=%F|%T|%r",
            f"--jobs={job_id}",
        ]

    def array_state(self, stdout: str, job_id: str) -> JobStatus:
        states = [
            line.split("|")[1].strip().upper()
            for line in stdout.splitlines()
            if line.count("|") >= 1 and line.split("|")[0].strip() == job_id
        ]
        kinds = [self._ACTIVE.get(state, "done") for state in states]
        for kind in ("running", "pending"):
            if kind in kinds:
                return JobStatus(kind, states[kinds.index(kind)])
        return JobStatus("done", states[-1] if states else "left the queue")


class SGE(Scheduler):
    """Son of Grid Engine, Univa/Altair Grid Engine (ABCI 2.0: ``-g GROUP -l rt_F=1``)."""

    name, prefix, submit_cmd, cancel_cmd = "sge", "#$", "qsub", "qdel"

    def _directives(self, job_name, log, queue, account, group, project, resources, export_env):  # type: ignore[no-untyped-def]
        out = [f"-N {job_name}", f"-o {log}", "-j y", "-S /bin/bash"]
        if queue:
            out.append(f"-q {queue}")
        if group:
            out.append(f"-g {group}")
        if project:
            out.append(f"-P {project}")
        if account:
            out.append(f"-A {account}")
        for key, value in resources:
            out.append(f"-l {key.lstrip('-')}" + ("" if value is None else f"={value}"))
        if export_env:
            out.append("-V")
        return out

    def submit_argv(self, script: Path) -> list[str]:
        return ["qsub", "-terse", str(script)]

    def parse_job_id(self, stdout: str) -> str:
        # "123" (or "Your job 123 ("name") has been submitted" without -terse support)
        text = super().parse_job_id(stdout)
        m = re.search(r"(\d+)", text)
        if m is None:
            raise ValueError(f"qsub printed {stdout.strip()[:200]!r}, not a job id")
        return m.group(1)

    def status_argv(self, job_ids: Sequence[str]) -> list[str]:
        return ["qstat", "-u", getpass.getuser()]

    def parse_status(self, stdout: str, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        wanted, out = set(job_ids), {}
        for line in stdout.splitlines():
            parts = line.split()
            if len(parts) < 5 or parts[0] not in wanted:
                continue
            state = parts[4]
            if "E" in state:
                kind = "error"
            elif "r" in state or "t" in state or "R" in state or "s" in state.lower():
                kind = "running"
            elif "d" in state:
                kind = "running"  # being deleted: still holds its slot
            else:
                kind = "pending"  # qw, hqw, ...
            out[parts[0]] = JobStatus(kind, state)
        return out

    task_index = "$((SGE_TASK_ID - 1))"  # SGE's -t cannot start at 0

    def array_log(self, directory: Path, n_tasks: int) -> Path:
        return directory / "task-$TASK_ID.log"  # (1-based, as SGE numbers them)

    def array_directives(self, n_tasks: int) -> list[str]:
        return [f"{self.prefix} -t 1-{n_tasks}"]

    def array_state(self, stdout: str, job_id: str) -> JobStatus:
        # qstat lists each running task, and the pending ones on one line; finished tasks vanish
        kinds = [
            st.state
            for line in stdout.splitlines()
            if (st := self.parse_status(line, [job_id]).get(job_id)) is not None
        ]
        for kind in ("error", "running", "pending"):
            if kind in kinds:
                return JobStatus(kind, kind)
        return JobStatus("done", "left the queue")


class PBS(Scheduler):
    """PBS Pro / OpenPBS (finished jobs from ``qstat -x`` history; not Torque, whose ``-x`` is XML)."""

    name, prefix, submit_cmd, cancel_cmd = "pbs", "#PBS", "qsub", "qdel"

    _STATES = {
        "Q": "pending",
        "H": "pending",
        "W": "pending",
        "T": "pending",
        "M": "pending",
        "R": "running",
        "E": "running",
        "S": "running",
        "U": "running",
        "B": "running",
        "F": "done",
        "X": "done",
    }

    def _directives(self, job_name, log, queue, account, group, project, resources, export_env):  # type: ignore[no-untyped-def]
        out = [f"-N {job_name}", f"-o {log}", "-j oe", "-S /bin/bash"]
        if queue:
            out.append(f"-q {queue}")
        if account:
            out.append(f"-A {account}")
        if project or group:
            out.append(f"-P {project or group}")
        for key, value in resources:
            out.append(f"-l {key.lstrip('-')}" + ("" if value is None else f"={value}"))
        if export_env:
            out.append("-V")
        return out

    def submit_argv(self, script: Path) -> list[str]:
        return ["qsub", str(script)]

    def parse_job_id(self, stdout: str) -> str:
        job = super().parse_job_id(stdout)
        if not re.fullmatch(r"\d+(\[\d*\])?(\.[\w.-]+)?", job):
            raise ValueError(f"qsub printed {stdout.strip()[:200]!r}, not a job id")
        return job

    def status_argv(self, job_ids: Sequence[str]) -> list[str]:
        # Not "-F json": OpenPBS 23.06 prints only the FIRST of several job ids in JSON (the
        # others vanish, as if they had left the queue); the plain "-f" listing has them all.
        return ["qstat", "-x", "-f", *job_ids]

    def parse_status(self, stdout: str, job_ids: Sequence[str]) -> dict[str, JobStatus]:
        """Read ``qstat -x -f`` (``Job Id: N`` blocks of ``key = value`` lines) or, for
        recorded outputs, ``qstat -x -f -F json``."""
        jobs = (
            self._json_jobs(stdout) if stdout.lstrip().startswith("{") else self._text_jobs(stdout)
        )
        by_number = {str(k).split(".")[0]: v for k, v in jobs.items()}
        out = {}
        for job in job_ids:
            info = jobs.get(job) or by_number.get(job.split(".")[0])
            if info is None:
                continue
            state = str(info.get("job_state", ""))
            kind = self._STATES.get(state, "running")
            detail = state
            if kind == "done" and "Exit_status" in info:
                detail = f"F (Exit_status={info['Exit_status']})"
            out[job] = JobStatus(kind, detail)
        return out

    @staticmethod
    def _json_jobs(stdout: str) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(stdout)
        except ValueError:
            return {}
        jobs = data.get("Jobs") if isinstance(data, dict) else None
        if not isinstance(jobs, dict):
            return {}
        return {str(k): v for k, v in jobs.items() if isinstance(v, dict)}

    @staticmethod
    def _text_jobs(stdout: str) -> dict[str, dict[str, Any]]:
        jobs: dict[str, dict[str, Any]] = {}
        current: dict[str, Any] | None = None
        for line in stdout.splitlines():
            if line.startswith("Job Id:"):
                current = jobs.setdefault(line.split(":", 1)[1].strip(), {})
            elif current is not None and line[:1] == " " and " = " in line:
                key, _, value = line.strip().partition(" = ")
                current[key] = value.strip()
            # a line starting with a tab continues a long value: never a field we read
        return jobs

    def status_error_means_gone(self, stderr: str) -> bool:
        return "Unknown Job Id" in stderr or "Job has finished" in stderr

    task_index = "${PBS_ARRAY_INDEX:-0}"  # unset in a plain (one-task) job

    def array_log(self, directory: Path, n_tasks: int) -> Path:
        # a directory in -o names array tasks' files "ID[i].vm.OU": a file name with the index
        return directory / ("task-^array_index^.log" if n_tasks > 1 else "task-0.log")

    def array_directives(self, n_tasks: int) -> list[str]:
        return [f"{self.prefix} -J 0-{n_tasks - 1}"] if n_tasks > 1 else []  # -J 1-1 is rejected


SCHEDULERS: dict[str, type[Scheduler]] = {"slurm": Slurm, "sge": SGE, "pbs": PBS}


def check_words(values: Any, *, field: str) -> list[str]:
    """A list of one-line strings (directives, setup lines)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Sequence) or not all(isinstance(v, str) for v in values):
        raise ConfigError("must be a list of strings", field=field)
    for v in values:
        if "\n" in v or "\r" in v:
            raise ConfigError(f"each item must be one line, got {v!r}", field=field)
    return list(values)


def check_name(value: Any, *, field: str) -> str | None:
    return _one_line(value, field)
