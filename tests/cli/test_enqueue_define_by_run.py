"""``tansaku enqueue`` and the YAML ``enqueue:`` list with define-by-run names (issue 17.5)."""

from __future__ import annotations

from pathlib import Path

import pytest

import tansaku as tk
from tansaku.cli import load_config
from tansaku.cli._main import main

OBJ = """
def f(trial):
    x = trial.params["x"]
    if trial.suggest_categorical("kind", ["a", "b"]) == "a":
        return x + trial.suggest_float("w", 0.0, 1.0)
    return x + 2
"""


def _config(tmp_path: Path, body: str) -> Path:
    (tmp_path / "obj.py").write_text(OBJ)
    cfg = tmp_path / "d.yaml"
    cfg.write_text("name: d\nseed: 1\nspace:\n  x: {type: float, low: 0, high: 1}\n" + body)
    return cfg


def _trial(tmp_path: Path, number: int) -> tk.FrozenTrial:
    study = tk.load_study("d", storage=f"sqlite:///{tmp_path / 'd.db'}", sampler="random")
    return study.storage.get_trial_by_number(study.study_id, number)


def test_a_python_objective_config_enqueues_names_it_suggests(tmp_path, capsys):
    cfg = _config(
        tmp_path, "objective: obj.py:f\nn_trials: 1\nenqueue:\n  - {x: 0.5, kind: a, w: 0.25}\n"
    )
    assert main(["run", "-q", str(cfg)]) == 0
    t = _trial(tmp_path, 0)
    assert dict(t.params) == {"x": 0.5, "kind": "a", "w": 0.25} and t.value == 0.75
    capsys.readouterr()
    assert main(["enqueue", str(cfg), "--params", '{"x": 0.1, "kind": "b", "w": 0.5}']) == 0
    assert main(["run", "-q", str(cfg), "--n-trials", "2"]) == 0
    t = _trial(tmp_path, 1)
    assert dict(t.params) == {"x": 0.1, "kind": "b"}  # w: never suggested on branch b


@pytest.mark.parametrize("where", ["yaml", "cli"])
def test_a_command_config_refuses_names_outside_its_space(tmp_path, capsys, where):
    body = "command: [echo, '{x}']\nn_trials: 1\n"
    if where == "yaml":
        body += "enqueue:\n  - {x: 0.5, w: 0.25}\n"
    cfg = _config(tmp_path, body)
    if where == "cli":
        load_config(cfg).open_study()  # the study exists (nothing run)
        argv = ["enqueue", str(cfg), "--params", '{"x": 0.5, "w": 0.25}']
    else:
        argv = ["run", "-q", str(cfg)]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "unknown parameter(s): w" in err, err
    assert "\n" not in err
