"""A config's ``objective: file.py:function`` / ``module:function``, importable in every process.

:class:`ImportedFunction` imports its target the way Python would run it:

* ``file.py:function``: like ``python file.py``, the file's directory goes first on ``sys.path``
  before the file is executed, so ``from helper import score`` finds ``helper.py`` next to it.
  The file is imported once per process, as module ``tansaku_objective_<stem>``.
* ``module:function``: the config's directory goes first on ``sys.path``, then the module is
  imported as usual.

It pickles as its reference (``ref``, ``base_dir``), not as the function: a process that
unpickles it (a spawned local worker, a Dask worker, a batch job's ``_jobrun``) imports the
target again with the same ``sys.path`` rule, so a function whose module exists only because
tansaku executed a file works there too (given the file is reachable at the same path).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from tansaku._errors import ConfigError

__all__ = ["ImportedFunction"]

#: file path -> module, so a process imports each objective file once
_FILES: dict[Path, ModuleType] = {}


def _first_on_path(directory: Path) -> None:
    entry = str(directory)
    if entry not in sys.path:
        sys.path.insert(0, entry)


def _import_file(path: Path) -> ModuleType:
    module = _FILES.get(path)
    if module is not None:
        return module
    _first_on_path(path.parent)
    spec = importlib.util.spec_from_file_location(f"tansaku_objective_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    _FILES[path] = module
    return module


class ImportedFunction:
    """``ref`` (``file.py:function`` or ``module:function``, relative to ``base_dir``) imported.

    Calling it calls the function.  Bad references and import errors raise a one-line
    :class:`~tansaku.ConfigError` on field ``objective``.  See the module docstring for the
    ``sys.path`` rule and for pickling.
    """

    def __init__(self, ref: str, base_dir: str | Path) -> None:
        self.ref, self.base_dir = ref, str(base_dir)
        self.function = self._load()

    def _load(self) -> Callable[..., Any]:
        target, _, func = self.ref.rpartition(":")
        if not target or not func:
            raise ConfigError(
                f"expected 'file.py:function' or 'module:function', got {self.ref!r}",
                field="objective",
            )
        base = Path(self.base_dir)
        try:
            if target.endswith(".py"):
                path = Path(target) if Path(target).is_absolute() else base / target
                if not path.is_file():
                    raise ConfigError(f"no such file: {path}", field="objective")
                module = _import_file(path.resolve())
            else:
                _first_on_path(base)
                module = importlib.import_module(target)
        except ConfigError:
            raise
        except Exception as e:
            raise ConfigError(
                f"cannot import {target}: {type(e).__name__}: {e}", field="objective"
            ) from None
        fn = getattr(module, func, None)
        if not callable(fn):
            raise ConfigError(f"{target} has no function {func!r}", field="objective")
        return fn  # type: ignore[no-any-return]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (ImportedFunction, (self.ref, self.base_dir))

    def __repr__(self) -> str:
        return f"ImportedFunction({self.ref!r})"
