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
    """``tanh`` network with weights ``W[l]`` ``(fan_in, fan_out)`` and biases ``b[l]``."""

    def __init__(self, n_in: int, hidden: Sequence[int], n_out: int, rng: np.random.Generator) -> None:
        sizes = [n_in, *hidden, n_out]
        self.W = [rng.normal(0.0, np.sqrt(2.0 / (a + b)), (a, b)) for a, b in pairwise(sizes)]
        self.b = [np.zeros(b) for b in sizes[1:]]
        self._m = [np.zeros_like(p) for p in self.params]
        self._v = [np.zeros_like(p) for p in self.params]
        self._t = 0

    @property
    def params(self) -> list[np.ndarray]:
        return [*self.W, *self.b]

    def copy(self) -> MLP:
        other = MLP.__new__(MLP)
        other.W = [w.copy() for w in self.W]
        other.b = [b.copy() for b in self.b]
        other._m = [m.copy() for m in self._m]
        other._v = [v.copy() for v in self._v]
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
    ) -> None:
        """Adam on ``sum_ok (out0 - y)^2 + [any failure] * BCE(out1, ok)`` over mini-batches.

        ``y`` is ignored where ``ok`` is False (failed trials have no value)."""
        n = x.shape[0]
        use_feas = bool((~ok).any())
        y = np.where(ok, y, 0.0)
        okf = ok.astype(float)
        b1, b2, eps = 0.9, 0.999, 1e-8
        n_layers = len(self.W)
        for _ in range(steps):
            idx = rng.integers(0, n, size=min(batch, n))
            xb, yb, ob = x[idx], y[idx], okf[idx]
            acts = [xb, *self.hidden(xb)]
            out = acts[-1] @ self.W[-1] + self.b[-1]
            g_out = np.zeros_like(out)
            n_ok = max(1.0, float(ob.sum()))
            g_out[:, 0] = 2.0 * (out[:, 0] - yb) * ob / n_ok
            if use_feas:
                p = 1.0 / (1.0 + np.exp(-np.clip(out[:, 1], -30, 30)))
                g_out[:, 1] = (p - ob) / len(idx)
            grads_w: list[np.ndarray] = [np.empty(0)] * n_layers
            grads_b: list[np.ndarray] = [np.empty(0)] * n_layers
            g = g_out
            for layer in range(n_layers - 1, -1, -1):
                grads_w[layer] = acts[layer].T @ g + weight_decay * self.W[layer]
                grads_b[layer] = g.sum(axis=0)
                if layer:
                    g = (g @ self.W[layer].T) * (1.0 - acts[layer] ** 2)
            self._t += 1
            c1 = 1.0 - b1**self._t
            c2 = 1.0 - b2**self._t
            for i, (p_, g_) in enumerate(zip(self.params, [*grads_w, *grads_b])):
                self._m[i] = b1 * self._m[i] + (1 - b1) * g_
                self._v[i] = b2 * self._v[i] + (1 - b2) * g_ * g_
                p_ -= lr * (self._m[i] / c1) / (np.sqrt(self._v[i] / c2) + eps)
