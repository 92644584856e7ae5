"""Argv templates: ``["python", "train.py", "--lr", "{lr}"]`` -> one argv list per trial.

Fields are ``{name}``; ``{{`` and ``}}`` stand for literal braces.  For a conditional parameter
(one with ``when``) that is inactive in a trial, ``{name:TEXT}`` writes ``TEXT`` instead (e.g.
``{momentum:0.9}``), and ``{name?}`` drops its whole argv item -- together with the item just
before it when that one is a plain option flag (a literal starting with ``-``), so
``["--momentum", "{momentum?}"]`` disappears as a pair; ``--momentum={momentum?}`` drops alone.
A plain ``{name}`` of a conditional parameter is refused when the command is checked.
Substitution happens inside one
argv item and never goes through a shell, so a value containing spaces, quotes, ``;``, ``$()``,
newlines or braces reaches the program as exactly that text in exactly that argv item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tansaku._errors import ConfigError

__all__ = [
    "RESERVED_FIELDS",
    "format_value",
    "parse_template",
    "plain_fields",
    "render_template",
    "template_fields",
]

#: fields every command may use besides the parameters
RESERVED_FIELDS = (
    "trial_id",
    "trial_number",
    "workdir",
    "study",
    "seed",
    "setup_dir",
    "parent_dir",
)


Part = str | tuple[str] | tuple[str, str] | tuple[str, str, str]


def parse_template(item: str, *, field: str = "command") -> list[Part]:
    """Split an argv item into literal strings and field references: ``(name,)``,
    ``(name, "?")`` (drop when inactive) or ``(name, ":", default)``."""
    if not isinstance(item, str):
        raise ConfigError(
            f"each argv item must be a string, got {type(item).__name__}", field=field
        )
    parts: list[Part] = []
    buf: list[str] = []
    i, n = 0, len(item)
    while i < n:
        c = item[i]
        if c == "{":
            if i + 1 < n and item[i + 1] == "{":
                buf.append("{")
                i += 2
                continue
            end = item.find("}", i + 1)
            if end < 0:
                raise ConfigError(
                    f"unclosed '{{' in {item!r} (write '{{{{' for a literal brace)", field=field
                )
            name = item[i + 1 : end].strip()
            if not name or "{" in name:
                raise ConfigError(f"empty or nested field in {item!r}", field=field)
            ref: Part = (name,)
            if ":" in name:
                name, default = name.split(":", 1)
                ref = (name.strip(), ":", default)
            elif name.endswith("?"):
                ref = (name[:-1].strip(), "?")
            if not ref[0]:
                raise ConfigError(f"empty field in {item!r}", field=field)
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(ref)
            i = end + 1
        elif c == "}":
            if i + 1 < n and item[i + 1] == "}":
                buf.append("}")
                i += 2
                continue
            raise ConfigError(
                f"single '}}' in {item!r} (write '}}}}' for a literal brace)", field=field
            )
        else:
            buf.append(c)
            i += 1
    if buf:
        parts.append("".join(buf))
    return parts


def template_fields(argv: Sequence[str], *, field: str = "command") -> set[str]:
    names: set[str] = set()
    for k, item in enumerate(argv):
        for part in parse_template(item, field=f"{field}[{k}]"):
            if isinstance(part, tuple):
                names.add(part[0])
    return names


def plain_fields(argv: Sequence[str], *, field: str = "command") -> set[str]:
    """Fields used without a default or ``?`` (these must always have a value)."""
    names: set[str] = set()
    for k, item in enumerate(argv):
        for part in parse_template(item, field=f"{field}[{k}]"):
            if isinstance(part, tuple) and len(part) == 1:
                names.add(part[0])
    return names


def format_value(value: Any) -> str:
    """How a parameter value is written into argv: floats in the shortest exact form (``0.001``,
    ``1e-05``), booleans as ``true``/``false``, None as ``null``, everything else with ``str``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)  # shortest round-trip form; 3.0 stays '3.0'
    return str(value)


def _is_flag(parts: Sequence[Part]) -> bool:
    return len(parts) == 1 and isinstance(parts[0], str) and parts[0].startswith("-")


def render_template(parsed: Sequence[Sequence[Part]], values: Mapping[str, Any]) -> list[str]:
    """One argv list; a field missing from ``values`` (an inactive parameter) takes its default
    or drops its item (see the module docstring); a plain one is a KeyError."""
    out: list[str] = []
    for k, parts in enumerate(parsed):
        if any(isinstance(p, tuple) and len(p) == 2 and p[0] not in values for p in parts):
            if k and out and _is_flag(parsed[k - 1]):
                out.pop()
            continue
        text = []
        for p in parts:
            if isinstance(p, str):
                text.append(p)
            elif p[0] in values:
                text.append(format_value(values[p[0]]))
            elif len(p) == 3:
                text.append(p[2])
            else:
                raise KeyError(p[0])
        out.append("".join(text))
    return out
