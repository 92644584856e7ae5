from __future__ import annotations

import math

import numpy as np

from tansaku.algorithms._nelder_mead import NelderMead
from tansaku.algorithms._surrogate import SimpleGP
from tansaku.algorithms._trajectory import Speculation, point_key


def test_first_value_wins_nan_is_worst_and_foreign_points_are_kept():
    core = NelderMead(2, seed=0)
    core.tell([0.1, 0.2], math.nan)
    core.tell([0.1, 0.2], 0.0)  # a repeat: ignored
    core.tell([0.3, 0.3], 1.0)
    assert core.best_y == 1.0 and core.n_told == 2
    core.start()
    verts, _ = core.simplex
    # told before the start: both became vertices, best first; only the third is asked for
    assert point_key(verts[0]) == point_key(np.array([0.3, 0.3]))
    assert point_key(verts[1]) == point_key(np.array([0.1, 0.2]))
    third = core.ask()
    assert point_key(third) == point_key(verts[2]) and core.last_role == "needed"
    core.tell(third, 2.0)
    _, vals = core.simplex
    assert vals[0] == 1.0 and math.isinf(vals[1]) and vals[2] == 2.0


def test_out_of_order_results_and_replay_give_the_same_path():
    f = lambda x: float(np.sum((x - 0.37) ** 2))  # noqa: E731
    a = NelderMead(3, seed=4, predictive=False)
    for _ in range(40):
        x = a.ask()
        a.tell(x, f(x))
    # a fresh core told the same points in another order walks the same path
    b = NelderMead(3, seed=4)
    b.start()
    pts = [x for x, _ in a.trajectory]
    for x in reversed(pts):
        b.tell(x, f(x))
    np.testing.assert_array_equal([x for x, _ in a.trajectory], [x for x, _ in b.trajectory])
    np.testing.assert_array_equal(a.ask(), b.ask())


def test_speculation_is_deterministic_and_uses_the_surrogate():
    f = lambda x: float(np.sum((x - 0.6) ** 2))  # noqa: E731

    def run():
        core = NelderMead(2, seed=1, n_workers=3, speculation=Speculation(n_simulations=16))
        out = [core.ask() for _ in range(3)]  # initial simplex
        core.tell(out[0], f(out[0]))
        core.tell(out[1], f(out[1]))
        out += [core.ask() for _ in range(3)]  # the third vertex is pending: speculate
        return np.array(out), core

    a, core = run()
    b, _ = run()
    np.testing.assert_array_equal(a, b)
    assert core.stats()["asked_speculative"] >= 2


def test_simple_gp_fits_and_is_uncertain_away_from_data():
    rng = np.random.default_rng(0)
    x = rng.random((30, 2))
    y = np.sin(3 * x[:, 0]) + x[:, 1] ** 2
    gp = SimpleGP()
    gp.fit(x, y)
    mean, std = gp.predict(x)
    assert np.max(np.abs(mean - y)) < 0.05
    _, far = gp.predict(np.array([[3.0, 3.0]]))
    assert far[0] > 5 * np.max(std)
    m2, cov = gp.joint(x[:3])
    np.testing.assert_allclose(m2, mean[:3])
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), std[:3], rtol=1e-6, atol=1e-9)
    gp.fit(x, np.where(np.arange(30) % 5 == 0, np.inf, y))  # failures do not break the fit
    assert np.all(np.isfinite(gp.predict(x)[0]))


def test_rank_warp_is_monotone_and_round_trips():
    from tansaku.algorithms._predictive import RankWarp

    y = np.array([3.0, -1.0, 10.0, 2.0, np.inf, 2.0])
    w = RankWarp(y)
    order = np.argsort(np.where(np.isfinite(y), y, 1e9), kind="stable")
    assert np.all(np.diff(w.z[order]) >= 0)  # ranks keep the order (ties share a score)
    for v, z in zip(y[:4], w.z[:4]):
        assert w.back(z) == v
    zs = np.linspace(-4, 4, 41)
    back = [w.back(z) for z in zs]
    assert np.all(np.diff(back) >= 0) and back[0] < -1.0  # monotone, extrapolates beyond the data


def test_every_warp_gives_a_ranking():
    f = lambda x: float(np.sum((x - 0.6) ** 2))  # noqa: E731
    for warp in ("none", "rank", "both"):
        core = NelderMead(2, seed=1, n_workers=3, speculation=Speculation(n_simulations=8, warp=warp))
        pts = [core.ask() for _ in range(3)]
        for p in pts[:2]:
            core.tell(p, f(p))
        extra = core.ask()
        assert core.last_role == "speculative" and point_key(extra) not in {point_key(p) for p in pts}
