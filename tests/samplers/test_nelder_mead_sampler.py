from __future__ import annotations

import math

import numpy as np
import pytest

import tansaku as tk
from tansaku.algorithms._trajectory import point_key
from tansaku.samplers import make_sampler
from tansaku.samplers._nelder_mead import NelderMeadSampler
from tansaku.testing import functions as F
from tansaku.testing.simulate import SimulatedStudy, lognormal
from tests.samplers._trajectory_helpers import (
    MIXED,
    decodes_consistently,
    mixed_objective,
    run_whole_and_resumed,
)


def test_registry_and_options_from_config():
    s = make_sampler({"name": "nelder-mead", "seed": 0, "init": "lhs", "restart": "best"})
    assert isinstance(s, NelderMeadSampler) and s.options["init"] == "lhs"
    assert isinstance(make_sampler("nm"), NelderMeadSampler)
    again = make_sampler(s.describe())  # what the study stores is enough to rebuild it
    assert again.describe() == s.describe()


@pytest.mark.parametrize(
    ("options", "field"),
    [({"init": "sobol"}, "sampler.init"), ({"xtol": -1}, "sampler.xtol"),
     ({"stall": 2.5}, "sampler.stall"), ({"predictive": "yes"}, "sampler.predictive"),
     ({"n_simulations": 0}, "sampler.n_simulations"), ({"simplex": 3}, "sampler.simplex"),
     ({"seed": -1}, "sampler.seed"), ({"restart_size": 2}, "sampler.restart_size"),
     ({"refine": 1}, "sampler.refine"), ({"refine_below": 1.5}, "sampler.refine_below")],
)
def test_bad_options_name_the_field(options, field):
    with pytest.raises(tk.ConfigError) as e:
        make_sampler({"name": "nelder-mead", **options})
    assert e.value.field == field and "\n" not in str(e.value)


def test_mixed_space_decodes_ints_logs_steps_and_categoricals():
    study = SimulatedStudy(MIXED, mixed_objective, n_workers=1)
    study.attach(NelderMeadSampler(seed=0))
    study.run(120)
    decodes_consistently(study)
    assert study.best_value < 0.5, study.best_value  # optimum 0: x .7, lr 3e-3, n 5, units 64,
    best = min(study.finished, key=lambda t: t.value)  # drop 0, tanh
    assert best.params["act"] == "tanh" and best.params["drop"] <= 0.2


def test_sequential_resume_by_replay_continues_the_same_run():
    whole, resumed = run_whole_and_resumed(lambda: NelderMeadSampler(seed=3), n_total=60,
                                           crash_after=25, n_workers=1)
    assert whole == resumed


def test_parallel_resume_with_trials_in_flight_continues_the_same_run():
    whole, resumed = run_whole_and_resumed(
        lambda: NelderMeadSampler(seed=3, n_simulations=16), n_total=48, crash_after=20,
        n_workers=4)
    assert whole == resumed


def test_resume_without_a_seed_recovers_it_from_the_trials():
    # the resumed sampler has no seed of its own: it continues with the one stored in the trials,
    # so the run equals a seeded run with that seed (no restart from scratch)
    part = SimulatedStudy(MIXED, mixed_objective, seed=1)
    part.attach(NelderMeadSampler())
    part.run(40, max_finished=15)
    seed = part.trials[0].sampler_meta["seed"]
    part.attach(NelderMeadSampler())
    part.run(40)
    assert {t.sampler_meta["seed"] for t in part.trials} == {seed}
    ref = SimulatedStudy(MIXED, mixed_objective, seed=1)
    ref.attach(NelderMeadSampler(seed=seed))
    ref.run(40)
    assert [dict(t.params) for t in ref.trials] == [dict(t.params) for t in part.trials]


def test_enqueued_trials_become_initial_vertices():
    space = {"a": tk.Float(0.0, 1.0), "b": tk.Float(0.0, 1.0)}
    f = lambda p: (p["a"] - 0.2) ** 2 + (p["b"] - 0.8) ** 2  # noqa: E731
    study = SimulatedStudy(space, f)
    starts = [{"a": 0.1, "b": 0.1}, {"a": 0.9, "b": 0.2}, {"a": 0.5, "b": 0.9}]
    for p in starts:
        study.enqueue(p)
    sampler = NelderMeadSampler(seed=0)
    study.attach(sampler)
    study.run(4)
    first_own = study.trials[3]
    assert len(first_own.sampler_meta["x0"]) == 3  # recorded for replay
    assert sampler.core is not None
    verts = [point_key(x) for x, _ in sampler.core.trajectory[:3]]
    assert verts == [point_key(np.array([p["a"], p["b"]])) for p in sorted(starts, key=f)]
    # the reflection of the worst start (.9,.2) through the others' centroid (.3,.5) leaves the
    # box, so the fourth trial is the inside contraction (.6,.35)
    np.testing.assert_allclose([first_own.params["a"], first_own.params["b"]], [0.6, 0.35])


