"""Studies for the report tests: every parameter kind, failed and pruned trials, hostile text."""

from __future__ import annotations

import math

import tansaku as tk
from tansaku._records import FrozenTrial, TrialState
from tansaku.report import TrialTable

XSS = "<script>alert(1)</script>"
XSS_MESSAGE = "boom <img src=x onerror=alert(2)> & done"

SPACE = {
    "lr": tk.Float(1e-5, 1e-1, log=True),
    "momentum": tk.Float(0.0, 0.99),
    "layers": tk.Int(1, 8),
    "hidden": tk.Int(8, 512, log=True),
    "act": tk.Categorical(["relu", "tanh", XSS]),
}


def objective_value(p: dict) -> float:
    return (
        (math.log10(p["lr"]) + 3.0) ** 2
        + 0.5 * p["momentum"]
        + 0.05 * p["layers"]
        + {"relu": 0.8, "tanh": 0.4, XSS: 0.0}[p["act"]]  # the hostile value wins: it is shown
    )


def mixed_study(
    n: int = 60, *, storage: str | None = None, name: str = "mixed", direction: str = "minimize"
) -> tk.Study:
    """``n`` trials by the random sampler: every 9th fails (with an HTML-ish message), every 7th
    is pruned after one report; the rest complete."""
    study = tk.create_study(
        SPACE, sampler="random", seed=0, storage=storage, name=name, direction=direction
    )
    for i in range(n):
        trial = study.ask()
        y = objective_value(dict(trial.params))
        if i % 9 == 4:
            study.tell(trial, state="failed", message=f"{XSS_MESSAGE} #{i}")
        elif i % 7 == 3:
            trial.report(y + 1.0, 0)
            study.tell(trial, state="pruned")
        else:
            study.tell(trial, y)
    return study


def empty_study(*, storage: str | None = None, name: str = "empty") -> tk.Study:
    return tk.create_study(SPACE, sampler="random", seed=0, storage=storage, name=name)


def synthetic_table(
    rows: list[tuple[int, str, float | None, float, float | None, str | None]],
    *,
    space: dict | None = None,
    direction: str = "minimize",
    now: float = 1000.0,
) -> TrialTable:
    """A table from ``(number, state, value, start, end, worker)`` rows with fixed times, for
    exact checks of the timeline and history; params are all ``x=0.5``."""
    sp = tk.Space(space or {"x": tk.Float(0.0, 1.0)})
    trials = [
        FrozenTrial(
            number=n,
            state=TrialState(state),
            params={"x": 0.5},
            value=value,
            start_time=start,
            end_time=end,
            worker=worker,
        )
        for n, state, value, start, end, worker in rows
    ]
    return TrialTable.from_trials(trials, study="synthetic", direction=direction, space=sp, now=now)
