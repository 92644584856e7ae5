"""tansaku and Optuna: tansaku's samplers inside Optuna (:func:`as_optuna_sampler`), and a
tansaku study copied into an Optuna storage (:func:`export_to_optuna`) so that Optuna's tools
(optuna-dashboard, ``optuna.visualization``) open it.  (An Optuna study comes into tansaku with
``tansaku import --from-optuna``.)

``optuna.create_study(sampler=as_optuna_sampler("nelder-mead"))`` gives an Optuna study tansaku's
proposals, in one process or in many sharing an Optuna RDB storage.  How the two contracts meet:

* **The space.** Optuna learns it by running (define-by-run).  The relative space is the given
  ``search_space`` (Optuna distributions or a :class:`tansaku.Space`) or, without one, Optuna's
  intersection of the finished trials' distributions; its parameters come from the tansaku
  sampler, every other ``suggest_*`` from Optuna's :class:`~optuna.samplers.RandomSampler`
  (so the first trial of a study without ``search_space`` is random, as for Optuna's own
  relative samplers).  Parameters tansaku cannot hold (a single-value range, a name it refuses)
  are left to the random sampler too.
* **Replay.** Before each proposal the bridge tells the tansaku sampler every finished trial it
  has not seen (COMPLETE with its value, PRUNED with its last intermediate value and step, FAIL),
  in the order they finished; a trial that lacks a parameter of the space, or whose value lies
  outside it, is left out.  When the space changes the sampler is rebuilt and told everything
  again, so every process holds the same state whatever it saw first.  What the sampler attaches
  to a proposal (``Proposal.meta``: the simplex step a point belongs to, say) is stored as the
  Optuna trial's system attribute ``tansaku:sampler`` and handed back on replay, in every process.
* **Pending trials.** RUNNING and WAITING trials with every parameter of the space set are the
  sampler's ``pending``: a pending-aware sampler (nelder-mead, gp, tpe with liars) does not
  propose what another worker is already running.
* **Several processes.** Optuna has no ask lock: each process replays the same state, and a
  process may create its trial well before it asks.  The bridge writes its point to the trial at
  once (``tansaku:proposal``) and, when it then sees the same point in another trial (running or
  finished), learns what finished and asks again (at most 5 times); a point can still run twice
  when processes interleave badly (measured: 3 of 62 trials with 4 processes and nelder-mead,
  tests/integration/test_optuna_bridge.py).  A tansaku study's own workers never do.
* **Threads.** One lock serialises the sampler (Optuna's ``n_jobs`` threads may call in at once);
  the tansaku sampler itself is only ever called by one thread at a time, as its contract says.

Multi-objective studies are refused with Optuna's own error; use Optuna's multi-objective
samplers there.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tansaku._blas import blas_limit
from tansaku._errors import ConfigError
from tansaku._records import FrozenTrial as TkTrial
from tansaku._records import TrialState as TkState
from tansaku._space import Categorical, Distribution, Float, Int, Space
from tansaku.samplers._base import Proposal, Sampler
from tansaku.samplers._registry import make_sampler

try:
    import optuna
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from optuna.samplers import BaseSampler, RandomSampler
    from optuna.search_space import IntersectionSearchSpace
    from optuna.trial import TrialState
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "tansaku.integration.optuna needs Optuna: pip install 'tansaku[optuna]' (or optuna)"
    ) from e

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

__all__ = [
    "META_ATTR",
    "TansakuSampler",
    "as_optuna_sampler",
    "export_to_optuna",
    "to_optuna_distribution",
    "to_tansaku_space",
]

#: the Optuna trial system attribute holding the tansaku sampler's meta for its proposal
META_ATTR = "tansaku:sampler"
#: the Optuna trial system attribute naming the tansaku sampler that proposed it
NAME_ATTR = "tansaku:sampler_name"
#: the point proposed for a trial, written before Optuna stores its params (other processes see
#: it as pending at once)
PROPOSAL_ATTR = "tansaku:proposal"
#: how many times one proposal is made again after finding its point taken by another process
_MAX_ROUNDS = 5


def _tk_distribution(dist: BaseDistribution) -> Distribution | None:
    """The tansaku twin of an Optuna distribution, or None when tansaku cannot hold it."""
    try:
        if isinstance(dist, FloatDistribution):
            if not dist.low < dist.high:
                return None
            return Float(dist.low, dist.high, log=dist.log, step=dist.step)
        if isinstance(dist, IntDistribution):
            if not dist.low < dist.high:
                return None
            return Int(dist.low, dist.high, log=dist.log, step=dist.step)
        if isinstance(dist, CategoricalDistribution):
            if len(dist.choices) < 2:
                return None
            return Categorical(dist.choices)
    except ConfigError:
        return None
    return None


def to_tansaku_space(
    search_space: Mapping[str, BaseDistribution],
) -> tuple[Space | None, dict[str, BaseDistribution]]:
    """``(space, kept)``: the tansaku space of the parameters it can hold (names in sorted order,
    so every process builds the same one) and the Optuna distributions they came from."""
    dists: dict[str, Distribution] = {}
    kept: dict[str, BaseDistribution] = {}
    for name in sorted(search_space):
        tk = _tk_distribution(search_space[name])
        if tk is None:
            continue
        try:
            Space({name: tk})
        except ConfigError:  # a name tansaku refuses (e.g. with a space or a slash in it)
            continue
        dists[name], kept[name] = tk, search_space[name]
    return (Space(dists) if dists else None), kept


def to_optuna_distribution(dist: Distribution) -> BaseDistribution:
    """The Optuna distribution of a tansaku ``Float``/``Int``/``Categorical`` (no ``when``)."""
    if getattr(dist, "when", None):
        raise ConfigError(
            "conditional parameters (when=) cannot be given to Optuna as a fixed space; "
            "suggest them inside the objective", field="search_space"
        )
    return _optuna_range(dist)


def _optuna_range(dist: Distribution) -> BaseDistribution:
    """The Optuna distribution of a parameter's range, whatever its ``when`` (an Optuna trial
    holds only the parameters it used, so a condition has nothing to say there)."""
    if isinstance(dist, Float):
        return FloatDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, Int):
        return IntDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, Categorical):
        return CategoricalDistribution(list(dist.choices))
    raise ConfigError(f"not a tansaku distribution: {dist!r}", field="search_space")


_STATES = {
    TrialState.COMPLETE: TkState.COMPLETE,
    TrialState.PRUNED: TkState.PRUNED,
    TrialState.FAIL: TkState.FAILED,
    TrialState.RUNNING: TkState.RUNNING,
    TrialState.WAITING: TkState.WAITING,
}


class _Replay:
    """One tansaku sampler bound to one space of one study, and what it has been told."""

    def __init__(
        self, sampler: Sampler, space: Space, kept: Mapping[str, BaseDistribution]
    ) -> None:
        self.sampler = sampler
        self.space = space
        self.kept = dict(kept)
        self.told: set[int] = set()


class TansakuSampler(BaseSampler):
    """An Optuna sampler that asks a tansaku sampler (see the module docstring).  Build it with
    :func:`as_optuna_sampler`."""

    def __init__(
        self,
        sampler: str | Mapping[str, Any],
        *,
        seed: int | None = None,
        search_space: Mapping[str, Any] | Space | None = None,
        n_workers: int = 1,
    ) -> None:
        spec = {"name": sampler} if isinstance(sampler, str) else dict(sampler)
        if seed is not None:
            spec.setdefault("seed", seed)
        make_sampler(spec)  # a bad name or option fails here, not at the first trial
        self._spec = spec
        self._seed = seed
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ConfigError(f"must be an integer >= 1, got {n_workers!r}", field="n_workers")
        self._n_workers = n_workers
        self._fixed: dict[str, BaseDistribution] | None = None
        if search_space is not None:
            self._fixed = {
                name: d if isinstance(d, BaseDistribution) else to_optuna_distribution(d)
                for name, d in search_space.items()
            }
        self._independent = RandomSampler(seed=seed)
        self._intersection = IntersectionSearchSpace(include_pruned=True)
        self._lock = threading.Lock()
        #: the sampler bound to the current space of the current study, and which study that is
        self._replay: _Replay | None = None
        self._study_key: Any = None

    @property
    def name(self) -> str:
        return str(self._spec["name"])

    # -- Optuna's sampler interface ----------------------------------------------------------------
    def reseed_rng(self) -> None:
        self._independent.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        self._raise_error_if_multi_objective(study)
        if self._fixed is not None:
            return dict(self._fixed)
        return self._intersection.calculate(study)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        space, kept = to_tansaku_space(search_space)
        if space is None:
            return {}
        storage = study._storage
        with self._lock, blas_limit():  # single-threaded BLAS, as in a tansaku study
            replay = self._replay_for(study, space, kept)
            trials = study.get_trials(deepcopy=False)
            self._tell_new(replay, trials)
            for _ in range(_MAX_ROUNDS):
                pending = self._pending(replay, trials, trial.number)
                answer = replay.sampler.ask(pending)
                if answer is None:  # nothing left to propose (a finite space all taken)
                    return self._random_point(study, trial, kept)
                if isinstance(answer, Proposal):
                    params, meta = dict(answer.params), dict(answer.meta)
                else:
                    params, meta = dict(answer), {}
                params = {k: v for k, v in params.items() if k in kept}
                # Written at once, before Optuna stores the params one suggest_* at a time, so a
                # process syncing now sees this point as pending.  Then look again: every process
                # replays the same state, so two may have picked the same point; whoever sees the
                # other's (the later writer always does) asks again with it pending.
                if meta:  # first: a process that sees the point must see what it is for
                    storage.set_trial_system_attr(trial._trial_id, META_ATTR, meta)
                storage.set_trial_system_attr(trial._trial_id, PROPOSAL_ATTR, params)
                trials = study.get_trials(deepcopy=False)
                if not any(
                    t.number != trial.number and (_proposed(t) or t.params) == params
                    for t in trials
                ):
                    break
                self._tell_new(replay, trials)  # a point that ran meanwhile is now known
        storage.set_trial_system_attr(trial._trial_id, NAME_ATTR, replay.sampler.name or self.name)
        return params

    def _random_point(
        self, study: Study, trial: FrozenTrial, kept: Mapping[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Optuna's random draw for every relative parameter (the tansaku sampler has nothing)."""
        return {
            name: self._independent.sample_independent(study, trial, name, dist)
            for name, dist in kept.items()
        }

    def _pending(
        self, replay: _Replay, trials: Sequence[FrozenTrial], current: int
    ) -> list[TkTrial]:
        """RUNNING and WAITING trials other than ``current``, with their params or, while Optuna
        has not stored them yet, the point the bridge proposed for them."""
        out = []
        for t in trials:
            if t.number == current or t.state not in (TrialState.RUNNING, TrialState.WAITING):
                continue
            tk = self._convert(replay, t)
            if tk is None:
                proposed = _proposed(t)
                if proposed is not None and set(proposed) == set(replay.kept):
                    tk = TkTrial(
                        number=t.number,
                        state=_STATES[t.state],
                        params=proposed,
                        trial_id=t._trial_id,
                        system_attrs=_meta_attrs(t),
                    )
            if tk is not None:
                out.append(tk)
        return out

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        self._raise_error_if_multi_objective(study)
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    # -- replay ------------------------------------------------------------------------------------
    def _replay_for(
        self, study: Study, space: Space, kept: Mapping[str, BaseDistribution]
    ) -> _Replay:
        key = (id(study._storage), study._study_id)
        replay = self._replay
        if key != self._study_key:  # the sampler was handed to another study: start afresh
            replay, self._study_key = None, key
        if replay is None or replay.kept != dict(kept):
            sampler = make_sampler(dict(self._spec))
            sampler.bind(
                space,
                direction=(
                    "maximize"
                    if study.direction == optuna.study.StudyDirection.MAXIMIZE
                    else "minimize"
                ),
                seed=self._seed,
                n_workers=self._n_workers,
            )
            replay = self._replay = _Replay(sampler, space, kept)
        return replay

    def _tell_new(self, replay: _Replay, trials: Sequence[FrozenTrial]) -> None:
        new = [t for t in trials if t.state.is_finished() and t.number not in replay.told]
        new.sort(key=lambda t: (t.datetime_complete is None, t.datetime_complete or 0, t.number))
        for t in new:
            replay.told.add(t.number)
            tk = self._convert(replay, t)
            if tk is not None:
                replay.sampler.tell(tk)

    @staticmethod
    def _convert(replay: _Replay, t: FrozenTrial) -> TkTrial | None:
        """The tansaku record of an Optuna trial over the replay's space, or None when the trial
        lacks one of its parameters or holds a value outside it."""
        params: dict[str, Any] = {}
        for name, dist in replay.kept.items():
            if name not in t.params or t.distributions.get(name) is None:
                return None
            value = t.params[name]
            try:
                inside = dist._contains(dist.to_internal_repr(value))
            except (ValueError, TypeError):
                inside = False
            if not inside:
                return None
            params[name] = value
        state = _STATES.get(t.state)
        if state is None:
            return None
        value: float | None = None
        last_step: int | None = None
        if state is TkState.COMPLETE:
            value = t.value
            if value is None or not math.isfinite(value):
                state, value = TkState.FAILED, None
        elif state is TkState.PRUNED and t.intermediate_values:
            last_step = max(t.intermediate_values)
            value = t.intermediate_values[last_step]
        return TkTrial(
            number=t.number,
            state=state,
            params=params,
            value=value,
            last_step=last_step,
            intermediate=dict(t.intermediate_values),
            system_attrs=_meta_attrs(t),
            trial_id=t._trial_id,
        )


