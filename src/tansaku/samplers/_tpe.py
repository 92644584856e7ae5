"""``tpe``: the Tree-structured Parzen Estimator sampler (core: :mod:`tansaku.algorithms._tpe`).

The adapter maps the user's space to the unit cube (log floats and ints are modelled on their log
scale; ints and stepped floats as discrete levels with discretised Gaussian kernels; categoricals
with categorical kernels) and feeds the core every finished trial:

* COMPLETE with a finite value: a normal observation (group 0);
* PRUNED with a finite last value: ranked after every complete trial, ordered by that value
  (group 1), so a pruned trial is never "good" while enough complete ones exist;
* FAILED (or a missing / non-finite value): a *bad* observation with ``failed="bad"`` (default:
  the model learns to avoid regions that crash), or ignored with ``failed="ignore"``.

Pending trials (RUNNING / WAITING, from every worker) are told to the core on every ask as a
constant liar: with ``consider_pending=True`` (default) and no ``liar_value`` they count as bad
observations; with ``liar_value`` they pretend to have that objective value;
``consider_pending=False`` ignores them (the option name every model-based sampler shares).
Random proposals are made until ``n_startup_trials`` trials have a finite value.

The sampler keeps no state that the trials do not carry: on resume it is rebuilt by replaying the
stored trials, and proposes exactly what the original run would have (same seed and trials).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tansaku._check import check_number
from tansaku._errors import ConfigError, TansakuError
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Int, Space
from tansaku.algorithms._tpe import TPE
from tansaku.samplers._base import Sampler

__all__ = ["TPESampler", "unit_edges", "unit_point"]


def _int_option(name: str, value: Any, low: int, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"must be an integer >= {low}, got {value!r}", field=name)
    return int(value)


def _float_option(name: str, value: Any, low: float, high: float, *, open_low: bool = False) -> float:
    return float(check_number(value, name, low=low, low_open=open_low, high=high))


def _bool_option(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"must be true or false, got {value!r}", field=name)
    return value


def _choice_option(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ConfigError(f"must be one of {', '.join(choices)}, got {value!r}", field=name)
    return str(value)


def unit_edges(space: Space) -> list[np.ndarray | None]:
    """Cell edges in the unit cube of every discrete dim whose cells are not equal (log ints)."""
    out: list[np.ndarray | None] = []
    for dist in space.values():
        if isinstance(dist, Int) and dist.log:
            a, b = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
            v = np.arange(dist.low, dist.high + 2, dtype=float) - 0.5
            e = (np.log(v) - a) / (b - a)
            e[0], e[-1] = 0.0, 1.0
            out.append(e)
        else:
            out.append(None)
    return out


def unit_point(space: Space, params: Any) -> np.ndarray | None:
    """The unit-cube point of a trial's params, or None when they do not fit this space."""
    try:
        return space.to_unit(space.validate_params(params))
    except (ConfigError, KeyError, TypeError, ValueError):
        return None


class TPESampler(Sampler):
    """Tree-structured Parzen Estimator; see the module docstring for how trials are used."""

    name = "tpe"

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 64,
        multivariate: bool = True,
        gamma: float = 0.2,
        max_below: int | None = 25,
        weights: str = "ei",
        prior_weight: float = 1.0,
        bandwidth: str = "neighbor",
        magic_clip: bool = True,
        min_bandwidth: float = 0.0,
        consider_endpoints: bool = False,
        n_recent: int = 25,
        consider_pending: bool = True,
        liar_value: float | None = None,
        failed: str = "bad",
    ) -> None:
        super().__init__(seed=seed)
        self.options: dict[str, Any] = {
            "n_startup_trials": _int_option("n_startup_trials", n_startup_trials, 1),
            "n_ei_candidates": _int_option("n_ei_candidates", n_ei_candidates, 1),
            "multivariate": _bool_option("multivariate", multivariate),
            "gamma": _float_option("gamma", gamma, 0.0, 1.0, open_low=True),
            "max_below": _int_option("max_below", max_below, 1, allow_none=True),
            "weights": _choice_option("weights", weights, ("ei", "uniform")),
            "prior_weight": _float_option("prior_weight", prior_weight, 0.0, math.inf),
            "bandwidth": _choice_option("bandwidth", bandwidth, ("neighbor", "scott")),
            "magic_clip": _bool_option("magic_clip", magic_clip),
            "min_bandwidth": _float_option("min_bandwidth", min_bandwidth, 0.0, 0.5),
            "consider_endpoints": _bool_option("consider_endpoints", consider_endpoints),
            "n_recent": _int_option("n_recent", n_recent, 0),
            "consider_pending": _bool_option("consider_pending", consider_pending),
            "liar_value": None if liar_value is None else _float_option(
                "liar_value", liar_value, -math.inf, math.inf),
            "failed": _choice_option("failed", failed, ("bad", "ignore")),
        }
        self._core: TPE | None = None

    def setup(self) -> None:
        o = self.options
        liar: str | float | None = None
        if o["consider_pending"]:
            liar = "worst" if o["liar_value"] is None else self.sign * o["liar_value"]
        self._core = TPE(
            self.space.dims,
            seed=self.seed,
            n_startup=o["n_startup_trials"],
            n_candidates=o["n_ei_candidates"],
            multivariate=o["multivariate"],
            gamma=o["gamma"],
            max_below=o["max_below"],
            weights_below=o["weights"],
            prior_weight=o["prior_weight"],
            bandwidth=o["bandwidth"],
            magic_clip=o["magic_clip"],
            min_bandwidth=o["min_bandwidth"],
            consider_endpoints=o["consider_endpoints"],
            n_recent=o["n_recent"],
            liar=liar,
            edges=unit_edges(self.space),
        )

    @property
    def core(self) -> TPE:
        if self._core is None:
            raise TansakuError("sampler 'tpe' is not bound to a study yet")
        return self._core

    def tell(self, trial: FrozenTrial) -> None:
        if not trial.state.is_finished:
            return
        x = unit_point(self.space, trial.params)
        if x is None:  # a trial from another space (or with missing params) teaches nothing
            return
        loss = self.loss(trial)
        if not math.isfinite(loss):
            if self.options["failed"] == "bad":
                self.core.tell(x, math.inf)
            return
        self.core.tell(x, loss, group=0 if trial.state is TrialState.COMPLETE else 1)

    def ask(self, pending: Sequence[FrozenTrial]) -> dict[str, Any]:
        points = [p for p in (unit_point(self.space, t.params) for t in pending) if p is not None]
        x = self.core.ask(np.array(points) if points else None)
        return self.space.from_unit(x)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), **self.options}
