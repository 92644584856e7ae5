"""PBS fixtures for the executor tests (tests/executors/test_pbs.py and the conformance suite).

``pbs`` itself (the checked single-host OpenPBS, with its marker and skip/fail rule) is in
tests/services.py.  Here:

``pbs_spec``   function  executor options for the real OpenPBS, for a study run in the test's own
                         process (as root: start_pbs.sh sets ``acl_roots=root``).
``pbs_user``   session   :class:`PBSUser`: runs a function of a test module as the ordinary user
                         ``pbsuser``, under a venv that user can execute (Debian's python3, whose
                         ``.pth`` reads this run's site-packages, ``src`` and the repo root), in
                         a scratch directory that user owns.  This is how a user of a real
                         cluster runs tansaku, and what the PBS executor tests use.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import site
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.services import PBSQueue

REPO = Path(__file__).resolve().parents[2]

#: executor options every PBS test uses (fast polling: the test jobs are short)
FAST = {"poll_interval": 0.5, "marker_grace": 2.0}


def pbs_options(q: PBSQueue, **extra: Any) -> dict[str, Any]:
    """Executor options for the test OpenPBS: its queue, its command directory, fast polling."""
    return {"name": "pbs", "queue": q.queue, "bin_dir": q.bin_dir, **FAST, **extra}


@pytest.fixture
def pbs_spec(pbs: PBSQueue) -> dict[str, Any]:
    return pbs_options(pbs)


@dataclass
class PBSUser:
    """Runs test code as the ordinary user jobs belong to (see the module docstring)."""

    queue: PBSQueue
    python: str  # the user's venv interpreter
    root: Path  # scratch space owned by the user

    def tmpdir(self, name: str) -> Path:
        d = Path(tempfile.mkdtemp(prefix=f"{name[:40]}-", dir=self.root))
        ent = pwd.getpwnam(self.queue.user)
        os.chown(d, ent.pw_uid, ent.pw_gid)
        return d

    def env(self) -> dict[str, str]:
        ent = pwd.getpwnam(self.queue.user)
        return {
            "HOME": ent.pw_dir,
            "USER": self.queue.user,
            "LOGNAME": self.queue.user,
            "PATH": "/usr/local/bin:/usr/bin:/bin",  # no PBS on PATH: the executor has bin_dir
            "PYTHONPATH": f"{REPO / 'src'}:{REPO}",
            "LANG": "C.UTF-8",
        }

    def run(self, target: str, *args: str, timeout: float = 120) -> str:
        """Call ``module:function(*args)`` as the user; fail the test with its output if it
        raises.  Returns its stdout."""
        code = (
            "import importlib, sys\n"
            "mod, fn = sys.argv[1].split(':')\n"
            "getattr(importlib.import_module(mod), fn)(*sys.argv[2:])\n"
        )
        cwd = self.tmpdir("cwd")
        r = subprocess.run(
            [self.python, "-c", code, target, *args],
            user=self.queue.user,
            group=pwd.getpwnam(self.queue.user).pw_gid,
            extra_groups=[],
            env=self.env(),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if r.returncode != 0:
            pytest.fail(
                f"{target} as {self.queue.user} failed (exit {r.returncode}):\n"
                f"{r.stdout[-3000:]}\n{r.stderr[-6000:]}",
                pytrace=False,
            )
        return r.stdout


def _user_python(user: str) -> str | None:
    """An interpreter of this run's Python version that ``user`` can execute, or None."""
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    for cand in (sys.executable, f"/usr/bin/python{ver}", f"/usr/local/bin/python{ver}"):
        if not Path(cand).exists():
            continue
        try:
            r = subprocess.run(
                [cand, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
                user=user,
                capture_output=True,
                text=True,
                cwd="/",
                timeout=30,
            )
        except PermissionError:  # e.g. a pyenv python under /root (mode 0700)
            continue
        if r.returncode == 0 and r.stdout.strip() == ver:
            return os.path.realpath(cand)
    return None


@pytest.fixture(scope="session")
def pbs_user(pbs: PBSQueue) -> Iterator[PBSUser]:
    if os.geteuid() != 0:
        pytest.skip("running studies as the ordinary PBS user needs root (to switch to it)")
    base = Path(tempfile.mkdtemp(prefix="tansaku-pbs-"))
    base.chmod(0o755)
    try:
        exe = _user_python(pbs.user)
        if exe is None:
            pytest.fail(
                f"no python{sys.version_info.major}.{sys.version_info.minor} that user "
                f"{pbs.user} can execute (the test venv's interpreter is under a private "
                "directory); install Debian's python3",
                pytrace=False,
            )
        venv = base / "venv"
        subprocess.run([exe, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
        (site_dir,) = (venv / "lib").glob("python*/site-packages")
        # the venv sees this run's packages (same Python minor version, so the same wheels)
        (site_dir / "tansaku-tests.pth").write_text("\n".join(site.getsitepackages()) + "\n")
        user = PBSUser(pbs, str(venv / "bin" / "python"), base)
        probe = subprocess.run(
            [user.python, "-c", "import numpy, sqlalchemy, tansaku, tests.executors.batch_cases"],
            user=pbs.user,
            env=user.env(),
            cwd="/",
            capture_output=True,
            text=True,
            timeout=60,
        )
        if probe.returncode != 0:
            pytest.fail(
                f"user {pbs.user} cannot import the test packages (is {REPO} or the venv "
                f"readable by others?): {probe.stderr.strip()[-500:]}",
                pytrace=False,
            )
        yield user
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(base)
