from __future__ import annotations

import sys
from pathlib import Path

import pytest

import tansaku as tk
from tansaku.study._setup import Setup

PRETRAIN = """
import os, sys
d = os.environ["TANSAKU_SETUP_DIR"]
assert os.getcwd() == d and sys.argv[1] == d
with open(os.path.join(sys.argv[2], "setup_runs.txt"), "a") as f:
    f.write("run\\n")
with open("weights.txt", "w") as f:
    f.write("0.25")
"""

TRAIN = """
import os, sys
base = float(open(os.path.join(sys.argv[2], "weights.txt")).read())
assert os.environ["TANSAKU_SETUP_DIR"] == sys.argv[2]
print(base + float(sys.argv[1]))
"""


def write(tmp_path: Path) -> tuple[tk.Command, tk.Command]:
    (tmp_path / "pretrain.py").write_text(PRETRAIN)
    (tmp_path / "train.py").write_text(TRAIN)
    setup = tk.Command(
        [sys.executable, "pretrain.py", "{setup_dir}", str(tmp_path)], base_dir=tmp_path
    )
    train = tk.Command([sys.executable, "train.py", "{x}", "{setup_dir}"], base_dir=tmp_path)
    return setup, train


def runs(tmp_path: Path) -> int:
    p = tmp_path / "setup_runs.txt"
    return len(p.read_text().splitlines()) if p.exists() else 0


def test_setup_runs_once_and_every_trial_gets_its_directory(tmp_path: Path) -> None:
    setup, train = write(tmp_path)
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = tk.create_study({"x": tk.Float(0, 1)}, storage=storage, name="s")
    study.optimize(train, n_trials=3, n_workers=2, setup=setup, workdir=tmp_path / "runs")
    setup_dir = tmp_path / "runs" / "setup"
    assert runs(tmp_path) == 1
    assert (setup_dir / "weights.txt").read_text() == "0.25"
    for t in study.trials:
        assert t.state is tk.TrialState.COMPLETE, (t.message, t.stderr)
        assert t.value == pytest.approx(0.25 + t.params["x"])
    info = study.system_attrs["setup"]
    assert info["state"] == "done" and info["dir"] == str(setup_dir) and info["attempts"] == 1
    # resumed (a new Study object, as after a restart): reused, not rerun
    again = tk.load_study("s", storage=storage)
    again.optimize(train, n_trials=2, setup=setup, workdir=tmp_path / "runs")
    assert runs(tmp_path) == 1
    # without the setup option, trials still get the recorded directory
    again.optimize(train, n_trials=1, workdir=tmp_path / "runs")
    assert all(t.state is tk.TrialState.COMPLETE for t in again.trials)
    assert len(again.trials) == 6


def test_a_deleted_setup_directory_is_set_up_again(tmp_path: Path) -> None:
    import shutil

    setup, train = write(tmp_path)
    study = tk.create_study({"x": tk.Float(0, 1)})
    study.optimize(train, n_trials=1, setup=setup, workdir=tmp_path / "runs")
    shutil.rmtree(tmp_path / "runs" / "setup")
    study.optimize(train, n_trials=1, setup=setup, workdir=tmp_path / "runs")
    assert runs(tmp_path) == 2
    assert study.system_attrs["setup"]["state"] == "done"
    assert study.system_attrs["setup"]["attempts"] == 2


def test_a_failed_setup_stops_the_run_and_is_retried_next_time(tmp_path: Path) -> None:
    setup, train = write(tmp_path)
    bad = tk.Command([sys.executable, "-c", "import sys; sys.exit('no GPU here')"])
    study = tk.create_study({"x": tk.Float(0, 1)})
    with pytest.raises(tk.TansakuError, match=r"setup command failed: exit code 1: no GPU here"):
        study.optimize(train, n_trials=1, setup=bad, workdir=tmp_path / "runs")
    assert study.trials == []
    assert study.system_attrs["setup"]["state"] == "failed"
    study.optimize(train, n_trials=1, setup=setup, workdir=tmp_path / "runs")
    assert study.system_attrs["setup"]["state"] == "done"
    assert study.system_attrs["setup"]["attempts"] == 2


def test_python_setup_function_and_its_directory_for_python_objectives(tmp_path: Path) -> None:
    calls: list[Path] = []

    def pretrain(d: Path) -> None:
        calls.append(d)
        (d / "w").write_text("3")

    def objective(trial: tk.Trial) -> float:
        assert trial.setup_dir is not None
        return float((trial.setup_dir / "w").read_text()) + trial.params["x"]

    study = tk.create_study({"x": tk.Float(0, 1)}, name="py")
    custom = tmp_path / "pre"
    study.optimize(objective, n_trials=2, setup=Setup(pretrain, dir=custom))
    study.optimize(objective, n_trials=2, n_workers=2, setup=Setup(pretrain, dir=custom))
    assert calls == [custom]
    assert all(t.value is not None and t.value >= 3 for t in study.trials)


def test_setup_timeout(tmp_path: Path) -> None:
    slow = tk.Command([sys.executable, "-c", "import time; time.sleep(30)"])
    study = tk.create_study({"x": tk.Float(0, 1)})
    with pytest.raises(tk.TansakuError, match=r"setup command failed: timeout: killed after 0.5 s"):
        study.optimize(lambda t: 1.0, n_trials=1, setup=Setup(slow, dir=tmp_path, timeout=0.5))


def test_a_setup_killed_by_a_signal_reads_like_a_failed_trial(tmp_path: Path) -> None:
    """One rule for how a program ended (``exit_outcome``): the signal by name, then the
    program's own last stderr line, as a failed trial's message says it."""
    killed = tk.Command(["sh", "-c", "echo 'out of memory' >&2; kill -KILL $$"])
    study = tk.create_study({"x": tk.Float(0, 1)}, sampler="random")
    with pytest.raises(tk.TansakuError) as info:
        study.optimize(lambda t: 1.0, n_trials=1, setup=Setup(killed, dir=tmp_path / "s"))
    assert str(info.value).startswith(
        "the setup command failed: killed by SIGKILL: out of memory; see "
    )
    study.optimize(killed, n_trials=1, workdir=tmp_path / "runs")
    assert study.trials[0].message == "the command failed: killed by SIGKILL: out of memory"


def test_what_the_setup_leaves_running_is_killed_when_it_ends(tmp_path: Path) -> None:
    """The setup's group is killed when its leader exits -- before the leader is reaped, so the
    group id cannot have been reused by then (see CommandRun._signal)."""
    from tests.executors.test_orphans import _alive, _wait_gone

    setup = tk.Command(["sh", "-c", "sleep 60 & echo $! > bg.pid"])
    study = tk.create_study({"x": tk.Float(0, 1)})
    study.optimize(lambda t: 1.0, n_trials=1, setup=Setup(setup, dir=tmp_path / "s"))
    pid = int((tmp_path / "s" / "bg.pid").read_text())
    assert _wait_gone([pid], timeout=5) == [] and not _alive(pid)
