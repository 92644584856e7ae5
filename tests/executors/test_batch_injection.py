"""Batch executors end to end: parameter values and a study name full of shell syntax reach the
program as literal argv items through the generated job scripts (fake PBS, which really runs
them with bash), and trial directories stay inside the study's."""

from __future__ import annotations

import json
import sys

import tansaku as tk
from tansaku import TrialState
from tests.executors.test_pbs import fake_pbs, fake_spec  # noqa: F401 - pytest fixtures

VALUES = [
    "; touch PWNED #",
    "$(touch PWNED)",
    "`touch PWNED`",
    "' ; touch PWNED ; '",
    "a\nb touch PWNED",
    "{x} {{y}}",
    "../../PWNED",
    "-rf /",
    "$HOME ${PATH} * ? ~",
]

SHOW = "import json, os, sys; print(json.dumps([sys.argv[1:], os.getcwd()])); print(1.5)"


def test_values_and_study_name_stay_data_in_batch_jobs(fake_spec, tmp_path):  # noqa: F811
    study = tk.create_study({"v": tk.Categorical(VALUES)}, name="s; touch PWNED $(id)", seed=0)
    for v in VALUES:
        study.enqueue({"v": v})
    cmd = tk.Command([sys.executable, "-c", SHOW, "{v}", "--v={v}", "{study}"])
    runs = tmp_path / "runs"
    study.optimize(cmd, n_trials=len(VALUES), n_workers=3, executor=fake_spec, workdir=runs)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * len(VALUES), [
        t.message for t in trials
    ]
    for t in trials:
        wd = runs / f"trial-{t.number:06d}"
        argv, cwd = json.loads((wd / "stdout.txt").read_text().splitlines()[0])
        assert argv == [t.params["v"], f"--v={t.params['v']}", study.name]
        assert cwd == str(wd)
    assert not list(tmp_path.rglob("*PWNED*")), "a value or the study name ran as shell code"
