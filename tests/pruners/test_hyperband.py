from __future__ import annotations

import random
from collections import Counter

import pytest

import tansaku as tk
from tansaku.pruners import HyperbandPruner, make_pruner
from tansaku.pruners._hyperband import bracket_weights
from tests.pruners._drive import new_study, run_curve


def test_bracket_weights_follow_hyperband() -> None:
    # eta 3, 4 brackets: s = 3, 2, 1, 0 halvings -> ceil(4/(s+1)) * 3**s
    assert bracket_weights(4, 3) == [27, 18, 6, 4]
    assert bracket_weights(1, 3) == [1]


def test_brackets_are_deterministic_and_shared_in_proportion() -> None:
    a = HyperbandPruner(max_resource=27)
    b = HyperbandPruner(max_resource=27)
    assert a.n_brackets == 4
    numbers = range(20000)
    assert [a.bracket_of(n) for n in numbers[:200]] == [b.bracket_of(n) for n in numbers[:200]]
    counts = Counter(a.bracket_of(n) for n in numbers)
    weights = bracket_weights(4, 3)
    for bracket, w in enumerate(weights):
        share = counts[bracket] / len(numbers)
        assert share == pytest.approx(w / sum(weights), abs=0.015)


def _numbers_in(pruner: HyperbandPruner, bracket: int, k: int) -> list[int]:
    return [n for n in range(500) if pruner.bracket_of(n) == bracket][:k]


def test_trials_compete_only_within_their_bracket() -> None:
    pruner = HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
    study = new_study(pruner)
    # run trials in number order with a value that depends only on the number
    values = {n: float(100 - n) for n in range(60)}  # every trial is better than the ones before
    pruned = {}
    for n in range(60):
        pruned[n] = run_curve(study, {s: values[n] + s for s in range(1, 10)})
    # improving values: nothing is pruned in any bracket
    assert all(v is None for v in pruned.values())
    # now a trial worse than everything: pruned at its bracket's first rung, unless in the
    # bracket without rungs
    first_rung = {0: 1, 1: 3, 2: None}
    for n in range(60, 80):
        at = run_curve(study, {s: 1000.0 + s for s in range(1, 10)})
        assert at == first_rung[pruner.bracket_of(n)]


def test_a_bracket_prunes_against_its_own_trials_only() -> None:
    pruner = HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
    study = new_study(pruner)
    b0 = set(_numbers_in(pruner, 0, 100))
    # bracket 0 trials are very good, all others mediocre; a mediocre value in another bracket is
    # judged only against that bracket
    outcomes = {}
    for n in range(40):
        v = 0.0 if n in b0 else 10.0 + (n % 3)
        outcomes[n] = run_curve(study, {s: v for s in range(1, 10)})
    for n in range(40):
        if n in b0:
            assert outcomes[n] is None
    others = [n for n in range(40) if n not in b0 and pruner.bracket_of(n) == 1]
    assert others and outcomes[others[0]] is None  # the first in its bracket is promoted


def test_auto_max_resource_waits_for_the_first_complete_trial() -> None:
    pruner = HyperbandPruner(min_resource=1, reduction_factor=2)
    study = new_study(pruner)
    t = study.ask()
    for s in range(1, 5):
        t.report(1.0, s)
        assert not t.should_prune()
    study.tell(t, state="pruned")  # not complete: still unknown
    assert pruner.n_brackets == 0
    run_curve(study, {s: 1.0 for s in range(1, 9)})  # completes at step 8
    run_curve(study, {s: 1.0 for s in range(1, 3)})  # one more finished trial to fetch the news
    assert pruner.n_brackets == 4  # 1, 2, 4, 8
    explicit = HyperbandPruner(min_resource=1, reduction_factor=2, max_resource=8)
    assert [pruner.bracket_of(n) for n in range(50)] == [explicit.bracket_of(n) for n in range(50)]


def test_matches_asha_within_each_bracket() -> None:
    """Hyperband = independent ASHA runs: replaying each bracket's trials into its own ASHA pruner
    gives the same decisions."""
    rng = random.Random(3)
    hb = HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
    study = new_study(hb)
    per_bracket = {
        b: new_study(make_pruner({"name": "asha", "min_early_stopping_rate": b, "max_resource": 9}))
        for b in range(hb.n_brackets)
    }
    for n in range(120):
        curve = {s: rng.random() + 1.0 / s for s in range(1, 10)}
        got = run_curve(study, curve)
        want = run_curve(per_bracket[hb.bracket_of(n)], curve)
        assert got == want, n
    assert sum(t.state is tk.TrialState.PRUNED for t in study.trials) > 30


def test_options_are_validated() -> None:
    with pytest.raises(tk.ConfigError, match=r"^pruner\.max_resource"):
        make_pruner({"name": "hyperband", "max_resource": "big"})
    with pytest.raises(tk.ConfigError, match=r"^pruner\.min_trials"):
        make_pruner({"name": "hyperband", "min_trials": 0})
