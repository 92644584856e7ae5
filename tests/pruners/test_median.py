from __future__ import annotations

import random
import statistics

import pytest

import tansaku as tk
from tansaku.pruners import MedianPruner, make_pruner
from tests.pruners._drive import new_study, run_curve


def flat(value: float, steps: int = 5) -> dict[int, float]:
    return {s: value for s in range(1, steps + 1)}


def test_waits_for_startup_trials_then_prunes_worse_than_median() -> None:
    study = new_study(MedianPruner(n_startup_trials=3))
    for v in (1.0, 2.0):
        assert run_curve(study, flat(v)) is None
    assert run_curve(study, flat(9.0)) is None  # only 2 complete trials: still warming up
    # now 3 complete (1, 2, 9 -> median 2): 3.0 is worse at its first step
    assert run_curve(study, flat(3.0)) == 1
    assert run_curve(study, flat(1.5)) is None
    states = [t.state for t in study.trials]
    assert states.count(tk.TrialState.PRUNED) == 1
    pruned = next(t for t in study.trials if t.state is tk.TrialState.PRUNED)
    assert pruned.value == 3.0  # the last reported value


def test_compares_best_value_so_far_at_the_same_step() -> None:
    study = new_study(MedianPruner(n_startup_trials=1))
    run_curve(study, {1: 5.0, 2: 4.0, 3: 1.0})
    # at step 2 the reference is 4.0; this trial's best so far (3.0 at step 1) is better
    assert run_curve(study, {1: 3.0, 2: 6.0, 3: 5.0}) == 3  # at step 3: best 3.0 > 1.0


def test_warmup_and_interval() -> None:
    study = new_study(MedianPruner(n_startup_trials=1, n_warmup_steps=3, interval_steps=2))
    run_curve(study, flat(1.0, 10))
    # worse everywhere: first checked at step 3 (warm-up), then 5, 7, 9
    assert run_curve(study, flat(2.0, 10)) == 3
    study2 = new_study(MedianPruner(n_startup_trials=1, n_warmup_steps=3, interval_steps=2))
    run_curve(study2, {s: 10.0 - s for s in range(1, 10)})
    # level with the reference at step 3 (a tie keeps it), worse from step 4 on: step 4 is not a
    # check step, so it is pruned at step 5
    assert run_curve(study2, {1: 9.0, 2: 8.0, 3: 7.0, 4: 6.5, 5: 6.5, 6: 6.5}) == 5


def test_interval_checks_the_first_report_after_a_checkpoint() -> None:
    study = new_study(MedianPruner(n_startup_trials=1, interval_steps=10))
    run_curve(study, {s: 100.0 - s for s in range(0, 40, 3)})  # reports at 0, 3, 6, ...
    # checkpoints 0, 10, 20, 30: the reports at 0, 12, 21, 30 are the first at or after them;
    # worse than the reference from step 3 on, so pruned at 12
    assert run_curve(study, {0: 100.0, 3: 99.0, 6: 98.0, 9: 97.0, 12: 96.0, 15: 95.0}) == 12
    study2 = new_study(MedianPruner(n_startup_trials=1, interval_steps=10))
    run_curve(study2, {s: 1.0 for s in range(0, 40, 3)})
    assert run_curve(study2, {0: 2.0, 3: 2.0, 6: 2.0, 9: 2.0, 12: 2.0}) == 0
    study3 = new_study(MedianPruner(n_startup_trials=1, n_warmup_steps=1, interval_steps=10))
    run_curve(study3, {s: 1.0 for s in range(0, 40, 3)})
    assert run_curve(study3, {0: 2.0, 3: 2.0, 6: 2.0, 9: 2.0, 12: 2.0}) == 3  # checkpoint 1 -> 3


def test_n_min_trials_per_step() -> None:
    study = new_study(MedianPruner(n_startup_trials=0, n_min_trials=2))
    run_curve(study, {1: 1.0, 2: 1.0})
    run_curve(study, {1: 1.0})
    # step 1 has 2 values, step 2 only one
    assert run_curve(study, {2: 5.0, 3: 5.0}) is None
    assert run_curve(study, {1: 5.0}) == 1


