"""Reading a command's stdout as it streams: report lines, the result, a bounded tail.

Memory stays bounded whatever the command prints: lines longer than ``max_line`` bytes keep only
their end, and only the last ``tail_bytes`` of output are held.

* ``tansaku:report step=<int> value=<number>`` lines are intermediate values (parsed live).
* The result is, by default, the last number printed on a non-report line; or the last match of a
  ``regex`` (its first group if it has one), applied line by line in a matcher process with a time
  limit (``_regex.py``: a catastrophically backtracking pattern fails the trial instead of hanging
  the coordinator); or a value read from a JSON file
  the command writes (``{json: result.json, key: metrics.loss}``).
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tansaku._errors import ConfigError
from tansaku._files import read_regular
from tansaku._trial import MAX_STEP, step_problem
from tansaku.objectives._callable import as_value
from tansaku.objectives._regex import RegexMatcher, RegexTimeout

__all__ = ["REPORT_RE", "RESULT_LINE_ATTR", "OutputParser", "ResultSpec"]

#: trial system attribute: the stdout line an ambiguous last-number result was read from
RESULT_LINE_ATTR = "result_line"

REPORT_RE = re.compile(r"^\s*tansaku:report\s+step=(\d+)\s+value=(\S+)\s*$")


def _maybe_value(data: bytes) -> bool:
    """Could these bytes hold a number (a digit, nan or inf)?  C-speed, no regex."""
    if any(d in data for d in _DIGITS):
        return True
    low = data.lower()
    return b"nan" in low or b"inf" in low


_DIGITS = [bytes([c]) for c in b"0123456789"]
_NUMBER_RE = re.compile(
    r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf(?:inity)?)(?![\w.])", re.IGNORECASE
)


@dataclass(frozen=True)
class ResultSpec:
    """Where a command's objective value comes from."""

    kind: str = "last_number"  # last_number | regex | json
    pattern: str | None = None
    file: str | None = None
    key: str | None = None

    @classmethod
    def parse(cls, spec: Any, *, field: str = "result") -> ResultSpec:
        if spec is None or (isinstance(spec, str) and spec == "last_number"):
            return cls()
        if isinstance(spec, ResultSpec):
            return spec
        expected = "expected last_number, {regex: PATTERN} or {json: FILE, key: KEY}"
        if not isinstance(spec, Mapping):
            raise ConfigError(expected, field=field)
        try:
            spec = {str(k): v for k, v in spec.items()}
        except Exception:
            raise ConfigError(expected, field=field) from None
        keys = set(spec)
        if keys == {"regex"}:
            pattern = spec["regex"]
            if not isinstance(pattern, str):
                raise ConfigError("must be a string", field=f"{field}.regex")
            try:
                compiled = re.compile(pattern)
            except (re.error, OverflowError, RecursionError, ValueError) as e:
                raise ConfigError(
                    f"invalid regular expression: {e}", field=f"{field}.regex"
                ) from None
            if compiled.groups > 1:
                raise ConfigError(
                    "use at most one capturing group (the value)", field=f"{field}.regex"
                )
            return cls("regex", pattern=pattern)
        if "json" in keys and keys <= {"json", "key"}:
            file, key = spec["json"], spec.get("key")
            if not isinstance(file, str) or not file:
                raise ConfigError("must be a file name", field=f"{field}.json")
            if key is not None and not isinstance(key, str):
                raise ConfigError("must be a dotted key like metrics.loss", field=f"{field}.key")
            return cls("json", file=file, key=key)
        unknown = sorted(keys - {"regex", "json", "key"})
        raise ConfigError(
            f"unknown key {unknown[0]!r}" if unknown else "give either regex or json",
            field=f"{field}.{unknown[0]}" if unknown else field,
        )


