"""Parsing the Slurm and Grid Engine poll outputs (captured from the single-node test clusters:
Slurm 22.05, Son of Grid Engine 8.1.9).  PBS outputs are in test_pbs.py."""

from __future__ import annotations

import pytest

from tansaku.executors._schedulers import SGE, Slurm

SQUEUE = """\
77|PENDING|Dependency
76|RUNNING|None
75|COMPLETED|None
74|CANCELLED|None
73|TIMEOUT|None
"""

QSTAT = """\
job-ID  prior   name       user         state submit/start at     queue                          slots ja-task-ID 
-----------------------------------------------------------------------------------------------------------------
     24 0.50000 sleep      root         r     11/24/2026 09:43:03 debug@vm                           1        
     25 0.00000 sleep      root         hqw   11/24/2026 09:43:04                                    1        
     26 0.00000 tansaku-s  root         Eqw   11/24/2026 09:43:04                                    1        
     27 0.50000 sleep      root         dr    11/24/2026 09:43:03 debug@vm                           1        
"""  # noqa: W291 - qstat pads its lines


def test_squeue_states():
    st = Slurm().parse_status(SQUEUE, ["73", "74", "75", "76", "77", "78"])
    assert {k: v.state for k, v in st.items()} == {
        "77": "pending",
        "76": "running",
        "75": "done",
        "74": "done",
        "73": "done",
    }
    assert "Dependency" in st["77"].detail and st["73"].detail == "TIMEOUT"
    assert "78" not in st  # unknown to squeue: left the queue
    assert Slurm().status_error_means_gone("slurm_load_jobs error: Invalid job id specified")


def test_qstat_states():
    st = SGE().parse_status(QSTAT, ["24", "25", "26", "27", "99"])
    assert {k: v.state for k, v in st.items()} == {
        "24": "running",
        "25": "pending",
        "26": "error",
        "27": "running",
    }


@pytest.mark.parametrize(
    ("cls", "out", "job"),
    [
        (Slurm, "123\n", "123"),
        (Slurm, "123;cluster\n", "123"),
        (SGE, "456\n", "456"),
        (SGE, 'Your job 456 ("job.sh") has been submitted\n', "456"),
    ],
)
def test_submit_outputs(cls, out, job):
    assert cls().parse_job_id(out) == job


def test_bad_submit_output_raises():
    with pytest.raises(ValueError):
        Slurm().parse_job_id("sbatch: error: Batch job submission failed\n")
    with pytest.raises(ValueError):
        SGE().parse_job_id("\n")
