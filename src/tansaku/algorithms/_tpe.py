"""Tree-structured Parzen Estimator (Bergstra et al., NeurIPS 2011) over the unit cube.

TPE ranks the observations, calls the best ``n_below = min(ceil(gamma * n), max_below)`` of them
*good* and the rest *bad*, fits a Parzen mixture ``l(x)`` to the good points and ``g(x)`` to the bad
ones (see :mod:`tansaku.algorithms._parzen` for the kernels of each :class:`Dim` kind), draws
``n_candidates`` points from ``l`` and returns the one maximising ``l(x) / g(x)`` (which is
monotone in expected improvement under the TPE model).

Choices, each a documented option (defaults in brackets):

* ``multivariate`` [True]: one joint kernel per observation (product over dims), candidates scored
  jointly; ``False`` is the original independent TPE (one mixture and one argmax per dimension).
* ``gamma`` [0.2], ``max_below`` [25], ``n_candidates`` [64], ``weights_below`` ["ei"]: a good
  point's weight is its improvement over the best bad point (``"ei"``, so the best points pull
  hardest) or 1 (``"uniform"``), times the weight told with the point (``tell(weight=)``,
  1 unless the caller has its own rule).  Hyperopt/Optuna use 0.1 (Optuna) or 0.25*sqrt(n), 24 and
  uniform; the defaults here were chosen on separate tuning seeds of the benchmark functions
  (``benchmarks/tpe_regret.py``), where they cut the median regret roughly in half.
* bandwidths: Hyperopt's neighbour rule per dimension (``"neighbor"``) or Scott's rule
  (``"scott"``: ``std * K**(-1 / (d + 4))``); both clipped to
  ``[max(min_bandwidth, 1 / min(100, K + 1)), 1]`` (the "magic clip") when ``magic_clip``.
  Categorical kernels keep their own category with probability ``1 - eps``,
  ``eps = (1 - 1/k) * min(1, cat_smoothing / min(100, K + 1))`` [cat_smoothing=4]: wide while the
  set is small, so a joint kernel does not lock onto the first good category (with 1 instead of 4,
  the mixed-space test problem of ``tests/samplers/test_tpe_sampler.py`` ended on a wrong
  category in about a third of the runs).
* every mixture has a prior component (centre of the cube, bandwidth 1, uniform over
  categories) of weight ``prior_weight``; bad points older than the ``n_recent`` newest ones get
  linearly decreasing weights (old bad points matter less).
* ranking: observations are told with a ``group`` (0 for complete trials, larger for partial
  ones such as pruned trials); every group-0 observation ranks before every group-1 one, and so
  on; within a group, by ``y``.  A non-finite ``y`` (failure) ranks after everything: failed
  points are always *bad*, so the model learns to avoid regions that crash.
* pending points (``ask(pending)``): a constant liar.  With ``liar="worst"`` (default) each
  pending point is added to the bad set, so ``g`` grows where other workers are already
  evaluating and ``k`` workers do not all get the same proposal.  A float ``liar`` is the loss the
  pending points pretend to have (they join the good set if that would rank among the best);
  ``None`` ignores pending points.  On discrete spaces, where two proposals can coincide
  exactly, a candidate equal to a pending point is only chosen when every candidate is one.

Cost per ask: ``O(n * d)`` bookkeeping (rankings and per-dimension orders are kept sorted
incrementally, new points merged in) plus ``O(n_candidates * n * d)`` density evaluation; no
``O(n^2)`` step.  Reproducibility: the random stream of an ask depends only on ``seed``, the
number of told points, the number of pending points and how many times this exact situation was
asked before, so a fresh core told the same points proposes the same next point (resume by replay).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tansaku.algorithms._parzen import Layout, Mixture, neighbor_bandwidths
from tansaku.algorithms._types import Dim

__all__ = ["TPE"]

_FAILED = 1 << 30  # group key of non-finite observations: ranked after every other group


def _merge(order: np.ndarray, keys: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Insert indices ``new`` into ``order`` (sorted by ``keys``); ties keep insertion order."""
    if new.size == 0:
        return order
    new = new[np.argsort(keys[new], kind="stable")]
    pos = np.searchsorted(keys[order], keys[new], side="right")
    return np.insert(order, pos, new)


def recency_weights(n: int, n_recent: int) -> np.ndarray:
    """Weights of ``n`` points oldest first: a ramp from ``1/n`` for the oldest, then 1 for the
    ``n_recent`` newest (all ones when ``n <= n_recent``)."""
    if n <= n_recent:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, n - n_recent), np.ones(n_recent)])


