"""The YAML study config: load, validate (one-line errors naming the field), and build from it.

Validation is complete before any storage is opened, so a bad config never touches study data.
The validators (samplers, executors, commands) are imported when a config is parsed, not with
this module, so ``tansaku status``/``best``/``export`` start fast (they only :func:`locate`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tansaku import _options as run_options
from tansaku._check import MAX_COUNT, MAX_SECONDS, check_number, check_path
from tansaku._errors import ConfigError
from tansaku._options import RunOptions
from tansaku._space import Space

if TYPE_CHECKING:
    from tansaku.objectives._command import Command
    from tansaku.objectives._output import ResultSpec
    from tansaku.study._setup import Setup

__all__ = ["KEYS", "StudyConfig", "load_config", "locate", "parse_config"]

#: the config keys that are not run options (those are declared in ``tansaku.study._options``)
_STUDY_KEYS: dict[str, str] = {
    "name": "study name (default: the config file's name)",
    "storage": "sqlite:///file.db, journal:///file.journal or postgresql://user:pass@host/db (default: sqlite:///<name>.db next to the config)",
    "direction": "minimize (default) or maximize",
    "directions": "several objectives: [minimize, maximize, ...], one per value the objective gives",
    "objective_names": "names of the objectives, e.g. [error, fit_time] (with directions)",
    "sampler": "sampler name (default auto), or {name: ..., seed: ..., options...}",
    "pruner": "none, median, asha, hyperband, or {name: ..., options...}",
    "seed": "study seed, used by samplers that have none of their own",
}
_OBJECTIVE_KEYS: dict[str, str] = {
    "space": "the search space: name: {type: float|int|categorical, ...}",
    "command": "argv list of the program to run, with {param} fields",
    "objective": "instead of command: a Python function, 'file.py:function' or 'module:function'",
    "result": "where the value comes from: last_number (default), {regex: ...}, {json: FILE, key: KEY}; several: {last_numbers: N}, a regex with N groups, {json: FILE, keys: [...]}",
    "constraints": "constraints (feasible when <= 0): [names] from 'tansaku:constraint name=V' lines, or {name: line | {regex: ...} | {json: FILE, key: KEY}}",
    "env": "extra environment variables for the command",
    "cwd": "where the command runs: trial (its own directory, default), config, or a path",
    "kill_grace": "seconds between SIGTERM and SIGKILL when a trial is stopped (default 1)",
    "enqueue": "list of parameter sets to evaluate first, when the study is created",
}
#: every top-level key, with a one-line meaning (shown by `tansaku run --help`)
KEYS: dict[str, str] = {
    **_STUDY_KEYS,
    **{f.name: run_options.describe(f) for f in run_options.yaml_options()},
    **_OBJECTIVE_KEYS,
}


def _fail(field: str, message: str) -> ConfigError:
    return ConfigError(message, field=field)


def _number(
    data: Mapping[str, Any],
    key: str,
    *,
    integer: bool = False,
    minimum: float = 0.0,
    strict: bool = True,
    maximum: float | None = None,
) -> Any:
    """``data[key]`` checked by :func:`tansaku._check.check_number` (bounded by
    :data:`MAX_COUNT` for integers, :data:`MAX_SECONDS` otherwise, unless ``maximum``); None
    when absent."""
    top = maximum if maximum is not None else (MAX_COUNT if integer else MAX_SECONDS)
    return check_number(
        data.get(key), key, integer=integer, low=minimum, low_open=strict, high=top, none_ok=True
    )


@dataclass(frozen=True)
class StudyConfig:
    """A validated study config.  ``raw`` is the mapping as loaded (stored with the study so
    ``tansaku worker --storage URL --study NAME`` can rebuild the objective)."""

    name: str
    storage: str
    direction: str
    space: Space
    sampler: Any
    base_dir: Path
    #: the run options (``tansaku._options``); ``workdir`` as given (None: the layout's default,
    #: see :meth:`run_dir`), ``setup`` parsed.  Each is also an attribute: ``cfg.n_workers``.
    run: RunOptions
    raw: Mapping[str, Any] = field(repr=False)
    pruner: Any = None
    seed: int | None = None
    command: Command | None = None
    objective_ref: str | None = None
    enqueue: tuple[Mapping[str, Any], ...] = ()
    #: several objectives (None: one, ``direction``) and their names
    directions: tuple[str, ...] | None = None
    objective_names: tuple[str, ...] | None = None

    def __getattr__(self, name: str) -> Any:
        # only reached when normal lookup fails: the run options read as attributes
        run = self.__dict__.get("run")
        if run is not None and name in RunOptions.__dataclass_fields__:
            return getattr(run, name)
        raise AttributeError(name)

    def objective(self) -> Any:
        """The callable to optimise: the Command, or the imported Python function."""
        if self.command is not None:
            return self.command
        assert self.objective_ref is not None
        return import_objective(self.objective_ref, self.base_dir)

    def open_study(self, storage: Any = None, *, n_workers: int = 1) -> Any:
        """Create this config's study, or resume it when it exists: its space, sampler, pruner,
        seed, direction(s) and objective names, in ``storage`` (a URL or a storage; default the
        config's).  The one way every command opens the study a config describes."""
        from tansaku.study._study import create_study

        return create_study(
            self.space,
            sampler=self.sampler,
            storage=self.storage if storage is None else storage,
            name=self.name,
            direction=self.direction,
            directions=self.directions,
            objective_names=self.objective_names,
            seed=self.seed,
            pruner=self.pruner,
            load_if_exists=True,
            n_workers=n_workers,
        )

    def run_dir(self, study: Any) -> Path:
        """Where the study's trial directories go: ``workdir`` if set, else the study's own
        directory under ``runs/`` next to the config (see ``tansaku._layout``)."""
        from tansaku import _layout

        if self.workdir is not None:
            return self.workdir
        return _layout.study_dir(self.base_dir / _layout.RUNS, study)


def check_enqueued(space: Any, params: Any, *, define_by_run: bool) -> dict[str, Any]:
    """Enqueued ``params`` checked against the config's space: with a Python ``objective:``
    (``define_by_run``) names the space lacks are kept for its ``suggest_*`` calls (see
    ``Study.enqueue``); a command has no suggest calls, so they are refused."""
    known, unknown = space.split_enqueued(params)
    if not define_by_run:
        refuse_unknown(unknown)
    return {**space.validate_params(known), **unknown}


def refuse_unknown(unknown: Mapping[str, Any]) -> None:
    """A command's study: enqueued names outside the declared space are a ConfigError."""
    if unknown:
        raise ConfigError(
            f"unknown parameter(s): {', '.join(unknown)} (a command's space is the declared one)",
            field="params",
        )


def import_objective(ref: str, base_dir: Path) -> Callable[..., Any]:
    """The config's ``objective:`` imported (see :class:`tansaku.objectives._import.ImportedFunction`)."""
    from tansaku.objectives._import import ImportedFunction

    return ImportedFunction(ref, base_dir)


def load_config(path: str | Path) -> StudyConfig:
    """Read and validate a YAML config file."""
    p = Path(path)
    return parse_config(_read_yaml(p), base_dir=p.resolve().parent, default_name=p.stem)


def locate(path: str | Path) -> tuple[str, str, int | None]:
    """``(name, storage URL, n_trials)`` of a config file, for the read-only commands: only those
    keys are checked, so a config naming a heavy sampler is not imported just to read its study."""
    p = Path(path)
    data = _read_yaml(p)
    if not isinstance(data, Mapping):
        raise ConfigError(f"the config must be a mapping of keys, got {type(data).__name__}")
    name, storage = _name_and_storage(data, p.resolve().parent, p.stem)
    return name, storage, _number(data, "n_trials", integer=True)


def pruner_of(path: str | Path) -> Any:
    """The pruner a config file names (its ``pruner:`` value; None without one), for read-only
    commands such as ``tansaku report`` that draw the pruner's cut-off; only that key is read."""
    data = _read_yaml(Path(path))
    return data.get("pruner") if isinstance(data, Mapping) else None


def _read_yaml(p: Path) -> Any:
    from tansaku.cli._yaml import load_yaml

    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no such config file: {p}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {p}: {e}") from None
    return load_yaml(text, source=p.name)


def _name_and_storage(
    data: Mapping[str, Any], base_dir: Path, default_name: str
) -> tuple[str, str]:
    from tansaku._names import check_name, dir_name

    name = check_name(data.get("name", default_name))
    storage = data.get("storage")
    if storage is None:
        storage = f"sqlite:///{base_dir / (dir_name(name) + '.db')}"
    elif not isinstance(storage, str) or not storage.strip() or not storage.isprintable():
        raise _fail("storage", "must be a URL string like sqlite:///study.db (printable, one line)")
    else:
        from tansaku.storage._url import with_base_dir

        storage = with_base_dir(storage, base_dir)  # relative to the config file
    return name, storage


def parse_config(data: Any, *, base_dir: Path, default_name: str = "study") -> StudyConfig:
    from tansaku.executors._registry import make_executor
    from tansaku.objectives._command import Command
    from tansaku.pruners import make_pruner
    from tansaku.samplers._registry import DEFAULT as DEFAULT_SAMPLER
    from tansaku.samplers._registry import make_sampler
    from tansaku.study._study import _check_seed

    if not isinstance(data, Mapping):
        raise ConfigError(
            f"the config must be a mapping of keys (name, space, command, ...), got "
            f"{type(data).__name__}"
        )
    for key in data:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(KEYS)})"
            raise _fail(str(key), f"unknown key{hint}")
    name, storage = _name_and_storage(data, base_dir, default_name)
    direction = data.get("direction", "minimize")
    if direction not in ("minimize", "maximize"):
        raise _fail("direction", f"must be minimize or maximize, got {direction!r}")
    from tansaku.study._study import check_directions

    dirs, names = check_directions(direction, data.get("directions"), data.get("objective_names"))
    direction = dirs[0]
    if "space" not in data:
        raise _fail(
            "space",
            "is required (e.g. space: {lr: {type: float, low: 1e-4, high: 0.1, log: true}})",
        )
    space = Space.from_dict(data["space"], field="space")

    sampler_spec = data.get("sampler", DEFAULT_SAMPLER)
    make_sampler(sampler_spec)  # validates name and options now, before any storage is opened
    pruner = data.get("pruner")
    make_pruner(pruner)
    seed = _check_seed(data.get("seed"))

    options = run_options.from_mapping(
        {k: v for k, v in data.items() if k not in ("executor", "workdir", "setup")}
    )
    workers_given = options["n_workers"]  # None: 1, or one per GPU slot with gpus
    n_workers = workers_given or 1
    if (
        options["n_trials"] is None
        and options["timeout"] is None
        and not (
            sampler_spec == "grid"
            or (isinstance(sampler_spec, Mapping) and sampler_spec.get("name") == "grid")
        )
    ):
        raise _fail(
            "n_trials",
            "is required (or set timeout, or use the grid sampler which stops by itself)",
        )
    executor = data.get("executor")
    if executor is not None:
        make_executor(executor, n_workers=n_workers).shutdown(cancel=True)  # validates the options
    if options["gpus"] is not None or options["gpus_per_trial"] is not None:
        check_gpu_options(options["gpus"], options["gpus_per_trial"], workers_given, executor)

    has_cmd, has_obj = "command" in data, "objective" in data
    if has_cmd == has_obj:
        raise _fail(
            "command",
            "give exactly one of command (a program to run) or objective (a Python function)",
        )
    command = None
    objective_ref = None
    if has_cmd:
        cwd = data.get("cwd", "trial")
        if not isinstance(cwd, str):
            raise _fail("cwd", "must be trial, config, or a path")
        command = Command(
            data["command"],
            result=_parse_result(data.get("result")),
            constraints=data.get("constraints"),
            env=data.get("env"),
            cwd=str(base_dir) if cwd == "config" else cwd,
            base_dir=base_dir,
            kill_grace=_number(data, "kill_grace", minimum=0.0, strict=False) or 1.0,
        )
        if command.result.count != len(dirs):
            raise _fail(
                "result",
                f"gives {command.result.count} value{'s' if command.result.count > 1 else ''}, "
                f"the study has {len(dirs)} objective{'s' if len(dirs) > 1 else ''} "
                "(directions); e.g. result: {last_numbers: " + str(len(dirs)) + "}",
            )
        conditional = [n for n, d in space.items() if d.when]
        command.check_fields(list(space.names), conditional=conditional)
        _check_program(command, executor)
    else:
        for key in ("result", "constraints", "env", "cwd", "kill_grace"):
            if key in data:
                raise _fail(key, "only applies to command objectives")
        objective_ref = data["objective"]
        if not isinstance(objective_ref, str):
            raise _fail("objective", "must be 'file.py:function' or 'module:function'")
    workdir = data.get("workdir")
    if workdir is not None and workdir != "":  # empty: the default
        check_path(workdir, "workdir")
    wd = (base_dir / workdir) if workdir else None  # None: the study's dir under runs/
    enqueue = data.get("enqueue") or []
    if not isinstance(enqueue, list):
        raise _fail("enqueue", "must be a list of parameter mappings")
    checked = []
    for i, params in enumerate(enqueue):
        try:
            checked.append(check_enqueued(space, params, define_by_run=objective_ref is not None))
        except ConfigError as e:
            raise _fail(
                f"enqueue[{i}]"
                + (f".{e.field.split('.', 1)[1]}" if e.field and "." in e.field else ""),
                e.reason,
            ) from None
    run = RunOptions(
        **{
            **options,
            "executor": executor,
            "workdir": wd,
            "setup": _parse_setup(data, base_dir),
        }
    )
    return StudyConfig(
        name=name,
        storage=storage,
        direction=direction,
        space=space,
        sampler=sampler_spec,
        base_dir=base_dir,
        raw=dict(data),
        run=run,
        pruner=pruner,
        seed=seed,
        command=command,
        objective_ref=objective_ref,
        enqueue=tuple(checked),
        directions=dirs if len(dirs) > 1 else None,
        objective_names=names or None,
    )


