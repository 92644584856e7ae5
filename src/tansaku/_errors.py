"""The one exception family for framework misuse.

Objective failures are *data* (a FAILED trial keeps the message and the stderr tail); these
exceptions are for mistakes in how tansaku itself is used: a bad search space, a bad config, a
storage that cannot be reached.  Every message says what was expected and what was got, on one line.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DiskFullError",
    "DuplicatedStudyError",
    "StorageError",
    "StudyNotFoundError",
    "TansakuError",
    "TrialPruned",
]


class TansakuError(Exception):
    """Root of every error tansaku raises on purpose."""


class ConfigError(TansakuError, ValueError):
    """A search space, option or YAML config is invalid.

    ``field`` names the offending field (dotted path, e.g. ``space.lr.low``) when known; ``str()``
    of the error is always a single line that starts with it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        message = " ".join(str(message).split())  # one line, always
        if field is not None and not field.isprintable():
            field = repr(field)  # a key like "a\nb" from a fuzzed config stays on one line
        self.field = field
        self.reason = message
        super().__init__(f"{field}: {message}" if field else message)


class StorageError(TansakuError):
    """The storage could not be read or written (after retries)."""


class DiskFullError(TansakuError):
    """A study's run directory could not be written: its file system is full or over quota.

    ``trial_id`` is the trial whose directory it was, when known (the coordinator re-queues it).
    """

    def __init__(self, message: str, *, trial_id: int | None = None) -> None:
        super().__init__(message)
        self.trial_id = trial_id


class StudyNotFoundError(TansakuError, KeyError):
    """``load_study`` was asked for a study that does not exist."""

    def __str__(self) -> str:  # KeyError would add quotes
        return str(self.args[0]) if self.args else "study not found"


class DuplicatedStudyError(TansakuError):
    """``create_study`` found an existing study of that name and ``load_if_exists`` was False."""


class TrialPruned(Exception):
    """Raise inside an objective to stop the trial early; it is stored as PRUNED.

    Deliberately *not* a TansakuError: it is control flow, not misuse.
    """
