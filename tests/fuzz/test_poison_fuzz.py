"""Fuzzing the poison-input surfaces of issue 20: raw results, report lines, stored text, ``tell``.

Every raw result becomes a float or a reason (never an exception); every ``tansaku:report`` line
either reports a step every storage keeps or records one problem; every text a trial produces is
stored and read back on SQLite (PostgreSQL in tests/study/test_journal.py); ``tell`` with any value
or state finishes the trial or raises ConfigError and leaves it running.
"""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tansaku as tk
from tansaku import ConfigError, TrialState
from tansaku._trial import MAX_STEP
from tansaku.objectives import OutputParser, ResultSpec, as_value
from tests.fuzz.test_api_fuzz import anything

numbers = st.one_of(
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True),
    st.fractions(),
)


@given(st.one_of(numbers, anything))
def test_as_value_is_total(raw):
    value, reason = as_value(raw)
    assert (value is None) != (reason is None)
    assert reason is None or "\n" not in reason


steps = st.one_of(
    st.integers(min_value=0, max_value=2**64).map(str),
    st.integers(min_value=0, max_value=10**6000).map(lambda n: str(n % 10**4000)),
    st.text("0123456789\u0660\u0661\u0662", min_size=1, max_size=40),
)


@given(st.lists(st.tuples(steps, st.floats()), max_size=5))
def test_report_lines_report_storable_steps_or_one_problem(lines):
    seen: list[int] = []
    p = OutputParser(ResultSpec(), on_report=lambda s, v: seen.append(s))
    p.feed(b"".join(f"tansaku:report step={s} value={v}\n".encode() for s, v in lines))
    p.close()
    assert all(0 <= s <= MAX_STEP for s in seen)
    assert p.problem is None or ("\n" not in p.problem and p.value()[1] == p.problem)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(), st.text(), st.one_of(numbers, st.text(), st.none(), st.booleans()), st.text())
def test_tell_stores_any_text_or_refuses_with_config_error(tmp_path, message, stderr, value, state):
    study = tk.create_study(
        {"x": tk.Float(0, 1)}, storage=f"sqlite:///{tmp_path}/f.db", name="f", load_if_exists=True
    )
    t = study.ask()
    try:
        done = study.tell(t, value, message=message)
    except ConfigError as e:
        assert "\n" not in str(e)
        assert study.storage.get_trial(t.trial_id).state is TrialState.RUNNING
        done = study.tell(t, state="failed", message=message)
    assert "\0" not in (done.message or "")
    t2 = study.ask()
    study.storage.finish_trial(t2.trial_id, worker=None, state=TrialState.FAILED, stderr=stderr)
    assert study.storage.get_trial(t2.trial_id).stderr == stderr.replace("\0", "\ufffd")
    with contextlib.suppress(ConfigError):
        study.tell(study.ask(), state=state)
