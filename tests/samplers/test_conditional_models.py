"""gp/dngo in a conditional space: a candidate is scored where its trial will be told."""

from __future__ import annotations

import numpy as np
import pytest

import tansaku as tk
from tansaku._records import FrozenTrial, TrialState
from tansaku.samplers import make_sampler

SPACE = tk.Space(
    {
        "kind": tk.Categorical(["a", "b"]),
        "a0": tk.Float(-1, 1, when={"kind": "a"}),
        "a1": tk.Float(-1, 1, when={"kind": "a"}),
        "b0": tk.Float(-1, 1, when={"kind": "b"}),
        "b1": tk.Float(-1, 1, when={"kind": "b"}),
    }
)


def _trial(number: int, params: dict, value: float) -> FrozenTrial:
    return FrozenTrial(number=number, state=TrialState.COMPLETE, params=params, value=value)


@pytest.mark.slow  # one GP fit and ask: ~2 s alone, ~15 s on the loaded shared machine
def test_gp_proposes_canonical_points_with_inactive_coordinates_at_their_constant():
    sampler = make_sampler({"name": "gp", "seed": 0, "n_startup_trials": 4, "n_candidates": 64})
    sampler.bind(SPACE)
    rng = np.random.default_rng(0)
    for i in range(6):
        kind = "a" if i % 2 else "b"
        p = {"kind": kind, **{f"{kind}{j}": float(rng.uniform(-1, 1)) for j in range(2)}}
        sampler.tell(_trial(i, p, sum(v * v for k, v in p.items() if k != "kind")))
    x = np.asarray(sampler.core.ask(None))
    active = SPACE.from_unit(x)
    inactive = [i for i, n in enumerate(SPACE) if n not in active]
    assert inactive and np.all(x[inactive] == 0.5), (x, active)
