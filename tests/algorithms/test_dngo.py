from __future__ import annotations

import numpy as np
import pytest

from tansaku.algorithms._blr import BLR, LogisticLaplace
from tansaku.algorithms._dngo import DNGOOptimizer
from tansaku.algorithms._mlp import MLP
from tansaku.algorithms._types import Dim
from tansaku.testing import functions as F


@pytest.mark.parametrize(("alpha", "beta"), [(4.0, 100.0), (0.25, 10.0)])
def test_blr_evidence_maximisation_recovers_alpha_and_beta(alpha: float, beta: float) -> None:
    rng = np.random.default_rng(0)
    n, d = 4000, 40
    phi = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(alpha)
    y = phi @ w + rng.standard_normal(n) / np.sqrt(beta)
    blr = BLR().fit(phi, y)
    assert blr.beta == pytest.approx(beta, rel=0.1)
    assert blr.alpha == pytest.approx(alpha, rel=0.5)  # only d = 40 weights inform alpha
    mu, var = blr.predict(phi[:5])
    assert np.allclose(mu, phi[:5] @ w, atol=5 / np.sqrt(beta))
    assert np.all(var > 0) and np.all(var < 1 / beta)


def test_blr_fits_the_quadratic_prior_mean() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((500, 2))
    q = (x - 0.5) ** 2
    phi = np.concatenate([np.sin(3 * x), np.ones((500, 1))], axis=1)
    y = q @ np.array([4.0, 0.0]) + 0.3 * phi[:, 0] + 0.01 * rng.standard_normal(500)
    blr = BLR().fit(phi, y, q)
    assert blr.lam[0] == pytest.approx(4.0, rel=0.05)
    assert blr.lam[1] < 0.2


def test_logistic_laplace_separates_and_is_uncertain_far_away() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, 300)
    phi = np.stack([x, np.ones_like(x)], axis=1)
    model = LogisticLaplace().fit(phi, x < 0.2)
    lp = model.log_prob(np.array([[-0.8, 1.0], [0.8, 1.0]]))
    assert np.exp(lp[0]) > 0.9 and np.exp(lp[1]) < 0.1


def test_mlp_learns_a_smooth_function() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200, 2))
    y = np.sin(3 * x[:, 0]) + x[:, 1] ** 2
    net = MLP(2, (50, 50, 50), 2, rng)
    before = np.mean((net.forward(x)[:, 0] - y) ** 2)
    net.train(x, y, np.ones(200, dtype=bool), rng, steps=1500)
    assert np.mean((net.forward(x)[:, 0] - y) ** 2) < 0.02 * before


