"""Is a file on a network filesystem?  SQLite's locking (and WAL's shared memory) is not safe on
NFS, Lustre, GPFS or SMB, so a ``sqlite:///`` study there gets a one-line warning that names the
journal storage, which is."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

__all__ = ["NETWORK_FILESYSTEMS", "network_filesystem", "warn_if_network_sqlite"]

#: filesystem types (the third column of ``/proc/mounts``) shared over a network
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "lustre",
        "gpfs",
        "cifs",
        "smb3",
        "smbfs",
        "beegfs",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "fuse.sshfs",
    }
)

log = logging.getLogger("tansaku.storage")
_warned: set[str] = set()


def _unescape(field: str) -> str:
    """``/proc/mounts`` writes space, tab, newline and backslash in paths as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def network_filesystem(path: str | Path, mounts: str | None = None) -> str | None:
    """The network filesystem type that holds ``path`` (by the longest mount point containing
    it in ``mounts``, the text of ``/proc/mounts`` read when not given), or None if it is local
    or unknown.  A later line for the same mount point wins (it is mounted over the earlier)."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text(errors="replace")
        except OSError:
            return None
    target = os.path.normpath(os.path.abspath(os.path.realpath(path)))
    best, best_len = None, -1
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point, fstype = os.path.normpath(_unescape(fields[1])), fields[2]
        inside = point == "/" or target == point or target.startswith(point + "/")
        if inside and len(point) >= best_len:
            best, best_len = fstype, len(point)
    return best if best in NETWORK_FILESYSTEMS else None


def warn_if_network_sqlite(db: str | Path) -> None:
    """Warn once per database file when a SQLite database is on a network filesystem."""
    key = str(db)
    if key in _warned:
        return
    fstype = network_filesystem(Path(db).expanduser().absolute().parent)
    _warned.add(key)
    if fstype is not None:
        log.warning(
            "warning: %s is on %s, where SQLite's locking is not safe for several hosts; "
            "use storage: journal:///%s.journal (or postgresql://) to share a study",
            db,
            fstype,
            Path(db).with_suffix(""),
        )
