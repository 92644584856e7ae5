"""Matérn-5/2 ARD kernel on the unit cube, with categorical coordinates.

Continuous and discrete coordinates enter the distance as ``(x_j - x'_j)^2 / l_j^2``.  A
categorical coordinate (choice ``i`` encoded at ``(i + 0.5) / k``) enters as a Hamming term
``[c != c'] / l_j^2``: this is exactly the squared Euclidean distance between the one-hot codes of
the two choices scaled by ``1 / (sqrt(2) l_j)``, so the kernel is the ordinary Matérn-5/2 of a
Euclidean embedding and stays positive definite.  The embedding ``embed(x)`` is how the kernel
matrix is computed (``O(n^2)`` memory, not ``O(n^2 d)``); per-dimension distances are only built
for the (small) hyperparameter fitting set.

Hyperparameters are kept as logs: ``theta = [log l_1 .. log l_d, log signal_var, log noise_var]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tansaku.algorithms._types import Dim

__all__ = ["MaternKernel"]

_SQRT5 = float(np.sqrt(5.0))


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(out, 0.0)


def matern52(r2: np.ndarray) -> np.ndarray:
    """``(1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)`` for unit signal variance."""
    r = np.sqrt(r2)
    return (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * np.exp(-_SQRT5 * r)


def _matern52_dr2(r2: np.ndarray) -> np.ndarray:
    """``d k / d r^2`` for unit signal variance (finite at r = 0)."""
    r = np.sqrt(r2)
    return -(5.0 / 6.0) * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r)


class MaternKernel:
    """The kernel for a fixed list of dimension kinds; stateless apart from that."""

    def __init__(self, dims: Sequence[Dim]) -> None:
        self.dims = list(dims)
        self.d = len(self.dims)
        self.cat = np.array([dm.kind == "categorical" for dm in self.dims], dtype=bool)
        self.cont = ~self.cat
        self.levels = [int(dm.levels or 1) for dm in self.dims]

    def categories(self, x: np.ndarray) -> np.ndarray:
        """Integer choice index of every categorical coordinate, shape ``(n, n_cat)``."""
        idx = np.flatnonzero(self.cat)
        out = np.empty((x.shape[0], idx.size), dtype=np.int64)
        for c, j in enumerate(idx):
            k = self.levels[j]
            out[:, c] = np.clip((np.clip(x[:, j], 0.0, 1.0) * k).astype(np.int64), 0, k - 1)
        return out

    def embed(self, x: np.ndarray, lengthscales: np.ndarray) -> np.ndarray:
        """Coordinates whose squared Euclidean distances are the kernel's scaled distances."""
        parts = [x[:, self.cont] / lengthscales[self.cont]]
        if self.cat.any():
            cats = self.categories(x)
            for c, j in enumerate(np.flatnonzero(self.cat)):
                onehot = np.zeros((x.shape[0], self.levels[j]))
                onehot[np.arange(x.shape[0]), cats[:, c]] = 1.0 / (np.sqrt(2.0) * lengthscales[j])
                parts.append(onehot)
        return np.concatenate(parts, axis=1)

    # -- values ------------------------------------------------------------------------------
    def __call__(self, a: np.ndarray, b: np.ndarray, theta: np.ndarray) -> np.ndarray:
        ls = np.exp(theta[: self.d])
        return float(np.exp(theta[self.d])) * matern52(_sqdist(self.embed(a, ls), self.embed(b, ls)))

    def per_dim_sqdist(self, x: np.ndarray) -> np.ndarray:
        """Unscaled per-dimension distances ``(d, n, n)`` for hyperparameter gradients."""
        out = np.empty((self.d, x.shape[0], x.shape[0]))
        cats = self.categories(x)
        c = 0
        for j in range(self.d):
            if self.cat[j]:
                out[j] = (cats[:, c][:, None] != cats[:, c][None, :]).astype(float)
                c += 1
            else:
                out[j] = (x[:, j][:, None] - x[:, j][None, :]) ** 2
        return out

    def gram_and_grads(self, dist: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Signal part of the Gram matrix and its derivatives w.r.t. ``theta[:d+1]``.

        ``dist`` comes from :meth:`per_dim_sqdist`; the noise term is added by the caller.
        """
        d = self.d
        inv_l2 = np.exp(-2.0 * theta[:d])
        sf2 = float(np.exp(theta[d]))
        r2 = np.tensordot(inv_l2, dist, axes=1)
        k = sf2 * matern52(r2)
        dk_dr2 = sf2 * _matern52_dr2(r2)
        grads = np.empty((d + 1, *k.shape))
        for j in range(d):
            grads[j] = dk_dr2 * (-2.0 * inv_l2[j]) * dist[j]
        grads[d] = k
        return k, grads

    def cross_and_grad_x(
        self, x: np.ndarray, data: np.ndarray, theta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``k(x_b, data_i)`` ``(B, n)`` and its gradient w.r.t. the continuous coordinates of
        ``x`` ``(B, n, d)`` (zero on categorical coordinates, which are never moved by gradients)."""
        d = self.d
        ls = np.exp(theta[:d])
        sf2 = float(np.exp(theta[d]))
        r2 = _sqdist(self.embed(x, ls), self.embed(data, ls))
        k = sf2 * matern52(r2)
        g = 2.0 * sf2 * _matern52_dr2(r2)  # d k / d r^2 * d r^2 / d(diff^2) factor 2 below
        grad = np.zeros((x.shape[0], data.shape[0], d))
        for j in np.flatnonzero(self.cont):
            grad[:, :, j] = g * (x[:, j][:, None] - data[:, j][None, :]) / ls[j] ** 2
        return k, grad
