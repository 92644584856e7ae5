"""cmaes and nelder-mead search each branch of a conditional space apart (samplers/_branches.py)."""

from __future__ import annotations

import math

import pytest

import tansaku as tk
from tansaku.samplers._branches import branches_of

A_OPT = (0.2, -0.5, 0.7)


def _space(conditional: bool) -> dict:
    wa = {"when": {"kind": "a"}} if conditional else {}
    wb = {"when": {"kind": "b"}} if conditional else {}
    space = {"kind": tk.Categorical(["a", "b"]), "lr": tk.Float(1e-4, 1.0, log=True)}
    space |= {f"a{i}": tk.Float(-1.0, 1.0, **wa) for i in range(3)}
    space |= {f"b{i}": tk.Float(-1.0, 1.0, **wb) for i in range(4)}
    return space


def _objective(trial) -> float:
    p = trial.params
    v = 0.1 * (math.log10(p["lr"]) + 2) ** 2
    if p["kind"] == "a":
        return v + sum((p[f"a{i}"] - o) ** 2 for i, o in enumerate(A_OPT))
    return v + 0.3 + sum((p[f"b{i}"] + 0.3) ** 2 for i in range(4))


def test_branches_of_walks_nested_parents_in_space_order():
    space = tk.Space({
        "opt": tk.Categorical(["sgd", "adam"]),
        "momentum": tk.Float(0.0, 0.9, when={"opt": "sgd"}),
        "nesterov": tk.Categorical([True, False], when={"opt": "sgd"}),
        "damp": tk.Float(0.0, 1.0, when={"nesterov": False}),
        "lr": tk.Float(1e-4, 1.0, log=True),
    })
    got = branches_of(space)
    assert got == [
        ({"opt": "sgd", "nesterov": True}, ["momentum", "lr"]),
        ({"opt": "sgd", "nesterov": False}, ["momentum", "damp", "lr"]),
        ({"opt": "adam"}, ["lr"]),
    ]
    assert branches_of(tk.Space({"x": tk.Float(0, 1)})) is None  # flat: not split


@pytest.mark.parametrize("name", ["cmaes", "nelder-mead"])
def test_each_branch_has_its_own_search_and_the_loser_a_small_share(name):
    study = tk.create_study(_space(True), sampler={"name": name, "seed": 0})
    study.optimize(_objective, n_trials=80)
    trials = study.trials
    for t in trials:  # each proposal names the branch its params belong to
        assert t.sampler_meta["branch"] == (0 if t.params["kind"] == "a" else 1)
    # the start: branch a (lr + 3 floats) gets 5 proposals, then branch b (lr + 4 floats) 6
    assert [t.params["kind"] for t in trials[:11]] == ["a"] * 5 + ["b"] * 6
    # after the start the losing branch b gets about sqrt(n) of the trials, not half
    n_b = sum(t.params["kind"] == "b" for t in trials)
    assert 6 < n_b <= 6 + math.ceil(math.sqrt(80)) + 1
    assert study.best_params["kind"] == "a"


@pytest.mark.parametrize("name", ["cmaes", "nelder-mead"])
def test_conditions_beat_the_flat_workaround(name):
    """The point of the split: with conditions the search is better than on the flat space
    (before it, both runs were identical: the same unit points, only decoded differently)."""
    best = {}
    for cond in (True, False):
        vals = []
        for seed in range(3):
            study = tk.create_study(_space(cond), sampler={"name": name, "seed": seed})
            study.optimize(_objective, n_trials=100)
            vals.append(study.best_value)
        best[cond] = sorted(vals)[1]
    assert best[True] < best[False]


def test_resume_continues_exactly():
    storage = tk.storage.InMemoryStorage()
    whole = tk.create_study(_space(True), sampler={"name": "nelder-mead", "seed": 3})
    whole.optimize(_objective, n_trials=30)
    part = tk.create_study(_space(True), sampler={"name": "nelder-mead", "seed": 3},
                           storage=storage, name="p")
    part.optimize(_objective, n_trials=13)
    again = tk.load_study("p", storage=storage)
    again.optimize(_objective, n_trials=17)
    assert [dict(t.params) for t in again.trials] == [dict(t.params) for t in whole.trials]
