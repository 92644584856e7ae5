"""Studies and trials."""

from __future__ import annotations

from tansaku._records import FrozenTrial, TrialState
from tansaku._trial import Trial
from tansaku.study._study import Study, create_study, load_study

__all__ = ["FrozenTrial", "Study", "Trial", "TrialState", "create_study", "load_study"]
