"""Helpers to drive trials through ask/tell with intermediate reports."""

from __future__ import annotations

from collections.abc import Mapping

import tansaku as tk


def space() -> dict[str, tk.Float]:
    return {"x": tk.Float(0.0, 1.0)}


def new_study(pruner: object, *, direction: str = "minimize") -> tk.Study:
    return tk.create_study(space(), pruner=pruner, direction=direction, seed=0)  # type: ignore[arg-type]


def run_curve(study: tk.Study, curve: Mapping[int, float]) -> int | None:
    """Report ``curve`` step by step; returns the step it was pruned at (None: completed)."""
    t = study.ask()
    for step in sorted(curve):
        t.report(curve[step], step)
        if t.should_prune():
            study.tell(t, state="pruned")
            return step
    study.tell(t, curve[max(curve)])
    return None
