"""The run options: every option of ``Study.optimize`` declared once, with its default, its check
and a one-line help.

:class:`RunOptions` is the one declaration (like SMAC3's ``Scenario``: a frozen dataclass whose
construction checks every field).  It feeds

* ``Study.optimize``: its keyword defaults are ``DEFAULTS.<name>`` (a test checks that every
  keyword's default is the declared one), and it builds a ``RunOptions`` that the Coordinator
  reads;
* the YAML config (``cli/_config.py``): the options with ``yaml=True`` are config keys, read by
  :func:`from_mapping`, and their help lines are the ``config keys`` of ``tansaku run --help``;
* the README's config table (``tests/study/test_options.py`` checks that it names every key and
  states every default).

Adding an option: one :func:`option` field here, a keyword of the same name (default
``DEFAULTS.<name>``) in ``Study.optimize``, and the code that uses it (``self.options.<name>`` in
the Coordinator); the config, ``--help`` and the README test follow from the field.  See
docs/architecture.md, "Run options".
"""

# ruff: noqa: RUF009  (each field's default is an ``option(...)``: a ``dataclasses.field``)
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tansaku._check import MAX_COUNT, MAX_SECONDS, check_number, check_path
from tansaku._errors import ConfigError

__all__ = ["DEFAULTS", "RunOptions", "describe", "from_mapping", "option", "yaml_options"]

Check = Callable[[Any, str], Any]


def option(default: Any, help: str, check: Check | None = None, *, yaml: bool = True) -> Any:
    """A field of :class:`RunOptions`: its ``default``, a one-line ``help`` (the default is added
    to it by :func:`describe`, never written in it), ``check(value, name)`` returning the value to
    keep (None: any value, checked where it is used) and whether it is a YAML config key."""
    return field(default=default, metadata={"help": help, "check": check, "yaml": yaml})


def count(*, low: int = 0, low_open: bool = True, none_ok: bool = True) -> Check:
    """A whole number ``> low`` (or ``>= low``) and at most :data:`MAX_COUNT`."""

    def check(value: Any, name: str) -> Any:
        return check_number(
            value, name, integer=True, low=low, low_open=low_open, high=MAX_COUNT, none_ok=none_ok
        )

    return check


def seconds(*, none_ok: bool = True) -> Check:
    """A positive number of seconds (or hours), at most :data:`MAX_SECONDS`."""

    def check(value: Any, name: str) -> Any:
        return check_number(value, name, high=MAX_SECONDS, none_ok=none_ok)

    return check


def one_of(*choices: str) -> Check:
    def check(value: Any, name: str) -> Any:
        if not isinstance(value, str) or value not in choices:
            got = repr(value) if isinstance(value, str) else type(value).__name__
            raise ConfigError(f"must be {' or '.join(choices)}, got {got}", field=name)
        return value

    return check


def _setup(value: Any, name: str) -> Any:
    if value is None:
        return None
    from tansaku.study._setup import Setup  # the study layer, loaded only when a setup is given

    return Setup.of(value)


def _callbacks(value: Any, name: str) -> Any:
    if value is None:
        return None
    from tansaku.integration._callbacks import make_callbacks  # imports only what is named

    return make_callbacks(value, name)


