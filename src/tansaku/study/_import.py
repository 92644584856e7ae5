"""Where imported trials come from: another tansaku study, a CSV file, an Optuna study.

Each reader turns its source into finished-trial records checked against the target study's
space (:func:`tansaku.study._warm.check_trial`) and names a bad one by where it is in the
source: ``trials.csv row 4, column lr: expected a value in [0, 1], got 2``, ``study 'old'
trial 7, params.act: ...``, ``optuna study 'x' trial 3, ...``.  Nothing is stored here: the
caller stores the records in one transaction (``add_checked``), so a bad record leaves the
study as it was.  Running and waiting trials of the source are not imported (counted in
``Source.skipped_unfinished``).

CSV (``read_csv``): the file ``tansaku export`` writes (``number, state, value, params_<name>,
started_at, finished_at, ..., user_attrs.<key>, system_attrs.<key>``) or a plain one with a
column per parameter (``lr`` or ``params_lr``) and a ``value`` column (another with
``value_column=``).  ``state`` (complete, pruned, failed; default complete) and ``message`` are
read when present; ``user_attrs.<key>`` and any other column become user attributes; ``number``,
``duration``, ``worker`` and ``system_attrs.*`` are not imported.  An empty cell is a missing
parameter (an inactive conditional one, or one with a ``default``).  Rows are numbered as a
spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tansaku._errors import ConfigError, StudyNotFoundError, TansakuError
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Categorical, Distribution, Float, Int, Space
from tansaku.storage._base import BaseStorage
from tansaku.study._warm import check_trial

__all__ = ["Source", "describe_skips", "read_csv", "read_optuna", "read_study"]

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)
_IGNORED = ("number", "duration", "worker", "feasible")


@dataclass
class Source:
    """Records read from one source, checked, in the order to tell them."""

    label: str
    records: list[FrozenTrial] = field(default_factory=list)
    skipped_unfinished: int = 0
    skipped_invalid: list[str] = field(default_factory=list)

    def add(self, build: Callable[[], FrozenTrial], skip_invalid: bool) -> None:
        try:
            self.records.append(build())
        except ConfigError as e:
            if not skip_invalid:
                raise
            self.skipped_invalid.append(str(e))


def _opposite(label: str, theirs: Sequence[str], ours: Sequence[str], option: str) -> None:
    """The one-line refusal of a source whose objectives are not the target's."""
    if len(theirs) != len(ours):
        def count(n: int) -> str:
            return "one objective" if n == 1 else f"{n} objectives"

        raise ConfigError(
            f"{label} has {count(len(theirs))}; this study has {count(len(ours))}", field=option
        )
    if len(ours) == 1:
        raise ConfigError(
            f"{label} was run to {theirs[0]}, this one to {ours[0]}: its values would mean the "
            "opposite",
            field=option,
        )
    raise ConfigError(
        f"{label} was run to [{', '.join(theirs)}], this one to [{', '.join(ours)}]: its values "
        "would mean something else",
        field=option,
    )


# ------------------------------------------------------------------------------------ a study
def read_study(
    storage: BaseStorage,
    name: str,
    space: Space,
    *,
    direction: str,
    directions: Sequence[str] | None = None,
    skip_invalid: bool = False,
    label: str | None = None,
) -> Source:
    """The finished trials of tansaku study ``name`` in ``storage`` (in finishing order, so a
    sampler is told them as the source's sampler was), params, values (every objective's),
    constraints, states, messages, times, intermediate values and user attrs kept.  The source
    must have the target's ``directions`` (default ``(direction,)``)."""
    try:
        info = storage.get_study(name)
    except StudyNotFoundError:
        raise ConfigError(f"no study {name!r} in {storage.url}", field="--from-study") from None
    want = tuple(directions or (direction,))
    if info.directions != want:
        _opposite(f"study {name!r}", info.directions, want, "--from-study")
    src = Source(label or f"study {name!r}")
    for t in storage.get_trials(info.study_id, with_intermediate=True, order="finish"):
        if t.state not in _FINISHED:
            src.skipped_unfinished += 1
            continue
        where = f"study {name!r} trial {t.number}"
        src.add(
            lambda t=t, where=where: check_trial(
                space,
                t,
                field=lambda k: f"{where}, {k}" if k else where,
                imported={"source": f"study:{name}", "number": t.number},
                n_objectives=len(want),
            ),
            skip_invalid,
        )
    return src


