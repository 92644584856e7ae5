"""Resuming a study after its config changed (issue 13.8): a changed sampler is recorded and
shown, a changed space is refused naming the change, ``enqueue --from-trial`` fills in the
parent's parameters; and the read commands' small promises (issue 13.10)."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from pathlib import Path

import pytest

import tansaku as tk
from tansaku._errors import ConfigError
from tansaku.cli import main

OBJ = "def f(trial):\n    return (trial.params['x'] - 0.3) ** 2 + trial.params['n']\n"


def _config(tmp: Path, *, sampler: str = "random", high: float = 1.0, n_trials: int = 4) -> Path:
    (tmp / "obj.py").write_text(OBJ)
    cfg = tmp / "study.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        name: demo
        n_trials: {n_trials}
        sampler: {sampler}
        objective: obj.py:f
        space:
          x: {{type: float, low: 0.0, high: {high}}}
          n: {{type: int, low: 1, high: 3}}
          act: {{type: categorical, choices: [relu, tanh]}}
        """)
    )
    return cfg


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_changed_sampler_is_noticed_recorded_per_trial_and_shown(tmp_path, capsys):
    cfg = _config(tmp_path, sampler="random")
    assert _run(capsys, "run", "-q", str(cfg))[0] == 0
    _config(tmp_path, sampler="sobol", n_trials=7)
    code, _, err = _run(capsys, "run", "-q", str(cfg))
    assert code == 0
    assert "sampler changed at trial 4: random -> sobol" in err
    study = tk.load_study("demo", storage=f"sqlite:///{tmp_path / 'demo.db'}")
    assert study.sampler.name == "sobol"  # load_study follows the change
    names = [t.system_attrs.get("sampler_name") for t in study.trials]
    assert names == ["random"] * 4 + ["sobol"] * 3
    code, out, _ = _run(capsys, "status", str(cfg))
    assert "sampler sobol (sampler changed at trial 4: random -> sobol)" in out
    # the same sampler again: no new notice, no new change
    code, _, err = _run(capsys, "run", "-q", str(cfg))
    assert "sampler changed" not in err
    from tansaku.report._table import TrialTable

    table = TrialTable.load(study.storage, "demo")
    assert table.sampler == "sobol (sampler changed at trial 4: random -> sobol)"
    from tansaku.dashboard._payload import studies_payload

    assert studies_payload(study.storage)["studies"][0]["sampler"] == table.sampler


def test_a_narrowed_space_is_refused_naming_each_change(tmp_path, capsys):
    cfg = _config(tmp_path, high=0.5)
    assert _run(capsys, "run", "-q", str(cfg))[0] == 0
    _config(tmp_path, high=0.4)
    code, _, err = _run(capsys, "run", "-q", str(cfg))
    assert code == 2
    assert "space.x.high: stored 0.5, config 0.4" in err
    assert len(err.strip().splitlines()) == 1


def test_space_changes_names_added_removed_and_retyped_parameters():
    stored = tk.Space({"lr": tk.Float(1e-4, 0.5, log=True), "n": tk.Int(1, 5), "c": tk.Float(0, 1)})
    config = tk.Space({"lr": tk.Float(1e-4, 0.5), "n": tk.Float(1, 5), "d": tk.Int(1, 3)})
    from tansaku._space import space_changes
    from tansaku.storage import InMemoryStorage

    storage = InMemoryStorage()
    tk.create_study(stored, name="s", storage=storage)
    with pytest.raises(ConfigError, match="space.n.type: stored int, config float"):
        tk.create_study(config, name="s", storage=storage, load_if_exists=True)

    assert space_changes(stored, config) == [
        "space.c: stored, removed from the config",
        "space.d: added in the config (not stored)",
        "space.lr.log: stored True, config False",
        "space.n.type: stored int, config float",
    ]
    assert space_changes(stored, stored) == []
    swapped = tk.Space({"n": tk.Int(1, 5), "lr": stored["lr"], "c": stored["c"]})
    assert space_changes(stored, swapped)[0].startswith("space: parameter order changed")


def test_enqueue_from_trial_takes_missing_params_from_the_parent(tmp_path, capsys):
    cfg = _config(tmp_path, n_trials=3)
    assert _run(capsys, "run", "-q", str(cfg))[0] == 0
    parent = tk.load_study("demo", storage=f"sqlite:///{tmp_path / 'demo.db'}").trials[1]
    code, out, _ = _run(capsys, "enqueue", str(cfg), "--params", '{"x": 0.25}', "--from-trial", "1")
    assert code == 0, out
    # the study is complete: the message says how to run the enqueued trial
    assert "--n-trials 4" in out and f"tansaku run {cfg}" in out
    study = tk.load_study("demo", storage=f"sqlite:///{tmp_path / 'demo.db'}")
    queued = study.trials[3]
    assert queued.params == {"x": 0.25, "n": parent.params["n"], "act": parent.params["act"]}
    assert queued.system_attrs["from_trial"] == 1
    code, _, _ = _run(capsys, "run", "-q", str(cfg), "--n-trials", "4")
    assert code == 0
    assert (
        tk.load_study("demo", storage=f"sqlite:///{tmp_path / 'demo.db'}").trials[3].value
        is not None
    )
    # status follows the last run's --n-trials instead of saying "4 of 3 done"
    out = _run(capsys, "status", str(cfg))[1]
    assert "trials: 4 of 4 done" in out


