"""Fuzzing the config loader and space definitions: every input loads or raises ConfigError."""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tansaku import ConfigError, Space
from tansaku.cli import load_config, parse_config

VALID = {
    "name": "fuzz",
    "direction": "minimize",
    "sampler": {"name": "random", "seed": 0},
    "n_trials": 5,
    "n_workers": 2,
    "space": {
        "lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
        "n": {"type": "int", "low": 1, "high": 8, "step": 1},
        "act": {"type": "categorical", "choices": ["relu", "tanh"]},
        "d": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
    },
    "command": ["python", "train.py", "--lr", "{lr}", "--n", "{n}", "--act", "{act}"],
    "result": {"regex": "loss=([0-9.]+)"},
    "trial_timeout": 10,
    "enqueue": [{"lr": 0.01, "n": 2, "act": "relu", "d": 0.1}],
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "float",
            "int",
            "categorical",
            "log",
            "{lr}",
            "{",
            "}",
            "grid",
            "tpe",
            "nelder-mead",
            "local",
            "minimize",
            "sqlite:///x.db",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.dictionaries(st.text(max_size=8) | st.sampled_from(list(VALID)), kids, max_size=4),
    ),
    max_leaves=12,
)


def _check(data, tmp: Path) -> None:
    try:
        parse_config(data, base_dir=tmp)
    except ConfigError as e:
        assert "\n" not in str(e) and str(e)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values)
def test_random_structures(tmp_path, data):
    _check(data, tmp_path)


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_mutated_valid_config(tmp_path, data):
    cfg = copy.deepcopy(VALID)
    for _ in range(data.draw(st.integers(1, 3))):
        path = [data.draw(st.sampled_from(list(cfg)))]
        node = cfg[path[0]]
        while isinstance(node, (dict, list)) and node and data.draw(st.booleans()):
            key = data.draw(
                st.sampled_from(list(node) if isinstance(node, dict) else list(range(len(node))))
            )
            path.append(key)
            node = node[key]
        parent = cfg
        for k in path[:-1]:
            parent = parent[k]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(node, dict):
            node[data.draw(st.text(max_size=6))] = data.draw(values)
        else:
            parent[path[-1]] = data.draw(values)
    _check(cfg, tmp_path)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=300))
def test_random_yaml_text(tmp_path, text):
    p = tmp_path / "study.yaml"
    p.write_text(text, encoding="utf-8")
    try:
        load_config(p)
    except ConfigError as e:
        assert "\n" not in str(e)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=200))
def test_random_bytes(tmp_path, blob):
    p = tmp_path / "study.yaml"
    p.write_bytes(blob)
    with contextlib.suppress(ConfigError):
        load_config(p)


@settings(max_examples=500, deadline=None)
@given(values)
def test_space_from_anything(data):
    try:
        Space.from_dict(data)
    except ConfigError as e:
        assert "\n" not in str(e)


def test_yaml_bombs_and_tags(tmp_path):
    p = tmp_path / "study.yaml"
    p.write_text("a: &a [1,2]\nb: &b [*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b]\nspace: *c\n")
    with contextlib.suppress(ConfigError):
        load_config(p)
    p.write_text("!!python/object/apply:os.system ['echo pwned']\n")
    try:
        load_config(p)
    except ConfigError as e:
        assert "invalid YAML" in str(e)
    p.write_text("[" * 5000 + "]" * 5000)
    with contextlib.suppress(ConfigError):
        load_config(p)


def test_valid_config_loads(tmp_path):
    cfg = parse_config(copy.deepcopy(VALID), base_dir=tmp_path)
    assert cfg.name == "fuzz" and len(cfg.enqueue) == 1
    yaml.safe_dump(VALID)  # the fixture itself is plain YAML