def _proposed(t: FrozenTrial) -> dict[str, Any] | None:
    value = t.system_attrs.get(PROPOSAL_ATTR)
    return dict(value) if isinstance(value, Mapping) else None


def _meta_attrs(t: FrozenTrial) -> dict[str, Any]:
    meta = t.system_attrs.get(META_ATTR)
    return {"sampler": meta} if isinstance(meta, Mapping) else {}


def as_optuna_sampler(
    sampler: str | Mapping[str, Any] = "nelder-mead",
    *,
    seed: int | None = None,
    search_space: Mapping[str, Any] | Space | None = None,
    n_workers: int = 1,
    **options: Any,
) -> TansakuSampler:
    """Any tansaku sampler as an :class:`optuna.samplers.BaseSampler`.

    ``sampler``: a tansaku sampler name (``"nelder-mead"``, ``"one-axis"``, ``"gp"``, ``"dngo"``,
    ``"tpe"``, ...) or ``{"name": ..., **options}``; ``options`` are that sampler's options.
    ``search_space``: the parameters tansaku proposes from the first trial on (Optuna
    distributions or tansaku ``Float``/``Int``/``Categorical``); without it, the intersection of
    the finished trials' parameters, learnt as the study runs.  ``n_workers``: how many trials
    run at once (the parallel samplers plan for it).  A bad name or option is a one-line
    :class:`tansaku.ConfigError` here.  See the module docstring for how replay, pending trials
    and several processes work."""
    spec: str | dict[str, Any] = sampler if not options else {
        **({"name": sampler} if isinstance(sampler, str) else dict(sampler)), **options
    }
    return TansakuSampler(spec, seed=seed, search_space=search_space, n_workers=n_workers)


