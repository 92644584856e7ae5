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
    # the start: one probe per branch (a, then b)
    assert [t.params["kind"] for t in trials[:2]] == ["a", "b"]
    # after the start the losing branch b gets about sqrt(n) of the trials, not half
    n_b = sum(t.params["kind"] == "b" for t in trials)
    assert 1 < n_b <= 1 + math.ceil(math.sqrt(80)) + 1
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


def _depth_space() -> dict:
    space = {"n": tk.Int(1, 4), "w1": tk.Float(-1.0, 1.0)}
    space |= {f"w{k}": tk.Float(-1.0, 1.0, when={"n": list(range(k, 5))}) for k in range(2, 5)}
    return space


def _depth(trial) -> float:
    p, n = trial.params, trial.params["n"]
    return 0.25 * abs(n - 3) + sum((p[f"w{k}"] - 0.1 * k) ** 2 for k in range(1, n + 1))


@pytest.mark.parametrize("name", ["cmaes", "nelder-mead"])
def test_the_start_is_one_probe_per_branch_at_its_centre(name):
    """Regression (branch cnm): the start used to be d + 1 proposals of each branch's own search
    (2 + 3 + 4 + 5 = 14 on these four depths) before the best branch got any more; now it is one
    probe per branch, the centre of its parameters, and within those 14 trials the branch whose
    probe was best has already had more than its old start."""
    study = tk.create_study(_depth_space(), sampler={"name": name, "seed": 0})
    study.optimize(_depth, n_trials=14)
    trials = study.trials
    for k, t in enumerate(trials[:4]):
        assert t.sampler_meta == {"branch": k, "probe": True}
        assert dict(t.params) == {"n": k + 1, **{f"w{j}": 0.0 for j in range(1, k + 2)}}
    assert min(trials[:4], key=lambda t: t.value).params["n"] == 3
    assert all("inner" in t.sampler_meta for t in trials[4:])
    assert sum(t.params["n"] == 3 for t in trials) > 3 + 1


def test_nelder_mead_takes_the_probe_as_its_first_vertex():
    """The probe is not wasted: the branch's initial simplex has it as a vertex, so the simplex
    costs d more evaluations, not d + 1."""
    study = tk.create_study(_depth_space(), sampler={"name": "nelder-mead", "seed": 0})
    study.optimize(_depth, n_trials=10)  # depth 3 (the best probe) has its probe and 3 more
    assert [t.params["n"] for t in study.trials].count(3) == 4
    inner = study.sampler._split.inner[2]
    vertices, _ = inner.core.simplex
    own = [t.sampler_meta["inner"]["u"] for t in study.trials[4:] if t.params["n"] == 3]
    assert sorted(map(tuple, vertices.tolist())) == sorted([(0.5, 0.5, 0.5), *map(tuple, own)])


@pytest.mark.parametrize("name", ["cmaes", "nelder-mead"])
def test_resume_from_every_point_of_the_start_continues_exactly(name):
    whole = tk.create_study(_depth_space(), sampler={"name": name, "seed": 5})
    whole.optimize(_depth, n_trials=24)
    for cut in (2, 4, 5, 9):
        storage = tk.storage.InMemoryStorage()
        part = tk.create_study(_depth_space(), sampler={"name": name, "seed": 5},
                               storage=storage, name="p")
        part.optimize(_depth, n_trials=cut)
        again = tk.load_study("p", storage=storage)
        again.optimize(_depth, n_trials=24 - cut)
        assert [dict(t.params) for t in again.trials] == [dict(t.params) for t in whole.trials]


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
