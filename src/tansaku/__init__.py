"""tansaku (探索, "search"): find the best settings of expensive black-box programs."""

from __future__ import annotations

from tansaku import objectives, pruners
from tansaku._errors import (
    ConfigError,
    DuplicatedStudyError,
    StorageError,
    StudyNotFoundError,
    TansakuError,
    TrialPruned,
)
from tansaku._records import FrozenTrial, TrialState
from tansaku._space import Categorical, Float, Int, Space
from tansaku._trial import Trial
from tansaku.objectives._command import Command
from tansaku.study._study import Study, create_study, load_study

__version__ = "0.1.0"

__all__ = [
    "Categorical",
    "Command",
    "ConfigError",
    "DuplicatedStudyError",
    "Float",
    "FrozenTrial",
    "Int",
    "Space",
    "StorageError",
    "Study",
    "StudyNotFoundError",
    "TansakuError",
    "Trial",
    "TrialPruned",
    "TrialState",
    "__version__",
    "create_study",
    "load_study",
    "objectives",
    "pruners",
]
