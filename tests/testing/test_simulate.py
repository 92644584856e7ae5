"""SimulatedStudy: charging a proposal's CPU time to the simulated clock shows idle workers."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import pytest

import tansaku as tk
from tansaku._records import FrozenTrial
from tansaku.samplers._base import Sampler
from tansaku.testing.simulate import SimulatedStudy

SPACE = {"x": tk.Float(0.0, 1.0)}


class SlowSampler(Sampler):
    """Spins ``cpu`` seconds of CPU per ask (sleeping would cost no CPU time)."""

    name = "slow"

    def __init__(self, cpu: float) -> None:
        super().__init__(seed=0)
        self.cpu = cpu

    def ask(self, pending: Sequence[FrozenTrial]) -> dict[str, Any]:
        t0 = time.thread_time()
        while time.thread_time() - t0 < self.cpu:
            pass
        return {"x": float(self.rng.random())}


def _run(cpu: float, *, charge: bool, workers: int = 2) -> SimulatedStudy:
    sim = SimulatedStudy(SPACE, lambda p: p["x"], n_workers=workers,
                         duration=lambda rng: 0.05, charge_proposals=charge)
    sim.attach(SlowSampler(cpu))
    return sim.run(8)


def test_charged_proposals_leave_workers_idle() -> None:
    # each 0.05 s trial waits for a 0.05 s proposal, one at a time: about half the time idle
    sim = _run(0.05, charge=True)
    assert sim.utilisation < 0.7
    assert all(c >= 0.05 for c in sim.ask_seconds)
    starts = sorted(t.start_time or 0.0 for t in sim.trials)
    assert starts[0] >= 0.05  # the first trial could not start before its proposal existed
    assert all(b - a >= 0.05 - 1e-9 for a, b in itertools.pairwise(starts))  # one thread asks


def test_uncharged_proposals_are_free() -> None:
    sim = _run(0.01, charge=False)
    assert sim.utilisation == pytest.approx(1.0)
    assert min(t.start_time or 0.0 for t in sim.trials) == 0.0


def test_cheap_proposals_keep_workers_busy_when_charged() -> None:
    sim = _run(0.0, charge=True, workers=4)
    assert sim.utilisation > 0.95
