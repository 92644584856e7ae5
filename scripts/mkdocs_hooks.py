"""MkDocs hooks for the documentation site (mkdocs.yml names this file).

The README, ``benchmarks/RESULTS.md`` and ``CHANGELOG.md`` live outside ``docs/`` because they are
read on the repository page too.  :func:`on_files` adds them to the site as ``index.md``,
``results.md`` and ``changelog.md``; :func:`on_page_markdown` rewrites the links written for the
repository (``docs/x.md``, ``../benchmarks/RESULTS.md``) into site links, and turns a link to a
repository folder or file that is not a page (``../examples/training``) into its path in code
style, so ``mkdocs build --strict`` has nothing to complain about that a reader would not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: repository file -> the page it becomes
EXTERNAL_PAGES = {
    "README.md": "index.md",
    "benchmarks/RESULTS.md": "results.md",
    "CHANGELOG.md": "changelog.md",
}

_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for source, page in EXTERNAL_PAGES.items():
        text = (ROOT / source).read_text(encoding="utf-8")
        files.append(File.generated(config, page, content=text))
    return files


def _site_target(repo_path: str) -> str | None:
    """The site page or docs file for a repository path, or None when it is not on the site."""
    norm = Path(repo_path).as_posix()
    if norm in EXTERNAL_PAGES:
        return EXTERNAL_PAGES[norm]
    if norm.startswith("docs/"):
        return norm[len("docs/"):]
    return None


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    src = page.file.src_uri
    # where the page's text lives in the repository, to resolve its relative links
    origin = next((s for s, p in EXTERNAL_PAGES.items() if p == src), f"docs/{src}")
    base = Path(origin).parent

    def fix(m: re.Match[str]) -> str:
        bang, label, target = m.groups()
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            return m.group(0)
        path, sep, anchor = target.partition("#")
        repo_path = (base / path).as_posix()
        parts: list[str] = []
        for piece in repo_path.split("/"):  # normalise a/../b without touching the filesystem
            if piece == "..":
                if parts:
                    parts.pop()
            elif piece not in ("", "."):
                parts.append(piece)
        repo_path = "/".join(parts)
        site = _site_target(repo_path)
        if site is None:
            return f"{label} (`{repo_path}` in the source tree)" if not bang else m.group(0)
        here = Path(src).parent
        rel = Path(*[".."] * len(here.parts), site).as_posix() if here.parts else site
        return f"{bang}[{label}]({rel}{sep}{anchor})"

    return _LINK.sub(fix, markdown)
