"""Conditional parameters (issue 17.1): ``when=`` in Python and YAML, validation, storage round
trip, only active parameters in params / best_params / exports / argv / TANSAKU_PARAMS."""

from __future__ import annotations

import csv
import io
import json
import sys
import textwrap

import numpy as np
import pytest

import tansaku as tk
from tansaku.cli import main

SPACE = {
    "opt": tk.Categorical(["sgd", "adam", "rmsprop"]),
    "momentum": tk.Float(0.0, 0.99, when={"opt": ["sgd", "rmsprop"]}),
    "nesterov": tk.Categorical([True, False], when={"opt": "sgd"}),
    "beta1": tk.Float(0.8, 0.999, when={"opt": "adam"}),
    "layers": tk.Int(1, 3),
    "u2": tk.Int(8, 64, when={"layers": [2, 3]}),
    "u3": tk.Int(8, 64, when={"layers": 3}),
}


def _expected(p):
    names = {"opt", "layers"}
    names |= {"momentum"} if p["opt"] in ("sgd", "rmsprop") else set()
    names |= {"nesterov"} if p["opt"] == "sgd" else set()
    names |= {"beta1"} if p["opt"] == "adam" else set()
    names |= {"u2"} if p["layers"] >= 2 else set()
    names |= {"u3"} if p["layers"] == 3 else set()
    return names


def test_parents_are_the_parameters_some_condition_names_in_space_order():
    assert tk.Space(SPACE).parents == ("opt", "layers")
    nested = {"a": tk.Categorical(["x", "y"]), "b": tk.Categorical(["u", "v"], when={"a": "x"}),
              "c": tk.Float(0, 1, when={"b": "u"})}
    assert tk.Space(nested).parents == ("a", "b")
    assert tk.Space({"x": tk.Float(0, 1)}).parents == ()


def test_decoding_keeps_only_active_parameters_and_nesting():
    space = tk.Space(SPACE)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(300):
        p = space.from_unit(rng.random(len(space)))
        assert set(p) == _expected(p)
        seen.add(frozenset(p))
        # inactive coordinates are imputed, active ones round-trip
        assert space.from_unit(space.to_unit(p)) == p
    assert len(seen) == 3 * 3 - 0  # every branch x depth combination occurs
    assert space.validate_params({"opt": "adam", "beta1": 0.9, "layers": 1}) == {
        "opt": "adam", "beta1": 0.9, "layers": 1}


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"m": tk.Float(0, 1, when={"opt": "sgd"})},
         "space.m.when.opt: condition on an unknown parameter 'opt'"),
        ({"m": tk.Float(0, 1, when={"opt": "sgd"}), "opt": tk.Categorical(["sgd"])},
         "space.m.when.opt: 'opt' is defined after 'm'"),
        ({"opt": tk.Categorical(["sgd", "adam"]), "m": tk.Float(0, 1, when={"opt": "sdg"})},
         "space.m.when.opt: 'sdg' is not among the values of 'opt' ['sgd', 'adam']"),
        ({"a": tk.Categorical([1, 2], when={"b": 1}), "b": tk.Categorical([1, 2], when={"a": 1})},
         "space.a.when.b: the conditions form a cycle"),
        ({"x": tk.Float(0, 1), "m": tk.Float(0, 1, when={"x": 0.5})},
         "space.m.when.x: 'x' is a continuous float"),
    ],
)
def test_bad_conditions_are_one_line_config_errors(space, message):
    with pytest.raises(tk.ConfigError) as e:
        tk.Space(space)
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)


def test_params_given_for_an_inactive_parameter_are_refused():
    space = tk.Space(SPACE)
    with pytest.raises(tk.ConfigError, match=r"params.beta1: is inactive here \(opt = 'adam'"):
        space.validate_params({"opt": "sgd", "momentum": 0.5, "nesterov": True, "beta1": 0.9,
                               "layers": 1})
    with pytest.raises(tk.ConfigError, match="missing parameter.*momentum"):
        space.validate_params({"opt": "sgd", "nesterov": True, "layers": 1})


def test_storage_round_trip_and_old_flat_studies(tmp_path):
    space = tk.Space(SPACE)
    assert tk.Space.from_dict(json.loads(json.dumps(space.to_dict()))) == space
    assert space.to_dict()["momentum"]["when"] == {"opt": ["sgd", "rmsprop"]}
    flat = tk.Space({"x": tk.Float(0, 1)})
    assert flat.to_dict() == {"x": {"type": "float", "low": 0.0, "high": 1.0}}  # unchanged form
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = tk.create_study(SPACE, sampler={"name": "tpe", "seed": 0}, storage=url, name="c")
    study.optimize(lambda t: float(t.params["layers"]), n_trials=12)
    again = tk.load_study("c", storage=url)
    assert again.space == space
    for t in again.trials:
        assert set(t.params) == _expected(t.params)
    assert set(again.best_params) == _expected(again.best_params)