def test_failed_and_pruned_trials_count_as_worst():
    fn = F.branin

    def objective(p):
        x = np.array([p["x0"], p["x1"]])
        if x[0] > 7.5:
            raise RuntimeError("diverged")
        if x[1] > 12.0:
            raise tk.TrialPruned()
        return fn(x)

    study = SimulatedStudy(fn.space(), objective)
    sampler = NelderMeadSampler(seed=1)
    study.attach(sampler)
    study.run(150)
    states = {t.state for t in study.finished}
    assert {tk.TrialState.FAILED, tk.TrialState.PRUNED} <= states
    bad = [t for t in study.finished if t.state is not tk.TrialState.COMPLETE]
    assert sampler.core is not None
    for t in bad:
        assert math.isinf(sampler.core._cache[point_key(np.array(t.sampler_meta["u"]))])
    assert fn.regret(study.best_value) < 1e-4


def test_maximize_is_the_same_run_as_minimizing_the_negation():
    fn = F.hartmann3
    obj = lambda p: fn([p["x0"], p["x1"], p["x2"]])  # noqa: E731
    lo = SimulatedStudy(fn.space(), obj)
    lo.attach(NelderMeadSampler(seed=2))
    lo.run(50)
    hi = SimulatedStudy(fn.space(), lambda p: -obj(p), direction="maximize")
    hi.attach(NelderMeadSampler(seed=2))
    hi.run(50)
    assert [dict(t.params) for t in lo.trials] == [dict(t.params) for t in hi.trials]


def test_parallel_simulated_run_keeps_workers_busy():
    fn = F.hartmann3
    obj = lambda p: fn([p["x0"], p["x1"], p["x2"]])  # noqa: E731
    study = SimulatedStudy(fn.space(), obj, n_workers=4, duration=lognormal(0.5), seed=3)
    sampler = NelderMeadSampler(seed=0, n_simulations=16)
    study.attach(sampler)
    study.run(80)
    assert study.utilisation > 0.9
    roles = {t.sampler_meta["role"] for t in study.trials}
    assert roles == {"needed", "speculative"}
    assert sampler.core is not None and sampler.core.stats()["hits"] > 10


# -- through the study ---------------------------------------------------------------------------
def _branin(trial) -> float:
    return F.branin([trial.params["x0"], trial.params["x1"]])


def test_study_optimize_with_nelder_mead():
    study = tk.create_study(F.branin.space(), sampler="nelder-mead", seed=0)
    study.optimize(_branin, n_trials=80)
    assert F.branin.regret(study.best_value) < 1e-3
    assert all(t.sampler_meta.get("by") == "nelder-mead" for t in study.trials)


def test_study_parallel_workers_get_distinct_points():
    study = tk.create_study(F.branin.space(), sampler={"name": "nelder-mead", "seed": 1,
                                                       "n_simulations": 8}, n_workers=3)
    study.optimize(_branin, n_trials=24, n_workers=3)
    pts = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(pts)) == len(pts) and len(pts) >= 24


def test_study_resume_from_sqlite_continues_the_same_run(tmp_path):
    url = f"sqlite:///{tmp_path / 'nm.db'}"
    spec = {"name": "nelder-mead", "seed": 5}
    first = tk.create_study(F.branin.space(), sampler=spec, storage=url, name="nm")
    first.optimize(_branin, n_trials=20)
    del first
    again = tk.create_study(F.branin.space(), sampler=spec, storage=url, name="nm",
                            load_if_exists=True)
    again.optimize(_branin, n_trials=20)
    whole = tk.create_study(F.branin.space(), sampler=spec)
    whole.optimize(_branin, n_trials=40)
    assert [dict(t.params) for t in again.trials] == [dict(t.params) for t in whole.trials]
    loaded = tk.load_study("nm", storage=url)  # sampler rebuilt from the stored options
    assert isinstance(loaded.sampler, NelderMeadSampler) and loaded.sampler.seed == 5


def test_many_workers_resume_with_trials_in_flight_continues_the_same_run():
    # 12 workers: the tree planner (not the random continuations) hands out the speculation
    whole, resumed = run_whole_and_resumed(lambda: NelderMeadSampler(seed=3), n_total=56,
                                           crash_after=30, n_workers=12)
    assert whole == resumed


def test_many_workers_hand_out_model_points_never_twice():
    # 16 workers: spare workers get model-guided points (role "model"); no point is proposed
    # twice, and pending trials are respected (every trial's params are distinct)
    study = SimulatedStudy(F.hartmann3.space(), lambda p: F.hartmann3([p["x0"], p["x1"], p["x2"]]),
                           n_workers=16, duration=lognormal(0.5), seed=2)
    study.attach(NelderMeadSampler(seed=1))
    study.run(60)
    roles = {t.sampler_meta["role"] for t in study.trials}
    assert {"needed", "speculative", "model"} <= roles
    params = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(params)) == len(params)
