"""What a trial run needs (:class:`Job`) and how it ended (:class:`Outcome`).

Shared by objectives (which produce outcomes) and executors (which schedule jobs).
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tansaku._files import read_regular
from tansaku._records import TrialState

__all__ = [
    "STDERR_TAIL",
    "Job",
    "Outcome",
    "killed_outcome",
    "last_stderr_line",
    "read_stderr_tail",
    "signal_name",
    "trial_env",
    "with_stderr_line",
]

#: how many bytes of a program's stderr file a trial keeps (its tail)
STDERR_TAIL = 4000


@dataclass(frozen=True)
class Job:
    """One trial to run."""

    trial_id: int
    number: int
    params: Mapping[str, Any]
    study_name: str = ""
    timeout: float | None = None
    workdir: Path | None = None
    seed: int | None = None
    #: environment additions for this trial (``TANSAKU_WORKER``, ``TANSAKU_SETUP_DIR``,
    #: ``TANSAKU_PARENT_DIR``, thread limits, device sets ...): a command gets them in its
    #: environment, a Python trial in ``os.environ`` of its worker where it has one of its own
    extra_env: Mapping[str, str] = field(default_factory=dict)
    #: define-by-run: the JSON form of every distribution the study knows (declared and
    #: learned), and the names in ``params`` that are learned ones (taken only if suggested)
    known: Mapping[str, Mapping[str, Any]] | None = None
    learned: tuple[str, ...] = ()
    #: seeds the trial's draws of parameters first seen by ``suggest_*`` (``Study.draw_seed``)
    draw_seed: str | None = None


@dataclass
class Outcome:
    """How a job ended."""

    trial_id: int
    state: TrialState
    value: float | None = None
    message: str | None = None
    stderr: str | None = None
    system_attrs: dict[str, Any] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    #: every objective when the objective gave several (``value`` is then the first); None for one
    values: tuple[float, ...] | None = None
    #: constraint values the trial set (``trial.set_constraint``, ``tansaku:constraint`` lines)
    constraints: dict[str, float] = field(default_factory=dict)
    #: the program never really ran (see ``Command.startup_failure``): the run stops at once
    cannot_start: bool = False
    #: define-by-run: the params the trial used and the JSON form of each distribution it
    #: suggested (None: the trial's params are the proposed ones, nothing was suggested)
    params: dict[str, Any] | None = None
    suggested: dict[str, dict[str, Any]] | None = None

    def objective_values(self) -> tuple[float, ...] | None:
        """Every objective value of a COMPLETE outcome, ``(value,)`` for one (None without)."""
        if self.values is not None:
            return self.values
        return None if self.value is None else (self.value,)


def trial_env(job: Job) -> dict[str, str]:
    """The variables naming the trial, for every process a trial runs in (a command's, a local
    or batch worker's for a Python objective): ``TANSAKU_TRIAL_NUMBER`` (the trial's number in
    its study), ``TANSAKU_TRIAL_ID`` (its older name: the same number, kept as an alias) and
    ``TANSAKU_STUDY``."""
    number = str(job.number)
    return {
        "TANSAKU_TRIAL_NUMBER": number,
        "TANSAKU_TRIAL_ID": number,
        "TANSAKU_STUDY": job.study_name,
    }


#: how much of a program's last stderr line a trial message keeps
STDERR_LINE_CHARS = 300


def last_stderr_line(stderr: str | None, limit: int = STDERR_LINE_CHARS) -> str:
    """The last non-empty line of ``stderr`` (a carriage return ends a line too, as progress bars
    use it), whitespace collapsed, cut to ``limit`` characters; ``""`` if there is none."""
    for line in reversed((stderr or "").splitlines()):
        text = " ".join(line.split())
        if text:
            return text if len(text) <= limit else text[: limit - 3] + "..."
    return ""


def with_stderr_line(message: str | None, stderr: str | None) -> str | None:
    """A failed command's trial message: ``message`` then the program's own last stderr line
    (``"the command failed: exit code 2: python: can't open file ..."``), unless the message
    already contains that line.  The one place this rule lives: the study applies it to every
    failed command trial, whichever executor ran it.  (When a command printed nothing on stderr,
    executors keep its stdout's tail as ``stderr``; its last line is then the one shown.)"""
    line = last_stderr_line(stderr)
    if not line or (message and line in message):
        return message
    return f"{message}: {line}" if message else line


def read_stderr_tail(path: Path, limit: int = STDERR_TAIL) -> str:
    """The last ``limit`` bytes of the stderr file ``path`` (``"..."`` first when cut), ``""`` if
    it cannot be read.  Never blocks, whatever the program left under that name (a FIFO...).
    The one reader of a trial's stderr file, for every executor."""
    try:
        data, size = read_regular(path, limit, tail=True)
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return ("..." + text) if size > limit else text


def signal_name(num: int) -> str:
    """``"SIGTERM"`` for 15; ``"signal N"`` for a number that names no signal."""
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def killed_outcome(
    job: Job,
    reason: str,
    last_report: tuple[int, float] | None = None,
    *,
    stderr: str | None = None,
    system_attrs: dict[str, Any] | None = None,
    user_attrs: dict[str, Any] | None = None,
) -> Outcome:
    """A trial stopped from outside: ``"pruned"`` is PRUNED with its last report, ``"timeout"``
    FAILED after ``job.timeout``, anything else (``"interrupted"``) FAILED, re-queued when
    interrupted.  The one rule for every executor and for :class:`~tansaku.objectives.CommandRun`.
    ``user_attrs`` (a command's ``tansaku:attr`` lines so far) are kept whatever the ending."""
    attrs = {} if system_attrs is None else system_attrs
    user = {} if user_attrs is None else user_attrs
    if reason == "pruned":
        return Outcome(
            job.trial_id,
            TrialState.PRUNED,
            value=None if last_report is None else last_report[1],
            message=f"pruned at step {last_report[0]}" if last_report else "pruned",
            stderr=stderr,
            system_attrs=attrs,
            user_attrs=user,
        )
    if reason == "timeout":
        timeout = job.timeout if job.timeout is not None else float("nan")
        return Outcome(
            job.trial_id,
            TrialState.FAILED,
            message=f"timeout: killed after {timeout:g} s",
            stderr=stderr,
            system_attrs=attrs,
            user_attrs=user,
        )
    return Outcome(
        job.trial_id,
        TrialState.FAILED,
        message=reason,
        stderr=stderr,
        system_attrs=attrs,
        user_attrs=user,
        interrupted=reason == "interrupted",
    )
