"""GPU slots (issue 15.4): every running trial has devices no other running trial has.

No GPU is needed: device ids are strings.  Exclusivity is checked by the trials themselves: each
holds a ``flock`` on one file per device it was given while it runs and records a conflict when
one is already held -- so two running trials with a common device are caught whatever ended the
first one (a kill releases its locks only when its processes are really gone).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import ConfigError, TrialState
from tansaku.executors._gpus import GpuSlots, plan_gpus
from tansaku.executors._jobscript import job_script

#: ``probe DIR SECONDS [fail]``: hold every given device's lock for SECONDS, print a value
PROBE = r"""#!/bin/sh
dir=$1; secs=$2
echo "$TANSAKU_TRIAL_ID ${CUDA_VISIBLE_DEVICES-unset} ${TANSAKU_GPU_IDS-unset}" >> "$dir/seen"
cmd="sleep $secs"
for d in $(echo "$CUDA_VISIBLE_DEVICES" | tr , ' '); do cmd="flock -n -E 99 $dir/dev-$d $cmd"; done
$cmd
rc=$?
if [ "$rc" = 99 ]; then echo "$TANSAKU_TRIAL_ID $CUDA_VISIBLE_DEVICES" >> "$dir/conflicts"; fi
if [ "$3" = fail ]; then echo "failing on purpose" >&2; exit 3; fi
echo 0.5
"""


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    path = tmp_path / "probe.sh"
    path.write_text(PROBE)
    path.chmod(0o755)
    (tmp_path / "locks").mkdir()
    return path


def seen(locks: Path) -> dict[int, tuple[str, str]]:
    out = {}
    for line in (locks / "seen").read_text().splitlines():
        number, cuda, ids = line.split(" ")
        out[int(number)] = (cuda, ids)
    return out


def conflicts(locks: Path) -> list[str]:
    path = locks / "conflicts"
    return path.read_text().splitlines() if path.exists() else []


def test_the_probe_sees_a_shared_device(probe: Path, tmp_path: Path) -> None:
    """The check can fail: two processes given the same device at once are caught."""
    locks = tmp_path / "locks"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "0", "TANSAKU_TRIAL_ID": "1"}
    first = subprocess.Popen([probe, locks, "1"], env=env, stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    subprocess.run([probe, locks, "0"], env=env, stdout=subprocess.DEVNULL, check=True)
    first.wait(timeout=10)
    assert conflicts(locks) == ["1 0"]


# ------------------------------------------------------------------ options
@pytest.mark.parametrize(
    ("gpus", "per", "workers", "field"),
    [
        ([0, 1], 3, None, "gpus_per_trial"),
        ([0, 1, 2, 3], 2, 3, "n_workers"),
        (None, 1, None, "gpus_per_trial"),
        ([0, 0], 1, None, "gpus"),
        ([], 1, None, "gpus"),
        ({"a": 1}, 1, None, "gpus"),
        ([0, 1], 0, None, "gpus_per_trial"),
        ([0, 1], True, None, "gpus_per_trial"),
        (["a b"], 1, None, "gpus"),
    ],
)
def test_bad_combinations_are_one_line_errors(gpus, per, workers, field) -> None:
    with pytest.raises(ConfigError) as e:
        plan_gpus(gpus, per, workers)
    assert e.value.field == field
    assert "\n" not in str(e.value)


def test_n_workers_defaults_to_the_slots_and_auto_degrades(monkeypatch) -> None:
    assert plan_gpus([0, 1, 2, 3, 4, 5, 6, 7], 2, None).n_workers == 4
    assert plan_gpus("0,1,2", None, None).n_workers == 3
    assert plan_gpus([0, 1, 2, 3], 1, 2).n_workers == 2  # fewer trials than slots is fine
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-aa,GPU-bb")
    assert plan_gpus("auto", 1, None).gpus == ("GPU-aa", "GPU-bb")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("PATH", "/nonexistent")  # no nvidia-smi either
    plan = plan_gpus("auto", 1, None)
    assert plan.slots == 0 and plan.n_workers == 1 and "found no GPU" in (plan.note or "")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert plan_gpus("auto", 1, None).slots == 0


def test_slots_are_exclusive_and_come_back() -> None:
    pool = GpuSlots(("0", "1", "2", "3", "4"), 2)  # the fifth device is left over
    a, b = pool.take(10), pool.take(11)
    assert a["CUDA_VISIBLE_DEVICES"] == "0,1" and b["TANSAKU_GPU_IDS"] == "2,3"
    assert pool.take(10) == a  # the same trial keeps its set
    with pytest.raises(RuntimeError):
        pool.take(12)
    pool.give_back(10)
    pool.give_back(10)  # twice is harmless
    assert pool.take(12) == a


# ------------------------------------------------------------------ local executor
def _cmd_study(tmp_path: Path, name: str) -> tk.Study:
    space = {"kind": tk.Categorical(["ok", "ok2", "fail", "slow"])}
    return tk.create_study(
        space, sampler="random", seed=3, storage=f"sqlite:///{tmp_path}/{name}.db", name=name
    )


def test_local_commands_get_exclusive_devices_however_they_end(probe, tmp_path) -> None:
    locks = tmp_path / "locks"
    study = _cmd_study(tmp_path, "local")
    for kind in ["slow", "fail", "ok", "slow", "ok2", "fail"]:  # timeouts and failures early
        study.enqueue({"kind": kind})
    # ok: 0.4 s; fail: exits 3 after 0.2 s; slow: sleeps 30 s, killed by the 1 s trial timeout
    cmd = tk.Command(
        [
            "sh",
            "-c",
            'case "$2" in slow) s=30;; fail) s=0.2;; *) s=0.4;; esac; '
            'exec "$1" "$3" "$s" "$([ "$2" = fail ] && echo fail)"',
            "_",
            str(probe),
            "{kind}",
            str(locks),
        ]
    )
    study.optimize(
        cmd,
        n_trials=9,
        gpus=["0", "1", "2", "3", "4", "5"],
        gpus_per_trial=2,
        trial_timeout=1.0,
        max_failures=None,
        workdir=tmp_path / "runs",
    )
    trials = study.trials
    states = {t.state for t in trials}
    assert TrialState.FAILED in states and TrialState.COMPLETE in states
    assert any("timeout" in (t.message or "") for t in trials)
    got = seen(locks)
    assert len(got) == len(trials)
    assert conflicts(locks) == []
    for cuda, ids in got.values():
        assert cuda == ids and len(cuda.split(",")) == 2
        assert cuda in ("0,1", "2,3", "4,5")
    # three ran at once (n_workers from the slots): some trials overlapped in time
    spans = sorted((t.started_at, t.finished_at) for t in trials)
    assert any(spans[i + 1][0] < spans[i][1] for i in range(len(spans) - 1))


def test_python_objectives_see_their_devices_pruned_and_failed_too(tmp_path) -> None:
    study = tk.create_study(
        {"x": tk.Float(0, 1)},
        sampler="random",
        seed=0,
        storage=f"sqlite:///{tmp_path}/py.db",
        name="py",
        pruner={"name": "median", "n_startup_trials": 0, "n_warmup_steps": 0},
    )
    study.optimize(
        _locking_objective,
        n_trials=10,
        gpus=["a", "b", "c"],
        max_failures=None,
        workdir=tmp_path / "runs",
    )
    trials = study.trials
    assert {t.state for t in trials} >= {TrialState.COMPLETE, TrialState.FAILED}
    for t in trials:
        if t.state is TrialState.COMPLETE or t.state is TrialState.PRUNED:
            assert t.user_attrs["gpu"] in ("a", "b", "c")
        else:
            assert "no overlap" not in (t.message or ""), t.message
    assert len({t.worker for t in trials}) == 1


def _locking_objective(trial: tk.Trial) -> float:
    import fcntl

    (gpu,) = trial.gpu_ids
    assert os.environ["CUDA_VISIBLE_DEVICES"] == gpu == os.environ["TANSAKU_GPU_IDS"]
    assert trial.workdir is not None
    with open(trial.workdir.parent / f"dev-{gpu}", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RuntimeError("no overlap expected: the device is held") from None
        trial.set_user_attr("gpu", gpu)
        x = trial.params["x"]
        for step in range(3):
            time.sleep(0.1)
            trial.report(x + step, step)
            if trial.should_prune():
                raise tk.TrialPruned()
        if x > 0.7:
            raise ValueError("a failing trial")
        return x


# ------------------------------------------------------------------ tansaku worker / restart
CONFIG = """\
name: gpus
storage: sqlite:///{db}
sampler: random
n_trials: {n}
gpus: [g0, g1, g2]
space:
  x: {{type: float, low: 0, high: 1}}
