"""``tansaku import`` into a multi-objective study (issue 18): the CSV that ``tansaku export``
writes, another tansaku study and an Optuna study bring every objective's value and the
constraints; a source with other objectives is one line and nothing is stored."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import tansaku as tk
from tansaku.cli import main

OBJ = textwrap.dedent("""
    def f(trial):
        x = trial.params["x"]
        trial.set_constraint("mem", x - 0.4)
        return x, (1 - x) ** 2 + trial.params["n"]
""")


def _config(tmp: Path, name: str, directions: str = "[minimize, minimize]") -> Path:
    (tmp / "obj.py").write_text(OBJ)
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        name: {name}
        n_trials: 6
        directions: {directions}
        {"objective_names: [error, time]" if "," in directions else ""}
        sampler: {{name: random, seed: 1}}
        objective: obj.py:f
        space:
          x: {{type: float, low: 0.0, high: 1.0}}
          n: {{type: int, low: 1, high: 3}}
        """)
    )
    return cfg


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _study(tmp: Path, name: str) -> tk.Study:
    return tk.load_study(name, storage=f"sqlite:///{tmp / (name + '.db')}")


def _same(got: list[tk.FrozenTrial], want: list[tk.FrozenTrial]) -> None:
    assert [dict(t.params) for t in got] == [dict(t.params) for t in want]
    assert [t.values for t in got] == [t.values for t in want]
    assert [dict(t.constraints) for t in got] == [dict(t.constraints) for t in want]


def test_export_then_import_keeps_values_and_constraints(tmp_path, capsys):
    old = _config(tmp_path, "old")
    assert _run(capsys, "run", "-q", str(old))[0] == 0
    want = _study(tmp_path, "old").trials
    assert any(not t.is_feasible for t in want) and any(t.is_feasible for t in want)
    assert _run(capsys, "export", str(old), "-o", str(tmp_path / "old.csv"))[0] == 0
    header = (tmp_path / "old.csv").read_text().splitlines()[0]
    assert "values_error,values_time,constraints.mem,feasible" in header

    new = _config(tmp_path, "new")
    code, out, err = _run(capsys, "import", str(new), "--from-csv", str(tmp_path / "old.csv"))
    assert code == 0, err
    assert "imported 6 trials from old.csv" in out
    study = _study(tmp_path, "new")
    _same(study.trials, want)
    assert sorted(t.number for t in study.best_trials) == sorted(
        t.number for t in _study(tmp_path, "old").best_trials
    )
    assert all("feasible" not in t.user_attrs for t in study.trials)

    code, out, err = _run(
        capsys, "import", str(new), "--from-study", "old",
        "--storage", f"sqlite:///{tmp_path / 'old.db'}",
    )
    assert code == 0, err
    _same(_study(tmp_path, "new").trials[6:], want)

    # a CSV without an objective's column, a study with other directions: one line, nothing stored
    (tmp_path / "one.csv").write_text("x,n,value\n0.5,1,0.3\n")
    code, _, err = _run(capsys, "import", str(new), "--from-csv", str(tmp_path / "one.csv"))
    assert code == 2 and "no column values_error or error for objective 'error'" in err
    other = _config(tmp_path, "other", "[minimize, maximize]")
    code, _, err = _run(
        capsys, "import", str(other), "--from-study", "old",
        "--storage", f"sqlite:///{tmp_path / 'old.db'}",
    )
    assert code == 2 and "was run to [minimize, minimize], this one to [minimize, maximize]" in err
    assert len(err.strip().splitlines()) == 1
    assert len(_study(tmp_path, "new").trials) == 12


def test_import_a_multiobjective_optuna_study_with_constraints(tmp_path, capsys):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    ost = optuna.create_study(study_name="o", storage=url, directions=["minimize", "minimize"])

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        n = trial.suggest_int("n", 1, 3)
        trial.set_constraint("mem", x - 0.7)
        return x, (1 - x) ** 2 + n

    ost.optimize(objective, n_trials=5)
    cfg = _config(tmp_path, "fromopt")
    code, _, err = _run(capsys, "import", str(cfg), "--from-optuna", url)
    assert code == 0, err
    got = _study(tmp_path, "fromopt").trials
    theirs = sorted(ost.get_trials(), key=lambda t: t.number)
    assert [t.values for t in got] == [tuple(o.values) for o in theirs]
    assert [dict(t.constraints) for t in got] == [{"mem": o.params["x"] - 0.7} for o in theirs]
    # a single-objective target refuses it in one line
    code, _, err = _run(capsys, "import", str(_config(tmp_path, "so", "[minimize]")),
                        "--from-optuna", url)
    assert code == 2 and "Optuna study 'o' has 2 objectives; this study has one objective" in err
