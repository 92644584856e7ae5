"""Executors: where trials run (inline, local processes, Dask, batch schedulers)."""

from __future__ import annotations

from tansaku.executors._base import CancelReason, Executor, ExecutorHooks, Job, Outcome
from tansaku.executors._inline import DirectChannel, InlineExecutor
from tansaku.executors._local import LocalExecutor
from tansaku.executors._registry import EXECUTORS, make_executor

__all__ = [
    "EXECUTORS",
    "CancelReason",
    "DirectChannel",
    "Executor",
    "ExecutorHooks",
    "InlineExecutor",
    "Job",
    "LocalExecutor",
    "Outcome",
    "make_executor",
]
