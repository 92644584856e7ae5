"""gp and dngo do not spend a trial on a point already evaluated (issue 13, tree_cancer).

A log ``Int``'s levels own bins of equal width in log space (``Space``), while the cores snap a
discrete coordinate to equal bins in the unit cube: a candidate in another unit bin decoded to an
integer already tried (so the "no repeated point" mask missed it: gp proposed its incumbent 16
times in 60 trials on tree_cancer's space), and integers whose log bin holds no unit bin centre
could never be proposed at all."""

from __future__ import annotations

import math
from typing import Any

import pytest

import tansaku as tk

SPECS = {
    "gp": {"name": "gp", "seed": 0, "n_startup_trials": 5},
    "dngo": {"name": "dngo", "seed": 0, "n_startup_trials": 5, "n_candidates": 256,
             "scratch_epochs": 40, "finetune_epochs": 5, "random_features": 32},
}


def _dist(trial: Any) -> float:
    return abs(math.log(trial.params["b"]) - math.log(13))


@pytest.mark.parametrize("name", ["gp", pytest.param("dngo", marks=pytest.mark.slow)])
def test_the_one_untried_log_int_comes_out(name: str) -> None:
    """Every integer of ``Int(1, 16, log=True)`` but 13 (the optimum) is evaluated: the next
    proposal must be 13 -- before, 7, 9, 11, 13, 14 and 16 had no unit bin centre in their log
    bin, so they could never be proposed, and the model re-proposed a tried neighbour."""
    study = tk.create_study({"b": tk.Int(1, 16, log=True)}, sampler=SPECS[name])
    for b in range(1, 17):
        if b != 13:
            study.add_trial({"b": b}, abs(math.log(b) - math.log(13)))
    study.optimize(_dist, n_trials=1)
    assert study.trials[-1].params == {"b": 13}


TREE_LIKE = {
    "depth": tk.Int(1, 20),
    "split": tk.Int(2, 64, log=True),
    "leaf": tk.Int(1, 32, log=True),
    "feats": tk.Int(1, 30),
}


def _steps(trial: Any) -> float:
    """A step function of ints with a flat optimum region, as a tree's CV error is."""
    p = trial.params
    return (abs(p["depth"] - 4) // 2 + abs(math.log2(p["split"]) - 3.5) // 1
            + abs(math.log2(p["leaf"]) - 1) // 1 + abs(p["feats"] - 6) // 3)


def test_gp_on_a_tree_like_int_space_never_repeats_a_point() -> None:
    study = tk.create_study(TREE_LIKE, sampler=SPECS["gp"])
    study.optimize(_steps, n_trials=30)
    points = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(set(points)) == len(points)