def test_maximize_is_mirrored() -> None:
    study = new_study(MedianPruner(n_startup_trials=2), direction="maximize")
    run_curve(study, flat(1.0))
    run_curve(study, flat(2.0))
    assert run_curve(study, flat(0.5)) == 1
    assert run_curve(study, flat(3.0)) is None


def test_pruned_trials_do_not_shape_the_median() -> None:
    study = new_study(MedianPruner(n_startup_trials=1))
    run_curve(study, flat(1.0))
    for _ in range(5):
        assert run_curve(study, flat(100.0)) == 1  # pruned: do not raise the median
    assert run_curve(study, flat(1.5)) == 1


def _reference(
    complete: list[dict[int, float]], curve: dict[int, float], step: int, p: MedianPruner
) -> bool:
    if len(complete) < p.n_startup_trials or step < p.n_warmup_steps:
        return False
    w, k = p.n_warmup_steps, p.interval_steps
    cp = w + ((step - w) // k) * k
    if any(cp <= s < step for s in curve):
        return False
    ref = [c[step] for c in complete if step in c]
    if len(ref) < p.n_min_trials:
        return False
    return min(curve.values()) > statistics.median(ref)


@pytest.mark.parametrize("seed", range(4))
def test_matches_a_brute_force_median_rule_with_interleaved_trials(seed: int) -> None:
    rng = random.Random(seed)
    options = {
        "n_startup_trials": rng.randint(0, 4),
        "n_warmup_steps": rng.randint(0, 3),
        "interval_steps": rng.randint(1, 3),
        "n_min_trials": rng.randint(1, 3),
    }
    pruner = MedianPruner(**options)
    study = new_study(pruner)
    complete: list[dict[int, float]] = []
    live: list[tuple[tk.Trial, list[int], dict[int, float]]] = []
    decisions = 0
    for _ in range(400):
        if len(live) < 4 and rng.random() < 0.3:
            steps = sorted(rng.sample(range(12), rng.randint(1, 8)))
            live.append((study.ask(), steps, {}))
            continue
        if not live:
            continue
        trial, steps, curve = live[rng.randrange(len(live))]
        step = steps.pop(0)
        curve[step] = rng.gauss(0, 1) + 0.1 * step
        trial.report(curve[step], step)
        expected = _reference(complete, curve, step, pruner)
        assert trial.should_prune() is expected
        decisions += expected
        if expected:
            study.tell(trial, state="pruned")
        elif not steps:
            study.tell(trial, curve[step])
            complete.append(dict(curve))
        if expected or not steps:
            live = [x for x in live if x[0] is not trial]
    assert decisions > 0


def test_reads_each_finished_trial_once() -> None:
    pruner = MedianPruner(n_startup_trials=1)
    study = new_study(pruner)
    calls: list[int] = []
    st = study.storage
    original = st.get_trial

    def counting(trial_id: int, *, with_intermediate: bool = False) -> tk.FrozenTrial:
        calls.append(trial_id)
        return original(trial_id, with_intermediate=with_intermediate)

    st.get_trial = counting  # type: ignore[method-assign]
    st.get_trials = None  # type: ignore[assignment]  # reading everything would fail
    st.intermediate_values = None  # type: ignore[assignment]
    n, steps = 30, 10
    rng = random.Random(1)
    for _ in range(n):
        run_curve(study, {s: rng.random() for s in range(steps)})
    # the study reads the reporting trial once per report; the pruner reads a finished trial once
    reports = len(calls) - len(set(calls))
    assert len(set(calls)) == n
    assert len(calls) <= reports + 2 * n


def test_options_are_validated_with_the_field_named() -> None:
    with pytest.raises(tk.ConfigError, match=r"^pruner\.interval_steps: must be an integer >= 1"):
        make_pruner({"name": "median", "interval_steps": 0})
    with pytest.raises(tk.ConfigError, match=r"^pruner:.*unexpected keyword"):
        make_pruner({"name": "median", "warmup": 3})
