"""External commands as objectives.

``Command(["python", "train.py", "--lr", "{lr}"])`` runs the program once per trial:

* argv from a template (see :mod:`._template`), never through a shell;
* in the trial's own working directory (``cwd="trial"``, the default; ``{workdir}`` names it),
  where ``stdout.txt`` and ``stderr.txt`` are kept.  Relative argv items that name an existing file
  of ``base_dir`` (the config file's directory) are made absolute, so ``python train.py`` keeps
  working from inside the trial directory;
* with ``TANSAKU_TRIAL_NUMBER`` (and its older name ``TANSAKU_TRIAL_ID``), ``TANSAKU_PARAMS`` (JSON; over 64 KiB it is
  written to ``tansaku-params.json`` in the trial directory instead and ``TANSAKU_PARAMS_FILE``
  names that file), ``TANSAKU_STUDY``,
  ``TANSAKU_WORKDIR`` and ``TANSAKU_SEED`` in its environment, plus ``TANSAKU_SETUP_DIR`` when the
  study has a setup step and ``TANSAKU_PARENT_DIR`` when the trial starts from another's
  directory (``{setup_dir}``, ``{parent_dir}`` in the template);
* in a new session (its own process group), so a timeout, a prune or Ctrl-C kills the program and
  everything it started; when the program exits, whatever it left running in its group is killed.

A non-zero exit, no number, nan/inf, or a timeout makes the trial FAILED with the reason and the
stderr tail stored; the study goes on.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tansaku import _layout, _reaper
from tansaku._check import check_number
from tansaku._errors import ConfigError, TrialPruned
from tansaku._records import TrialState
from tansaku._trial import Trial
from tansaku.objectives._base import (
    Job,
    Outcome,
    killed_outcome,
    last_stderr_line,
    read_stderr_tail,
    signal_name,
    trial_env,
)
from tansaku.objectives._callable import tail
from tansaku.objectives._output import OutputParser, ResultSpec, parse_constraints
from tansaku.objectives._template import (
    RESERVED_FIELDS,
    parse_template,
    plain_fields,
    render_template,
    template_fields,
)

__all__ = ["Command", "CommandFailed", "CommandRun", "exit_outcome"]

#: params JSON longer than this goes to ``PARAMS_FILE`` instead of ``TANSAKU_PARAMS``
PARAMS_ENV_LIMIT = 64 * 1024
PARAMS_FILE = "tansaku-params.json"


class CommandFailed(Exception):
    """Raised by ``Command.__call__`` when the program fails; carries the stderr tail."""

    def __init__(self, message: str, stderr: str | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr


class Command:
    """An external program whose last printed number is the objective (see module docstring)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        result: Any = None,
        constraints: Any = None,
        env: Mapping[str, str] | None = None,
        cwd: str | Path = "trial",
        base_dir: str | Path | None = None,
        kill_grace: float = 1.0,
        max_log_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        if isinstance(argv, (str, bytes)) or not isinstance(argv, Sequence) or not argv:
            raise ConfigError(
                "must be a non-empty list of argv items, e.g. [python, train.py, --lr, '{lr}']",
                field="command",
            )
        try:
            self.argv = tuple(argv)
        except Exception:
            raise ConfigError("must be a list of argv items", field="command") from None
        self._parsed = [parse_template(a, field=f"command[{k}]") for k, a in enumerate(self.argv)]
        for k, a in enumerate(self.argv):
            if "\0" in a:
                raise ConfigError("an argv item cannot contain a NUL byte", field=f"command[{k}]")
        self.fields = template_fields(self.argv)
        self.result = ResultSpec.parse(result)
        self.constraints = parse_constraints(constraints)
        self.env = _environment(env)
        self.cwd = _path(cwd, "cwd")
        self.base_dir = (
            Path(_path(base_dir, "base_dir")).resolve() if base_dir is not None else Path.cwd()
        )
        self.kill_grace = _number(kill_grace, "kill_grace")
        self.max_log_bytes = int(_number(max_log_bytes, "max_log_bytes", integer=True))
        self._absolutise()

    def __repr__(self) -> str:
        return f"Command({list(self.argv)!r})"

    def _absolutise(self) -> None:
        """Relative items naming files of ``base_dir`` keep meaning them inside the trial dir."""
        for k, parts in enumerate(self._parsed):
            if len(parts) != 1 or not isinstance(parts[0], str):
                continue
            text = parts[0]
            if text.startswith("-") or os.path.isabs(text) or (k == 0 and "/" not in text):
                continue  # options, absolute paths, and program names looked up on PATH
            candidate = self.base_dir / text
            try:
                exists = candidate.exists()
            except (OSError, ValueError):  # e.g. a name too long for the file system
                exists = False
            if exists:
                self._parsed[k] = [str(candidate)]

    def check_fields(self, param_names: Sequence[str], *, conditional: Sequence[str] = ()) -> None:
        """Raise ConfigError if the template uses a field that is neither a parameter nor
        reserved, or a ``conditional`` parameter (one that may be inactive) without a default
        (``{name:TEXT}``) or ``?`` (see :mod:`tansaku.objectives._template`)."""
        optional = sorted(self.fields - plain_fields(self.argv) - set(conditional))
        if optional and optional[0] in param_names:
            n = optional[0]
            raise ConfigError(
                f"{{{n}:...}} / {{{n}?}}: {n} is not conditional (it never lacks a value); "
                f"write {{{n}}}",
                field="command",
            )
        bare = sorted(set(conditional) & plain_fields(self.argv))
        if bare:
            n = bare[0]
            raise ConfigError(
                f"{{{n}}} is conditional and may be inactive; write {{{n}:DEFAULT}} for a "
                f"default or {{{n}?}} to drop the argument when it is inactive",
                field="command",
            )
        clash = sorted(set(param_names) & set(RESERVED_FIELDS) & self.fields)
        if clash:
            raise ConfigError(
                f"{{{clash[0]}}} is both a parameter and a reserved field; rename the parameter",
                field="command",
            )
        unknown = sorted(self.fields - set(param_names) - set(RESERVED_FIELDS))
        if unknown:
            raise ConfigError(
                f"unknown field {{{unknown[0]}}} (parameters: {', '.join(param_names)}; also "
                f"{', '.join('{' + f + '}' for f in RESERVED_FIELDS)})",
                field="command",
            )

    # -- per trial --------------------------------------------------------------------------------
    def values(self, job: Job) -> dict[str, Any]:
        values: dict[str, Any] = {
            "trial_number": job.number,
            "trial_id": job.number,  # the older name of the trial number
            "study": job.study_name,
            "workdir": str(job.workdir) if job.workdir else "",
            "seed": "" if job.seed is None else job.seed,
            "setup_dir": job.extra_env.get("TANSAKU_SETUP_DIR", ""),
            "parent_dir": job.extra_env.get("TANSAKU_PARENT_DIR", ""),
        }
        values.update(job.params)
        return values

    def render(self, job: Job) -> list[str]:
        return render_template(self._parsed, self.values(job))

    def environment(self, job: Job) -> dict[str, str]:
        """The program's environment.  Params JSON over ``PARAMS_ENV_LIMIT`` bytes (Linux refuses
        to start a program with one variable over 128 KiB) is written to
        ``<workdir>/tansaku-params.json`` instead, named by ``TANSAKU_PARAMS_FILE``, and
        ``TANSAKU_PARAMS`` is not set; may raise OSError (the file cannot be written)."""
        env = dict(os.environ)
        env.update(self.env)
        params = json.dumps(dict(job.params), default=str)
        env.pop("TANSAKU_PARAMS_FILE", None)  # ours only, never one inherited from a parent trial
        env.update(
            {
                **trial_env(job),
                "TANSAKU_PARAMS": params,
                "TANSAKU_WORKDIR": str(job.workdir) if job.workdir else "",
            }
        )
        if len(params) > PARAMS_ENV_LIMIT:
            env.pop("TANSAKU_PARAMS")
            env["TANSAKU_PARAMS_FILE"] = str(_write_params(job, params))
        if job.seed is not None:
            env["TANSAKU_SEED"] = str(job.seed)
        env.update(job.extra_env)
        return env

    def working_directory(self, job: Job) -> Path:
        if self.cwd == "trial":
            if job.workdir is None:
                raise ConfigError("cwd=trial needs a trial workdir", field="cwd")
            return job.workdir
        path = Path(self.cwd)
        return path if path.is_absolute() else self.base_dir / path

    def startup_failure(self, job: Job, *, returncode: int, printed: bool, stderr: str) -> bool:
        """Whether a run of ``job`` that exited with ``returncode`` never really started.

        True when it failed (``returncode != 0``) with nothing on stdout (``printed`` false) and
        either exited 126 or 127 (a shell's "cannot execute" / "command not found"), or its last
        stderr line names a relative argv item that looks like a file (``train.py``, ``data/x``)
        and exists neither next to the config nor in the working directory -- e.g. ``python:
        can't open file '.../trial-000000/trian.py'``.  (A program that cannot be executed at all
        is caught when it is started.)  The study stops a run on such a failure before any trial
        succeeded (``Coordinator.stop_if_cannot_start``).
        """
        if returncode == 0 or printed:
            return False
        if returncode in (126, 127):
            return True
        line = last_stderr_line(stderr, limit=10_000)
        if not line:
            return False
        try:
            argv, cwd = self.render(job), self.working_directory(job)
        except (ConfigError, KeyError, ValueError):
            return False
        for k, item in enumerate(argv):
            if (
                not _FILE_LIKE.fullmatch(item)
                or os.path.isabs(item)
                or (k == 0 and "/" not in item)
            ):
                continue
            named = re.search(rf"(?:^|[\s'\"`(/]){re.escape(item)}(?:$|[\s'\"`):,])", line)
            if named and not (self.base_dir / item).exists() and not (cwd / item).exists():
                return True
        return False

    def __call__(self, trial: Trial) -> float | list[float]:
        """Run synchronously for one trial (lets any executor that runs Python callables run it)."""
        job = Job(
            trial.trial_id,
            trial.number,
            dict(trial.params),
            study_name=trial.study_name,
            workdir=trial.workdir or _layout.default_trial_dir(trial.study_name, trial.number),
            seed=trial.seed,
            extra_env={
                k: str(v)
                for k, v in (
                    ("TANSAKU_SETUP_DIR", trial.setup_dir),
                    ("TANSAKU_PARENT_DIR", trial.parent_dir),
                )
                if v is not None
            },
        )
        run = CommandRun(
            self,
            job,
            on_report=lambda step, value: trial.report(value, step),
            should_prune=trial.should_prune,
        )
        outcome = run.run()
        for key, value in outcome.system_attrs.items():
            trial.set_user_attr(f"command.{key}", value)
        if outcome.state is TrialState.PRUNED:
            raise TrialPruned(outcome.message or "pruned")
        if outcome.state is TrialState.FAILED:
            raise CommandFailed(outcome.message or "command failed", outcome.stderr)
        for name, c in outcome.constraints.items():
            trial.set_constraint(name, c)
        if outcome.values is not None:
            return list(outcome.values)
        assert outcome.value is not None
        return outcome.value


