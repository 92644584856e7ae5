"""A multi-objective study with a constraint through YAML: run, best, status, export (issue 18)."""

from __future__ import annotations

import csv
import io
import json
import textwrap

from tansaku.cli._main import main
from tests.cli.test_cli import tansaku


def _read(capsys, *args: str) -> str:
    """A read-only command run in this process (no interpreter start-up per call)."""
    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out


PROG = """
import sys
x, y = float(sys.argv[1]), float(sys.argv[2])
print(f"tansaku:constraint budget={x + y - 1.2}")
print("error", round(x, 6), "time", round(1 - x + y, 6))
"""


def _write(tmp, extra=""):
    (tmp / "prog.py").write_text(PROG)
    (tmp / "mo.yaml").write_text(
        textwrap.dedent(
            """
            name: mo
            n_trials: 8
            n_workers: 2
            sampler: {name: nsga2, seed: 1, population_size: 4}
            directions: [minimize, minimize]
            objective_names: [error, time]
            result: {last_numbers: 2}
            constraints: [budget]
            space:
              x: {type: float, low: 0, high: 1}
              y: {type: float, low: 0, high: 1}
            command: [python, prog.py, "{x}", "{y}"]
            """
        )
        + extra
    )


def test_yaml_study_with_two_objectives_and_a_constraint(tmp_path, capsys):
    _write(tmp_path)
    run = tansaku("run", "mo.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    cfg = str(tmp_path / "mo.yaml")
    front = json.loads(_read(capsys, "best", cfg, "--json"))
    assert front["objective_names"] == ["error", "time"]
    assert front["front"] and all(t["constraints"]["budget"] <= 0 for t in front["front"])
    rows = json.loads(_read(capsys, "export", cfg, "--format", "json"))
    assert len([r for r in rows if r["state"] == "complete"]) == 8
    for r in rows:
        x, y = r["params"]["x"], r["params"]["y"]
        assert r["values"] == [round(x, 6), round(1 - x + y, 6)]
        assert abs(r["constraints"]["budget"] - (x + y - 1.2)) < 1e-9
        assert r["feasible"] == (x + y - 1.2 <= 0)
    # the front is exactly the non-dominated feasible rows
    ok = [r for r in rows if r["feasible"]]
    expect = sorted(
        r["number"]
        for r in ok
        if not any(
            all(a <= b for a, b in zip(o["values"], r["values"])) and o["values"] != r["values"]
            for o in ok
        )
    )
    assert [t["number"] for t in front["front"]] == expect
    table = list(csv.DictReader(io.StringIO(_read(capsys, "export", cfg))))
    assert {"values_error", "values_time", "constraints.budget", "feasible"} <= set(table[0])
    text = _read(capsys, "best", cfg)
    assert text.startswith(f"Pareto front: {len(expect)} trials (error minimize, time minimize)")
    status = _read(capsys, "status", cfg)
    assert "(minimize, minimize, sampler nsga2" in status and "Pareto front:" in status


def test_result_count_must_match_directions(tmp_path):
    _write(tmp_path)
    cfg = (tmp_path / "mo.yaml").read_text().replace("result: {last_numbers: 2}\n", "")
    (tmp_path / "mo.yaml").write_text(cfg)
    out = tansaku("run", "mo.yaml", cwd=tmp_path)
    assert out.returncode != 0
    assert "result: gives 1 value, the study has 2 objectives" in out.stderr
    assert not (tmp_path / "mo.db").exists()
