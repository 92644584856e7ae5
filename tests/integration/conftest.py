"""The pruning-callback tests' shared run: two trials with a useful learning rate, then one
that barely learns, under a median pruner that may prune from the third trial on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import tansaku as tk

#: ``run(objective, good=lr, bad=lr, steps=n) -> Study`` (see :func:`pruned_third_trial`)
PrunedRun = Callable[..., tk.Study]


@pytest.fixture
def pruned_third_trial() -> PrunedRun:
    """Run ``objective`` for trials at learning rates ``good``, ``good``, ``bad`` (the space is
    ``lr`` in [bad, 1], log) and check what a pruning callback must give: the first trial
    COMPLETE with one report per step 0..steps-1, falling as it learns; the third PRUNED
    before its last step.  Returns the study for further checks."""

    def run(objective: Any, *, good: float, bad: float, steps: int) -> tk.Study:
        study = tk.create_study(
            {"lr": tk.Float(bad, 1.0, log=True)},
            sampler="random",
            pruner={"name": "median", "n_startup_trials": 2},
            seed=0,
        )
        for lr in (good, good, bad):
            study.enqueue({"lr": lr})
        study.optimize(objective, n_trials=3)
        first, _, third = study.get_trials(with_intermediate=True)
        assert first.state is tk.TrialState.COMPLETE, first.message
        assert sorted(first.intermediate) == list(range(steps))  # one report per step
        assert first.intermediate[steps - 1] < first.intermediate[0]  # it learned
        assert third.state is tk.TrialState.PRUNED, third.message
        assert len(third.intermediate) < steps  # stopped mid-training
        return study

    return run
