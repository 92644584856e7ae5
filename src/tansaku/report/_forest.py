"""A small random forest of regression trees in numpy: the fallback model of parameter importance
when scikit-learn (the ``importance`` extra) is not installed.

CART trees grown on bootstrap samples, every feature tried at every node, splits chosen by the
largest decrease of the squared error, leaves predicting their mean.  Good enough to rank a
handful of hyperparameters from a few thousand trials; not a general-purpose learner.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RegressionForest"]


class _Tree:
    __slots__ = ("feature", "left", "right", "threshold", "value")

    def __init__(self) -> None:
        self.feature: list[int] = []
        self.threshold: list[float] = []
        self.left: list[int] = []
        self.right: list[int] = []
        self.value: list[float] = []

    def add(self, value: float) -> int:
        self.feature.append(-1)
        self.threshold.append(0.0)
        self.left.append(-1)
        self.right.append(-1)
        self.value.append(value)
        return len(self.value) - 1

    def freeze(self) -> tuple[np.ndarray, ...]:
        return (
            np.asarray(self.feature, dtype=np.int64),
            np.asarray(self.threshold, dtype=float),
            np.asarray(self.left, dtype=np.int64),
            np.asarray(self.right, dtype=np.int64),
            np.asarray(self.value, dtype=float),
        )


def _best_split(x: np.ndarray, y: np.ndarray, min_leaf: int) -> tuple[int, float, float]:
    """(feature, threshold, gain) of the best split of the node's rows, gain <= 0 if none.

    Every feature at once: sort each column, cumulative sums of y give the squared-error
    decrease of every split position, as an ``(n - 1, d)`` matrix."""
    n = y.size
    order = np.argsort(x, axis=0, kind="stable")
    xs = np.take_along_axis(x, order, axis=0)
    csum = np.cumsum(y[order], axis=0)[:-1]  # left sums for a split after row i
    total = float(y.sum())
    n_left = np.arange(1, n, dtype=float)[:, None]
    n_right = n - n_left
    with np.errstate(divide="ignore", invalid="ignore"):
        score = csum**2 / n_left + (total - csum) ** 2 / n_right - total * total / n
    valid = xs[1:] > xs[:-1]
    valid[: min_leaf - 1] = False
    valid[n - min_leaf :] = False
    score = np.where(valid, score, -np.inf)
    flat = int(np.argmax(score))
    i, f = divmod(flat, x.shape[1])
    gain = float(score[i, f])
    if not np.isfinite(gain):
        return (-1, 0.0, 0.0)
    return (f, 0.5 * (xs[i, f] + xs[i + 1, f]), gain)


class RegressionForest:
    """``fit(X, y)`` then ``predict(X)``; deterministic for a given ``seed``."""

    def __init__(
        self,
        *,
        n_trees: int = 24,
        max_depth: int = 8,
        min_leaf: int = 3,
        seed: int = 0,
    ) -> None:
        self.n_trees = n_trees
        self.max_depth = max_depth
        self.min_leaf = min_leaf
        self.seed = seed
        self.trees: list[tuple[np.ndarray, ...]] = []

    def fit(self, x: np.ndarray, y: np.ndarray) -> RegressionForest:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        rng = np.random.default_rng(self.seed)
        n = y.size
        self.trees = []
        for _ in range(self.n_trees):
            rows = rng.integers(0, n, size=n)
            self.trees.append(self._grow(x[rows], y[rows]))
        return self

    def _grow(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        tree = _Tree()
        root = tree.add(float(y.mean()))
        stack = [(root, np.arange(y.size), 0)]
        while stack:
            node, rows, depth = stack.pop()
            if depth >= self.max_depth or rows.size < 2 * self.min_leaf:
                continue
            ys = y[rows]
            if np.ptp(ys) == 0.0:
                continue
            f, thr, gain = _best_split(x[rows], ys, self.min_leaf)
            if f < 0 or gain <= 1e-12 * max(1.0, float(np.var(ys)) * rows.size):
                continue
            go_left = x[rows, f] <= thr
            lrows, rrows = rows[go_left], rows[~go_left]
            tree.feature[node], tree.threshold[node] = f, thr
            tree.left[node] = tree.add(float(y[lrows].mean()))
            tree.right[node] = tree.add(float(y[rrows].mean()))
            stack.append((tree.left[node], lrows, depth + 1))
            stack.append((tree.right[node], rrows, depth + 1))
        return tree.freeze()

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        out = np.zeros(x.shape[0])
        rows = np.arange(x.shape[0])
        for feature, threshold, left, right, value in self.trees:
            node = np.zeros(x.shape[0], dtype=np.int64)
            for _ in range(self.max_depth + 1):
                f = feature[node]
                inner = f >= 0
                if not inner.any():
                    break
                go_left = x[rows, np.where(inner, f, 0)] <= threshold[node]
                node = np.where(inner, np.where(go_left, left[node], right[node]), node)
            out += value[node]
        return out / max(1, len(self.trees))
