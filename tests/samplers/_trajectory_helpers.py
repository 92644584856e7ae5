"""Shared helpers for the trajectory samplers' tests (nelder-mead, coordinate, one-axis)."""

from __future__ import annotations

import math

import numpy as np

import tansaku as tk
from tansaku.testing.simulate import SimulatedStudy, lognormal

MIXED = {
    "x": tk.Float(-2.0, 2.0),
    "lr": tk.Float(1e-4, 1e-1, log=True),
    "n": tk.Int(1, 12),
    "units": tk.Int(8, 512, log=True),
    "drop": tk.Float(0.0, 0.5, step=0.1),
    "act": tk.Categorical(["relu", "tanh", "gelu"]),
}


def mixed_objective(p) -> float:
    return (
        (p["x"] - 0.7) ** 2
        + (math.log10(p["lr"]) + 2.5) ** 2
        + 0.05 * (p["n"] - 5) ** 2
        + 0.1 * abs(math.log2(p["units"]) - 6)
        + p["drop"]
        + (0.0 if p["act"] == "tanh" else 0.7)
    )


def params_of(study: SimulatedStudy) -> list[dict]:
    return [dict(t.params) for t in study.trials]


def run_whole_and_resumed(make_sampler, *, n_total, crash_after, n_workers, sigma=0.5, seed=7):
    """An uninterrupted simulated run and one whose sampler is replaced after ``crash_after``
    finished trials (trials in flight keep running): return both lists of params by number."""
    whole = SimulatedStudy(MIXED, mixed_objective, n_workers=n_workers, duration=lognormal(sigma),
                           seed=seed)
    whole.attach(make_sampler())
    whole.run(n_total)
    part = SimulatedStudy(MIXED, mixed_objective, n_workers=n_workers, duration=lognormal(sigma),
                          seed=seed)
    part.attach(make_sampler())
    part.run(n_total, max_finished=crash_after)
    if n_workers > 1:
        assert part.pending  # trials in flight at the "crash" must be awaited, not re-proposed
    part.attach(make_sampler())  # a fresh sampler: bound, told every finished trial, in order
    part.run(n_total)
    return params_of(whole), params_of(part)


def decodes_consistently(study: SimulatedStudy) -> None:
    space = study.space
    for t in study.trials:
        assert space.validate_params(t.params) == dict(t.params)
        assert isinstance(t.params["n"], int) and isinstance(t.params["units"], int)
        assert t.params["act"] in ("relu", "tanh", "gelu")
        u = t.sampler_meta.get("u")
        if u is not None:  # the stored unit point decodes to the params
            assert space.from_unit(np.array(u)) == dict(t.params)
