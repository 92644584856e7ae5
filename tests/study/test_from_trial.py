from __future__ import annotations

import sys
from pathlib import Path

import pytest

import tansaku as tk

TRAIN = """
import os, sys
x, parent = float(sys.argv[1]), sys.argv[2]
assert os.environ.get("TANSAKU_PARENT_DIR", "") == parent
start = float(open(os.path.join(parent, "ckpt")).read()) if parent else 0.0
value = start + x
open("ckpt", "w").write(str(value))
print(value)
"""


def test_a_trial_starts_from_the_checkpoint_of_the_trial_it_names(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    cmd = tk.Command([sys.executable, "train.py", "{x}", "{parent_dir}"], base_dir=tmp_path)
    study = tk.create_study({"x": tk.Float(0, 10)})
    runs = tmp_path / "runs"
    study.enqueue({"x": 1.0})
    study.optimize(cmd, n_trials=1, workdir=runs)
    n1 = study.enqueue({"x": 2.0}, from_trial=0)
    study.optimize(cmd, n_trials=1, workdir=runs)
    n2 = study.enqueue({"x": 4.0}, from_trial=n1)
    study.optimize(cmd, n_trials=1, workdir=runs)
    values = {t.number: t.value for t in study.trials}
    assert values == {0: 1.0, n1: 3.0, n2: 7.0}
    assert study.trials[n2].system_attrs["from_trial"] == n1


def test_python_objectives_get_parent_dir(tmp_path: Path) -> None:
    def objective(trial: tk.Trial) -> float:
        assert trial.workdir is not None
        start = 0.0
        if trial.parent_dir is not None:
            start = float((trial.parent_dir / "ckpt").read_text())
        (trial.workdir / "ckpt").write_text(str(start + 1))
        return start + 1

    study = tk.create_study({"x": tk.Float(0, 1)})
    study.optimize(objective, n_trials=1, workdir=tmp_path)
    study.enqueue({"x": 0.5}, from_trial=0)
    study.optimize(objective, n_trials=1, workdir=tmp_path)
    assert [t.value for t in study.trials] == [1.0, 2.0]


def test_from_trial_must_name_a_finished_trial() -> None:
    study = tk.create_study({"x": tk.Float(0, 1)})
    with pytest.raises(tk.ConfigError, match=r"^from_trial: study .* has no trial 3"):
        study.enqueue({"x": 0.5}, from_trial=3)
    study.enqueue({"x": 0.5})
    with pytest.raises(tk.ConfigError, match=r"^from_trial: trial 0 is waiting"):
        study.enqueue({"x": 0.5}, from_trial=0)
    with pytest.raises(tk.ConfigError, match=r"^from_trial: must be a trial number"):
        study.enqueue({"x": 0.5}, from_trial="0")  # type: ignore[arg-type]
