"""A tansaku study copied into Optuna's storage opens in Optuna and in optuna-dashboard's API
(``tansaku.integration.optuna.export_to_optuna``, issue 19.1)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")

import tansaku as tk  # noqa: E402
from tansaku.integration.optuna import export_to_optuna  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _tansaku_study(tmp_path: Path) -> tuple[str, tk.Study]:
    url = f"sqlite:///{tmp_path / 'tk.db'}"
    space = {
        "lr": tk.Float(1e-4, 1e-1, log=True),
        "layers": tk.Int(1, 4),
        "opt": tk.Categorical(["sgd", "adam"]),
        "momentum": tk.Float(0, 0.99, when={"opt": "sgd"}),
    }
    study = tk.create_study(space, storage=url, name="net", sampler="random", seed=4)

    def objective(trial: Any) -> float:
        trial.set_user_attr("epochs", 3)
        for step in range(3):
            trial.report(1.0 / (step + 1) + trial.params["lr"], step)
        if trial.number == 2:
            raise tk.TrialPruned()
        if trial.number == 3:
            raise ValueError("diverged")
        return math.log10(trial.params["lr"]) ** 2 + trial.params["layers"]

    study.optimize(objective, n_trials=8)
    return url, study


def test_every_finished_trial_arrives_in_optuna(tmp_path: Path) -> None:
    url, study = _tansaku_study(tmp_path)
    target = f"sqlite:///{tmp_path / 'optuna.db'}"
    export_to_optuna("net", storage=url, to=target)
    o = optuna.load_study(study_name="net", storage=target)
    ours = {t.number: t for t in study.get_trials(with_intermediate=True)}
    assert len(o.trials) == len(ours) == 9  # 8 count toward n_trials, and the failed one
    states = {
        tk.TrialState.COMPLETE: optuna.trial.TrialState.COMPLETE,
        tk.TrialState.PRUNED: optuna.trial.TrialState.PRUNED,
        tk.TrialState.FAILED: optuna.trial.TrialState.FAIL,
    }
    for ot in o.trials:
        t = ours[ot.system_attrs["tansaku:number"]]
        assert ot.state == states[t.state]
        assert ot.params == dict(t.params)  # inactive momentum absent where it was
        assert ot.user_attrs == {"epochs": 3}
        assert ot.intermediate_values == dict(t.intermediate)
        if t.state is tk.TrialState.COMPLETE:
            assert ot.value == t.value
    assert o.best_value == study.best_value
    assert "diverged" in next(
        ot.system_attrs["tansaku:message"] for ot in o.trials if ot.state.name == "FAIL"
    )
    with pytest.raises(tk.ConfigError, match="exists already"):
        export_to_optuna("net", storage=url, to=target)


def test_optuna_dashboard_api_opens_the_exported_study(tmp_path: Path) -> None:
    pytest.importorskip("optuna_dashboard")
    from optuna_dashboard import wsgi

    url, study = _tansaku_study(tmp_path)
    target = f"sqlite:///{tmp_path / 'optuna.db'}"
    export_to_optuna("net", storage=url, to=target, to_name="net-in-optuna")
    app = wsgi(target)

    def get(path: str) -> Any:
        out: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            out["status"] = status

        body = b"".join(
            app(
                {
                    "REQUEST_METHOD": "GET",
                    "PATH_INFO": path,
                    "QUERY_STRING": "",
                    "wsgi.input": io.BytesIO(),
                    "SERVER_NAME": "x",
                    "SERVER_PORT": "80",
                    "wsgi.url_scheme": "http",
                    "wsgi.errors": io.StringIO(),
                },
                start,
            )
        )
        assert out["status"].startswith("200"), (path, out["status"], body[:300])
        return json.loads(body)

    studies = get("/api/studies")["study_summaries"]
    (summary,) = [s for s in studies if s["study_name"] == "net-in-optuna"]
    detail = get(f"/api/studies/{summary['study_id']}")
    assert len(detail["trials"]) == 9
    assert {p["name"] for p in detail["union_search_space"]} == {"lr", "layers", "opt", "momentum"}
    best = detail["best_trials"][0]
    assert best["values"][0] == pytest.approx(study.best_value)


def test_several_objectives_keep_their_directions_names_and_constraints(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tk.db'}"
    study = tk.create_study(
        {"x": tk.Float(0, 1)},
        storage=url,
        name="mo",
        sampler="random",
        seed=1,
        directions=["minimize", "maximize"],
        objective_names=["error", "speed"],
    )

    def objective(trial: Any) -> tuple[float, float]:
        trial.set_constraint("mem", trial.params["x"] - 0.8)
        return trial.params["x"], 1 - trial.params["x"] ** 2

    study.optimize(objective, n_trials=6)
    target = f"sqlite:///{tmp_path / 'optuna.db'}"
    o = export_to_optuna("mo", storage=url, to=target)
    assert [d.name for d in o.directions] == ["MINIMIZE", "MAXIMIZE"]
    assert o.metric_names == ["error", "speed"]
    ours = {t.number: t for t in study.trials}
    for ot in o.trials:
        t = ours[ot.system_attrs["tansaku:number"]]
        assert ot.values == list(t.values)
        assert ot.system_attrs["constraints"] == [t.params["x"] - 0.8]
