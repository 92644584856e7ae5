"""The trial NUMBER has its own name in templates and environments (issue 14.5): ``{trial_number}``
and ``TANSAKU_TRIAL_NUMBER``, with ``{trial_id}`` / ``TANSAKU_TRIAL_ID`` kept as aliases; every
process a trial runs in gets them, a Python objective's worker process too."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import tansaku as tk
from tansaku.objectives._base import Job


def test_command_template_and_environment_name_the_number_both_ways(tmp_path: Path):
    cmd = tk.Command([sys.executable, "-c", "pass", "{trial_number}", "{trial_id}"])
    cmd.check_fields(["x"])
    job = Job(trial_id=41, number=7, params={"x": 1.0}, study_name="s", workdir=tmp_path)
    assert cmd.render(job)[-2:] == ["7", "7"]  # the number, not the storage's trial id
    env = cmd.environment(job)
    assert env["TANSAKU_TRIAL_NUMBER"] == env["TANSAKU_TRIAL_ID"] == "7"


def _number_from_env(trial: tk.Trial) -> float:
    return float(os.environ["TANSAKU_TRIAL_NUMBER"]) + 10 * float(os.environ["TANSAKU_TRIAL_ID"])


@pytest.mark.parametrize("executor", ["local"])
def test_a_python_objective_in_a_worker_process_sees_the_number(executor: str):
    study = tk.create_study({"x": tk.Float(0.0, 1.0)}, sampler="random", seed=0)
    study.optimize(_number_from_env, n_trials=3, n_workers=2, executor=executor)
    got = {t.number: t.value for t in study.trials}
    assert all(t.state is tk.TrialState.COMPLETE for t in study.trials), [
        t.message for t in study.trials
    ]
    assert got == {n: 11.0 * n for n in got} and len(got) == 3