# ------------------------------------------------------------------------------------ CSV
def _cell(dist: Distribution, text: str) -> Any:
    """A CSV cell as a value of ``dist`` (ConfigError with the reason otherwise)."""
    text = text.strip()
    if isinstance(dist, Categorical):
        exact = [c for c in dist.choices if isinstance(c, str) and c == text]
        if exact:
            return exact[0]
        for c in dist.choices:
            if not isinstance(c, str) and text in (str(c), json.dumps(c)):
                return c
        raise ConfigError(f"expected one of {list(dist.choices)!r}, got {text!r:.60}")
    try:
        number = float(text)
    except ValueError:
        kind = "an integer" if isinstance(dist, Int) else "a number"
        raise ConfigError(f"expected {kind}, got {text!r:.60}") from None
    if isinstance(dist, Int):
        if not math.isfinite(number) or number != int(number):
            raise ConfigError(f"expected an integer, got {text!r:.60}")
        return int(text) if text.lstrip("+-").isdigit() else int(number)
    assert isinstance(dist, Float)
    return number


def _attr(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _time(text: str) -> float:
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"expected an ISO date and time, got {text!r:.60}") from None


def read_csv(
    path: str | Path,
    space: Space,
    *,
    value_column: str = "value",
    objectives: Sequence[str] = (),
    skip_invalid: bool = False,
) -> Source:
    """The rows of a CSV file (see the module docstring for the columns).  ``objectives``: the
    names of a multi-objective study's objectives, read from ``values_<name>`` (what export
    writes) or ``<name>`` columns."""
    path = Path(path)
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}", field="--from-csv") from None
    with f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise ConfigError(f"{path.name} is empty", field="--from-csv") from None
        except (csv.Error, UnicodeDecodeError) as e:
            raise ConfigError(f"{path.name} row 1: not CSV ({e})", field="--from-csv") from None
        header = [h.strip() for h in header]
        params: dict[int, str] = {}  # column index -> parameter
        column_of: dict[str, str] = {}
        for i, h in enumerate(header):
            name = h.removeprefix("params_") if h.startswith("params_") else h
            if name in space and h != value_column:
                if name in column_of:
                    raise ConfigError(
                        f"{path.name} row 1: parameter {name!r} has two columns "
                        f"({column_of[name]!r} and {h!r})",
                        field="--from-csv",
                    )
                params[i] = name
                column_of[name] = h
        objective_col: dict[int, int] = {}  # column index -> objective position
        for j, obj in enumerate(objectives):
            for h in (f"values_{obj}", obj):
                if h in header:
                    objective_col[header.index(h)] = j
                    break
            else:
                raise ConfigError(
                    f"{path.name} row 1: no column values_{obj} or {obj} for objective {obj!r} "
                    f"(columns: {', '.join(header)[:200]})",
                    field="--from-csv",
                )
        if objectives:
            value_column = ""  # the value column of an export is the first objective's again
        elif value_column not in header:
            raise ConfigError(
                f"{path.name} row 1: no column {value_column!r} (columns: {', '.join(header)[:200]}); "
                "name the objective's column with --value-column",
                field="--from-csv",
            )
        col = {h: i for i, h in reversed(list(enumerate(header)))}
        src = Source(f"{path.name}")
        for row in _rows(reader, path):
            line = reader.line_num
            cells = dict(enumerate(row))

            def where(k: str, line: int = line) -> str:
                if not k or k == "params":  # the row as a whole (e.g. a parameter missing)
                    return f"{path.name} row {line}"
                head = k.split(".", 1)
                if head[0] == "params" and len(head) == 2:
                    name = head[1].split(".", 1)[0]
                    return f"{path.name} row {line}, column {column_of.get(name, name)}"
                column = {"value": value_column}.get(head[0], head[0])
                return f"{path.name} row {line}, column {column}"

            def build(
                cells: dict[int, str] = cells, where: Callable[[str], str] = where, line: int = line
            ) -> FrozenTrial:
                spec: dict[str, Any] = {"params": {}, "user_attrs": {}}
                vector: dict[int, float] = {}
                for i, text in cells.items():
                    h = header[i] if i < len(header) else f"column {i + 1}"
                    if i in objective_col:
                        if text.strip():
                            try:
                                vector[objective_col[i]] = float(text)
                            except ValueError:
                                raise ConfigError(
                                    f"expected a number, got {text!r:.60}", field=where(h)
                                ) from None
                    elif h.startswith("constraints."):
                        if text.strip():
                            try:
                                spec.setdefault("constraints", {})[
                                    h.removeprefix("constraints.")
                                ] = float(text)
                            except ValueError:
                                raise ConfigError(
                                    f"expected a number, got {text!r:.60}", field=where(h)
                                ) from None
                    elif i in params:
                        if text.strip():
                            try:
                                spec["params"][params[i]] = _cell(space[params[i]], text)
                            except ConfigError as e:
                                raise ConfigError(
                                    e.reason, field=where(f"params.{params[i]}")
                                ) from None
                    elif h == value_column:
                        if text.strip():
                            try:
                                spec["value"] = float(text)
                            except ValueError:
                                raise ConfigError(
                                    f"expected a number, got {text!r:.60}", field=where("value")
                                ) from None
                    elif h in ("state", "message"):
                        if text.strip():
                            spec[h] = text.strip()
                    elif h in ("started_at", "finished_at"):
                        if text.strip():
                            try:
                                spec["start_time" if h == "started_at" else "end_time"] = _time(
                                    text
                                )
                            except ConfigError as e:
                                raise ConfigError(e.reason, field=where(h)) from None
                    elif h in _IGNORED or h.startswith("system_attrs.") or not h or (
                        objectives and h == "value"
                    ):
                        continue
                    elif text.strip():
                        spec["user_attrs"][h.removeprefix("user_attrs.")] = _attr(text)
                extra = [cells[i] for i in range(len(header), len(cells))]
                if any(c.strip() for c in extra):
                    raise ConfigError(
                        f"has {len(cells)} cells, the header {len(header)}", field=where("")
                    )
                imported: dict[str, Any] = {"source": f"csv:{path.name}", "row": line}
                number = cells.get(col["number"]) if "number" in col else None
                if number and number.strip().isdigit():
                    imported["number"] = int(number)
                if vector:
                    if len(vector) != len(objectives):
                        missing = [o for j, o in enumerate(objectives) if j not in vector]
                        raise ConfigError(
                            f"has no value for objective(s) {', '.join(missing)}", field=where("")
                        )
                    spec["values"] = [vector[j] for j in range(len(objectives))]
                return check_trial(
                    space,
                    spec,
                    field=where,
                    imported=imported,
                    n_objectives=max(1, len(objectives)),
                )

            src.add(build, skip_invalid)
    return src


