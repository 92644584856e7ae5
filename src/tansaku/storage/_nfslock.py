"""A lock file that holds on NFS: ``symlink()`` onto the lock path, an owner stamp, a stale rule.

``fcntl``/``flock`` locks are not reliable on every NFS setup (lockd missing, ``nolock`` mounts,
some Lustre/GPFS configurations), but creating a name is atomic on the server: of several
clients that create the same link, exactly one succeeds.  The lock is a symbolic link whose target
text is its owner stamp, so taking it is one call (one round trip on NFS) and reading the owner is
another (``readlink``).  A reply lost on the network (the retried call then fails although the
first one made the link) is recognised by the stamp being ours.  Where symbolic links are not
supported (some SMB mounts) the lock falls back to the hard-link recipe of the Linux ``open(2)``
manual: write a unique file and ``link()`` it to the lock name.

The stamp names the owner: ``host boot-id pid token`` (the boot id tells a pid of this boot from
one before a reboot; the random token tells this acquisition from any other).  While held, a daemon thread of
the owning process refreshes the lock's modification time every ``stale_after / 4`` seconds.  A
waiter breaks a lock when

* its owner is on this host (same host name and boot id) and that process no longer exists
  (``kill -9`` of a holder costs the others nothing), or
* it has not been refreshed for ``stale_after`` seconds, measured on the file server's clock (a
  probe file's modification time), so clock skew between hosts does not matter.

Breaking renames the lock to a unique name (only one breaker can succeed), checks that the
renamed lock is the one judged stale, and puts a fresh lock back if it was not.  The owner checks
:meth:`NFSLock.still_held` before writing.  What no lock file can prevent: a holder stopped
(SIGSTOP, a frozen node) for longer than ``stale_after`` loses its lock while it sleeps.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import secrets
import socket
import threading
import time
import weakref
from pathlib import Path

from tansaku._errors import StorageError

__all__ = ["NFSLock"]


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


_HOST = socket.gethostname()
_BOOT = _boot_id()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


class _Refresher:
    """One daemon thread per process touching the lock files its locks currently hold."""

    def __init__(self) -> None:
        self._held: weakref.WeakSet[NFSLock] = weakref.WeakSet()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._period = 5.0

    def add(self, lock: NFSLock) -> None:
        with self._cv:
            self._held.add(lock)
            if lock.stale_after / 4 < self._period:
                self._period = lock.stale_after / 4
                self._cv.notify()  # a thread waiting out a longer period wakes up now
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="tansaku-lock-refresh", daemon=True
                )
                self._thread.start()

    def discard(self, lock: NFSLock) -> None:
        with self._cv:
            self._held.discard(lock)

    def _run(self) -> None:
        while True:
            with self._cv:
                self._cv.wait(self._period)
                held = list(self._held)
            for lock in held:
                lock._touch()


_REFRESHER = _Refresher()


def _after_fork() -> None:  # the thread does not survive fork; the child starts its own
    global _REFRESHER
    _REFRESHER = _Refresher()


os.register_at_fork(after_in_child=_after_fork)


class NFSLock:
    """An exclusive lock between processes on any hosts that share ``path``'s directory.

    Not reentrant and not for threads: callers serialise their own threads first.  ``acquire``
    waits up to ``timeout`` seconds, then raises :class:`~tansaku.StorageError`.
    """

    def __init__(self, path: str | Path, *, stale_after: float = 30.0, timeout: float = 120.0):
        self.path = str(path)
        self.stale_after = float(stale_after)
        self.timeout = float(timeout)
        self._token: str | None = None
        self._symlinks = True  # False once the filesystem refused a symbolic link
        self._skew = 0.0
        self._skew_at: float | None = None
        self._swept = False  # leftovers of killed processes removed once per instance

    # ------------------------------------------------------------------ owner stamp
    def _stamp(self, token: str) -> str:
        # short (a symbolic link of under 60 bytes lives in its inode on ext4: no data block to
        # allocate and, on a ``discard`` mount, to trim when the lock is released)
        return f"{_HOST} {_BOOT[:8] or '-'} {os.getpid()} {token}"

    def _read_owner(self, path: str) -> dict[str, object] | None:
        try:
            try:
                text = os.readlink(path)
            except OSError as e:
                if e.errno != errno.EINVAL:  # EINVAL: a regular file (the hard-link fallback)
                    raise
                with open(path, "rb") as f:
                    text = f.read().decode(errors="replace")
        except OSError:
            return None
        fields = text.split()
        if len(fields) != 4 or not fields[2].isdigit():
            return None
        return {"host": fields[0], "boot": fields[1], "pid": int(fields[2]), "token": fields[3]}

    # ------------------------------------------------------------------ acquire / release
    def _create(self, stamp: str, token: str) -> bool:
        """Make the lock name with ``stamp``; True if it is ours."""
        if self._symlinks:
            try:
                os.symlink(stamp, self.path)
                return True
            except FileExistsError:
                return False
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS):
                    owner = self._read_owner(self.path)  # a lost reply: did we make it?
                    return owner is not None and owner.get("token") == token
                self._symlinks = False  # no symbolic links on this filesystem
        tmp = f"{self.path}.{_HOST}.{os.getpid()}.{token}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, stamp.encode())
        finally:
            os.close(fd)
        try:
            try:
                os.link(tmp, self.path)
                return True
            except FileExistsError:
                return False
            except OSError:
                return os.stat(tmp).st_nlink == 2  # the link happened; its reply was lost
        finally:
            os.unlink(tmp)

    def _server_now(self) -> float:
        """The file server's current time, from the offset of its clock to ours (measured with a
        probe file's modification time, again after a minute)."""
        now = time.time()
        if self._skew_at is None or now - self._skew_at > 60.0:
            probe = f"{self.path}.probe.{_HOST}.{os.getpid()}"
            with open(probe, "ab"):
                pass
            os.utime(probe, None)
            try:
                self._skew = os.stat(probe).st_mtime - time.time()
            finally:
                os.unlink(probe)
            self._skew_at = now
        return now + self._skew

    def _stale(self, owner: dict[str, object] | None, mtime: float) -> bool:
        if (
            owner is not None
            and owner.get("host") == _HOST
            and owner.get("boot") == (_BOOT[:8] or "-")
            and isinstance(owner.get("pid"), int)
        ):
            pid = int(owner["pid"])  # type: ignore[call-overload]
            if pid != os.getpid() and not _pid_alive(pid):
                return True
        return self._server_now() - mtime > self.stale_after

    def _break(self, owner: dict[str, object] | None) -> None:
        """Remove the lock judged stale (whose owner stamp is ``owner``), never a fresh one."""
        aside = f"{self.path}.stale.{secrets.token_hex(6)}"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # released or broken by someone else meanwhile
        moved = self._read_owner(aside)
        judged = owner.get("token") if owner else None
        if moved is not None and moved.get("token") != judged:
            # another breaker removed the stale lock and a new owner took it: give it back
            with contextlib.suppress(FileExistsError):
                if os.path.islink(aside):
                    os.symlink(os.readlink(aside), self.path)
                else:
                    os.link(aside, self.path)
        os.unlink(aside)
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        """Remove the unique files (``<lock>.<host>.<pid>.<token>``) that processes of this host
        killed while taking the lock left behind."""
        folder, base = os.path.split(self.path)
        prefix = f"{base}.{_HOST}."
        try:
            names = [n for n in os.listdir(folder or ".") if n.startswith(prefix)]
        except OSError:
            return
        for name in names:
            pid = name[len(prefix) :].split(".", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))

    def acquire(self) -> None:
        if not self._swept:
            self._swept = True
            self._remove_leftovers()
        token = secrets.token_hex(4)
        stamp = self._stamp(token)
        deadline = time.monotonic() + self.timeout
        pause = 0.0005
        while True:
            if self._create(stamp, token):
                self._token = token
                _REFRESHER.add(self)
                return
            owner = self._read_owner(self.path)  # None: gone, or unreadable (then judged by age)
            try:
                st = os.lstat(self.path)
            except FileNotFoundError:
                continue  # released meanwhile: try again at once
            if self._stale(owner, st.st_mtime):
                self._break(owner)
                continue
            if time.monotonic() > deadline:
                who = f"{owner.get('host')} pid {owner.get('pid')}" if owner else "unknown"
                raise StorageError(
                    f"could not lock {self.path} within {self.timeout:.0f} s (held by {who}); "
                    f"remove the file if no tansaku process uses it"
                )
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.02)

    def still_held(self) -> bool:
        """True if the lock file is still ours (checked just before a write)."""
        owner = self._read_owner(self.path)
        return owner is not None and self._token is not None and owner.get("token") == self._token

    def release(self) -> None:
        _REFRESHER.discard(self)
        token, self._token = self._token, None
        if token is None:
            return
        owner = self._read_owner(self.path)
        if owner is not None and owner.get("token") == token:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def _touch(self) -> None:
        if self._token is not None and self.still_held():
            with contextlib.suppress(OSError):
                os.utime(self.path, None, follow_symlinks=False)

    def __enter__(self) -> NFSLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
