"""No orphans: trial processes end when the process running them dies, even by ``kill -9``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tansaku import _reaper

PY = sys.executable
SRC = str(Path(__file__).resolve().parents[2] / "src")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state, ppid, pgrp, ...); [] if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return []


def _alive(pid: int) -> bool:
    """Running and not a zombie."""
    return _stat(pid)[:1] not in ([], ["Z"])


def _wait_gone(pids, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    left = [p for p in pids if _alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if _alive(p)]
    return left


def _spawn(code: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [PY, "-c", textwrap.dedent(code)],
        env={**os.environ, "PYTHONPATH": SRC, **(env or {})},
        stdout=subprocess.PIPE,
        text=True,
        **kw,
    )


def _kill(pids) -> None:
    for p in pids:
        if isinstance(p, subprocess.Popen):
            p.kill()
            p.wait()
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


OWNER = """
    import os, subprocess, sys, time
    from tansaku import _reaper
    keep, drop = [subprocess.Popen(["sleep", "60"], start_new_session=True) for _ in range(2)]
    _reaper.register(keep.pid, 0.2)
    _reaper.register(drop.pid, 0.2)
    _reaper.unregister(drop.pid)
    print(keep.pid, drop.pid, _reaper.reaper_pid(), flush=True)
    time.sleep(60)
"""


def test_reaper_kills_registered_groups_when_the_owner_is_killed():
    owner = _spawn(OWNER)
    keep = drop = reaper = 0
    try:
        keep, drop, reaper = map(int, owner.stdout.readline().split())
        assert _alive(keep) and _alive(drop) and _alive(reaper)
        owner.kill()  # SIGKILL: no cleanup code runs in the owner
        owner.wait()
        assert _wait_gone([keep]) == [], "a registered group outlived its owner"
        assert _wait_gone([reaper]) == [], "the reaper did not exit after its owner died"
        assert _alive(drop), "an unregistered group was killed"
    finally:
        _kill([owner, *(p for p in (keep, drop, reaper) if p)])


def test_reaper_kills_what_the_owner_started_but_did_not_live_to_register():
    # the owner dies between starting a program and registering its group: the program carries
    # the owner's pid in TANSAKU_COORDINATOR_PID, and that is enough for the reaper to find it
    code = """
    import os, subprocess, time
    from tansaku import _reaper
    _reaper.ensure_started()
    mine = {**os.environ, "TANSAKU_COORDINATOR_PID": str(os.getpid())}
    other = {**os.environ, "TANSAKU_COORDINATOR_PID": "1" + str(os.getpid())}
    unregistered = subprocess.Popen(
        ["sh", "-c", "sleep 60 & exec sleep 60"], env=mine, start_new_session=True)
    foreign = subprocess.Popen(["sleep", "60"], env=other, start_new_session=True)
    time.sleep(0.3)  # let sh start its background sleep
    print(unregistered.pid, foreign.pid, _reaper.reaper_pid(), flush=True)
    time.sleep(60)
    """
    owner = _spawn(code)
    mine = foreign = reaper = 0
    try:
        mine, foreign, reaper = map(int, owner.stdout.readline().split())
        group = [int(p) for p in os.listdir("/proc") if p.isdigit() and _stat(int(p))[2:3] == [str(mine)]]
        assert len(group) == 2 and all(_alive(p) for p in group), group
        owner.kill()
        owner.wait()
        assert _wait_gone(group) == [], "a program the owner started outlived it"
        assert _wait_gone([reaper]) == []
        assert _alive(foreign), "a program of another owner was killed"
    finally:
        _kill([owner, *(p for p in (mine, foreign, reaper) if p)])
        if mine:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(mine, signal.SIGKILL)


def test_reaper_survives_a_kill_of_the_owners_group_and_ctrl_c():
    owner = _spawn(OWNER, start_new_session=True)
    keep = drop = reaper = 0
    try:
        keep, drop, reaper = map(int, owner.stdout.readline().split())
        os.killpg(owner.pid, signal.SIGINT)  # what Ctrl-C on a terminal does
        os.killpg(owner.pid, signal.SIGKILL)  # and kill -9 -- -PGID
        owner.wait()
        assert _wait_gone([keep]) == []
    finally:
        _kill([owner, *(p for p in (keep, drop, reaper) if p)])


def test_a_killed_reaper_is_replaced_and_told_every_group():
    code = OWNER.replace(
        "time.sleep(60)",
        """os.kill(_reaper.reaper_pid(), 9)
    time.sleep(0.5)
    extra = subprocess.Popen(["sleep", "60"], start_new_session=True)
    _reaper.register(extra.pid, 0.2)  # notices the dead reaper, starts a new one
    print(extra.pid, _reaper.reaper_pid(), flush=True)
    time.sleep(60)""",
    )
    owner = _spawn(code)
    keep = drop = extra = new = 0
    try:
        keep, drop, old = map(int, owner.stdout.readline().split())
        extra, new = map(int, owner.stdout.readline().split())
        assert new != old and _alive(new)
        owner.kill()
        owner.wait()
        assert _wait_gone([keep, extra]) == []
    finally:
        _kill([owner, *(p for p in (keep, drop, extra, new) if p)])


def test_reaper_kills_a_sigterm_ignoring_trial_after_the_grace_period():
    code = """
    import os, signal, subprocess, sys, time
    from tansaku import _reaper
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         "print(1, flush=True); time.sleep(60)"],
        start_new_session=True, env={**os.environ, "TANSAKU_STUDY": "s"}, stdout=subprocess.PIPE)
    stubborn.stdout.readline()  # SIGTERM is ignored from here on
    _reaper.register(stubborn.pid, 0.5)
    print(stubborn.pid, _reaper.reaper_pid(), flush=True)
    time.sleep(60)
    """
    owner = _spawn(code)
    pid = reaper = 0
    try:
        pid, reaper = map(int, owner.stdout.readline().split())
        owner.kill()
        owner.wait()
        time.sleep(0.25)
        assert _alive(pid), "SIGTERM is ignored: it must still be there within the grace period"
        assert _wait_gone([pid]) == [], "not killed after the grace period"
    finally:
        _kill([owner, *(p for p in (pid, reaper) if p)])


def test_kill_leftovers_finds_a_dead_coordinators_processes_by_environment():
    study = f"orphans-{uuid.uuid4().hex[:8]}"
    code = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"

    def start(worker: str, started_by: str) -> subprocess.Popen:
        env = {"TANSAKU_STUDY": study, "TANSAKU_WORKER": worker}
        env["TANSAKU_COORDINATOR_PID"] = started_by
        return subprocess.Popen([PY, "-c", code], env={**os.environ, **env}, start_new_session=True)

    mine = [start("h:1:dead", "1") for _ in range(2)]  # started by the dead coordinator, pid 1
    batch = start("h:1:dead", "777")  # same worker, started by a batch job's runner: not ours
    other = start("h:2:alive", "2")  # another coordinator's
    try:
        deadline = time.monotonic() + 10
        while len(_reaper.find_trial_processes(study)) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)  # wait for the grandchildren to start
        found = _reaper.find_trial_processes(study, ["h:1:dead"])
        assert {p.pid for p in mine} <= set(found) and len(found) == 4
        assert sorted(_reaper.kill_leftovers(study, ["h:1:dead"])) == found
        assert _wait_gone(found) == []
        assert len(_reaper.find_trial_processes(study)) == 4  # batch's and other's: untouched
        assert _reaper.kill_leftovers(study, []) == []
    finally:
        for p in [*mine, batch, other]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


COORDINATOR = """
    import subprocess, sys, time
    import tansaku as tk

    def objective(trial):
        child = subprocess.Popen(["sleep", "60"])
        print("started", child.pid, flush=True)
        time.sleep(60)
        return 0.0

    cmd = tk.Command(["sh", "-c", "sleep 60 & echo started $$; sleep 60; echo 1"])
    study = tk.create_study({"x": tk.Float(0, 1)}, name=sys.argv[1], seed=0)
    study.optimize(objective if sys.argv[2] == "python" else cmd, n_trials=3, n_workers=3,
                   executor="local", workdir=sys.argv[3])
