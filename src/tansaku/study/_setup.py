"""The study's setup step: a command run once per study (e.g. pre-training) before any trial.

It runs in its own directory (default ``<workdir>/setup``, e.g. ``runs/<name>/setup``) with
``TANSAKU_SETUP_DIR`` (and ``{setup_dir}``) naming it; every trial then gets the same directory
(``{setup_dir}``, ``TANSAKU_SETUP_DIR``, ``trial.setup_dir``) to read what it left there.

Exactly once across resumes: the study's ``system_attrs["setup"]`` records ``state`` (running,
done, failed, interrupted), the directory, times and attempts.  ``done`` is written the moment the
command exits 0, and a later run that finds ``done`` with the directory still present reuses it.
A run killed during setup left ``running`` behind: the next run kills what is left of that attempt
(the processes carrying its coordinator's ``TANSAKU_WORKER``, see ``tansaku._reaper``), empties the
directory if tansaku created it (``created_dir`` in the record; a directory the user named that
existed before is never emptied) and runs the step again, once.  A failed or interrupted attempt
is retried the same way.  To force a new setup, delete the directory.

Several coordinators of one study (``tansaku worker``) serialise on a lock file next to the directory,
so the second waits for the first and then reuses its result (holding the lock also proves that a
``running`` record's coordinator is gone).  The setup command runs like a trial's command
(:class:`~tansaku.objectives._command.CommandRun`): in its own session, its process group
registered with the reaper, so a ``kill -9`` of the coordinator takes everything the step started
with it, and the group is signalled only while its leader is not yet reaped (no pid-reuse risk).
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tansaku import _layout
from tansaku._errors import TansakuError
from tansaku._reaper import kill_leftovers
from tansaku.objectives._base import Job, with_stderr_line
from tansaku.objectives._command import Command
from tansaku.objectives._runner import Runner
from tansaku.study._liveness import parse_worker, pid_alive

if TYPE_CHECKING:
    from tansaku.study._study import Study

__all__ = ["SETUP_ATTR", "Setup", "ensure_setup", "recorded_setup_dir"]

SETUP_ATTR = "setup"


@dataclass(frozen=True)
class Setup:
    """A setup step: ``run`` is a :class:`~tansaku.Command` or a Python function called with the
    directory; ``dir`` defaults to ``<workdir>/setup``; ``timeout`` in seconds (None: none)."""

    run: Command | Callable[[Path], Any]
    dir: str | Path | None = None
    timeout: float | None = None

    @classmethod
    def of(cls, spec: Setup | Command | Callable[[Path], Any]) -> Setup:
        if isinstance(spec, Setup):
            return spec
        if callable(spec):  # a Command is callable too
            return cls(spec)
        raise TansakuError(
            f"setup must be a tk.Command, a function of the setup directory or a Setup, got "
            f"{type(spec).__name__}"
        )


def recorded_setup_dir(system_attrs: Mapping[str, Any]) -> Path | None:
    """The directory of a finished setup step whose outputs are still there, else None."""
    info = system_attrs.get(SETUP_ATTR)
    if not isinstance(info, Mapping) or info.get("state") != "done":
        return None
    d = info.get("dir")
    return Path(d) if isinstance(d, str) and Path(d).is_dir() else None


@contextlib.contextmanager
def _locked(path: Path, note: Callable[[str], None]) -> Iterator[None]:
    with _layout.writing(path):
        f = open(path, "a+b")
    with f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            note(f"waiting for the setup step another worker is running in {path.parent}")
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _run_command(
    runner: Runner,
    directory: Path,
    study: Study,
    timeout: float | None,
    seed: int | None,
    worker: str,
) -> None:
    """Run the setup command to its end; a failure raises ``TansakuError`` worded by the rule of
    a failed trial (``exit_outcome``/``killed_outcome``, then ``with_stderr_line``): ``the setup
    command failed: exit code 2: <its last stderr line>``, ``... killed by SIGKILL``,
    ``... timeout: killed after 5 s``."""
    job = Job(
        -1,
        -1,
        {},
        study_name=study.name,
        timeout=timeout,
        workdir=directory,
        seed=seed,
        # TANSAKU_WORKER: a resumed run finds what a killed attempt left (kill_leftovers)
        extra_env={"TANSAKU_SETUP_DIR": str(directory), "TANSAKU_WORKER": worker},
    )
    run = runner.command_run(job, on_report=lambda step, value: None)
    try:
        outcome = run.run()
    except BaseException:  # Ctrl-C, a full disk: the step is in its own session, stop it here
        if run.proc is not None:
            run.kill("interrupted")
            deadline = time.monotonic() + 2 * runner.kill_grace + 1
            while run.check() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        raise
    code = outcome.system_attrs.get("returncode")
    if code == 0 and run.kill_reason is None:  # done: what it printed is no trial's result
        return
    message = outcome.message or "failed"
    if "the command" in message:  # "the command failed: ...", "cannot start the command: ..."
        message = message.replace("the command", "the setup command", 1)
    else:  # "timeout: killed after 5 s"
        message = f"the setup command failed: {message}"
    message = with_stderr_line(message, outcome.stderr) or message
    if isinstance(code, int):  # it ran: its output is there
        message += f"; see {directory / 'stderr.txt'}"
    raise TansakuError(message)


def _clean_after(previous: Mapping[str, Any], directory: Path, study: Study) -> str:
    """Before a new attempt: kill what an earlier, killed attempt left running and empty the
    directory if tansaku created it.  Returns what was done, for the note."""
    done = []
    worker = previous.get("worker")
    if previous.get("state") == "running" and isinstance(worker, str):
        w = parse_worker(worker)
        mine = w is not None and not w.manual and w.host == socket.gethostname()
        if mine and not pid_alive(w.pid) and kill_leftovers(study.name, [worker]):
            done.append("stopped what it left running")
    if previous.get("created_dir") and previous.get("dir") == str(directory) and directory.exists():
        shutil.rmtree(directory, ignore_errors=True)
        done.append(f"emptied {directory}")
    return "; ".join(done)


def ensure_setup(
    study: Study,
    setup: Command | Callable[[Path], Any],
    directory: str | Path,
    *,
    timeout: float | None = None,
    note: Callable[[str], None] = lambda text: None,
    worker: str | None = None,
) -> Path:
    """Run ``setup`` once for ``study`` in ``directory`` unless a finished run is recorded (see the
    module docstring); returns the directory trials should use."""
    storage, sid = study.storage, study.study_id
    runner = Runner(setup)  # a command runs as a trial's would; a function is called here
    done = recorded_setup_dir(study.system_attrs)
    if done is not None:
        return done
    directory = Path(directory).resolve()
    _layout.make_dir(directory.parent)
    if worker is None:
        from tansaku.study._study import new_worker_id

        worker = new_worker_id()
    # the lock lives next to the directory: the directory's existence means "outputs are there"
    with _locked(directory.parent / f".{directory.name}.tansaku-lock", note):
        previous = study.system_attrs.get(SETUP_ATTR)
        done = recorded_setup_dir(study.system_attrs)
        if done is not None:  # another worker finished it while we waited
            return done
        if not isinstance(previous, Mapping):
            previous = {}
        attempts = int(previous.get("attempts", 0)) + 1
        if attempts > 1:
            cleaned = _clean_after(previous, directory, study)
            note(
                f"the setup step ran before (state: {previous.get('state')}); running it again"
                + (f" ({cleaned})" if cleaned else "")
            )
        same = previous.get("dir") == str(directory)
        record: dict[str, Any] = {
            "dir": str(directory),
            "attempts": attempts,
            "worker": worker,
            "started_at": time.time(),
            "command": runner.describe(),
            # ours to empty before a retry (never a directory that was there before us)
            "created_dir": bool(previous.get("created_dir")) if same else not directory.exists(),
        }
        storage.set_study_system_attrs(sid, {SETUP_ATTR: {**record, "state": "running"}})
        _layout.make_dir(directory)
        note(f"running the setup step in {directory}")
        try:
            if runner.external:
                seed = study.system_attrs.get("seed")
                _run_command(runner, directory, study, timeout, seed, worker)
            else:
                try:
                    setup(directory)
                except Exception as e:
                    if _layout.is_disk_full(e):
                        raise _layout.disk_full_error(e) from None  # type: ignore[arg-type]
                    raise TansakuError(f"the setup function failed: {type(e).__name__}: {e}") from e
        except BaseException as e:
            state = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
            with contextlib.suppress(Exception):
                storage.set_study_system_attrs(
                    sid, {SETUP_ATTR: {**record, "state": state, "message": str(e)[:500]}}
                )
            raise
        end = time.time()
        record.update(state="done", finished_at=end, duration=end - record["started_at"])
        storage.set_study_system_attrs(sid, {SETUP_ATTR: record})
        note(f"setup step done in {end - record['started_at']:.1f} s")
    return directory
