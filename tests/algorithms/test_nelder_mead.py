from __future__ import annotations

import heapq
import math

import numpy as np
import pytest

from tansaku.algorithms import Dim
from tansaku.algorithms._nelder_mead import NelderMead
from tansaku.algorithms._trajectory import Speculation, point_key
from tansaku.testing import functions as F


def run_sequential(core, f, n):
    asked = []
    for _ in range(n):
        x = core.ask()
        asked.append(x)
        core.tell(x, f(x))
    return asked


def run_parallel(core, f, n, *, k=4, seed=0, sigma=0.5):
    """Discrete-event loop: k workers, lognormal durations, results told in finishing order."""
    rng = np.random.default_rng(seed)
    events, now, started = [], 0.0, 0
    for _ in range(k):
        x = core.ask()
        heapq.heappush(events, (now + rng.lognormal(0, sigma), started, x))
        started += 1
    while len(core.trajectory) < n:
        now, _, x = heapq.heappop(events)
        core.tell(x, f(x))
        x = core.ask()
        heapq.heappush(events, (now + rng.lognormal(0, sigma), started, x))
        started += 1
    return now, started


def test_converges_on_sphere_and_rosenbrock_2d():
    for fn, n, tol in ((F.sphere(2), 150, 1e-6), (F.rosenbrock(2), 300, 1e-4)):
        for seed in range(3):
            core = NelderMead(2, seed=seed)
            run_sequential(core, fn.unit, n)
            assert fn.regret(core.best_y) < tol, (fn.name, seed, core.best_y)


def test_textbook_step_sequence_2d():
    """Initial simplex given as prior points; every step checked by hand.

    f = (x-0.9)^2 + 2 (y-0.9)^2 on A=(.2,.2) 1.47, B=(.4,.2) 1.23, C=(.2,.4) 0.99.
    1. worst A, centroid (.3,.3): reflect (.4,.4) f=.75 < best .99 -> expand (.5,.5) f=.48 < .75: accept.
    2. worst B, centroid (.35,.45): reflect (.3,.7) f=.44 < best .48 -> expand (.25,.95) f=.4275: accept.
    3. worst C, centroid (.375,.725): reflect (.55,1.05) is outside the box -> +inf without evaluation
       -> inside contraction (.2875,.5625) f=.6029 < .99: accept.
    """
    f = lambda x: (x[0] - 0.9) ** 2 + 2 * (x[1] - 0.9) ** 2  # noqa: E731
    core = NelderMead(2, seed=0)
    for v in ((0.2, 0.2), (0.4, 0.2), (0.2, 0.4)):
        core.tell(np.array(v), f(v))
    asked = run_sequential(core, f, 5)
    expected = [(0.4, 0.4), (0.5, 0.5), (0.3, 0.7), (0.25, 0.95), (0.2875, 0.5625)]
    np.testing.assert_allclose(np.array(asked), np.array(expected), atol=1e-12)
    _, vals = core.simplex
    assert sorted(np.round(vals, 6)) == sorted(np.round([0.48, 0.4275, f((0.2875, 0.5625))], 6))


def test_textbook_outside_contraction_and_shrink_1d():
    # f = |x - 0.5| on {0.2: .3, 0.4: .1}: reflect 0.6 (f=.1, between best and worst) -> outside
    # contraction 0.5 (f=0 <= .1): accepted.
    core = NelderMead(1, seed=0)
    f = lambda x: abs(x[0] - 0.5)  # noqa: E731
    core.tell([0.2], f([0.2]))
    core.tell([0.4], f([0.4]))
    np.testing.assert_allclose(run_sequential(core, f, 2), [[0.6], [0.5]], atol=1e-12)
    # a table where both the reflection (0.6) and the inside contraction (0.3) are worse than the
    # worst vertex: shrink towards 0.4 gives 0.3 again, served from the cache (no evaluation), so
    # the next point asked is the reflection of the new simplex {0.4, 0.3}: 0.5.
    table = {0.2: 1.0, 0.4: 0.0, 0.6: 5.0, 0.3: 2.0, 0.5: 0.5}
    g = lambda x: table[round(float(x[0]), 9)]  # noqa: E731
    core = NelderMead(1, seed=0)
    core.tell([0.2], 1.0)
    core.tell([0.4], 0.0)
    asked = run_sequential(core, g, 3)
    np.testing.assert_allclose(asked, [[0.6], [0.3], [0.5]], atol=1e-12)


