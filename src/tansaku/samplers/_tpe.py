"""``tpe``: the Tree-structured Parzen Estimator sampler (core: :mod:`tansaku.algorithms._tpe`).

The adapter maps the user's space to the unit cube (log floats and ints are modelled on their log
scale; ints and stepped floats as discrete levels with discretised Gaussian kernels; categoricals
with categorical kernels) and feeds the core every finished trial:

* COMPLETE with a finite value: a normal observation (group 0);
* PRUNED with a finite last value: ranked after every complete trial, ordered by that value
  (group 1), so a pruned trial is never "good" while enough complete ones exist;
* COMPLETE but violating a constraint (``trial.violation > 0``): ranked after every feasible and
  pruned trial, ordered by total violation (group 2, Deb's feasibility rule), so the "good"
  density is fit to feasible trials while any exist and moves toward feasibility while none do;
* FAILED (or a missing / non-finite value): a *bad* observation with ``failed="bad"`` (default:
  the model learns to avoid regions that crash), or ignored with ``failed="ignore"``.

Pending trials (RUNNING / WAITING, from every worker) are told to the core on every ask as a
constant liar: with ``consider_pending=True`` (default) and no ``liar_value`` they count as bad
observations; with ``liar_value`` they pretend to have that objective value;
``consider_pending=False`` ignores them (the option name every model-based sampler shares).
Random proposals are made until ``n_startup_trials`` trials have a finite value.

Conditional spaces (parameters with ``when``) follow the tree-structured design of Bergstra et
al.: the parameters are grouped by their condition (all unconditional ones form the root group;
parameters with the same ``when`` form one group), and each group has its own TPE core, told only
the trials in which that group was active.  A proposal samples the root group, then every group
whose condition the values sampled so far make true, in space order, so an inactive parameter
never shapes the density of an active one.  The root's parameters that decide no condition (a
learning rate shared by every branch) are also modelled, jointly with each conditional group's own
parameters, by that group's core: once the first active such group has left its random start,
their values come from it, so they are tuned together with the branch they serve (on
``benchmarks/conditional.py`` this took the 100- and 200-evaluation regret below the flat
workaround's; without it the root core alone chose them, worse than flat).  A flat space uses one
core over the whole space, as before.

The sampler keeps no state that the trials do not carry: on resume it is rebuilt by replaying the
stored trials, and proposes exactly what the original run would have (same seed and trials).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from tansaku._check import check_number
from tansaku._errors import ConfigError, TansakuError
from tansaku._records import IMPORTED_ATTR, FrozenTrial, TrialState
from tansaku._space import Int, Space
from tansaku.algorithms._tpe import TPE
from tansaku.samplers._base import Sampler

__all__ = ["TPESampler", "unit_edges", "unit_point"]

#: model the root's condition-free parameters again in every conditional group (see the docstring)
#: model the root's condition-free parameters again in every conditional group (module docstring)
JOINT = True


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


def _groups(space: Space) -> list[list[str]]:
    """Parameter names grouped by their ``when`` (the root group first, then in space order)."""
    groups: dict[Any, list[str]] = {}
    for name, dist in space.items():
        groups.setdefault(dist.when, []).append(name)
    if None not in groups:
        groups = {None: [], **groups}
    return list(groups.values())


def unit_point(space: Space, params: Any) -> np.ndarray | None:
    """The unit-cube point of a trial's params, or None when they do not fit this space."""
    try:
        return space.to_unit(space.validate_params(params))
    except (ConfigError, KeyError, TypeError, ValueError):
        return None


