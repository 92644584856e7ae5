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
from tansaku.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _tansaku(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tansaku", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1",
             # `python3` in the example's command is this venv's, as a user's would be
             "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])},
    )


@pytest.mark.slow  # one scikit-learn fit in a subprocess plus a report: ~10 s of CPU
def test_the_multiobjective_yaml_example_runs_and_its_report_shows_the_front(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    copy = tmp_path / "multiobjective"
    shutil.copytree(ROOT / "examples" / "multiobjective", copy)
    yaml = copy / "study.yaml"
    text = yaml.read_text()
    assert "iters:  {type: int, low: 10, high: 300, log: true}" in text
    assert "leaves: {type: int, low: 4, high: 63, log: true}" in text
    # the example's own config and program, only with one short fit (a 300-iteration fit takes
    # 30 s); at most 20 * 10 * 16 leaves, so the one trial is feasible and forms the front
    yaml.write_text(text.replace("high: 300", "high: 20").replace("high: 63", "high: 16"))
    out = _tansaku(["run", "-q", "study.yaml", "--n-trials", "1"], copy)
    assert out.returncode == 0, out.stderr
    study = tk.load_study("multiobjective", storage=f"sqlite:///{copy / 'multiobjective.db'}")
    assert study.directions == ("minimize", "minimize")
    assert study.counts().complete == 1
    for t in study.trials:
        error, fit_time = t.values
        assert 0.0 <= error <= 1.0 and fit_time > 0
        assert set(t.constraints) == {"size"}  # from the program's tansaku:constraint line
    front = study.best_trials
    assert front and all(t.is_feasible for t in front)

    # `best` and `report` in this process (an interpreter start each saved); `run` above is the
    # real command line, trials and all
    capsys.readouterr()
    assert main(["best", str(yaml)]) == 0
    best = capsys.readouterr().out
    assert best.startswith(f"Pareto front: {len(front)} trials (error minimize, fit_time minimize)")

    rep = copy / "rep"
    assert main(["report", str(yaml), "-o", str(rep), "--importance-model", "numpy"]) == 0
    html = (copy / "rep" / "index.html").read_text()
    assert "Pareto front" in html and (copy / "rep" / "pareto.png").stat().st_size > 1000
    assert (copy / "rep" / "hypervolume.png").exists()
