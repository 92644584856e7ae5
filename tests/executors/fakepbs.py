"""A stand-in for PBS Pro's qsub / qstat / qdel, for testing the PBS executor where no PBS runs.

Called as ``fakepbs.py qsub|qstat|qdel ARGS`` (the test puts wrappers named qsub, qstat and qdel
first on PATH).  Jobs really run: ``qsub`` starts the job script with bash in a new session (after
``FAKEPBS_DELAY`` seconds, default 0.2, like a scheduler tick) and writes its log where ``#PBS -o``
says.  ``qstat -x -f [-F json]`` answers in the format of the recorded real outputs in
``data/pbs_qstat_x_f_json_*.json`` (the recorded job is copied, with this job's id, name, state
and exit status put in).  The messages and exit codes of failures are those of PBS Pro.

State lives in ``$FAKEPBS_DIR``.  ``FAKEPBS_QSUB_FAIL=N`` makes the first N qsub calls fail as if
the server were unreachable; ``FAKEPBS_HISTORY=0`` makes finished jobs unknown to qstat (job
history disabled).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / "data"
SERVER = "pbs01"


def _state() -> Path:
    d = Path(os.environ["FAKEPBS_DIR"])
    d.mkdir(parents=True, exist_ok=True)
    return d


def _count(name: str) -> int:
    p = _state() / name
    n = int(p.read_text()) + 1 if p.exists() else 1
    p.write_text(str(n))
    return n


def qsub(args: list[str]) -> int:
    script = Path(args[-1]).resolve()
    fail = int(os.environ.get("FAKEPBS_QSUB_FAIL", "0"))
    if fail and _count("qsub_calls") <= fail:
        print("Connection refused", file=sys.stderr)
        print(f"qsub: cannot connect to server {SERVER} (errno=111)", file=sys.stderr)
        return 111
    directives: dict[str, str] = {}
    for line in script.read_text().splitlines():
        if line.startswith("#PBS "):
            opt, _, value = line[5:].strip().partition(" ")
            directives[opt] = value.strip()
    if directives.get("-q") == "nosuch":
        print("qsub: Unknown queue", file=sys.stderr)
        return 170
    number = _count("next_id") + 4820
    job = f"{number}.{SERVER}"
    log = Path(directives.get("-o", f"{script.parent}/{directives.get('-N', 'job')}.o{number}"))
    d = _state()
    (d / f"{number}.json").write_text(
        json.dumps({"name": directives.get("-N", "job"), "log": str(log), "script": str(script)})
    )
    delay = os.environ.get("FAKEPBS_DELAY", "0.2")
    runner = (
        f"sleep {delay}; echo $$ > {d}/{number}.pid; bash {script} > {log} 2>&1; "
        f"echo $? > {d}/{number}.exit.tmp; mv {d}/{number}.exit.tmp {d}/{number}.exit"
    )
    env = dict(os.environ, PBS_JOBID=job, PBS_O_WORKDIR=str(script.parent))
    subprocess.Popen(
        ["bash", "-c", runner],
        start_new_session=True,
        cwd=script.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(job)
    return 0


def _status(number: str) -> tuple[str, int | None] | None:
    d = _state()
    if not (d / f"{number}.json").exists():
        return None
    exit_file = d / f"{number}.exit"
    if exit_file.exists():
        return "F", int(exit_file.read_text())
    if (d / f"{number}.pid").exists():
        return "R", None
    return "Q", None


def qstat(args: list[str]) -> int:
    as_json = args[:4] == ["-x", "-f", "-F", "json"]
    if not as_json and args[:2] != ["-x", "-f"]:
        print(f"fakepbs: unsupported qstat arguments {args}", file=sys.stderr)
        return 2
    jobs: dict[str, dict] = {}
    unknown = []
    history = os.environ.get("FAKEPBS_HISTORY", "1") == "1"
    for job in args[4 if as_json else 2 :]:
        number = job.split(".")[0]
        st = _status(number)
        if st is None or (st[0] == "F" and not history):
            unknown.append(job)
            continue
        state, code = st
        kind = {"F": "finished", "R": "running", "Q": "queued"}[state]
        recorded = json.loads((DATA / f"pbs_qstat_x_f_json_{kind}.json").read_text())
        entry = next(iter(recorded["Jobs"].values()))
        meta = json.loads((_state() / f"{number}.json").read_text())
        entry.update(
            Job_Name=meta["name"],
            job_state=state,
            Output_Path=f"login01:{meta['log']}",
            Error_Path=f"login01:{meta['log']}",
        )
        if code is not None:
            entry["Exit_status"] = code
        jobs[f"{number}.{SERVER}"] = entry
    for job in unknown:
        print(f"qstat: Unknown Job Id {job}", file=sys.stderr)
    if not as_json:  # the plain listing: "Job Id: N" blocks of "    key = value" lines
        for job, entry in jobs.items():
            print(f"Job Id: {job}")
            for key, value in entry.items():
                if not isinstance(value, dict):
                    print(f"    {key} = {value}")
            print()
        return 153 if unknown else 0
    out = {
        "timestamp": int(time.time()),
        "pbs_version": "2022.1.5.20240213134632",
        "pbs_server": SERVER,
    }
    if jobs:
        out["Jobs"] = jobs
    if jobs or not unknown:
        print(json.dumps(out, indent=4))
    return 153 if unknown else 0


def qdel(args: list[str]) -> int:
    rc = 0
    d = _state()
    for job in args:
        number = job.split(".")[0]
        st = _status(number)
        if st is None:
            print(f"qdel: Unknown Job Id {job}", file=sys.stderr)
            rc = 153
            continue
        if st[0] == "F":
            print(f"qdel: Job has finished {job}", file=sys.stderr)
            rc = 35
            continue
        for _ in range(50):  # a queued job gets its pid file within FAKEPBS_DELAY
            if (d / f"{number}.pid").exists():
                break
            time.sleep(0.02)
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            pgid = int((d / f"{number}.pid").read_text())
            os.killpg(pgid, signal.SIGTERM)
            time.sleep(0.2)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        (d / f"{number}.exit").write_text("271")  # PBS: 256 + the signal that ended the job
    return rc


if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    sys.exit({"qsub": qsub, "qstat": qstat, "qdel": qdel}[cmd](rest))
