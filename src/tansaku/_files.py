"""Reading files a trial program controls, without ever blocking on them.

A trial may leave anything under the names the coordinator reads (``stderr.txt``, ``stdout.txt``,
its JSON result file, the batch markers): a FIFO, a device, a directory, a symlink to
``/dev/zero``.  Opening a FIFO for reading blocks until a writer comes, and reading ``/dev/zero``
never ends, so every such read goes through :func:`read_regular`: the file is opened with
``O_NONBLOCK`` (opening a FIFO then returns at once), checked with ``fstat`` to be a regular
file, and read up to a byte limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["NotRegularFile", "read_regular"]


class NotRegularFile(OSError):
    """The path exists but is not a regular file (a FIFO, a device, a directory...)."""


def read_regular(
    path: str | os.PathLike[str], limit: int, *, offset: int = 0, tail: bool = False
) -> tuple[bytes, int]:
    """``(data, size)``: at most ``limit`` bytes of the regular file ``path`` and its size.

    ``offset``: start there (a file read as it grows); ``tail``: the last ``limit`` bytes instead of
    the first.  Never blocks: raises :class:`NotRegularFile` (an ``OSError``) for anything but a
    regular file, ``FileNotFoundError`` when it is missing, other ``OSError`` as the system says."""
    fd = os.open(Path(path), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(f"{os.fspath(path)} is not a regular file")
        size = info.st_size
        start = max(offset, size - limit) if tail else offset
        os.lseek(fd, start, os.SEEK_SET)
        chunks, left = [], limit
        while left > 0:
            data = os.read(fd, min(left, 1 << 20))
            if not data:
                break
            chunks.append(data)
            left -= len(data)
        return b"".join(chunks), size
    finally:
        os.close(fd)