command: [{probe}, {locks}, "{secs}"]
"""


def _tansaku(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tansaku", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_run_killed_and_resumed_never_shares_a_device(probe, tmp_path) -> None:
    """``kill -9`` of ``tansaku run`` while 3 trials hold devices, then resume at once: the new
    run's trials never meet the old ones' devices still held (the reaper / leftovers first)."""
    locks = tmp_path / "locks"
    cfg = tmp_path / "gpus.yaml"
    cfg.write_text(CONFIG.format(db=tmp_path / "g.db", n=6, probe=probe, locks=locks, secs=1.0))
    first = _tansaku("run", str(cfg), "-q", cwd=tmp_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (locks / "seen").exists() and len((locks / "seen").read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    else:
        first.kill()
        pytest.fail(f"no trial started: {first.communicate()[1]}")
    first.send_signal(signal.SIGKILL)
    first.communicate()
    second = _tansaku("run", str(cfg), "-q", cwd=tmp_path)
    _, err = second.communicate(timeout=90)
    assert second.returncode == 0, err
    study = tk.load_study("gpus", storage=f"sqlite:///{tmp_path}/g.db")
    assert study.counts().done == 6
    assert conflicts(locks) == []
    assert {cuda for cuda, _ in seen(locks).values()} == {"g0", "g1", "g2"}
    assert len((locks / "seen").read_text().splitlines()) >= 9  # the killed run's trials again


def test_worker_gpus_option_overrides_the_config(probe, tmp_path) -> None:
    locks = tmp_path / "locks"
    cfg = tmp_path / "gpus.yaml"
    cfg.write_text(CONFIG.format(db=tmp_path / "w.db", n=6, probe=probe, locks=locks, secs=0.4))
    w = _tansaku(
        "worker", str(cfg), "-q", "--gpus", "7,8,9,10", "--gpus-per-trial", "2", cwd=tmp_path
    )
    _, err = w.communicate(timeout=60)
    assert w.returncode == 0, err
    got = seen(locks)
    assert len(got) == 6 and conflicts(locks) == []
    assert {cuda for cuda, _ in got.values()} == {"7,8", "9,10"}


def test_bad_gpu_options_in_yaml_are_one_line_errors(probe, tmp_path) -> None:
    cfg = tmp_path / "bad.yaml"
    text = CONFIG.format(db=tmp_path / "b.db", n=2, probe=probe, locks=tmp_path, secs=0)
    cfg.write_text(text + "n_workers: 4\n")
    r = subprocess.run(
        [sys.executable, "-m", "tansaku", "run", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].count("n_workers") == 1, r.stderr
    assert "at most 3" in r.stderr
    assert not (tmp_path / "b.db").exists()


# ------------------------------------------------------------------ batch job scripts
def test_a_multi_trial_job_script_gives_each_slot_its_devices(probe, tmp_path) -> None:
    """The job script's own bash hands the devices out (explicit list and ``auto`` from the
    job's CUDA_VISIBLE_DEVICES, as Slurm's gres sets it); run here with bash."""
    locks = tmp_path / "locks"
    for auto in (False, True):
        plan = plan_gpus("auto" if auto else [0, 1, 2, 3, 4, 5], 2, None, per_job=3)
        runners = []
        for slot in range(3):
            r = tmp_path / f"run{auto}{slot}.sh"
            r.write_text(f"TANSAKU_TRIAL_ID={slot} exec {probe} {locks} 0.5\n")
            runners.append(r)
        script = job_script(directives=[], setup=[], runners=runners, gpus=plan)
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "x0,x1,x2,x3,x4"}  # auto: one slot short
        r = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30
        )
        assert r.returncode == 0, r.stderr
        got = sorted(seen(locks).items())
        (locks / "seen").unlink()
        if auto:
            assert got == [(0, ("x0,x1",) * 2), (1, ("x2,x3",) * 2), (2, ("",) * 2)]
            assert "its 3 trial(s) need 2 each" in r.stderr
        else:
            assert got == [(0, ("0,1",) * 2), (1, ("2,3",) * 2), (2, ("4,5",) * 2)]
    assert conflicts(locks) == []


@pytest.mark.slurm
def test_slurm_multi_trial_jobs_give_each_trial_its_own_devices(slurm, probe, tmp_path) -> None:
    locks = tmp_path / "locks"
    study = _cmd_study(tmp_path, "slurm")
    cmd = tk.Command([str(probe), str(locks), "1"])
    # the job's allocation, as Slurm's gres would set it: names unique to the job
    setup = ['export CUDA_VISIBLE_DEVICES="j${SLURM_JOB_ID}a,j${SLURM_JOB_ID}b,j${SLURM_JOB_ID}c"']
    study.optimize(
        cmd,
        n_trials=6,
        n_workers=6,
        gpus="auto",
        executor={
            "name": "slurm",
            "partition": slurm.queue,
            "poll_interval": 0.5,
            "marker_grace": 1.0,
            "trials_per_job": 3,
            "setup": setup,
        },
        workdir=tmp_path / "runs",
    )
    trials = study.trials
    assert all(t.state is TrialState.COMPLETE for t in trials), [t.message for t in trials]
    got = seen(locks)
    assert conflicts(locks) == []
    by_job: dict[str, set[str]] = {}
    for t in trials:
        cuda, ids = got[t.number]
        assert cuda == ids
        by_job.setdefault(t.system_attrs["job_id"], set()).add(cuda)
    assert len(by_job) == 2
    for job_id, devices in by_job.items():
        assert devices == {f"j{job_id}a", f"j{job_id}b", f"j{job_id}c"}, by_job
