"""Objectives: Python callables and external commands."""

from __future__ import annotations

from tansaku.objectives._callable import as_value, run_callable
from tansaku.objectives._command import Command, CommandFailed, CommandRun
from tansaku.objectives._output import REPORT_RE, OutputParser, ResultSpec
from tansaku.objectives._template import RESERVED_FIELDS, format_value

__all__ = [
    "REPORT_RE",
    "RESERVED_FIELDS",
    "Command",
    "CommandFailed",
    "CommandRun",
    "OutputParser",
    "ResultSpec",
    "as_value",
    "format_value",
    "run_callable",
]
