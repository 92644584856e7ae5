"""Executors: where trials run (inline, local processes, Dask, batch schedulers).

``DaskExecutor`` is not imported here (dask is optional): ``make_executor("dask")`` loads it.
"""

from __future__ import annotations

from tansaku.executors._base import CancelReason, Executor, ExecutorHooks, Job, Outcome
from tansaku.executors._batch import BatchExecutor, PBSExecutor, SGEExecutor, SlurmExecutor
from tansaku.executors._inline import DirectChannel, InlineExecutor
from tansaku.executors._local import LocalExecutor
from tansaku.executors._registry import EXECUTORS, make_executor

__all__ = [
    "EXECUTORS",
    "BatchExecutor",
    "CancelReason",
    "DirectChannel",
    "Executor",
    "ExecutorHooks",
    "InlineExecutor",
    "Job",
    "LocalExecutor",
    "Outcome",
    "PBSExecutor",
    "SGEExecutor",
    "SlurmExecutor",
    "make_executor",
]
