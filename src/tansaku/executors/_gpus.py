"""GPU slots: each concurrent trial gets its own device set, never shared with a running trial.

``gpus: [0, 1, 2, 3]`` (or ``gpus: auto``) and ``gpus_per_trial: k`` split the devices into
``len(gpus) // k`` slots.  A trial that starts takes a free slot; its program (or the worker
process of a Python objective) sees it in ``CUDA_VISIBLE_DEVICES`` and ``TANSAKU_GPU_IDS``
(comma-separated, as listed) and ``trial.gpu_ids``; the slot is free again when the executor
returns the trial's outcome -- complete, failed, pruned, timed out or killed, since every executor
returns each job exactly once (``executors/_base.py``).  A coordinator that dies takes its pool
with it; the resumed run starts with every slot free, after ``recover()`` has killed what the dead
run left behind (``_reaper.kill_leftovers``), so a device is never in two running trials.

Device ids are plain strings (an index, or a ``GPU-<uuid>``/MIG name): nothing here needs a GPU.
``auto`` reads ``CUDA_VISIBLE_DEVICES`` when it is set (a Slurm/PBS allocation sets it), else the
devices ``nvidia-smi -L`` lists; with none found the run goes on without GPU slots and says so.

Who hands slots out: the coordinator (:class:`GpuSlots`, for the local executor and
``tansaku worker``), or, for a batch job holding several trials (``trials_per_job``), the job
script itself: slot ``TANSAKU_JOB_SLOT`` takes devices ``[slot*k, slot*k + k)`` of the job's
list (:func:`job_slot_lines`).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tansaku._errors import ConfigError

__all__ = [
    "GPU_VARS",
    "GpuPlan",
    "GpuSlots",
    "detect_gpus",
    "gpu_env",
    "job_slot_env",
    "job_slot_lines",
    "plan_gpus",
]

#: the variables a trial's device set is written to
GPU_VARS = ("CUDA_VISIBLE_DEVICES", "TANSAKU_GPU_IDS")

_DEVICE = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")


def detect_gpus() -> tuple[str, ...]:
    """The devices ``gpus: auto`` means: ``CUDA_VISIBLE_DEVICES`` when set (empty or ``-1``: none),
    else one index per ``GPU n:`` line of ``nvidia-smi -L``; ``()`` when neither finds any."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = tuple(d.strip() for d in visible.split(",") if d.strip())
        return () if ids in ((), ("-1",)) else ids
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return ()
    try:
        out = subprocess.run(
            [exe, "-L"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(m.group(1) for m in re.finditer(r"^GPU (\d+):", out, re.MULTILINE))


def gpu_env(devices: Sequence[str]) -> dict[str, str]:
    """What a trial with ``devices`` gets in its environment."""
    text = ",".join(devices)
    return dict.fromkeys(GPU_VARS, text)


@dataclass(frozen=True)
class GpuPlan:
    """Checked GPU options: ``gpus`` empty means no slots (none given, or ``auto`` found none)."""

    gpus: tuple[str, ...]
    per_trial: int
    n_workers: int
    #: ``gpus`` was ``auto``: a batch job resolves it from its own CUDA_VISIBLE_DEVICES
    auto: bool = False
    note: str | None = None  # to show the user (auto found nothing)

    @property
    def slots(self) -> int:
        return len(self.gpus) // self.per_trial if self.gpus else 0


def _device_list(gpus: Any) -> tuple[str, ...]:
    if isinstance(gpus, str):
        items: list[Any] = [d for d in gpus.split(",") if d.strip()]
    elif isinstance(gpus, (list, tuple)):
        items = list(gpus)
    else:
        raise ConfigError(
            f"must be a list of device ids or auto, got {type(gpus).__name__}", field="gpus"
        )
    out: list[str] = []
    for d in items:
        if isinstance(d, bool) or not isinstance(d, (int, str)):
            raise ConfigError(f"device ids are integers or names, got {d!r:.40}", field="gpus")
        text = str(d).strip()
        if not _DEVICE.fullmatch(text):
            raise ConfigError(f"not a device id: {text!r:.40}", field="gpus")
        if text in out:
            raise ConfigError(f"device {text} is listed twice", field="gpus")
        out.append(text)
    if not out:
        raise ConfigError("lists no device (leave gpus out to run without)", field="gpus")
    return tuple(out)


def plan_gpus(
    gpus: Any, gpus_per_trial: Any, n_workers: int | None, *, per_job: int | None = None
) -> GpuPlan:
    """Check the options and size the run: ``n_workers`` (None: not given) defaults to
    ``len(gpus) // gpus_per_trial``, and more trials at once than slots is a ConfigError.
    ``per_job``: the trials a batch job holds -- the job's slots bound those instead, and
    ``n_workers`` keeps its own meaning (trials in the queue)."""
    if gpus is None:
        if gpus_per_trial is not None:
            raise ConfigError("needs gpus (a list of device ids, or auto)", field="gpus_per_trial")
        return GpuPlan((), 1, n_workers or 1)
    if gpus_per_trial is None:
        per = 1
    elif (
        isinstance(gpus_per_trial, bool)
        or not isinstance(gpus_per_trial, int)
        or gpus_per_trial < 1
    ):
        raise ConfigError(
            f"must be a positive integer, got {gpus_per_trial!r:.40}", field="gpus_per_trial"
        )
    else:
        per = gpus_per_trial
    auto = isinstance(gpus, str) and gpus.strip().lower() == "auto"
    if auto and per_job is not None:  # resolved by each job on its node
        return GpuPlan((), per, n_workers or 1, auto=True)
    devices = detect_gpus() if auto else _device_list(gpus)
    if not devices:
        note = (
            "gpus: auto found no GPU (CUDA_VISIBLE_DEVICES is not set and nvidia-smi lists none): "
            "trials run without GPU slots"
        )
        return GpuPlan((), per, n_workers or 1, note=note)
    if per > len(devices):
        raise ConfigError(
            f"is {per} but gpus has only {len(devices)} device(s)", field="gpus_per_trial"
        )
    slots = len(devices) // per
    if per_job is not None:
        if per_job > slots:
            raise ConfigError(
                f"is {per_job}, but {len(devices)} GPU(s) at {per} per trial give a job only "
                f"{slots} slot(s)",
                field="trials_per_job",
            )
        return GpuPlan(devices, per, n_workers or 1)
    if n_workers is None:
        n_workers = slots
    elif n_workers > slots:
        raise ConfigError(
            f"is {n_workers}, but {len(devices)} GPU(s) at {per} per trial run at most {slots} "
            "trial(s) at once",
            field="n_workers",
        )
    return GpuPlan(devices, per, n_workers)


class GpuSlots:
    """The coordinator's pool: :meth:`take` a free slot for a trial, :meth:`give_back` it when
    the trial's outcome arrives.  Only the coordinator thread calls it."""

    def __init__(self, gpus: Sequence[str], per_trial: int) -> None:
        self.per_trial = per_trial
        self._free: list[tuple[str, ...]] = [
            tuple(gpus[i : i + per_trial]) for i in range(0, len(gpus) - per_trial + 1, per_trial)
        ]
        self._held: dict[int, tuple[str, ...]] = {}

    @property
    def held(self) -> Mapping[int, tuple[str, ...]]:
        return dict(self._held)

    def take(self, trial_id: int) -> dict[str, str]:
        """The environment for ``trial_id``'s devices (the same set if it already holds one)."""
        if trial_id not in self._held:
            if not self._free:
                raise RuntimeError(f"no free GPU slot for trial {trial_id}: more trials than slots")
            self._held[trial_id] = self._free.pop(0)
        return gpu_env(self._held[trial_id])

    def give_back(self, trial_id: int) -> None:
        """Free ``trial_id``'s slot (nothing if it holds none)."""
        devices = self._held.pop(trial_id, None)
        if devices is not None:
            self._free.append(devices)


def job_slot_lines(plan: GpuPlan, n_trials: int) -> list[str]:
    """Bash lines for a job script holding ``n_trials`` trials: set ``_tk_gpu_<slot>`` to each
    slot's comma-separated devices, from the explicit list, or (``auto``) from the job's own
    ``CUDA_VISIBLE_DEVICES``; a job with too few devices says so in its log and gives the trials
    without one an empty set (no GPU) rather than a shared one."""
    k = plan.per_trial
    if plan.auto:
        lines = [
            'IFS=, read -r -a _tk_gpus <<< "${CUDA_VISIBLE_DEVICES:-}"',
            f'if [ "${{#_tk_gpus[@]}}" -lt {n_trials * k} ]; then echo "tansaku: this job has '
            f"${{#_tk_gpus[@]}} GPU(s) in CUDA_VISIBLE_DEVICES, its {n_trials} trial(s) need "
            f'{k} each: those without get none" >&2; fi',
        ]
        for s in range(n_trials):
            lines.append(
                f'if [ "${{#_tk_gpus[@]}}" -ge {(s + 1) * k} ]; then '
                f'_tk_gpu_{s}=$(IFS=,; echo "${{_tk_gpus[*]:{s * k}:{k}}}"); else _tk_gpu_{s}=; fi'
            )
        return lines
    return [
        f"_tk_gpu_{s}={shlex.quote(','.join(plan.gpus[s * k : s * k + k]))}"
        for s in range(n_trials)
    ]


def job_slot_env(slot: int) -> str:
    """The words that put slot ``slot``'s devices in a runner's environment (after
    :func:`job_slot_lines`)."""
    return " ".join(f'{v}="$_tk_gpu_{slot}"' for v in GPU_VARS)
