"""study.add_trial(s) with several objectives and constraints (issue 18): the vector and the
constraints are stored (every storage), the front sees them, bad records are one line each."""

from __future__ import annotations

import pytest

import tansaku as tk
from tansaku import ConfigError, TrialState


def _study(url: str | None = None) -> tk.Study:
    return tk.create_study(
        {"x": tk.Float(0.0, 1.0)},
        directions=["minimize", "maximize"],
        objective_names=["cost", "gain"],
        sampler={"name": "random", "seed": 0},
        storage=url,
        name="mo",
    )


@pytest.mark.parametrize("kind", ["memory", "sqlite", "journal"])
def test_add_trials_keep_values_and_constraints_in_every_storage(tmp_path, kind):
    url = {
        "memory": None,
        "sqlite": f"sqlite:///{tmp_path / 'mo.db'}",
        "journal": f"journal:///{tmp_path / 'mo.journal'}",
    }[kind]
    study = _study(url)
    study.add_trials(
        [
            {"params": {"x": 0.1}, "values": [0.1, 0.2], "constraints": {"mem": -1.0}},
            {"params": {"x": 0.5}, "values": [0.5, 0.9]},
            {"params": {"x": 0.2}, "values": [0.05, 0.95], "constraints": {"mem": 3.0}},
            {"params": {"x": 0.9}, "state": "failed", "message": "oom"},
        ]
    )
    study.add_trial({"x": 0.3}, values=(0.3, 0.1), constraints={"mem": 0.0})
    again = tk.load_study("mo", storage=url) if url else study
    got = again.trials
    assert [t.values for t in got] == [(0.1, 0.2), (0.5, 0.9), (0.05, 0.95), None, (0.3, 0.1)]
    assert [dict(t.constraints) for t in got] == [{"mem": -1.0}, {}, {"mem": 3.0}, {}, {"mem": 0.0}]
    assert got[2].violation == 3.0 and not got[2].is_feasible
    assert got[3].state is TrialState.FAILED
    # (0.05, 0.95) would dominate both, but it is infeasible: the front is the feasible two
    assert sorted(t.number for t in again.best_trials) == [0, 1]


def test_a_multiobjective_trial_from_another_study_keeps_its_vector():
    src = _study()
    src.optimize(lambda t: (t.params["x"], t.params["x"] ** 2), n_trials=3)
    first = src.ask()
    first.set_constraint("c", 1.0)
    src.tell(first, (0.4, 0.5))
    dst = _study()
    dst.add_trials(src.trials)
    assert [t.values for t in dst.trials] == [t.values for t in src.trials]
    assert dict(dst.trials[-1].constraints) == {"c": 1.0}


@pytest.mark.parametrize(
    "record, message",
    [
        ({"params": {"x": 0.1}, "value": 0.3}, "trials[1].values: this study has 2 objectives: give values"),
        ({"params": {"x": 0.1}, "values": [0.3]}, "trials[1].values: this study has 2 objectives, got 1 value(s)"),
        ({"params": {"x": 0.1}, "values": [0.3, "a"]}, "trials[1].values.1: must be a finite number"),
        ({"params": {"x": 0.1}, "values": 0.3}, "trials[1].values: must be a list of 2 number(s)"),
        ({"params": {"x": 0.1}, "values": [0.3, 1], "value": 0.2}, "trials[1].value: value 0.2 is not the first"),
        ({"params": {"x": 0.1}, "values": [0.3, 1], "constraints": {"m": "big"}}, "trials[1].constraints.m: must be a number"),
        ({"params": {"x": 0.1}, "values": [0.3, 1], "constraints": [1.0]}, "trials[1].constraints: must be a mapping"),
    ],
)
def test_a_bad_vector_or_constraint_is_one_line_and_nothing_is_stored(record, message):
    study = _study()
    with pytest.raises(ConfigError) as e:
        study.add_trials([{"params": {"x": 0.5}, "values": [0.5, 0.5]}, record])
    assert str(e.value).startswith(message) and "\n" not in str(e.value)
    assert study.trials == []


def test_a_single_objective_study_takes_constraints_and_refuses_a_vector():
    study = tk.create_study({"x": tk.Float(0.0, 1.0)}, sampler="random")
    study.add_trial({"x": 0.2}, 0.2, constraints={"c": 1.0})
    study.add_trial({"x": 0.4}, values=[0.4])
    assert study.best_trial.number == 1  # trial 0 violates its constraint
    with pytest.raises(ConfigError, match="values: this study has one objective, got 2"):
        study.add_trial({"x": 0.1}, values=[0.1, 0.2])
