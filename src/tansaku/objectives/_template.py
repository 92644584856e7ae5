"""Argv templates: ``["python", "train.py", "--lr", "{lr}"]`` -> one argv list per trial.

Fields are ``{name}``; ``{{`` and ``}}`` stand for literal braces.  Substitution happens inside one
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
    "render_template",
    "template_fields",
]

#: fields every command may use besides the parameters
RESERVED_FIELDS = ("trial_id", "trial_number", "workdir", "study", "seed", "setup_dir")


def parse_template(item: str, *, field: str = "command") -> list[str | tuple[str]]:
    """Split an argv item into literal strings and ``(name,)`` field references."""
    if not isinstance(item, str):
        raise ConfigError(
            f"each argv item must be a string, got {type(item).__name__}", field=field
        )
    parts: list[str | tuple[str]] = []
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
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append((name,))
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


def render_template(
    parsed: Sequence[Sequence[str | tuple[str]]], values: Mapping[str, Any]
) -> list[str]:
    out = []
    for parts in parsed:
        out.append("".join(p if isinstance(p, str) else format_value(values[p[0]]) for p in parts))
    return out
