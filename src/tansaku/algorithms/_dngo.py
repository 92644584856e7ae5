"""DNGO core (Snoek et al. 2015, "Scalable Bayesian optimization using deep neural networks").

A 3 x 50 tanh network (:mod:`._mlp`) is trained on the trials; Bayesian linear regression
(:mod:`._blr`) on its last hidden layer, with a quadratic prior mean centred in the box and
``alpha``, ``beta`` by marginal likelihood, gives a predictive Gaussian; the acquisition is log-EI
plus ``log P(feasible)`` from a Laplace logistic head on the same features, fitted on every trial
(a failed trial is ``tell(x, inf)``), so regions that crash are learned and avoided.  Failed trials
also enter the regression at the worst value seen (as SMAC imputes them): a network extrapolating
into an unexplored crashing region is otherwise so optimistic there that EI outweighs any
moderated ``P(feasible)``.

Two additions to the paper's model, each measured on tuning seeds (100-105) of the benchmark
functions before the benchmark's own seeds were run (``benchmarks/RESULTS.md``):

* **random Fourier features** (``random_features``: 0 here, the paper's basis; the ``dngo``
  sampler passes 128): the BLR basis is
  the network's last hidden layer, a constant *and* random Fourier features of a squared-exponential
  kernel (Rahimi & Recht 2007) whose length scale and amplitude are chosen by the BLR evidence
  once per schedule point.  The network's 50 features alone leave the posterior confident at
  points far from every trial once a few dozen trials crowd around an incumbent (Hartmann6 at
  n = 60: predictive sd 0.07-0.16 of the targets' sd at random points, where a GP's is 0.5-0.96),
  so EI stays in the incumbent's basin.  When the evidence favours a short length scale, the
  features widen that sd (0.09 -> 0.24 and 0.16 -> 0.68 on two such seeds) and the mean can
  point at an unexplored basin; when it favours a long, faint map, little changes.  The cost stays
  ``O(n D^2)`` with ``D = 51 + 128``.
* **weight decay by cross-validation** (``weight_decays``, 1e-4, 1e-2, 1e-1): how smooth the
  network should be depends on the objective (see :meth:`DNGOOptimizer._weight_decay`).

Cost is linear in the number of trials ``n``:

* the network for ``n`` trials is a *warm start*: a checkpoint trained from scratch (seeded by
  ``(seed, s)``) at schedule points ``s`` (every 10% growth of ``n``), fine-tuned on the first
  ``t`` trials for ``finetune_epochs`` epochs (Adam, mini-batches of 64, never fewer than
  ``min_steps`` = 800 steps, so small ``n`` still gets a trained network).  The tuning point
  ``t`` is ``n`` itself up to ``tune_every_until`` (256) trials and then advances in 2% steps
  (:meth:`DNGOOptimizer.tune_point`); the Bayesian regression on the network's features always
  uses all ``n`` trials.  So with many workers the network is trained once per batch of tells,
  not for every ask (2,000 finished and 256 pending: ~0.2 s per ask between tuning points
  instead of ~0.5 s).  Scratch training costs ``scratch_epochs * s`` samples once per 10%
  growth, fine-tuning ``finetune_epochs * t`` per new tuning point.  Because the checkpoint and
  the tuned network depend only on the first ``s`` and ``t`` trials and the seed, replaying the
  trials after a resume rebuilds exactly the same network;
* BLR and the logistic head cost ``O(n D^2)`` with ``D = 179`` basis functions;
* the weight-decay selection trains ``folds x len(weight_decays)`` networks on at most
  ``select_max_points`` trials at every 25% growth of ``n``.

Pending points: ``n_fantasies`` draws of their values from the BLR predictive; the acquisition
averages EI over the conditioned posteriors (shared covariance, one mean per fantasy).  The
acquisition is maximised over a Sobol set plus perturbations of the best points, then a second,
finer round of perturbations around the best candidates (no gradients through the network).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from tansaku.algorithms._acquisition import candidates, log_ei, logmeanexp, mask_seen, snap
from tansaku.algorithms._blr import BLR, LogisticLaplace
from tansaku.algorithms._gp import seed_int, transform_targets
from tansaku.algorithms._mlp import MLP
from tansaku.algorithms._types import Dim

__all__ = ["DNGOOptimizer"]

Basis = Callable[[np.ndarray], np.ndarray]  # points in the unit cube -> basis functions (B, D)

# random-feature maps tried at each schedule point (length scale on the encoded inputs, which
# span [-1, 1]; amplitude relative to the network features), the best by BLR evidence is used
_FOURIER_LENGTHSCALES = (0.25, 0.5, 1.0, 2.0)
_FOURIER_AMPLITUDES = (0.3, 1.0, 3.0)


@dataclass(frozen=True)
class _Fourier:
    """Random Fourier features ``amp * sqrt(2/M) cos(e W + b)`` of a squared-exponential kernel
    (Rahimi & Recht 2007): ``W ~ N(0, 1/ls^2)``, ``b ~ U(0, 2 pi)``."""

    w: np.ndarray
    phase: np.ndarray
    amp: float

    def __call__(self, e: np.ndarray) -> np.ndarray:
        return self.amp * np.sqrt(2.0 / self.w.shape[1]) * np.cos(e @ self.w + self.phase)


class DNGOOptimizer:
    """Sequential DNGO over ``[0, 1]^d``; ``ask(pending)`` / ``tell(x, y)``, minimises."""

    def __init__(
        self,
        dims: Sequence[Dim],
        *,
        seed: int | None = None,
        n_startup: int = 10,
        hidden: Sequence[int] = (50, 50, 50),
        scratch_epochs: int = 300,
        finetune_epochs: int = 20,
        min_steps: int = 800,
        n_candidates: int = 2048,
        n_fantasies: int = 8,
        batch: int = 64,
        weight_decays: Sequence[float] = (1e-4, 1e-2, 1e-1),
        select_folds: int = 3,
        select_growth: float = 1.25,
        select_max_points: int = 400,
        random_features: int = 0,
        tune_every_until: int = 256,
    ) -> None:
        self.dims = list(dims)
        #: rows -> rows as they will be told (conditional spaces; see GPOptimizer.canonical)
        self.canonical: Callable[[np.ndarray], np.ndarray] | None = None
        self.batch = int(batch)
        self.d = len(self.dims)
        self.seed = seed_int(seed)
        self.n_startup = max(1, int(n_startup))
        self.hidden = tuple(int(h) for h in hidden)
        self.scratch_epochs = int(scratch_epochs)
        self.finetune_epochs = int(finetune_epochs)
        self.min_steps = int(min_steps)
        self.n_candidates = int(n_candidates)
        self.n_fantasies = int(n_fantasies)
        self.quad = np.array([dm.kind != "categorical" for dm in self.dims])
        self.n_inputs = self.encode(np.zeros((1, self.d))).shape[1]  # network input width
        self._x: list[np.ndarray] = []
        self._y: list[float] = []
        self.weight_decays = tuple(float(w) for w in weight_decays)
        if not self.weight_decays or any(not (w >= 0.0) for w in self.weight_decays):
            raise ValueError(f"weight_decays must be non-negative numbers, got {weight_decays!r}")
        self.select_folds = int(select_folds)
        self.select_growth = float(select_growth)
        self.select_max_points = int(select_max_points)
        # (schedule point, weight decay, network, random-feature map chosen for that network)
        self._checkpoint: tuple[int, float, MLP, _Fourier | None] | None = None
        self._selected: tuple[int, float] | None = None  # (selection point, weight decay)
        self.random_features = int(random_features)
        self._fitted: tuple[int, Basis, BLR, LogisticLaplace | None, float] | None = None
        self.tune_every_until = int(tune_every_until)
        # ((schedule point, weight decay, tune point), the checkpoint fine-tuned on that many)
        self._tuned: tuple[tuple[int, float, int], MLP] | None = None
        self._sobol: np.ndarray | None = None

    # -- data ----------------------------------------------------------------------------------
    def tell(self, x: np.ndarray, y: float) -> None:
        self._x.append(snap(np.asarray(x, dtype=float).reshape(self.d), self.dims))
        self._y.append(float(y))

    @property
    def n_told(self) -> int:
        return len(self._x)

    def model_ready(self) -> bool:
        return int(np.sum(np.isfinite(self._y))) >= max(self.n_startup, 2)

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *key])

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Network inputs: ``2x - 1`` for ordered coordinates, one-hot for categorical ones."""
        parts = []
        for j, dm in enumerate(self.dims):
            if dm.kind == "categorical" and dm.levels:
                k = dm.levels
                idx = np.clip((np.clip(x[:, j], 0, 1) * k).astype(int), 0, k - 1)
                parts.append(np.eye(k)[idx])
            else:
                parts.append(2.0 * x[:, j : j + 1] - 1.0)
        return np.concatenate(parts, axis=1)

    def _q(self, x: np.ndarray) -> np.ndarray:
        return (x[:, self.quad] - 0.5) ** 2

    def _phi(self, net: MLP, x: np.ndarray, fourier: _Fourier | None = None) -> np.ndarray:
        """Basis functions: the network's last hidden layer, a constant, and (if given) the
        random Fourier features."""
        e = self.encode(x)
        h = net.features(e)
        parts = [h, np.ones((h.shape[0], 1))]
        if fourier is not None:
            parts.append(fourier(e))
        return np.concatenate(parts, axis=1)

    def _choose_fourier(self, net: MLP, s: int) -> _Fourier | None:
        """The random-feature map (length scale, amplitude) with the highest BLR evidence on the
        first ``s`` trials with the checkpoint network: depends only on those trials and the seed
        (so a replay chooses the same), and is chosen once per schedule point."""
        if self.random_features <= 0:
            return None
        x = np.asarray(self._x[:s])
        y = np.asarray(self._y[:s])
        t = self._targets(y, np.isfinite(y))
        g = self._rng(6)
        base = g.standard_normal((self.n_inputs, self.random_features))
        phase = g.uniform(0.0, 2.0 * np.pi, self.random_features)
        best, choice = -np.inf, None
        for ls in _FOURIER_LENGTHSCALES:
            for amp in _FOURIER_AMPLITUDES:
                fourier = _Fourier(base / ls, phase, amp)
                blr = BLR().fit(self._phi(net, x, fourier), t, self._q(x))
                ev = blr.log_evidence(np.log(blr.alpha), np.log(blr.beta), blr.lam)
                if ev > best:
                    best, choice = ev, fourier
        return choice

    @staticmethod
    def schedule_point(n: int, start: int, growth: float = 1.1) -> int:
        """The largest ``start * growth^k`` (rounded up, at least one more each time) ``<= n``:
        checkpoints at 10% growth, weight-decay selections at ``select_growth``."""
        s = max(2, start)
        while max(s + 1, int(np.ceil(s * growth))) <= n:
            s = max(s + 1, int(np.ceil(s * growth)))
        return min(s, n)

    def tune_point(self, n: int) -> int:
        """The largest fine-tuning point ``<= n``: every ``n`` up to ``tune_every_until``, then
        steps of 2% (at 2,000 trials the network is fine-tuned every 40 and the trials in
        between only refit the regression on its features)."""
        t = self.tune_every_until
        if n <= t:
            return n
        while t + int(np.ceil(0.02 * t)) <= n:
            t += int(np.ceil(0.02 * t))
        return t

    # -- model ---------------------------------------------------------------------------------
    def _targets(self, y: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Power-transformed values; failures get the worst transformed value."""
        t = np.zeros_like(y)
        t[ok] = transform_targets(y[ok], "power")
        t[~ok] = np.max(t[ok]) if ok.any() else 0.0
        return t

    def _train(self, net: MLP, n: int, epochs: int, rng: np.random.Generator, weight_decay: float,
               keep: np.ndarray | None = None) -> MLP:
        x = np.asarray(self._x[:n])
        y = np.asarray(self._y[:n])
        ok = np.isfinite(y)
        t = self._targets(y, ok)
        if keep is not None:
            x, t, ok = x[keep], t[keep], ok[keep]
        steps = max(self.min_steps, int(np.ceil(epochs * len(x) / self.batch)))
        net.train(self.encode(x), t, np.ones_like(ok), rng, steps=steps, batch=self.batch, feasible=ok,
                  weight_decay=weight_decay)
        return net

    def _weight_decay(self) -> float:
        """The network's weight decay, chosen by cross-validation at selection points.

        How smooth the network should be depends on the objective: a weight decay of ``1e-4``
        lets the features follow a rugged function closely, ``1e-1`` keeps them near a smooth
        trend (on Ackley-10D the held-out rank correlation at 80 random points is 0.59 with
        ``1e-1`` and about 0 with ``1e-4``; on Hartmann6 the small value is as good or better).
        So at every ``select_growth`` growth of the data, the first ``m`` trials (at most
        ``select_max_points`` of them, a seeded subset) are split into ``select_folds`` folds;
        for each candidate weight decay a network is trained from scratch without each fold, BLR
        on its features predicts the fold, and the candidate with the lowest held-out squared
        error of the predictive mean wins (ties: the first listed).  The choice depends only on
        the first ``m`` trials and the seed, so a replay after resume makes the same one."""
        if len(self.weight_decays) == 1 or self.select_folds < 2:
            return self.weight_decays[0]
        m = self.schedule_point(self.n_told, self.n_startup, self.select_growth)
        if self._selected is not None and self._selected[0] == m:
            return self._selected[1]
        y = np.asarray(self._y[:m])
        ok = np.isfinite(y)
        t = self._targets(y, ok)
        x = np.asarray(self._x[:m])
        rng = self._rng(4, m)
        use = np.zeros(m, dtype=bool)
        use[rng.permutation(m)[: self.select_max_points]] = True
        folds = np.full(m, -1)
        folds[use] = rng.permutation(int(use.sum())) % self.select_folds
        errors = []
        for wd in self.weight_decays:
            sse = 0.0
            for f in range(self.select_folds):
                keep = use & (folds != f)
                held = (folds == f) & ok
                if not held.any() or keep.sum() < 2:
                    continue
                net_rng = self._rng(5, m, f)
                net = MLP(self.n_inputs, self.hidden, 2, net_rng)
                self._train(net, m, self.scratch_epochs, net_rng, wd, keep=keep)
                blr = BLR().fit(self._phi(net, x[keep]), t[keep], self._q(x[keep]))
                mu, _ = blr.predict(self._phi(net, x[held]), self._q(x[held]))
                sse += float(np.sum((t[held] - mu) ** 2))
            errors.append(sse)
        chosen = self.weight_decays[int(np.argmin(errors))]
        self._selected = (m, chosen)
        return chosen

    def fit(self) -> tuple[Basis, BLR, LogisticLaplace | None, float]:
        """The model for all told data (cached per ``n``)."""
        n = self.n_told
        if self._fitted is not None and self._fitted[0] == n:
            return self._fitted[1:]
        s = self.schedule_point(n, self.n_startup)
        wd = self._weight_decay()
        if self._checkpoint is None or self._checkpoint[:2] != (s, wd):
            rng = self._rng(1, s)
            net = MLP(self.n_inputs, self.hidden, 2, rng)
            net = self._train(net, s, self.scratch_epochs, rng, wd)
            self._checkpoint = (s, wd, net, self._choose_fourier(net, s))
        tune = max(s, self.tune_point(n))
        if self._tuned is None or self._tuned[0] != (s, wd, tune):
            net = self._checkpoint[2].copy()
            if tune > s:
                net = self._train(net, tune, self.finetune_epochs, self._rng(2, tune), wd)
            self._tuned = ((s, wd, tune), net)
        net, fourier = self._tuned[1], self._checkpoint[3]
        x = np.asarray(self._x)
        y = np.asarray(self._y)
        ok = np.isfinite(y)
        t = self._targets(y, ok)
        def basis(xq: np.ndarray) -> np.ndarray:
            return self._phi(net, xq, fourier)

        phi = basis(x)
        blr = BLR().fit(phi, t, self._q(x))
        feas = LogisticLaplace().fit(phi, ok) if (~ok).any() else None
        best = float(np.min(t[ok]))
        self._fitted = (n, basis, blr, feas, best)
        return basis, blr, feas, best

    # -- ask -----------------------------------------------------------------------------------
    def _startup_point(self, index: int) -> np.ndarray:
        if self._sobol is None or self._sobol.shape[0] <= index:
            m = max(4, int(np.ceil(np.log2(index + 1))) + 1)
            self._sobol = qmc.Sobol(self.d, scramble=True, seed=self._rng(0)).random_base2(m)
        return snap(self._sobol[index], self.dims)

    def ask(self, pending: np.ndarray | None = None) -> np.ndarray:
        pend = np.zeros((0, self.d)) if pending is None else np.asarray(pending, dtype=float)
        pend = snap(pend.reshape(-1, self.d), self.dims) if pend.size else np.zeros((0, self.d))
        if not self.model_ready():
            return self._startup_point(self.n_told + len(pend))
        basis, blr, feas, best = self.fit()
        rng = self._rng(3, self.n_told, len(pend))
        means, cov, bests = self._fantasise(basis, blr, best, pend, rng)

        def score(xq: np.ndarray) -> np.ndarray:
            phi = basis(xq)
            mu = phi @ means + (self._q(xq) @ blr.lam)[:, None]  # (B, S)
            sigma = np.sqrt(np.maximum(np.sum((phi @ cov) * phi, axis=1), 1e-12))
            val = logmeanexp(log_ei(mu, sigma[:, None], bests[None, :]), axis=1)
            return val if feas is None else val + feas.log_prob(phi)

        x_all = np.asarray(self._x)
        y_all = np.asarray(self._y)
        top = x_all[np.argsort(np.where(np.isfinite(y_all), y_all, np.inf), kind="stable")[:5]]
        cand = candidates(self.dims, rng, n_sobol=self.n_candidates, centres=top,
                          n_local=self.n_candidates // 2)
        if self.canonical is not None:  # see GPOptimizer.canonical
            cand = snap(self.canonical(cand), self.dims)
        seen = np.concatenate([x_all, pend])
        vals = mask_seen(cand, seen, score(cand))
        # second round: finer perturbations around the best candidates
        order = np.argsort(-vals, kind="stable")[:5]
        fine = cand[order][:, None, :] + 0.01 * rng.standard_normal((5, 100, self.d))
        fine = snap(fine.reshape(-1, self.d), self.dims)
        for j, dm in enumerate(self.dims):  # keep categorical coordinates of the centre
            if dm.kind == "categorical":
                fine[:, j] = np.repeat(cand[order][:, j], 100)
        if self.canonical is not None:
            fine = snap(self.canonical(fine), self.dims)
        cand = np.concatenate([cand, fine])
        vals = np.concatenate([vals, mask_seen(fine, seen, score(fine))])
        return cand[int(np.argmax(vals))]

    def _fantasise(
        self, basis: Basis, blr: BLR, best: float, pend: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(pend) == 0:
            return blr.mean[:, None], blr.cov, np.array([best])
        phi_p = basis(pend)
        q_p = self._q(pend) @ blr.lam
        mu_p = phi_p @ blr.mean + q_p
        cov_p = phi_p @ blr.cov @ phi_p.T + np.eye(len(pend)) / blr.beta
        chol = np.linalg.cholesky(0.5 * (cov_p + cov_p.T) + 1e-10 * np.eye(len(pend)))
        s = max(1, self.n_fantasies)
        y_p = mu_p[:, None] + (chol @ rng.standard_normal((len(pend), s)) if self.n_fantasies else 0.0)
        means, cov = blr.conditioned(phi_p, y_p - q_p[:, None])
        return means, cov, np.minimum(best, np.min(y_p, axis=0))