class TPESampler(Sampler):
    """Tree-structured Parzen Estimator; see the module docstring for how trials are used."""

    name = "tpe"
    #: the good-point weighting rules of the ``weights`` option
    WEIGHTS: tuple[str, ...] = ("ei", "uniform")

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
            "weights": _choice_option("weights", weights, self.WEIGHTS),
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
        #: conditional spaces: (names, sub-space, core) per group, the root group first
        self._parts: list[tuple[list[str], Space | None, TPE]] = []

    def setup(self) -> None:
        self._parts = []
        #: define-by-run spaces: every finished trial told, and the cores by group names
        self._history: list[FrozenTrial] = []
        self._dynamic: dict[tuple[str, ...], tuple[Space, TPE]] = {}
        if self.space.free:
            self._core = self._make_core(self.space, self.seed)
            return
        if self.space.conditional:
            groups = _groups(self.space)
            parents = set(self.space.parents)
            # the root's parameters that decide no condition (a shared learning rate...) are
            # modelled again, jointly, by every conditional group: see the module docstring
            shared = [n for n in groups[0] if n not in parents] if JOINT else []
            for i, names in enumerate(groups):
                if not names:
                    continue
                sub = self.space.unconditioned([*shared, *names] if i else names)
                seed = None if self.seed is None else int(
                    np.random.SeedSequence([self.seed, i]).generate_state(1)[0])
                # a group starts modelling after a share of the startup budget in proportion to
                # its size, so a branch is not sampled at random for n_startup of its own trials
                start = self.options["n_startup_trials"]
                if i:
                    start = max(2, math.ceil(start * len(names) / len(self.space)))
                self._parts.append((names, sub, self._make_core(sub, seed, start)))
        self._core = self._make_core(self.space, self.seed)

    def _make_core(self, space: Space, seed: int | None, n_startup: int | None = None) -> TPE:
        o = self.options
        liar: str | float | None = None
        if o["consider_pending"]:
            liar = "worst" if o["liar_value"] is None else self.sign * o["liar_value"]
        return TPE(
            space.dims,
            seed=seed,
            n_startup=o["n_startup_trials"] if n_startup is None else n_startup,
            n_candidates=o["n_ei_candidates"],
            multivariate=o["multivariate"],
            gamma=o["gamma"],
            max_below=o["max_below"],
            # a rule the core does not know (mo-tpe's "hv") comes as told weights (good_weight)
            weights_below="ei" if o["weights"] == "ei" else "uniform",
            prior_weight=o["prior_weight"],
            bandwidth=o["bandwidth"],
            magic_clip=o["magic_clip"],
            min_bandwidth=o["min_bandwidth"],
            consider_endpoints=o["consider_endpoints"],
            n_recent=o["n_recent"],
            liar=liar,
            edges=unit_edges(space),
        )

    @property
    def core(self) -> TPE:
        if self._core is None:
            raise TansakuError("sampler 'tpe' is not bound to a study yet")
        return self._core

    def _free_parts(self) -> list[tuple[list[str], Space | None, TPE]]:
        """The groups of a space with define-by-run parameters: declared ones by their ``when``;
        a define-by-run parameter joins the root group when every trial so far holds it, else
        the group of the parameters held by exactly the same trials (e.g. one branch's
        parameters, or layer k's width).  A function of the told trials only, so a resumed study
        regroups exactly; a group's core is built when the group first appears, told every
        trial so far in which the whole group was active."""
        n = len(self._history)
        seen: dict[str, list[int]] = {name: [] for name in self.space.free}
        for i, t in enumerate(self._history):
            for name in t.params:
                if name in seen:
                    seen[name].append(i)
        groups: dict[Any, list[str]] = {None: []}
        for name, dist in self.space.items():
            if name in self.space.free:
                key = None if len(seen[name]) == n else ("free", tuple(seen[name]))
            else:
                key = dist.when
            groups.setdefault(key, []).append(name)
        parts: list[tuple[list[str], Space | None, TPE]] = []
        kept: dict[tuple[str, ...], tuple[Space, TPE]] = {}
        for key, names in groups.items():
            if not names:
                continue
            got = self._dynamic.get(tuple(names))
            if got is None:
                sub = self.space.unconditioned(names)
                start = self.options["n_startup_trials"]
                if key is not None:
                    start = max(2, math.ceil(start * len(names) / len(self.space)))
                seed = None if self.seed is None else int(np.random.SeedSequence(
                    [self.seed, zlib.crc32(" ".join(names).encode())]).generate_state(1)[0])
                core = self._make_core(sub, seed, start)
                for t in self._history:
                    if all(n in t.params for n in names) and unit_point(self.space, t.params) is not None:
                        self._tell_core(core, sub.to_unit({n: t.params[n] for n in names}), t)
                got = (sub, core)
            kept[tuple(names)] = got
            parts.append((names, got[0], got[1]))
        self._dynamic = kept
        return parts

    def _current_parts(self) -> list[tuple[list[str], Space | None, TPE]]:
        if self.space.free:
            return [(list(k), sub, core) for k, (sub, core) in self._dynamic.items()]
        return self._parts

    def _cores_for(self, params: Any) -> list[tuple[TPE, np.ndarray]]:
        """(core, unit point) of every core that learns from a trial with these params."""
        parts = self._current_parts()
        if not parts and not self.space.free:
            x = unit_point(self.space, params)
            return [] if x is None else [(self.core, x)]
        if unit_point(self.space, params) is None:
            return []
        out = []
        for _, sub, core in parts:
            assert sub is not None
            if all(n in params for n in sub):
                out.append((core, sub.to_unit({n: params[n] for n in sub})))
        return out

    def tell(self, trial: FrozenTrial) -> None:
        if not trial.state.is_finished:
            return
        if self.space.free:
            self._history.append(trial)
        # a trial from another space (or with missing params) teaches nothing
        for core, x in self._cores_for(trial.params):
            self._tell_core(core, x, trial)

    def _tell_core(self, core: TPE, x: np.ndarray, trial: FrozenTrial) -> None:
        imported = bool(trial.system_attrs.get(IMPORTED_ATTR))
        loss = self.loss(trial)
        if not math.isfinite(loss):
            if self.options["failed"] == "bad":
                core.tell(x, math.inf)
            return
        if trial.state is TrialState.COMPLETE and not trial.satisfies_constraints:
            # infeasible: after every feasible and pruned trial, the least violating first
            core.tell(x, min(trial.violation, 1e300), group=2)
            return
        complete = trial.state is TrialState.COMPLETE
        core.tell(x, loss, group=0 if complete else 1, imported=imported,
                  weight=self.good_weight(trial) if complete else 1.0)

    def good_weight(self, trial: FrozenTrial) -> float:
        """A factor (> 0) on a complete feasible trial's weight in the good mixture when it
        is among the good trials: 1 here (``weights`` decides alone); mo-tpe's ``"hv"``."""
        return 1.0

    def ask(self, pending: Sequence[FrozenTrial]) -> dict[str, Any]:
        if self.space.free:
            return self._ask_tree(pending, self._free_parts())
        if self._parts:
            return self._ask_tree(pending, self._parts)
        points = [p for p in (unit_point(self.space, t.params) for t in pending) if p is not None]
        x = self.core.ask(np.array(points) if points else None)
        return self.space.from_unit(x)

    def _ask_tree(
        self, pending: Sequence[FrozenTrial], parts: list[tuple[list[str], Space | None, TPE]]
    ) -> dict[str, Any]:
        """Sample group by group, each from its own core (see the module docstring); a group of
        define-by-run parameters is always proposed (the trial takes what it suggests)."""
        told: list[list[np.ndarray]] = [[] for _ in parts]
        for t in pending:
            if unit_point(self.space, t.params) is None:
                continue
            for i, (_, sub, _) in enumerate(parts):
                assert sub is not None
                if all(n in t.params for n in sub):
                    told[i].append(sub.to_unit({n: t.params[n] for n in sub}))
        params: dict[str, Any] = {}
        free = self.space.free
        joint_done = False
        for (names, sub, core), pend in zip(parts, told):
            assert sub is not None
            if names[0] not in free and not self.space.is_active(names[0], params):
                continue
            if free:  # a group may go unused: name the ask by the trials seen, not repeats
                x = core.ask(np.array(pend) if pend else None, salt=len(self._history))
            else:
                x = core.ask(np.array(pend) if pend else None)
            got = sub.from_unit(x)
            if len(sub) > len(names):  # a group that models shared root values too
                # they come from the first active such group's model once it has left its
                # random start; before that (and for later groups) the root's values stand
                if joint_done or core.n_finite < core.n_startup:
                    got = {n: v for n, v in got.items() if n in names}
                else:
                    joint_done = True
            params.update(got)
        return self.space.active(params)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), **self.options}
