"""The sampler conformance suite: every registered sampler must pass these.

Run for each name in the registry whose class is importable (see ``test_conformance.py``).
"""

from __future__ import annotations

import math

import numpy as np

import tansaku as tk
from tansaku import TrialState

SPACE = {
    "x": tk.Float(-3.0, 3.0),
    "lr": tk.Float(1e-5, 1e-1, log=True),
    "k": tk.Int(1, 9),
    "units": tk.Int(4, 256, log=True),
    "drop": tk.Float(0.0, 0.5, step=0.1),
    "act": tk.Categorical(["relu", "tanh", "gelu"]),
}


def objective(trial) -> float:
    p = trial.params
    return (
        (p["x"] - 1.0) ** 2
        + (math.log10(p["lr"]) + 3) ** 2
        + 0.1 * abs(p["k"] - 4)
        + 0.01 * abs(math.log2(p["units"]) - 6)
        + p["drop"]
        + (0.0 if p["act"] == "tanh" else 0.5)
    )


def check_bounds_and_types(name: str, n: int = 30) -> None:
    study = tk.create_study(SPACE, sampler={"name": name, "seed": 0})
    study.optimize(objective, n_trials=n)
    space = study.space
    for t in study.trials:
        assert space.validate_params(t.params) == dict(t.params)
        assert isinstance(t.params["k"], int) and isinstance(t.params["units"], int)
        assert t.params["act"] in ("relu", "tanh", "gelu")


def check_determinism(name: str, n: int = 25) -> None:
    def run():
        study = tk.create_study(SPACE, sampler={"name": name, "seed": 123})
        study.optimize(objective, n_trials=n)
        return [dict(t.params) for t in study.trials]

    assert run() == run()


def check_failures_tolerated(name: str, n: int = 25) -> None:
    def sometimes(trial):
        if trial.number % 4 == 1:
            raise RuntimeError("crash")
        if trial.number % 4 == 2:
            return float("nan")
        return objective(trial)

    study = tk.create_study(SPACE, sampler={"name": name, "seed": 1})
    study.optimize(sometimes, n_trials=n, max_failures=None)
    assert study.counts().complete == n


def check_pruned_tolerated(name: str, n: int = 20) -> None:
    def pruned(trial):
        trial.report(objective(trial) + 1.0, 1)
        if trial.number % 3 == 0:
            raise tk.TrialPruned()
        return objective(trial)

    study = tk.create_study(SPACE, sampler={"name": name, "seed": 2})
    study.optimize(pruned, n_trials=n)
    assert study.counts().done == n


def check_pending_respected(name: str, k: int = 4, warm: int = 12) -> None:
    """With trials pending, k asks in a row give k distinct points."""
    study = tk.create_study(SPACE, sampler={"name": name, "seed": 3}, n_workers=k)
    study.optimize(objective, n_trials=warm)
    asked = [study.ask() for _ in range(k)]
    points = {tuple(sorted(t.params.items())) for t in asked}
    assert len(points) == k, f"{name} proposed duplicates while trials were pending"
    for t in asked:
        study.tell(t, objective(t))


def check_resume_by_replay(name: str, n1: int = 12, n2: int = 6) -> None:
    """A fresh sampler told the stored history continues exactly like the uninterrupted one."""
    whole = tk.create_study(SPACE, sampler={"name": name, "seed": 9}, storage=None, name="w")
    whole.optimize(objective, n_trials=n1 + n2)
    storage = tk.storage.InMemoryStorage()
    part = tk.create_study(SPACE, sampler={"name": name, "seed": 9}, storage=storage, name="p")
    part.optimize(objective, n_trials=n1)
    resumed = tk.load_study(
        "p", storage=storage
    )  # a new sampler object, built from the stored spec
    resumed.optimize(objective, n_trials=n2)
    a = [dict(t.params) for t in whole.trials]
    b = [dict(t.params) for t in resumed.trials]
    assert a == b, (
        f"{name}: resumed run diverged at trial {next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)}"
    )


