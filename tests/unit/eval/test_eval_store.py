"""Eval runs in the store: the migration matches the ORM, runs are saved, listed and read back."""

import math

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pg_support import settings_on_each_backend, store_on_each_backend  # noqa: F401 - fixtures: SQLite, then PostgreSQL

from tunelab.eval.results import EvalResult
from tunelab.eval.runs import UnknownEvalRunError, fail_run, get_run, list_runs, save_run, start_run
from tunelab.store import Base, Store


def test_migration_0005_creates_eval_runs_matching_the_orm(settings):
    old = Store(settings, migrate=False)
    old.upgrade("0004")
    assert "eval_runs" not in sa.inspect(old.engine).get_table_names()
    old.upgrade()
    assert "eval_runs" in sa.inspect(old.engine).get_table_names()
    with old.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    old.dispose()


def test_save_list_get_and_fail(store):
    start_run(store, "eval-a", "classify", "test", ["base", "shop"], {"limit": 5})
    running = get_run(store, "eval-a")
    assert running.status == "running" and running.metrics == {} and running.params == {"limit": 5}

    result = EvalResult("classify", "test", ["base", "shop"],
                        {"base": {"f1": 0.25, "judge": math.nan}, "shop": {"f1": 0.5, "judge": 4.0}},
                        params={"limit": 5}, duration_s=1.5, run_id="eval-a",
                        gates=[{"gate": "f1 >= baseline", "model": "shop", "passed": True}])
    save_run(store, result, report_dir="/tmp/report")
    done = get_run(store, "eval-a")
    assert done.status == "completed" and done.report_dir == "/tmp/report" and done.duration_s == 1.5
    assert done.metrics["shop"] == {"f1": 0.5, "judge": 4.0}
    assert math.isnan(done.metrics["base"]["judge"])  # NaN is stored as null and read back as NaN
    assert done.params["gates"][0]["passed"] is True and done.models == ["base", "shop"]

    start_run(store, "eval-b", "qa", "validation", ["base"], {})
    fail_run(store, "eval-b", "ValueError: boom", 0.2)
    assert [r.id for r in list_runs(store)] == ["eval-b", "eval-a"]  # newest first
    assert [r.id for r in list_runs(store, task="classify")] == ["eval-a"]
    failed = get_run(store, "eval-b")
    assert failed.status == "failed" and failed.error == "ValueError: boom"


def test_unknown_run_names_recent_ones(store):
    start_run(store, "eval-x", "qa", "test", ["m"], {})
    with pytest.raises(UnknownEvalRunError, match="No evaluation run 'nope'. Recent runs: eval-x"):
        get_run(store, "nope")
