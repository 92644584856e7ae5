"""Study names: what is allowed, and how a name becomes a directory or file name."""

from __future__ import annotations

import re
from typing import Any

from tansaku._errors import ConfigError

__all__ = ["check_name", "dir_name"]


def dir_name(name: str) -> str:
    """The study name as one safe path component (for ``runs/<name>/`` and the default database):
    anything but letters, digits, ``_ . -`` becomes ``_``, and ``.``/``..`` cannot climb out."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return "_" * len(safe) if set(safe) <= {"."} else safe


def check_name(name: Any) -> str:
    """A study name: a non-empty printable string of at most 256 characters."""
    if not isinstance(name, str) or not name.strip() or len(name) > 256 or not name.isprintable():
        raise ConfigError(
            "must be a non-empty printable string of at most 256 characters", field="name"
        )
    return name
