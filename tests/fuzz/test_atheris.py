"""Run the coverage-guided fuzz harness (tests/fuzz/atheris_harness.py) for a bounded number of
inputs.  libFuzzer exits non-zero and prints the input on any exception other than ConfigError."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import import_or_unavailable

HARNESS = Path(__file__).with_name("atheris_harness.py")
SRC = str(Path(__file__).resolve().parents[2] / "src")
RUNS = 20_000


@pytest.mark.slow
@pytest.mark.skipif(sys.version_info >= (3, 12), reason="atheris wheels: Python <= 3.11 only")
def test_atheris_finds_nothing(tmp_path):
    import_or_unavailable("atheris", "test")
    out = subprocess.run(
        [sys.executable, str(HARNESS), str(tmp_path / "corpus"), f"-runs={RUNS}", "-max_len=2048"],
        env={**os.environ, "PYTHONPATH": SRC},
        cwd=tmp_path,  # a finding is written here as crash-*
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    assert f"Done {RUNS} runs" in out.stderr