_TO_OPTUNA_STATE = {
    TkState.COMPLETE: TrialState.COMPLETE,
    TkState.PRUNED: TrialState.PRUNED,
    TkState.FAILED: TrialState.FAIL,
}


def _jsonable(value: Any) -> Any:
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def export_to_optuna(
    name: str,
    *,
    storage: Any,
    to: str | Any,
    to_name: str | None = None,
) -> optuna.Study:
    """Copy the finished trials of tansaku study ``name`` (in ``storage``: a URL or a storage)
    into a new Optuna study ``to_name`` (default: the same name) in Optuna storage ``to`` (an
    RDB URL such as ``sqlite:///optuna.db``, or an Optuna storage), and return it.

    Kept: every objective's direction and the objective names (Optuna's
    ``set_metric_names``), each COMPLETE / PRUNED / FAILED trial in number order with its params
    and their distributions (from the study's space, define-by-run parameters included), values,
    intermediate values, start and end times and user attributes; tansaku's own bookkeeping goes
    under ``tansaku:`` system attributes (the trial number, a failure's message, constraints).
    Running and waiting trials are left out (Optuna cannot be given a running trial it will never
    see finish).  An Optuna study of that name that already exists is an error (nothing written).
    """
    import datetime as _dt

    from tansaku.storage import get_storage

    st = get_storage(storage)
    info = st.get_study(name)
    space = info.searched_space
    dists = {pname: _optuna_range(space[pname]) for pname in space.names}
    target_name = to_name or name
    try:
        optuna.load_study(study_name=target_name, storage=to)
    except KeyError:
        pass
    else:
        raise ConfigError(
            f"an Optuna study {target_name!r} exists already in that storage; "
            "give another name", field="to_name"
        )
    study = optuna.create_study(
        study_name=target_name, storage=to, directions=list(info.directions)
    )
    if info.objective_names:
        study.set_metric_names(list(info.objective_names))

    def when(ts: float | None) -> _dt.datetime | None:
        return None if ts is None else _dt.datetime.fromtimestamp(ts)

    trials = []
    for t in st.get_trials(info.study_id, with_intermediate=True):
        state = _TO_OPTUNA_STATE.get(t.state)
        if state is None:
            continue
        values = None
        if state is TrialState.COMPLETE:
            values = list(t.values) if t.values else [t.value]
        system: dict[str, Any] = {"tansaku:number": t.number}
        if t.message:
            system["tansaku:message"] = t.message[:2000]
        if t.constraints:
            system["tansaku:constraints"] = dict(t.constraints)
            # what Optuna's own constraint-aware samplers and the dashboard read
            system["constraints"] = list(t.constraints.values())
        trials.append(
            optuna.trial.create_trial(
                state=state,
                values=values,
                params={k: v for k, v in t.params.items() if k in dists},
                distributions={k: dists[k] for k in t.params if k in dists},
                user_attrs={k: _jsonable(v) for k, v in t.user_attrs.items()},
                system_attrs=system,
                intermediate_values={
                    int(k): float(v) for k, v in t.intermediate.items() if math.isfinite(v)
                },
            )
        )
        trials[-1].datetime_start = when(t.start_time)
        trials[-1].datetime_complete = when(t.end_time)
    study.add_trials(trials)
    return study

