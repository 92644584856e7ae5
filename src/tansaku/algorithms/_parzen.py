"""Truncated Parzen mixtures over the unit cube: the density model inside TPE.

A mixture has ``K`` weighted components (one per observation, plus a wide prior component) and
each component is a product, over the dimensions, of one-dimensional kernels:

* ``continuous``: a Gaussian ``N(mu, sigma)`` truncated to ``[0, 1]``;
* ``discrete``: the same truncated Gaussian, *discretised*: a level's probability is the Gaussian
  mass over the level's cell ``[e_k, e_k+1)`` divided by the mass over ``[0, 1]`` (cells are
  ``[k/n, (k+1)/n)`` unless the caller gives other edges, e.g. for log-scaled ints).  Samples are
  returned at cell centres, so a discrete coordinate always decodes to exactly one level;
* ``categorical``: an Aitchison-Aitken kernel: the component's own category with probability
  ``1 - eps``, each of the ``k - 1`` others with ``eps / (k - 1)``; ``eps = (k - 1) / k`` is the
  uniform distribution (used by the prior component).

``log_pdf(x, joint=True)`` is the log density of the joint mixture (multivariate TPE);
``joint=False`` gives one log density per dimension, each of the marginal mixture of that dimension
(univariate TPE).  ``sample(rng, m, joint)`` draws from the same two models.  All work is
vectorised over (candidates x components x dimensions): cost ``O(m K d)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from tansaku.algorithms._types import Dim

__all__ = ["Layout", "Mixture", "neighbor_bandwidths"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_TINY = 1e-300


@dataclass(frozen=True, eq=False)
class Layout:
    """The dimensions of the cube split by kind, with the cell edges of every discrete one."""

    dims: tuple[Dim, ...]
    num: np.ndarray  # indices of continuous + discrete dims (the Gaussian ones), in order
    disc_pos: np.ndarray  # positions inside ``num`` of the discrete dims
    cat: np.ndarray  # indices of categorical dims
    n_cat: np.ndarray  # number of choices per categorical dim
    edges: tuple[np.ndarray, ...]  # per discrete dim: n + 1 increasing edges from 0 to 1

    @classmethod
    def build(cls, dims: Sequence[Dim], edges: Sequence[np.ndarray | None] | None = None) -> Layout:
        dims = tuple(dims)
        if edges is not None and len(edges) != len(dims):
            raise ValueError(f"edges must have one entry per dim ({len(dims)}), got {len(edges)}")
        num = [i for i, d in enumerate(dims) if d.kind != "categorical"]
        cat = [i for i, d in enumerate(dims) if d.kind == "categorical"]
        disc_pos, cells = [], []
        for p, i in enumerate(num):
            d = dims[i]
            if d.kind != "discrete":
                continue
            assert d.levels is not None
            e = None if edges is None else edges[i]
            e = np.linspace(0.0, 1.0, d.levels + 1) if e is None else np.asarray(e, dtype=float)
            if e.shape != (d.levels + 1,) or np.any(np.diff(e) <= 0) or e[0] != 0.0 or e[-1] != 1.0:
                raise ValueError(f"edges of dim {i} must be {d.levels + 1} increasing values from 0 to 1")
            disc_pos.append(p)
            cells.append(e)
        n_cat = [int(dims[i].levels or 1) for i in cat]
        return cls(dims, np.array(num, dtype=int), np.array(disc_pos, dtype=int),
                   np.array(cat, dtype=int), np.array(n_cat, dtype=int), tuple(cells))

    @property
    def d(self) -> int:
        return len(self.dims)

    def cells(self, x: np.ndarray, p: int) -> np.ndarray:
        """Cell index of each value in ``x`` for the ``p``-th discrete dim."""
        e = self.edges[p]
        return np.clip(np.searchsorted(e, x, side="right") - 1, 0, len(e) - 2)

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Clip to the cube and move discrete/categorical coordinates to their cell centres."""
        x = np.clip(np.nan_to_num(np.asarray(x, dtype=float), nan=0.5), 0.0, 1.0)
        for p, q in enumerate(self.disc_pos):
            j = self.num[q]
            k = self.cells(x[..., j], p)
            x[..., j] = 0.5 * (self.edges[p][k] + self.edges[p][k + 1])
        if self.cat.size:
            k = np.minimum((x[..., self.cat] * self.n_cat).astype(int), self.n_cat - 1)
            x[..., self.cat] = (k + 0.5) / self.n_cat
        return x

    def categories(self, x: np.ndarray) -> np.ndarray:
        return np.minimum((x[..., self.cat] * self.n_cat).astype(int), self.n_cat - 1)


