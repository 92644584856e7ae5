"""The documentation site builds with ``mkdocs build --strict`` (mkdocs.yml).

Strict mode turns every warning into a failure: a link to a missing page or anchor, a docs page left
out of the nav, an API entry that names an object that does not exist.  The API reference is
generated from the docstrings, so this also checks that the objects it documents still exist and
still say what they promise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")


def _build(tmp_path: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config),
         "-d", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("docs")
    proc = _build(tmp, ROOT / "mkdocs.yml")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "site"


def test_the_site_builds_strict_with_every_guide_and_the_api(site: Path) -> None:
    for page in ("index.html", "guarantees/index.html", "results/index.html",
                 "changelog/index.html", "api/study/index.html", "api/samplers/index.html"):
        assert (site / page).is_file(), page
    study = (site / "api/study/index.html").read_text(encoding="utf-8")
    # the reference comes from the docstrings: create_study's own first sentence is on the page
    assert "Create a study" in study and "load_if_exists" in study
    samplers = (site / "api/samplers/index.html").read_text(encoding="utf-8")
    for cls in ("TPESampler", "NelderMeadSampler", "GPSampler", "CmaEsSampler"):
        assert cls in samplers, cls
    # Sphinx roles in docstrings are stripped (scripts/griffe_roles.py), never printed
    assert ":func:" not in samplers and ":class:" not in study


def test_the_readme_links_become_site_links(site: Path) -> None:
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="docs/' not in home  # rewritten by scripts/mkdocs_hooks.py
    assert 'href="guarantees/' in home and 'href="results/' in home


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    """The check can fail: a copy of the docs with one dead link is refused."""
    import shutil

    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    (docs / "executors.md").write_text(
        (docs / "executors.md").read_text(encoding="utf-8") + "\n[gone](no-such-page.md)\n",
        encoding="utf-8",
    )
    config = tmp_path / "mkdocs.yml"
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    text = text.replace("docs_dir: docs", f"docs_dir: {docs}")
    text = text.replace("scripts/mkdocs_hooks.py", str(ROOT / "scripts/mkdocs_hooks.py"))
    text = text.replace("scripts/griffe_roles.py", str(ROOT / "scripts/griffe_roles.py"))
    text = text.replace("paths: [src]", f"paths: [{ROOT / 'src'}]")
    config.write_text(text, encoding="utf-8")
    proc = _build(tmp_path, config)
    assert proc.returncode != 0
    assert "no-such-page.md" in proc.stderr
