"""Samplers sit below study, executors, objectives and storage (issue 14.5): importing one loads
none of them, so a sampler core stays light and has no back-arrow into the study."""

from __future__ import annotations

import json
import subprocess
import sys


def test_tpe_sampler_loads_no_executor_objective_or_storage_module():
    code = (
        "import json, sys, tansaku.samplers._tpe; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('tansaku'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    loaded = json.loads(out)
    assert "tansaku.samplers._tpe" in loaded
    below = ("tansaku.executors", "tansaku.objectives", "tansaku.storage")
    assert [m for m in loaded if m.startswith(below)] == []