class TPE:
    """TPE core: ``ask(pending) -> x`` and ``tell(x, y, group=0)``; minimises ``y``."""

    def __init__(
        self,
        dims: Sequence[Dim],
        *,
        seed: int | None = None,
        n_startup: int = 10,
        n_candidates: int = 64,
        multivariate: bool = True,
        gamma: float = 0.2,
        max_below: int | None = 25,
        prior_weight: float = 1.0,
        bandwidth: str = "neighbor",
        magic_clip: bool = True,
        consider_endpoints: bool = False,
        n_recent: int = 25,
        liar: str | float | None = "worst",
        weights_below: str = "ei",
        min_bandwidth: float = 0.0,
        cat_smoothing: float = 4.0,
        edges: Sequence[np.ndarray | None] | None = None,
    ) -> None:
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
        if bandwidth not in ("neighbor", "scott"):
            raise ValueError(f"bandwidth must be 'neighbor' or 'scott', got {bandwidth!r}")
        if weights_below not in ("ei", "uniform"):
            raise ValueError(f"weights_below must be 'ei' or 'uniform', got {weights_below!r}")
        if not 0.0 <= min_bandwidth < 1.0:
            raise ValueError(f"min_bandwidth must be in [0, 1), got {min_bandwidth!r}")
        if isinstance(liar, str) and liar != "worst":
            raise ValueError(f"liar must be 'worst', a number or None, got {liar!r}")
        if n_startup < 1 or n_candidates < 1 or min(prior_weight, n_recent, cat_smoothing) < 0:
            raise ValueError("n_startup and n_candidates must be >= 1; prior_weight, n_recent and "
                             "cat_smoothing >= 0")
        self.layout = Layout.build(dims, edges)
        self.d = self.layout.d
        self.n_startup, self.n_candidates = int(n_startup), int(n_candidates)
        self.multivariate, self.gamma, self.max_below = multivariate, float(gamma), max_below
        self.prior_weight, self.bandwidth, self.magic_clip = float(prior_weight), bandwidth, magic_clip
        self.consider_endpoints, self.n_recent, self.liar = consider_endpoints, int(n_recent), liar
        self.weights_below, self.min_bandwidth = weights_below, float(min_bandwidth)
        self.cat_smoothing = float(cat_smoothing)
        entropy = np.random.SeedSequence().entropy if seed is None else seed
        self._entropy = int(entropy) % (1 << 64)  # type: ignore[arg-type]
        self._x = np.empty((16, self.d))
        self._y = np.empty(16)
        self._grp = np.empty(16, dtype=np.int64)
        self._wt = np.empty(16)  # told weights in the good mixture (see ``tell``)
        self.n = 0
        self.n_finite = 0
        self.n_imported = 0  # finite observations told with imported=True
        self._synced = 0  # rows already merged into the sorted structures
        self._rank: dict[int, np.ndarray] = {}  # group -> row indices sorted by y
        self._by_dim = np.empty((self.layout.num.size, 0), dtype=np.int64)  # rows sorted per dim
        self._asks: dict[tuple[int, int], int] = {}

    # -- observations ----------------------------------------------------------------------------
    def tell(
        self,
        x: Sequence[float] | np.ndarray,
        y: float,
        *,
        group: int = 0,
        imported: bool = False,
        weight: float = 1.0,
    ) -> None:
        """Record one observation; non-finite ``y`` is a failure (always ranked bad).
        ``imported``: evaluated before this search (warm start); a finite one counts half
        toward the size of the good set (see :meth:`n_below`).  ``weight`` (> 0): a factor on
        the point's weight in the good mixture whenever it is in the good set (on top of
        ``weights_below``; a caller with its own rule, such as mo-tpe's hypervolume
        contributions, tells it here); no effect on the bad mixture."""
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.size != self.d:
            raise ValueError(f"expected a point with {self.d} coordinates, got {x.size}")
        if self.n == self._y.size:
            self._x = np.concatenate([self._x, np.empty_like(self._x)])
            self._y = np.concatenate([self._y, np.empty_like(self._y)])
            self._grp = np.concatenate([self._grp, np.empty_like(self._grp)])
            self._wt = np.concatenate([self._wt, np.empty_like(self._wt)])
        y, weight = float(y), float(weight)
        if not (weight > 0.0 and math.isfinite(weight)):
            raise ValueError(f"weight must be a positive finite number, got {weight!r}")
        finite = math.isfinite(y)
        self._wt[self.n] = weight
        self._x[self.n] = self.layout.snap(x)
        self._y[self.n] = y if finite else math.inf
        self._grp[self.n] = int(group) if finite else _FAILED
        self.n += 1
        self.n_finite += finite
        self.n_imported += finite and imported
        self._asks.clear()

    def _sync(self) -> None:
        """Merge rows told since the last ask into the rankings and per-dimension orders."""
        if self._synced == self.n:
            return
        new = np.arange(self._synced, self.n)
        y, grp = self._y[: self.n], self._grp[: self.n]
        for g in np.unique(grp[new]).tolist():
            old = self._rank.get(g, np.empty(0, dtype=np.int64))
            self._rank[g] = _merge(old, y, new[grp[new] == g])
        if self.bandwidth == "neighbor" and self.layout.num.size:
            rows = []
            for p, j in enumerate(self.layout.num):
                rows.append(_merge(self._by_dim[p], self._x[: self.n, j], new))
            self._by_dim = np.stack(rows)
        self._synced = self.n

    # -- proposals -------------------------------------------------------------------------------
    def _rng(self, n_pending: int, salt: int | None = None) -> np.random.Generator:
        key = (self.n, n_pending)
        if salt is not None:  # the caller names the situation itself (see ``ask``)
            return np.random.default_rng(np.random.SeedSequence([self._entropy, *key, salt, 1]))
        repeat = self._asks.get(key, 0)
        self._asks[key] = repeat + 1
        return np.random.default_rng(np.random.SeedSequence([self._entropy, *key, repeat]))

    def n_below(self, n: int) -> int:
        """The size of the good set among ``n`` finite observations: ``ceil(gamma * m)`` capped
        at ``max_below``, where ``m`` counts an imported observation as a quarter (a warm start's
        earlier trials, often a broad search, would otherwise make a wide good set of scattered
        points that the search then only slowly leaves)."""
        k = math.ceil(self.gamma * (n - 0.75 * min(self.n_imported, n)))
        if self.max_below is not None:
            k = min(k, self.max_below)
        return min(max(k, 1 if n else 0), n)

    def ask(
        self, pending: Sequence[Sequence[float]] | np.ndarray | None = None, *, salt: int | None = None
    ) -> np.ndarray:
        """The next point to evaluate, given points still being evaluated (``(p, d)``).

        ``salt``: an int that, with the points told and pending, identifies this ask (a caller
        whose proposals are not always told back, e.g. a group of define-by-run parameters a
        trial may not use, passes how many trials it has seen), instead of counting repeats,
        so a fresh core told the same points proposes the same."""
        pend = np.empty((0, self.d)) if pending is None else np.asarray(pending, dtype=float)
        pend = self.layout.snap(pend.reshape(-1, self.d))
        rng = self._rng(len(pend), salt)
        if self.n_finite < self.n_startup:
            return self.layout.snap(rng.random(self.d))
        if self.liar is None:
            pend = pend[:0]
        below, above, lies_below = self._split(len(pend))
        good = self._mixture(below, pend[:lies_below], recency=False, w=self._good_weights(below, above))
        bad = self._mixture(above, pend[lies_below:], recency=True)
        joint = self.multivariate
        cand = good.sample(rng, self.n_candidates, joint=joint)
        score = good.log_pdf(cand, joint=joint) - bad.log_pdf(cand, joint=joint)
        if joint:
            return cand[int(np.argmax(self._dedup(score, cand, pend)))].copy()
        x = cand[np.argmax(score, axis=0), np.arange(self.d)]
        if len(pend) and np.any(np.all(pend == x, axis=1)):  # fall back to whole candidates
            x = cand[int(np.argmax(self._dedup(score.sum(axis=1), cand, pend)))]
        return x.copy()

    @staticmethod
    def _dedup(score: np.ndarray, cand: np.ndarray, pend: np.ndarray) -> np.ndarray:
        """Rule out candidates equal to a pending point (possible on discrete spaces), unless
        every candidate is one."""
        if not len(pend):
            return score
        dup = np.any(np.all(cand[:, None, :] == pend[None], axis=2), axis=1)
        return score if dup.all() else np.where(dup, -np.inf, score)

    def _split(self, n_pending: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Rows of the good and bad sets, and how many pending points join the good set."""
        self._sync()
        order = np.concatenate([self._rank[g] for g in sorted(self._rank)])
        nb = self.n_below(self.n_finite)
        lies_below = 0
        if n_pending and isinstance(self.liar, (int, float)) and 0 in self._rank:
            r0 = self._rank[0]
            better = int(np.searchsorted(self._y[r0], float(self.liar), side="right"))
            lies_below = min(max(nb - better, 0), n_pending)
        return order[: nb - lies_below], order[nb - lies_below :], lies_below

    def _good_weights(self, below: np.ndarray, above: np.ndarray) -> np.ndarray | None:
        """The good points' weights (``None``: all equal): the ``weights_below`` rule times
        the weights told with the points."""
        w = self._ei_weights(below, above)
        told = self._wt[below]
        if np.all(told == 1.0):
            return w
        w = told if w is None else w * told
        return w / w.mean()

    def _ei_weights(self, below: np.ndarray, above: np.ndarray) -> np.ndarray | None:
        if self.weights_below != "ei" or below.size < 2 or not above.size:
            return None
        if np.any(self._grp[below] != 0) or self._grp[above[0]] != 0:
            return None
        y = self._y[below]
        t = self._y[above[0]]
        w = (t - y) + 1e-12
        return w / w.mean()

    def _mixture(self, rows: np.ndarray, extra: np.ndarray, *, recency: bool,
                 w: np.ndarray | None = None) -> Mixture:
        lay = self.layout
        n_obs = rows.size + len(extra)
        k = n_obs + 1  # + the prior component
        if recency and rows.size:
            mask = np.zeros(self.n, dtype=bool)
            mask[rows] = True
            rows = np.flatnonzero(mask)  # oldest first, O(n)
        pts = np.concatenate([self._x[rows], extra])
        mu = np.vstack([pts, np.full((1, self.d), 0.5)])
        if w is None or len(extra):
            w = recency_weights(n_obs, self.n_recent) if recency else np.ones(n_obs)
        w = np.append(w, self.prior_weight if n_obs and self.prior_weight > 0 else 1.0)
        sigma = np.ones((k, lay.num.size))
        if n_obs and lay.num.size:
            sigma[:-1] = self._bandwidths(rows, extra, n_obs).T
            lo = 1.0 / min(100.0, k + 1.0) if self.magic_clip else 1e-12
            lo = max(lo, self.min_bandwidth)
            sigma[:-1] = np.clip(sigma[:-1], lo, 1.0)
        kc = lay.n_cat[None, :].astype(float)
        smooth = min(1.0, self.cat_smoothing / min(100.0, k + 1.0))
        eps = np.repeat((1.0 - 1.0 / kc) * smooth, k, axis=0)
        eps[-1] = 1.0 - 1.0 / lay.n_cat
        return Mixture(lay, mu, sigma, eps, w)

    def _bandwidths(self, rows: np.ndarray, extra: np.ndarray, n_obs: int) -> np.ndarray:
        """``(n_num, n_obs)`` bandwidths of the set's components (rows first, then extra)."""
        lay = self.layout
        if self.bandwidth == "scott":
            pts = np.concatenate([self._x[rows], extra])[:, lay.num]
            std = pts.std(axis=0) if n_obs > 1 else np.ones(lay.num.size)
            factor = (n_obs + 1) ** (-1.0 / (self.d + 4))
            return np.repeat((np.maximum(std, 1e-12) * factor)[:, None], n_obs, axis=1)
        # neighbour rule: per dim, the set's values in sorted order, from the kept orders in O(n)
        member = np.zeros(self.n, dtype=bool)
        member[rows] = True
        pos = np.full(self.n, -1, dtype=np.int64)
        pos[rows] = np.arange(rows.size)
        sel = self._by_dim[member[self._by_dim]].reshape(lay.num.size, rows.size)
        comp = pos[sel]
        vals = self._x[sel, lay.num[:, None]]
        if len(extra):
            ev = extra[:, lay.num].T
            ids = np.arange(rows.size, n_obs)
            v_rows, c_rows = [], []
            for p in range(lay.num.size):
                o = np.argsort(ev[p], kind="stable")
                at = np.searchsorted(vals[p], ev[p][o], side="right")
                v_rows.append(np.insert(vals[p], at, ev[p][o]))
                c_rows.append(np.insert(comp[p], at, ids[o]))
            vals, comp = np.stack(v_rows), np.stack(c_rows)
        sig_sorted = neighbor_bandwidths(vals, consider_endpoints=self.consider_endpoints)
        out = np.empty((lay.num.size, n_obs))
        out[np.arange(lay.num.size)[:, None], comp] = sig_sorted
        return out
