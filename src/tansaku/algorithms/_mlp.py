"""A small tanh multilayer perceptron in numpy, trained with Adam on mini-batches (for DNGO).

The network maps encoded inputs through ``hidden`` tanh layers (DNGO: three of 50 units) to two
linear outputs: a regression output (squared error on the trials with a finite value) and a
feasibility logit (cross-entropy on every trial, used only once some trial has failed).  Training
both heads shapes the last hidden layer so it carries information about where the objective crashes
as well as about its value; DNGO then discards the output layer and uses the last hidden layer as
basis functions.  Training cost is ``O(steps * batch)``: linear in the number of trials when the
number of epochs is fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

__all__ = ["MLP"]


class MLP:
    """``tanh`` network with weights ``W[l]`` ``(fan_in, fan_out)`` and biases ``b[l]``.

    All parameters live in one flat vector (``W``/``b`` are views into it) so an Adam step is a
    handful of vector operations rather than one set per layer."""

    def __init__(self, n_in: int, hidden: Sequence[int], n_out: int, rng: np.random.Generator) -> None:
        self.sizes = [n_in, *hidden, n_out]
        n_par = sum(a * b + b for a, b in pairwise(self.sizes))
        self.theta = np.zeros(n_par)
        self._views()
        for w in self.W:
            w[...] = rng.normal(0.0, np.sqrt(2.0 / (w.shape[0] + w.shape[1])), w.shape)
        self._m = np.zeros(n_par)
        self._v = np.zeros(n_par)
        self._t = 0

    def _views(self) -> None:
        self.W, self.b = _split(self.theta, self.sizes)

    def copy(self) -> MLP:
        other = MLP.__new__(MLP)
        other.sizes = list(self.sizes)
        other.theta = self.theta.copy()
        other._views()
        other._m = self._m.copy()
        other._v = self._v.copy()
        other._t = self._t
        return other

    def hidden(self, x: np.ndarray) -> list[np.ndarray]:
        """Activations of every hidden layer."""
        acts = []
        h = x
        for w, b in zip(self.W[:-1], self.b[:-1]):
            h = np.tanh(h @ w + b)
            acts.append(h)
        return acts

    def features(self, x: np.ndarray) -> np.ndarray:
        """The last hidden layer (DNGO's basis functions)."""
        return self.hidden(x)[-1]

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.features(x) @ self.W[-1] + self.b[-1]

    def train(
        self,
        x: np.ndarray,
        y: np.ndarray,
        ok: np.ndarray,
        rng: np.random.Generator,
        *,
        steps: int,
        batch: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        feasible: np.ndarray | None = None,
    ) -> None:
        """Adam on ``sum_ok (out0 - y)^2 + [any infeasible] * BCE(out1, feasible)`` over
        mini-batches.  ``y`` is ignored where ``ok`` is False; ``feasible`` defaults to ``ok``."""
        n = x.shape[0]
        feas = ok if feasible is None else feasible
        use_feas = bool((~feas).any())
        y = np.where(ok, y, 0.0)
        okf = ok.astype(float)
        feasf = feas.astype(float)
        b1, b2, eps = 0.9, 0.999, 1e-8
        n_layers = len(self.W)
        grad = np.zeros_like(self.theta)
        gw, gb = _split(grad, self.sizes)
        all_idx = rng.integers(0, n, size=(steps, min(batch, n)))
        for step in range(steps):
            idx = all_idx[step]
            xb, yb, ob, fb = x[idx], y[idx], okf[idx], feasf[idx]
            acts = [xb, *self.hidden(xb)]
            out = acts[-1] @ self.W[-1] + self.b[-1]
            g = np.zeros_like(out)
            g[:, 0] = 2.0 * (out[:, 0] - yb) * ob / max(1.0, float(ob.sum()))
            if use_feas:
                p = 1.0 / (1.0 + np.exp(-np.clip(out[:, 1], -30, 30)))
                g[:, 1] = (p - fb) / len(idx)
            for layer in range(n_layers - 1, -1, -1):
                np.matmul(acts[layer].T, g, out=gw[layer])
                gb[layer][...] = g.sum(axis=0)
                if layer:
                    g = (g @ self.W[layer].T) * (1.0 - acts[layer] ** 2)
            grad += weight_decay * self.theta  # decays biases too: harmless at this size
            self._t += 1
            self._m = b1 * self._m + (1 - b1) * grad
            self._v = b2 * self._v + (1 - b2) * grad * grad
            step_size = lr * np.sqrt(1.0 - b2**self._t) / (1.0 - b1**self._t)
            self.theta -= step_size * self._m / (np.sqrt(self._v) + eps)


def _split(flat: np.ndarray, sizes: Sequence[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Views of ``flat`` as the weight matrices and bias vectors of a network of ``sizes``."""
    ws, bs, k = [], [], 0
    for a, b in pairwise(sizes):
        ws.append(flat[k : k + a * b].reshape(a, b))
        k += a * b
        bs.append(flat[k : k + b])
        k += b
    return ws, bs