def _write_params(job: Job, text: str) -> Path:
    """``tansaku-params.json`` in the trial directory (written whole: a temporary file renamed)."""
    folder = job.workdir if job.workdir is not None else Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PARAMS_FILE
    tmp = folder / f".{PARAMS_FILE}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path.resolve()


#: an argv item that may name a file: a path with a "/" or a name with a letter extension
_FILE_LIKE = re.compile(r"(?!-)(?:[^\s=:]*/[^\s=:]*[^\s=:/]|[^\s=:/]+\.[A-Za-z][A-Za-z0-9]{0,7})")


def _program_cannot_start(e: BaseException) -> bool:
    """Whether an error from starting a command is about the program (missing, not executable),
    not about this trial's values: an argv too long for the kernel (E2BIG) fails only the trial."""
    return isinstance(e, OSError) and e.errno != errno.E2BIG


def _environment(env: Any) -> dict[str, str]:
    if env is None:
        return {}
    try:
        items = list(env.items()) if isinstance(env, Mapping) else None
    except Exception:
        items = None
    if items is None:
        raise ConfigError("must map variable names to strings", field="env")
    out = {}
    for k, v in items:
        if not isinstance(k, str) or not k or "=" in k or "\0" in k:
            raise ConfigError(
                "variable names must be non-empty strings without '=' or NUL", field="env"
            )
        if isinstance(v, bool) or not isinstance(v, (str, int, float)) or "\0" in str(v):
            raise ConfigError(
                f"must be a string or a number, got {type(v).__name__}", field=f"env.{k}"
            )
        out[k] = str(v)
    return out


