"""``tansaku.integration.mlflow.MLflowCallback`` (issue 19.3): a real small model's trials logged
as MLflow runs (params, value, intermediate values, state, user attrs) in a local file store,
from Python and from a study config (``callbacks: [mlflow]``)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("mlflow")

from mlflow.tracking import MlflowClient

import tansaku as tk
from tansaku.cli import main
from tansaku.cli._config import parse_config
from tansaku.integration.mlflow import MLflowCallback


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    # MLflow 3 wants a database store unless told the file store is meant
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return (tmp_path / "mlruns").as_uri()


def _runs(uri: str, experiment: str) -> dict[int, Any]:
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, experiment
    runs = client.search_runs([exp.experiment_id])
    return {int(r.data.tags["tansaku.trial"]): r for r in runs}


def test_each_trial_of_a_real_model_is_an_mlflow_run(store: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.05 * rng.normal(size=120)

    def objective(trial: tk.Trial) -> float:
        # a linear model trained by gradient descent, validation loss reported each epoch
        w = np.zeros(3)
        lr = trial.params["lr"]
        loss = float("nan")
        for epoch in range(4):
            w -= lr * (x[:80].T @ (x[:80] @ w - y[:80])) / 80
            loss = float(np.mean((x[80:] @ w - y[80:]) ** 2))
            trial.report(loss, epoch)
        trial.set_user_attr("weights", [round(v, 3) for v in w])
        if trial.number == 2:
            raise tk.TrialPruned()
        if trial.number == 3:
            raise ValueError("diverged")
        return loss

    study = tk.create_study({"lr": tk.Float(1e-3, 0.5, log=True)}, name="gd", seed=0)
    study.optimize(objective, n_trials=4, max_failures=5, callbacks=[MLflowCallback(store)])
    assert len(study.trials) == 5  # 4 finished + 1 failed
    runs = _runs(store, "gd")
    assert sorted(runs) == [0, 1, 2, 3, 4]
    client = MlflowClient(tracking_uri=store)
    for t in study.get_trials(with_intermediate=True):
        run = runs[t.number]
        assert run.info.run_name == f"trial {t.number}"
        assert run.data.params == {"lr": str(t.params["lr"])}
        assert run.data.tags["tansaku.state"] == t.state.value
        assert run.data.tags["tansaku.study"] == "gd"
        assert run.data.tags["user_attr.weights"].startswith("[")
        assert run.info.start_time == round(t.start_time * 1000)
        assert run.info.end_time == round(t.end_time * 1000)
        history = client.get_metric_history(run.info.run_id, "intermediate_value")
        assert {m.step: m.value for m in history} == pytest.approx(dict(t.intermediate))
        if t.state is tk.TrialState.COMPLETE:
            assert run.data.metrics["value"] == pytest.approx(t.value)
    statuses = [runs[n].info.status for n in range(5)]
    assert statuses == ["FINISHED", "FINISHED", "KILLED", "FAILED", "FINISHED"]
    assert "diverged" in runs[3].data.tags["tansaku.message"]
    assert runs[2].data.metrics["value"] == pytest.approx(
        runs[2].data.metrics["intermediate_value"]
    )


def test_callbacks_from_a_config_by_name_and_with_options(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "obj.py").write_text("def f(trial):\n    return (trial.params['x'] - 1) ** 2\n")

    def config(name: str, callbacks: str) -> Path:
        cfg = tmp_path / f"{name}.yaml"
        cfg.write_text(
            textwrap.dedent(f"""\
            name: {name}
            n_trials: 2
            sampler: {{name: random, seed: 0}}
            objective: obj.py:f
            space: {{x: {{type: float, low: 0, high: 2}}}}
            callbacks: {callbacks}
            """)
        )
        return cfg

    cfg = config("opts", f"[{{name: mlflow, tracking_uri: '{store}', experiment: tuning}}]")
    assert main(["run", str(cfg), "--quiet"]) == 0
    runs = _runs(store, "tuning")
    assert sorted(runs) == [0, 1]
    assert all(r.info.status == "FINISHED" and "x" in r.data.params for r in runs.values())
    # by name alone: MLflow's own default (MLFLOW_TRACKING_URI), the study's name as experiment
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    assert main(["run", str(config("plain", "[mlflow]")), "--quiet"]) == 0
    assert sorted(_runs(store, "plain")) == [0, 1]
    capsys.readouterr()


@pytest.mark.parametrize(
    ("callbacks", "message"),
    [
        ("mlflow", "callbacks: must be a list"),
        (["nope"], "callbacks[0].name: unknown callback 'nope' (known: mlflow)"),
        ([{"name": ["mlflow"]}], "callbacks[0].name: unknown callback list"),
        ([{"tracking_uri": "x"}], "callbacks[0].name: needs a name"),
        (
            [{"name": "mlflow", "bogus": 1}],
            "callbacks[0].bogus: unknown option (known: tracking_uri",
        ),
        ([{"name": "mlflow", "experiment": ""}], "callbacks[0].experiment: must be a non-empty"),
        ([3], "callbacks[0]: must be a callback name"),
    ],
)
def test_a_bad_callbacks_entry_is_a_one_line_error(
    tmp_path: Path, callbacks: Any, message: str
) -> None:
    data = {
        "space": {"x": {"type": "float", "low": 0, "high": 1}},
        "objective": "m:f",
        "n_trials": 1,
        "callbacks": callbacks,
    }
    with pytest.raises(tk.ConfigError) as e:
        parse_config(data, base_dir=tmp_path)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)
    with pytest.raises(tk.ConfigError, match=r"^callbacks"):  # the same rule from Python
        tk.create_study({"x": tk.Float(0, 1)}).optimize(lambda t: 0.0, 1, callbacks=callbacks)


_yaml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["mlflow", "name", "tracking_uri", "experiment", "tags", "metric_name"]),
    lambda kids: (
        st.lists(kids, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "tracking_uri", "experiment", "tags", "metric_name", "x"])
            | st.integers(0, 2),
            kids,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(_yaml_values)
def test_any_callbacks_value_is_accepted_or_a_one_line_config_error(value: Any) -> None:
    from tansaku._options import RunOptions

    try:
        RunOptions(callbacks=value)
    except tk.ConfigError as e:
        assert str(e).startswith("callbacks") and "\n" not in str(e)
