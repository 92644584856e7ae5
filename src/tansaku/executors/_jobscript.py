"""Writing batch job scripts: one small runner script per trial, one job script per batch job.

Every trial of a batch job gets ``<trial workdir>/.tansaku/run.sh``, which

* writes ``started`` (``<epoch seconds> <host> <token>``) when the trial really starts;
* runs the trial program — the rendered command argv, or the Python runner for callables — from
  its working directory with its ``TANSAKU_*`` variables, stdout to ``stdout.txt`` and stderr to
  ``stderr.txt`` in the trial directory, in its own process group (``set -m``);
* stops that process group (SIGTERM, then SIGKILL after a grace) when a ``cancel`` file appears,
  which is how one trial of a multi-trial job is pruned or timed out without cancelling the job;
* writes ``exit`` (``<exit code> <epoch seconds> <token>``) atomically when the program is over.

``token`` names the submission, so markers a stale job of an earlier attempt at the same trial
writes late are told apart from this one's.

The job script holds the scheduler directives, the user's ``setup`` lines (``module load ...``,
``source venv/bin/activate``), and starts the trials' runners (in parallel when the job holds
several trials, each with ``TANSAKU_JOB_SLOT`` = 0, 1, ... so that, e.g., each can take its own
GPU) and waits for them.

Nothing from a parameter value, a path or an option ever reaches the shell unquoted: every word is
passed through :func:`shlex.quote`.  Only ``setup`` lines and ``directives`` are written verbatim —
they are shell code and scheduler options by definition, and come from the user's own config.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tansaku.executors._gpus import GpuPlan, job_slot_env, job_slot_lines

__all__ = ["MARKERS", "TrialScript", "job_script", "safe_job_name", "trial_script"]

#: name of the directory, inside each trial workdir, that holds the runner and its marker files
MARKERS = ".tansaku"


@dataclass(frozen=True)
class TrialScript:
    """What one trial of a job runs."""

    workdir: Path  # the trial's directory: stdout.txt, stderr.txt and .tansaku/ live here
    cwd: Path  # where the program runs
    argv: Sequence[str]
    env: Mapping[str, str]
    kill_grace: float = 1.0
    token: str = "-"


def safe_job_name(text: str, limit: int = 64) -> str:
    """A job name every scheduler accepts: starts with a letter, only ``[A-Za-z0-9_.-]``."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", text)
    if not name or not name[0].isalpha():
        name = "t" + name
    return name[:limit]


def trial_script(t: TrialScript) -> str:
    """The body of ``<workdir>/.tansaku/run.sh`` for one trial."""
    q = shlex.quote
    m = t.workdir / MARKERS
    grace = f"{max(0.0, float(t.kill_grace)):g}"
    exports = "".join(f"  export {k}={q(v)}\n" for k, v in sorted(t.env.items()) if _is_name(k))
    argv = " ".join(q(a) for a in t.argv)
    token = q(t.token)
    return f"""#!/bin/bash
# One trial, written by tansaku.  Markers in {m}: started, exit, cancel.
set -m  # the program gets its own process group, so a cancel stops everything it started
M={q(str(m))}
echo "$(date +%s.%N) $(hostname) {token}" > "$M/started"
(
  cd {q(str(t.cwd))} || exit 127
{exports}  exec {argv}
) > {q(str(t.workdir / "stdout.txt"))} 2> {q(str(t.workdir / "stderr.txt"))} < /dev/null &
pid=$!
(
  while kill -0 "$pid" 2>/dev/null; do
    if [ -e "$M/cancel" ]; then
      kill -TERM -- -"$pid" 2>/dev/null; sleep {grace}; kill -KILL -- -"$pid" 2>/dev/null
      exit 0
    fi
    sleep 1
  done
) > /dev/null 2>&1 &
watcher=$!
disown "$watcher"  # no "Terminated" notice in the job log when it is stopped below
wait "$pid"
rc=$?
kill -- -"$watcher" 2>/dev/null
echo "$rc $(date +%s.%N) {token}" > "$M/exit.tmp" && mv -f "$M/exit.tmp" "$M/exit"
exit "$rc"
"""


def _is_name(key: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) is not None


def job_script(
    *,
    directives: Sequence[str],
    setup: Sequence[str],
    runners: Sequence[Path],
    comment: str = "",
    gpus: GpuPlan | None = None,
) -> str:
    """A batch job script: ``#!/bin/bash``, the directive lines, setup lines, then the runners;
    with ``gpus`` each runner gets its slot's devices (:func:`._gpus.job_slot_lines`)."""
    q = shlex.quote
    lines = ["#!/bin/bash", *directives]
    if comment:
        lines.append(f"# {' '.join(comment.split())}")
    if setup:
        lines.append(
            "set -e  # a failing setup line fails the job, with its message in the job log"
        )
        lines.extend(setup)
        lines.append("set +e")
    # TANSAKU_JOB_SLOT: which of the job's trials this is (0..k-1), e.g. to pick a GPU
    slot_env = [""] * len(runners)
    if gpus is not None and (gpus.gpus or gpus.auto):
        lines.append("# each trial of this job gets GPUs of its own")
        lines.extend(job_slot_lines(gpus, len(runners)))
        slot_env = [job_slot_env(i) + " " for i in range(len(runners))]
    if len(runners) == 1:
        lines.append(f"TANSAKU_JOB_SLOT=0 {slot_env[0]}bash {q(str(runners[0]))}")
    else:
        lines.extend(
            f"TANSAKU_JOB_SLOT={i} {slot_env[i]}bash {q(str(r))} &" for i, r in enumerate(runners)
        )
        lines.append("wait")
    return "\n".join(lines) + "\n"
