"""Worker arrays (``mode: workers``) without a scheduler: the job script, the array's state, the
options.  The real runs are in test_slurm.py, test_sge.py and test_pbs.py (``worker_array``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import tansaku as tk
from tansaku.executors._arrays import is_worker_array, worker_script
from tansaku.executors._registry import make_executor
from tansaku.executors._schedulers import PBS, SGE, Slurm


def _script(name: str, jobs: int, tmp_path: Path, **options: object) -> str:
    ex = make_executor({"name": name, "mode": "workers", "jobs": jobs, **options})
    return worker_script(
        ex,  # type: ignore[arg-type]
        storage_url="journal:////shared/my study.journal",
        study_name="s; rm -rf ~",
        cwd=tmp_path / "conf dir",
        log_dir=tmp_path / "logs",
        job_name="w",
    )


@pytest.mark.parametrize(
    ("name", "jobs", "array_line", "log"),
    [
        ("slurm", 3, "#SBATCH --array=0-2", "task-%a.log"),
        ("slurm", 1, "#SBATCH --array=0-0", "task-%a.log"),
        ("sge", 3, "#$ -t 1-3", "task-$TASK_ID.log"),
        ("pbs", 3, "#PBS -J 0-2", "task-^array_index^.log"),
    ],
)
def test_worker_script_is_one_array_of_tansaku_workers(name, jobs, array_line, log, tmp_path):
    text = _script(name, jobs, tmp_path, setup=["module load cuda"], trials_per_job=2)
    lines = text.splitlines()
    assert array_line in lines
    assert any(line.endswith(str(tmp_path / "logs" / log)) for line in lines), text
    # setup first, then into the config's directory (PBS starts jobs in $HOME), then the worker
    body = lines.index("module load cuda"), lines.index(f"cd '{tmp_path / 'conf dir'}' || exit 1")
    assert body[0] < body[1]
    assert lines[-1] == (
        f"exec {sys.executable} -m tansaku worker --storage "
        "'journal:////shared/my study.journal' --study 's; rm -rf ~' --n-workers 2 --quiet"
    )


def test_one_pbs_task_is_a_plain_job(tmp_path):
    """qsub rejects ``-J 1-1`` (and ``-J 0-0``): one task is submitted as a plain job."""
    text = _script("pbs", 1, tmp_path)
    assert "-J" not in text and str(tmp_path / "logs" / "task-0.log") in text
    assert "TANSAKU_ARRAY_TASK=${PBS_ARRAY_INDEX:-0}" in text


def test_array_state_is_running_while_any_task_is():
    out = "42|COMPLETED|None\n42|RUNNING|None\n42|PENDING|Priority\n7|RUNNING|None\n"
    assert Slurm().array_state(out, "42").state == "running"
    assert Slurm().array_state("42|COMPLETED|None\n42|FAILED|None\n", "42").state == "done"
    assert Slurm().array_state("", "42").state == "done"
    sge = (
        "  12 0.55 job.sh root r 12/07/2026 09:00:00 all.q@vm 1 2\n"
        "  12 0.55 job.sh root qw 12/07/2026 09:00:00 1 3-4:1\n"
    )
    assert SGE().array_state(sge, "12").state == "running"
    assert SGE().array_state(sge.replace(" r ", " Eqw "), "12").state == "error"
    assert SGE().array_state("", "12").state == "done"
    pbs = "Job Id: 5[].vm\n    job_state = B\n"
    assert PBS().array_state(pbs, "5[].vm").state == "running"
    assert PBS().array_state(pbs.replace("= B", "= F"), "5[].vm").state == "done"


@pytest.mark.parametrize(
    ("options", "field", "words"),
    [
        ({"mode": "arrays"}, "executor.mode", "must be trials"),
        ({"jobs": 4}, "executor.jobs", "only applies with mode: workers"),
        ({"mode": "workers", "jobs": 0}, "executor.jobs", "positive integer"),
        ({"mode": "workers", "jobs": True}, "executor.jobs", "positive integer"),
    ],
)
def test_bad_worker_array_options_name_the_field(options, field, words):
    with pytest.raises(tk.ConfigError) as e:
        make_executor({"name": "slurm", **options})
    assert e.value.field == field and words in str(e.value)


def test_study_optimize_refuses_a_worker_array(tmp_path):
    spec = {"name": "sge", "mode": "workers", "jobs": 2}
    assert is_worker_array(spec) and not is_worker_array({"name": "sge"})
    study = tk.create_study({"x": tk.Float(0, 1)})
    with pytest.raises(tk.ConfigError, match="tansaku run CONFIG"):
        study.optimize(tk.Command(["echo", "{x}"]), n_trials=1, executor=spec, workdir=tmp_path)
    assert study.trials == []
