"""No orphans: trial processes end with the process that runs them, even after ``kill -9``.

Each external command runs in its own process group (so a timeout or a prune stops everything it
started), which also means nothing stops it when the coordinator dies without a chance to clean
up.  Two mechanisms close that gap:

1. **The reaper** (:func:`register` / :func:`unregister`): a tiny helper process, started lazily
   once per process, holding the read end of a pipe.  The process running trials tells it each
   trial's process group when it starts (``+PGID GRACE``) and when it is over (``-PGID``, sent
   before the group's leader is reaped, so a registered group id is never one that could have
   been reused).  Only that process holds the write end (non-inheritable, closed in forked
   children), so when it dies -- however it dies -- the reaper reads EOF, sends SIGTERM to every
   group still registered and, after the grace period, SIGKILL to the processes still in those
   groups that carry a trial's environment (``TANSAKU_STUDY``; checked because by then a group id
   could have been reused), and exits.  The reaper runs in its own
   session: Ctrl-C on the terminal, a hang-up, or ``kill -- -PGID`` of the coordinator's group
   do not touch it.  If the reaper itself is killed, the next registration starts a new one and
   hands it every group still registered.

2. **Leftovers on resume** (:func:`kill_leftovers`), for when the reaper could not act (killed
   together with the coordinator, or a trial process that left its group): the processes whose
   environment says they belong to the study (``TANSAKU_STUDY``), to a coordinator known to be
   dead (``TANSAKU_WORKER``, a ``host:pid:token`` id never reused) *and* were started by that
   coordinator itself (``TANSAKU_COORDINATOR_PID``, its pid) are killed with their groups.  The
   last condition leaves batch jobs alone (they carry ``TANSAKU_WORKER`` too, but are the batch
   executor's to cancel through the scheduler).  Found by reading ``/proc/PID/environ`` (Linux;
   a no-op elsewhere).

A process that both leaves its process group (``setsid``) and clears its environment escapes
both; nothing short of a cgroup catches that.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Collection

__all__ = [
    "ensure_started",
    "find_trial_processes",
    "kill_leftovers",
    "reaper_pid",
    "register",
    "unregister",
]

#: the reaper's program: run by ``python -I -S -c``, so it imports nothing but builtin modules
_REAPER_SRC = r"""
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
fd = int(sys.argv[1])
owner = sys.argv[3].encode() if len(sys.argv) > 3 else b""
groups = {}
buf = b""
while True:
    try:
        data = os.read(fd, 65536)
    except InterruptedError:
        continue
    except OSError:
        data = b""
    if not data:
        break
    buf += data
    *lines, buf = buf.split(b"\n")
    for line in lines:
        try:
            op, _, rest = line.partition(b" ")
            pgid = int(op[1:])
            if op[:1] == b"+":
                groups[pgid] = min(max(float(rest or 0), 0.0), 30.0)
            elif op[:1] == b"-":
                groups.pop(pgid, None)
        except ValueError:
            pass
def scan():
    # (pid, process group, environment) of every process we may read; empty without /proc
    procs = []
    for name in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not name.isdigit():
            continue
        try:
            with open("/proc/" + name + "/stat", "rb") as f:
                pgrp = int(f.read().rsplit(b")", 1)[1].split()[2])
            with open("/proc/" + name + "/environ", "rb") as f:
                procs.append((int(name), pgrp, f.read()))
        except (OSError, ValueError, IndexError):
            pass
    return procs
def strays(procs):
    # groups of processes the owner started whose registration it did not live to send (killed
    # between starting a program and writing its group here): they carry its pid in their env
    key = b"TANSAKU_COORDINATOR_PID=" + owner + b"\0"
    me = os.getpgrp()
    return {g for _, g, env in procs
            if owner and (env.startswith(key) or b"\0" + key in env) and g > 1 and g != me}
for g in strays(scan() if owner else []):
    groups.setdefault(g, max(groups.values(), default=1.0))
def send(pgid, sig):
    try:
        os.killpg(pgid, sig)
        return True
    except OSError:
        return False
alive = [g for g in groups if g > 1 and send(g, signal.SIGTERM)]
deadline = time.monotonic() + max([groups[g] for g in alive] or [0.0])
while alive and time.monotonic() < deadline:
    time.sleep(0.02)
    alive = [g for g in alive if send(g, 0)]
# SIGKILL what is left, one verified process at a time: after the grace period a group id whose
# leader has exited could have been reused, so only members that carry a trial's environment die;
# strays again: a program the owner was starting may have exec'd since the first look
procs = scan() if alive or owner else []
left = set(alive) | strays(procs)
for pid, g, env in procs:
    if g in left and b"TANSAKU_STUDY=" in env:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
if left and not os.path.isdir("/proc"):
    for g in left:
        send(g, signal.SIGKILL)
