"""examples/conditional (issue 17): the YAML study runs, and its trials hold only active params."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tansaku as tk

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # two scikit-learn trainings in subprocesses: ~20 s on a loaded machine
def test_the_conditional_yaml_example_runs_with_only_active_parameters(tmp_path):
    copy = tmp_path / "conditional"
    shutil.copytree(ROOT / "examples" / "conditional", copy)
    out = subprocess.run(
        [sys.executable, "-m", "tansaku", "run", "-q", "study.yaml", "--n-trials", "2"],
        cwd=copy, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"),  # `python` is this venv's, as a user's
             "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])},
    )
    assert out.returncode == 0, out.stderr
    study = tk.load_study("conditional", storage=f"sqlite:///{copy / 'conditional.db'}")
    assert study.counts().complete == 2
    for t in study.trials:
        p = t.params
        assert ("momentum" in p) == (p["solver"] == "sgd")
        assert ("beta1" in p) == (p["solver"] == "adam")
        assert {f"units{k}" for k in range(1, 4)} & set(p) == {
            f"units{k}" for k in range(1, p["layers"] + 1)}
        assert 0.0 <= t.value <= 1.0
