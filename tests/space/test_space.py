from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tansaku as tk
from tansaku import Categorical, ConfigError, Float, Int, Space


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Float(1.0, 1.0), "low"),
        (lambda: Float(2.0, 1.0), "low"),
        (lambda: Float(0.0, 1.0, log=True), "low"),
        (lambda: Float(-1.0, 1.0, log=True), "low"),
        (lambda: Float(0.0, 1.0, step=0.3), "step"),
        (lambda: Float(0.0, 1.0, step=-0.1), "step"),
        (lambda: Float(1e-3, 1.0, log=True, step=0.1), "step"),
        (lambda: Float(float("nan"), 1.0), "low"),
        (lambda: Float("a", 1.0), "low"),  # type: ignore[arg-type]
        (lambda: Int(3, 3), "low"),
        (lambda: Int(0, 10, log=True), "low"),
        (lambda: Int(0, 10, step=3), "step"),
        (lambda: Int(0.5, 10), "low"),  # type: ignore[arg-type]
        (lambda: Int(1, 100, log=True, step=2), "step"),
        (lambda: Categorical([]), "choices"),
        (lambda: Categorical(["a", "a"]), "choices"),
        (lambda: Categorical("abc"), "choices"),  # type: ignore[arg-type]
        (lambda: Categorical([[1, 2]]), "choices"),
    ],
)
def test_invalid_distributions_name_the_field(make, field):
    with pytest.raises(ConfigError) as e:
        make()
    assert e.value.field == field
    assert "\n" not in str(e.value)


def test_true_and_one_are_different_choices():
    c = Categorical([True, 1, "1"])
    assert c.levels == 3
    assert c.index(True) == 0 and c.index(1) == 1 and c.index("1") == 2


def test_space_from_dict_errors_name_the_path():
    with pytest.raises(ConfigError, match=r"^space\.lr\.low: low must be < high"):
        Space.from_dict({"lr": {"type": "float", "low": 1, "high": 0.1}})
    with pytest.raises(ConfigError, match=r"^space\.lr\.type:"):
        Space.from_dict({"lr": {"type": "double", "low": 0, "high": 1}})
    with pytest.raises(ConfigError, match=r"^space\.lr\.lo: unknown key"):
        Space.from_dict({"lr": {"type": "float", "lo": 0, "high": 1}})
    with pytest.raises(ConfigError, match=r"^space: the search space has no parameters"):
        Space.from_dict({})
    with pytest.raises(ConfigError, match="parameter names"):
        Space.from_dict({"bad name": {"type": "int", "low": 0, "high": 3}})


def test_validate_params():
    sp = Space(a=Float(0, 1), b=Int(0, 10, step=2), c=Categorical(["x", "y"]))
    assert sp.validate_params({"a": 0.5, "b": 4, "c": "y"}) == {"a": 0.5, "b": 4, "c": "y"}
    with pytest.raises(ConfigError, match="params.b"):
        sp.validate_params({"a": 0.5, "b": 3, "c": "y"})
    with pytest.raises(ConfigError, match="missing"):
        sp.validate_params({"a": 0.5, "b": 4})
    with pytest.raises(ConfigError, match="unknown"):
        sp.validate_params({"a": 0.5, "b": 4, "c": "x", "d": 1})
    with pytest.raises(ConfigError, match="params.a"):
        sp.validate_params({"a": 1.5, "b": 4, "c": "x"})


def test_round_trip_through_dict():
    sp = Space(
        a=Float(1e-4, 1, log=True),
        b=Int(1, 64, log=True),
        c=Categorical([None, 1.5, "z"]),
        d=Float(0, 1, step=0.25),
        e=Int(0, 9, step=3),
    )
    assert Space.from_dict(sp.to_dict()) == sp


def test_dims():
    sp = Space(a=Float(0, 1), b=Int(1, 5), c=Categorical(["x", "y"]), d=Float(0, 1, step=0.5))
    assert [(d.kind, d.levels) for d in sp.dims] == [
        ("continuous", None),
        ("discrete", 5),
        ("categorical", 2),
        ("discrete", 3),
    ]