"""

_lock = threading.Lock()
_state: dict[str, object] = {}  # "proc": the reaper's Popen, "fd": write end
_groups: dict[int, float] = {}  # what this process has registered: pgid -> grace
_abandoned: list[object] = []  # Popen objects of a parent process, kept so no __del__ runs


def _start() -> bool:
    """Start a reaper and hand it every registered group; False if it cannot be started."""
    if not sys.executable:
        return False
    r, w = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _REAPER_SRC, str(r), "tansaku-reaper",
             str(os.getpid())],
            pass_fds=(r,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        os.close(w)
        return False
    finally:
        os.close(r)
    _state["proc"], _state["fd"] = proc, w
    return _write("".join(f"+{g} {grace:g}\n" for g, grace in _groups.items()))


def _write(text: str) -> bool:
    fd = _state.get("fd")
    if not isinstance(fd, int):
        return False
    data = text.encode()
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:  # the reaper is gone (EPIPE): forget it; the next call starts another
        _drop()
        return False
    return True


def _drop() -> None:
    fd = _state.pop("fd", None)
    if isinstance(fd, int):
        with contextlib.suppress(OSError):
            os.close(fd)
    proc = _state.pop("proc", None)
    if isinstance(proc, subprocess.Popen):
        proc.poll()  # reap it if it has exited


def ensure_started() -> None:
    """Start the reaper now (before the first trial), so that the first registration is a write
    to a pipe -- microseconds -- rather than a process start: a coordinator killed in between
    would leave that trial behind (the resume scan would still find it)."""
    with _lock:
        if "fd" not in _state:
            _start()


def register(pgid: int, grace: float = 1.0) -> None:
    """Have process group ``pgid`` killed if this process dies before :func:`unregister`."""
    with _lock:
        _groups[pgid] = grace
        if "fd" in _state and _write(f"+{pgid} {grace:g}\n"):
            return
        _start()  # first use, or the reaper died: a new one gets every group


def unregister(pgid: int) -> None:
    """The group ``pgid`` is over (its leader reaped and the group killed)."""
    with _lock:
        if _groups.pop(pgid, None) is not None and "fd" in _state:
            _write(f"-{pgid}\n")


def reaper_pid() -> int | None:
    """The reaper's pid, if one is running for this process (for tests and diagnostics)."""
    proc = _state.get("proc")
    return proc.pid if isinstance(proc, subprocess.Popen) and proc.poll() is None else None


def _after_fork_in_child() -> None:
    """A forked child neither holds the parent's write end (the reaper would not see EOF when the
    parent dies) nor kills the parent's groups; it starts its own reaper if it runs trials."""
    global _lock
    _lock = threading.Lock()
    fd = _state.pop("fd", None)
    if isinstance(fd, int):
        with contextlib.suppress(OSError):
            os.close(fd)
    if "proc" in _state:
        _abandoned.append(_state.pop("proc"))
    _groups.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ------------------------------------------------------------------------------ leftovers
def _environ(pid: int) -> dict[bytes, bytes] | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            raw = f.read()
    except OSError:  # gone, or not ours to read
        return None
    env = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key] = value
    return env


def find_trial_processes(study: str, workers: Collection[str] | None = None) -> list[int]:
    """Pids whose environment has ``TANSAKU_STUDY=study`` (and, when ``workers`` are given, a
    ``TANSAKU_WORKER`` among them whose pid is the ``TANSAKU_COORDINATOR_PID`` that started the
    process), this process excluded.  Empty where there is no /proc."""
    if not os.path.isdir("/proc"):
        return []
    want_study = os.fsencode(study)
    want_workers = None
    if workers is not None:  # worker id -> the pid in it (ids that are not ours name none)
        from tansaku.study._liveness import parse_worker  # not at import: the study loads us

        ids = {w: parse_worker(w) for w in workers}
        want_workers = {os.fsencode(w): os.fsencode(str(p.pid)) for w, p in ids.items() if p}
    me = os.getpid()
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        env = _environ(int(entry.name))
        if not env or env.get(b"TANSAKU_STUDY") != want_study:
            continue
        if want_workers is not None:
            worker = env.get(b"TANSAKU_WORKER", b"")
            if (
                worker not in want_workers
                or env.get(b"TANSAKU_COORDINATOR_PID") != (want_workers[worker])
            ):
                continue
        out.append(int(entry.name))
    return sorted(out)


def kill_leftovers(study: str, workers: Collection[str]) -> list[int]:
    """SIGKILL the processes of ``study`` started by the dead coordinators ``workers`` (see the
    module docstring), with the process groups they lead; returns the pids found."""
    if not workers:
        return []
    pids = find_trial_processes(study, workers)
    own = os.getpgid(0)
    for pid in pids:
        with contextlib.suppress(OSError):
            pgid = os.getpgid(pid)
            if pgid in pids and pgid != own:  # a trial's own group: take all of it
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return pids
