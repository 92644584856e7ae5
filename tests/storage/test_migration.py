"""Schema version 1 (single objective, no constraints) opens with today's tansaku: the
migration adds the columns of several objectives and constraints, and the old rows read as
single-objective trials without constraints."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

import tansaku as tk
from tansaku import TrialState
from tansaku.storage import get_storage
from tansaku.storage._schema import SCHEMA_VERSION

V2_COLUMNS = {
    "tansaku_studies": ("directions", "objective_names"),
    "tansaku_trials": ("objective_values", "constraints", "violation"),
}


def _make_version_1(url: str) -> None:
    """A database as version 1 left it: today's tables without the version-2 columns, with one
    finished and one waiting trial written the version-1 way."""
    get_storage(url).close()  # today's schema ...
    engine = create_engine(url)
    with engine.begin() as c:  # ... taken back to version 1
        for table, columns in V2_COLUMNS.items():
            for column in columns:
                c.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        c.execute(text("UPDATE tansaku_meta SET value = '1' WHERE key = 'schema_version'"))
        c.execute(
            text(
                "INSERT INTO tansaku_studies (name, direction, space, sampler, created_at, "
                "user_attrs, system_attrs, next_number, next_seq, n_waiting, n_running, "
                "n_complete, n_pruned, n_failed) VALUES ('old', 'maximize', :sp, "
                "'{\"name\": \"random\"}', 0, '{}', '{}', 2, 1, 1, 0, 1, 0, 0)"
            ),
            {"sp": json.dumps(tk.Space(x=tk.Float(0, 1)).to_dict())},
        )
        sid = c.execute(text("SELECT study_id FROM tansaku_studies")).scalar()
        for number, state, value in ((0, "complete", 0.75), (1, "waiting", None)):
            c.execute(
                text(
                    "INSERT INTO tansaku_trials (study_id, number, state, value, params, "
                    "attempts, user_attrs, system_attrs, finish_seq) "
                    "VALUES (:s, :n, :st, :v, '{\"x\": 0.5}', 1, '{}', '{}', :f)"
                ),
                {"s": sid, "n": number, "st": state, "v": value, "f": 1 if value else None},
            )
    engine.dispose()


def _check_opens(url: str) -> None:
    _make_version_1(url)
    storage = get_storage(url)
    try:
        info = storage.get_study("old")
        assert info.directions == ("maximize",) and info.objective_names == ()
        done = storage.get_trial_by_number(info.study_id, 0)
        assert done.values == (0.75,) and dict(done.constraints) == {} and done.is_feasible
        assert storage.best_trial(info.study_id, "maximize").number == 0
        # the migrated database takes new trials with constraints, and new multi-objective studies
        t = storage.claim_waiting(info.study_id, worker="w")
        storage.finish_trial(
            t.trial_id, worker="w", state=TrialState.COMPLETE, value=0.9, constraints={"c": 1}
        )
        assert storage.best_trial(info.study_id, "maximize").number == 0  # 0.9 is infeasible
        mo = storage.create_study(
            "new", space=info.space, direction="minimize", directions=["minimize", "minimize"]
        )
        assert storage.get_study("new").directions == mo.directions == ("minimize", "minimize")
    finally:
        storage.close()
    engine = create_engine(url)
    with engine.connect() as c:
        version = c.execute(
            text("SELECT value FROM tansaku_meta WHERE key = 'schema_version'")
        ).scalar()
    engine.dispose()
    assert int(version) == SCHEMA_VERSION == 2


def test_version_1_sqlite_database_opens(tmp_path):
    _check_opens(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.postgres
def test_version_1_postgres_database_opens(postgres_url):
    _check_opens(postgres_url.replace("postgresql+psycopg://", "postgresql://"))
