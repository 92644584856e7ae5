"""Packaging promises: the declared setuptools floor really builds tansaku, one version number,
a LICENSE in the wheel, and ``[all]`` is the union of the user-facing extras."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11 (CI's interpreter)

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
#: extras for working on tansaku itself, not part of [all]
DEV_EXTRAS = {"test", "bench", "dev", "docs", "all"}


def _source_version() -> str:
    tree = ast.parse((ROOT / "src" / "tansaku" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("no __version__ in tansaku/__init__.py")


def test_version_has_one_source() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "tansaku.__version__"}


def test_all_extra_is_the_union_of_the_user_facing_extras() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    union = {req for name, reqs in extras.items() if name not in DEV_EXTRAS for req in reqs}
    assert set(extras["all"]) == union


def test_license_file_matches_metadata() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


@pytest.mark.slow
def test_builds_with_the_minimum_setuptools_without_build_isolation(tmp_path: Path) -> None:
    """A clean venv with exactly the declared setuptools floor (from PyPI) and nothing else builds
    and installs tansaku with ``--no-build-isolation``, as on an HPC system without index access at
    build time."""
    (floor_req,) = PYPROJECT["build-system"]["requires"]
    m = re.fullmatch(r"setuptools>=([\d.]+)", floor_req)
    assert m, floor_req
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(py), "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", f"setuptools=={m.group(1)}"], check=True)
    build = subprocess.run(
        [*pip, "install", "-q", "--no-build-isolation", "--no-deps", str(ROOT)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    probe = (
        "import importlib.metadata as m; d = m.distribution('tansaku');"
        "print(d.version); print(d.metadata['License-Expression']);"
        "print(any(str(f).endswith('LICENSE') for f in d.files))"
    )
    out = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [_source_version(), "MIT", "True"]
