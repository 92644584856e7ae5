"""Pruned trials reach samplers as PRUNED with their last reported value; the samplers shipped in
core (random, grid, sobol) propose exactly the same points whether a trial was pruned or not."""

from __future__ import annotations

import pytest

import tansaku as tk


@pytest.mark.parametrize("sampler", ["random", "sobol", {"name": "grid", "resolution": 4}])
def test_proposals_do_not_depend_on_pruning(sampler: object) -> None:
    space = {"x": tk.Float(0.0, 1.0), "k": tk.Int(1, 4)}

    def run(prune_every: int) -> list[dict[str, object]]:
        study = tk.create_study(space, sampler=sampler, seed=3)  # type: ignore[arg-type]
        seen = []
        for i in range(12):
            t = study.ask()
            seen.append(dict(t.params))
            t.report(float(i), 1)
            if prune_every and i % prune_every == 0:
                study.tell(t, state="pruned")
            else:
                study.tell(t, float(i))
        return seen

    assert run(0) == run(2) == run(1)


def test_pruned_trial_records_carry_the_last_value_and_step() -> None:
    told: list[tk.FrozenTrial] = []
    from tansaku.samplers._random import RandomSampler

    class Spy(RandomSampler):
        def tell(self, trial: tk.FrozenTrial) -> None:
            told.append(trial)
            super().tell(trial)

    study = tk.create_study({"x": tk.Float(0, 1)}, sampler=Spy(seed=0), pruner="asha")

    def objective(trial: tk.Trial) -> float:
        for step in range(1, 10):
            value = trial.number + 1.0 / step
            trial.report(value, step)
            if trial.should_prune():
                raise tk.TrialPruned()
        return value

    study.optimize(objective, n_trials=6)
    study.ask()  # the sampler is told about finished trials when it is next asked
    pruned = [t for t in told if t.state is tk.TrialState.PRUNED]
    assert pruned, "ASHA should prune the later, worse trials"
    for t in pruned:
        assert t.last_step is not None and t.value == pytest.approx(t.number + 1.0 / t.last_step)
