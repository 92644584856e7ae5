"""Executor names -> classes (imported lazily: dask and batch schedulers are optional)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tansaku._registry import build, check_options, load_class, split_spec
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
    name, options = split_spec(spec, "executor")
    key = name.strip().lower()
    cls = load_class(EXECUTORS, key, name, "executor", extra="dask")
    check_options(cls, options, "executor", key, hidden=("n_workers",))
    return build(cls, options, "executor", n_workers=n_workers)
