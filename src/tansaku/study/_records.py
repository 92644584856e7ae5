"""Moved to :mod:`tansaku._records` (kept so older imports keep working)."""

from tansaku._records import FrozenTrial, TrialState, to_datetime

__all__ = ["FrozenTrial", "TrialState", "to_datetime"]
