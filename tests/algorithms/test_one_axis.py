from __future__ import annotations

import itertools

import numpy as np
import pytest

from tansaku.algorithms import Dim
from tansaku.algorithms._one_axis import OneAxisSearch, grid_axes
from tansaku.algorithms._smoothing import smooth_levels
from tansaku.algorithms._trajectory import point_key

SIZES = (6, 7, 5)


def separable(seed):
    rng = np.random.default_rng(seed)
    tables = []
    for n in SIZES:
        u = np.linspace(0, 1, n)
        c = rng.uniform(0, 1)
        tables.append((u - c) ** 2 + 0.1 * np.sin(9 * u + rng.uniform(0, 6)))
    best = sum(t.min() for t in tables)

    def f(x):
        idx = [min(int(v * n), n - 1) for v, n in zip(x, SIZES)]
        return float(sum(t[i] for t, i in zip(tables, idx)))

    return f, best


def test_finds_the_optimum_of_a_separable_grid_with_few_evaluations():
    total = int(np.prod(SIZES))
    used = []
    for seed in range(5):
        f, best = separable(seed)
        core = OneAxisSearch([Dim("discrete", n) for n in SIZES], seed=seed)
        for n in range(1, total + 1):
            x = core.ask()
            y = f(x)
            core.tell(x, y)
            if y <= best + 1e-12:
                used.append(n)
                break
        else:
            pytest.fail(f"seed {seed}: optimum not found")
    assert np.median(used) < total / 4, used


def test_batches_of_k_points_on_one_line():
    f, _ = separable(0)
    core = OneAxisSearch([Dim("discrete", n) for n in SIZES], seed=0, batch=3, init="center")
    first = core.ask()  # the start point alone
    core.tell(first, f(first))
    batch = [core.ask() for _ in range(3)]
    assert {core.last_role} == {"needed"}
    moving = [np.flatnonzero(~np.isclose(b, first)) for b in batch]
    axes = {tuple(m) for m in moving}
    assert len(axes) == 1 and len(next(iter(axes))) == 1  # one axis, three levels on it


def test_categorical_axis_tries_every_choice_and_grid_exhaustion_stops():
    dims = [Dim("categorical", 3), Dim("discrete", 2)]
    core = OneAxisSearch(dims, seed=0)
    seen = set()
    for _ in range(6):
        x = core.ask()
        assert x is not None
        seen.add(point_key(x))
        core.tell(x, float(x[0] + x[1]))
    assert len(seen) == 6
    assert core.ask() is None  # all 6 grid points known


def test_continuous_dims_use_the_documented_levels():
    core = OneAxisSearch([Dim("continuous"), Dim("discrete", 4)], seed=0, levels=5)
    np.testing.assert_allclose(core.axes[0], [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(core.axes[1], [0.125, 0.375, 0.625, 0.875])
    assert len(grid_axes([Dim("continuous")])[0]) == 11
    long = OneAxisSearch([Dim("discrete", 1000)], seed=0, max_levels=20)
    assert len(long.axes[0]) == 20


def test_smoothing_spline_interpolates_and_extrapolates_a_line():
    s = smooth_levels(9, [0, 2, 4], [0.0, 2.0, 4.0])
    np.testing.assert_allclose(s, np.arange(9.0), atol=1e-6)
    # a parabola observed at 5 of 11 levels: the minimum is placed right
    lev = np.arange(11)
    y = (lev - 6.0) ** 2
    s = smooth_levels(11, [0, 3, 5, 8, 10], y[[0, 3, 5, 8, 10]])
    assert int(np.argmin(s)) in (5, 6, 7)
    assert np.all(np.isfinite(smooth_levels(5, [1, 3], [1.0, np.inf])))
    with pytest.raises(ValueError):
        smooth_levels(5, [], [])


def test_same_seed_same_path():
    f, _ = separable(3)

    def path(seed):
        core = OneAxisSearch([Dim("discrete", n) for n in SIZES], seed=seed, init="random")
        out = []
        for _ in range(30):
            x = core.ask()
            out.append(x)
            core.tell(x, f(x))
        return np.array(out)

    np.testing.assert_array_equal(path(1), path(1))
    assert not np.array_equal(path(1), path(2))
    assert len(list(itertools.islice(path(1), 30))) == 30
