"""Reading a command's stdout as it streams: report lines, the result, a bounded tail.

Memory stays bounded whatever the command prints: lines longer than ``max_line`` bytes keep only
their end, and only the last ``tail_bytes`` of output are held.

* ``tansaku:report step=<int> value=<number>`` lines are intermediate values (parsed live).
* The result is, by default, the last number printed on a non-report line; or the last match of a
  ``regex`` (its first group if it has one), applied line by line; or a value read from a JSON file
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

__all__ = ["REPORT_RE", "OutputParser", "ResultSpec"]

REPORT_RE = re.compile(r"^\s*tansaku:report\s+step=(\d+)\s+value=(\S+)\s*$")
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
        if spec is None or spec == "last_number":
            return cls()
        if isinstance(spec, ResultSpec):
            return spec
        if not isinstance(spec, Mapping):
            raise ConfigError(
                "expected last_number, {regex: PATTERN} or {json: FILE, key: KEY}", field=field
            )
        keys = set(spec)
        if keys == {"regex"}:
            pattern = spec["regex"]
            if not isinstance(pattern, str):
                raise ConfigError("must be a string", field=f"{field}.regex")
            try:
                compiled = re.compile(pattern)
            except re.error as e:
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
        self._regex = (
            re.compile(self.spec.pattern)
            if self.spec.kind == "regex" and self.spec.pattern
            else None
        )
        self._partial = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_len = 0
        self._tail_max = tail_bytes
        self.last_text: str | None = None  # text of the last candidate value
        self.last_report: tuple[int, float] | None = None
        self.bytes_seen = 0

    # streaming ---------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.bytes_seen += len(data)
        self._keep_tail(data)
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                self._partial += data[start:]
                if len(self._partial) > self.max_line:  # keep the end of an endless line
                    del self._partial[: len(self._partial) - self.max_line]
                return
            if self._partial:
                self._partial += data[start:nl]
                line = bytes(self._partial[-self.max_line :])
                self._partial.clear()
            else:
                line = data[max(start, nl - self.max_line) : nl]
            self._line(line)
            start = nl + 1

    def close(self) -> None:
        if self._partial:
            self._line(bytes(self._partial))
            self._partial.clear()

    def _keep_tail(self, data: bytes) -> None:
        self._tail.append(data[-self._tail_max :])
        self._tail_len += len(self._tail[-1])
        while self._tail_len - len(self._tail[0]) >= self._tail_max:
            self._tail_len -= len(self._tail.popleft())

    def tail(self) -> str:
        return b"".join(self._tail)[-self._tail_max :].decode("utf-8", errors="replace")

    def _line(self, raw: bytes) -> None:
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        m = REPORT_RE.match(line)
        if m:
            value = _to_float(m.group(2))
            if value is not None and math.isfinite(value):
                self.last_report = (int(m.group(1)), value)
                if self.on_report is not None:
                    self.on_report(int(m.group(1)), value)
            return
        if self.spec.kind == "last_number":
            found = _NUMBER_RE.findall(line)
            if found:
                self.last_text = found[-1]
        elif self._regex is not None:
            matches = list(self._regex.finditer(line))
            if matches:
                last = matches[-1]
                self.last_text = last.group(1) if self._regex.groups else last.group(0)

    # the value ---------------------------------------------------------------------------------
    def value(self, workdir: Path | None = None) -> tuple[float | None, str | None]:
        """``(value, None)`` or ``(None, reason)``; nan/inf are reasons, not values."""
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
        try:
            with open(path, "rb") as f:
                data: Any = json.loads(f.read(16 * 1024 * 1024))
        except FileNotFoundError:
            return None, f"the result file {self.spec.file} was not written"
        except (OSError, ValueError) as e:
            return None, f"cannot read the result file {self.spec.file}: {e}"
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
            return None, f"the result {str(data)[:80]!r} in {self.spec.file} is not a number"
        value = float(data)
        if not math.isfinite(value):
            return None, f"the objective is {value}"
        return value, None