def check_gpu_options(gpus: Any, gpus_per_trial: Any, n_workers: int | None, executor: Any) -> int:
    """Check ``gpus``/``gpus_per_trial`` against the executor (a batch job's trials share its
    node's devices; other executors share this host's) and return the ``n_workers`` to run."""
    from tansaku.executors._gpus import plan_gpus
    from tansaku.executors._registry import make_executor

    ex = make_executor("local" if executor is None else executor, n_workers=n_workers or 1)
    try:
        in_job = ex.gpu_slots_in_job
        plan = plan_gpus(
            gpus,
            gpus_per_trial,
            n_workers,
            per_job=getattr(ex, "trials_per_job", 1) if in_job else None,
        )
    finally:
        ex.shutdown(cancel=True)
    return plan.n_workers


def _check_program(command: Command, executor: Any) -> None:
    """A command run on this machine must name a program that exists: a bare name (``python``)
    is looked up on PATH (the config's ``env: PATH`` if it sets one) now, not after the study was
    stored. Paths (``./train.sh``, made by a setup step perhaps) and templated programs are found
    at run time, and batch/dask executors run on other machines, so those are not checked."""
    import os
    import shutil

    name = (
        executor
        if isinstance(executor, str)
        else (executor.get("name") if isinstance(executor, Mapping) else None)
    )
    if name not in (None, "inline", "local"):
        return
    program = command.argv[0] if command.argv else ""
    if not isinstance(program, str) or "/" in program or "{" in program or not program:
        return
    path = command.env.get("PATH", os.environ.get("PATH", os.defpath))
    if shutil.which(program, path=path) is None:
        raise _fail("command[0]", f"no program {program!r} on PATH")


