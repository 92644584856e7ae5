from __future__ import annotations

import numpy as np

from tansaku.algorithms import Dim
from tansaku.algorithms._coordinate import CoordinateSearch
from tansaku.algorithms._trajectory import point_key
from tansaku.testing import functions as F


def run(core, f, n):
    asked = []
    for _ in range(n):
        x = core.ask()
        asked.append(x)
        core.tell(x, f(x))
    return asked


def test_polls_one_axis_at_a_time_and_halves_the_step():
    # optimum at the centre, the start: no axis improves, so after the first sweep (2d polls)
    # the step halves, and every poll moves a single coordinate by +-step
    f = lambda x: float(np.sum((x - 0.5) ** 2))  # noqa: E731
    core = CoordinateSearch(2, seed=0, step=0.25)
    asked = run(core, f, 1 + 4)
    np.testing.assert_allclose(asked, [[0.5, 0.5], [0.75, 0.5], [0.25, 0.5], [0.5, 0.75], [0.5, 0.25]])
    assert core.step == 0.125
    asked = run(core, f, 4)
    np.testing.assert_allclose(asked, [[0.625, 0.5], [0.375, 0.5], [0.5, 0.625], [0.5, 0.375]])
    assert core.step == 0.0625


def test_moves_on_improvement_and_goes_on_with_the_next_axis():
    f = lambda x: (x[0] - 0.8) ** 2 + (x[1] - 0.5) ** 2  # noqa: E731
    core = CoordinateSearch(2, seed=0, step=0.25)
    asked = run(core, f, 3)
    # start, +x improves (moves to 0.75), then axis 1 from the new point
    np.testing.assert_allclose(asked, [[0.5, 0.5], [0.75, 0.5], [0.75, 0.75]])


def test_converges_and_restarts_when_the_step_is_tiny():
    fn = F.sphere(3)
    core = CoordinateSearch(3, seed=1, xtol=1e-3)
    run(core, fn.unit, 400)
    assert fn.regret(core.best_y) < 1e-5
    assert core.restarts >= 1


def test_discrete_axes_cost_nothing_below_the_level_spacing():
    dims = [Dim("discrete", 5), Dim("discrete", 4)]
    core = CoordinateSearch(dims, seed=0)
    f = lambda x: float(np.sum((x - 0.3) ** 2))  # noqa: E731
    asked = run(core, f, 20)
    keys = [point_key(x) for x in asked]
    assert len(set(keys)) == len(keys)  # 20 distinct grid points (the grid has 20)
    assert core.ask() is not None or core.exhausted


def test_out_of_box_polls_are_skipped():
    f = lambda x: float(np.sum((x - 1.0) ** 2))  # noqa: E731
    core = CoordinateSearch(2, seed=0, step=0.4)
    asked = np.array(run(core, f, 60))
    assert asked.min() >= 0.0 and asked.max() <= 1.0
    assert core.best_y < 1e-3
