"""Objective output that is huge, binary, non-UTF-8 or never ends is bounded in memory and time,
and the fast chunk parser means exactly what the line-by-line definition says."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tansaku.objectives import OutputParser, ResultSpec
from tansaku.objectives._output import _NUMBER_RE, REPORT_RE

PY = sys.executable
SRC = str(Path(__file__).resolve().parents[2] / "src")

DRIVER = textwrap.dedent("""
    import json, sys, time
    import tansaku as tk

    def rss_mb(key="VmRSS"):  # VmHWM: the peak of this process image (ru_maxrss would include
        with open("/proc/self/status") as f:  # the parent's peak from before exec)
            return next(int(l.split()[1]) for l in f if l.startswith(key)) / 1024

    py = sys.executable
    forever = {
        "short lines": ["yes"],
        "one endless line": [py, "-c", "import sys\\nwhile True: sys.stdout.write('x' * 65536)"],
        "binary": [py, "-c", "import os, sys\\nb = os.urandom(1 << 20)\\n"
                   "while True: sys.stdout.buffer.write(b)"],
        "numbers, not utf-8": [py, "-c", "import sys\\nwhile True: "
                               "sys.stdout.buffer.write(b'\\\\xff\\\\xfe loss 0.5\\\\n' * 4096)"],
    }
    names = list(forever)
    study = tk.create_study({"k": tk.Categorical(names)}, seed=0)
    for k in names:
        study.enqueue({"k": k})
    class Forever(tk.Command):
        def render(self, job):
            return forever[job.params["k"]]

    cmd = Forever(["x"], max_log_bytes=4 << 20, kill_grace=0.5)
    before = rss_mb()
    t0 = time.monotonic()
    study.optimize(cmd, n_trials=4, n_workers=4, trial_timeout=2, workdir=sys.argv[1],
                   timeout=0.5, max_failures=None, executor="local")  # just the 4 enqueued
    peak = rss_mb("VmHWM")
    print(json.dumps({"elapsed": time.monotonic() - t0, "rss_before": before, "peak": peak,
                      "trials": [[t.params["k"], t.state.value, t.message]
                                 for t in study.trials]}))
""")


def test_commands_printing_forever_are_stopped_and_memory_stays_bounded(tmp_path):
    out = subprocess.run(
        [PY, "-c", DRIVER, str(tmp_path / "runs")],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.splitlines()[-1])
    print(r)
    assert len(r["trials"]) == 4
    for kind, state, message in r["trials"]:
        assert state == "failed" and message == "timeout: killed after 2 s", kind
    # every trial printed more than it was allowed to log, so the bound was really tested
    logs = sorted((tmp_path / "runs").glob("trial-*/stdout.txt"))
    assert [p.stat().st_size for p in logs] == [4 << 20] * 4
    assert r["elapsed"] < 30  # 2 s timeout + 0.5 s grace, with room for a loaded machine
    assert r["peak"] - r["rss_before"] < 50, r  # MiB: nothing grows with the output


lines = st.lists(
    st.one_of(
        st.text(alphabet="ab xyz-.:=eE", max_size=12),
        st.builds(lambda a, b: f"loss {a} acc {b}", st.floats(allow_nan=True), st.integers()),
        st.builds(
            lambda s, v: f"tansaku:report step={s} value={v}",
            st.integers(0, 99),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        st.sampled_from(["nan", "INF", "val=3", "x" * 300, "1e5x", "\r", "é 2.5", "0.5\r"]),
    ),
    max_size=30,
)


def _reference(text: str, max_line: int) -> tuple[str | None, list[tuple[int, float]]]:
    """The definition, line by line: reports in order; the last number on a non-report line."""
    last, reports = None, []
    parts = text.split("\n")
    for raw in parts[:-1] + ([parts[-1]] if parts[-1] else []):
        line = raw.encode()[-max_line:].decode("utf-8", errors="replace").rstrip("\r")
        m = REPORT_RE.match(line)
        if m:
            try:
                v = float(m.group(2))
            except ValueError:
                v = math.nan
            if math.isfinite(v):
                reports.append((int(m.group(1)), v))
            continue
        found = _NUMBER_RE.findall(line)
        if found:
            last = found[-1]
    return last, reports


@settings(max_examples=300, deadline=None)
@given(lines, st.lists(st.integers(1, 64), min_size=1, max_size=20), st.booleans())
def test_chunked_parser_matches_the_line_by_line_definition(ls, cuts, trailing):
    text = "\n".join(ls) + ("\n" if trailing else "")
    data = text.encode()
    got: list[tuple[int, float]] = []
    p = OutputParser(ResultSpec(), on_report=lambda s, v: got.append((s, v)), max_line=200)
    i = k = 0
    while i < len(data):
        n = cuts[k % len(cuts)]
        p.feed(data[i : i + n])
        i, k = i + n, k + 1
    p.close()
    want_last, want_reports = _reference(text, 200)
    assert got == want_reports
    assert p.last_text == want_last
