"""The pbs executor against the real single-host OpenPBS 23.06 (scripts/services/pbs_setup.sh).

Studies run as the ordinary user ``pbsuser`` (fixture ``pbs_user``: a venv that user can
execute), as on a real cluster: the ``_case_*`` functions below run in that user's process.
Fakes (tests/executors/fakepbs.py) are kept only for what OpenPBS here cannot show: PBS
Professional's recorded JSON, an unreachable server, and a server without job history.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import tansaku as tk
from tansaku import TrialState
from tansaku.executors._schedulers import PBS
from tests.executors import batch_cases as cases

DATA = Path(__file__).parent / "data"
HERE = "tests.executors.test_pbs"


# ------------------------------------------------------------------ helpers (run as pbsuser)
def _qstat(bin_dir: str, job_id: str) -> dict[str, str]:
    r = subprocess.run(
        [f"{bin_dir}/qstat", "-x", "-f", job_id], capture_output=True, text=True, timeout=30
    )
    return PBS._text_jobs(r.stdout).get(job_id, {})


def _job_gone(bin_dir: str, job_id: str) -> bool:
    """Finished (F) or unknown to the server."""
    return _qstat(bin_dir, job_id).get("job_state", "F") in ("F", "X")


def _setup(spec_json: str, tmp: str) -> tuple[dict[str, Any], Path, Any]:
    spec = json.loads(spec_json)
    return spec, Path(tmp), functools.partial(_job_gone, spec["bin_dir"])


def _case_parallel(spec_json: str, tmp: str) -> None:
    spec, tmp_path, _ = _setup(spec_json, tmp)
    trials = cases.study_completes_in_parallel(spec, tmp_path, n=6, workers=3)
    script = Path(trials[0].system_attrs["job_script"]).read_text()
    assert "#PBS -q workq" in script and "#PBS -V" in script
    info = _qstat(spec["bin_dir"], trials[0].system_attrs["job_id"])
    assert info["job_state"] == "F" and info["Exit_status"] == "0"
    assert info["Job_Owner"].startswith("pbsuser@")  # really an ordinary user's job


def _case_attrs_stored_early(spec_json: str, tmp: str) -> None:
    spec, tmp_path, _ = _setup(spec_json, tmp)
    seen: list[dict[str, Any]] = []
    study = tk.create_study({"x": tk.Float(0, 1)}, name="attrs")
    cmd = tk.Command(["bash", "-c", "sleep 1; echo 1"])

    def watch() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not seen:
            for t in study.storage.pending_trials(study.study_id):
                if t.state is TrialState.RUNNING and "job_id" in t.system_attrs:
                    seen.append(dict(t.system_attrs))
            time.sleep(0.05)

    th = threading.Thread(target=watch)
    th.start()
    study.optimize(cmd, n_trials=1, executor=spec, workdir=tmp_path / "runs")
    th.join()
    assert study.trials[0].state is TrialState.COMPLETE, study.trials[0].message
    assert seen and {"job_id", "stdout", "stderr", "workdir", "job_script", "job_log"} <= set(
        seen[0]
    )
    assert json.dumps(seen[0])  # plain JSON values


def _case_timeout(spec_json: str, tmp: str) -> None:
    cases.timeout_cancels_the_job(*_setup(spec_json, tmp))


def _case_prune(spec_json: str, tmp: str) -> None:
    cases.prune_cancels_the_job(*_setup(spec_json, tmp))


def _case_python(spec_json: str, tmp: str) -> None:
    spec, tmp_path, _ = _setup(spec_json, tmp)
    cases.python_objective(spec, tmp_path)


def _case_batched(spec_json: str, tmp: str) -> None:
    spec, tmp_path, _ = _setup(spec_json, tmp)
    cases.batched_jobs(spec, tmp_path)


def _case_failed_setup(spec_json: str, tmp: str) -> None:
    spec, tmp_path, _ = _setup(spec_json, tmp)
    cases.failed_setup_fails_the_trial(spec, tmp_path)


def _case_unknown_queue(spec_json: str, tmp: str) -> None:
    spec, tmp_path, _ = _setup(spec_json, tmp)
    study = tk.create_study({"x": tk.Float(0, 1)}, name="badq")
    t0 = time.monotonic()
    study.optimize(
        tk.Command(["echo", "{x}"]),
        n_trials=1,
        max_failures=2,
        executor={**spec, "queue": "nosuch"},
        workdir=tmp_path / "runs",
    )
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.FAILED] * 2
    assert "qsub: Unknown queue" in trials[0].message, trials[0].message
    # a transient error is retried for retry_timeout (120 s by default): well under that means
    # the permanent error failed the trials at once (60 s leaves room for a loaded machine)
    assert time.monotonic() - t0 < 60


def _case_status_of_several_jobs(spec_json: str, tmp: str) -> None:
    """One poll must see every job: OpenPBS 23.06's ``qstat -F json A B`` prints only A."""
    spec, _, _ = _setup(spec_json, tmp)
    bin_dir = spec["bin_dir"]
    ids = [
        subprocess.run(
            [f"{bin_dir}/qsub", "-q", spec["queue"], "--", "/bin/sleep", "30"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        for _ in range(3)
    ]
    try:
        pbs = PBS()
        argv = pbs.status_argv(ids)
        r = subprocess.run([f"{bin_dir}/{argv[0]}", *argv[1:]], capture_output=True, text=True)
        st = pbs.parse_status(r.stdout, ids)
        assert set(st) == set(ids), (ids, st)
        assert {s.state for s in st.values()} <= {"pending", "running"}, st
    finally:
        subprocess.run([f"{bin_dir}/qdel", *ids], capture_output=True, timeout=30)


def abci3_executor(bin_dir: str) -> dict[str, Any]:
    """The ABCI 3.0 recipe of docs/distributed.md (one rt_HF job, 8 trials, one GPU each)."""
    return {
        "name": "pbs",
        "queue": "rt_HF",
        "project": "grpA",
        "resources": {"select": "1:ngpus=8", "walltime": "0:10:00"},
        "trials_per_job": 8,
        # on ABCI: source /etc/profile.d/modules.sh; module load cuda/12.6; source venv/...
        "setup": ["export TANSAKU_TEST_SETUP=done", "cd $PBS_O_WORKDIR"],
        "bin_dir": bin_dir,
        **{"poll_interval": 0.5, "marker_grace": 2.0},
    }


def _case_abci3_recipe(spec_json: str, tmp: str) -> None:
    spec, tmp_path, _ = _setup(spec_json, tmp)
    study = tk.create_study({"x": tk.Float(0, 1)}, name="abci3", seed=0)
    cmd = tk.Command(
        [
            "bash",
            "-c",
            'd=$CUDA_VISIBLE_DEVICES; [ -n "$d" ] || d=unset;'  # (no braces: they are fields)
            ' echo "$TANSAKU_JOB_SLOT $d $TANSAKU_TEST_SETUP $TANSAKU_GPU_IDS" > dev.txt;'
            ' echo "$1"',
            "_",
            "{x}",
        ]
    )
    study.optimize(
        cmd,
        n_trials=8,
        n_workers=8,
        executor=abci3_executor(spec["bin_dir"]),
        workdir=tmp_path,
        gpus=[str(i) for i in range(8)],  # an rt_HF node's 8 GPUs (gpus: auto reads PBS's)
        gpus_per_trial=1,
    )
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 8, [t.message for t in trials]
    (job,) = {t.system_attrs["job_id"] for t in trials}  # one job held all 8 trials
    seen = [(Path(t.system_attrs["workdir"]) / "dev.txt").read_text().split() for t in trials]
    assert sorted(int(s[0]) for s in seen) == list(range(8))  # each its own slot
    assert {s[2] for s in seen} == {"done"}  # the setup lines ran first
    # tansaku, not the command, gives each trial its own device (the job script's GPU slots)
    assert sorted(s[1] for s in seen) == [str(i) for i in range(8)], seen
    assert all(s[3] == s[1] for s in seen), seen  # TANSAKU_GPU_IDS names the same device
    deadline = time.monotonic() + 20  # the trials' exit markers come before the job's end
    while (info := _qstat(spec["bin_dir"], job)).get("job_state") != "F":
        assert time.monotonic() < deadline, info.get("job_state")
        time.sleep(0.2)
    assert info["queue"] == "rt_HF" and info["project"] == "grpA", info
    assert info["Resource_List.select"] == "1:ngpus=8" and info["Exit_status"] == "0"
    script = Path(trials[0].system_attrs["job_script"]).read_text()
    assert "#PBS -P grpA" in script and "#PBS -l select=1:ngpus=8" in script


def _case_worker_array(spec_json: str, tmp: str) -> None:
    spec, tmp_path, _ = _setup(spec_json, tmp)
    cases.worker_array(spec, tmp_path, tasks=2, n_trials=4)
    # two tasks: a real -J array (qsub rejects -J 0-0, so one task would be a plain job)
    (script,) = tmp_path.glob("runs/*/jobs/workers-*/job.sh")
    assert "#PBS -J 0-1" in script.read_text()


LOST = """
import sys, tansaku as tk
spec, url, runs = eval(sys.argv[1]), sys.argv[2], sys.argv[3]
study = tk.create_study({"x": tk.Float(0, 1)}, storage=url, name="lost", load_if_exists=True)
cmd = tk.Command(["bash", "-c", "if [ -e first ]; then echo 2; else touch first; sleep 60; fi"])
study.optimize(cmd, n_trials=1, executor=spec, workdir=runs)
"""


def _case_rerun_of_lost_trial(spec_json: str, tmp: str) -> None:
    """The coordinator dies (kill -9) while its trial's job runs; the rerun cancels the old job."""
    spec, tmp_path, job_gone = _setup(spec_json, tmp)
    url, runs = f"sqlite:///{tmp_path / 'lost.db'}", str(tmp_path / "runs")
    victim = subprocess.Popen([sys.executable, "-c", LOST, repr(spec), url, runs])
    first = tmp_path / "runs" / "trial-000000" / "first"
    deadline = time.monotonic() + 30
    while not first.exists():
        assert time.monotonic() < deadline and victim.poll() is None
        time.sleep(0.1)
    old_job = (first.parent / ".tansaku" / "job").read_text().split()[1]
    victim.kill()
    victim.wait()
    assert not job_gone(old_job)  # the orphaned job still runs
    subprocess.run([sys.executable, "-c", LOST, repr(spec), url, runs], check=True, timeout=60)
    (t,) = tk.load_study("lost", storage=url).trials
    assert t.state is TrialState.COMPLETE and t.value == 2.0
    assert "died" in t.system_attrs["requeued"] and t.system_attrs["job_id"] != old_job
    deadline = time.monotonic() + 20
    while not job_gone(old_job):
        assert time.monotonic() < deadline, f"{old_job} still runs"
        time.sleep(0.2)
    # qdel'd: 256 + SIGTERM, or + SIGKILL when the TERM raced the job's start (PBS's kill_delay)
    assert _qstat(spec["bin_dir"], old_job)["Exit_status"] in ("271", "265")


# ------------------------------------------------------------------ tests: real OpenPBS
@pytest.fixture
def run_case(pbs_user, pbs_spec, request):
    def run(name: str) -> None:
        tmp = pbs_user.tmpdir(request.node.name)
        pbs_user.run(f"{HERE}:{name}", json.dumps(pbs_spec), str(tmp))

    return run


def test_trials_run_as_parallel_jobs(run_case):
    run_case("_case_parallel")


def test_job_id_and_paths_are_stored_before_the_trial_ends(run_case):
    run_case("_case_attrs_stored_early")


def test_timeout_cancels_the_job(run_case):
    run_case("_case_timeout")


def test_prune_cancels_the_job(run_case):
    run_case("_case_prune")


def test_python_objective(run_case):
    run_case("_case_python")


def test_several_trials_per_job(run_case):
    run_case("_case_batched")


def test_failed_setup_fails_the_trial(run_case):
    run_case("_case_failed_setup")


def test_permanent_submit_error_fails_the_trial_at_once(run_case):
    run_case("_case_unknown_queue")


@pytest.mark.slow
def test_rerun_of_a_lost_trial_cancels_the_old_job(run_case):
    run_case("_case_rerun_of_lost_trial")


def test_abci3_recipe_runs_eight_trials_in_one_job(run_case):
    run_case("_case_abci3_recipe")


def test_worker_array_runs_exactly_n_trials_and_recovers_a_hung_task(run_case):
    run_case("_case_worker_array")


def test_one_poll_sees_every_job(run_case):
    run_case("_case_status_of_several_jobs")


def test_real_qstat_of_several_jobs_lists_them_all():
    """OpenPBS 23.06's ``qstat -F json`` prints only the first of several ids (the executor took
    the others for gone); the plain listing the executor reads has every job."""
    text = (DATA / "openpbs_qstat_x_f_two_jobs.txt").read_text()
    st = PBS().parse_status(text, ["5.vm", "6", "7.vm"])
    assert st["5.vm"].state == "done" and st["5.vm"].detail == "F (Exit_status=0)"
    assert st["6"].state == "done" and "7.vm" not in st
    assert PBS().status_argv(["1.vm", "2.vm"]) == ["qstat", "-x", "-f", "1.vm", "2.vm"]


# ------------------------------------------------------------------ fakes: PBS Professional only
@pytest.fixture
def fake_pbs(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for cmd in ("qsub", "qstat", "qdel"):
        w = bindir / cmd
        w.write_text(
            f'#!/bin/sh\nexec {sys.executable} {Path(__file__).parent / "fakepbs.py"} {cmd} "$@"\n'
        )
        w.chmod(0o755)
    state = tmp_path / "pbs-state"
    monkeypatch.setenv("FAKEPBS_DIR", str(state))
    return bindir, state


@pytest.fixture
def fake_spec(fake_pbs):
    return {
        "name": "pbs",
        "queue": "workq",
        "bin_dir": str(fake_pbs[0]),
        "poll_interval": 0.5,
        "marker_grace": 1.0,
        "resources": {"select": "1:ncpus=1", "walltime": "00:10:00"},
    }


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_recorded_pbs_pro_qstat_outputs_parse(fmt):
    pbs = PBS()

    def load(kind: str) -> str:
        raw = (DATA / f"pbs_qstat_x_f_json_{kind}.json").read_text()
        if fmt == "json":
            return raw
        return "".join(  # the same jobs as qstat -x -f prints them
            f"Job Id: {job}\n" + "".join(f"    {k} = {v}\n" for k, v in info.items()) + "\n"
            for job, info in json.loads(raw)["Jobs"].items()
        )

    fin, run, que = load("finished"), load("running"), load("queued")
    assert pbs.parse_status(fin, ["4821.pbs01"])["4821.pbs01"].state == "done"
    assert "Exit_status=0" in pbs.parse_status(fin, ["4821.pbs01"])["4821.pbs01"].detail
    assert pbs.parse_status(run, ["4822"])["4822"].state == "running"  # short id matches too
    assert pbs.parse_status(que, ["4823.pbs01"])["4823.pbs01"].state == "pending"
    assert pbs.parse_status(que, ["4821.pbs01"]) == {}  # not listed: left the queue
    assert pbs.parse_job_id("4821.pbs01\n") == "4821.pbs01"
    assert pbs.status_error_means_gone("qstat: Unknown Job Id 4799.pbs01")
    assert pbs.parse_status("", ["1.x"]) == {}
    with pytest.raises(ValueError):
        pbs.parse_job_id("qsub: Unknown queue")


def test_failed_setup_fails_the_trial_without_job_history(fake_spec, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKEPBS_HISTORY", "0")  # a server with job_history_enable=False
    cases.failed_setup_fails_the_trial(fake_spec, tmp_path)


def test_unreachable_server_is_retried(fake_spec, tmp_path, fake_pbs, monkeypatch):
    monkeypatch.setenv("FAKEPBS_QSUB_FAIL", "2")
    study = tk.create_study({"x": tk.Float(0, 1)}, name="retry")
    t0 = time.monotonic()
    study.optimize(
        tk.Command(["echo", "{x}"]), n_trials=1, executor=fake_spec, workdir=tmp_path / "runs"
    )
    assert study.trials[0].state is TrialState.COMPLETE
    assert int((fake_pbs[1] / "qsub_calls").read_text()) == 3
    assert time.monotonic() - t0 >= 1.5  # backed off 0.5 s, then 1 s


def test_bin_dir_must_be_a_path():
    with pytest.raises(tk.ConfigError, match="bin_dir"):
        tk.create_study({"x": tk.Float(0, 1)}, name="b").optimize(
            tk.Command(["echo", "{x}"]), n_trials=1, executor={"name": "pbs", "bin_dir": ""}
        )
