"""Reading a command's stdout as it streams: report lines, the result, a bounded tail.

Memory stays bounded whatever the command prints: lines longer than ``max_line`` bytes keep only
their end, and only the last ``tail_bytes`` of output are held.

* ``tansaku:report step=<int> value=<number>`` lines are intermediate values (parsed live).
* ``tansaku:attr key=value`` lines are user attributes (the value as JSON when it reads as a JSON
  number, ``true``/``false``/``null`` or a quoted string, else the text as written) and
  ``tansaku:metric key=<number>`` lines numeric ones; the last line for a key wins.  They are
  stored with the trial however it ends (:meth:`OutputParser.user_attrs`).
* Every line that starts with ``tansaku:<word>`` is an instruction to tansaku, never a result
  candidate; an unknown word, a bad attribute key or a metric that is not a finite number fails
  the trial with the line's problem (:attr:`OutputParser.problem`), as a report line with a step
  out of range does.  A ``tansaku:report`` line not of the form ``step=N value=V`` is skipped,
  as it always was.
* The result is, by default, the last number printed on a non-report line; or the last match of a
  ``regex`` (its first group if it has one), applied line by line in a matcher process with a time
  limit (``_regex.py``: a catastrophically backtracking pattern fails the trial instead of hanging
  the coordinator); or a value read from a JSON file
  the command writes (``{json: result.json, key: metrics.loss}``), whose other keys can be kept as
  user attributes too (``attrs: [train.time, epochs]``, or ``attrs: true`` for every number,
  string and boolean in the file, under their dotted keys).
* Several objectives: ``{last_numbers: N}`` (the last N numbers printed, in order), a regex with
  one group per objective (of its last match), or ``{json: FILE, keys: [a.b, c]}``.
* ``tansaku:constraint name=<number>`` lines give constraint values (the last one of a name
  wins); a command's ``constraints:`` may also read one with a regex or from a JSON file
  (:func:`parse_constraints`), each by a sub-parser of its own.
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

__all__ = [
    "CONSTRAINT_RE",
    "DIRECTIVE_RE",
    "REPORT_RE",
    "RESULT_LINE_ATTR",
    "ConstraintSpecs",
    "OutputParser",
    "ResultSpec",
    "parse_constraints",
]

#: trial system attribute: the stdout line an ambiguous last-number result was read from
RESULT_LINE_ATTR = "result_line"

REPORT_RE = re.compile(r"^\s*tansaku:report\s+step=(\d+)\s+value=(\S+)\s*$")
#: a line addressed to tansaku (``tansaku:report``, ``tansaku:attr``, ...): never a result
DIRECTIVE_RE = re.compile(r"^\s*tansaku:([A-Za-z_]\w*)(?:\s|$)")
#: ``tansaku:attr key=value`` / ``tansaku:metric key=number``
ATTR_RE = re.compile(r"^\s*tansaku:(attr|metric)\s+([^=\s]*)=(.*?)\s*$")
#: what an attribute key may be: a name, dots and slashes allowed (``train.time``, ``val/loss``)
ATTR_KEY_RE = re.compile(r"[A-Za-z_][\w.\-/]{0,99}")
DIRECTIVES = ("report", "attr", "metric", "constraint")
#: ``tansaku:constraint name=number`` (feasible when the number is <= 0)
CONSTRAINT_RE = re.compile(r"^\s*tansaku:constraint\s+([A-Za-z0-9_.\-]+)=(\S+)\s*$")
#: how many user attributes one command trial may set (lines and JSON file together), and how
#: long one value's text may be
MAX_ATTRS = 200
MAX_ATTR_TEXT = 1000


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

    kind: str = "last_number"  # last_number | regex | json | line (constraints only)
    pattern: str | None = None
    file: str | None = None
    key: str | None = None
    #: json only: the file's other keys kept as user attributes (dotted keys; True: every scalar)
    attrs: tuple[str, ...] | bool = ()
    #: how many numbers make the result: ``last_numbers: N``, a regex's groups, ``keys``
    count: int = 1
    keys: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: Any, *, field: str = "result") -> ResultSpec:
        if spec is None or (isinstance(spec, str) and spec == "last_number"):
            return cls()
        if isinstance(spec, ResultSpec):
            return spec
        expected = (
            "expected last_number, {last_numbers: N}, {regex: PATTERN} or "
            "{json: FILE, key: KEY (or keys: [KEY, ...]), attrs: [KEYS]}"
        )
        if not isinstance(spec, Mapping):
            raise ConfigError(expected, field=field)
        try:
            spec = {str(k): v for k, v in spec.items()}
        except Exception:
            raise ConfigError(expected, field=field) from None
        keys = set(spec)
        if keys == {"last_numbers"}:
            n = spec["last_numbers"]
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 64:
                raise ConfigError(
                    f"must be an integer in 1..64, got {n!r:.40}", field=f"{field}.last_numbers"
                )
            return cls(count=n)
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
            if compiled.groups > 64:
                raise ConfigError(
                    "use at most 64 capturing groups (one per objective)", field=f"{field}.regex"
                )
            return cls("regex", pattern=pattern, count=max(1, compiled.groups))
        if "json" in keys and keys <= {"json", "key", "keys", "attrs"}:
            file, key = spec["json"], spec.get("key")
            if not isinstance(file, str) or not file:
                raise ConfigError("must be a file name", field=f"{field}.json")
            if key is not None and not isinstance(key, str):
                raise ConfigError("must be a dotted key like metrics.loss", field=f"{field}.key")
            attrs = _parse_attr_keys(spec.get("attrs", ()))
            if "keys" in spec:
                many = spec["keys"]
                if key is not None:
                    raise ConfigError("give key or keys, not both", field=f"{field}.keys")
                if (
                    isinstance(many, str)
                    or not isinstance(many, list)
                    or not many
                    or not all(isinstance(k, str) and k for k in many)
                ):
                    raise ConfigError(
                        "must be a list of dotted keys like [val.loss, time]", field=f"{field}.keys"
                    )
                return cls("json", file=file, keys=tuple(many), count=len(many), attrs=attrs)
            return cls("json", file=file, key=key, attrs=attrs)
        if "attrs" in keys:
            raise ConfigError("attrs are read from a json result file only", field=f"{field}.attrs")
        unknown = sorted(keys - {"regex", "json", "key", "keys", "last_numbers"})
        raise ConfigError(
            f"unknown key {unknown[0]!r}" if unknown else "give either regex or json",
            field=f"{field}.{unknown[0]}" if unknown else field,
        )


def _parse_attr_keys(value: Any, field: str = "result.attrs") -> tuple[str, ...] | bool:
    """``attrs:`` of a json result: a list of dotted keys, or ``true`` for every scalar."""
    if value is True or value is False:
        return bool(value)
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigError("must be a list of dotted keys (or true for every key)", field=field)
    if len(value) > MAX_ATTRS:
        raise ConfigError(f"at most {MAX_ATTRS} keys, got {len(value)}", field=field)
    keys: list[str] = []
    for i, key in enumerate(value):
        if not isinstance(key, str) or not ATTR_KEY_RE.fullmatch(key):
            raise ConfigError(
                f"must be a dotted key like train.time, got {str(key)[:60]!r}", field=f"{field}[{i}]"
            )
        keys.append(key)
    return tuple(keys)


def _attr_value(text: str) -> Any:
    """An attribute's value as written on a ``tansaku:attr`` line: a JSON scalar when it reads as
    one (``0.5``, ``true``, ``null``, ``"quoted"``), else the text itself.  Never raises."""
    text = text[:MAX_ATTR_TEXT]
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    if isinstance(value, (dict, list)) or (isinstance(value, float) and not math.isfinite(value)):
        return text
    return value


#: constraint name -> where its value comes from (kind ``line``: a ``tansaku:constraint`` line)
ConstraintSpecs = Mapping[str, ResultSpec]


def parse_constraints(spec: Any, *, field: str = "constraints") -> dict[str, ResultSpec]:
    """A command's ``constraints:``: a list of names (given by ``tansaku:constraint`` lines) or a
    mapping of names to ``line`` / null, ``{regex: PATTERN}`` (one group) or
    ``{json: FILE, key: KEY}``.  Every named constraint must be given by each trial."""
    if spec is None:
        return {}
    if isinstance(spec, list):
        spec = dict.fromkeys(spec)
    if not isinstance(spec, Mapping):
        raise ConfigError(
            "expected a list of names or a mapping of names to line, {regex: ...} or "
            "{json: FILE, key: KEY}",
            field=field,
        )
    out: dict[str, ResultSpec] = {}
    for name, one in spec.items():
        if not isinstance(name, str) or not CONSTRAINT_RE.match(f"tansaku:constraint {name}=0"):
            raise ConfigError(
                f"constraint names are letters, digits, _ . -; got {name!r:.40}", field=field
            )
        where = f"{field}.{name}"
        if one is None or one == "line":
            out[name] = ResultSpec("line")
            continue
        parsed = ResultSpec.parse(one, field=where)
        if parsed.kind == "last_number" or parsed.count != 1:
            raise ConfigError(
                "expected line, {regex: PATTERN} with one group, or {json: FILE, key: KEY}",
                field=where,
            )
        out[name] = parsed
    return out


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
        constraints: ConstraintSpecs | None = None,
    ) -> None:
        self.spec = spec or ResultSpec()
        #: constraint values from ``tansaku:constraint`` lines, by name
        self.constraint_lines: dict[str, float] = {}
        self._constraint_specs = dict(constraints or {})
        # a regex or JSON constraint is read by a parser of its own fed the same output
        self._subparsers = {
            name: OutputParser(c, max_line=max_line, tail_bytes=256)
            for name, c in self._constraint_specs.items()
            if c.kind in ("regex", "json")
        }
        self._numbers: deque[str] = deque(maxlen=self.spec.count)
        self.on_report = on_report
        self.max_line = max_line
        # the user's regex runs in a matcher process with a time limit, never here (_regex.py)
        self._regex = (
            RegexMatcher(self.spec.pattern, report=DIRECTIVE_RE.pattern, max_line=max_line)
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
        self._attrs: dict[str, Any] = {}

    # streaming ---------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Take the next bytes of stdout.  Cost is per chunk, not per line, for output that cannot
        hold a result (no digit, no nan/inf): a command printing millions of short lines does
        not stall the coordinator.  Within a chunk only report lines are handled in order, and
        the result is looked for from the last line backwards (the last one wins anyway)."""
        if not data:
            return
        for sub in self._subparsers.values():
            sub.feed(data)
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
        directives = b"tansaku:" in head
        numbers = _maybe_value(head)
        if not directives and not numbers:
            return  # neither an instruction nor a number anywhere in these lines
        lines = head.split(b"\n")
        if directives:
            for line in lines:
                if b"tansaku:" in line:
                    self._line(line[-self.max_line :], candidate=False)
            if not numbers:
                return
        if self.spec.kind in ("json", "line"):
            return
        if self.spec.kind == "regex":
            self._match(head)
            return
        if self.spec.count > 1:  # the last N numbers: every line counts, in order
            for line in lines:
                if _maybe_value(line):
                    self._line(line[-self.max_line :], report=False)
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
        for sub in self._subparsers.values():
            sub.close()
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

    def _line(self, raw: bytes, *, report: bool = True, candidate: bool = True) -> None:
        """One line: an instruction (``tansaku:...``, handled when ``report``) or, when
        ``candidate``, a result candidate."""
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        directive = DIRECTIVE_RE.match(line)
        if directive is not None:
            if report:
                self._directive(directive.group(1), line)
            return
        if candidate and self.spec.kind == "last_number" and self.spec.count > 1:
            self._numbers.extend(_NUMBER_RE.findall(line))
            return
        if candidate and self.spec.kind == "last_number":
            found = _NUMBER_RE.findall(line)
            if found:
                self.last_text = found[-1]
                self.result_line = line if len(found) > 1 else None

    def _fail(self, problem: str) -> None:
        if self.problem is None:
            self.problem = problem

    def _directive(self, word: str, line: str) -> None:
        """A ``tansaku:<word> ...`` line: a report, an attribute or a metric."""
        if word not in DIRECTIVES:
            self._fail(
                f"unknown instruction tansaku:{word[:40]} (known: "
                + ", ".join(f"tansaku:{d}" for d in DIRECTIVES) + ")"
            )
            return
        if word in ("attr", "metric"):
            self._attr_line(word, line)
            return
        if word == "constraint":
            c = CONSTRAINT_RE.match(line)
            cv = None if c is None else _to_float(c.group(2))
            if c is None or cv is None:
                shown = line.strip()[:80]
                self._fail(f"bad tansaku:constraint line (expected name=number): {shown!r}")
                return
            self.constraint_lines[c.group(1)] = cv
            return
        m = REPORT_RE.match(line)
        if m is None:  # not of the form: skipped as before (and never the result)
            return
        digits = m.group(1)
        # at most 10 digits reach int(): 5,000 of them would raise (and cost) in int()
        step = int(digits) if len(digits) <= 10 else MAX_STEP + 1
        problem = step_problem(step)
        if problem is not None:
            self._fail(f"bad tansaku:report line: step {problem}")
            return
        value = _to_float(m.group(2))
        if value is not None and math.isfinite(value):
            self.last_report = (step, value)
            if self.on_report is not None:
                self.on_report(step, value)

    def _attr_line(self, word: str, line: str) -> None:
        m = ATTR_RE.match(line)
        if m is None or not ATTR_KEY_RE.fullmatch(m.group(2)):
            shown = line.strip()[:80]
            self._fail(f"bad tansaku:{word} line (expected tansaku:{word} key=value): {shown!r}")
            return
        key, text = m.group(2), m.group(3)
        if word == "metric":
            number = _to_float(text) if len(text) <= 100 else None
            if number is None or not math.isfinite(number):
                self._fail(f"bad tansaku:metric line: {key} must be a finite number, got {text[:40]!r}")
                return
            value: Any = number
        else:
            value = _attr_value(text)
        self._set_attr(key, value)

    def _set_attr(self, key: str, value: Any) -> None:
        if key not in self._attrs and len(self._attrs) >= MAX_ATTRS:
            self._fail(f"more than {MAX_ATTRS} user attributes (the next was {key!r})")
            return
        self._attrs[key] = value

    def user_attrs(self) -> dict[str, Any]:
        """The user attributes read so far: ``tansaku:attr``/``tansaku:metric`` lines, and after
        :meth:`value` the json result file's ``attrs``.  A copy; empty when there are none."""
        return dict(self._attrs)

    def result_attrs(self) -> dict[str, str]:
        """``{"result_line": line}`` when the default rule took the last of several numbers on a
        line (e.g. ``val_loss=0.13 (3-fold CV, 100 trees)`` -> 100): kept with the trial so that
        the study can warn when that number never changes.  Empty otherwise."""
        if self.spec.kind != "last_number" or self.spec.count > 1 or self.result_line is None:
            return {}
        return {RESULT_LINE_ATTR: self.result_line.strip()[:200]}

    # the value ---------------------------------------------------------------------------------
    def value(self, workdir: Path | None = None) -> tuple[float | None, str | None]:
        """``(value, None)`` or ``(None, reason)``; nan/inf are reasons, not values, and so is a
        bad report line seen on the way (:attr:`problem`).  With several values, the first."""
        values, reason = self.values(workdir)
        return (None, reason) if values is None else (values[0], None)

    def values(self, workdir: Path | None = None) -> tuple[tuple[float, ...] | None, str | None]:
        """Every value the spec asks for (``count`` of them), in order, or ``(None, reason)``."""
        if self.problem is not None:
            return None, self.problem
        if self.spec.kind == "json":
            if self.spec.keys:
                out: list[float] = []
                for i, key in enumerate(self.spec.keys):
                    v, reason = self._json_value(workdir, key, attrs=i == 0)
                    if v is None:
                        return None, reason
                    out.append(v)
                return tuple(out), None
            v, reason = self._json_value(workdir, self.spec.key)
            return (None, reason) if v is None else ((v,), None)
        if self.spec.kind == "last_number" and self.spec.count > 1:
            if len(self._numbers) < self.spec.count:
                return None, (
                    f"the command printed {len(self._numbers)} numbers on stdout, "
                    f"result.last_numbers wants {self.spec.count}"
                )
            out = []
            for text in self._numbers:
                v, reason = self._one(text)
                if v is None:
                    return None, reason
                out.append(v)
            return tuple(out), None
        if self.spec.kind == "regex" and self.spec.count > 1 and self.last_text is not None:
            out = []
            for k, text in enumerate(self.last_text.split("\0"), 1):
                v, reason = self._one(text)
                if v is None:
                    return None, f"group {k} of {self.spec.pattern!r}: {reason}"
                out.append(v)
            return tuple(out), None
        v, reason = self._single()
        return (None, reason) if v is None else ((v,), None)

    def constraints(self, workdir: Path | None = None) -> tuple[dict[str, float], str | None]:
        """The constraint values (lines, then each declared regex/JSON one), and the reason the
        trial fails when a declared constraint was not given (None when all were)."""
        out = dict(self.constraint_lines)
        for name, sub in self._subparsers.items():
            v, reason = sub.value(workdir)
            if v is None:
                return out, f"constraint {name!r}: {reason}"
            out[name] = v
        for name in self._constraint_specs:
            if name not in out:
                return out, (
                    f"constraint {name!r} was not given (print a line "
                    f"'tansaku:constraint {name}=<number>')"
                )
        return out, None

    def _one(self, text: str) -> tuple[float | None, str | None]:
        value = _to_float(text.strip())
        if value is None:
            return None, f"the result {text[:80]!r} is not a number"
        if not math.isfinite(value):
            return None, f"the objective is {value}"
        return value, None

    def _single(self) -> tuple[float | None, str | None]:
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

    def _json_value(
        self, workdir: Path | None, key: str | None, *, attrs: bool = True
    ) -> tuple[float | None, str | None]:
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
        if self.spec.attrs and attrs:
            self._json_attrs(data)
        data = _dotted(data, key)
        if data is _MISSING:
            return None, f"the result file {self.spec.file} has no key {key!r}"
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            shown = repr(str(data)[:80]) if isinstance(data, (str, bool)) else type(data).__name__
            return None, f"the result {shown} in {self.spec.file} is not a number"
        return as_value(data, f"the result in {self.spec.file} is")

    def _json_attrs(self, document: Any) -> None:
        """The json result file's ``attrs`` as user attributes: the keys named (a missing one is
        left out), or with ``attrs: true`` every number, string, boolean and null in the file
        under its dotted key (at most :data:`MAX_ATTRS` in all)."""
        if self.spec.attrs is True:
            for key, value in _scalar_leaves(document):
                if len(self._attrs) >= MAX_ATTRS and key not in self._attrs:
                    break
                self._attrs[key] = value
            return
        assert isinstance(self.spec.attrs, tuple)
        for key in self.spec.attrs:
            value = _dotted(document, key)
            if value is not _MISSING:
                self._set_attr(key, _json_scalar(value))


