"""What runs a trial, for every executor: executors decide only *where*.

:class:`Runner` wraps the study's objective once (``Executor.start`` keeps it as ``executor.runner``).  It is the one place that

* tells whether the objective runs as its own program (:attr:`Runner.external`, a
  :class:`~tansaku.Command`) or as Python code in some process (:meth:`Runner.run_python`);
* turns a :class:`Job` into the :class:`~tansaku.Trial` a Python objective sees
  (:func:`make_trial`: params, seed, workdir, ``setup_dir``, ``parent_dir``);
* turns a trial stopped from outside (prune, timeout, interrupt) into an :class:`Outcome`
  (:func:`killed_outcome`).

How a command's run ends becomes an Outcome by one rule,
:func:`~tansaku.objectives._command.exit_outcome`, whether it ran here
(:class:`~tansaku.objectives.CommandRun`, started by :meth:`Runner.command_run`) or on a batch
node (:meth:`Runner.command_outcome`); a Python objective's in
:func:`~tansaku.objectives._callable.run_callable`.
The stderr tail is read by :func:`~tansaku.objectives._base.read_stderr_tail` and signal numbers are
named by :func:`~tansaku.objectives._base.signal_name`.  A new executor needs only these.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tansaku._trial import Trial
from tansaku.objectives._base import Job, Outcome, killed_outcome, with_stderr_line
from tansaku.objectives._callable import run_callable
from tansaku.objectives._command import Command, CommandRun, exit_outcome
from tansaku.objectives._output import OutputParser

__all__ = ["Runner", "killed_outcome", "make_trial"]


def make_trial(job: Job, channel: Any) -> Trial:
    """The trial a Python objective gets for ``job`` (its workdir created), talking to the study
    through ``channel`` (``report``, ``should_prune``, ``set_user_attr``)."""
    if job.workdir is not None:
        Path(job.workdir).mkdir(parents=True, exist_ok=True)
    return Trial(
        number=job.number,
        trial_id=job.trial_id,
        params=job.params,
        study_name=job.study_name,
        channel=channel,
        workdir=job.workdir,
        seed=job.seed,
        setup_dir=job.extra_env.get("TANSAKU_SETUP_DIR"),
        parent_dir=job.extra_env.get("TANSAKU_PARENT_DIR"),
        gpu_ids=job.extra_env.get("TANSAKU_GPU_IDS"),
        known=job.known,
        learned=job.learned,
        draw_seed=job.draw_seed,
    )


class Runner:
    """The objective of a run, as executors see it (see the module docstring)."""

    def __init__(self, objective: Any) -> None:
        self.objective = objective
        self._command: Command | None = objective if isinstance(objective, Command) else None

    @property
    def external(self) -> bool:
        """The objective is a program of its own (started by :meth:`command_run` or, on a batch
        node, by :meth:`argv`); else Python code run by :meth:`run_python`."""
        return self._command is not None

    def check_space(self, param_names: Sequence[str], *, conditional: Sequence[str] = ()) -> None:
        """Raise ``ConfigError`` when the objective cannot run over these parameters (a
        command's ``{field}`` that names none of them, see :meth:`Command.check_fields`);
        a Python objective is not checked (it reads ``trial.params`` itself)."""
        if self._command is not None:
            self._command.check_fields(param_names, conditional=conditional)

    def failure_message(self, message: str | None, stderr: str | None) -> str | None:
        """A failed trial's message as stored: a program's own last stderr line added
        (:func:`~tansaku.objectives._base.with_stderr_line`); a Python objective's message (its
        exception) as it is."""
        return with_stderr_line(message, stderr) if self._command is not None else message

    def describe(self) -> str | list[str]:
        """The objective as a record names it: a command's argv template, else its ``repr``."""
        return list(self._command.argv) if self._command is not None else repr(self.objective)

    @property
    def kill_grace(self) -> float:
        """Seconds between SIGTERM and SIGKILL when stopping the trial's process group."""
        return self._command.kill_grace if self._command is not None else 1.0

    @property
    def user_env(self) -> Mapping[str, str] | None:
        """Environment variables the user set for the program (None for Python objectives)."""
        return self._command.env if self._command is not None else None

    # ---------------------------------------------------------------- Python objectives
    def run_python(self, job: Job, channel: Any) -> Outcome:
        """Run the Python objective for ``job`` in this process; never raises for the trial's own
        errors (``KeyboardInterrupt``/``SystemExit`` propagate)."""
        return run_callable(self.objective, make_trial(job, channel))

    # ---------------------------------------------------------------- commands
    def _cmd(self) -> Command:
        if self._command is None:
            raise TypeError("the objective is Python code, not a command")
        return self._command

    def command_run(self, job: Job, on_report: Callable[[int, float], Any]) -> CommandRun:
        """The command for ``job``, not yet started (``run()``, or ``start()`` and multiplex)."""
        return CommandRun(self._cmd(), job, on_report=on_report)

    def argv(self, job: Job) -> tuple[list[str], Path, dict[str, str]]:
        """The rendered argv, working directory and environment (only what differs from ours)
        to start the command for ``job`` elsewhere (a batch node)."""
        cmd = self._cmd()
        env = cmd.environment(job)
        changed = {k: v for k, v in env.items() if os.environ.get(k) != v}
        return cmd.render(job), cmd.working_directory(job), changed

    def output_parser(self) -> OutputParser:
        """A parser of the program's stdout (report lines, the result) as the command defines it."""
        if self._command is None:
            return OutputParser(None)
        return OutputParser(self._command.result, constraints=self._command.constraints)

    def command_outcome(
        self,
        job: Job,
        returncode: int,
        parser: OutputParser,
        stderr: str,
        *,
        printed: bool,
        attrs: dict[str, Any],
    ) -> Outcome:
        """How a command that ran elsewhere ended, from its exit code (a shell's ``128 + N`` for
        signal N), its parsed stdout and its stderr tail."""
        workdir = job.workdir if job.workdir is not None else Path.cwd()
        return exit_outcome(
            self._cmd(),
            job,
            returncode,
            returncode - 128 if returncode > 128 else None,
            parser,
            stderr,
            printed=printed,
            attrs=attrs,
            workdir=workdir,
        )
