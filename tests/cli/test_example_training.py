"""The shipped training example stays valid: its configs load, its script reports per epoch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tansaku.cli._config import load_config
from tansaku.objectives._output import REPORT_RE

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "training"


def test_configs_load() -> None:
    mlp = load_config(EXAMPLE / "mlp.yaml")
    assert mlp.pruner["name"] == "asha" and mlp.command is not None
    warm = load_config(EXAMPLE / "mlp_warm.yaml")
    assert warm.setup is not None and "{setup_dir}" in warm.setup.run.argv


def test_script_reports_every_epoch_and_prints_the_final_loss(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLE / "train.py"), "--epochs", "3", "--save", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    ).stdout.splitlines()
    reports = [REPORT_RE.match(line) for line in out[:-1]]
    assert all(reports) and [int(m.group(1)) for m in reports if m] == [1, 2, 3]
    values = [float(m.group(2)) for m in reports if m]
    assert values == sorted(values, reverse=True)  # the kept checkpoint's loss never rises
    assert re.fullmatch(r"\d+\.\d+", out[-1]) and float(out[-1]) == values[-1]
    assert (tmp_path / "weights.npz").exists()