def check_better_than_nothing(name: str, n: int = 60) -> None:
    """Sanity: the best found is far below the median of uniform random points (any sampler that
    uses its feedback at all, or spreads points well, passes)."""
    study = tk.create_study(SPACE, sampler={"name": name, "seed": 4})
    study.optimize(objective, n_trials=n)
    rng = np.random.default_rng(0)
    space = study.space
    ref = [
        objective(tk.Trial(number=0, params=space.from_unit(rng.random(len(space)))))
        for _ in range(200)
    ]
    assert study.best_value < float(np.median(ref))


def check_all_states_in_history(name: str) -> None:
    study = tk.create_study(SPACE, sampler={"name": name, "seed": 5})
    study.optimize(objective, n_trials=5)
    assert {t.state for t in study.trials} == {TrialState.COMPLETE}


CHECKS = [
    check_bounds_and_types,
    check_determinism,
    check_failures_tolerated,
    check_pruned_tolerated,
    check_pending_respected,
    check_resume_by_replay,
    check_better_than_nothing,
    check_all_states_in_history,
]


#: a conditional space: a branch per optimizer, a nested condition, a variable number of layers
COND_SPACE = {
    "opt": tk.Categorical(["sgd", "adam"]),
    "momentum": tk.Float(0.0, 0.99, when={"opt": "sgd"}),
    "nesterov": tk.Categorical([True, False], when={"opt": "sgd"}),
    "dampening": tk.Float(0.0, 0.5, step=0.25, when={"nesterov": False}),
    "beta1": tk.Float(0.8, 0.999, when={"opt": "adam"}),
    "lr": tk.Float(1e-4, 1e-1, log=True),
    "layers": tk.Int(1, 3),
    "u1": tk.Int(4, 12, log=True, when={"layers": [2, 3]}),
    "u2": tk.Int(4, 12, log=True, when={"layers": 3}),
}


def cond_objective(trial) -> float:
    p = trial.params
    v = (math.log10(p["lr"]) + 2) ** 2
    if p["opt"] == "sgd":
        v += (p["momentum"] - 0.9) ** 2 + (0.0 if p["nesterov"] else 0.2 + p["dampening"])
    else:
        v += 0.1 + (p["beta1"] - 0.9) ** 2
    v += 0.05 * p["layers"] + sum(0.01 * abs(math.log2(p[k]) - 3) for k in ("u1", "u2") if k in p)
    return v


def _expected_active(p) -> set[str]:
    names = {"opt", "lr", "layers"}
    if p["opt"] == "sgd":
        names |= {"momentum", "nesterov"} | ({"dampening"} if p["nesterov"] is False else set())
    else:
        names.add("beta1")
    names |= {"u1"} if p["layers"] >= 2 else set()
    names |= {"u2"} if p["layers"] == 3 else set()
    return names


def check_conditional(name: str, n: int = 16) -> None:
    """Only active parameters, in bounds and of their types; pending with workers; a resumed
    study (a fresh sampler replaying the stored trials) proposes exactly what the uninterrupted
    run did, which also pins determinism under one seed."""
    def run(seed: int, **kw):
        study = tk.create_study(COND_SPACE, sampler={"name": name, "seed": seed}, **kw)
        study.optimize(cond_objective, n_trials=n)
        return study

    study = run(7)
    space = study.space
    for t in study.trials:
        assert set(t.params) == _expected_active(t.params), t.params
        assert space.validate_params(t.params) == dict(t.params)
    assert set(study.best_params) == _expected_active(study.best_params)
    par = tk.create_study(COND_SPACE, sampler={"name": name, "seed": 8})
    par.optimize(cond_objective, n_trials=8, n_workers=3)
    for t in par.trials:
        assert set(t.params) == _expected_active(t.params)
    if name != "grid":
        assert len({tuple(sorted(t.params.items())) for t in study.trials}) > n // 3
    storage = tk.storage.InMemoryStorage()
    part = tk.create_study(COND_SPACE, sampler={"name": name, "seed": 7}, storage=storage, name="p")
    part.optimize(cond_objective, n_trials=n // 2)
    resumed = tk.load_study("p", storage=storage)
    resumed.optimize(cond_objective, n_trials=n - n // 2)
    assert [dict(t.params) for t in resumed.trials] == [dict(t.params) for t in study.trials]

