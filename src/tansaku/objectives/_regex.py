"""Matching a user's ``result.regex`` with a time limit.

Python's ``re`` has no timeout, and a pattern like ``(a+)+$`` meets exponential backtracking on a
few dozen characters of output; matched in the coordinator it would hang the whole study (only
SIGKILL stopped it) long past ``trial_timeout``.  So the user's regex never runs in the
coordinator: each command trial whose result is a ``regex`` gets a small matcher process
(``python -I -S``, started at the first output that may hold the value, stopped with the trial),
which is sent each chunk of output and answers with the last match in it.  Inside it, every chunk
is matched under an interval timer (``TIME_LIMIT`` seconds; ``re`` checks signals while it
backtracks), and the coordinator waits at most a little longer than that for the answer, killing
the matcher if it does not come.  A chunk that runs out of time fails the trial with the reason.

Lines are matched one by one, at most ``max_line`` bytes each (the parser's own cap), report lines
excluded, last line first; the value is the first group of the last match (or the whole match);
with several groups (several objectives) all of them, joined by NUL bytes.
"""

from __future__ import annotations

import contextlib
import os
import select
import struct
import subprocess
import sys
import time

__all__ = ["TIME_LIMIT", "RegexMatcher", "RegexTimeout"]

#: seconds one chunk of output (at most a few MiB) may take to match
TIME_LIMIT = 2.0

_CHILD = r"""
import os, re, signal, struct, sys
pattern, report, max_line, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
rx, rep = re.compile(pattern), re.compile(report)
class Late(Exception):
    pass
def late(*_):
    raise Late()
signal.signal(signal.SIGALRM, late)
signal.signal(signal.SIGINT, signal.SIG_IGN)
inp, out = sys.stdin.buffer, sys.stdout.buffer
def answer(code, text=b""):
    out.write(struct.pack("<BI", code, len(text)) + text)
    out.flush()
while True:
    head = inp.read(4)
    if len(head) < 4:
        break
    data = inp.read(struct.unpack("<I", head)[0])
    found = None
    try:
        signal.setitimer(signal.ITIMER_REAL, limit)
        for raw in reversed(data.split(b"\n")):
            line = raw[-max_line:].decode("utf-8", errors="replace").rstrip("\r")
            if rep.match(line):
                continue
            last = None
            for last in rx.finditer(line):
                pass
            if last is not None:
                if rx.groups > 1:
                    found = "\0".join(g if g is not None else "" for g in last.groups())
                else:
                    found = last.group(1) if rx.groups else last.group(0)
                if found is not None:
                    break
        signal.setitimer(signal.ITIMER_REAL, 0)
    except Late:
        answer(2)
        continue
    if found is None:
        answer(0)
    else:
        answer(1, found.encode("utf-8", errors="replace"))
"""


class RegexTimeout(Exception):
    """The regex did not finish on a chunk of output within the time limit (or its process
    failed); the message says which."""


class RegexMatcher:
    """The last match of ``pattern`` in chunks of output, found in a separate process."""

    def __init__(
        self, pattern: str, *, report: str, max_line: int, time_limit: float = TIME_LIMIT
    ) -> None:
        self.pattern = pattern
        self.report = report
        self.max_line = max_line
        self.time_limit = time_limit
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            try:
                self._proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-I",
                        "-S",
                        "-c",
                        _CHILD,
                        self.pattern,
                        self.report,
                        str(self.max_line),
                        repr(self.time_limit),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    bufsize=0,
                    close_fds=True,
                )
            except OSError as e:
                raise RegexTimeout(f"cannot start the regex matcher: {e}") from None
        return self._proc

    def last_match(self, data: bytes) -> str | None:
        """The value in the last matching line of ``data`` (lines split on ``\\n``), or None.
        Raises :class:`RegexTimeout` when it takes longer than the time limit."""
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(struct.pack("<I", len(data)) + data)
            head = self._read(proc, 5)
            code, size = struct.unpack("<BI", head)
            text = self._read(proc, size) if size else b""
        except (OSError, struct.error, RegexTimeout) as e:
            self.close()
            if isinstance(e, RegexTimeout):
                raise
            raise RegexTimeout(f"the regex matcher failed: {e}") from None
        if code == 2:
            self.close()
            raise RegexTimeout(
                f"result.regex took longer than {self.time_limit:g} s to match the output "
                "(catastrophic backtracking?)"
            )
        return text.decode("utf-8", errors="replace") if code == 1 else None

    def _read(self, proc: subprocess.Popen[bytes], n: int) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + self.time_limit + 5.0  # the child's own timer comes first
        out = b""
        while len(out) < n:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, left))
            if not ready:
                raise RegexTimeout(
                    f"result.regex took longer than {self.time_limit:g} s to match the output"
                )
            chunk = os.read(fd, n - len(out))
            if not chunk:
                raise RegexTimeout("the regex matcher exited")
            out += chunk
        return out

    def close(self) -> None:
        """Stop the matcher process (a later call starts a new one)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.kill()
        for f in (proc.stdin, proc.stdout):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