def _run(opt: DNGOOptimizer | None, f: F.TestFunction, budget: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    best = np.inf
    for _ in range(budget):
        x = rng.random(f.dim) if opt is None else opt.ask()
        y = f.unit(x)
        if opt is not None:
            opt.tell(x, y)
        best = min(best, y)
    return f.regret(best)


@pytest.mark.slow
def test_dngo_beats_random_search_on_branin() -> None:
    dngo = [_run(DNGOOptimizer([Dim(), Dim()], seed=s, n_candidates=512), F.branin, 25, s) for s in range(2)]
    rnd = [_run(None, F.branin, 25, 50 + s) for s in range(6)]
    assert np.mean(dngo) < np.mean(rnd)


def test_dngo_learns_to_avoid_a_crashing_region() -> None:
    """The objective crashes (inf) for x0 > 0.5; the optimum of the smooth part lies beyond."""

    def f(u: np.ndarray) -> float:
        return np.inf if u[0] > 0.5 else float((u[0] - 0.9) ** 2 + (u[1] - 0.5) ** 2)

    opt = DNGOOptimizer([Dim(), Dim()], seed=0, n_startup=8, n_candidates=512)
    crashed = []
    for i in range(35):
        x = opt.ask()
        opt.tell(x, f(x))
        if i >= 15:
            crashed.append(bool(x[0] > 0.5))
    # with failures treated as unknown the sampler would keep probing x0 > 0.5 (EI is highest
    # there); the feasibility head must keep most late proposals in the feasible half
    assert np.mean(crashed) < 0.3


def test_pending_fantasies_make_proposals_distinct() -> None:
    opt = DNGOOptimizer([Dim(), Dim()], seed=0, n_candidates=512)
    rng = np.random.default_rng(3)
    for _ in range(15):
        x = rng.random(2)
        opt.tell(x, F.branin.unit(x))
    batch: list[np.ndarray] = []
    for _ in range(4):
        batch.append(opt.ask(np.array(batch) if batch else None))
    b = np.array(batch)
    dist = np.sqrt(((b[:, None] - b[None]) ** 2).sum(-1))[np.triu_indices(4, 1)]
    assert dist.min() > 1e-3
    assert np.allclose(opt.ask(None), opt.ask(None))  # without pending: the same point again


def test_categorical_dims_decode_to_valid_choices() -> None:
    dims = [Dim(), Dim("categorical", 4)]
    opt = DNGOOptimizer(dims, seed=1, n_startup=5, n_candidates=256)
    for _ in range(12):
        x = opt.ask()
        assert np.any(np.isclose(x[1], (np.arange(4) + 0.5) / 4))
        opt.tell(x, (x[0] - 0.2) ** 2 + (0.0 if x[1] < 0.25 else 1.0))


def test_dngo_is_deterministic_with_a_seed_and_rebuilt_by_replay() -> None:
    def run(seed: int) -> tuple[DNGOOptimizer, list[np.ndarray]]:
        opt = DNGOOptimizer([Dim()] * 2, seed=seed, n_startup=5, n_candidates=256)
        xs = []
        for _ in range(9):
            x = opt.ask()
            opt.tell(x, F.branin.unit(x))
            xs.append(x)
        return opt, xs

    a, xa = run(3)
    _, xb = run(3)
    _, xc = run(4)
    assert np.array_equal(np.array(xa), np.array(xb))
    assert not np.allclose(np.array(xa), np.array(xc))
    replay = DNGOOptimizer([Dim()] * 2, seed=3, n_startup=5, n_candidates=256)
    for x in xa:
        replay.tell(x, F.branin.unit(x))
    assert np.allclose(replay.ask(), a.ask())


def _told(opt: DNGOOptimizer, x: np.ndarray, y: np.ndarray) -> DNGOOptimizer:
    for a, b in zip(x, y):
        opt.tell(a, float(b))
    return opt


def test_random_features_keep_the_posterior_uncertain_away_from_the_data() -> None:
    # Trials as Bayesian optimisation leaves them: a few spread out, most crowded around one
    # incumbent.  The network's 50 features alone make BLR confident at points far from all of
    # them (why dngo stayed in Hartmann6's local basin); with the random Fourier features the
    # predictive sd there must grow, and stay small next to the trials.
    f = F.hartmann6
    rng = np.random.default_rng(3)
    x = np.vstack([rng.random((15, 6)), 0.5 + 0.03 * rng.standard_normal((35, 6))])
    y = np.array([f.unit(u) for u in x])
    far = rng.random((300, 6))
    near = x[:10] + 0.01 * rng.standard_normal((10, 6))
    sds = {}
    for m in (0, 128):
        opt = _told(DNGOOptimizer([Dim("continuous")] * 6, seed=0, random_features=m,
                                  weight_decays=(1e-4,)), x, y)
        basis, blr, _, _ = opt.fit()
        sds[m] = {k: float(np.median(np.sqrt(blr.predict(basis(p), opt._q(p))[1])))
                  for k, p in (("far", far), ("near", near))}
    assert sds[128]["far"] > 1.3 * sds[0]["far"]
    assert sds[128]["far"] > 3.0 * sds[128]["near"]


def test_weight_decay_is_chosen_by_cross_validation() -> None:
    # Ackley-10D seen at 60 random points: its ripples are noise to a network this small, and a
    # strongly regularised one predicts held-out points better (the selection picks it); on a
    # smooth quadratic every candidate predicts well and the ties go to the first listed.
    dims = [Dim("continuous")] * 10
    rng = np.random.default_rng(0)
    x = rng.random((60, 10))
    ackley = _told(DNGOOptimizer(dims, seed=0, n_startup=60), x, np.array([F.ackley(10).unit(u) for u in x]))
    assert ackley._weight_decay() == 1e-1
    bowl = _told(DNGOOptimizer(dims, seed=0, n_startup=60, weight_decays=(1e-4, 1e4)), x,
                 np.sum((x - 0.3) ** 2, axis=1))
    assert bowl._weight_decay() == 1e-4
    fixed = _told(DNGOOptimizer(dims, seed=0, weight_decays=(1e-2,)), x, np.zeros(60))
    assert fixed._weight_decay() == 1e-2


def test_network_is_fine_tuned_at_tuning_points_only_and_replays_exactly() -> None:
    """Past ``tune_every_until`` trials the network is fine-tuned in 2% steps and the asks in
    between only refit the regression (with many workers: one training per batch of tells); the
    tuned network depends only on n and the seed, so a replayed core asks the same point."""
    opt = DNGOOptimizer([Dim()] * 2, seed=0, n_startup=5, n_candidates=64, scratch_epochs=5,
                        min_steps=20, weight_decays=(1e-2,), random_features=0, tune_every_until=12)
    assert [opt.tune_point(n) for n in (5, 12, 40, 52, 59, 60, 61)] == [5, 12, 40, 51, 59, 59, 61]
    rng = np.random.default_rng(0)
    xs = rng.random((70, 2))
    calls: list[int] = []
    train = MLP.train

    def counting(self: MLP, *args: object, **kwargs: object) -> None:
        calls.append(1)
        train(self, *args, **kwargs)  # type: ignore[arg-type]

    MLP.train = counting  # type: ignore[method-assign]
    try:
        for x in xs[:59]:
            opt.tell(x, F.branin.unit(x))
        opt.ask()
        before = len(calls)
        opt.tell(xs[59], F.branin.unit(xs[59]))
        opt.ask(xs[61:63])  # n = 60: tuning point still 59, no training
        assert len(calls) == before
        opt.tell(xs[60], F.branin.unit(xs[60]))
        opt.ask()  # n = 61 is a tuning point: one fine-tuning
        assert len(calls) == before + 1
    finally:
        MLP.train = train  # type: ignore[method-assign]
    opt.tell(xs[61], F.branin.unit(xs[61]))
    replay = DNGOOptimizer([Dim()] * 2, seed=0, n_startup=5, n_candidates=64, scratch_epochs=5,
                           min_steps=20, weight_decays=(1e-2,), random_features=0,
                           tune_every_until=12)
    for x in xs[:62]:
        replay.tell(x, F.branin.unit(x))
    pend = xs[63:66]
    assert np.allclose(opt.ask(pend), replay.ask(pend), atol=1e-10)
