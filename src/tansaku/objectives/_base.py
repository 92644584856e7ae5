"""What a trial run needs (:class:`Job`) and how it ended (:class:`Outcome`).

Shared by objectives (which produce outcomes) and executors (which schedule jobs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tansaku._records import TrialState

__all__ = ["Job", "Outcome"]


@dataclass(frozen=True)
class Job:
    """One trial to run."""

    trial_id: int
    number: int
    params: Mapping[str, Any]
    study_name: str = ""
    timeout: float | None = None
    workdir: Path | None = None
    seed: int | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """How a job ended."""

    trial_id: int
    state: TrialState
    value: float | None = None
    message: str | None = None
    stderr: str | None = None
    system_attrs: dict[str, Any] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
