"""Parameter importance: the share of the objective's variance each parameter explains alone.

Method (fANOVA-style first-order effects, Hutter et al. 2014, estimated by Monte Carlo):

1. fit a random forest to the COMPLETE trials (parameters in unit-cube coordinates, so log
   parameters are on their log scale and a categorical is one coordinate);
2. draw background points uniformly over the search space (the measure fANOVA uses);
3. for each parameter ``i`` and each value ``g`` on a grid over its range (every level of a
   categorical or small int), the main effect ``f_i(g)`` is the forest's mean prediction over the
   background with coordinate ``i`` set to ``g``;
4. ``fraction_i = Var_g f_i(g) / Var f`` (variance of predictions on the background).

``importance`` normalises the fractions to sum to 1 (what the bar chart shows);
``1 - sum(fraction)`` estimates the share due to interactions.  The forest is scikit-learn's
``RandomForestRegressor`` when the ``importance`` extra is installed, else the numpy one in
``_forest.py`` — both rank parameters the same on the tests' functions, values differ a little.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tansaku._errors import ConfigError
from tansaku._install import install_hint
from tansaku._space import Categorical, Float, Int
from tansaku.report._sample import subsample
from tansaku.report._table import TrialTable, as_table

__all__ = ["Importance", "importance"]

MIN_TRIALS = 8
MAX_TRAIN = 1000
BACKGROUND = 256
GRID = 32


@dataclass(frozen=True)
class Importance:
    """Parameters sorted by importance (largest first); ``message`` says why it is empty."""

    study: str
    message: str | None
    names: tuple[str, ...]
    importance: tuple[float, ...]
    fraction: tuple[float, ...]
    model: str
    n_trials: int

    @property
    def empty(self) -> bool:
        return self.message is not None

    @property
    def interactions(self) -> float:
        """Share of the variance not explained by single parameters."""
        return max(0.0, 1.0 - sum(self.fraction))

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.names, self.importance))


def _sklearn_forest(seed: int) -> Any:
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError:
        raise ImportError(
            "importance with model='sklearn' needs scikit-learn: " + install_hint("importance")
        ) from None
    return RandomForestRegressor(n_estimators=32, min_samples_leaf=3, random_state=seed, n_jobs=1)


def _model(model: str, seed: int) -> tuple[Any, str]:
    if model not in ("auto", "numpy", "sklearn"):
        raise ConfigError(f"must be auto, numpy or sklearn, got {model!r}", field="model")
    if model in ("auto", "sklearn"):
        try:
            return _sklearn_forest(seed), "scikit-learn random forest"
        except ImportError:
            if model == "sklearn":
                raise
    from tansaku.report._forest import RegressionForest

    return RegressionForest(seed=seed), "numpy random forest"


def _grid(t: TrialTable, name: str) -> np.ndarray:
    """Unit coordinates where the main effect of ``name`` is evaluated: every level of a
    categorical or a discrete parameter with few levels, else ``GRID`` evenly spaced points."""
    dist = t.space[name]
    if isinstance(dist, Categorical):
        return t.unit(name, np.arange(len(dist.choices), dtype=float))
    levels = dist.levels if isinstance(dist, (Int, Float)) else None
    if levels is not None and levels <= GRID:
        return np.clip(t.unit(name, np.asarray(dist.values(), dtype=float)), 0.0, 1.0)
    return (np.arange(GRID) + 0.5) / GRID


def importance(
    source: Any, *, params: list[str] | None = None, model: str = "auto", seed: int = 0
) -> Importance:
    """First-order importance of each parameter (see the module docstring for the method)."""
    t = as_table(source)
    names = list(params) if params is not None else list(t.space.names)
    for n in names:
        if n not in t.space:
            raise ConfigError(f"no parameter {n!r} in study {t.study!r}", field="params")
    regressor, label = _model(model, seed)
    idx = np.flatnonzero(t.complete)
    if idx.size:
        x_all = np.column_stack([t.unit(n, t.params[n][idx]) for n in names])
        keep = np.all(np.isfinite(x_all), axis=1)
        idx, x_all = idx[keep], x_all[keep]
    n_ok = int(idx.size)

    def empty(msg: str) -> Importance:
        return Importance(t.study, msg, (), (), (), label, n_ok)

    if n_ok < MIN_TRIALS:
        return empty(
            f"parameter importance needs at least {MIN_TRIALS} complete trials; "
            f"study {t.study!r} has {n_ok}"
        )
    y_all = t.value[idx]
    if np.ptp(y_all) == 0.0:
        return empty("every complete trial has the same value: no parameter matters")
    pick = np.searchsorted(idx, subsample(idx, MAX_TRAIN, seed=seed))
    x, y = np.clip(x_all[pick], 0.0, 1.0), y_all[pick]
    regressor.fit(x, y)
    rng = np.random.default_rng(seed)
    bg = rng.random((BACKGROUND, len(names)))
    total = float(np.var(regressor.predict(bg)))
    if total <= 0.0:
        return empty("the fitted model is flat: no parameter explains the objective")
    fractions = []
    for i, n in enumerate(names):
        grid = _grid(t, n)
        batch = np.repeat(bg[None, :, :], grid.size, axis=0)
        batch[:, :, i] = grid[:, None]
        means = regressor.predict(batch.reshape(-1, len(names))).reshape(grid.size, -1).mean(axis=1)
        fractions.append(float(np.var(means)) / total)
    frac = np.asarray(fractions)
    s = frac.sum()
    imp = frac / s if s > 0 else np.full(frac.size, 1.0 / frac.size)
    order = np.argsort(-imp, kind="stable")
    return Importance(
        study=t.study,
        message=None,
        names=tuple(names[i] for i in order),
        importance=tuple(float(imp[i]) for i in order),
        fraction=tuple(float(frac[i]) for i in order),
        model=label,
        n_trials=n_ok,
    )
