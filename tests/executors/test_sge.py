"""The sge executor against the real single-node Son of Grid Engine (qsub/qstat/qdel)."""

from __future__ import annotations

import subprocess

import pytest

from tests.executors import batch_cases as cases

pytestmark = pytest.mark.sge


@pytest.fixture
def spec(sge):
    return {"name": "sge", "queue": sge.queue, "poll_interval": 1.0, "marker_grace": 1.0}


def job_gone(job_id: str) -> bool:
    """qstat -j fails once the job has left the qmaster (deleted or finished)."""
    r = subprocess.run(["qstat", "-j", job_id], capture_output=True, text=True, timeout=30)
    return r.returncode != 0


def test_trials_run_as_parallel_jobs(spec, tmp_path):
    cases.study_completes_in_parallel(spec, tmp_path, n=8, workers=4)


def test_timeout_cancels_the_job(spec, tmp_path):
    cases.timeout_cancels_the_job(spec, tmp_path, job_gone)


def test_python_objective(spec, tmp_path):
    cases.python_objective(spec, tmp_path)


def test_failed_setup_fails_the_trial(spec, tmp_path):
    cases.failed_setup_fails_the_trial(spec, tmp_path)


def test_worker_array_runs_exactly_n_trials_and_recovers_a_hung_task(spec, tmp_path):
    cases.worker_array(spec, tmp_path, tasks=2, n_trials=4)
