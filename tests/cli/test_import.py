"""``tansaku import`` (issue 17.4): from a tansaku study, from CSV (the export's and a plain one),
from an Optuna database through the installed optuna; a bad row is one line naming its row and
column and nothing is stored; ``run --seed-from`` seeds a new study with the trials that fit."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import tansaku as tk
from tansaku import TrialState
from tansaku.cli import main

OBJ = "def f(trial):\n    return (trial.params['x'] - 0.3) ** 2 + trial.params['n']\n"


def _config(
    tmp: Path,
    name: str = "demo",
    *,
    space: str | None = None,
    n_trials: int = 4,
    direction: str = "minimize",
) -> Path:
    (tmp / "obj.py").write_text(OBJ)
    cfg = tmp / f"{name}.yaml"
    space = (
        space
        or """
          x: {type: float, low: 0.0, high: 1.0}
          n: {type: int, low: 1, high: 3}
          act: {type: categorical, choices: [relu, tanh]}"""
    )
    cfg.write_text(
        textwrap.dedent(f"""
        name: {name}
        n_trials: {n_trials}
        direction: {direction}
        sampler: {{name: random, seed: 0}}
        objective: obj.py:f
        space:""")
        + textwrap.dedent(space).rstrip().replace("\n", "\n  ")
        + "\n"
    )
    return cfg


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _study(tmp: Path, name: str = "demo") -> tk.Study:
    return tk.load_study(name, storage=f"sqlite:///{tmp / (name + '.db')}")


def test_import_from_the_csv_that_export_writes_and_from_a_study(tmp_path, capsys):
    old = _config(tmp_path, "old")
    assert _run(capsys, "run", "-q", str(old))[0] == 0
    src = _study(tmp_path, "old")
    src.storage.set_trial_user_attrs(src.trials[1].trial_id, {"fold": 3, "tags": ["a"]})
    assert _run(capsys, "export", str(old), "-o", str(tmp_path / "old.csv"))[0] == 0
    cfg = _config(tmp_path)
    code, out, err = _run(capsys, "import", str(cfg), "--from-csv", str(tmp_path / "old.csv"))
    assert code == 0, err
    assert "imported 4 trials from old.csv into study 'demo'" in out
    got = _study(tmp_path).trials
    want = src.trials
    assert [dict(t.params) for t in got] == [dict(t.params) for t in want]
    assert [t.value for t in got] == [t.value for t in want]
    assert got[1].user_attrs == {"fold": 3, "tags": ["a"]}
    assert got[2].system_attrs["imported"] == {"source": "csv:old.csv", "row": 4, "number": 2}
    assert abs(got[0].start_time - want[0].start_time) < 1e-3
    # from the study itself (another storage): values, states and attrs; counted toward nothing
    code, out, err = _run(
        capsys,
        "import",
        str(cfg),
        "--from-study",
        "old",
        "--storage",
        f"sqlite:///{tmp_path / 'old.db'}",
    )
    assert code == 0, err and "imported 4 trials from study 'old'" in out
    study = _study(tmp_path)
    assert study.trials[5].system_attrs["imported"] == {"source": "study:old", "number": 1}
    assert study.uncounted_trials == 8
    code, out, _ = _run(capsys, "run", "-q", str(cfg))
    assert code == 0 and _study(tmp_path).counts().complete == 12  # its own 4 still run
    assert "trials: 4 of 4 done + 8 imported" in _run(capsys, "status", str(cfg))[1]


def test_a_plain_csv_with_a_named_value_column(tmp_path, capsys):
    cfg = _config(tmp_path)
    (tmp_path / "grid.csv").write_text(
        "x,n,act,loss,seconds\n0.1,2,relu,1.5,30\n0.25,1,tanh,1.01,31\n0.5,3.0,tanh,,32\n"
    )
    code, _, err = _run(capsys, "import", str(cfg), "--from-csv", str(tmp_path / "grid.csv"))
    assert code == 2 and err == (
        "error: --from-csv: grid.csv row 1: no column 'value' (columns: x, n, act, loss, "
        "seconds); name the objective's column with --value-column\n"
    )
    code, _, err = _run(
        capsys,
        "import",
        str(cfg),
        "--from-csv",
        str(tmp_path / "grid.csv"),
        "--value-column",
        "loss",
    )
    assert code == 2 and err == (
        "error: grid.csv row 4, column loss: a complete trial needs a value (or give state: failed)\n"
    )
    assert not (tmp_path / "demo.db").exists()  # nothing stored, not even a database
    with open(tmp_path / "grid.csv", "a") as f:
        f.write("0.5,3,tanh,2.5,33\n")
    code, out, err = _run(
        capsys,
        "import",
        str(cfg),
        "--from-csv",
        str(tmp_path / "grid.csv"),
        "--value-column",
        "loss",
        "--skip-invalid",
    )
    assert code == 0 and "imported 3 trials" in out
    assert "skipped 1 invalid record(s) of grid.csv; the first: grid.csv row 4" in err
    t = _study(tmp_path).trials
    assert [dict(x.params) for x in t] == [
        {"x": 0.1, "n": 2, "act": "relu"},
        {"x": 0.25, "n": 1, "act": "tanh"},
        {"x": 0.5, "n": 3, "act": "tanh"},
    ]
    assert t[0].user_attrs == {"seconds": 30} and t[1].value == 1.01


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "0.1,2,gelu,1.0",
            "rows.csv row 3, column act: expected one of ['relu', 'tanh'], got 'gelu'",
        ),
        ("1.5,2,relu,1.0", "rows.csv row 3, column x: expected a value in [0, 1], got 1.5"),
        ("0.1,2.5,relu,1.0", "rows.csv row 3, column n: expected an integer, got '2.5'"),
        ("0.1,,relu,1.0", "rows.csv row 3: missing parameter(s): n"),
        ("0.1,2,relu,abc", "rows.csv row 3, column value: expected a number, got 'abc'"),
    ],
)
def test_a_bad_row_names_its_row_and_column_and_stores_nothing(tmp_path, capsys, row, message):
    cfg = _config(tmp_path)
    study = tk.create_study(
        {"x": tk.Float(0.0, 1.0), "n": tk.Int(1, 3), "act": tk.Categorical(["relu", "tanh"])},
        storage=f"sqlite:///{tmp_path / 'demo.db'}",
        name="demo",
    )
    (tmp_path / "rows.csv").write_text(f"x,n,act,value\n0.2,1,tanh,1.1\n{row}\n0.3,1,relu,1.2\n")
    code, _, err = _run(capsys, "import", str(cfg), "--from-csv", str(tmp_path / "rows.csv"))
    assert code == 2 and err == f"error: {message}\n"
    assert study.counts().total == 0


@pytest.mark.slow  # Optuna's SQLite schema set-up alone takes 2-5 s on a loaded machine
def test_import_an_optuna_study_with_every_trial(tmp_path, capsys):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    ost = optuna.create_study(study_name="o", storage=url)

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        n = trial.suggest_int("n", 1, 3)
        trial.suggest_categorical("act", ["relu", "tanh"])
        trial.set_user_attr("note", f"n={n}")
        for step in range(3):
            trial.report(x + step, step)
            if trial.number == 3 and step == 1:
                raise optuna.TrialPruned()
        if trial.number == 4:
            raise RuntimeError("diverged")
        return (x - 0.3) ** 2 + n

    ost.optimize(objective, n_trials=8, catch=(RuntimeError,))
    ost.enqueue_trial({"x": 0.5, "n": 1, "act": "relu"})  # WAITING: not imported
    cfg = _config(tmp_path)
    code, out, err = _run(capsys, "import", str(cfg), "--from-optuna", url)
    assert code == 0, err
    assert "imported 8 trials from Optuna study 'o'" in out
    assert "left out 1 running or waiting trial(s)" in err
    got = _study(tmp_path).get_trials(with_intermediate=True)
    theirs = sorted(ost.get_trials(), key=lambda t: t.number)[:8]
    assert [t.state for t in got] == [TrialState.COMPLETE] * 3 + [
        TrialState.PRUNED,
        TrialState.FAILED,
    ] + [TrialState.COMPLETE] * 3
    for mine, o in zip(got, theirs):
        assert dict(mine.params) == o.params and mine.user_attrs == o.user_attrs
        assert dict(mine.intermediate) == o.intermediate_values
        assert mine.system_attrs["imported"] == {"source": "optuna:o", "number": o.number}
        assert abs(mine.start_time - o.datetime_start.timestamp()) < 1e-3
        if o.state == optuna.trial.TrialState.COMPLETE:
            assert mine.value == o.value
    assert got[3].value == theirs[3].intermediate_values[1]
    # the opposite direction, an unknown study, a missing file: one line each, nothing stored
    maxi = _config(tmp_path, "maxi", direction="maximize")
    code, _, err = _run(capsys, "import", str(maxi), "--from-optuna", url)
    assert code == 2 and "was run to minimize, this one to maximize" in err
    code, _, err = _run(capsys, "import", str(maxi), "--from-optuna", url, "--study", "nope")
    assert code == 2 and "no Optuna study 'nope'" in err and len(err.splitlines()) == 1
    code, _, err = _run(
        capsys, "import", str(maxi), "--from-optuna", f"sqlite:///{tmp_path / 'x.db'}"
    )
    assert code == 2 and "x.db does not exist" in err and not (tmp_path / "x.db").exists()
    assert not (tmp_path / "maxi.db").exists()


def test_run_seed_from_starts_a_new_space_from_the_old_trials_that_fit(tmp_path, capsys):
    old = _config(tmp_path, "v1", n_trials=6)
    assert _run(capsys, "run", "-q", str(old))[0] == 0
    fits = [t for t in _study(tmp_path, "v1").trials if t.params["x"] <= 0.5]
    narrow = """
          x: {type: float, low: 0.0, high: 0.5}
          n: {type: int, low: 1, high: 3}
          act: {type: categorical, choices: [relu, tanh]}"""
    # the same name with a narrowed space is refused, pointing at --seed-from
    code, _, err = _run(capsys, "run", "-q", str(_config(tmp_path, "v1", space=narrow)))
    assert code == 2 and "space.x.high: stored 1.0, config 0.5" in err and "--seed-from v1" in err
    new = _config(tmp_path, "v2", space=narrow, n_trials=3)
    code, _, err = _run(
        capsys,
        "run",
        "-q",
        str(new),
        "--seed-from",
        "v1",
        "--seed-storage",
        f"sqlite:///{tmp_path / 'v1.db'}",
    )
    assert code == 0, err
    assert f"seeded with {len(fits)} trials of study 'v1' ({6 - len(fits)} did not fit" in err
    study = _study(tmp_path, "v2")
    assert [dict(t.params) for t in study.trials[: len(fits)]] == [dict(t.params) for t in fits]
    assert study.counts().complete == len(fits) + 3


def test_import_creates_the_study_the_config_describes(tmp_path, capsys):
    """The study an import creates is the one `tansaku run` opens (StudyConfig.open_study): with
    several objectives it has the config's directions, so a later run resumes it."""
    (tmp_path / "obj.py").write_text("def f(trial):\n    return trial.params['x'], -trial.params['x']\n")
    cfg = tmp_path / "mo.yaml"
    cfg.write_text(
        textwrap.dedent("""
        name: mo
        n_trials: 3
        directions: [minimize, maximize]
        objective_names: [error, speed]
        sampler: {name: random, seed: 0}
        objective: obj.py:f
        space:
          x: {type: float, low: 0.0, high: 1.0}
        """)
    )
    (tmp_path / "rows.csv").write_text("x,error,speed\n0.5,0.25,-0.5\n")  # both objectives
    code, _, err = _run(capsys, "import", str(cfg), "--from-csv", str(tmp_path / "rows.csv"))
    assert code == 0, err
    info = _study(tmp_path, "mo").storage.get_study("mo")
    assert info.directions == ("minimize", "maximize")
    assert info.objective_names == ("error", "speed")
