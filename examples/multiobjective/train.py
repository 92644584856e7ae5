"""Fit a gradient-boosted classifier on scikit-learn's digits and print its validation error and
fit time (the two objectives), plus the model's size as a constraint: at most 6000 leaves in all its trees (a deployment
budget), printed as ``tansaku:constraint size=<leaves - 6000>``."""

from __future__ import annotations

import argparse
import time

from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, required=True)
p.add_argument("--iters", type=int, required=True)
p.add_argument("--leaves", type=int, required=True)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()

X, y = load_digits(return_X_y=True)
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0)
model = HistGradientBoostingClassifier(
    learning_rate=a.lr, max_iter=a.iters, max_leaf_nodes=a.leaves, random_state=a.seed
)
t0 = time.perf_counter()
model.fit(X_tr, y_tr)
fit_time = time.perf_counter() - t0
error = 1.0 - model.score(X_va, y_va)
# one tree per class and iteration: 10 classes
leaves = sum(p.get_n_leaf_nodes() for row in model._predictors for p in row)
print(f"tansaku:constraint size={leaves - 6000}")
print(f"error={error:.5f} fit_time={fit_time:.4f}")
