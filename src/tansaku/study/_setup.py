"""The study's setup step: a command run once per study (e.g. pre-training) before any trial.

It runs in its own directory (default ``<workdir>/setup``, e.g. ``runs/<name>/setup``) with
``TANSAKU_SETUP_DIR`` (and ``{setup_dir}``) naming it; every trial then gets the same directory
(``{setup_dir}``, ``TANSAKU_SETUP_DIR``, ``trial.setup_dir``) to read what it left there.

Exactly once across resumes: the study's ``system_attrs["setup"]`` records ``state`` (running,
done, failed, interrupted), the directory, times and attempts.  ``done`` is written the moment the
command exits 0, and a later run that finds ``done`` with the directory still present reuses it.
A run killed during setup left ``running`` behind: the next run starts the setup again (in the same
directory: make the step overwrite its outputs).  To force a new setup, delete the directory.

Several coordinators of one study (``tansaku worker``) serialise on a lock file next to the directory,
so the second waits for the first and then reuses its result.  The setup process is in its own
session and is killed with its group when the coordinator stops it; on Linux it also gets SIGKILL
if the coordinator itself is killed, so a killed run leaves no setup behind that could finish later.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tansaku._errors import TansakuError
from tansaku.objectives._base import Job
from tansaku.objectives._command import Command

if TYPE_CHECKING:
    from tansaku.study._study import Study

__all__ = ["SETUP_ATTR", "Setup", "ensure_setup", "recorded_setup_dir"]

SETUP_ATTR = "setup"
_TAIL = 2000


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
        if isinstance(spec, Command) or callable(spec):
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
    with open(path, "a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            note(f"waiting for the setup step another worker is running in {path.parent}")
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn giving the child SIGKILL when its parent dies (Linux), resolved before fork."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    return preexec


def _tail(path: Path) -> str:
    try:
        data = path.read_bytes()[-_TAIL:]
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace").strip()


def _run_command(
    command: Command, directory: Path, study: Study, timeout: float | None, seed: int | None
) -> None:
    job = Job(
        -1,
        -1,
        {},
        study_name=study.name,
        workdir=directory,
        seed=seed,
        extra_env={"TANSAKU_SETUP_DIR": str(directory)},
    )
    argv = command.render(job)
    cwd = command.working_directory(job)
    cwd.mkdir(parents=True, exist_ok=True)
    with open(directory / "stdout.txt", "wb") as out, open(directory / "stderr.txt", "wb") as err:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=command.environment(job),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=_parent_death_signal(),
            )
        except OSError as e:
            raise TansakuError(f"cannot start the setup command: {e}") from None

        def stop(grace: float) -> None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop(command.kill_grace)
            raise TansakuError(f"the setup command timed out after {timeout:g} s") from None
        except BaseException:
            stop(command.kill_grace)
            raise
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever it left running in its group
    if code != 0:
        why = f"exit code {code}" if code > 0 else f"killed by signal {-code}"
        tail = _tail(directory / "stderr.txt")
        raise TansakuError(
            f"the setup command failed ({why}); see {directory / 'stderr.txt'}"
            + (f": {tail.splitlines()[-1]}" if tail else "")
        )


def ensure_setup(
    study: Study,
    setup: Command | Callable[[Path], Any],
    directory: str | Path,
    *,
    timeout: float | None = None,
    note: Callable[[str], None] = lambda text: None,
) -> Path:
    """Run ``setup`` once for ``study`` in ``directory`` unless a finished run is recorded (see the
    module docstring); returns the directory trials should use."""
    storage, sid = study.storage, study.study_id
    done = recorded_setup_dir(study.system_attrs)
    if done is not None:
        return done
    directory = Path(directory).resolve()
    directory.parent.mkdir(parents=True, exist_ok=True)
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
            note(f"the setup step ran before (state: {previous.get('state')}); running it again")
        record: dict[str, Any] = {
            "dir": str(directory),
            "attempts": attempts,
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "started_at": time.time(),
            "command": list(setup.argv) if isinstance(setup, Command) else repr(setup),
        }
        storage.set_study_system_attrs(sid, {SETUP_ATTR: {**record, "state": "running"}})
        directory.mkdir(parents=True, exist_ok=True)
        note(f"running the setup step in {directory}")
        try:
            if isinstance(setup, Command):
                seed = study.system_attrs.get("seed")
                _run_command(setup, directory, study, timeout, seed)
            else:
                try:
                    setup(directory)
                except Exception as e:
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
