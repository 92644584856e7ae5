"""Warm start: finished trials that were evaluated elsewhere, added to a study.

``Study.add_trial`` / ``Study.add_trials`` and ``tansaku import`` (``tansaku.cli._import``) come
through here.  The promises:

* **All or nothing.**  Every record is checked against the study's space first (the first bad one
  is a one-line :class:`~tansaku.ConfigError` naming it, e.g. ``trials[3].params.lr: ...`` or
  ``trials.csv row 4, column lr: ...``); only then are they stored, in one storage transaction
  (:meth:`~tansaku.storage.BaseStorage.add_trials`).  ``skip_invalid=True`` leaves the bad
  records out instead and says which.
* **Marked.**  Each stored trial carries ``system_attrs["imported"]`` (``{"source": ...}`` plus
  where it came from: a row, a study's trial number); the source's own system attributes are not
  copied (a proposing sampler's meta would mislead this study's sampler).
* **Counted toward nothing** unless ``count=True``: complete and pruned imported trials are added to
  the study's ``system_attrs["uncounted_trials"]``, which ``optimize(total_trials=...)`` and
  ``tansaku run``'s ``n_trials`` add to their target, so a study of 40 trials seeded with 50 still
  evaluates 40.  ``n_trials`` of one ``optimize`` call counts that call's trials only anyway.
* **Learnt from.**  They get ``finish_seq`` in the order given, so every sampler is told them,
  in that order, before its next proposal, like any trial it did not propose.  Trajectory
  samplers (nelder-mead, coordinate, one-axis) that have not started yet take them as prior points
  and start from the best ones (the simplex is built around the best); a trajectory already under
  way is only told them.  cmaes ignores trials it did not propose.
* **Defaults.**  A parameter missing from a record that has a ``default`` in the space (see
  ``docs/warm_start.md``) gets that default; an inactive conditional parameter is dropped only
  when it is absent or empty (a value for it is an error, as in ``enqueue``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tansaku._errors import ConfigError
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Space
from tansaku.objectives._callable import as_value
from tansaku.storage._base import IMPORTED_ATTR

if TYPE_CHECKING:
    from tansaku.study._study import Study

__all__ = ["IMPORTED_ATTR", "add_checked", "check_trial", "fill_defaults", "uncounted"]

_KEYS = (
    "params",
    "value",
    "values",
    "constraints",
    "state",
    "user_attrs",
    "intermediate",
    "message",
    "start_time",
    "end_time",
)
_STATES = {
    "complete": TrialState.COMPLETE,
    "pruned": TrialState.PRUNED,
    "failed": TrialState.FAILED,
    "fail": TrialState.FAILED,
}


def fill_defaults(space: Space, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` plus the ``default`` of every active parameter it lacks."""
    out = dict(params)
    for name in space.names:  # parents come first, so their defaults decide activity
        default = getattr(space[name], "default", None)
        if name not in out and default is not None and space.is_active(name, out):
            out[name] = default
    return out


