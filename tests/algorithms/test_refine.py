"""Model-guided points (algorithms/_refine.py): the quadratic step that resolves the last digits
of a minimum with many workers, and when it gives way to Thompson sampling."""

from __future__ import annotations

import numpy as np

from tansaku.algorithms._refine import quadratic_step, refine_point


def _bowl(d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((d, d))
    h = a @ a.T + np.eye(d)
    x_min = rng.uniform(0.45, 0.55, d)
    return (lambda x: float(0.5 * (x - x_min) @ h @ (x - x_min))), x_min


def test_the_quadratic_step_lands_on_a_quadratics_minimum():
    f, x_min = _bowl(6)
    rng = np.random.default_rng(1)
    centre = x_min + 0.02
    dx = rng.uniform(-0.1, 0.1, (60, 6))
    dx[0] = 0.0
    step = quadratic_step(dx, np.array([f(centre + v) for v in dx]), radius=1.0)
    assert step is not None
    assert np.max(np.abs(centre + step - x_min)) < 1e-9


def test_the_step_is_cut_to_the_radius_and_refused_without_a_minimum():
    f, x_min = _bowl(3)
    rng = np.random.default_rng(2)
    centre = x_min + 0.2
    dx = rng.uniform(-0.05, 0.05, (30, 3))
    y = np.array([f(centre + v) for v in dx])
    step = quadratic_step(dx, y, radius=0.01)
    assert step is not None and abs(np.linalg.norm(step) - 0.01) < 1e-12
    saddle = np.array([v[0] ** 2 - v[1] ** 2 + v[2] ** 2 for v in dx])
    assert quadratic_step(dx, saddle, radius=1.0) is None  # no minimum: Thompson instead
    assert quadratic_step(dx[:14], y[:14], radius=1.0) is None  # 10 coefficients need 15 points


def test_refine_point_proposes_the_quadratic_minimum_once_then_draws_elsewhere():
    f, x_min = _bowl(4, seed=3)
    rng = np.random.default_rng(4)
    x = np.clip(x_min + rng.uniform(-0.05, 0.05, (50, 4)), 0, 1)
    y = np.array([f(v) for v in x])
    first = refine_point(x, y, [], np.random.default_rng(5), snap=lambda v: v)
    assert first is not None and np.max(np.abs(first - x_min)) < 1e-8
    # the same model state with that point in flight: not the same point again (a Thompson draw)
    second = refine_point(x, y, [first], np.random.default_rng(5), snap=lambda v: v)
    assert second is not None and np.linalg.norm(second - first) > 1e-6