@dataclass(frozen=True)
class RunOptions:
    """The options of one ``Study.optimize`` run, checked when built (a bad one raises a
    one-line ``ConfigError`` naming it).  Frozen: the Coordinator reads, never changes them."""

    n_trials: int | None = option(
        None, "finished (complete or pruned) trials the study should end with", count()
    )
    timeout: float | None = option(
        None, "seconds of wall time after which no new trial starts", seconds()
    )
    n_workers: int | None = option(
        None, "trials run at once (default 1; with gpus: one per GPU slot)", count()
    )
    executor: Any = option(
        None, "inline | local | dask | slurm | sge | pbs, or {name: ..., options...}"
    )
    total_trials: int | None = option(
        None,
        "stop when the study has this many finished trials, all workers'",
        count(),
        yaml=False,
    )
    trial_timeout: float | None = option(
        None, "seconds after which a running trial is killed and recorded as failed", seconds()
    )
    workdir: Any = option(
        None,
        "root of the per-trial directories (default: runs/<study dir> next to the config)",
        lambda v, name: check_path(v, name, none_ok=True),
    )
    max_failures: int | None = option(
        10, "stop after this many failed trials in a row (null: never)", count()
    )
    show_progress: bool = option(False, "a live progress display on stderr", yaml=False)
    heartbeat_interval: float = option(
        10.0, "seconds between a worker's heartbeats", seconds(none_ok=False)
    )
    stale_after: float | None = option(
        120.0,
        "seconds without heartbeat after which a running trial is re-queued (null: never)",
        seconds(),
    )
    repeats: int = option(
        1,
        "evaluate each point this many times with different {seed}; its value is the mean",
        count(none_ok=False),
    )
    setup: Any = option(
        None,
        "command run once per study before any trial (argv list, or {command, timeout, dir}); "
        "trials get {setup_dir}",
        _setup,
    )
    max_trial_hours: float | None = option(
        None,
        "no new trial starts once the study's trials have used this many hours in total",
        seconds(),
    )
    patience: int | None = option(
        None,
        "stop after this many finished trials in a row without improving the best value",
        count(low=1, low_open=False),
    )
    lost_trials: str = option(
        "requeue",
        "requeue or fail: what happens to a trial whose worker died or went silent",
        one_of("requeue", "fail"),
    )

    callbacks: Any = option(
        None,
        "functions (study, finished trial) called after each trial; in a config by name: "
        "[mlflow] or [{name: mlflow, tracking_uri: ..., experiment: ...}]",
        lambda v, name: _callbacks(v, name),
    )
    gpus: Any = option(
        None,
        "device ids each running trial gets its own of ([0, 1, 2, 3]), or auto "
        "(CUDA_VISIBLE_DEVICES / nvidia-smi -L)",
    )  # checked against the executor by executors._gpus.plan_gpus
    gpus_per_trial: int | None = option(
        None,
        "devices per trial with gpus (default 1), in CUDA_VISIBLE_DEVICES and TANSAKU_GPU_IDS",
        count(),
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check = f.metadata["check"]
            if check is not None:
                object.__setattr__(self, f.name, check(getattr(self, f.name), f.name))

    def kwargs(self) -> dict[str, Any]:
        """The options as keywords of ``Study.optimize`` (values as they are, not copied)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


#: the declared defaults (``DEFAULTS.max_failures == 10``)
DEFAULTS = RunOptions()


def yaml_options() -> Iterator[dataclasses.Field[Any]]:
    """The run options that are YAML config keys, in declaration order."""
    return (f for f in dataclasses.fields(RunOptions) if f.metadata["yaml"])


def _format(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    return str(value)


def describe(f: dataclasses.Field[Any]) -> str:
    """The option's help line with its default, as ``--help`` shows it."""
    text: str = f.metadata["help"]
    return text if f.default is None else f"{text} (default {_format(f.default)})"


def default_text(name: str) -> str | None:
    """The option's default as the docs write it (``10`` for ``10.0``); None when it has none."""
    value = getattr(DEFAULTS, name)
    return None if value is None else _format(value)


def from_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """The YAML run options of a config mapping, each checked by its declared rule: an absent key
    gives the default; ``key: null`` gives None where None means something (``max_failures: null``:
    never stop), else the default."""
    values: dict[str, Any] = {}
    for f in yaml_options():
        if f.name not in data:
            values[f.name] = f.default
            continue
        value = data[f.name]
        if value is None:
            values[f.name] = None if _accepts_none(f) else f.default
            continue
        check = f.metadata["check"]
        values[f.name] = value if check is None else check(value, f.name)
    return values


def _accepts_none(f: dataclasses.Field[Any]) -> bool:
    check = f.metadata["check"]
    if check is None:
        return True
    try:
        check(None, f.name)
    except ConfigError:
        return False
    return True