def test_restarts_happen_and_keep_improving():
    # Styblinski-Tang 2-D has four basins; a single simplex often ends in a local one
    fn = F.styblinski_tang(2)
    first_run, final = [], []
    for seed in range(6):
        core = NelderMead(2, seed=seed)
        at_restart = None
        for _ in range(400):
            x = core.ask()
            core.tell(x, fn.unit(x))
            if core.restarts >= 1 and at_restart is None:
                at_restart = core.best_y
        assert core.restarts >= 3  # collapses are detected, the budget is not spent on a point
        first_run.append(fn.regret(at_restart))
        final.append(fn.regret(core.best_y))
    assert max(first_run) > 1.0  # some first runs ended in a local basin ...
    assert max(final) < 1e-3  # ... and restarts found the global one every time


def test_out_of_box_points_are_never_evaluated():
    # optimum in the corner: reflections leave the box all the time
    f = lambda x: float(np.sum((x - 1.0) ** 2))  # noqa: E731
    for boundary in ("penalty", "clip"):
        core = NelderMead(3, seed=1, boundary=boundary)
        asked = np.array(run_sequential(core, f, 300))
        assert asked.min() >= 0.0 and asked.max() <= 1.0
        assert core.best_y < 1e-6, boundary
    # with the penalty no evaluation is spent on a point outside; the trajectory saw +inf values
    core = NelderMead(3, seed=1)
    run_sequential(core, f, 100)
    assert core.stats()["told"] == 100


def test_failures_are_worst_and_an_all_failed_simplex_restarts():
    # nan left of x0=0.35; the optimum 0.4 is just inside the feasible part
    f = lambda x: math.nan if x[0] < 0.35 else (x[0] - 0.4) ** 2 + (x[1] - 0.5) ** 2  # noqa: E731
    core = NelderMead(2, seed=0)
    run_sequential(core, f, 300)
    assert core.best_y < 1e-6
    # nothing works at first: the simplex restarts instead of spinning
    calls = {"n": 0}

    def g(x):
        calls["n"] += 1
        return math.inf if calls["n"] <= 9 else float(np.sum(x**2))

    core = NelderMead(2, seed=0)
    run_sequential(core, g, 60)
    assert core.restarts >= 2 and math.isfinite(core.best_y)


def test_discrete_dims_never_evaluate_a_point_twice():
    dims = [Dim("discrete", 7), Dim("discrete", 5), Dim("categorical", 3)]
    core = NelderMead(dims, seed=2)
    f = lambda x: float(np.sum((x - 0.5) ** 2))  # noqa: E731
    asked = run_sequential(core, f, 80)
    keys = [point_key(x) for x in asked]
    assert len(set(keys)) == len(keys)
    for x in asked:  # bin centres
        for v, n in zip(x, (7, 5, 3)):
            assert abs(v * n - math.floor(v * n) - 0.5) < 1e-9


def test_same_seed_same_run_and_order_of_results_does_not_matter():
    fn = F.hartmann3
    a = run_sequential(NelderMead(3, seed=5), fn.unit, 60)
    b = run_sequential(NelderMead(3, seed=5), fn.unit, 60)
    np.testing.assert_array_equal(np.array(a), np.array(b))
    c = run_sequential(NelderMead(3, seed=6), fn.unit, 60)
    assert not np.array_equal(np.array(a), np.array(c))


def test_predictive_parallel_follows_the_sequential_path_faster_with_cache_hits():
    fn = F.hartmann3
    seq = NelderMead(3, seed=3)
    run_sequential(seq, fn.unit, 80)
    par = NelderMead(3, seed=3, n_workers=4, speculation=Speculation(n_simulations=12))
    t_par, _ = run_parallel(par, fn.unit, 80, k=4, seed=11)
    # the real simplex path is exactly the sequential one ...
    path_seq = np.array([x for x, _ in seq.trajectory[:80]])
    path_par = np.array([x for x, _ in par.trajectory[:80]])
    np.testing.assert_array_equal(path_seq, path_par)
    # ... most of it was evaluated ahead of need, and it got there in far less simulated time
    stats = par.stats()
    assert stats["hits"] >= 40 and stats["asked_speculative"] > 0
    rng = np.random.default_rng(11)
    t_seq = float(np.sum(rng.lognormal(0, 0.5, 80)))
    assert t_par < 0.6 * t_seq


def test_sequential_run_never_speculates():
    core = NelderMead(4, seed=0, n_workers=1)
    run_sequential(core, F.rosenbrock(4).unit, 100)
    s = core.stats()
    assert s["asked_speculative"] == 0 and s["asked_needed"] == 100 and s["hits"] == 0


