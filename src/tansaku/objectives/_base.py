"""What a trial run needs (:class:`Job`) and how it ended (:class:`Outcome`).

Shared by objectives (which produce outcomes) and executors (which schedule jobs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tansaku._records import TrialState

__all__ = ["Job", "Outcome", "last_stderr_line", "with_stderr_line"]


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
    extra_env: Mapping[str, str] = field(default_factory=dict)


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
    #: the program never really ran (see ``Command.startup_failure``): the run stops at once
    cannot_start: bool = False


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
