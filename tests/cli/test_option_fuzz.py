"""Every option of every ``tansaku`` subcommand, given hostile values, fails in one line.

The options are read from the real parser (``build_parser``), so a new option is fuzzed without
editing this file.  A numeric option given a hostile value (huge, 5000 digits, inf/nan,
negative, empty, NUL) must exit 2 with exactly one stderr line ``error: <option>: ...``; a text
option given an empty value or a NUL byte likewise; any other value of a text option may be
accepted or refused, but never with a traceback and, when refused, in one ``error:`` line.
"""

from __future__ import annotations

import argparse
import os
import textwrap

import pytest

import tansaku as tk
from tansaku.cli._main import build_parser, main

HOSTILE = [
    "9" * 5000,
    "1" + "0" * 30,
    "-1",
    "-99999999999999999999",
    "0",
    "inf",
    "-inf",
    "nan",
    "1e309",
    "",
    "a\x00b",
    "1\x00",
    " ",
]
# values no text option may take
TEXT_REFUSED = {"", "a\x00b", "1\x00", " "}
# hostile for most numbers, but a valid --port (any free) or --from-trial (the first trial)
MAY_BE_VALID = {"0"}
# a value of an option that is numeric although argparse does not know it (type=str)
NUMERIC_TEXT: set[tuple[str, str]] = set()


def _options() -> list[tuple[str, str, bool]]:
    """(subcommand, option, numeric) for every value-taking option of every subcommand."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = []
    for cmd, p in sub.choices.items():
        for a in p._actions:
            if not a.option_strings or a.nargs == 0:
                continue
            opt = "/".join(a.option_strings)  # as argparse and the error line name it
            numeric = a.type in (int, float) or (cmd, opt) in NUMERIC_TEXT
            out.append((cmd, opt, numeric))
    return out


OPTIONS = _options()


def test_every_subcommand_has_its_options_found():
    cmds = {c for c, _, _ in OPTIONS}
    assert {"run", "worker", "status", "best", "export", "report", "dashboard", "trial"} <= cmds
    assert ("report", "--dpi", True) in OPTIONS and ("export", "-o/--output", False) in OPTIONS
    assert ("report", "--dpi", True) in OPTIONS and ("dashboard", "--interval", True) in OPTIONS


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    d = tmp_path_factory.mktemp("optfuzz")
    (d / "study.yaml").write_text(
        textwrap.dedent(f"""
        name: fz
        storage: sqlite:///{d / "fz.db"}
        sampler: {{name: random, seed: 0}}
        n_trials: 2
        space:
          x: {{type: float, low: 0, high: 1}}
        command: [python3, -c, "print({{x}})"]
        """)
    )
    study = tk.create_study({"x": tk.Float(0, 1)}, storage=f"sqlite:///{d / 'fz.db'}", name="fz")
    study.optimize(lambda t: t.params["x"], n_trials=2)
    return d


def _argv(cmd: str, shown: str, value: str, cfg: str) -> list[str]:
    opt = shown.split("/")[-1]  # the long form
    if cmd == "trial":
        return [cmd, "fail", "0", cfg, f"{opt}={value}"]
    if cmd == "enqueue" and opt != "--params":
        return [cmd, cfg, "--params", '{"x": 0.5}', f"{opt}={value}"]
    return [cmd, cfg, f"{opt}={value}"]


@pytest.mark.parametrize(
    ("cmd", "opt", "numeric"), OPTIONS, ids=[f"{c} {o}" for c, o, _ in OPTIONS]
)
def test_hostile_option_values_fail_in_one_line(cmd, opt, numeric, project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    cfg = str(project / "study.yaml")
    # nothing may start for real: a run or dashboard that accepted its options stops here
    started = RuntimeError("accepted")

    def refuse(*a, **k):
        raise started

    import tansaku.study._study as study_mod

    monkeypatch.setattr(study_mod, "create_study", refuse)  # run, worker: after every check
    import tansaku.dashboard._server as server

    monkeypatch.setattr(server, "make_server", refuse)
    import tansaku.cli._noise as noise

    monkeypatch.setattr(noise, "reevaluate", refuse, raising=False)
    for value in HOSTILE:
        try:
            code = main(_argv(cmd, opt, value, cfg))
        except SystemExit as e:
            code = e.code
        except RuntimeError as e:
            if e is not started:
                raise
            code = 0
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        must_refuse = (numeric and value not in MAY_BE_VALID) or value in TEXT_REFUSED
        if must_refuse:
            assert code == 2, f"{cmd} {opt}={value[:40]!r}: exit {code}, stderr {err[-500:]!r}"
        if code != 0:
            assert len(lines) == 1 and lines[0].startswith("error: "), (
                f"{cmd} {opt}={value[:40]!r}: exit {code}, stderr {err[-800:]!r}"
            )
        if must_refuse:
            assert lines[0].startswith(f"error: {opt}"), (cmd, opt, value[:40], lines[0][:200])
        assert "Traceback" not in err
    assert os.path.exists(project / "fz.db")
