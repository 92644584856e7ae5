"""The time-to-target ratio of ``benchmarks/scale.py ratio`` (issue 15.3): how a seed that never
reaches the target counts, and that the time is the first trial at the target."""

from __future__ import annotations

import math

import numpy as np

from tansaku.samplers import make_sampler
from tansaku.testing import functions as F
from tansaku.testing.simulate import SimulatedStudy, lognormal
from tests.benchmarks._load import load_benchmark

scale = load_benchmark("scale", "scale_bench")


def test_first_reach_is_the_end_of_the_first_trial_at_the_target() -> None:
    f = F.get("branin")
    sim = SimulatedStudy(f.space(), scale._objective(f), n_workers=4, duration=lognormal(0.5),
                         seed=3)
    sim.attach(make_sampler({"name": "random", "seed": 0}))
    sim.run(40)
    target = sorted(t.value for t in sim.finished)[5]
    first = min(t.end_time for t in sim.finished if t.value <= target)
    assert scale._first_reach(sim, target) == first
    assert first < sim.now  # later trials ran; the stop time is not the answer
    assert scale._first_reach(sim, -1.0) == math.inf


def test_median_counts_an_unreached_seed_as_inf() -> None:
    assert scale._median_ratio(np.array([0.1, 0.2, math.inf])) == "0.200"
    assert scale._median_ratio(np.array([0.1, math.inf, math.inf])) == "inf"
    assert scale._median_ratio(np.array([0.1, 0.3, math.inf, math.inf])) == "inf"


def test_ratio_rows_and_parallel_only_options(capsys) -> None:
    scale.main(["ratio", "--samplers", "tpe", "--workers", "4", "--seeds", "2", "--seed-start",
                "5", "--sequential", "12", "--cap", "2", "--function", "branin", "--per-seed",
                "--parallel-options", '{"n_startup_trials": 4}'])
    out = capsys.readouterr().out
    assert "seeds 5-6" in out
    seeds = [line for line in out.splitlines() if "tpe W=4 seed" in line]
    assert [s.split("seed ")[1].split(":")[0] for s in seeds] == ["5", "6"]
    row = [line for line in out.splitlines() if line.startswith("| tpe | 4 |")]
    assert len(row) == 1 and row[0].count("/2") == 2
