"""Several values and constraints read from a command's output (issue 18)."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

import tansaku as tk
from tansaku import ConfigError, TrialState
from tansaku.objectives._output import OutputParser, ResultSpec, parse_constraints


def _parse(text: str, spec=None, constraints=None, workdir=None, chunk: int = 7):
    p = OutputParser(
        ResultSpec.parse(spec), constraints=parse_constraints(constraints) if constraints else None
    )
    data = text.encode()
    for i in range(0, len(data), chunk):  # arrive in pieces, as from a pipe
        p.feed(data[i : i + chunk])
    p.close()
    return p.values(workdir), p.constraints(workdir)


def test_last_numbers_takes_the_last_n_in_order_and_skips_control_lines():
    out = "epoch 1 loss 0.9\nloss 0.25 time 3.5\ntansaku:constraint mem=-2\ntansaku:report step=1 value=7\n"
    (values, reason), (cons, missing) = _parse(out, {"last_numbers": 2})
    assert values == (0.25, 3.5) and reason is None
    assert cons == {"mem": -2.0} and missing is None
    (values, reason), _ = _parse("only 1\n", {"last_numbers": 2})
    assert values is None and "printed 1 numbers" in reason and "wants 2" in reason


def test_regex_with_several_groups_and_json_keys(tmp_path):
    out = "val=0.5 t=2\nval=0.3 t=4\n"
    (values, reason), _ = _parse(out, {"regex": r"val=(\S+) t=(\S+)"})
    assert values == (0.3, 4.0), reason
    (tmp_path / "m.json").write_text(json.dumps({"val": {"loss": 0.1}, "time": 12, "mem": 3}))
    (values, _), (cons, missing) = _parse(
        "",
        {"json": "m.json", "keys": ["val.loss", "time"]},
        constraints={"mem": {"json": "m.json", "key": "mem"}, "lat": {"regex": r"lat=(\S+)"}},
        workdir=tmp_path,
    )
    assert values == (0.1, 12.0)
    assert cons == {"mem": 3.0} and "constraint 'lat'" in missing


def test_declared_constraint_missing_is_a_reason():
    _, (cons, missing) = _parse("0.5\n", None, constraints=["mem"])
    assert cons == {} and "constraint 'mem' was not given" in missing
    _, (cons, missing) = _parse("0.5\ntansaku:constraint mem=1.5\n", None, constraints=["mem"])
    assert cons == {"mem": 1.5} and missing is None


def test_bad_specs_are_config_errors():
    with pytest.raises(ConfigError, match="result.last_numbers"):
        ResultSpec.parse({"last_numbers": 0})
    with pytest.raises(ConfigError, match="result.keys"):
        ResultSpec.parse({"json": "m.json", "keys": "a"})
    with pytest.raises(ConfigError, match="constraints.mem"):
        parse_constraints({"mem": {"last_numbers": 2}})


PROGRAM = textwrap.dedent(
    """
    import sys
    x, y = float(sys.argv[1]), float(sys.argv[2])
    print(f"tansaku:constraint xy={x + y - 1.5}")
    print(f"error {x * x + y} time {1 + y}")
    """
)


def test_command_gives_two_values_and_a_constraint(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM)
    cmd = tk.Command(
        [sys.executable, str(prog), "{x}", "{y}"],
        result={"last_numbers": 2},
        constraints=["xy"],
        base_dir=tmp_path,
    )
    study = tk.create_study(
        {"x": tk.Float(0, 1), "y": tk.Float(0, 1)},
        directions=["minimize", "minimize"],
        sampler="random",
        seed=3,
    )
    study.optimize(cmd, n_trials=4, n_workers=2)
    for t in study.trials:
        x, y = t.params["x"], t.params["y"]
        assert t.state is TrialState.COMPLETE
        assert t.values == pytest.approx((x * x + y, 1 + y))
        assert t.constraints["xy"] == pytest.approx(x + y - 1.5)
    assert all(t.is_feasible for t in study.best_trials)
