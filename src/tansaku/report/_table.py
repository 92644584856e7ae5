"""``TrialTable``: a columnar (numpy) snapshot of a study's trials, the input of every report.

Reports and plots never walk ``FrozenTrial`` objects: the table is built once (one pass over the
trials) and each plot's data is computed from its arrays, so a 100k-trial study costs one storage
read plus vectorised numpy work.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tansaku._errors import ConfigError
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Categorical, Distribution, Float, Int, Space

if TYPE_CHECKING:
    from tansaku.storage._base import BaseStorage, StudyInfo

__all__ = ["STATES", "TrialTable", "as_table", "param_kind"]

#: state codes used in ``TrialTable.state`` (index into this tuple)
STATES: tuple[TrialState, ...] = (
    TrialState.COMPLETE,
    TrialState.PRUNED,
    TrialState.FAILED,
    TrialState.RUNNING,
    TrialState.WAITING,
)
COMPLETE, PRUNED, FAILED, RUNNING, WAITING = range(5)
_CODE = {s: i for i, s in enumerate(STATES)}

#: failure messages kept per table (the newest ones); the report shows a few
MAX_MESSAGES = 200


def param_kind(dist: Distribution) -> str:
    """``"float"``, ``"log"`` (float or int on a log scale), ``"int"`` or ``"categorical"``."""
    if isinstance(dist, Categorical):
        return "categorical"
    if getattr(dist, "log", False):
        return "log"
    return "int" if isinstance(dist, Int) else "float"


def _cat_key(v: Any) -> tuple[bool, Any]:
    return (isinstance(v, bool), v)  # True must not match the choice 1 (True == 1 in Python)


@dataclass(frozen=True, eq=False)
class TrialTable:
    """One row per trial, ordered by trial number.

    * ``state``: codes into :data:`STATES` (0 complete, 1 pruned, 2 failed, 3 running, 4 waiting);
    * ``value``: the objective as returned (nan when there is none; a pruned trial's last report);
    * ``start`` / ``end``: POSIX seconds (nan when not started / not finished);
    * ``worker``: index into ``workers`` (-1 when none);
    * ``params[name]``: float64; numeric parameters hold their values, categorical ones the index
      of the choice in ``space[name].choices``; nan when the trial lacks the parameter;
    * ``messages``: ``{number: message}`` of the newest failed trials;
    * ``user_attrs``: ``{number: attrs}`` of the trials that have user attributes (set by a
      Python objective or a command's ``tansaku:attr``/``tansaku:metric`` lines);
    * ``intermediate``: ``{number: {step: value}}`` of the trials that reported intermediate
      values (``trial.report`` / ``tansaku:report`` lines), for learning curves;
    * ``now``: when the snapshot was taken (the end of still-running bars);
    * ``sampler``: the study's sampler, for captions (``StudyInfo.sampler_text``: its name, and
      each change a resume made);
    * ``pruners``: the descriptions of the pruners the study's runs used, the latest last
      (``StudyInfo.pruners``), for the learning curves' cut-off.
    """

    study: str
    direction: str
    space: Space
    number: np.ndarray
    state: np.ndarray
    value: np.ndarray
    start: np.ndarray
    end: np.ndarray
    worker: np.ndarray
    workers: tuple[str, ...]
    params: Mapping[str, np.ndarray]
    messages: Mapping[int, str] = field(default_factory=dict)
    user_attrs: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    intermediate: Mapping[int, Mapping[int, float]] = field(default_factory=dict)
    now: float = 0.0
    sampler: str = ""
    pruners: tuple[Mapping[str, Any], ...] = ()

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_trials(
        cls,
        trials: Iterable[FrozenTrial],
        *,
        study: str,
        direction: str,
        space: Space,
        now: float | None = None,
        sampler: str = "",
        intermediate: Mapping[int, Mapping[int, float]] | None = None,
        pruners: Sequence[Mapping[str, Any]] = (),
    ) -> TrialTable:
        """The table of ``trials``; ``intermediate`` (``{number: {step: value}}``, e.g. one
        ``storage.intermediate_values`` query) replaces the trials' own reports when given."""
        rows = sorted(trials, key=lambda t: t.number)
        n = len(rows)
        number = np.fromiter((t.number for t in rows), dtype=np.int64, count=n)
        state = np.fromiter((_CODE[t.state] for t in rows), dtype=np.int8, count=n)
        value = np.fromiter(
            (math.nan if t.value is None else t.value for t in rows), dtype=float, count=n
        )
        start = np.fromiter(
            (math.nan if t.start_time is None else t.start_time for t in rows), dtype=float, count=n
        )
        end = np.fromiter(
            (math.nan if t.end_time is None else t.end_time for t in rows), dtype=float, count=n
        )
        worker_index: dict[str, int] = {}
        worker = np.fromiter(
            (
                -1 if t.worker is None else worker_index.setdefault(t.worker, len(worker_index))
                for t in rows
            ),
            dtype=np.int32,
            count=n,
        )
        params: dict[str, np.ndarray] = {}
        for name, dist in space.items():
            params[name] = _param_column(rows, name, dist)
        failed = [t for t in rows if t.state is TrialState.FAILED and t.message]
        messages = {t.number: str(t.message) for t in failed[-MAX_MESSAGES:]}
        return cls(
            study=study,
            direction=direction,
            space=space,
            number=number,
            state=state,
            value=value,
            start=start,
            end=end,
            worker=worker,
            workers=tuple(worker_index),
            params=params,
            messages=messages,
            user_attrs={t.number: t.user_attrs for t in rows if t.user_attrs},
            intermediate=dict(intermediate)
            if intermediate is not None
            else {t.number: t.intermediate for t in rows if t.intermediate},
            now=time.time() if now is None else float(now),
            sampler=sampler,
            pruners=tuple(pruners),
        )

    @classmethod
    def load(cls, storage: BaseStorage, name: str) -> TrialTable:
        """Read study ``name`` from ``storage`` (one read of all its trials)."""
        info = storage.get_study(name)
        now = time.time()
        trials = storage.get_trials(info.study_id)
        reports = storage.intermediate_values(info.study_id)
        return cls.of_study(info, trials, intermediate=reports, now=now)

    @classmethod
    def of_study(
        cls,
        info: StudyInfo,
        trials: Sequence[FrozenTrial],
        *,
        intermediate: Any = None,
        now: float | None = None,
    ) -> TrialTable:
        """The table of ``trials`` of the study ``info`` describes: its name, direction, searched
        space (declared and learned parameters), sampler label and recorded pruners;
        ``intermediate`` as in :meth:`from_trials`."""
        from tansaku._records import sampler_label

        return cls.from_trials(
            trials,
            intermediate=intermediate,
            study=info.name,
            direction=info.direction,
            space=info.searched_space,
            now=now,
            sampler=sampler_label(info.sampler_text(), trials),
            pruners=info.pruners,
        )

    # ---------------------------------------------------------------- views
    def __len__(self) -> int:
        return int(self.number.size)

    @property
    def sign(self) -> float:
        """+1 when minimising, -1 when maximising: ``sign * value`` is always "lower is better"."""
        return 1.0 if self.direction == "minimize" else -1.0

    def mask(self, *codes: int) -> np.ndarray:
        return np.isin(self.state, np.asarray(codes, dtype=np.int8))

    @property
    def complete(self) -> np.ndarray:
        """Boolean mask of COMPLETE trials with a finite value."""
        return (self.state == COMPLETE) & np.isfinite(self.value)

    def count(self, code: int) -> int:
        return int(np.count_nonzero(self.state == code))

    @property
    def origin(self) -> float:
        """The first start time (nan when nothing started): wall-clock plots count from here."""
        s = self.start[np.isfinite(self.start)]
        return float(s.min()) if s.size else math.nan

    def empty_message(self, what: str = "finished trials") -> str:
        return f"study {self.study!r} has no {what} yet"

    def label(self, name: str, code: float) -> str:
        """How parameter ``name``'s column value is shown (choice text for categoricals)."""
        dist = self.space[name]
        if isinstance(dist, Categorical):
            return "" if math.isnan(code) else str(dist.choices[int(code)])
        if math.isnan(code):
            return ""
        if isinstance(dist, Int):
            return str(int(code))
        return f"{code:.6g}"

    def unit(self, name: str, values: np.ndarray) -> np.ndarray:
        """Column values mapped to [0, 1] the way the space's unit cube does (log axes in log)."""
        dist = self.space[name]
        v = np.asarray(values, dtype=float)
        if isinstance(dist, Categorical):
            return (v + 0.5) / len(dist.choices)
        lo, hi = float(dist.low), float(dist.high)
        if getattr(dist, "log", False):
            with np.errstate(divide="ignore", invalid="ignore"):
                return (np.log(np.maximum(v, lo)) - math.log(lo)) / (math.log(hi) - math.log(lo))
        return (v - lo) / (hi - lo)


def _param_column(rows: list[FrozenTrial], name: str, dist: Distribution) -> np.ndarray:
    n = len(rows)
    if isinstance(dist, Categorical):
        index = {_cat_key(c): i for i, c in enumerate(dist.choices)}
        out = np.full(n, math.nan)
        for i, t in enumerate(rows):
            if name not in t.params:
                continue
            v = t.params[name]
            try:
                out[i] = index[_cat_key(v)]
            except (KeyError, TypeError):
                # not a choice (e.g. an edited storage): left out
                with contextlib.suppress(ConfigError):
                    out[i] = dist.index(v)
        return out

    def num(t: FrozenTrial) -> float:
        v = t.params.get(name)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return math.nan
        return float(v)

    assert isinstance(dist, (Float, Int))
    return np.fromiter((num(t) for t in rows), dtype=float, count=n)


def as_table(source: Any) -> TrialTable:
    """A :class:`TrialTable` from a Study, a TrialTable, or ``(storage, study_name)``."""
    if isinstance(source, TrialTable):
        return source
    from tansaku.study._study import Study

    if isinstance(source, Study):
        return TrialTable.load(source.storage, source.name)
    if isinstance(source, tuple) and len(source) == 2:
        from tansaku.storage._url import get_storage

        storage, name = source
        return TrialTable.load(get_storage(storage), str(name))
    raise ConfigError(
        f"expected a Study, a TrialTable or (storage, study_name), got {type(source).__name__}",
        field="study",
    )
