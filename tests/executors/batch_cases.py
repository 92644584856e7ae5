"""Checks every batch executor (slurm, sge, pbs) runs the same way; the test modules of each
scheduler call these with their executor options and a ``job_gone(job_id)`` probe."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import tansaku as tk
from tansaku import TrialState
from tansaku.pruners import Pruner

#: seconds a cancelled job may take to leave the queue.  PBS's mom SIGTERMs the job's processes,
#: then waits kill_delay (10 s) before SIGKILL while any is left; a process orphaned when its
#: parent died first (the program's `sleep` under `bash -c`) is reparented to PID 1, and on the
#: test VM PID 1 (a firecracker init) reaps late, so the zombie keeps the job alive until
#: kill_delay: qdel -> F took 10-12 s in most prune runs (and 15 s was the old limit: flaky
#: under load).  Slurm and SGE jobs leave in about a second.
JOB_GONE_AFTER_CANCEL = 30.0

# reports its value, then prints it as the result
REPORTING = tk.Command(
    [
        "bash",
        "-c",
        'sleep "$2"; echo "tansaku:report step=1 value=$1"; echo "result $1"',
        "_",
        "{x}",
        "{sleep}",
    ]
)


class AboveHalf(Pruner):
    """Prunes a trial whose first report is above 0.5 (deterministic, for tests)."""

    name = "above-half"

    def should_prune(self, study: Any, trial: Any) -> bool:
        return bool(trial.intermediate) and max(trial.intermediate.values()) > 0.5


def _study(tmp_path: Path, name: str, **kw: Any) -> tk.Study:
    return tk.create_study(
        {"x": tk.Float(0, 1), "sleep": tk.Categorical([0.2, 1.0, 60.0])},
        storage=f"sqlite:///{tmp_path / 'study.db'}",
        name=name,
        seed=1,
        **kw,
    )


def max_overlap(trials: list[Any]) -> int:
    """Most trials whose jobs ran at the same instant (from the job's own start/end stamps)."""
    events = []
    for t in trials:
        events.append((t.system_attrs["job_started_at"], 1))
        events.append((t.system_attrs["job_ended_at"], -1))
    best = now = 0
    for _, d in sorted(events, key=lambda e: (e[0], e[1])):
        now += d
        best = max(best, now)
    return best


def study_completes_in_parallel(
    spec: Mapping[str, Any], tmp_path: Path, *, n: int = 20, workers: int = 4
) -> list[Any]:
    study = _study(tmp_path, "par")
    for _ in range(n):
        study.enqueue({"x": round(float(len(study.trials)) / n, 6), "sleep": 1.0})
    study.optimize(
        REPORTING, n_trials=n, n_workers=workers, executor=dict(spec), workdir=tmp_path / "runs"
    )
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * n, [t.message for t in trials]
    jobs = set()
    for t in trials:
        assert t.value == t.params["x"]
        full = study.storage.get_trial(t.trial_id, with_intermediate=True)
        assert dict(full.intermediate) == {1: t.params["x"]}  # the report line was tailed
        sa = t.system_attrs
        for key in ("job_id", "workdir", "stdout", "stderr", "job_script", "job_log"):
            assert sa.get(key), (key, sa)
        assert Path(sa["stdout"]).read_text().strip().endswith(f"result {t.params['x']}")
        assert Path(sa["job_script"]).exists() and sa["returncode"] == 0
        assert sa["job_ended_at"] - sa["job_started_at"] >= 0.9
        jobs.add(sa["job_id"])
    assert len(jobs) == n  # one job per trial
    overlap = max_overlap(trials)
    assert 2 <= overlap <= workers, overlap  # ran side by side, never more than n_workers
    return trials


def timeout_cancels_the_job(
    spec: Mapping[str, Any], tmp_path: Path, job_gone: Callable[[str], bool]
) -> None:
    study = _study(tmp_path, "timeout")
    cmd = tk.Command(["bash", "-c", "echo $$ > prog.pid; sleep 60; echo 1"])
    study.enqueue({"x": 0.5, "sleep": 60.0})
    t0 = time.monotonic()
    study.optimize(
        cmd,
        n_trials=1,
        executor=dict(spec),
        trial_timeout=1.5,
        max_failures=1,
        workdir=tmp_path / "runs",
    )
    assert time.monotonic() - t0 < 30
    (t,) = study.trials
    assert t.state is TrialState.FAILED and t.message.startswith("timeout: killed after 1.5 s")
    job_id = t.system_attrs["job_id"]
    deadline = time.monotonic() + JOB_GONE_AFTER_CANCEL
    while not job_gone(job_id):
        assert time.monotonic() < deadline, f"job {job_id} still queued after its cancel"
        time.sleep(0.2)
    pid = int((Path(t.system_attrs["workdir"]) / "prog.pid").read_text())
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, "the trial's program outlived its cancelled job"
        time.sleep(0.2)


def prune_cancels_the_job(
    spec: Mapping[str, Any], tmp_path: Path, job_gone: Callable[[str], bool]
) -> None:
    study = _study(tmp_path, "prune", pruner=AboveHalf())
    cmd = tk.Command(
        ["bash", "-c", 'echo "tansaku:report step=1 value=$1"; sleep 60; echo $1', "_", "{x}"]
    )
    slow_ok = tk.Command(
        ["bash", "-c", 'echo "tansaku:report step=1 value=$1"; echo $1', "_", "{x}"]
    )
    study.enqueue({"x": 0.9, "sleep": 60.0})
    t0 = time.monotonic()
    study.optimize(cmd, n_trials=1, executor=dict(spec), workdir=tmp_path / "runs")
    assert time.monotonic() - t0 < 30
    (t,) = study.trials
    assert t.state is TrialState.PRUNED and t.value == 0.9, (t.state, t.message)
    deadline = time.monotonic() + JOB_GONE_AFTER_CANCEL
    while not job_gone(t.system_attrs["job_id"]):
        assert time.monotonic() < deadline, f"job {t.system_attrs['job_id']} still queued"
        time.sleep(0.2)
    study.enqueue({"x": 0.2, "sleep": 0.2})
    study.optimize(slow_ok, n_trials=1, executor=dict(spec), workdir=tmp_path / "runs")
    assert study.trials[1].state is TrialState.COMPLETE and study.trials[1].value == 0.2


def python_objective(spec: Mapping[str, Any], tmp_path: Path) -> None:
    study = _study(tmp_path, "py")
    for x in (0.25, 0.75, 0.5):
        study.enqueue({"x": x, "sleep": 0.2})
    study.optimize(
        _objective,
        n_trials=3,
        executor=dict(spec),
        n_workers=3,
        workdir=tmp_path / "runs",
        max_failures=None,
    )
    by_x = {t.params["x"]: t for t in study.get_trials(with_intermediate=True)}
    ok = by_x[0.25]
    assert ok.state is TrialState.COMPLETE and ok.value == 0.0625
    assert dict(ok.intermediate) == {3: 0.25} and ok.user_attrs == {"pid": ok.user_attrs["pid"]}
    assert ok.user_attrs["pid"] != os.getpid()  # really ran elsewhere
    bad = by_x[0.5]
    assert bad.state is TrialState.FAILED and "ValueError: half" in bad.message
    assert "Traceback" in (bad.stderr or "")


def _objective(trial: Any) -> float:
    x = trial.params["x"]
    trial.report(x, 3)
    trial.set_user_attr("pid", os.getpid())
    if x == 0.5:
        raise ValueError("half")
    return x * x


def batched_jobs(spec: Mapping[str, Any], tmp_path: Path) -> None:
    study = _study(tmp_path, "batched")
    for i in range(5):
        study.enqueue({"x": i / 10, "sleep": 0.2})
    cmd = tk.Command(["bash", "-c", 'echo "$TANSAKU_JOB_SLOT" > slot.txt; echo "$1"', "_", "{x}"])
    study.optimize(
        cmd,
        n_trials=5,
        n_workers=4,
        executor={**spec, "trials_per_job": 2},
        workdir=tmp_path / "runs",
    )
    trials = study.trials
    assert all(t.state is TrialState.COMPLETE for t in trials), [t.message for t in trials]
    by_job: dict[str, list[int]] = {}
    for t in trials:
        assert t.value == t.params["x"]
        slot = int((Path(t.system_attrs["workdir"]) / "slot.txt").read_text())
        by_job.setdefault(t.system_attrs["job_id"], []).append(slot)
    assert sorted(sorted(v) for v in by_job.values()) == [[0], [0, 1], [0, 1]], by_job


def failed_setup_fails_the_trial(spec: Mapping[str, Any], tmp_path: Path) -> None:
    study = _study(tmp_path, "setup")
    study.enqueue({"x": 0.5, "sleep": 0.2})
    study.optimize(
        REPORTING,
        n_trials=1,
        max_failures=1,
        workdir=tmp_path / "runs",
        executor={**spec, "setup": ["echo preparing", "no-such-module-command"]},
    )
    (t,) = study.trials
    assert t.state is TrialState.FAILED
    assert "ended before starting the trial" in t.message, t.message
    assert "no-such-module-command" in (t.stderr or "")  # the job log says why


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def program_that_cannot_start_stops_the_run(spec: Mapping[str, Any], tmp_path: Path) -> None:
    """A program missing on the nodes (exit 127 in the job) stops the run after its first trial
    with the shell's own line, instead of burning ``max_failures`` jobs (issue 13.4)."""
    study = _study(tmp_path, "cannot-start")
    missing = tk.Command(["tansaku-no-such-program-on-the-node", "{x}"])
    study.optimize(
        missing, n_trials=6, executor=dict(spec), max_failures=10, workdir=tmp_path / "runs"
    )
    failed = [t for t in study.trials if t.state == TrialState.FAILED]
    assert len(failed) == 1, [t.message for t in study.trials]
    assert not [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert study.run_error is not None and "cannot start" in study.run_error
    assert "tansaku-no-such-program-on-the-node" in study.run_error  # the shell's own last line


# the first trial to run hangs its worker: it stops (SIGSTOP) the `tansaku worker` running it, so
# that worker's heartbeats stop while its pid lives (on one host a dead pid alone is noticed at
# once), waits until another worker has re-queued and started the trial again, then kills the
# hung worker (SIGKILL), which ends its array task
HANG_ONCE = (
    'if mkdir "$0" 2>/dev/null; then echo $TANSAKU_TRIAL_ID > "$0/id";'
    " kill -STOP $TANSAKU_COORDINATOR_PID;"
    ' for i in $(seq 300); do [ -e "$0/rerun" ] && break; sleep 0.2; done;'
    " kill -KILL $TANSAKU_COORDINATOR_PID; exit 0; fi;"
    ' [ "$(cat "$0/id")" = "$TANSAKU_TRIAL_ID" ] && touch "$0/rerun"; sleep 0.2; echo $1'
)


def worker_array(
    spec: Mapping[str, Any], tmp_path: Path, *, tasks: int = 3, n_trials: int = 8
) -> None:
    """``tansaku run`` with ``mode: workers`` submits ONE array job of ``tasks`` ``tansaku
    worker`` tasks on a journal study; exactly ``n_trials`` trials finish although one task hangs
    and is killed (its trial is re-queued by heartbeat)."""
    import json
    import subprocess
    import sys

    cfg = {
        "name": "arr",
        "storage": "journal:///arr.journal",
        "n_trials": n_trials,
        "stale_after": 2,
        "heartbeat_interval": 0.3,
        "executor": {**spec, "mode": "workers", "jobs": tasks},
        "space": {"x": {"type": "float", "low": 0, "high": 1}},
        "command": ["bash", "-c", HANG_ONCE, str(tmp_path / "hung"), "{x}"],
    }
    (tmp_path / "study.yaml").write_text(json.dumps(cfg))  # JSON is YAML
    r = subprocess.run(
        [sys.executable, "-m", "tansaku", "run", "study.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    submitted = [line for line in r.stderr.splitlines() if line.startswith("submitted")]
    assert len(submitted) == 1, r.stderr  # one array job, not a job per trial
    study = tk.load_study("arr", storage=f"journal:///{tmp_path / 'arr.journal'}")
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(n_trials))
    assert all(t.state is TrialState.COMPLETE for t in trials), [t.message for t in trials]
    lost = [t for t in trials if "requeued" in t.system_attrs]
    assert len(lost) == 1 and "no heartbeat" in lost[0].system_attrs["requeued"], [
        t.system_attrs.get("requeued") for t in trials
    ]
    assert lost[0].worker not in lost[0].system_attrs["requeued"]  # another task finished it
    (logs,) = {p.parent for p in tmp_path.glob("runs/*/jobs/workers-*/task-*.log")}
    seen = sorted(
        line.split()[3]
        for p in logs.glob("task-*.log")
        for line in p.read_text().splitlines()
        if line.startswith("tansaku worker-array task")
    )
    assert seen == [str(i) for i in range(tasks)], seen  # N tasks, each ran once
