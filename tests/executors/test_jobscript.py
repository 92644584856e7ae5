"""Job scripts: directives per scheduler, option validation, and that no value becomes shell code."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import ConfigError
from tansaku.executors import make_executor
from tansaku.executors._jobscript import TrialScript, job_script, safe_job_name, trial_script
from tansaku.objectives import Command
from tansaku.objectives._base import Job

EVIL = [
    "; touch PWNED #",
    "$(touch PWNED)",
    "`touch PWNED`",
    "' ; touch PWNED ; '",
    '" ; touch PWNED ; "',
    "a\nb touch PWNED",
    "$HOME ${PATH} * ?",
]


def _run_trial_script(tmp_path: Path, argv: list[str], env: dict[str, str]) -> Path:
    wd = tmp_path / "trial"
    (wd / ".tansaku").mkdir(parents=True)
    runner = wd / ".tansaku" / "run.sh"
    runner.write_text(trial_script(TrialScript(wd, wd, argv, env)))
    subprocess.run(["bash", str(runner)], cwd=tmp_path, timeout=30, check=False)
    return wd


@pytest.mark.parametrize("value", EVIL)
def test_param_values_never_become_shell_code(tmp_path, value):
    cmd = Command(
        ["python3", "-c", "import json,sys; print(json.dumps(sys.argv[1:]))", "--v={v}", "{v}"]
    )
    job = Job(1, 7, {"v": value}, study_name="s; touch PWNED", workdir=tmp_path / "trial")
    env = {k: v for k, v in cmd.environment(job).items() if os.environ.get(k) != v}
    wd = _run_trial_script(tmp_path, cmd.render(job), env)
    assert not list(tmp_path.rglob("PWNED")), "a parameter value was executed by the shell"
    out = (wd / "stdout.txt").read_text()
    assert json.loads(out) == [f"--v={value}", value]  # exactly the value, in exactly its item
    assert (wd / ".tansaku" / "exit").read_text().split()[0] == "0"
    assert (wd / ".tansaku" / "started").exists()


def test_environment_values_are_quoted(tmp_path):
    env = {"TANSAKU_PARAMS": json.dumps({"a": "$(touch PWNED)"}), "X": "'\"; touch PWNED"}
    wd = _run_trial_script(tmp_path, ["python3", "-c", "import os; print(os.environ['X'])"], env)
    assert not list(tmp_path.rglob("PWNED"))
    assert (wd / "stdout.txt").read_text().strip() == env["X"]


def test_cancel_file_stops_the_trial_process_group(tmp_path):
    wd = tmp_path / "trial"
    (wd / ".tansaku").mkdir(parents=True)
    runner = wd / ".tansaku" / "run.sh"
    # the program starts a grandchild that would outlive a kill of the program alone
    prog = "sleep 60 & echo $! > child.pid; wait"
    runner.write_text(trial_script(TrialScript(wd, wd, ["bash", "-c", prog], {}, kill_grace=0.5)))
    p = subprocess.Popen(["bash", str(runner)])
    for _ in range(100):
        if (wd / "child.pid").exists() and (wd / "child.pid").read_text().strip():
            break
        subprocess.run(["sleep", "0.05"])
    child = int((wd / "child.pid").read_text())
    (wd / ".tansaku" / "cancel").write_text("pruned")
    assert p.wait(timeout=10) != 0
    rc = int((wd / ".tansaku" / "exit").read_text().split()[0])
    assert rc in (128 + 15, 128 + 9)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Running, i.e. not gone and not a zombie waiting for init to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _directives(name: str, **options) -> str:
    ex = make_executor({"name": name, **options}, n_workers=2)
    lines = ex.scheduler.directives(
        job_name="tansaku-s-1",
        log=Path("/w/job.log"),
        queue=ex.queue,
        account=ex.account,
        group=ex.group,
        project=ex.project,
        resources=ex.resources,
        extra=ex.extra_directives,
        export_env=ex.export_env,
    )
    return job_script(directives=lines, setup=ex.setup, runners=[Path("/w/a/run.sh")])


def test_abci_style_sge_job_script():
    script = _directives(
        "sge",
        group="gxx12345",
        resources={"rt_F": 1, "h_rt": "1:00:00"},
        directives=["-l USE_SSH=1"],
        setup=["module load python/3.11", "source venv/bin/activate"],
    )
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    for want in (
        "#$ -g gxx12345",
        "#$ -l rt_F=1",
        "#$ -l h_rt=1:00:00",
        "#$ -l USE_SSH=1",
        "#$ -N tansaku-s-1",
        "#$ -o /w/job.log",
        "#$ -j y",
        "#$ -V",
    ):
        assert want in lines
    assert lines.index("module load python/3.11") < lines.index(
        "TANSAKU_JOB_SLOT=0 bash /w/a/run.sh"
    )
    assert "source venv/bin/activate" in lines and "set -e" in script


def test_slurm_and_pbs_directives():
    s = _directives(
        "slurm",
        partition="gpu",
        account="proj1",
        resources={"cpus-per-task": 4, "gres": "gpu:1", "exclusive": True, "N": 1},
        directives=["--constraint=v100", "#SBATCH --hint=nomultithread"],
    )
    for want in (
        "#SBATCH --partition=gpu",
        "#SBATCH --account=proj1",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --exclusive",
        "#SBATCH -N 1",
        "#SBATCH --constraint=v100",
        "#SBATCH --hint=nomultithread",
        "#SBATCH --output=/w/job.log",
        "#SBATCH --export=ALL",
    ):
        assert want in s.splitlines()
    p = _directives(
        "pbs", queue="rt_HF", project="gxx", resources={"select": 1, "walltime": "1:00:00"}
    )
    for want in (
        "#PBS -q rt_HF",
        "#PBS -P gxx",
        "#PBS -l select=1",
        "#PBS -l walltime=1:00:00",
        "#PBS -j oe",
        "#PBS -V",
    ):
        assert want in p.splitlines()


def test_multi_trial_jobs_start_runners_in_parallel():
    script = job_script(directives=[], setup=[], runners=[Path("/a/run.sh"), Path("/b c/run.sh")])
    assert "TANSAKU_JOB_SLOT=0 bash /a/run.sh &" in script
    assert "TANSAKU_JOB_SLOT=1 bash '/b c/run.sh' &" in script
    assert script.rstrip().endswith("wait")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"name": "slurm", "queue": "x"}, "executor.queue"),  # slurm calls it partition
        ({"name": "slurm", "group": "g"}, "executor.group"),
        ({"name": "sge", "resources": ["h_rt=1:00:00"]}, "executor.resources"),
        ({"name": "sge", "resources": {"h_rt": [1]}}, "executor.resources.h_rt"),
        ({"name": "sge", "resources": {"bad name": 1}}, "executor.resources"),
        ({"name": "pbs", "trials_per_job": 0}, "executor.trials_per_job"),
        ({"name": "pbs", "poll_interval": "fast"}, "executor.poll_interval"),
        ({"name": "sge", "setup": "line1\nline2"}, "executor.setup"),
        ({"name": "sge", "group": "g x"}, "executor.group"),
        (
            {"name": "dask", "address": "tcp://h:1", "cluster": {"type": "slurm"}},
            "executor.address",
        ),
        ({"name": "dask", "cluster": {"type": "condor"}}, "executor.cluster.type"),
        ({"name": "dask", "processs": True}, "executor.processs"),
    ],
)
def test_bad_executor_options_name_the_field(spec, field):
    with pytest.raises(ConfigError) as e:
        make_executor(spec, n_workers=2)
    assert e.value.field == field, str(e.value)
    assert "\n" not in str(e.value)


def test_yaml_config_accepts_batch_executor_options(tmp_path):
    from tansaku.cli._config import parse_config

    cfg = parse_config(
        {
            "space": {"x": {"type": "float", "low": 0, "high": 1}},
            "command": ["echo", "{x}"],
            "n_trials": 3,
            "executor": {
                "name": "sge",
                "group": "gxx",
                "resources": {"rt_F": 1, "h_rt": "1:00:00"},
                "setup": ["module load python/3.11"],
            },
            "lost_trials": "fail",
        },
        base_dir=tmp_path,
    )
    assert cfg.executor["group"] == "gxx" and cfg.lost_trials == "fail"
    with pytest.raises(ConfigError, match="lost_trials"):
        parse_config(
            {
                "space": {"x": {"type": "float", "low": 0, "high": 1}},
                "command": ["echo"],
                "n_trials": 1,
                "lost_trials": "retry",
            },
            base_dir=tmp_path,
        )


def test_safe_job_name():
    assert safe_job_name("tansaku-my study/1") == "tansaku-my_study_1"
    assert safe_job_name("7up")[0].isalpha()
    assert len(safe_job_name("x" * 500)) == 64


def test_study_optimize_rejects_bad_lost_trials():
    study = tk.create_study({"x": tk.Float(0, 1)})
    with pytest.raises(ConfigError, match="lost_trials"):
        study.optimize(lambda t: 1.0, n_trials=1, lost_trials="ignore")
