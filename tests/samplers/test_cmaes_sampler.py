"""The ``cmaes`` sampler through the sampler contract (bind -> tell -> ask(pending))."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tansaku as tk
from tansaku._records import FrozenTrial, TrialState
from tansaku.samplers import make_sampler
from tansaku.samplers._cmaes import CmaEsSampler
from tansaku.testing import functions as F
from tansaku.testing.driver import drive, replay

SPHERE = F.sphere(3)
SPHERE_SPACE = SPHERE.space()


def sphere(p: dict) -> float:
    return SPHERE([p[f"x{i}"] for i in range(3)])


def test_registry_and_bad_options() -> None:
    assert isinstance(make_sampler("cmaes"), CmaEsSampler)
    assert isinstance(make_sampler({"name": "cma-es", "popsize": 8}), CmaEsSampler)
    for options, field in [
        ({"sigma0": 0}, "sampler.sigma0"),
        ({"popsize": 1}, "sampler.popsize"),
        ({"restart": "bipop"}, "sampler.restart"),
        ({"inc_popsize": 0.5}, "sampler.inc_popsize"),
        ({"with_margin": "no"}, "sampler.with_margin"),
        ({"x0": [1, 2]}, "sampler.x0"),
        ({"max_age": -1}, "sampler.max_age"),
        ({"max_age": 1.5}, "sampler.max_age"),
    ]:
        with pytest.raises(tk.ConfigError) as err:
            make_sampler({"name": "cmaes", **options})
        assert err.value.field == field
    with pytest.raises(tk.ConfigError, match="x0"):
        CmaEsSampler(x0={"x0": 99.0}).bind(tk.Space(SPHERE_SPACE))


def test_converges_on_the_sphere() -> None:
    for seed in range(2):
        res = drive(CmaEsSampler(seed=seed), SPHERE_SPACE, sphere, n_trials=300)
        assert res.best() < 1e-5


def test_converges_with_parallel_workers_and_random_finishing_order() -> None:
    s = CmaEsSampler(seed=0)
    res = drive(s, SPHERE_SPACE, sphere, n_trials=400, n_workers=4, finish="random")
    assert res.best() < 1e-5
    tags = [t.sampler_meta["cma"] for t in res.finished]
    # members of one generation never repeat, and generations advance
    assert len({tuple(t) for t in tags}) == len(tags)
    assert max(g for _, g, _ in tags) > 20


def test_many_workers_update_at_the_rate_members_finish() -> None:
    # 32 workers, popsize 6: an update is told whenever 6 finished members wait, including
    # members of the last max_age generations, instead of once per generation (its first 6)
    s = CmaEsSampler(seed=0, popsize=6)
    res = drive(s, SPHERE_SPACE, sphere, n_trials=320, n_workers=32, finish="random")
    assert s._gen >= 30  # the one-generation-at-a-time rule made 15 updates of these 320 trials
    assert res.best() < 1e-4  # and got to 3.7e-4
    tags = [tuple(t.sampler_meta["cma"]) for t in res.finished]
    assert len(set(tags)) == len(tags)  # parallel proposals are distinct members
    assert len({tuple(p.values()) for p in res.proposals}) == len(res.proposals)
    old = CmaEsSampler(seed=0, popsize=6, max_age=0)
    drive(old, SPHERE_SPACE, sphere, n_trials=320, n_workers=32, finish="random")
    assert old._gen < 20


def test_one_worker_is_plain_cmaes_whatever_max_age() -> None:
    runs = [drive(CmaEsSampler(seed=3, max_age=age), SPHERE_SPACE, sphere, n_trials=60).proposals
            for age in (0, 4)]
    assert runs[0] == runs[1]


def test_restarts_double_the_population() -> None:
    s = CmaEsSampler(seed=0, popsize=6)
    drive(s, {"a": tk.Float(0, 1), "b": tk.Float(0, 1)}, lambda p: 1.0, n_trials=400)
    assert s.n_restarts >= 2  # a flat function "converges" at once: IPOP restarts
    assert s._opt is not None and s._opt.popsize == 6 * 2**s.n_restarts
    none = CmaEsSampler(seed=0, popsize=6, restart="none")
    drive(none, {"a": tk.Float(0, 1), "b": tk.Float(0, 1)}, lambda p: 1.0, n_trials=200)
    assert none.n_restarts == 0


MARGIN_SPACE = {"x": tk.Float(0, 1), "y": tk.Float(0, 1), **{f"k{i}": tk.Int(0, 10) for i in range(4)}}


def margin_objective(p: dict) -> float:
    cont = 100 * ((p["x"] - 0.3) ** 2 + (p["y"] - 0.6) ** 2)
    return cont + 0.1 * sum(abs(p[f"k{i}"] - 8) for i in range(4))


def _frozen_dims(with_margin: bool, seed: int) -> int:
    s = CmaEsSampler(seed=seed, with_margin=with_margin, restart="none")
    res = drive(s, MARGIN_SPACE, margin_objective, n_trials=1000)
    assert s._opt is not None and s._opt.kind == ("cmawm" if with_margin else "cma")
    last = res.proposals[-200:]
    for p in last:
        assert all(type(p[f"k{i}"]) is int for i in range(4))
    return sum(len({p[f"k{i}"] for p in last}) == 1 for i in range(4))


def test_margin_keeps_integer_dims_moving() -> None:
    # once the continuous part has converged the step size is tiny: without the margin the
    # integer dims freeze on one level, with it every level keeps a floor probability
    assert all(_frozen_dims(True, seed) == 0 for seed in range(3))
    assert sum(_frozen_dims(False, seed) > 0 for seed in range(3)) >= 2


def test_categorical_and_log_int_space_uses_catcma_and_finds_the_best_category() -> None:
    space = {"x": tk.Float(-5, 5), "n": tk.Int(1, 100, log=True), "c": tk.Categorical(["a", "b", "c"])}

    def f(p: dict) -> float:
        return (p["x"] - 1) ** 2 + (np.log(p["n"]) - np.log(20)) ** 2 + (p["c"] != "b")

    for seed in range(2):
        s = CmaEsSampler(seed=seed)
        res = drive(s, space, f, n_trials=200, n_workers=2)
        assert s._opt is not None and s._opt.kind == "catcmawm"
        best = res.finished[int(np.argmin(res.values()))].params
        assert best["c"] == "b" and abs(best["x"] - 1) < 0.1 and 15 <= best["n"] <= 26
        assert np.mean([p["c"] == "b" for p in res.proposals[-50:]]) > 0.8


def test_failed_and_pruned_members_do_not_stop_the_search() -> None:
    def f(p: dict) -> float:
        if p["x0"] < -0.2:
            raise RuntimeError("crash")
        if p["x1"] > 0.6:
            raise tk.TrialPruned()
        return sphere(p)

    res = drive(CmaEsSampler(seed=1), SPHERE_SPACE, f, n_trials=300, n_workers=3, pruned_value=5.0)
    states = [t.state for t in res.finished]
    assert TrialState.FAILED in states and TrialState.PRUNED in states
    assert res.best() < 1e-4


def test_values_rank_failures_last() -> None:
    vals = CmaEsSampler._values([(0, 3.0), (2, 0.0), (1, -50.0), (0, 1.0), (1, -60.0)])
    order = np.argsort(vals)
    assert list(order) == [3, 0, 4, 2, 1]


PLATEAU = {"x": tk.Float(-2, 2), "y": tk.Float(0, 1)}
MIXED = {"x": tk.Float(-2, 2), "k": tk.Int(0, 6), "s": tk.Float(0, 1, step=0.25)}


def plateau(p: dict) -> float:  # values differ by < tolfun: CMA-ES "converges" and restarts often
    return 1.0 + 1e-14 * (p["x"] ** 2 + p["y"])


def mixed(p: dict) -> float:
    return (p["x"] - 0.5) ** 2 + (p["k"] - 4) ** 2 + p["s"]


@pytest.mark.parametrize(
    ("space", "objective", "n_workers", "finish"),
    [(PLATEAU, plateau, 1, "fifo"), (PLATEAU, plateau, 5, "random"), (MIXED, mixed, 3, "random"),
     (MIXED, mixed, 24, "random")],  # 24 workers: updates mix members of several generations
)
def test_resume_by_replay_gives_the_same_next_proposals(space, objective, n_workers, finish) -> None:
    live = CmaEsSampler(seed=7, popsize=5)
    first = drive(live, space, objective, n_trials=260, n_workers=n_workers, finish=finish,
                  leave_pending=n_workers - 1)
    if space is PLATEAU:
        assert live.n_restarts >= 1  # the replay must walk through restarts too
    fresh = replay(CmaEsSampler(seed=7, popsize=5), space, first.finished)
    assert fresh.n_restarts == 0  # nothing is computed before the first ask
    pending = list(first.pending)
    for i in range(6):
        a, b = live.ask(pending), fresh.ask(pending)
        assert a.params == b.params and a.meta == b.meta
        pending.append(FrozenTrial(number=1000 + i, state=TrialState.RUNNING, params=a.params,
                                   system_attrs={"sampler": dict(a.meta)}))
    assert fresh.n_restarts == live.n_restarts


def test_resume_continues_the_stored_run_even_without_a_seed() -> None:
    live = CmaEsSampler()
    first = drive(live, SPHERE_SPACE, sphere, n_trials=40, seed=None)
    fresh = replay(CmaEsSampler(), SPHERE_SPACE, first.finished, seed=None)
    assert live.ask([]).params == fresh.ask([]).params


def test_foreign_trials_are_ignored_and_meta_is_small() -> None:
    s = CmaEsSampler(seed=0)
    s.bind(tk.Space(SPHERE_SPACE))
    s.tell(FrozenTrial(number=0, state=TrialState.COMPLETE, params={"x0": 0.3, "x1": 0.3, "x2": 0.3},
                       value=0.0))  # enqueued by the user: no meta
    p = s.ask([])
    assert p.meta["cma"] == [0, 0, 0]
    assert len(json.dumps(dict(p.meta))) < 60


def _scripted(study_for_step, objective, script) -> list[dict]:
    """Run ``script`` (``"a"`` = ask, an int ``i`` = tell the i-th asked trial) on the study that
    ``study_for_step(step)`` returns, so a script can switch to a resumed study half-way."""
    asked = []
    for step, op in enumerate(script):
        study = study_for_step(step)
        if op == "a":
            asked.append(study.ask())
        else:
            study.tell(asked[op].number, objective(asked[op]))
    return [dict(t.params) for t in study_for_step(len(script)).trials]


def test_study_api_sqlite_resume_with_pending_trials(tmp_path) -> None:
    space = {"x": tk.Float(-2, 2), "k": tk.Int(0, 6), "c": tk.Categorical(["a", "b", "c"])}
    spec = {"name": "cmaes", "seed": 4, "popsize": 4, "x0": {"x": 1.0, "k": 2, "c": "a"}}

    def objective(trial) -> float:
        p = trial.params
        return (p["x"] - 0.5) ** 2 + abs(p["k"] - 4) + (p["c"] != "b")

    # 3 workers' worth of trials in flight, finishing in a shuffled order
    rng = np.random.default_rng(0)
    script: list = ["a", "a", "a"]
    flying, n_asked = [0, 1, 2], 3
    for _ in range(40):
        script += [flying.pop(int(rng.integers(len(flying)))), "a"]
        flying.append(n_asked)
        n_asked += 1
    whole = tk.create_study(space, sampler=spec, name="w")
    a = _scripted(lambda step: whole, objective, script)

    url = f"sqlite:///{tmp_path / 'cma.db'}"
    first = tk.create_study(space, sampler=spec, storage=url, name="p")
    cut = 47  # a point where several trials are still RUNNING
    holder = {"study": first}

    def study_for_step(step: int):
        if step == cut:
            holder["study"] = tk.load_study("p", storage=url)  # fresh sampler from stored spec
        return holder["study"]

    b = _scripted(study_for_step, objective, script)
    assert a == b
    assert len(tk.load_study("p", storage=url).get_trials([TrialState.RUNNING])) == 3


def test_study_optimize_converges_and_stores_small_meta() -> None:
    study = tk.create_study(SPHERE_SPACE, sampler="cmaes", seed=0)
    study.optimize(lambda t: sphere(t.params), n_trials=250)
    assert study.best_value < 1e-4
    sizes = [len(json.dumps(dict(t.system_attrs["sampler"]))) for t in study.trials]
    assert max(sizes) < 60


@pytest.mark.parametrize(
    ("space", "kind"),
    [
        ({"c": tk.Categorical(["a"])}, "fixed"),
        ({"c": tk.Categorical(["a"]), "x": tk.Float(0, 1)}, "cma"),
        ({"c": tk.Categorical(["a", "b"])}, "catcmawm"),
        ({"s": tk.Float(0, 1, step=0.5)}, "cmawm"),
    ],
)
def test_degenerate_spaces(space: dict, kind: str) -> None:
    s = CmaEsSampler(seed=0)
    res = drive(s, space, lambda p: float(len(str(p))), n_trials=40, n_workers=3, finish="random")
    assert s._opt is not None and s._opt.kind == kind
    assert len(res.finished) == 40
    assert all(tk.Space(space).validate_params(p) == p for p in res.proposals)


def test_default_step_size_spans_the_box_at_three_sigma() -> None:
    s = CmaEsSampler(seed=0)
    drive(s, SPHERE_SPACE, sphere, n_trials=1)
    assert s._opt is not None and s._opt._opt._sigma == pytest.approx(1 / 6)
    assert s._opt._opt._mean == pytest.approx([0.5, 0.5, 0.5])


def _bounded_normal_std(sigma: float, *, resample: bool, n: int = 200_000) -> float:
    """The std of N(0.5, sigma^2) brought into [0, 1] the way ``cmaes`` does it: resampled until
    inside (CMA's dims, CMAwM's continuous dims) or clipped (CMAwM's discrete dims, CatCMAwM)."""
    x = np.random.default_rng(0).normal(0.5, sigma, n)
    return float((x[(x >= 0) & (x <= 1)] if resample else np.clip(x, 0, 1)).std())


@pytest.mark.parametrize(
    ("space", "kind"),
    [
        ({"a": tk.Float(0, 1), "b": tk.Float(0, 1)}, "cma"),
        ({"a": tk.Float(0, 1), "b": tk.Float(0, 1), "k": tk.Int(0, 40)}, "cmawm"),
        ({"a": tk.Float(0, 1), "b": tk.Float(0, 1), "c": tk.Categorical(["x", "y", "z"])}, "catcmawm"),
        ({"a": tk.Float(0, 1), "b": tk.Float(0, 1), "n": tk.Int(2, 60, log=True)}, "catcmawm"),
        ({"n": tk.Int(2, 60, log=True), "c": tk.Categorical(["x", "y", "z"])}, "catcmawm"),
    ],
)
def test_initial_spread_is_sigma0_for_every_backend(space: dict, kind: str) -> None:
    # sigma0 is documented as the initial std in the unit cube (1/6 of each range); CatCMAwM's
    # default covariance (width/6 scaling) used to multiply it, giving a std of 0.014
    sp = tk.Space(space)
    gaussian = [i for i, name in enumerate(sp.names) if not isinstance(space[name], tk.Categorical)]
    resampled = [kind == "cma" or (kind == "cmawm" and isinstance(space[sp.names[i]], tk.Float))
                 for i in gaussian]
    for sigma0 in (1 / 6, 0.3):
        expected = [_bounded_normal_std(sigma0, resample=r) for r in resampled]
        s = CmaEsSampler(seed=1, sigma0=sigma0, popsize=400, restart="none")
        res = drive(s, space, lambda p: 0.0, n_trials=400)  # one generation: the initial Gaussian
        assert s._opt is not None and s._opt.kind == kind
        u = np.array([sp.to_unit(p) for p in res.proposals])
        std = u[:, gaussian].std(axis=0)
        assert std == pytest.approx(expected, rel=0.12), (std, expected)
        if "c" in space:  # the categorical starts uniform
            counts = np.bincount([["x", "y", "z"].index(p["c"]) for p in res.proposals], minlength=3)
            assert counts.min() > 400 / 3 * 0.75


def test_first_trials_of_a_study_spread_with_a_categorical() -> None:
    # the reproduction: the first 16 trials of a default cmaes study
    space = {"a": tk.Float(0, 1), "b": tk.Float(0, 1), "c": tk.Categorical(["x", "y", "z"])}
    study = tk.create_study(space, sampler="cmaes", seed=0)
    study.optimize(lambda t: (t.params["a"] - 0.3) ** 2 + (t.params["b"] - 0.7) ** 2, n_trials=16)
    u = np.array([[t.params["a"], t.params["b"]] for t in study.trials])
    assert (u.std(axis=0) > 0.1).all(), u.std(axis=0)