def _path(value: Any, field: str) -> str | Path:
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigError(f"must be a path, got {type(value).__name__}", field=field)
    try:
        text = os.fspath(value)
    except Exception:
        raise ConfigError("must be a path", field=field) from None
    if not isinstance(text, str) or not text or "\0" in text:
        raise ConfigError(f"must be a non-empty path without NUL bytes, got {text!r}", field=field)
    return value if isinstance(value, Path) else text


def _number(value: Any, field: str, *, integer: bool = False) -> float:
    return float(check_number(value, field, integer=integer, low=0.0, low_open=False))


def exit_outcome(
    command: Command,
    job: Job,
    returncode: int,
    killed_by: int | None,
    parser: OutputParser,
    stderr: str,
    *,
    printed: bool,
    attrs: dict[str, Any],
    workdir: Path | None,
) -> Outcome:
    """How a command that ran to its own end (not stopped by us) ended: the one rule for a
    program run here (:class:`CommandRun`) and on a batch node (``Runner.command_outcome``).

    A non-zero ``returncode`` is FAILED, named by the signal ``killed_by`` when one ended it (the
    caller decodes its convention: ``-N`` from Python, ``128 + N`` from a shell), and marked
    ``cannot_start`` when :meth:`Command.startup_failure` says the program never really ran;
    exit 0 is COMPLETE with the value(s) and constraints ``parser`` found (read relative to
    ``workdir``) or FAILED with the parser's reason (a declared constraint missing is one).  ``attrs`` become the trial's system attrs (the result's own are
    added to them); the user attributes its output set (``tansaku:attr`` lines, a json result's
    ``attrs``) become the trial's user attrs whatever the ending."""
    tid = job.trial_id
    if returncode != 0:
        why = f"killed by {signal_name(killed_by)}" if killed_by else f"exit code {returncode}"
        return Outcome(
            tid,
            TrialState.FAILED,
            message=f"the command failed: {why}",
            stderr=stderr,
            system_attrs=attrs,
            user_attrs=parser.user_attrs(),
            cannot_start=command.startup_failure(
                job, returncode=returncode, printed=printed, stderr=stderr
            ),
        )
    values, reason = parser.values(workdir)
    constraints, missing = parser.constraints(workdir)
    reason = reason or missing
    if values is None or reason is not None:
        return Outcome(
            tid,
            TrialState.FAILED,
            message=reason,
            stderr=stderr or tail(parser.tail()[-400:], 400),
            system_attrs=attrs,
            user_attrs=parser.user_attrs(),
            constraints=constraints,
        )
    attrs.update(parser.result_attrs())
    return Outcome(
        tid,
        TrialState.COMPLETE,
        value=values[0],
        values=values if len(values) > 1 else None,
        stderr=stderr or None,
        system_attrs=attrs,
        user_attrs=parser.user_attrs(),
        constraints=constraints,
    )


