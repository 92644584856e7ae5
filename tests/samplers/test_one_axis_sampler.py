from __future__ import annotations

import numpy as np
import pytest

import tansaku as tk
from tansaku.samplers import make_sampler
from tansaku.samplers._one_axis import OneAxisSampler
from tansaku.testing.simulate import SimulatedStudy
from tests.samplers._trajectory_helpers import (
    MIXED,
    decodes_consistently,
    mixed_objective,
    run_whole_and_resumed,
)

GRID = {
    "lr": tk.Float(0.1, 1.0, step=0.1),  # 10 levels
    "w1": tk.Int(0, 10),
    "w2": tk.Int(0, 10),
    "act": tk.Categorical(["relu", "tanh", "gelu"]),
}


def grid_objective(p) -> float:
    return (p["lr"] - 0.3) ** 2 + 0.01 * (p["w1"] - 7) ** 2 + 0.02 * (p["w2"] - 2) ** 2 + (
        0.0 if p["act"] == "gelu" else 0.05)


@pytest.mark.parametrize(
    ("options", "field"),
    [({"levels": 1}, "sampler.levels"), ({"explore": -1}, "sampler.explore"),
     ({"batch": 0}, "sampler.batch"), ({"init": "edge"}, "sampler.init")],
)
def test_bad_options_name_the_field(options, field):
    with pytest.raises(tk.ConfigError) as e:
        make_sampler({"name": "one-axis", **options})
    assert e.value.field == field


def test_grid_comes_from_the_space():
    study = SimulatedStudy(MIXED, mixed_objective)
    sampler = OneAxisSampler(seed=0, levels=9, max_levels=20)
    study.attach(sampler)
    study.run(60)
    decodes_consistently(study)
    assert sampler.core is not None
    sizes = [len(a) for a in sampler.core.axes]
    # x: continuous -> 9 levels; lr: log float -> 9; n: 12 ints; units: 505 ints thinned to 20;
    # drop: 6 steps; act: 3 choices
    assert sizes == [9, 9, 12, 20, 6, 3]
    xs = sorted({t.params["x"] for t in study.trials})
    assert set(np.round(xs, 9)) <= set(np.round(np.linspace(-2, 2, 9), 9))


def test_finds_the_grid_optimum():
    study = SimulatedStudy(GRID, grid_objective)
    study.attach(OneAxisSampler(seed=0))
    study.run(200, stop=lambda s: s.best_value <= 1e-12)
    assert study.best_value <= 1e-12 and len(study.trials) < 120  # of 3630 grid points


def test_stops_when_every_grid_point_was_evaluated():
    space = {"a": tk.Int(1, 3), "b": tk.Categorical(["x", "y"])}
    study = tk.create_study(space, sampler={"name": "one-axis", "seed": 0})
    study.optimize(lambda t: t.params["a"] + (t.params["b"] == "x"), n_trials=50)
    assert len(study.trials) == 6


def test_resume_by_replay_sequential_and_parallel():
    for k in (1, 3):
        whole, resumed = run_whole_and_resumed(
            lambda: OneAxisSampler(seed=2, n_simulations=4), n_total=30, crash_after=12,
            n_workers=k)
        assert whole == resumed, k


def test_parallel_batches_use_every_worker():
    study = SimulatedStudy(GRID, grid_objective, n_workers=4)
    sampler = OneAxisSampler(seed=1, n_simulations=4)
    study.attach(sampler)
    study.run(40)
    assert sampler.core is not None and sampler.core.batch == 4
    assert study.utilisation > 0.95
