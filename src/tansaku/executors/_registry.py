"""Executor names -> classes (imported lazily: dask and batch schedulers are optional)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from tansaku._errors import ConfigError
from tansaku._install import install_hint
from tansaku._space import plain_mapping
from tansaku.executors._base import Executor

__all__ = ["EXECUTORS", "make_executor"]

EXECUTORS: dict[str, str] = {
    "inline": "tansaku.executors._inline:InlineExecutor",
    "local": "tansaku.executors._local:LocalExecutor",
    "dask": "tansaku.executors._dask:DaskExecutor",
    "slurm": "tansaku.executors._batch:SlurmExecutor",
    "sge": "tansaku.executors._batch:SGEExecutor",
    "pbs": "tansaku.executors._batch:PBSExecutor",
}


def make_executor(
    spec: str | Mapping[str, Any] | Executor | None, *, n_workers: int = 1
) -> Executor:
    """``"local"`` or ``{name: slurm, partition: debug, ...}`` -> an executor for ``n_workers``."""
    if isinstance(spec, Executor):
        return spec
    if spec is None:
        spec = "inline" if n_workers <= 1 else "local"
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, Mapping):
        options = plain_mapping(spec, "an executor mapping", field="executor")
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError("an executor mapping needs a 'name' key", field="executor.name")
    else:
        raise ConfigError(f"expected an executor name or mapping, got {spec!r}", field="executor")
    key = name.strip().lower()
    target = EXECUTORS.get(key)
    if target is None:
        raise ConfigError(
            f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})", field="executor"
        )
    module_name, _, cls_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("tansaku"):
            raise ConfigError(
                f"executor {key!r} is not available in this version", field="executor"
            ) from None
        raise ImportError(f"executor {key!r} needs {e.name}: {install_hint('dask')}") from None
    cls = getattr(module, cls_name)
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        for opt in options:
            if opt not in params or opt == "self":
                allowed = ", ".join(p for p in params if p not in ("self", "n_workers"))
                raise ConfigError(
                    f"unknown option for executor {key!r} (allowed: {allowed or 'none'})",
                    field=f"executor.{opt}",
                )
    try:
        return cls(n_workers=n_workers, **options)
    except ConfigError as e:
        raise ConfigError(
            e.reason, field=f"executor.{e.field}" if e.field else "executor"
        ) from None
    except TypeError as e:
        raise ConfigError(str(e), field="executor") from None
