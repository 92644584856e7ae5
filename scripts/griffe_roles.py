"""A griffe extension for the API reference (mkdocs.yml loads it).

tansaku's docstrings are written for ``help()`` and Sphinx-style readers: they name other objects
with roles such as ``:func:`make_sampler``` and ``:class:`Outcome```.  Markdown has no roles, so the
site would print ``:func:`` before the name; this strips the role and keeps the name as code.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|obj|exc|const):`~?([^`]+)`")


class StripRoles(Extension):
    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        doc = getattr(obj, "docstring", None)
        if doc is not None and doc.value:
            doc.value = _ROLE.sub(lambda m: f"``{m.group(1)}``", doc.value)