def check_trial(
    space: Space,
    spec: Mapping[str, Any] | FrozenTrial,
    *,
    field: Callable[[str], str],
    imported: Mapping[str, Any],
    n_objectives: int = 1,
) -> FrozenTrial:
    """One record checked and normalised into a finished :class:`FrozenTrial` to store.

    ``spec`` is a mapping with ``params`` (required) and optionally ``value``, ``state``
    (complete, pruned or failed; default complete, or failed without a value), ``user_attrs``,
    ``intermediate`` ({step: value}), ``message``, ``start_time``/``end_time`` (POSIX seconds),
    ``constraints`` ({name: number}, feasible when ``<= 0``), or a finished FrozenTrial.  A study
    of ``n_objectives > 1`` objectives takes ``values`` (that many numbers; ``value``, if given
    too, must be their first) instead of ``value``; a single-objective one takes either.
    ``field("params.lr")`` names a part of it in an error message; ``imported`` becomes
    ``system_attrs["imported"]``."""
    if isinstance(spec, FrozenTrial):
        spec = {
            "params": spec.params,
            "value": spec.value,
            "values": spec.values if spec.values is not None and len(spec.values) > 1 else None,
            "constraints": spec.constraints,
            "state": spec.state,
            "user_attrs": spec.user_attrs,
            "intermediate": spec.intermediate,
            "message": spec.message,
            "start_time": spec.start_time,
            "end_time": spec.end_time,
        }
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"expected a mapping with params and value, got {type(spec).__name__}", field=field("")
        )
    unknown = [str(k) for k in spec if k not in _KEYS]
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(_KEYS)})", field=field("")
        )
    if "params" not in spec:
        raise ConfigError("is required", field=field("params"))
    raw = spec["params"]
    if not isinstance(raw, Mapping):
        raise ConfigError(f"must be a mapping, got {type(raw).__name__}", field=field("params"))
    try:
        params = space.validate_params(fill_defaults(space, raw))
    except ConfigError as e:
        where = e.field.removeprefix("params") if e.field else ""
        raise ConfigError(e.reason, field=field("params" + where)) from None

    state_in = spec.get("state")
    value_in = spec.get("value")
    values = _check_values(spec.get("values"), value_in, n_objectives, field)
    if values is not None:
        value_in = values[0]
    if state_in is None:
        state = TrialState.COMPLETE if value_in is not None else None
        if state is None:
            raise ConfigError(
                "a complete trial needs a value (or give state: failed)", field=field("value")
            )
    elif isinstance(state_in, TrialState):
        state = state_in
    else:
        state = _STATES.get(str(state_in).strip().lower())
    if state is None or not state.is_finished:
        raise ConfigError(
            f"must be complete, pruned or failed, got {state_in!r:.40}", field=field("state")
        )
    message = spec.get("message")
    if message is not None and not isinstance(message, str):
        message = str(message)
    value: float | None = None
    if value_in is not None:
        value, reason = as_value(value_in, "got")
        if value is None:
            if (
                isinstance(value_in, float)
                and math.isnan(value_in)
                and state is not TrialState.COMPLETE
            ):
                value = None  # a failed/pruned trial without a value
            elif state is TrialState.COMPLETE and isinstance(value_in, float):
                state, message = TrialState.FAILED, message or f"value is {value_in}"
            else:
                raise ConfigError(f"must be a finite number, {reason}", field=field("value"))
    if state is TrialState.COMPLETE and value is None:
        raise ConfigError("a complete trial needs a value", field=field("value"))
    if n_objectives > 1 and value is not None and values is None:
        raise ConfigError(
            f"this study has {n_objectives} objectives: give values (a list of {n_objectives} "
            "numbers), not one value",
            field=field("values"),
        )
    if value is None:
        values = None  # a failed trial keeps no objective vector
    constraints = _check_constraints(spec.get("constraints"), field)

    inter: dict[int, float] = {}
    raw_inter = spec.get("intermediate") or {}
    if not isinstance(raw_inter, Mapping):
        raise ConfigError("must be a mapping of step to value", field=field("intermediate"))
    for step, v in raw_inter.items():
        try:
            s = int(step)
            if isinstance(step, float) and step != s:
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigError(
                f"step must be an integer, got {step!r:.40}", field=field("intermediate")
            ) from None
        fv, reason = as_value(v, "got")
        if fv is None:
            raise ConfigError(
                f"must be a finite number, {reason}", field=field(f"intermediate.{s}")
            )
        inter[s] = fv
    if state is TrialState.PRUNED and value is None and inter:
        value = inter[max(inter)]
    user = spec.get("user_attrs") or {}
    if not isinstance(user, Mapping):
        raise ConfigError("must be a mapping", field=field("user_attrs"))
    times: dict[str, float | None] = {}
    for key in ("start_time", "end_time"):
        t = spec.get(key)
        if t is None:
            times[key] = None
            continue
        ft, reason = as_value(t, "got")
        if ft is None:
            raise ConfigError(f"must be POSIX seconds, {reason}", field=field(key))
        times[key] = ft
    return FrozenTrial(
        number=-1,
        state=state,
        params=params,
        value=value,
        start_time=times["start_time"],
        end_time=times["end_time"],
        message=message,
        intermediate=inter,
        user_attrs={str(k): v for k, v in user.items()},
        system_attrs={IMPORTED_ATTR: dict(imported)},
        values=values,
        constraints=constraints,
    )