def test_enqueue_with_room_left_says_it_runs_next(tmp_path, capsys):
    cfg = _config(tmp_path, n_trials=3)
    study = tk.create_study(
        {"x": tk.Float(0.0, 1.0), "n": tk.Int(1, 3), "act": tk.Categorical(["relu", "tanh"])},
        storage=f"sqlite:///{tmp_path / 'demo.db'}",
        name="demo",
    )
    study.optimize(lambda t: t.params["x"], n_trials=1)
    out = _run(capsys, "enqueue", str(cfg), "--params", '{"n": 2}', "--from-trial", "0")[1]
    assert "will run it next" in out


def test_best_prints_values_without_repr_quotes(tmp_path, capsys):
    cfg = _config(tmp_path, n_trials=2)
    out = _run(capsys, "run", "-q", str(cfg))[1]
    assert "  act: relu" in out or "  act: tanh" in out
    assert "'" not in out
    out = _run(capsys, "best", str(cfg))[1]
    assert "'" not in out and "act: " in out


def test_export_follows_the_extension_makes_the_folder_and_keeps_attrs(tmp_path, capsys):
    cfg = _config(tmp_path, n_trials=3)
    assert _run(capsys, "run", "-q", str(cfg))[0] == 0
    study = tk.load_study("demo", storage=f"sqlite:///{tmp_path / 'demo.db'}")
    study.storage.set_trial_user_attrs(study.trials[1].trial_id, {"fold": 3, "tags": ["a"]})
    js = tmp_path / "missing" / "deeper" / "x.json"
    assert _run(capsys, "export", str(cfg), "-o", str(js))[0] == 0
    assert [r["number"] for r in json.loads(js.read_text())] == [0, 1, 2]
    cs = tmp_path / "other" / "x.csv"
    assert _run(capsys, "export", str(cfg), "-o", str(cs))[0] == 0
    rows = list(csv.DictReader(io.StringIO(cs.read_text())))
    assert rows[1]["user_attrs.fold"] == "3" and rows[1]["user_attrs.tags"] == '["a"]'
    assert rows[0]["user_attrs.fold"] == ""
    assert [r["system_attrs.sampler_name"] for r in rows] == ["random"] * 3
    code, _, err = _run(capsys, "export", str(cfg), "--format", "csv", "-o", str(js))
    assert code == 2 and "--format" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "afile").write_text("")
    code, _, err = _run(capsys, "export", str(cfg), "-o", str(tmp_path / "afile" / "x.csv"))
    assert (
        code == 1 and err.startswith("error: cannot write") and len(err.strip().splitlines()) == 1
    )


TRAIN = """
import sys
x = float(sys.argv[1])
print(f"val_loss={(x - 0.3) ** 2:.4f} (3-fold CV, 100 trees)")
"""


def _command_study(tmp: Path, line_program: str) -> Path:
    (tmp / "train.py").write_text(line_program)
    cfg = tmp / "cmd.yaml"
    cfg.write_text(
        textwrap.dedent("""
        name: cmd
        n_trials: 4
        sampler: {name: random, seed: 0}
        space:
          x: {type: float, low: 0.0, high: 1.0}
        command: [python, train.py, "{x}"]
        """)
    )
    return cfg


def test_the_same_last_number_on_the_first_trials_is_warned_with_its_line(tmp_path, capsys):
    cfg = _command_study(tmp_path, TRAIN)
    code, _, err = _run(capsys, "run", "-q", str(cfg))
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, err
    assert "all gave 100" in warnings[0]
    assert "(3-fold CV, 100 trees)" in warnings[0] and "result: {regex:" in warnings[0]


def test_a_varying_or_unambiguous_result_is_not_warned(tmp_path, capsys):
    cfg = _command_study(
        tmp_path, "import sys\nprint('val_loss:', (float(sys.argv[1]) - 0.3) ** 2)\n"
    )
    code, _, err = _run(capsys, "run", "-q", str(cfg))
    assert code == 0 and "warning:" not in err
    # several numbers on the line but the last one varies: nothing to warn about either
    (tmp_path / "cmd.db").unlink()
    cfg = _command_study(tmp_path, "import sys\nprint('fold 3 of 3: loss', float(sys.argv[1]))\n")
    code, _, err = _run(capsys, "run", "-q", str(cfg))
    assert code == 0 and "warning:" not in err


def test_the_parser_keeps_the_line_of_an_ambiguous_last_number():
    from tansaku.objectives._output import OutputParser

    p = OutputParser()
    p.feed(b"epoch 1\nval_loss=0.13 (3-fold CV, 100 trees)\n")
    p.close()
    assert p.value() == (100.0, None)
    assert p.result_attrs() == {"result_line": "val_loss=0.13 (3-fold CV, 100 trees)"}
    q = OutputParser()
    q.feed(b"val_loss=0.13 (3-fold CV, 100 trees)\nloss 0.5\n")
    q.close()
    assert q.value() == (0.5, None) and q.result_attrs() == {}


