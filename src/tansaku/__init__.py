"""tansaku (探索, "search"): find the best settings of expensive black-box programs.

``import tansaku`` stays light (no numpy, scipy, SQLAlchemy or rich): the study, objectives and
pruners load on first use of their names, so the command line starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from tansaku import objectives, pruners
    from tansaku._trial import Trial
    from tansaku.objectives._command import Command
    from tansaku.study._study import Study, create_study, load_study

#: public name -> module it lives in (imported on first access)
_LAZY_NAMES = {
    "Trial": "tansaku._trial",
    "Command": "tansaku.objectives._command",
    "Study": "tansaku.study._study",
    "create_study": "tansaku.study._study",
    "load_study": "tansaku.study._study",
}

__version__ = "0.1.0"

_LAZY_MODULES = ("objectives", "pruners", "plot", "report")  # subpackages loaded on first use

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


def __getattr__(name: str) -> object:
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f"tansaku.{name}")
    else:
        raise AttributeError(f"module 'tansaku' has no attribute {name!r}")
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