def _check_values(
    raw: Any, value: Any, n: int, field: Callable[[str], str]
) -> tuple[float, ...] | None:
    """``values`` of a record as a tuple of ``n`` finite numbers (None when not given)."""
    if raw is None:
        return None
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise ConfigError(
            f"must be a list of {n} number(s), got {type(raw).__name__}", field=field("values")
        )
    if len(raw) != n:
        what = "one objective" if n == 1 else f"{n} objectives"
        raise ConfigError(
            f"this study has {what}, got {len(raw)} value(s)", field=field("values")
        )
    out: list[float] = []
    for i, v in enumerate(raw):
        fv, reason = as_value(v, "got")
        if fv is None:
            raise ConfigError(f"must be a finite number, {reason}", field=field(f"values.{i}"))
        out.append(fv)
    if value is not None:
        first, _ = as_value(value, "got")
        if first != out[0]:
            raise ConfigError(
                f"value {value!r:.40} is not the first of values {out!r:.80}", field=field("value")
            )
    return tuple(out)


def _check_constraints(raw: Any, field: Callable[[str], str]) -> dict[str, float]:
    """``constraints`` of a record as ``{name: number}`` (nan allowed: it counts as violated)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"must be a mapping of name to number, got {type(raw).__name__}",
            field=field("constraints"),
        )
    out: dict[str, float] = {}
    for k, v in raw.items():
        try:
            if isinstance(v, bool):
                raise TypeError
            out[str(k)] = float(v)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(
                f"must be a number, got {v!r:.40}", field=field(f"constraints.{k}")
            ) from None
    return out


def add_checked(study: Study, records: list[FrozenTrial], *, count: bool) -> list[FrozenTrial]:
    """Store checked records in one transaction; uncounted unless ``count``."""
    if not records:
        return []
    done = sum(r.state in (TrialState.COMPLETE, TrialState.PRUNED) for r in records)
    return study.storage.add_trials(study.study_id, records, uncounted=0 if count else done)


def add_trials(
    study: Study,
    trials: Iterable[Mapping[str, Any] | FrozenTrial],
    *,
    count: bool = False,
    skip_invalid: bool = False,
    source: str = "add_trials",
) -> tuple[list[FrozenTrial], list[str]]:
    """Check every record, then store them (see the module docstring); returns the stored trials
    and, with ``skip_invalid``, the one-line reason of each record left out."""
    records: list[FrozenTrial] = []
    skipped: list[str] = []
    for i, spec in enumerate(trials):
        extra: dict[str, Any] = {"source": source}
        if isinstance(spec, FrozenTrial) and spec.number >= 0:
            extra["number"] = spec.number
        try:
            records.append(
                check_trial(
                    study.space,
                    spec,
                    field=lambda k, i=i: f"trials[{i}]" + (f".{k}" if k else ""),
                    imported=extra,
                    n_objectives=len(study.directions),
                )
            )
        except ConfigError as e:
            if not skip_invalid:
                raise
            skipped.append(str(e))
    return add_checked(study, records, count=count), skipped


def uncounted(system_attrs: Mapping[str, Any]) -> int:
    """How many of a study's finished trials count toward no budget (imported ones); see
    :func:`tansaku.storage._base.uncounted_trials`, where it lives so that ``tansaku status``
    reads it without loading the study package."""
    from tansaku.storage._base import uncounted_trials

    return uncounted_trials(system_attrs)