WIDE = """
name: demo
n_trials: {n}
sampler: {{name: tpe, seed: 0}}
objective: obj.py:f
space:
  x: {{type: float, low: {low}, high: 1.0}}
  n: {{type: int, low: 1, high: 3}}
  act: {{type: categorical, choices: {choices}}}
{extra}"""


def _wide(tmp: Path, *, low: float = 0.0, choices: str = "[relu, tanh]", extra: str = "",
          n: int = 4) -> Path:
    (tmp / "obj.py").write_text(
        "def f(trial):\n    p = trial.params\n"
        "    return (p['x'] - 0.3) ** 2 + p['n'] + p.get('drop', 0.0)\n"
    )
    cfg = tmp / "study.yaml"
    cfg.write_text(WIDE.format(n=n, low=low, choices=choices, extra=extra))
    return cfg


def test_a_widened_space_is_accepted_and_old_trials_keep_their_values(tmp_path, capsys):
    cfg = _wide(tmp_path)
    assert _run(capsys, "run", "-q", str(cfg))[0] == 0
    before = tk.load_study("demo", storage=f"sqlite:///{tmp_path / 'demo.db'}").trials
    # a wider bound, a new choice and a new parameter with a default: all at once
    _wide(tmp_path, low=-1.0, choices="[relu, tanh, gelu]", n=10,
          extra="  drop: {type: float, low: 0.0, high: 0.5, default: 0.0}\n")
    code, _, err = _run(capsys, "run", "-q", str(cfg))
    assert code == 0, err
    assert (
        "search space widened at trial 4: space.drop: added (default 0.0); space.x.low: "
        "0.0 -> -1.0; space.act.choices: added 'gelu'; the stored trials are kept"
    ) in err
    study = tk.load_study("demo", storage=f"sqlite:///{tmp_path / 'demo.db'}")
    assert study.space["x"].low == -1.0 and "drop" in study.space
    after = study.trials
    assert [(dict(t.params), t.value) for t in after[:4]] == [
        (dict(t.params), t.value) for t in before
    ]
    assert all("drop" in t.params for t in after[4:]) and len(after) == 10
    changes = study.system_attrs["space_changes"]
    assert changes[0]["at_trial"] == 4 and len(changes[0]["changes"]) == 3
    # resuming with the same (widened) space again is no change
    code, _, err = _run(capsys, "run", "-q", str(cfg))
    assert code == 0 and "widened" not in err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"low": 0.1}, "space.x.low: stored 0.0, config 0.1"),
        ({"choices": "[relu]"}, "space.act.choices: stored ['relu', 'tanh'], config ['relu'] (removes 'tanh')"),
        ({"extra": "  drop: {type: float, low: 0.0, high: 0.5}\n"},
         "space.drop: added in the config without a default"),
    ],
)
def test_a_narrowed_space_or_a_parameter_without_default_is_refused(tmp_path, capsys, change, message):
    cfg = _wide(tmp_path)
    assert _run(capsys, "run", "-q", str(cfg))[0] == 0
    _wide(tmp_path, **change)
    code, _, err = _run(capsys, "run", "-q", str(cfg))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    study = tk.load_study("demo", storage=f"sqlite:///{tmp_path / 'demo.db'}")
    assert study.space["x"].low == 0.0 and "drop" not in study.space  # nothing changed


def test_space_widening_rules():
    from tansaku._space import space_widening

    old = tk.Space({"x": tk.Float(0, 1, step=0.25), "n": tk.Int(2, 8, step=2), "lr": tk.Float(1e-3, 1, log=True)})
    ok = tk.Space({"x": tk.Float(-0.5, 1.5, step=0.25), "n": tk.Int(0, 10, step=2), "lr": tk.Float(1e-4, 1, log=True)})
    refused, accepted = space_widening(old, ok)
    assert refused == [] and "space.x.low: 0.0 -> -0.5" in accepted and len(accepted) == 5
    off = tk.Space({"x": tk.Float(-0.1, 1.15, step=0.25), "n": tk.Int(2, 8), "lr": tk.Float(1e-3, 1)})
    refused, _ = space_widening(old, off)
    assert refused == [
        "space.x.low: stored 0.0, config -0.1 (off the stored grid of step 0.25)",
        "space.n.step: stored 2, config not set",
        "space.lr.log: stored True, config not set",
    ]
    swapped = tk.Space({"n": old["n"], "x": old["x"], "lr": old["lr"]})
    assert space_widening(old, swapped)[0][0].startswith("space: parameter order changed")
    assert space_widening(old, tk.Space({"x": old["x"], "n": tk.Float(2, 8)}))[0] == [
        "space.lr: stored, removed from the config", "space.n.type: stored int, config float",
    ]