def _rows(reader: Any, path: Path) -> Any:
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as e:
            raise ConfigError(
                f"{path.name} row {reader.line_num}: not CSV ({e})", field="--from-csv"
            ) from None
        if row and any(c.strip() for c in row):
            yield row


# ------------------------------------------------------------------------------------ Optuna
def read_optuna(
    url: str,
    name: str | None,
    space: Space,
    *,
    direction: str,
    directions: Sequence[str] | None = None,
    skip_invalid: bool = False,
) -> Source:
    """The trials of Optuna study ``name`` in the Optuna storage ``url`` (``sqlite:///optuna.db``,
    any RDB URL Optuna takes, or a journal file), read through the installed ``optuna``: params,
    values (every objective's), constraints (by name; unnamed constraints_func ones as c0, ...),
    states (COMPLETE, PRUNED, FAIL), user attrs, intermediate values and times; in the order of
    their numbers.  The study must have the target's ``directions`` (default ``(direction,)``)."""
    try:
        import optuna
    except ImportError:
        from tansaku._install import install_hint

        raise TansakuError(
            f"--from-optuna reads Optuna studies through optuna; install it: {install_hint('optuna')}"
        ) from None
    from tansaku.storage._sqlutil import redact_url
    from tansaku.storage._url import storage_file

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    shown = redact_url(url)
    path = storage_file(url)
    if path is not None and not path.exists():  # Optuna would create an empty database
        raise ConfigError(f"{path} does not exist", field="--from-optuna")
    try:
        storage: Any = url
        if url.startswith("journal:///"):  # Optuna's journal file, as tansaku names files
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend

            storage = JournalStorage(JournalFileBackend(url[len("journal:///") :]))
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        if name is None:
            if not names:
                raise ConfigError(f"{shown} holds no Optuna study", field="--from-optuna")
            if len(names) != 1:
                raise ConfigError(
                    f"{shown} holds {len(names)} Optuna studies ({', '.join(names)[:200]}); "
                    "name one with --study",
                    field="--study",
                )
            name = names[0]
        if name not in names:
            raise ConfigError(
                f"no Optuna study {name!r} in {shown} (it has: {', '.join(names)[:200] or 'none'})",
                field="--study",
            )
        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
    except ConfigError:
        raise
    except Exception as e:  # the driver's or Optuna's error, on one line
        raise TansakuError(
            f"cannot read Optuna storage {shown}: {type(e).__name__}: {' '.join(str(e).split())[:300]}"
        ) from None
    want = tuple(directions or (direction,))
    theirs = tuple(
        "maximize" if d == optuna.study.StudyDirection.MAXIMIZE else "minimize"
        for d in study.directions
    )
    if theirs != want:
        _opposite(f"Optuna study {name!r}", theirs, want, "--from-optuna")
    states = {
        optuna.trial.TrialState.COMPLETE: "complete",
        optuna.trial.TrialState.PRUNED: "pruned",
        optuna.trial.TrialState.FAIL: "failed",
    }
    src = Source(f"Optuna study {name!r}")
    for t in sorted(trials, key=lambda t: t.number):
        state = states.get(t.state)
        if state is None:
            src.skipped_unfinished += 1
            continue
        spec: dict[str, Any] = {
            "params": dict(t.params),
            "state": state,
            "user_attrs": dict(t.user_attrs),
            "intermediate": dict(t.intermediate_values),
            "start_time": t.datetime_start.timestamp() if t.datetime_start else None,
            "end_time": t.datetime_complete.timestamp() if t.datetime_complete else None,
        }
        if state != "failed":
            if len(want) > 1:
                spec["values"] = list(t.values) if t.values is not None else None
            else:
                spec["value"] = t.value
        spec["constraints"] = _optuna_constraints(t)
        fail = t.system_attrs.get("fail_reason")
        if state == "failed" and isinstance(fail, str):
            spec["message"] = fail
        where = f"Optuna study {name!r} trial {t.number}"
        src.add(
            lambda spec=spec, where=where, number=t.number: check_trial(
                space,
                spec,
                field=lambda k: f"{where}, {k}" if k else where,
                imported={"source": f"optuna:{name}", "number": number},
                n_objectives=len(want),
            ),
            skip_invalid,
        )
    return src


def _optuna_constraints(trial: Any) -> dict[str, float] | None:
    """An Optuna trial's constraints: by name (Optuna 5's ``trial.set_constraint``, read from
    ``FrozenTrial.constraints``), else its sampler's ``constraints_func`` results (a list in
    ``system_attrs["constraints"]``) named ``c0``, ``c1``, ...; None without any."""
    named = getattr(trial, "constraints", None)
    if isinstance(named, dict) and named:
        return {str(k): v for k, v in named.items()}
    raw = trial.system_attrs.get("constraints")
    if not isinstance(raw, (list, tuple)) or not raw:
        return None
    return {f"c{i}": v for i, v in enumerate(raw)}


def describe_skips(src: Source) -> list[str]:
    """One line per kind of record left out, for the user."""
    out = []
    if src.skipped_unfinished:
        out.append(f"left out {src.skipped_unfinished} running or waiting trial(s) of {src.label}")
    if src.skipped_invalid:
        out.append(
            f"skipped {len(src.skipped_invalid)} invalid record(s) of {src.label}; the first: "
            f"{src.skipped_invalid[0]}"
        )
    return out
