"""CPU ms per trial of ``start_trial`` + ``finish_trial`` on one storage: the storage hot path
alone (no sampler, executor or study loop), to compare two revisions of the storage layer.

    PYTHONPATH=<rev>/src nice -n 15 python benchmarks/storage_calls.py memory 20000
    PYTHONPATH=<rev>/src nice -n 15 python benchmarks/storage_calls.py sqlite 1500
"""

from __future__ import annotations

import sys
import tempfile
import time

import tansaku as tk
from tansaku._records import TrialState
from tansaku.storage import InMemoryStorage, get_storage


def main(kind: str, n: int) -> None:
    folder = tempfile.mkdtemp()
    st = InMemoryStorage() if kind == "memory" else get_storage(f"sqlite:///{folder}/b.db")
    info = st.create_study("b", space=tk.Space({"x": tk.Float(0, 1)}), direction="minimize")
    t0 = time.process_time()
    for i in range(n):
        t = st.start_trial(info.study_id, {"x": 0.5}, worker="w")
        assert t is not None
        st.finish_trial(t.trial_id, worker="w", state=TrialState.COMPLETE, value=float(i))
    print(f"{kind} {1000 * (time.process_time() - t0) / n:.4f} ms cpu/trial")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
