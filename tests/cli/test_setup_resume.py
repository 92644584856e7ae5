"""The setup step runs exactly once across a resumed study, with the coordinator killed (SIGKILL)
in between: killed during setup -> setup runs again on resume; killed after it -> reused."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import tansaku as tk
from tansaku._layout import study_dir_name

PRETRAIN = """
import os, sys, time
log, here = sys.argv[2], os.getcwd()
with open(log, "a") as f:
    f.write(f"start {os.getpid()}\\n")
time.sleep(float(open(sys.argv[3]).read()))
with open("weights.txt", "w") as f:
    f.write("0.5")
with open(log, "a") as f:
    f.write("end\\n")
"""

TRAIN = """
import os, sys, time
time.sleep(float(sys.argv[3]))
w = float(open(os.path.join(os.environ["TANSAKU_SETUP_DIR"], "weights.txt")).read())
assert sys.argv[2] == os.environ["TANSAKU_SETUP_DIR"]
print(w + float(sys.argv[1]))
"""


def make(tmp_path: Path, *, setup_sleep: float, train_sleep: float) -> Path:
    (tmp_path / "pretrain.py").write_text(PRETRAIN)
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "sleep.txt").write_text(str(setup_sleep))
    py = sys.executable
    (tmp_path / "warm.yaml").write_text(
        f"""
name: warm
space:
  x: {{type: float, low: 0, high: 1}}
setup: [{py}, pretrain.py, "{{setup_dir}}", {tmp_path / "log.txt"}, {tmp_path / "sleep.txt"}]
command: [{py}, train.py, "{{x}}", "{{setup_dir}}", "{train_sleep}"]
n_trials: 5
seed: 0
"""
    )
    return tmp_path / "warm.yaml"


def start(config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(tk.__file__).parents[1])}
    return subprocess.Popen(
        [sys.executable, "-m", "tansaku", "run", str(config), "-q"],
        cwd=config.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(cond: object, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def log(tmp_path: Path) -> list[str]:
    p = tmp_path / "log.txt"
    return p.read_text().splitlines() if p.exists() else []


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def finish(config: Path) -> tk.Study:
    proc = start(config)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    return tk.load_study("warm", storage=f"sqlite:///{config.parent / 'warm.db'}")


def test_killed_during_setup_reruns_it_on_resume(tmp_path: Path) -> None:
    config = make(tmp_path, setup_sleep=30, train_sleep=0)
    proc = start(config)
    wait_for(lambda: len(log(tmp_path)) == 1)
    setup_pid = int(log(tmp_path)[0].split()[1])
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    # the setup program does not outlive its coordinator (it could not be recorded anyway)
    wait_for(lambda: not alive(setup_pid), timeout=3)
    assert log(tmp_path) == [f"start {setup_pid}"]
    (tmp_path / "sleep.txt").write_text("0")
    study = finish(config)
    lines = log(tmp_path)
    assert [x.split()[0] for x in lines] == ["start", "start", "end"]
    info = study.system_attrs["setup"]
    assert info["state"] == "done" and info["attempts"] == 2
    assert len(study.trials) == 5
    assert all(t.value is not None and t.value >= 0.5 for t in study.trials)


def test_killed_after_setup_does_not_rerun_it(tmp_path: Path) -> None:
    config = make(tmp_path, setup_sleep=0, train_sleep=0.3)
    proc = start(config)
    runs = tmp_path / "runs" / study_dir_name("warm")
    wait_for(lambda: (runs / "trial-000001").exists())  # setup done, trials under way
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert log(tmp_path) == [log(tmp_path)[0], "end"]
    study = finish(config)
    assert [x.split()[0] for x in log(tmp_path)] == ["start", "end"]
    assert study.system_attrs["setup"]["attempts"] == 1
    status = subprocess.run(
        [sys.executable, "-m", "tansaku", "status", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(tk.__file__).parents[1])},
        check=True,
    )
    assert f"setup step: done in {runs / 'setup'}" in status.stdout
    trials = study.trials
    assert len(trials) == 5
    assert all(t.state is tk.TrialState.COMPLETE for t in trials), [t.message for t in trials]
    assert all(t.value is not None and t.value >= 0.5 for t in trials)


ORPHAN_SETUP = """
name: {name}
space:
  x: {{type: float, low: 0, high: 1}}
setup: [sh, -c, 'echo start >> {log}; if [ -e {slow} ]; then touch killed-attempt; sleep 100 & sleep 100; fi; echo 0.5 > w']
command: [sh, -c, 'cat {{setup_dir}}/w']
n_trials: 2
"""


@pytest.mark.parametrize("reaper", ["alive", "killed too"])
def test_kill_9_during_setup_leaves_no_process_and_the_resume_sets_up_once(
    tmp_path: Path, reaper: str
) -> None:
    """The setup step's children (``sleep 100 &``) die with a ``kill -9``-ed coordinator: by the
    reaper, or -- when it was killed too -- by the resumed run, which then empties the directory
    and runs the step exactly once more."""
    from tansaku import _reaper
    from tests.executors.test_orphans import _cmdline, _ppid, _wait_gone

    name = f"setup-orphans-{uuid.uuid4().hex[:8]}"
    slow = tmp_path / "slow"
    slow.touch()
    config = tmp_path / "s.yaml"
    config.write_text(ORPHAN_SETUP.format(name=name, log=tmp_path / "log.txt", slow=slow))
    proc = start(config)
    old: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while len(old) < 3 and time.monotonic() < deadline:  # sh and its two sleeps
            time.sleep(0.05)
            old = _reaper.find_trial_processes(name)
        assert len(old) == 3, old
        if reaper == "killed too":
            (pid,) = [
                int(p)
                for p in os.listdir("/proc")
                if p.isdigit() and _ppid(int(p)) == proc.pid and b"tansaku-reaper" in _cmdline(int(p))
            ]
            os.kill(pid, signal.SIGKILL)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        if reaper == "alive":
            assert _wait_gone(old, timeout=5) == [], "the setup's processes outlived it"
        else:
            time.sleep(0.5)
            assert _wait_gone(old, timeout=0) == old, "nothing but the resume should stop them"
        slow.unlink()
        done = subprocess.run(
            [sys.executable, "-m", "tansaku", "run", str(config), "-q"],
            env={**os.environ, "PYTHONPATH": str(Path(tk.__file__).parents[1])},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert _wait_gone(old, timeout=5) == [] and _reaper.find_trial_processes(name) == []
        assert log(tmp_path) == ["start", "start"]  # killed once, then run once
        study = tk.load_study(name, storage=f"sqlite:///{tmp_path / (name + '.db')}")
        info = study.system_attrs["setup"]
        assert info["state"] == "done" and info["attempts"] == 2
        setup_dir = Path(info["dir"])
        assert not (setup_dir / "killed-attempt").exists()  # emptied before the second attempt
        assert [t.value for t in study.trials] == [0.5, 0.5]
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in _reaper.find_trial_processes(name):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
