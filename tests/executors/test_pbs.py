"""The pbs executor.  No PBS can run here, so these run against tests/executors/fakepbs.py:
qsub/qstat/qdel stand-ins that really run the jobs and answer in the format of real PBS Pro
outputs (data/pbs_qstat_x_f_json_*.json; messages and exit codes of PBS Pro failures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import TrialState
from tansaku.executors._schedulers import PBS
from tests.executors import batch_cases as cases

DATA = Path(__file__).parent / "data"


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
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKEPBS_DIR", str(state))
    return state


@pytest.fixture
def spec(fake_pbs):
    return {
        "name": "pbs",
        "queue": "workq",
        "poll_interval": 0.5,
        "marker_grace": 1.0,
        "resources": {"select": "1:ncpus=1", "walltime": "00:10:00"},
    }


def job_gone(job_id: str) -> bool:
    state = Path(os.environ["FAKEPBS_DIR"])
    return (state / f"{job_id.split('.')[0]}.exit").exists()


def test_recorded_qstat_outputs_parse():
    pbs = PBS()
    fin = (DATA / "pbs_qstat_x_f_json_finished.json").read_text()
    run = (DATA / "pbs_qstat_x_f_json_running.json").read_text()
    que = (DATA / "pbs_qstat_x_f_json_queued.json").read_text()
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


def test_trials_run_as_parallel_jobs(spec, tmp_path, fake_pbs):
    trials = cases.study_completes_in_parallel(spec, tmp_path, n=6, workers=3)
    script = Path(trials[0].system_attrs["job_script"]).read_text()
    assert "#PBS -l select=1:ncpus=1" in script and "#PBS -q workq" in script
    assert trials[0].system_attrs["job_id"].endswith(".pbs01")


def test_timeout_cancels_the_job(spec, tmp_path):
    cases.timeout_cancels_the_job(spec, tmp_path, job_gone)


def test_prune_cancels_the_job(spec, tmp_path):
    cases.prune_cancels_the_job(spec, tmp_path, job_gone)


def test_python_objective(spec, tmp_path):
    cases.python_objective(spec, tmp_path)


def test_several_trials_per_job(spec, tmp_path):
    cases.batched_jobs(spec, tmp_path)


@pytest.mark.parametrize("history", ["1", "0"])
def test_failed_setup_fails_the_trial(spec, tmp_path, monkeypatch, history):
    monkeypatch.setenv("FAKEPBS_HISTORY", history)  # with and without PBS job history
    cases.failed_setup_fails_the_trial(spec, tmp_path)


def test_unreachable_server_is_retried(spec, tmp_path, fake_pbs, monkeypatch):
    monkeypatch.setenv("FAKEPBS_QSUB_FAIL", "2")
    study = tk.create_study({"x": tk.Float(0, 1)}, name="retry")
    t0 = time.monotonic()
    study.optimize(
        tk.Command(["echo", "{x}"]), n_trials=1, executor=spec, workdir=tmp_path / "runs"
    )
    assert study.trials[0].state is TrialState.COMPLETE
    assert int((fake_pbs / "qsub_calls").read_text()) == 3
    assert time.monotonic() - t0 >= 1.5  # backed off 0.5 s, then 1 s


def test_permanent_submit_error_fails_the_trial_at_once(spec, tmp_path):
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
    assert "qsub: Unknown queue" in trials[0].message
    assert time.monotonic() - t0 < 10


def test_job_id_and_paths_are_stored_before_the_trial_ends(spec, tmp_path):
    seen = []
    study = tk.create_study({"x": tk.Float(0, 1)}, name="attrs")
    cmd = tk.Command(["bash", "-c", "sleep 1; echo 1"])

    def watch():
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
    assert seen and {"job_id", "stdout", "stderr", "workdir", "job_script", "job_log"} <= set(
        seen[0]
    )
    assert json.dumps(seen[0])  # plain JSON values


def test_rerun_of_a_lost_trial_cancels_the_old_job(spec, tmp_path, fake_pbs):
    """The coordinator dies (kill -9) while its trial's job runs; the trial is re-queued and run
    again in the same directory: the old job is cancelled first, and its late markers cannot be
    taken for the new attempt's."""
    url = f"sqlite:///{tmp_path / 'lost.db'}"
    code = textwrap.dedent(f"""
        import tansaku as tk
        study = tk.create_study({{"x": tk.Float(0, 1)}}, storage={url!r}, name="lost")
        cmd = tk.Command(["bash", "-c", "if [ -e first ]; then echo 2; else touch first; sleep 60; fi"])
        study.optimize(cmd, n_trials=1, executor={dict(spec)!r}, workdir={str(tmp_path / "runs")!r})
    """)
    victim = subprocess.Popen([sys.executable, "-c", code])
    first = tmp_path / "runs" / "trial-000000" / "first"
    deadline = time.monotonic() + 30
    while not first.exists():
        assert time.monotonic() < deadline and victim.poll() is None
        time.sleep(0.1)
    old_job = (first.parent / ".tansaku" / "job").read_text().split()[1]
    victim.kill()
    victim.wait()
    assert not job_gone(old_job)  # the orphaned job still runs
    study = tk.load_study("lost", storage=url)
    cmd = tk.Command(["bash", "-c", "if [ -e first ]; then echo 2; else touch first; sleep 60; fi"])
    study.optimize(cmd, n_trials=1, executor=spec, workdir=tmp_path / "runs")  # recovers it
    (t,) = study.trials
    assert t.state is TrialState.COMPLETE and t.value == 2.0
    assert "died" in t.system_attrs["requeued"] and t.system_attrs["job_id"] != old_job
    assert job_gone(old_job)
    assert (fake_pbs / f"{old_job.split('.')[0]}.exit").read_text() == "271"  # by qdel
