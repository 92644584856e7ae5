"""The live trial an objective receives: its params, and a channel back to the study."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from tansaku._errors import ConfigError
from tansaku._space import (
    _NAME_RE,
    Categorical,
    Distribution,
    Float,
    Int,
    _describe,
    distribution_from_dict,
)

__all__ = ["MAX_STEP", "NullChannel", "Trial", "TrialChannel", "step_problem"]

#: the largest report step every storage keeps (PostgreSQL's ``integer`` column is 32-bit)
MAX_STEP = 2**31 - 1


def step_problem(step: object) -> str | None:
    """None for a usable report step (an int in ``0..MAX_STEP``), else what is wrong with it --
    the one rule for ``trial.report`` and ``tansaku:report`` lines alike."""
    if isinstance(step, bool) or not isinstance(step, int):
        return f"must be an int, got {type(step).__name__}"
    if not 0 <= step <= MAX_STEP:
        shown = repr(step) if abs(step) < 10**30 else f"about 10**{step.bit_length() * 0.30103:.0f}"
        return f"must be in 0..{MAX_STEP}, got {shown}"
    return None


class TrialChannel(Protocol):
    """How a running trial talks to its study, wherever it runs (same thread, a forked process,
    a Dask worker).  Implemented by executors; the study decides what a report means."""

    def report(self, trial_id: int, step: int, value: float) -> None: ...

    def should_prune(self, trial_id: int) -> bool: ...

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None: ...


class NullChannel:
    """A channel that stores nothing (for objectives called outside a study, e.g. in tests)."""

    def __init__(self) -> None:
        self.reports: dict[int, float] = {}
        self.user_attrs: dict[str, Any] = {}

    def report(self, trial_id: int, step: int, value: float) -> None:
        self.reports[step] = value

    def should_prune(self, trial_id: int) -> bool:
        return False

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.user_attrs[key] = value


class Trial:
    """What ``objective(trial)`` gets.

    ``trial.params`` is a read-only dict of the proposed values; ``trial.number`` counts from 0 per
    study; ``trial.workdir`` is the trial's own directory when the study has one.  Long objectives
    call ``trial.report(value, step)`` and then ``if trial.should_prune(): raise tk.TrialPruned()``.
    ``trial.seed`` is this evaluation's seed (different for each repeat of a point);
    ``trial.setup_dir`` is the directory of the study's setup step (None without one);
    ``trial.parent_dir`` the directory of the trial it was enqueued to start from (``from_trial``);
    ``trial.gpu_ids`` the devices this trial has to itself with ``gpus:`` (also in
    ``CUDA_VISIBLE_DEVICES``), ``()`` without.

    Define-by-run: ``trial.suggest_float(name, low, high, log=, step=)``, ``suggest_int`` and
    ``suggest_categorical`` return a value for ``name`` (the sampler's proposal when the study
    knows ``name`` already, else a uniform draw) and add it to ``trial.params``; see
    docs/define-by-run.md.
    """

    __slots__ = (
        "_channel",
        "_constraints",
        "_draw_seed",
        "_known",
        "_params",
        "_proposed",
        "_suggested",
        "_user_attrs",
        "gpu_ids",
        "number",
        "params",
        "parent_dir",
        "seed",
        "setup_dir",
        "study_name",
        "trial_id",
        "workdir",
    )

    def __init__(
        self,
        *,
        number: int,
        params: Mapping[str, Any],
        trial_id: int = -1,
        study_name: str = "",
        channel: TrialChannel | None = None,
        workdir: str | Path | None = None,
        seed: int | None = None,
        setup_dir: str | Path | None = None,
        parent_dir: str | Path | None = None,
        gpu_ids: str | None = None,
        known: Mapping[str, Mapping[str, Any]] | None = None,
        learned: Iterable[str] = (),
        draw_seed: str | None = None,
    ) -> None:
        self.number = number
        self.trial_id = trial_id
        learned = frozenset(learned)
        #: the params the trial uses: the declared ones, plus every ``suggest_*`` so far
        self._params: dict[str, Any] = {n: v for n, v in params.items() if n not in learned}
        #: the sampler's values for define-by-run parameters, taken only if suggested
        self._proposed: dict[str, Any] = {n: v for n, v in params.items() if n in learned}
        self.params: Mapping[str, Any] = MappingProxyType(self._params)
        #: JSON form of every distribution the study knew when the trial was proposed
        self._known: Mapping[str, Mapping[str, Any]] = dict(known or {})
        self._suggested: dict[str, Distribution] = {}
        self._draw_seed = draw_seed if draw_seed is not None else f"{study_name}/{number}"
        self.study_name = study_name
        self.workdir = None if workdir is None else Path(workdir)
        self.seed = seed
        self.setup_dir = None if not setup_dir else Path(setup_dir)
        self.parent_dir = None if not parent_dir else Path(parent_dir)
        #: from ``TANSAKU_GPU_IDS`` (comma-separated) as the executor set it
        self.gpu_ids: tuple[str, ...] = tuple(d for d in (gpu_ids or "").split(",") if d)
        self._channel: TrialChannel = channel if channel is not None else NullChannel()
        self._user_attrs: dict[str, Any] = {}
        self._constraints: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={dict(self.params)!r})"

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def report(self, value: float, step: int) -> None:
        """Record an intermediate value (e.g. validation loss after ``step`` epochs).

        ``step`` is an int in ``0..MAX_STEP`` (2**31 - 1, what every storage keeps); anything else
        raises :class:`~tansaku.ConfigError` naming ``report.step``, which fails the trial with
        that message unless the objective catches it."""
        problem = step_problem(step)
        if problem is not None:  # uncaught, it fails the trial with this message
            raise ConfigError(f"step {problem}", field="report.step")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"value must be a number, got {value!r}", field="report.value"
            ) from None
        if not math.isfinite(v):
            return  # a nan/inf intermediate value carries no information for pruning; not stored
        self._channel.report(self.trial_id, step, v)

    def should_prune(self) -> bool:
        """True when the study's pruner decided this trial should stop now."""
        return bool(self._channel.should_prune(self.trial_id))

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value with the trial (kept even if the trial fails)."""
        if not isinstance(key, str):
            raise ConfigError(
                f"user attribute keys must be strings, got {key!r}", field="user_attr"
            )
        self._user_attrs[key] = value
        self._channel.set_user_attr(self.trial_id, key, value)

    @property
    def user_attrs(self) -> Mapping[str, Any]:
        return MappingProxyType(self._user_attrs)

    # ---------------------------------------------------------------- define-by-run
    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        """A float in ``[low, high]`` for ``name`` (``log``: on a log scale; ``step``: on the grid
        ``low, low + step, ...``).  The same name with another range in this study is a
        :class:`~tansaku.ConfigError` naming it."""
        return float(self._suggest(name, lambda: Float(low, high, step=step, log=log)))

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        """An int in ``[low, high]`` (both included) for ``name``; see :meth:`suggest_float`."""
        return int(self._suggest(name, lambda: Int(low, high, step=step, log=log)))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """One of ``choices`` (strings, numbers, booleans or None) for ``name``."""
        return self._suggest(name, lambda: Categorical(choices))

    @property
    def suggested(self) -> Mapping[str, Distribution]:
        """The distribution of every parameter this trial asked for with ``suggest_*``."""
        return MappingProxyType(self._suggested)

    def used(self) -> tuple[dict[str, Any], dict[str, dict[str, Any]]] | None:
        """``(params, suggested)``: the params this trial used (declared ones and every
        ``suggest_*``) and the JSON form of each suggested distribution; None when the trial
        suggested nothing and was proposed no define-by-run parameter (its params are then
        exactly the proposed ones)."""
        if not self._suggested and not self._proposed:
            return None
        return dict(self._params), {n: d.to_dict() for n, d in self._suggested.items()}

    def _suggest(self, name: str, build: Any) -> Any:
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise ConfigError(
                "parameter names must start with a letter or _ and contain only letters, "
                f"digits, '_', '-', '.', got {_describe(name)}",
                field="suggest",
            )
        try:
            dist: Distribution = build()
        except ConfigError as e:
            raise ConfigError(e.reason, field=f"{name}.{e.field}" if e.field else name) from None
        before = self._suggested.get(name)
        if before is not None:
            if before != dist:
                raise ConfigError(
                    f"suggested as {describe_distribution(dist)}, but this trial suggested it "
                    f"as {describe_distribution(before)} before",
                    field=name,
                )
            return self._params[name]
        known = self._known.get(name)
        if known is not None:
            plain = {k: v for k, v in known.items() if k != "when"}
            if distribution_from_dict(plain) != dist:
                raise ConfigError(
                    f"suggested as {describe_distribution(dist)}, but the study knows it as "
                    f"{describe_distribution(distribution_from_dict(plain))}",
                    field=name,
                )
        if name in self._params:  # a declared parameter: the sampler's value
            value = self._params[name]
        elif known is not None and "when" in known:
            raise ConfigError(
                "is declared with a when condition that does not hold in this trial; "
                "suggest it only where it is active",
                field=name,
            )
        elif name in self._proposed:  # learned: the sampler's value (or an enqueued one)
            try:
                value = dist.validate(self._proposed[name])
            except ConfigError as e:
                raise ConfigError(e.reason, field=name) from None
        else:  # first seen (or not proposed): an independent uniform draw, reproducible
            value = dist.from_unit(random.Random(f"{self._draw_seed}/{name}").random())
        self._suggested[name] = dist
        self._params[name] = value
        return value

    # ---------------------------------------------------------------- constraints
    def set_constraint(self, name: str, value: float) -> None:
        """Record constraint ``name`` of this trial: it holds when ``value <= 0`` (e.g.
        ``memory_gb - 40``).  A trial is feasible when all its constraints hold; ``best_value``,
        ``best_trial`` and ``best_trials`` consider feasible trials only.  Kept with the trial
        whatever its state; a later call with the same name replaces the value."""
        if not isinstance(name, str) or not name:
            raise ConfigError(
                f"constraint names must be non-empty strings, got {name!r:.40}", field="constraint"
            )
        if isinstance(value, bool):
            raise ConfigError(f"value must be a number, got {value!r}", field=f"constraint.{name}")
        try:
            v = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(
                f"value must be a number, got {type(value).__name__}", field=f"constraint.{name}"
            ) from None
        self._constraints[name] = v

    @property
    def constraints(self) -> Mapping[str, float]:
        """The constraints set so far (read-only)."""
        return MappingProxyType(self._constraints)


def describe_distribution(dist: Distribution) -> str:
    """``float [0, 1] log`` -- a distribution as error messages show it."""
    d = dist.to_dict()
    if d["type"] == "categorical":
        return f"categorical {d['choices']!r}"
    text = f"{d['type']} [{d['low']:g}, {d['high']:g}]"
    if d.get("log"):
        text += " log"
    if d.get("step") is not None:
        text += f" step {d['step']:g}"
    return text
