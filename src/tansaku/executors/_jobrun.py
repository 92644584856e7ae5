"""Runs one Python-callable trial inside a batch job: ``python -m tansaku.executors._jobrun JOB``.

``JOB`` is the ``job.json`` the batch executor wrote next to the trial's markers; it names the
pickled objective and lists the coordinator's ``sys.path`` (added after this interpreter's own, so
a function pickled by reference imports as it did for the coordinator on a shared filesystem).  The trial talks back through files the coordinator reads: reports are printed
as ``tansaku:report step=N value=V`` lines on stdout (the coordinator tails ``stdout.txt``);
``trial.should_prune()`` is true once the coordinator has written the ``cancel`` marker (it also
stops the process, so an objective that never asks is stopped anyway); user attributes and the
outcome go to ``result.json`` when the objective returns.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from tansaku.objectives._base import Job
from tansaku.objectives._runner import Runner

__all__ = ["main"]


class FileChannel:
    """The job side of a trial channel: stdout lines out, a marker file in."""

    def __init__(self, markers: Path) -> None:
        self.markers = markers

    def report(self, trial_id: int, step: int, value: float) -> None:
        print(f"tansaku:report step={step} value={value!r}", flush=True)

    def should_prune(self, trial_id: int) -> bool:
        return (self.markers / "cancel").exists()

    def set_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        pass  # kept by the Trial and written to result.json at the end


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (json's fallback for params)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else repr(value)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tansaku.executors._jobrun JOB_JSON", file=sys.stderr)
        return 2
    spec_path = Path(args[0])
    spec = json.loads(spec_path.read_text())
    sys.path.extend(p for p in spec.get("sys_path", []) if p not in sys.path)
    with open(spec["objective"], "rb") as f:
        objective = pickle.load(f)  # cloudpickle output loads with plain pickle
    workdir = Path(spec["workdir"])
    job = Job(
        spec["trial_id"],
        spec["number"],
        spec["params"],
        study_name=spec.get("study_name", ""),
        workdir=workdir,
        seed=spec.get("seed"),
        extra_env=dict(spec.get("extra_env") or {}),
        known=spec.get("known"),
        learned=tuple(spec.get("learned") or ()),
        draw_seed=spec.get("draw_seed"),
    )
    if os.environ.get("TANSAKU_GPU_IDS"):  # the job script's slot gave this trial its devices
        job.extra_env["TANSAKU_GPU_IDS"] = os.environ["TANSAKU_GPU_IDS"]
    outcome = Runner(objective).run_python(job, FileChannel(spec_path.parent))
    value = outcome.value
    result = {
        "state": outcome.state.value,
        "value": value if value is None or math.isfinite(value) else None,
        "message": outcome.message,
        "stderr": outcome.stderr,
        "user_attrs": {k: _jsonable(v) for k, v in outcome.user_attrs.items()},
        "values": None if outcome.values is None else list(outcome.values),
        "constraints": dict(outcome.constraints),
        # define-by-run: the params the trial used and what it suggested (see Outcome)
        "params": outcome.params,
        "suggested": outcome.suggested,
    }
    tmp = spec_path.parent / ".result.json.tmp"
    tmp.write_text(json.dumps(result, default=_plain))
    os.replace(tmp, spec_path.parent / "result.json")
    if outcome.stderr:
        print(outcome.stderr, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