class CommandRun:
    """One running command; executors multiplex many by ``fileno()`` (stdout) and ``pidfd``."""

    def __init__(
        self,
        command: Command,
        job: Job,
        *,
        on_report: Callable[[int, float], Any] | None = None,
        should_prune: Callable[[], bool] | None = None,
    ) -> None:
        self.command = command
        self.job = job
        self.workdir = job.workdir
        self._on_report = on_report
        self._should_prune = should_prune
        self.parser = OutputParser(
            command.result, on_report=self._report, constraints=command.constraints
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.outcome: Outcome | None = None
        self.kill_reason: str | None = None
        self._kill_at = 0.0
        self._killed_hard = False
        self._exited_at: float | None = None
        self._eof = False
        self._log: Any = None
        self._logged = 0
        self.printed = False  # anything on stdout yet
        self.pidfd: int | None = None
        self.started = 0.0
        self.deadline: float | None = None
        self._log_path: Path | None = None
        self._disk_full: Exception | None = None  # raised by check() once the program is over

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Outcome | None:
        """Start the program; returns an Outcome right away if it cannot start."""
        job = self.job
        try:
            argv = self.command.render(job)
            cwd = self.command.working_directory(job)
            if self.workdir is not None:
                self.workdir.mkdir(parents=True, exist_ok=True)
            cwd.mkdir(parents=True, exist_ok=True)
            logdir = self.workdir or cwd
            _reaper.ensure_started()  # before the program: no window where it is not watched
            self._log_path = logdir / "stdout.txt"
            self._log = open(self._log_path, "wb")
            self._err_path = logdir / "stderr.txt"
            with open(self._err_path, "wb") as err:
                self.proc = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    # who started it: a resumed run kills a dead starter's leftovers (_reaper.py)
                    env={
                        **self.command.environment(job),
                        "TANSAKU_COORDINATOR_PID": str(os.getpid()),
                    },
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    start_new_session=True,
                    bufsize=0,
                )
        except (OSError, ConfigError, KeyError, ValueError) as e:  # ValueError: a NUL in argv/env
            self._close_log()
            if _layout.is_disk_full(e):  # not the trial's fault: the coordinator stops
                assert isinstance(e, OSError)
                raise _layout.disk_full_error(e, trial_id=job.trial_id) from None
            reason = f"cannot start the command: {e}"
            if isinstance(e, FileNotFoundError) and e.filename:
                reason = f"cannot start the command: {e.strerror}: {e.filename}"
            self.outcome = Outcome(
                job.trial_id,
                TrialState.FAILED,
                message=reason,
                cannot_start=_program_cannot_start(e),
            )
            return self.outcome
        _reaper.register(self.proc.pid, self.command.kill_grace)  # killed if we die first
        self.started = time.monotonic()
        self.deadline = None if job.timeout is None else self.started + job.timeout
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        try:
            self.pidfd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            self.pidfd = None
        return None

    def fileno(self) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout.fileno()

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def _report(self, step: int, value: float) -> None:
        if self._on_report is not None:
            prune = self._on_report(step, value)
            if prune is True and self.kill_reason is None:
                self.kill("pruned")
        if self._should_prune is not None and self.kill_reason is None and self._should_prune():
            self.kill("pruned")

    def read(self) -> None:
        """Read what stdout has now (non-blocking)."""
        if self._eof or self.proc is None or self.proc.stdout is None:
            return
        fd = self.proc.stdout.fileno()
        for _ in range(64):  # bounded per call so one chatty command cannot starve the others
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._eof = True
                return
            self.printed = True
            if self._logged < self.command.max_log_bytes and self._log is not None:
                chunk = data[: self.command.max_log_bytes - self._logged]
                try:
                    self._log.write(chunk)
                except OSError as e:
                    self._log_failed(e)
                self._logged += len(chunk)
            self.parser.feed(data)
            if self.parser.problem is not None and self.kill_reason is None:
                self.kill(self.parser.problem)  # the trial fails with it: no use running on

    def kill(self, reason: str) -> None:
        """Ask the whole process group to stop (SIGTERM, then SIGKILL after ``kill_grace``)."""
        if self.kill_reason is None:
            self.kill_reason = reason
        self._kill_at = time.monotonic()
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        # Only while the leader is not reaped: an unreaped (zombie) leader keeps its pid, and so the
        # group id, from being reused.  After reaping, the number may belong to someone else's
        # process group (pid_max can be as low as 32768), so we never signal it again.
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def _leader_exited(self) -> bool:
        """Has the program exited?  Asked without reaping it (``WNOWAIT``), see ``_signal``."""
        assert self.proc is not None
        if self.proc.returncode is not None:
            return True
        try:
            info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return self.proc.poll() is not None
        return info is not None

    def check(self) -> Outcome | None:
        """Advance timers and exit handling; returns the Outcome once the command is over."""
        if self.outcome is not None or self.proc is None:
            return self.outcome
        now = time.monotonic()
        if self.kill_reason is None and self.deadline is not None and now > self.deadline:
            self.kill("timeout")
        if (
            self.kill_reason is not None
            and not self._killed_hard
            and now - self._kill_at > self.command.kill_grace
        ):
            self._signal(signal.SIGKILL)
            self._killed_hard = True
        if self._exited_at is None and self._leader_exited():
            self._exited_at = now
            self._signal(signal.SIGKILL)  # leftovers in the group (the leader is a zombie still)
            _reaper.unregister(self.proc.pid)  # before reaping: the group id is ours until then
            self.proc.wait()  # now reap it
        if self._exited_at is not None:
            self.read()
            if self._eof or now - self._exited_at > 0.5:  # an escaped grandchild may hold the pipe
                self.outcome = self._finish()
                if self._disk_full is not None:  # its log is incomplete: re-queued, not stored
                    err, self._disk_full = self._disk_full, None
                    self.outcome = Outcome(
                        self.job.trial_id, TrialState.FAILED, message=str(err), interrupted=True
                    )
                    raise err
        return self.outcome

    def _finish(self) -> Outcome:
        assert self.proc is not None
        self.parser.close()
        self._close_log()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        code = self.proc.returncode
        stderr = self._stderr_tail()
        attrs: dict[str, Any] = {"returncode": code}
        if self.workdir is not None:
            attrs["workdir"] = str(self.workdir)
        if self.kill_reason is not None:
            return killed_outcome(
                self.job,
                self.kill_reason,
                self.parser.last_report,
                stderr=stderr,
                system_attrs=attrs,
                user_attrs=self.parser.user_attrs(),
            )
        return exit_outcome(
            self.command,
            self.job,
            code,
            -code if code < 0 else None,
            self.parser,
            stderr,
            printed=self.printed,
            attrs=attrs,
            workdir=self.workdir,
        )

    def _stderr_tail(self) -> str:
        return read_stderr_tail(self._err_path)

    def _close_log(self) -> None:
        if self._log is not None:
            log, self._log = self._log, None
            try:
                log.close()
            except OSError as e:
                self._log_failed(e)

    def _log_failed(self, e: OSError) -> None:
        """Writing stdout.txt failed: a full disk stops the program and, through ``check``, the
        run (see ``tansaku._layout``); any other error is raised as before."""
        if not _layout.is_disk_full(e):
            raise e
        if self._disk_full is None:
            self._disk_full = _layout.disk_full_error(e, self._log_path, self.job.trial_id)
        if self._log is not None:
            log, self._log = self._log, None
            with contextlib.suppress(OSError):
                log.close()
        self.kill("interrupted")

    def run(self) -> Outcome:
        """Run to the end in this thread."""
        early = self.start()
        if early is not None:
            return early
        fds = [self.fileno()] + ([self.pidfd] if self.pidfd is not None else [])
        while True:
            out = self.check()
            if out is not None:
                return out
            try:
                ready, _, _ = select.select(
                    [fd for fd in fds if not (self._eof and fd == fds[0])], [], [], 0.05
                )
            except (OSError, ValueError):
                ready = []
            if ready:
                self.read()
