from __future__ import annotations

import math

import numpy as np

import tansaku as tk
from tansaku._records import FrozenTrial, TrialState
from tansaku.samplers._model_based import ModelBasedSampler


class _Recorder:
    def __init__(self) -> None:
        self.told: list[float] = []

    def tell(self, x: np.ndarray, y: float) -> None:
        self.told.append(y)

    def ask(self, pending: np.ndarray | None = None) -> np.ndarray:
        return np.full(1, 0.5)


class _Sampler(ModelBasedSampler):
    name = "recorder"

    def _make_core(self) -> _Recorder:
        return _Recorder()


def _trial(n: int, state: TrialState, value: float | None) -> FrozenTrial:
    return FrozenTrial(number=n, state=state, params={"x": 0.5}, value=value)


def test_pruned_trials_rank_with_the_worst_complete_one():
    s = _Sampler(seed=0)
    s.bind(tk.Space(x=tk.Float(0, 1)))
    s.tell(_trial(0, TrialState.PRUNED, 0.1))  # nothing complete yet: its own value
    s.tell(_trial(1, TrialState.COMPLETE, 2.0))
    s.tell(_trial(2, TrialState.COMPLETE, 1.0))
    s.tell(_trial(3, TrialState.PRUNED, 0.5))  # a low intermediate value must not look best
    s.tell(_trial(4, TrialState.PRUNED, 7.0))
    s.tell(_trial(5, TrialState.FAILED, None))
    assert s.core.told[:5] == [0.1, 2.0, 1.0, 2.0, 7.0] and math.isinf(s.core.told[5])
