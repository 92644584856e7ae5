"""``objective: file.py:function`` imports like ``python file.py``: the file's siblings are
importable, in the coordinator and in every process that loads the objective again."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import tansaku as tk
from tansaku.cli._config import import_objective
from tansaku.cli._main import main

OBJ = """
import os
from helper import score          # a sibling module, imported when the file is


def f(trial):
    from lazy_helper import offset  # a sibling imported only when a trial runs (in the worker)
    trial.set_user_attr("pid", os.getpid())
    return score(trial.params["x"]) + offset
"""


@pytest.fixture(autouse=True)
def _forget_siblings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test imports the siblings afresh (and leaves sys.path as it found it)."""
    for name in ("helper", "lazy_helper", "tansaku_objective_obj"):
        monkeypatch.delitem(sys.modules, name, raising=False)


def _project(tmp_path: Path, executor: str) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "obj.py").write_text(OBJ)
    (proj / "helper.py").write_text("def score(x):\n    return (x - 0.25) ** 2\n")
    (proj / "lazy_helper.py").write_text("offset = 10.0\n")
    cfg = proj / "study.yaml"
    cfg.write_text(
        f"name: sib\nspace:\n  x: {{type: float, low: 0, high: 1}}\nobjective: obj.py:f\n"
        f"n_trials: 4\nseed: 1\n{executor}\n"
    )
    return cfg


@pytest.mark.parametrize(
    "executor",
    [
        "n_workers: 1",  # in-process
        "n_workers: 2",  # forked local workers
        "n_workers: 2\nexecutor: {name: local, start_method: spawn}",  # the objective is pickled
    ],
)
def test_file_objective_imports_its_siblings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             executor: str) -> None:
    cfg = _project(tmp_path, executor)
    monkeypatch.chdir(tmp_path)  # not the file's directory: sys.path must get it from the file
    assert main(["run", str(cfg), "-q"]) == 0
    study = tk.load_study("sib", storage=f"sqlite:///{cfg.parent / 'sib.db'}")
    trials = study.trials
    assert [t.state for t in trials] == [tk.TrialState.COMPLETE] * 4, [t.message for t in trials]
    for t in trials:
        assert t.value == pytest.approx((t.params["x"] - 0.25) ** 2 + 10.0)
    if "n_workers: 2" in executor:
        assert all(t.user_attrs["pid"] != os.getpid() for t in trials)


def test_a_fresh_interpreter_loads_the_pickled_objective(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # how a batch job (tansaku.executors._jobrun) gets the objective: a pickle, loaded in a new
    # interpreter whose sys.path knows nothing of the file's directory
    cfg = _project(tmp_path, "")
    fn = import_objective("obj.py:f", cfg.parent)
    job = tmp_path / "job"
    job.mkdir()
    (job / "objective.pkl").write_bytes(pickle.dumps(fn))
    spec = {"objective": str(job / "objective.pkl"), "trial_id": 1, "number": 0,
            "params": {"x": 0.75}, "study_name": "sib", "workdir": str(job), "sys_path": []}
    (job / "job.json").write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONPATH": str(Path(tk.__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-m", "tansaku.executors._jobrun", str(job / "job.json")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((job / "result.json").read_text())
    assert result["state"] == "complete", result
    assert result["value"] == pytest.approx(0.25 + 10.0)


def test_dask_workers_load_the_file_objective(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    cfg = _project(tmp_path, "n_workers: 1\nexecutor: dask")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(cfg), "-q"]) == 0
    trials = tk.load_study("sib", storage=f"sqlite:///{cfg.parent / 'sib.db'}").trials
    assert [t.state for t in trials] == [tk.TrialState.COMPLETE] * 4, [t.message for t in trials]
    assert all(t.user_attrs["pid"] != os.getpid() for t in trials)


def test_bad_references_are_one_line_config_errors(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import no_such_module_anywhere\n")
    for ref, match in [("nofunc", "expected 'file.py:function'"),
                       ("missing.py:f", "no such file"),
                       ("broken.py:f", "cannot import broken.py: ModuleNotFoundError")]:
        with pytest.raises(tk.ConfigError, match=match) as err:
            import_objective(ref, tmp_path)
        assert err.value.field == "objective" and "\n" not in str(err.value)
