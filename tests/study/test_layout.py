"""Run directories (tansaku._layout): one per study name, never shared, and old studies keep theirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import _layout
from tansaku._layout import MARKER, study_dir_name

SRC = str(Path(tk.__file__).parents[1])
SPACE = {"x": tk.Float(0, 1)}
# the first run of a trial directory keeps its x; a second study sharing the directory would
# print the first study's value instead of its own
STICKY = ["sh", "-c", "[ -e value ] || echo {x} > value; cat value"]


def _cli_run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tansaku", "run", "-q", str(config)],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("names", [("学習", "探索"), ("exp 1", "exp_1")])
def test_colliding_names_get_their_own_directories_and_values(tmp_path, names):
    for i, name in enumerate(names):
        (tmp_path / f"s{i}.yaml").write_text(
            f"name: {name}\nstorage: sqlite:///s.db\nn_trials: 2\nseed: {i}\n"
            "space: {x: {type: float, low: 0, high: 1}}\n"
            f"command: [sh, -c, '{STICKY[2]}']\n"
        )
        out = _cli_run(tmp_path / f"s{i}.yaml")
        assert out.returncode == 0, out.stderr
    dirs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert dirs == sorted(study_dir_name(n) for n in names) and len(set(dirs)) == 2
    for name in names:
        d = tmp_path / "runs" / study_dir_name(name)
        assert (d / MARKER).read_text(encoding="utf-8") == name
        study = tk.load_study(name, storage=f"sqlite:///{tmp_path / 's.db'}")
        assert len(study.trials) == 2
        for t in study.trials:  # its own value, from its own directory
            assert t.state is tk.TrialState.COMPLETE and t.value == pytest.approx(t.params["x"])
            assert Path(t.system_attrs["workdir"]).parent == d


def test_directory_names_are_readable_distinct_and_safe():
    names = ["exp 1", "exp_1", "学習", "探索", ".", "..", "a/b", "a" * 256, "-x", "exp_1-00000000"]
    made = [study_dir_name(n) for n in names]
    assert len(set(made)) == len(names)
    assert study_dir_name("exp 1").startswith("exp_1-") and study_dir_name("学習").startswith("study-")
    for d in made:
        assert "/" not in d and d not in (".", "..") and not d.startswith(".") and len(d) <= 105


def test_an_old_layout_study_resumes_into_its_old_directory(tmp_path, monkeypatch):
    """A study run before the layout (trials in runs/exp_1/, no marker) keeps that directory;
    a new study whose old name would have been the same does not take it."""
    monkeypatch.chdir(tmp_path)
    legacy = tmp_path / "runs" / "exp_1"
    storage = f"sqlite:///{tmp_path / 's.db'}"
    old = tk.create_study(SPACE, storage=storage, name="exp 1", seed=0)
    old.optimize(tk.Command(STICKY), n_trials=2, workdir=legacy)  # where old versions put it
    assert not (legacy / MARKER).exists()

    resumed = tk.load_study("exp 1", storage=storage)
    resumed.optimize(tk.Command(STICKY), n_trials=2)  # the default directory
    assert sorted(p.name for p in legacy.iterdir() if p.name.startswith("trial-")) == [
        f"trial-{n:06d}" for n in range(4)
    ]
    assert (legacy / MARKER).read_text(encoding="utf-8") == "exp 1"
    assert not (tmp_path / "runs" / study_dir_name("exp 1")).exists()

    other = tk.create_study(SPACE, storage=storage, name="exp_1", seed=1)
    other.optimize(tk.Command(STICKY), n_trials=2)
    mine = tmp_path / "runs" / study_dir_name("exp_1")
    assert all(Path(t.system_attrs["workdir"]).parent == mine for t in other.trials)
    assert all(t.value == pytest.approx(t.params["x"]) for t in other.trials)


def test_an_unmarked_legacy_directory_goes_to_the_old_study_that_ran_there(tmp_path):
    """Two old studies whose names collided shared runs/exp_1: the first to run again keeps it,
    the other moves to its own directory; a study that never ran does not adopt it."""
    storage = f"sqlite:///{tmp_path / 's.db'}"
    runs = tmp_path / "runs"
    legacy = runs / "exp_1"
    a = tk.create_study(SPACE, storage=storage, name="exp_1", seed=0)
    b = tk.create_study(SPACE, storage=storage, name="exp 1", seed=1)
    a.optimize(tk.Command(STICKY), n_trials=1, workdir=legacy)
    fresh = tk.create_study(SPACE, storage=storage, name="exp?1")
    fresh.enqueue({"x": 0.5})  # a waiting trial is not a run
    assert _layout.study_dir(runs, fresh) == runs / study_dir_name("exp?1")  # never ran there
    b.optimize(tk.Command(STICKY), n_trials=1, workdir=legacy)
    assert _layout.study_dir(runs, b) == legacy  # b ran there, the first to ask since
    assert _layout.study_dir(runs, a) == runs / study_dir_name("exp_1")  # a moves on
    assert _layout.study_dir(runs, b) == legacy  # and it stays b's


def test_a_python_objective_study_of_the_old_layout_is_recognised_by_its_trials(tmp_path):
    # Python objectives record no directory: a study that has started trials adopts the dir
    storage = f"sqlite:///{tmp_path / 's.db'}"
    runs = tmp_path / "runs"
    study = tk.create_study(SPACE, storage=storage, name="py run", seed=0)
    study.optimize(lambda t: t.params["x"], n_trials=1, workdir=runs / "py_run")
    assert _layout.study_dir(runs, study) == runs / "py_run"


def test_a_foreign_marker_is_never_used(tmp_path):
    runs = tmp_path / "runs"
    squatted = runs / study_dir_name("mine")
    squatted.mkdir(parents=True)
    (squatted / MARKER).write_text("someone else")
    got = _layout.study_dir(runs, "mine")
    assert got == runs / study_dir_name("mine", 16) and (got / MARKER).read_text() == "mine"
    assert _layout.study_dir(runs, "mine") == got
