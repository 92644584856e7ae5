"""A pruned external command is stopped with everything it started, and stored PRUNED.

Real processes: the command starts a child, both write their pids; a test pruner decides at a
known report and notes the time; a watcher thread notes when each pid is gone (no process, or a
zombie nobody has reaped yet) and when storage shows the trial PRUNED.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

import tansaku as tk
from tansaku.pruners import Pruner

SCRIPT = r"""
import os, signal, subprocess, sys, time
x, n, stubborn = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
code = "import signal, time\n"
if stubborn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
child = subprocess.Popen([sys.executable, "-c", code + "time.sleep(120)"])
with open("pids.tmp", "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
os.replace("pids.tmp", "pids")
for step in range(1, n + 1):
    print(f"tansaku:report step={step} value={x + 1.0 / step}", flush=True)
    time.sleep(0.05)
child.kill()
print(x)
"""


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie is dead, only not yet reaped


class PruneTrialOneAt(Pruner):
    name = "test"

    def __init__(self, step: int, watch: Watch) -> None:
        self.step = step
        self.watch = watch

    def should_prune(self, study: tk.Study, trial: tk.FrozenTrial) -> bool:
        if trial.number == 1 and (trial.last_step or 0) >= self.step:
            if self.watch.decided is None:
                self.watch.start(study, trial)
            return True
        return False


class Watch:
    def __init__(self, trial_dir: Path) -> None:
        self.trial_dir = trial_dir
        self.decided: float | None = None
        self.pruned_seen: float | None = None
        self.gone_at: dict[int, float] = {}
        self.pids: list[int] = []

    def start(self, study: tk.Study, trial: tk.FrozenTrial) -> None:
        self.decided = time.monotonic()
        self.pids = [int(p) for p in (self.trial_dir / "pids").read_text().split()]
        storage, tid = study.storage, trial.trial_id

        def run() -> None:
            end = time.monotonic() + 10
            while time.monotonic() < end:
                now = time.monotonic()
                for pid in self.pids:
                    if pid not in self.gone_at and gone(pid):
                        self.gone_at[pid] = now
                if (
                    self.pruned_seen is None
                    and storage.get_trial(tid).state is tk.TrialState.PRUNED
                ):
                    self.pruned_seen = now
                if len(self.gone_at) == len(self.pids) and self.pruned_seen is not None:
                    return
                time.sleep(0.01)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()


@pytest.mark.parametrize("executor", ["inline", "local"])
@pytest.mark.parametrize("stubborn", [False, True], ids=["polite", "ignores-sigterm"])
def test_pruned_command_and_its_children_are_gone_within_2s(
    tmp_path: Path, executor: str, stubborn: bool
) -> None:
    (tmp_path / "train.py").write_text(SCRIPT)
    workdir = tmp_path / "runs"
    watch = Watch(workdir / "trial-000001")
    study = tk.create_study(
        {"x": tk.Float(0.0, 2.0), "n": tk.Int(1, 10_000)}, pruner=PruneTrialOneAt(3, watch)
    )
    study.enqueue({"x": 0.0, "n": 4})
    study.enqueue({"x": 1.0, "n": 10_000})  # would run ~8 minutes if not stopped
    command = tk.Command(
        [sys.executable, "train.py", "{x}", "{n}", "1" if stubborn else "0"], base_dir=tmp_path
    )
    started = time.monotonic()
    study.optimize(
        command,
        n_trials=2,
        executor=executor,
        n_workers=1 if executor == "inline" else 2,
        workdir=workdir,
    )
    assert time.monotonic() - started < 30
    watch.thread.join(timeout=10)
    t0, t1 = study.trials
    assert t0.state is tk.TrialState.COMPLETE and t0.value == 0.0
    assert t1.state is tk.TrialState.PRUNED
    assert t1.last_step is not None and t1.last_step >= 3
    assert t1.value == pytest.approx(1.0 + 1.0 / t1.last_step)  # its last reported value
    assert watch.decided is not None and watch.pruned_seen is not None
    assert len(watch.pids) == 2 and len(watch.gone_at) == 2, "a process outlived the prune"
    for pid, at in watch.gone_at.items():
        assert at - watch.decided <= 2.0, f"pid {pid} still there {at - watch.decided:.2f} s after"
        assert at <= watch.pruned_seen + 2.0
    assert watch.pruned_seen - watch.decided <= 2.5