_MISSING = object()


def _dotted(data: Any, key: str | None) -> Any:
    """``data`` at a dotted key (``metrics.loss``, list items by index: ``runs.-1``), or
    :data:`_MISSING`."""
    for part in key.split(".") if key else []:
        if isinstance(data, Mapping) and part in data:
            data = data[part]
        elif (
            isinstance(data, list)
            and part.lstrip("-").isdigit()
            and len(part) < 10
            and -len(data) <= int(part) < len(data)
        ):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def _json_scalar(value: Any) -> Any:
    """A json value fit to be a user attribute: scalars as they are (non-finite numbers as text),
    lists and objects as their compact JSON text, cut to :data:`MAX_ATTR_TEXT`."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value[:MAX_ATTR_TEXT]
    return json.dumps(value, separators=(",", ":"))[:MAX_ATTR_TEXT]


def _scalar_leaves(document: Any, prefix: str = "", depth: int = 0):  # type: ignore[no-untyped-def]
    """Every scalar of a json document with its dotted key, depth first (objects only: lists are
    kept whole), at most 8 levels deep."""
    if isinstance(document, Mapping) and depth < 8:
        for k, v in document.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, Mapping):
                yield from _scalar_leaves(v, key, depth + 1)
            elif ATTR_KEY_RE.fullmatch(key):
                yield key, _json_scalar(v)