def _parse_setup(data: Mapping[str, Any], base_dir: Path) -> Setup | None:
    from tansaku.objectives._command import Command
    from tansaku.study._setup import Setup

    spec = data.get("setup")
    if spec is None:
        return None
    if isinstance(spec, list):
        spec = {"command": spec}
    if not isinstance(spec, Mapping):
        raise _fail("setup", "must be an argv list, or {command: [...], timeout: s, dir: path}")
    unknown = sorted(set(spec) - {"command", "timeout", "dir"})
    if unknown:
        raise _fail(f"setup.{unknown[0]}", "unknown key (known: command, timeout, dir)")
    if "command" not in spec:
        raise _fail("setup.command", "is required (the argv list of the setup program)")
    try:
        command = Command(
            spec["command"],
            env=data.get("env"),
            base_dir=base_dir,
            kill_grace=_number(data, "kill_grace", minimum=0.0, strict=False) or 1.0,
        )
        command.check_fields([])
    except ConfigError as e:
        raise _fail(f"setup.{e.field}" if e.field else "setup", e.reason) from None
    try:
        timeout = _number(spec, "timeout")
    except ConfigError as e:
        raise _fail("setup.timeout", e.reason) from None
    d = spec.get("dir")
    if d is not None:
        check_path(d, "setup.dir")
    return Setup(command, dir=None if d is None else base_dir / d, timeout=timeout)


def _parse_result(spec: Any) -> ResultSpec:
    from tansaku.objectives._output import ResultSpec

    return ResultSpec.parse(spec, field="result")