PROGRAM = """
import json, os, sys
p = json.loads(os.environ["TANSAKU_PARAMS"])
print("ARGV", json.dumps(sys.argv[1:]), file=sys.stderr)
with open("seen.jsonl", "a") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "env": p}) + "\\n")
print(p["layers"] + p.get("momentum", 0.5))
"""


def test_yaml_when_argv_defaults_dropped_pairs_env_and_export(tmp_path, capsys):
    (tmp_path / "prog.py").write_text(PROGRAM)
    cfg = tmp_path / "study.yaml"
    cfg.write_text(textwrap.dedent(f"""
        name: cond
        n_trials: 12
        sampler: {{name: random, seed: 3}}
        space:
          opt: {{type: categorical, choices: [sgd, adam]}}
          momentum: {{type: float, low: 0, high: 0.99, when: {{opt: sgd}}}}
          beta1: {{type: float, low: 0.8, high: 0.999, when: {{opt: [adam]}}}}
          layers: {{type: int, low: 1, high: 2}}
        command: [{sys.executable}, prog.py, --opt, "{{opt}}", --momentum, "{{momentum?}}",
                  "--beta1={{beta1?}}", --m2, "{{momentum:0.9}}"]
        """))
    assert main(["run", "-q", str(cfg)]) == 0
    capsys.readouterr()
    study = tk.load_study("cond", storage=f"sqlite:///{tmp_path / 'cond.db'}")
    seen = [json.loads(line) for f in tmp_path.rglob("seen.jsonl")
            for line in f.read_text().splitlines()]
    assert len(seen) == 12
    branches = set()
    for s in seen:
        p, argv = s["env"], s["argv"]
        branches.add(p["opt"])
        if p["opt"] == "sgd":
            assert set(p) == {"opt", "momentum", "layers"}
            assert argv == ["--opt", "sgd", "--momentum", repr(p["momentum"]),
                            "--m2", repr(p["momentum"])]
        else:
            assert set(p) == {"opt", "beta1", "layers"}
            assert argv == ["--opt", "adam", f"--beta1={p['beta1']!r}", "--m2", "0.9"]
    assert branches == {"sgd", "adam"}
    for t in study.trials:
        assert ("momentum" in t.params) == (t.params["opt"] == "sgd")
        assert ("beta1" in t.params) == (t.params["opt"] == "adam")
    assert main(["export", "--format", "json", str(cfg)]) == 0
    exported = json.loads(capsys.readouterr().out)
    trials = exported["trials"] if isinstance(exported, dict) else exported
    for t in trials:
        params = t["params"]
        assert ("momentum" in params) == (params["opt"] == "sgd")


def test_a_bare_field_of_a_conditional_parameter_is_refused(tmp_path, capsys):
    cfg = tmp_path / "study.yaml"
    cfg.write_text(textwrap.dedent(f"""
        name: bare
        n_trials: 2
        space:
          opt: {{type: categorical, choices: [sgd, adam]}}
          momentum: {{type: float, low: 0, high: 0.99, when: {{opt: sgd}}}}
        command: [{sys.executable}, -c, "print(1)", "{{momentum}}"]
        """))
    assert main(["run", "-q", str(cfg)]) != 0
    err = capsys.readouterr().err
    assert "{momentum} is conditional and may be inactive" in err
    assert not (tmp_path / "bare.db").exists()


def test_yaml_bad_condition_names_the_field(tmp_path, capsys):
    cfg = tmp_path / "study.yaml"
    cfg.write_text(textwrap.dedent("""
        name: badc
        n_trials: 2
        objective: obj.py:f
        space:
          opt: {type: categorical, choices: [sgd, adam]}
          momentum: {type: float, low: 0, high: 0.99, when: {opt: sdg}}
        """))
    (tmp_path / "obj.py").write_text("def f(t):\n    return 1.0\n")
    assert main(["run", "-q", str(cfg)]) != 0
    err = capsys.readouterr().err
    assert "space.momentum.when.opt: 'sdg' is not among the values of 'opt'" in err


def test_csv_export_leaves_inactive_cells_empty(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    study = tk.create_study(SPACE, sampler={"name": "random", "seed": 1}, storage=url, name="e")
    study.optimize(lambda t: 1.0, n_trials=10)
    capsys.readouterr()
    assert main(["export", "--format", "csv", "--storage", url, "--study", "e"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 10
    col = next(c for c in rows[0] if c.endswith("momentum"))
    opt = next(c for c in rows[0] if c.endswith("opt"))
    for row in rows:
        assert (row[col] == "") == (row[opt] == "adam")


def test_a_default_on_a_parameter_that_is_never_inactive_is_refused():
    from tansaku.objectives import Command

    cmd = Command([sys.executable, "-c", "print(1)", "{lr:.3f}"])
    with pytest.raises(tk.ConfigError, match=r"command: \{lr:...\} / \{lr\?\}: lr is not conditional"):
        cmd.check_fields(["lr"])
    Command([sys.executable, "{m:0.9}", "{m?}"]).check_fields(["m"], conditional=["m"])
