"""The relational schema (one for SQLite and PostgreSQL) and its versioned migrations.

Tables are prefixed ``tansaku_`` so a study can live in a shared PostgreSQL database.  Params and
attributes are JSON text; times are POSIX seconds (``float``).  ``SCHEMA_VERSION`` is stored in
``tansaku_meta``; opening a database runs the migrations from its version up to ours, and refuses a
database written by a newer tansaku.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "meta", "reports", "studies", "trials"]

SCHEMA_VERSION = 2

meta = MetaData()

meta_table = Table(
    "tansaku_meta",
    meta,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

studies = Table(
    "tansaku_studies",
    meta,
    Column("study_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(512), nullable=False, unique=True),
    Column("direction", String(16), nullable=False),
    Column("space", Text, nullable=False),
    Column("sampler", Text, nullable=False, default="{}"),
    Column("created_at", Float, nullable=False),
    Column("user_attrs", Text, nullable=False, default="{}"),
    Column("system_attrs", Text, nullable=False, default="{}"),
    # counters kept in step with every transition (O(1) budget checks and status)
    Column("next_number", Integer, nullable=False, default=0),
    Column("next_seq", Integer, nullable=False, default=0),
    Column("n_waiting", Integer, nullable=False, default=0),
    Column("n_running", Integer, nullable=False, default=0),
    Column("n_complete", Integer, nullable=False, default=0),
    Column("n_pruned", Integer, nullable=False, default=0),
    Column("n_failed", Integer, nullable=False, default=0),
    # version 2: several objectives (JSON lists; NULL for a single-objective study)
    Column("directions", Text, nullable=True),
    Column("objective_names", Text, nullable=True),
)

trials = Table(
    "tansaku_trials",
    meta,
    Column("trial_id", Integer, primary_key=True, autoincrement=True),
    Column(
        "study_id",
        Integer,
        ForeignKey("tansaku_studies.study_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("number", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("value", Float, nullable=True),
    Column("params", Text, nullable=False),
    Column("start_time", Float, nullable=True),
    Column("end_time", Float, nullable=True),
    Column("worker", String(256), nullable=True),
    Column("heartbeat", Float, nullable=True),
    Column("message", Text, nullable=True),
    Column("stderr", Text, nullable=True),
    Column("last_step", Integer, nullable=True),
    Column("finish_seq", Integer, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("user_attrs", Text, nullable=False, default="{}"),
    Column("system_attrs", Text, nullable=False, default="{}"),
    # version 2: every objective (JSON list, NULL for one objective: ``value`` is then the only
    # one, and always the first), constraints (JSON object) and their total violation (NULL or
    # 0 = feasible), so that ``best_trial`` stays one indexed query
    Column("objective_values", Text, nullable=True),
    Column("constraints", Text, nullable=True),
    Column("violation", Float, nullable=True),
    UniqueConstraint("study_id", "number", name="uq_tansaku_trials_number"),
    Index("ix_tansaku_trials_state", "study_id", "state"),
    Index("ix_tansaku_trials_finish", "study_id", "finish_seq"),
    Index("ix_tansaku_trials_value", "study_id", "state", "value"),
)

reports = Table(
    "tansaku_reports",
    meta,
    Column(
        "trial_id",
        Integer,
        ForeignKey("tansaku_trials.trial_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("step", Integer, primary_key=True),
    Column("value", Float, nullable=False),
    Column("time", Float, nullable=False),
    Index("ix_tansaku_reports_step", "step"),
)


def _v1_to_v2(conn: Connection) -> None:
    """Several objectives and constraints: new nullable columns only, so rows written by
    version 1 read as single-objective trials without constraints (same SQL for SQLite and
    PostgreSQL)."""
    from sqlalchemy import inspect, text

    have = {
        table: {c["name"] for c in inspect(conn).get_columns(table)}
        for table in ("tansaku_studies", "tansaku_trials")
    }
    for table, column, kind in (
        ("tansaku_studies", "directions", "TEXT"),
        ("tansaku_studies", "objective_names", "TEXT"),
        ("tansaku_trials", "objective_values", "TEXT"),
        ("tansaku_trials", "constraints", "TEXT"),
        (
            "tansaku_trials",
            "violation",
            "DOUBLE PRECISION" if conn.dialect.name == "postgresql" else "FLOAT",
        ),
    ):
        if column not in have[table]:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))


#: version -> function migrating a database *from* that version to the next one
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1_to_v2}
