"""Issue 13.10: running a shipped example leaves nothing `git status` shows (databases, their
lock files, trial directories are all ignored)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_running_the_quickstart_leaves_only_ignored_files(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    example = ROOT / "examples" / "quickstart"
    copy = tmp_path / "quickstart"
    shutil.copytree(example, copy)
    before = {p.relative_to(copy) for p in copy.rglob("*")}
    out = subprocess.run(
        [sys.executable, "-m", "tansaku", "run", "-q", "study.yaml", "--n-trials", "2"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert out.returncode == 0, out.stderr
    made = sorted(
        str((example / p.relative_to(copy)).relative_to(ROOT))
        for p in copy.rglob("*")
        if p.is_file() and p.relative_to(copy) not in before
    )
    assert any(m.endswith(".db.lock") for m in made) or any("runs/" in m for m in made), made
    check = subprocess.run(
        ["git", "check-ignore", "--no-index", "-v", "-n", *made],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    not_ignored = [
        line.split("\t")[-1] for line in check.stdout.splitlines() if line.startswith("::")
    ]
    assert not_ignored == [], not_ignored