def neighbor_bandwidths(sorted_mu: np.ndarray, *, consider_endpoints: bool) -> np.ndarray:
    """Hyperopt's rule per dimension: a kernel is as wide as the larger gap to its neighbours.

    ``sorted_mu`` is ``(d, K)``, sorted along axis 1; returns the bandwidths in the same order.
    The cube's edges 0 and 1 act as neighbours of the extreme points only when
    ``consider_endpoints``; otherwise an extreme point uses the gap to its one inner neighbour.
    """
    d, k = sorted_mu.shape
    padded = np.empty((d, k + 2))
    padded[:, 0], padded[:, -1], padded[:, 1:-1] = 0.0, 1.0, sorted_mu
    gaps = np.diff(padded, axis=1)  # (d, k + 1)
    sig = np.maximum(gaps[:, :-1], gaps[:, 1:])
    if not consider_endpoints and k >= 2:
        sig[:, 0], sig[:, -1] = gaps[:, 1], gaps[:, -2]
    return sig


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.log(np.sum(np.exp(a - top), axis=axis)) + np.squeeze(top, axis=axis)


class Mixture:
    """A weighted mixture of product kernels (see module docstring).

    ``mu`` is ``(K, d)`` in unit coordinates; ``sigma`` is ``(K, n_num)`` for the Gaussian dims
    (``layout.num``); ``eps`` is ``(K, n_cat)`` for the categorical dims; ``weights`` are
    non-negative and need not be normalised.
    """

    def __init__(self, layout: Layout, mu: np.ndarray, sigma: np.ndarray, eps: np.ndarray,
                 weights: np.ndarray) -> None:
        self.layout = layout
        self.mu = mu
        self.k = mu.shape[0]
        w = np.asarray(weights, dtype=float)
        self.p = w / w.sum()
        self.logw = np.log(np.maximum(self.p, _TINY))
        self.mu_num = mu[:, layout.num]
        self.sigma = np.maximum(sigma, 1e-12)
        # truncation to [0, 1]: the mass of each component's Gaussian inside the cube
        lo, hi = -self.mu_num / self.sigma, (1.0 - self.mu_num) / self.sigma
        self._cdf_lo, self._cdf_hi = ndtr(lo), ndtr(hi)
        self.log_z = np.log(np.maximum(self._cdf_hi - self._cdf_lo, _TINY))
        self.cat_mu = layout.categories(mu)
        kc = np.maximum(layout.n_cat - 1, 1)
        self.log_hit = np.log(np.maximum(1.0 - eps, _TINY))
        self.log_miss = np.log(np.maximum(eps / kc, _TINY))
        self.eps = eps

    # -- density ---------------------------------------------------------------------------------
    def _discrete_log_mass(self, xn: np.ndarray, p: int, q: int) -> np.ndarray:
        """``(m, K)`` log probability of each candidate's level of the ``p``-th discrete dim
        (column ``q`` of the Gaussian dims) under each component."""
        e = self.layout.edges[p]
        cell = self.layout.cells(xn[:, q], p)
        a = (e[cell][:, None] - self.mu_num[None, :, q]) / self.sigma[None, :, q]
        b = (e[cell + 1][:, None] - self.mu_num[None, :, q]) / self.sigma[None, :, q]
        s = np.where(a > 0.0, -1.0, 1.0)  # take the difference in the accurate tail
        mass = s * (ndtr(s * b) - ndtr(s * a))
        return np.log(np.maximum(mass, _TINY)) - self.log_z[None, :, q]

    def log_kernels(self, x: np.ndarray) -> np.ndarray:
        """Per-dimension log kernel values ``(m, K, d)`` of candidates ``x`` (``(m, d)``)."""
        lay = self.layout
        m = x.shape[0]
        out = np.empty((m, self.k, lay.d))
        if lay.num.size:
            xn = x[:, lay.num]
            z = (xn[:, None, :] - self.mu_num[None]) / self.sigma[None]
            block = -0.5 * z * z - (np.log(self.sigma) + self.log_z + _HALF_LOG_2PI)[None]
            for p, q in enumerate(lay.disc_pos):
                block[:, :, q] = self._discrete_log_mass(xn, p, q)
            out[:, :, lay.num] = block
        if lay.cat.size:
            hit = lay.categories(x)[:, None, :] == self.cat_mu[None]
            out[:, :, lay.cat] = np.where(hit, self.log_hit[None], self.log_miss[None])
        return out

    def joint_log_kernel(self, x: np.ndarray) -> np.ndarray:
        """``(m, K)``: ``log_kernels(x).sum(axis=2)`` without the ``(m, K, d)`` tensor: the
        Gaussian exponents are a quadratic form (two matrix products) and the categorical hits a
        product of one-hot matrices; only discrete dims need a per-element CDF."""
        lay = self.layout
        m = x.shape[0]
        const = np.zeros(self.k)
        out = np.zeros((m, self.k))
        if lay.num.size:
            xn = x[:, lay.num]
            cont = np.setdiff1d(np.arange(lay.num.size), lay.disc_pos)
            if cont.size:
                inv = 1.0 / self.sigma[:, cont] ** 2
                mu = self.mu_num[:, cont]
                xc = xn[:, cont]
                quad = (xc * xc) @ inv.T - 2.0 * xc @ (mu * inv).T + np.sum(mu * mu * inv, axis=1)
                out -= 0.5 * np.maximum(quad, 0.0)
                const -= np.sum(np.log(self.sigma[:, cont]) + self.log_z[:, cont], axis=1)
                const -= cont.size * _HALF_LOG_2PI
            for p, q in enumerate(lay.disc_pos):
                out += self._discrete_log_mass(xn, p, q)
        if lay.cat.size:
            offset = np.concatenate([[0], np.cumsum(lay.n_cat)[:-1]])
            width = int(lay.n_cat.sum())
            onehot = np.zeros((m, width))
            onehot[np.arange(m)[:, None], offset + lay.categories(x)] = 1.0
            gain = np.zeros((self.k, width))
            gain[np.arange(self.k)[:, None], offset + self.cat_mu] = self.log_hit - self.log_miss
            out += onehot @ gain.T
            const += self.log_miss.sum(axis=1)
        return out + const[None]

    def log_pdf(self, x: np.ndarray, *, joint: bool = True) -> np.ndarray:
        """``(m,)`` joint log density, or ``(m, d)`` per-dimension marginal log densities."""
        if joint:
            return _logsumexp(self.joint_log_kernel(x) + self.logw[None], axis=1)
        lay = self.layout
        out = np.empty((x.shape[0], lay.d))
        xn = x[:, lay.num]
        disc = dict(zip(lay.disc_pos.tolist(), range(lay.disc_pos.size)))
        for q, j in enumerate(lay.num):  # one (m, K) slab per dim keeps the work in cache
            if q in disc:
                kern = self._discrete_log_mass(xn, disc[q], q)
            else:
                z = (xn[:, q, None] - self.mu_num[None, :, q]) / self.sigma[None, :, q]
                kern = -0.5 * z * z - (np.log(self.sigma[:, q]) + self.log_z[:, q])[None]
                kern -= _HALF_LOG_2PI
            out[:, j] = _logsumexp(kern + self.logw[None], axis=1)
        if lay.cat.size:
            hit = lay.categories(x)[:, None, :] == self.cat_mu[None]
            kern = np.where(hit, self.log_hit[None], self.log_miss[None])
            out[:, lay.cat] = _logsumexp(kern + self.logw[None, :, None], axis=1)
        return out

    # -- sampling --------------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, m: int, *, joint: bool = True) -> np.ndarray:
        """``m`` points; ``joint=False`` picks the component independently per dimension."""
        lay = self.layout
        shape = (m, 1) if joint else (m, lay.d)
        comp = rng.choice(self.k, size=shape, p=self.p)
        out = np.empty((m, lay.d))
        if lay.num.size:
            c = comp if joint else comp[:, lay.num]
            cols = np.arange(lay.num.size)[None, :]
            lo, hi = self._cdf_lo[c, cols], self._cdf_hi[c, cols]
            u = lo + rng.random((m, lay.num.size)) * (hi - lo)
            u = np.clip(u, 1e-300, 1.0 - 1e-16)
            val = self.mu_num[c, cols] + self.sigma[c, cols] * ndtri(u)
            out[:, lay.num] = np.clip(val, 0.0, 1.0)
        if lay.cat.size:
            c = comp if joint else comp[:, lay.cat]
            cols = np.arange(lay.cat.size)[None, :]
            own = self.cat_mu[c, cols]
            n = lay.n_cat[None, :]
            other = (own + 1 + (rng.random((m, lay.cat.size)) * (n - 1)).astype(int)) % n
            move = rng.random((m, lay.cat.size)) < self.eps[c, cols]
            out[:, lay.cat] = np.where(move & (n > 1), other, own)
            out[:, lay.cat] = (out[:, lay.cat] + 0.5) / n
        return lay.snap(out)
