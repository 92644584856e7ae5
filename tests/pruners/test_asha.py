from __future__ import annotations

import random

import pytest

import tansaku as tk
from tansaku.pruners import ASHAPruner, make_pruner
from tests.pruners._drive import new_study, run_curve


def flat(value: float, steps: int = 9) -> dict[int, float]:
    return {s: value for s in range(1, steps + 1)}


def test_rung_keeps_the_best_fraction_seen_so_far() -> None:
    study = new_study(ASHAPruner(min_resource=1, reduction_factor=2, max_resource=2))
    assert run_curve(study, flat(1.0, 2)) is None  # alone in the rung: promoted
    assert run_curve(study, flat(2.0, 2)) == 1  # 2 values, keep 1: not the best
    assert run_curve(study, flat(0.5, 2)) is None  # best of 3
    assert run_curve(study, flat(1.5, 2)) == 1  # 4 values, keep 2: third
    assert run_curve(study, flat(0.9, 2)) is None  # 5 values, keep 2: second
    pruned = [t for t in study.trials if t.state is tk.TrialState.PRUNED]
    assert [t.number for t in pruned] == [1, 3]
    assert [t.value for t in pruned] == [2.0, 1.5]


def test_rungs_are_geometric_and_decided_once_when_reached() -> None:
    pruner = ASHAPruner(min_resource=1, reduction_factor=3)
    study = new_study(pruner)
    run_curve(study, flat(1.0, 20))
    assert pruner.rung_sizes() == [1, 1, 1]  # rungs at steps 1, 3, 9
    # better at rung 1, worse from step 2 on: kept at 1; step 2 is no rung; pruned at 3
    assert run_curve(study, {1: 0.5, 2: 5.0, 3: 5.0, 4: 5.0}) == 3


def test_sparse_reports_are_compared_at_the_first_step_past_a_rung() -> None:
    pruner = ASHAPruner(min_resource=2, reduction_factor=2, n_rungs=2)  # rungs at 2 and 4
    study = new_study(pruner)
    run_curve(study, {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 1.0})
    # reports at 5 only: crosses both rungs at once with value 3.0 -> pruned there
    assert run_curve(study, {5: 3.0, 10: 0.0}) == 5
    assert pruner.rung_sizes() == [2, 2]
    # the rung limit: nothing is decided past rung 4
    assert run_curve(study, {1: 0.0, 2: 0.0, 4: 0.0, 8: 9.0, 16: 9.0}) is None


def test_max_resource_is_not_a_rung() -> None:
    pruner = ASHAPruner(min_resource=1, reduction_factor=3, max_resource=9)  # rungs 1, 3
    study = new_study(pruner)
    run_curve(study, flat(1.0, 9))
    assert run_curve(study, {1: 0.0, 3: 0.0, 9: 5.0}) is None
    assert pruner.rung_sizes() == [2, 2]


def test_min_trials_lets_a_rung_fill_first() -> None:
    study = new_study(ASHAPruner(min_resource=1, reduction_factor=2, min_trials=3))
    assert run_curve(study, flat(1.0, 1)) is None
    assert run_curve(study, flat(3.0, 1)) is None  # only 2 values in the rung
    assert run_curve(study, flat(2.0, 1)) == 1  # 3 values, keep 1


def test_maximize_is_mirrored() -> None:
    study = new_study(ASHAPruner(reduction_factor=2), direction="maximize")
    run_curve(study, flat(1.0, 1))
    assert run_curve(study, flat(0.5, 1)) == 1
    assert run_curve(study, flat(2.0, 1)) is None


def _reference(curves: dict[int, dict[int, float]], me: int, step: int, p: ASHAPruner) -> bool:
    """ASHA written the slow, obvious way: rebuild every rung from every curve reported so far."""
    k = 0
    while p.n_rungs is None or k < p.n_rungs:
        r = p.min_resource * p.reduction_factor ** (p.min_early_stopping_rate + k)
        if r > step or (p.max_resource is not None and r >= p.max_resource):
            return False
        k += 1
        rung = {
            n: c[min(s for s in c if s >= r)] for n, c in curves.items() if any(s >= r for s in c)
        }
        if min(s for s in curves[me] if s >= r) != step or len(rung) < p.min_trials:
            continue
        keep = max(1, len(rung) // p.reduction_factor)
        if sum(v < rung[me] for v in rung.values()) >= keep:
            return True
    return False


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_matches_a_brute_force_asha_with_interleaved_trials(seed: int, direction: str) -> None:
    rng = random.Random(seed)
    pruner = ASHAPruner(
        min_resource=rng.randint(1, 2),
        reduction_factor=rng.randint(2, 4),
        min_early_stopping_rate=rng.randint(0, 1),
        n_rungs=rng.choice([None, 1, 2]),
        max_resource=rng.choice([None, 20]),
        min_trials=rng.randint(1, 3),
    )
    study = new_study(pruner, direction=direction)
    sign = -1.0 if direction == "maximize" else 1.0
    curves: dict[int, dict[int, float]] = {}
    live: list[tuple[tk.Trial, list[int]]] = []
    pruned = 0
    for _ in range(600):
        if len(live) < 5 and rng.random() < 0.25:
            t = study.ask()
            live.append((t, sorted(rng.sample(range(1, 25), rng.randint(1, 10)))))
            curves[t.number] = {}
            continue
        if not live:
            continue
        trial, steps = live[rng.randrange(len(live))]
        step = steps.pop(0)
        value = rng.gauss(0, 1) - 0.05 * step
        trial.report(sign * value, step)
        curves[trial.number][step] = value
        expected = _reference(curves, trial.number, step, pruner)
        assert trial.should_prune() is expected, (trial.number, step)
        pruned += expected
        if expected:
            study.tell(trial, state="pruned")
        elif not steps:
            study.tell(trial, sign * value)
        if expected or not steps:
            live = [x for x in live if x[0] is not trial]
    assert pruned > 0


def test_options_are_validated_with_the_field_named() -> None:
    with pytest.raises(tk.ConfigError, match=r"^pruner\.reduction_factor: must be an integer >= 2"):
        make_pruner({"name": "asha", "reduction_factor": 1})
    with pytest.raises(tk.ConfigError, match=r"^pruner\.max_resource: must be larger"):
        make_pruner({"name": "asha", "min_resource": 4, "max_resource": 4})
    with pytest.raises(tk.ConfigError, match=r"^pruner\.min_resource"):
        make_pruner({"name": "asha", "min_resource": 1.5})
