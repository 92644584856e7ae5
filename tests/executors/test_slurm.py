"""The slurm executor and dask-jobqueue's SLURMCluster against the real single-node Slurm."""

from __future__ import annotations

import subprocess

import pytest

from tests.executors import batch_cases as cases

pytestmark = pytest.mark.slurm


@pytest.fixture
def spec(slurm):
    return {"name": "slurm", "partition": slurm.queue, "poll_interval": 1.0, "marker_grace": 1.0}


def job_gone(job_id: str) -> bool:
    """Not pending or running any more (squeue shows finished jobs for MinJobAge)."""
    r = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    state = r.stdout.strip()
    return state in ("", "CANCELLED", "COMPLETED", "FAILED", "TIMEOUT")


def test_twenty_trials_run_as_parallel_jobs(spec, tmp_path, slurm):
    trials = cases.study_completes_in_parallel(spec, tmp_path, n=20, workers=4)
    r = subprocess.run(
        ["scontrol", "show", "job", "-o", trials[0].system_attrs["job_id"]],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert f"Partition={slurm.queue}" in r.stdout  # it really went through Slurm


def test_timeout_cancels_the_job(spec, tmp_path):
    cases.timeout_cancels_the_job(spec, tmp_path, job_gone)


def test_prune_cancels_the_job(spec, tmp_path):
    cases.prune_cancels_the_job(spec, tmp_path, job_gone)


def test_python_objective(spec, tmp_path):
    cases.python_objective(spec, tmp_path)


def test_several_trials_per_job(spec, tmp_path):
    cases.batched_jobs(spec, tmp_path)


def test_failed_setup_fails_the_trial(spec, tmp_path):
    cases.failed_setup_fails_the_trial(spec, tmp_path)


def test_a_program_missing_on_the_node_stops_the_run(spec, tmp_path):
    cases.program_that_cannot_start_stops_the_run(spec, tmp_path)


def test_worker_array_runs_exactly_n_trials_and_recovers_a_hung_task(spec, tmp_path):
    cases.worker_array(spec, tmp_path, tasks=2, n_trials=4)
