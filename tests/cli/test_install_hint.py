"""Issue 13.9: the README's first command installs what every README command needs, and a
missing extra's hint fits how tansaku was installed (a clone: ``pip install '.[plot]'``; from
PyPI: ``pip install 'tansaku[plot]'``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tansaku as tk
from tansaku._install import install_hint, source_checkout

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_first_command_installs_the_extras_tansaku_report_needs():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    readme = (ROOT / "README.md").read_text()
    first = re.search(r"```bash\n(.*?)\n```", readme, re.S).group(1)  # the first command
    install = re.search(r"pip install '\.\[([a-z,]+)\]'", first)
    assert install, first
    extras = set(install.group(1).split(","))
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert extras <= set(declared["optional-dependencies"])
    assert {
        "plot",
        "importance",
    } <= extras  # matplotlib for every plot, scikit-learn for importance
    assert "tansaku report" in readme and "tansaku run examples/quickstart/study.yaml" in first


def test_a_package_from_an_index_gets_the_registry_hint(tmp_path):
    pkg = tmp_path / "lib" / "python3.11" / "site-packages" / "tansaku"
    pkg.mkdir(parents=True)
    wheel = json.dumps(
        {"url": "https://example.org/tansaku-0.1-py3-none-any.whl", "archive_info": {}}
    )
    assert source_checkout(pkg, None) is None
    assert source_checkout(pkg, wheel) is None
    assert install_hint("plot", checkout=None) == "pip install 'tansaku[plot]'"


def test_a_clone_gets_the_local_hint(tmp_path):
    clone = tmp_path / "my clone"
    (clone / "src" / "tansaku").mkdir(parents=True)
    (clone / "pyproject.toml").write_text('[project]\nname = "tansaku"\n')
    assert source_checkout(clone / "src" / "tansaku", None) == clone  # PYTHONPATH=src, editable
    # `pip install .` copies the package away; pip's direct_url.json still names the clone
    site = tmp_path / "site-packages" / "tansaku"
    local = json.dumps({"url": (clone).as_uri(), "dir_info": {}})
    assert source_checkout(site, local) == clone
    hint = install_hint("plot", checkout=clone)
    assert hint == f"pip install '.[plot]' (in the tansaku clone at {clone})"
    assert "tansaku[plot]" not in hint


def test_tansaku_report_without_matplotlib_names_the_extra_for_this_clone(tmp_path):
    storage = f"sqlite:///{tmp_path / 'r.db'}"
    study = tk.create_study({"x": tk.Float(0, 1)}, storage=storage, name="r", seed=0)
    study.optimize(lambda t: t.params["x"], n_trials=2)
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"  # as right after `pip install .`
        "from tansaku.cli import main\n"
        f"sys.exit(main(['report', '--storage', {storage!r}, '--study', 'r', "
        f"'-o', {str(tmp_path / 'rep')!r}]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"error: tansaku plots need matplotlib: pip install '.[plot]' (in the tansaku clone at {ROOT})"
    )
