"""The issue-4 benchmark harness drives samplers exactly as a study does.

An earlier version told each trial back without the proposal's meta, so ``cmaes`` saw every trial
as foreign, never finished a generation and sampled its initial Gaussian forever (it was reported
"worse than random").  These tests compare the harness with a real one-worker study, which is
reproducible for a fixed seed.
"""

from __future__ import annotations

import pytest

import tansaku as tk
from tansaku.testing import functions as F
from tests.benchmarks._load import load_benchmark


@pytest.fixture(scope="module")
def mb():  # type: ignore[no-untyped-def]
    return load_benchmark("model_based", "model_based_bench")


@pytest.mark.parametrize("name", ["cmaes", "tpe"])
def test_harness_matches_a_study(mb, name: str) -> None:  # type: ignore[no-untyped-def]
    f = F.branin
    ours = mb.run_tansaku(name, f, 3, 40)
    study = tk.create_study(f.space(), sampler={"name": name, "seed": 3}, seed=3)
    study.optimize(f.objective(), n_trials=40)
    assert ours == [t.value for t in study.trials]


def test_cmaes_leaves_its_first_generation(mb) -> None:  # type: ignore[no-untyped-def]
    f = F.hartmann3
    regrets = sorted(f.regret(min(mb.run_tansaku("cmaes", f, s, 100))) for s in range(5, 10))
    # drawing from the initial Gaussian only (the old harness), the median is 0.24 here
    assert regrets[2] < 0.15
