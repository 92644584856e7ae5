"""Noisy objectives: several evaluations of one point, each with its own seed.

Storage representation (one trial per point)
--------------------------------------------
With ``repeats: r`` a trial is a *point*: the study runs its objective r times, one after the
other in the trial's executor slot, with seeds ``trial_seed(study_seed, number, k)`` for
``k = 0 .. r-1`` (``{seed}`` / ``TANSAKU_SEED`` / ``trial.seed``).  Each evaluation is written to
the trial's ``system_attrs["evaluations"]`` as ``{"seed", "value", "duration", "kind"}`` as soon
as it ends, and the trial's value is the **mean**.  So the sampler sees exactly one value per
point, through the unchanged sampler contract, and every report, export and ``best`` works on
points.  Alternatives were r trials grouped by a point id (repeats could then run in parallel,
but every sampler, budget count and report would have to learn to group them) — not worth it.

* Pruning acts on the first evaluation: only its intermediate reports are stored and shown to the
  pruner.  If it is pruned the point is PRUNED; later evaluations are confirmations and run to the
  end.  A failed evaluation fails the point (with what was measured so far kept).
* A trial interrupted between evaluations is re-queued with the finished ones kept, and resumes at
  the next evaluation.
* ``tansaku reevaluate`` appends evaluations of ``kind: "reevaluation"`` (new seeds) to the best
  trials; :func:`point_stats` summarises whatever a trial has.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tansaku._records import FrozenTrial, TrialState

__all__ = ["PointStats", "evaluation_records", "point_stats", "trial_seed"]


def trial_seed(base: int | None, number: int, k: int = 0) -> int:
    """The seed of evaluation ``k`` of trial ``number``: deterministic, distinct in practice, in
    ``[0, 2**31)`` so any program can take it."""
    entropy = [int(base or 0) % 2**63, int(number) % 2**63, int(k)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)


def evaluation_records(trial: FrozenTrial) -> list[dict[str, Any]]:
    """Every evaluation of a trial's point: the stored list, or its single value."""
    stored = trial.system_attrs.get("evaluations")
    if isinstance(stored, Sequence) and stored:
        return [dict(e) for e in stored if isinstance(e, Mapping)]
    if trial.state is TrialState.COMPLETE and trial.value is not None:
        return [
            {
                "seed": trial.system_attrs.get("seed"),
                "value": float(trial.value),
                "duration": trial.duration,
                "kind": "single",
            }
        ]
    return []


@dataclass(frozen=True)
class PointStats:
    """Mean, sample standard deviation and standard error of a point's evaluations."""

    n: int
    mean: float
    std: float | None
    sem: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> PointStats:
        x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
        if x.size == 0:
            return cls(0, math.nan, None, None)
        if x.size == 1:
            return cls(1, float(x[0]), None, None)
        std = float(np.std(x, ddof=1))
        return cls(int(x.size), float(x.mean()), std, std / math.sqrt(x.size))


def point_stats(trial: FrozenTrial) -> PointStats:
    return PointStats.of(
        [float(e["value"]) for e in evaluation_records(trial) if e.get("value") is not None]
    )