def test_log_int_is_log_uniform():
    d = Int(1, 1024, log=True)
    values = [d.from_unit(u) for u in np.linspace(0, 1, 10001)]
    # log-uniform: about as many draws in [1, 32] as in [32, 1024]
    lo = sum(v <= 32 for v in values)
    assert 0.4 < lo / len(values) < 0.6


# ---------------------------------------------------------------------------- property tests
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def distributions(draw):
    kind = draw(
        st.sampled_from(["float", "logfloat", "stepfloat", "int", "logint", "stepint", "cat"])
    )
    if kind in ("float", "stepfloat"):
        low = draw(finite)
        width = draw(st.floats(min_value=1e-3, max_value=1e6))
        if kind == "float":
            return Float(low, low + width)
        n = draw(st.integers(min_value=1, max_value=1000))
        step = width / n
        return Float(low, low + step * n, step=step)
    if kind == "logfloat":
        low = draw(st.floats(min_value=1e-8, max_value=1e3))
        return Float(low, low * draw(st.floats(min_value=1.001, max_value=1e6)), log=True)
    if kind in ("int", "stepint"):
        low = draw(st.integers(-(10**6), 10**6))
        step = 1 if kind == "int" else draw(st.integers(1, 50))
        n = draw(st.integers(1, 10**4))
        return Int(low, low + step * n, step=step)
    if kind == "logint":
        low = draw(st.integers(1, 10**4))
        return Int(low, low + draw(st.integers(1, 10**6)), log=True)
    choices = draw(
        st.lists(
            st.one_of(st.text(max_size=5), st.integers(), st.booleans()),
            min_size=1,
            max_size=8,
            unique_by=lambda c: (type(c).__name__, c),
        )
    )
    return Categorical(choices)


@settings(max_examples=300, deadline=None)
@given(distributions(), st.floats(min_value=-0.5, max_value=1.5, allow_nan=False))
@example(
    Float(0.25, 236013.0, log=True), Float(0.25, 236013.0, log=True).to_unit(7.792718491592383)
)
def test_from_unit_is_always_valid_and_round_trips(dist, u):
    """The space's promise: a value it produced re-encodes to a point that decodes to it exactly."""
    v = dist.from_unit(u)
    assert dist.validate(v) == v  # inside bounds, on the step, a valid choice
    if isinstance(dist, Int):
        assert isinstance(v, int) and not isinstance(v, bool)
    w = dist.to_unit(v)
    assert 0.0 <= w <= 1.0
    assert dist.from_unit(w) == v  # decoding the encoding gives the same value back


def test_log_float_round_trip_that_once_failed():
    """issue 20.20: to_unit(7.792718491592383) was 0.25000000000000006, which decoded to
    7.79271849159239: the plain inverse is one decoded ulp off; to_unit now searches the
    neighbouring unit values for the exact preimage."""
    d = Float(0.25, 236013.0, log=True)
    v = 7.792718491592383
    assert d.from_unit(d.to_unit(v)) == v
    for k in range(-3000, 3000):  # a stretch of consecutive decoded values around it
        u = 0.25 + k * 1e-17
        w = d.from_unit(u)
        assert d.from_unit(d.to_unit(w)) == w, (u, w)


@settings(max_examples=200, deadline=None)
@given(distributions(), st.floats(min_value=0.0, max_value=1.0))
def test_continuous_to_unit_inverts_from_unit(dist, u):
    v = dist.from_unit(u)
    if isinstance(dist, Float) and dist.step is None:
        v2 = dist.from_unit(dist.to_unit(v))
        assert math.isclose(v, v2, rel_tol=1e-9, abs_tol=1e-9 * (dist.high - dist.low))


@settings(max_examples=100, deadline=None)
@given(st.lists(distributions(), min_size=1, max_size=5), st.data())
def test_space_transform_round_trip(dists, data):
    sp = Space({f"p{i}": d for i, d in enumerate(dists)})
    u = np.array([data.draw(st.floats(0, 1)) for _ in dists])
    params = sp.from_unit(u)
    assert sp.validate_params(params) == params
    assert sp.from_unit(sp.to_unit(params)) == params
    snapped = sp.snap(u)
    assert sp.from_unit(snapped) == params


def test_public_names():
    assert tk.Float is Float and tk.Int is Int and tk.Categorical is Categorical
