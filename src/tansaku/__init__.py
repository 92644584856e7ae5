"""tansaku (探索, "search"): find the best settings of expensive black-box programs."""

from __future__ import annotations

from tansaku._errors import (
    ConfigError,
    DuplicatedStudyError,
    StorageError,
    StudyNotFoundError,
    TansakuError,
    TrialPruned,
)
from tansaku._space import Categorical, Float, Int, Space

__version__ = "0.1.0"

__all__ = [
    "Categorical",
    "ConfigError",
    "DuplicatedStudyError",
    "Float",
    "Int",
    "Space",
    "StorageError",
    "StudyNotFoundError",
    "TansakuError",
    "TrialPruned",
    "__version__",
]
