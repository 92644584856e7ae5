"""Studies and trials."""

from __future__ import annotations

from tansaku._records import FrozenTrial, TrialState
from tansaku._trial import Trial
from tansaku.study._reevaluate import RankedPoint, format_ranking, rank_by_mean, reevaluate
from tansaku.study._repeats import PointStats, evaluation_records, point_stats, trial_seed
from tansaku.study._setup import Setup
from tansaku.study._study import Study, create_study, load_study

__all__ = [
    "FrozenTrial",
    "PointStats",
    "RankedPoint",
    "Setup",
    "Study",
    "Trial",
    "TrialState",
    "create_study",
    "evaluation_records",
    "format_ranking",
    "load_study",
    "point_stats",
    "rank_by_mean",
    "reevaluate",
    "trial_seed",
]
