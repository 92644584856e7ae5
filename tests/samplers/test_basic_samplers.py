from __future__ import annotations

import itertools

import pytest

import tansaku as tk
from tansaku import ConfigError


def test_grid_is_exhaustive_then_stops():
    space = {"a": tk.Int(0, 3), "b": tk.Categorical(["x", "y"]), "c": tk.Float(0, 1, step=0.5)}
    study = tk.create_study(space, sampler={"name": "grid", "seed": 0})
    study.optimize(lambda t: t.params["a"], n_trials=1000)
    points = [tuple(t.params.values()) for t in study.trials]
    assert len(points) == 4 * 2 * 3 == len(set(points))
    assert set(points) == set(itertools.product(range(4), ["x", "y"], [0.0, 0.5, 1.0]))
    assert study.stop_reason == "the sampler has nothing more to propose"


def test_grid_shuffle_is_seeded_and_parallel_has_no_duplicates():
    space = {"a": tk.Int(0, 9), "b": tk.Int(0, 4)}

    def order(seed):
        s = tk.create_study(space, sampler={"name": "grid", "seed": seed})
        s.optimize(lambda t: 0.0, n_trials=10)
        return [tuple(t.params.values()) for t in s.trials]

    assert order(1) == order(1) and order(1) != order(2)
    s = tk.create_study(space, sampler={"name": "grid", "seed": 0})
    s.optimize(lambda t: 0.0, n_trials=100, n_workers=3)
    pts = [tuple(t.params.values()) for t in s.trials]
    assert len(pts) == 50 == len(set(pts))


def test_grid_on_a_conditional_space_spreads_its_points_over_the_branches_like_random_draws():
    """Regression (branch cnm): the shuffled order of a conditional grid was uniform over its
    valid combinations, so a branch with more parameters came first in proportion to its size:
    with 1 to 4 layers of 10 values each, 90 % of the points had 4 layers (10,000 of 11,110).
    Now each layer count gets about a quarter, as with random draws or the flat grid; every
    combination is still proposed exactly once."""
    space = {"n": tk.Int(1, 4), "w1": tk.Float(-1.0, 1.0)}
    space |= {f"w{k}": tk.Float(-1.0, 1.0, when={"n": list(range(k, 5))}) for k in range(2, 5)}
    study = tk.create_study(space, sampler={"name": "grid", "seed": 0})
    assert study.sampler.n_points == 10 + 100 + 1000 + 10000
    study.optimize(lambda t: 0.0, n_trials=200)
    layers = [t.params["n"] for t in study.trials]
    assert layers.count(1) == 10  # all of its points, early
    for n in (2, 3, 4):  # a third or so each of the rest (before: 1, 23 and 176 of 200)
        assert 40 <= layers.count(n) <= 100, (n, layers.count(n))
    study.optimize(lambda t: 0.0, n_trials=20_000)
    assert len(study.trials) == study.sampler.n_points  # exhaustive, no point twice
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == len(study.trials)


def test_grid_resolution_values_and_resume(tmp_path):
    space = {"lr": tk.Float(1e-4, 1e-1, log=True), "m": tk.Float(0, 1)}
    url = f"sqlite:///{tmp_path / 'g.db'}"
    s = tk.create_study(
        space,
        storage=url,
        name="g",
        sampler={"name": "grid", "resolution": 4, "values": {"m": [0.0, 0.9]}},
    )
    s.optimize(lambda t: 0.0, n_trials=3)
    again = tk.load_study("g", storage=url)
    again.optimize(lambda t: 0.0, n_trials=100)
    pts = {tuple(t.params.values()) for t in again.trials}
    assert len(again.trials) == 8 == len(pts)
    assert sorted({p[0] for p in pts}) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])
    with pytest.raises(ConfigError, match="sampler.resolution"):
        tk.create_study(space, sampler={"name": "grid", "resolution": 1})
    with pytest.raises(ConfigError, match="sampler.typo"):
        tk.create_study(space, sampler={"name": "grid", "typo": 1})
    with pytest.raises(ConfigError, match="values"):
        tk.create_study(space, sampler={"name": "grid", "values": {"zz": [1]}})


def test_grid_too_large_is_refused():
    space = {f"p{i}": tk.Int(0, 99) for i in range(5)}
    with pytest.raises(ConfigError, match="10,000,000,000 points"):
        tk.create_study(space, sampler="grid")


def test_sobol_covers_the_cube_better_than_random():
    import numpy as np

    space = {"a": tk.Float(0, 1), "b": tk.Float(0, 1)}

    def discrepancy(name):
        s = tk.create_study(space, sampler={"name": name, "seed": 0})
        s.optimize(lambda t: 0.0, n_trials=64)
        from scipy.stats import qmc

        pts = np.array([[t.params["a"], t.params["b"]] for t in s.trials])
        return qmc.discrepancy(pts)

    assert discrepancy("sobol") < discrepancy("random")


def test_sampler_describe_round_trips_through_the_registry():
    from tansaku.samplers import make_sampler

    g = make_sampler({"name": "grid", "seed": 3, "resolution": 5})
    d = g.describe()
    assert d == {"name": "grid", "seed": 3, "resolution": 5, "shuffle": True, "values": {}}
    assert make_sampler(d).describe() == d
