"""How to install an optional extra, said the way this copy of tansaku was installed.

A user of a clone (running from its ``src/``, an editable install, or ``pip install .``) must
install the extra from that clone, ``pip install '.[plot]'``: ``pip install 'tansaku[plot]'``
would fetch another tansaku from the registry.  Everyone else installed it from a package
index and gets ``pip install 'tansaku[plot]'``.

How a clone is told apart, first match wins:

1. the imported package sits in a source tree: ``<root>/src/tansaku`` with a ``pyproject.toml``
   in ``<root>`` naming the project ``tansaku`` (``PYTHONPATH=src`` or an editable install);
2. the installed distribution's ``direct_url.json`` (PEP 610, written by pip for an install
   from a local folder) names a ``file://`` folder: ``pip install .`` / ``pip install -e .``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["install_hint", "source_checkout"]


def source_checkout(package_dir: Path, direct_url: str | None) -> Path | None:
    """The clone this tansaku was installed from (see the module docstring), else None.

    ``package_dir``: the folder of the imported ``tansaku`` package; ``direct_url``: the text of
    the installed distribution's ``direct_url.json``, if any."""
    root = package_dir.parent.parent
    if package_dir.parent.name == "src":
        try:
            text = (root / "pyproject.toml").read_text(encoding="utf-8")
        except OSError:
            text = ""
        if 'name = "tansaku"' in text:
            return root
    if direct_url:
        try:
            data = json.loads(direct_url)
        except ValueError:
            return None
        url = data.get("url") if isinstance(data, dict) else None
        if isinstance(url, str) and url.startswith("file://") and "dir_info" in data:
            return Path(unquote(urlparse(url).path))
    return None


def _direct_url() -> str | None:
    from importlib import metadata

    try:
        return metadata.distribution("tansaku").read_text("direct_url.json")
    except (metadata.PackageNotFoundError, OSError):
        return None


@functools.lru_cache(maxsize=1)
def _checkout() -> Path | None:
    import tansaku

    return source_checkout(Path(tansaku.__file__).resolve().parent, _direct_url())


def install_hint(extra: str, *, checkout: Path | bool | None = True) -> str:
    """The command that installs ``extra``: ``pip install '.[plot]' (in the tansaku clone at
    /path)`` for a clone, else ``pip install 'tansaku[plot]'``.  ``checkout``: the clone to
    name, None for none, True (default) to detect it."""
    where = _checkout() if checkout is True else checkout
    if isinstance(where, Path):
        return f"pip install '.[{extra}]' (in the tansaku clone at {where})"
    return f"pip install 'tansaku[{extra}]'"