def test_set_pending_makes_the_core_wait_not_repeat():
    core = NelderMead(2, seed=0, predictive=False)
    first = [core.ask() for _ in range(3)]  # the initial simplex
    keys = {point_key(x) for x in first}
    assert len(keys) == 3
    extra = core.ask()  # nothing needed: a random filler, not a repeat
    assert point_key(extra) not in keys and core.last_role == "random"
    core.set_pending(first[:2])  # the third was lost: it is needed, so it is asked again
    assert point_key(core.ask()) == point_key(first[2])


@pytest.mark.parametrize("bad", [{"init": "sobol"}, {"restart": "never"}, {"boundary": "wrap"},
                                 {"init_size": 0.0}, {"xtol": -1.0}, {"stall": 0}])
def test_bad_options_are_rejected(bad):
    with pytest.raises(ValueError):
        NelderMead(2, **bad)


def test_many_workers_plan_a_tree_of_futures_and_keep_the_sequential_path():
    # from Speculation.tree_workers (8) workers on, speculation ranks the outcome tree
    # (plan_needs), not random continuations; the real path is still the sequential one
    fn = F.hartmann3
    seq = NelderMead(3, seed=4)
    run_sequential(seq, fn.unit, 40)
    par = NelderMead(3, seed=4, n_workers=16, speculation=Speculation(refine=False))  # tree alone
    t_par, _ = run_parallel(par, fn.unit, 40, k=16, seed=5)
    assert par.tree
    np.testing.assert_array_equal(np.array([x for x, _ in seq.trajectory[:40]]),
                                  np.array([x for x, _ in par.trajectory[:40]]))
    assert par.stats()["hits"] >= 30  # nearly every step was evaluated before it was needed
    rng = np.random.default_rng(5)
    assert t_par < 0.35 * float(np.sum(rng.lognormal(0, 0.5, 40)))


def test_the_tree_ranks_every_move_of_this_iteration_before_later_ones():
    # a reflection pending: its expansion, outside and inside contraction (the points this
    # iteration may need next) are all planned, a point is never ranked twice, and the free
    # workers get distinct planned points, never the pending reflection
    fn = F.hartmann3
    for seed in range(20):  # a start whose first reflection lies in the box
        core = NelderMead(3, seed=seed, n_workers=16, init_size=0.5,
                          speculation=Speculation(refine=False))  # the tree alone
        init = [core.ask() for _ in range(4)]
        for x in init:
            core.tell(x, fn.unit(x))
        reflection = core.ask()
        if core.machine.phase == "reflect":
            break
    assert core.last_role == "needed" and core.machine.phase == "reflect"
    plan = [k for k, _ in core._speculation()]
    assert len(plan) == len(set(plan))
    m = core.machine
    moves = {point_key(core.snap(m._point(t))) for t in (2.0, 0.5, -0.5)
             if core.resolve(m._point(t)) is not None}
    assert moves and moves <= set(plan)
    assert point_key(reflection) in plan  # pending, still ranked (the tree branches on it)
    spec = [core.ask() for _ in range(15)]
    assert core.last_role == "speculative"
    keys = {point_key(x) for x in spec}
    assert len(keys) == 15 and point_key(reflection) not in keys


def test_many_workers_spare_workers_get_model_points_and_the_path_stays_sequential():
    # tree points unlikely to be needed (probability < refine_below) give way to model-guided
    # points near the incumbent; the simplex path is still the sequential one and every told
    # point is new (never handed out while known or in flight)
    fn = F.hartmann3
    seq = NelderMead(3, seed=4)
    run_sequential(seq, fn.unit, 30)
    core = NelderMead(3, seed=4, n_workers=16)
    run_parallel(core, fn.unit, 20, k=16, seed=5)
    assert core.stats()["asked_model"] > 10
    n = len(core.trajectory)
    np.testing.assert_array_equal(np.array([x for x, _ in seq.trajectory[:n]]),
                                  np.array([x for x, _ in core.trajectory]))
    asked = [point_key(x) for x, _ in core.trajectory]
    assert len(asked) == len(set(asked)) and core.n_told == len(core.cache)


def test_tree_speculation_is_deterministic():
    fn = F.hartmann3
    runs = []
    for _ in range(2):
        core = NelderMead(3, seed=9, n_workers=12)
        run_parallel(core, fn.unit, 20, k=12, seed=2)
        runs.append([point_key(x) for x, _ in core.trajectory] + [str(core.stats())])
    assert runs[0] == runs[1]


def test_refine_below_defaults_by_the_number_of_workers():
    assert NelderMead(3, n_workers=16).refine_below == 0.8
    assert NelderMead(3, n_workers=64).refine_below == 0.5
    assert NelderMead(3, n_workers=64, speculation=Speculation(refine_below=0.3)).refine_below == 0.3
    with pytest.raises(ValueError):
        Speculation(refine_below=1.5)