"""


@pytest.mark.parametrize("kind", ["python", "command"])
def test_local_executor_leaves_nothing_after_kill_9(tmp_path, kind):
    """Python workers, commands, and the processes each of them started all die with a
    coordinator killed by SIGKILL (workers by PR_SET_PDEATHSIG, groups by the reaper)."""
    study = f"orphans-{uuid.uuid4().hex[:8]}"
    coord = subprocess.Popen(
        [PY, "-c", textwrap.dedent(COORDINATOR), study, kind, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": SRC},
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        procs: list[int] = []
        while len(procs) < 3 and time.monotonic() < deadline:  # each trial started a child
            time.sleep(0.1)
            procs = _reaper.find_trial_processes(study)
        assert len(procs) >= 3, f"trials did not start: {procs}"
        time.sleep(0.5)
        procs = _reaper.find_trial_processes(study)
        workers = [
            int(p) for p in os.listdir("/proc") if p.isdigit() and _ppid(int(p)) == coord.pid
        ]
        coord.kill()
        coord.wait()
        left = _wait_gone(set(procs) | set(workers))
        assert left == [], f"orphans after kill -9: {left}"
        assert _reaper.find_trial_processes(study) == []
    finally:
        if coord.poll() is None:
            coord.kill()
        _kill(_reaper.find_trial_processes(study))


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return -1


def test_resume_kills_leftovers_when_the_reaper_died_too(tmp_path):
    """``kill -9`` of the coordinator *and* its reaper: the next ``tansaku run`` finds the dead
    coordinator's trial processes by their environment and kills them before re-running."""
    study = f"orphans-{uuid.uuid4().hex[:8]}"
    (tmp_path / "study.yaml").write_text(
        textwrap.dedent(f"""
        name: {study}
        n_trials: 2
        n_workers: 2
        space: {{x: {{type: float, low: 0, high: 1}}}}
        command: [sh, -c, 'if [ -e started ]; then echo 1; else touch started; sleep 60; fi']
        """)
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    cli = [PY, "-m", "tansaku", "run", "-q", str(tmp_path / "study.yaml")]
    coord = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    old: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(old) < 4 and time.monotonic() < deadline:  # 2 x (sh + sleep)
            time.sleep(0.1)
            old = _reaper.find_trial_processes(study)
        assert len(old) >= 4, old
        reaper = [
            int(p)
            for p in os.listdir("/proc")
            if p.isdigit() and _ppid(int(p)) == coord.pid and b"tansaku-reaper" in _cmdline(int(p))
        ]
        assert len(reaper) == 1
        os.kill(reaper[0], signal.SIGKILL)
        coord.kill()
        coord.wait()
        time.sleep(0.5)
        assert all(_alive(p) for p in old), "without the reaper nothing should have stopped them"
        done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert _wait_gone(old, timeout=5) == []
        assert _reaper.find_trial_processes(study) == []
    finally:
        if coord.poll() is None:
            coord.kill()
        _kill(_reaper.find_trial_processes(study))


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""
