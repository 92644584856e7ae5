"""examples/multiobjective (issue 18): the YAML study runs, its trials carry two values and the
size constraint, `tansaku best` lists the front and the report shows it (Pareto figure)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tansaku as tk

ROOT = Path(__file__).resolve().parents[2]


def _tansaku(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tansaku", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1",
             # `python3` in the example's command is this venv's, as a user's would be
             "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])},
    )


@pytest.mark.slow  # two scikit-learn fits in subprocesses plus a report: ~15 s of CPU
def test_the_multiobjective_yaml_example_runs_and_its_report_shows_the_front(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    copy = tmp_path / "multiobjective"
    shutil.copytree(ROOT / "examples" / "multiobjective", copy)
    yaml = copy / "study.yaml"
    text = yaml.read_text()
    assert "iters:  {type: int, low: 10, high: 300, log: true}" in text
    # the example's own config and program, only with short fits (a 300-iteration fit takes 30 s)
    yaml.write_text(text.replace("high: 300", "high: 20"))
    out = _tansaku(["run", "-q", "study.yaml", "--n-trials", "2"], copy)
    assert out.returncode == 0, out.stderr
    study = tk.load_study("multiobjective", storage=f"sqlite:///{copy / 'multiobjective.db'}")
    assert study.directions == ("minimize", "minimize")
    assert study.counts().complete == 2
    for t in study.trials:
        error, fit_time = t.values
        assert 0.0 <= error <= 1.0 and fit_time > 0
        assert set(t.constraints) == {"size"}  # from the program's tansaku:constraint line
    front = study.best_trials
    assert front and all(t.is_feasible for t in front)

    best = _tansaku(["best", "study.yaml"], copy)
    assert best.returncode == 0, best.stderr
    assert best.stdout.startswith(f"Pareto front: {len(front)} trials (error minimize, fit_time minimize)")

    report = _tansaku(["report", "study.yaml", "-o", "rep", "--importance-model", "numpy"], copy)
    assert report.returncode == 0, report.stderr
    html = (copy / "rep" / "index.html").read_text()
    assert "Pareto front" in html and (copy / "rep" / "pareto.png").stat().st_size > 1000
    assert (copy / "rep" / "hypervolume.png").exists()