def _to_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class OutputParser:
    """Feed it stdout bytes as they arrive; ask it for the value at the end."""

    def __init__(
        self,
        spec: ResultSpec | None = None,
        *,
        on_report: Callable[[int, float], None] | None = None,
        max_line: int = 65536,
        tail_bytes: int = 8192,
    ) -> None:
        self.spec = spec or ResultSpec()
        self.on_report = on_report
        self.max_line = max_line
        # the user's regex runs in a matcher process with a time limit, never here (_regex.py)
        self._regex = (
            RegexMatcher(self.spec.pattern, report=REPORT_RE.pattern, max_line=max_line)
            if self.spec.kind == "regex" and self.spec.pattern
            else None
        )
        self._partial = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_len = 0
        self._tail_max = tail_bytes
        self.last_text: str | None = None  # text of the last candidate value
        self.result_line: str | None = None  # the line it was read from (last_number)
        self.last_report: tuple[int, float] | None = None
        #: the first thing that makes the trial fail whatever it prints next (a report line with
        #: an out-of-range step, a ``regex`` that ran out of time); None while all is well
        self.problem: str | None = None
        self.bytes_seen = 0

    # streaming ---------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Take the next bytes of stdout.  Cost is per chunk, not per line, for output that cannot
        hold a result (no digit, no nan/inf): a command printing millions of short lines does
        not stall the coordinator.  Within a chunk only report lines are handled in order, and
        the result is looked for from the last line backwards (the last one wins anyway)."""
        if not data:
            return
        self.bytes_seen += len(data)
        self._keep_tail(data)
        nl = data.rfind(b"\n")
        if nl < 0:
            self._partial += data
            if len(self._partial) > self.max_line:  # keep the end of an endless line
                del self._partial[: len(self._partial) - self.max_line]
            return
        head = data[:nl]
        if self._partial:
            head = bytes(self._partial) + head
            self._partial.clear()
        rest = data[nl + 1 :]
        self._partial += rest[-self.max_line :] if len(rest) > self.max_line else rest
        if not _maybe_value(head):
            return  # neither a report nor a number anywhere in these lines
        lines = head.split(b"\n")
        if b"tansaku:report" in head:
            for line in lines:
                if b"tansaku:report" in line:
                    self._line(line[-self.max_line :])
        if self.spec.kind == "json":
            return
        if self.spec.kind == "regex":
            self._match(head)
            return
        for line in reversed(lines):
            if self.spec.kind == "last_number" and not _maybe_value(line):
                continue
            before = self.last_text
            self.last_text = None
            self._line(line[-self.max_line :], report=False)
            if self.last_text is not None:
                return
            self.last_text = before

    def close(self) -> None:
        """The output is over: handle its last, unterminated line and stop the regex matcher."""
        if self._partial:
            self._line(bytes(self._partial))
            if self.spec.kind == "regex":
                self._match(bytes(self._partial))
            self._partial.clear()
        if self._regex is not None:
            self._regex.close()

    def _match(self, data: bytes) -> None:
        """The regex result: the last match in ``data`` (whole lines) becomes the candidate."""
        if self._regex is None or self.problem is not None:
            return
        try:
            found = self._regex.last_match(data)
        except RegexTimeout as e:
            self.problem = str(e)
            self._regex.close()
            self._regex = None
            return
        if found is not None:
            self.last_text = found

    def _keep_tail(self, data: bytes) -> None:
        self._tail.append(data[-self._tail_max :])
        self._tail_len += len(self._tail[-1])
        while self._tail_len - len(self._tail[0]) >= self._tail_max:
            self._tail_len -= len(self._tail.popleft())

    def tail(self) -> str:
        return b"".join(self._tail)[-self._tail_max :].decode("utf-8", errors="replace")

    def _line(self, raw: bytes, *, report: bool = True) -> None:
        """One line: a report (handled when ``report``) or a result candidate."""
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        m = REPORT_RE.match(line)
        if m:
            digits = m.group(1)
            # at most 10 digits reach int(): 5,000 of them would raise (and cost) in int()
            step = int(digits) if len(digits) <= 10 else MAX_STEP + 1
            problem = step_problem(step)
            if report and problem is not None:
                if self.problem is None:
                    self.problem = f"bad tansaku:report line: step {problem}"
                return
            value = _to_float(m.group(2))
            if report and value is not None and math.isfinite(value):
                self.last_report = (step, value)
                if self.on_report is not None:
                    self.on_report(step, value)
            return
        if self.spec.kind == "last_number":
            found = _NUMBER_RE.findall(line)
            if found:
                self.last_text = found[-1]
                self.result_line = line if len(found) > 1 else None

    def result_attrs(self) -> dict[str, str]:
        """``{"result_line": line}`` when the default rule took the last of several numbers on a
        line (e.g. ``val_loss=0.13 (3-fold CV, 100 trees)`` -> 100): kept with the trial so that
        the study can warn when that number never changes.  Empty otherwise."""
        if self.spec.kind != "last_number" or self.result_line is None:
            return {}
        return {RESULT_LINE_ATTR: self.result_line.strip()[:200]}

    # the value ---------------------------------------------------------------------------------
    def value(self, workdir: Path | None = None) -> tuple[float | None, str | None]:
        """``(value, None)`` or ``(None, reason)``; nan/inf are reasons, not values, and so is a
        bad report line seen on the way (:attr:`problem`)."""
        if self.problem is not None:
            return None, self.problem
        if self.spec.kind == "json":
            return self._json_value(workdir)
        if self.last_text is None:
            what = (
                "no number"
                if self.spec.kind == "last_number"
                else f"no match of {self.spec.pattern!r}"
            )
            return None, f"{what} in the command's stdout"
        value = _to_float(self.last_text.strip())
        if value is None:
            return None, f"the result {self.last_text[:80]!r} is not a number"
        if not math.isfinite(value):
            return None, f"the objective is {value}"
        return value, None

    def _json_value(self, workdir: Path | None) -> tuple[float | None, str | None]:
        assert self.spec.file is not None
        path = Path(self.spec.file)
        if not path.is_absolute() and workdir is not None:
            path = workdir / path
        try:  # never blocks (a FIFO, a device), never raises (a huge or deeply nested document)
            data: Any = json.loads(read_regular(path, 16 * 1024 * 1024)[0])
        except FileNotFoundError:
            return None, f"the result file {self.spec.file} was not written"
        except (OSError, ValueError) as e:
            return None, f"cannot read the result file {self.spec.file}: {e}"
        except RecursionError:
            return None, f"cannot read the result file {self.spec.file}: nested too deeply"
        for part in self.spec.key.split(".") if self.spec.key else []:
            if isinstance(data, Mapping) and part in data:
                data = data[part]
            elif (
                isinstance(data, list)
                and part.lstrip("-").isdigit()
                and -len(data) <= int(part) < len(data)
            ):
                data = data[int(part)]
            else:
                return None, f"the result file {self.spec.file} has no key {self.spec.key!r}"
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            shown = repr(str(data)[:80]) if isinstance(data, (str, bool)) else type(data).__name__
            return None, f"the result {shown} in {self.spec.file} is not a number"
        return as_value(data, f"the result in {self.spec.file} is")
