"""The run store, on real SQLite files in a temporary folder."""

import json
import math
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab.errors import ConfigError
from cnnlab.runs.rows import COLUMNS, NUMBER_COLUMNS, UPDATABLE
from cnnlab.runs.schema import SCHEMA_VERSION
from cnnlab.runs.store import RunStore
from tests.test_store_migrations import OLD_SCHEMAS

CONTRACT_KEYS = {"id", "name", "status", "model", "dataset", "config", "params", "macs", "epochs_done",
                 "final_train_loss", "final_train_acc", "final_test_acc", "examples_per_sec", "error",
                 "created_at", "finished_at"}


def new_run(store: RunStore, **config) -> int:
    return store.create_run({"epochs": 2, **config}, name="lenet on shapes", model="lenet", dataset="shapes",
                            params=61706, macs=429342)


def test_a_run_goes_from_queued_to_done_with_its_metrics(tmp_path):
    store = RunStore(tmp_path)
    run_id = new_run(store, lr=0.1)
    assert store.get(run_id).status == "queued" and [r.id for r in store.list_runs({"queued"})] == [run_id]
    assert store.claim(run_id, os.getpid(), "cpu")
    assert not store.claim(run_id, os.getpid(), "cpu")
    store.log_metrics(run_id, 10, 0.5, {"train_loss": 2.0, "train_acc": 0.25})
    store.log_metrics(run_id, 20, 1.0, {"train_loss": 1.5, "train_acc": 0.5, "test_acc": 0.4})
    store.finish(run_id, "done", final_test_acc=0.4, epochs_done=1)
    store.finish(run_id, "failed", error="late")  # an ended run stays as it ended
    run = RunStore(tmp_path).get(run_id)
    assert run.status == "done" and run.error is None and run.final_test_acc == 0.4
    assert run.config == {"epochs": 2, "lr": 0.1}
    assert [(m["step"], m["name"], m["value"]) for m in store.metrics(run_id)] == [
        (10, "train_loss", 2.0), (10, "train_acc", 0.25),
        (20, "train_loss", 1.5), (20, "train_acc", 0.5), (20, "test_acc", 0.4)]
    data = json.loads(json.dumps(run.to_dict()))
    assert set(data) >= CONTRACT_KEYS and data["params"] == 61706


def test_metrics_and_the_results_they_carry_are_written_together_or_not_at_all(tmp_path):
    store = RunStore(tmp_path)
    run_id = new_run(store)
    store.log_metrics(run_id, 8, 1.0, {"test_acc": 0.4}, epochs_done=1, final_test_acc=0.4)
    assert (store.get(run_id).epochs_done, len(store.metrics(run_id))) == (1, 1)
    with pytest.raises(ValueError, match="cannot update status"):  # refused: the metric rows go too
        store.log_metrics(run_id, 16, 2.0, {"test_acc": 0.5}, epochs_done=2, status="done")
    run, values = store.get(run_id), [m["value"] for m in store.metrics(run_id)]
    assert (run.epochs_done, run.final_test_acc, values) == (1, 0.4, [0.4])


def test_cancel_while_queued_running_and_after_the_end(tmp_path):
    store = RunStore(tmp_path)
    queued = new_run(store)
    assert store.request_cancel(queued).status == "cancelled"
    assert not store.claim(queued, os.getpid(), "cpu")
    running = new_run(store)
    store.claim(running, os.getpid(), "cpu")
    assert not store.cancel_requested(running)
    assert store.request_cancel(running).status == "running" and store.cancel_requested(running)
    with pytest.raises(ConfigError, match=f"run {queued} has already ended"):
        store.request_cancel(queued)


def age_heartbeat(store: RunStore, seconds: float) -> None:
    """Move every run's last heartbeat `seconds` further into the past (no waiting for it to age)."""
    sqlite3.connect(store.path, isolation_level=None).execute(
        "UPDATE runs SET heartbeat_at = heartbeat_at - ?", (seconds,))


def raw_rows(store: RunStore) -> list[tuple]:
    return sqlite3.connect(store.path).execute("SELECT * FROM runs ORDER BY id").fetchall()


def test_a_run_whose_process_died_is_interrupted_at_once_by_reconcile_and_keeps_its_metrics(tmp_path):
    store = RunStore(tmp_path, heartbeat_timeout=30)
    run_id = new_run(store)
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    store.claim(run_id, worker.pid, "cpu")
    store.log_metrics(run_id, 5, 0.25, {"train_loss": 2.2})
    assert store.reconcile() == [] and store.get(run_id).status == "running"  # beating, alive
    worker.kill()
    worker.wait()
    before = raw_rows(store)
    assert store.get(run_id).status == "running" and store.running_count("cpu") == 1  # reads never write
    store.list_runs()
    assert raw_rows(store) == before
    assert store.reconcile() == [run_id]
    run = store.get(run_id)
    assert run.status == "interrupted" and run.error == f"the training process (pid {worker.pid}) stopped " \
        "without finishing"
    assert store.running_count("cpu") == 0
    assert [m["value"] for m in store.metrics(run_id)] == [2.2]


def test_a_running_run_with_no_process_recorded_is_interrupted_once_its_heartbeat_is_stale(tmp_path):
    store = RunStore(tmp_path, heartbeat_timeout=30)
    run_id = new_run(store)
    store.claim(run_id, os.getpid(), "cpu")
    sqlite3.connect(store.path, isolation_level=None).execute("UPDATE runs SET pid=NULL")
    assert store.reconcile() == []  # beat just now
    age_heartbeat(store, 29)
    assert store.reconcile() == []  # within the timeout
    age_heartbeat(store, 2)
    assert store.reconcile() == [run_id]
    error = store.get(run_id).error
    assert error.startswith("the training process stopped without finishing (last heartbeat 3")


def test_the_runs_table_has_exactly_the_columns_of_run(tmp_path):
    """TABLE_COLUMNS declares the table; `Run` declares its columns once, for everything else."""
    store = RunStore(tmp_path)
    table = [row[1] for row in sqlite3.connect(store.path).execute("PRAGMA table_info(runs)")]
    assert sorted(table) == sorted(COLUMNS)
    assert sorted(UPDATABLE) == ["device", "epochs_done", "error", "examples_per_sec", "final_test_acc",
                                 "final_train_acc", "final_train_loss", "first_point_at", "group_id", "macs",
                                 "memory_estimate", "name", "node", "params", "peak_memory", "pid",
                                 "provenance", "sweep_id", "tflops", "weights_path"]
    assert NUMBER_COLUMNS == ("created_at", "started_at", "finished_at", "params", "macs", "epochs_done",
                              "final_train_loss", "final_train_acc", "final_test_acc", "examples_per_sec",
                              "tflops", "pid", "heartbeat_at", "peak_memory", "memory_estimate",
                              "first_point_at", "pid_start")


def test_delete_removes_rows_and_files_and_refuses_live_runs(tmp_path):
    store = RunStore(tmp_path)
    run_id = new_run(store)
    store.claim(run_id, os.getpid(), "cpu")
    with pytest.raises(ConfigError, match="is running; cancel it before deleting it"):
        store.delete(run_id)
    store.log_metrics(run_id, 1, 0.1, {"train_loss": 1.0})
    store.run_dir(run_id).mkdir(parents=True)
    (store.run_dir(run_id) / "worker.log").write_text("log")
    store.finish(run_id, "done")
    store.delete(run_id)
    assert not store.run_dir(run_id).exists()
    with pytest.raises(ConfigError, match=f"no run with id {run_id}"):
        store.get(run_id)
    assert sqlite3.connect(store.path).execute("SELECT COUNT(*) FROM metrics").fetchone() == (0,)


def test_export_parses_back_to_the_recorded_values(tmp_path):
    store = RunStore(tmp_path)
    run_id = new_run(store)
    store.log_metrics(run_id, 3, 0.5, {"train_loss": 1.25, "train_acc": 0.375})
    lines = store.export(run_id, "csv").splitlines()
    assert lines == ["step,epoch,name,value", "3,0.5,train_loss,1.25", "3,0.5,train_acc,0.375"]
    data = json.loads(store.export(run_id, "json"))
    assert data["schema_version"] == 1 and data["run"]["id"] == run_id
    assert data["metrics"] == [{"step": 3, "epoch": 0.5, "name": "train_loss", "value": 1.25},
                               {"step": 3, "epoch": 0.5, "name": "train_acc", "value": 0.375}]
    with pytest.raises(ConfigError, match="export format"):
        store.export(run_id, "xml")


def test_an_old_schema_is_migrated_and_its_runs_kept(tmp_path):
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    for statement in OLD_SCHEMAS["9e57605"][1][:2]:  # the first version's two tables, no index yet
        db.execute(statement.replace(", weights_path TEXT", ""))
    db.execute("INSERT INTO runs (name, created_at, status, config) VALUES ('old', 1.0, 'done', '{}')")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    store = RunStore(tmp_path)
    assert store.get(1).name == "old" and store.get(1).weights_path is None
    assert sqlite3.connect(store.path).execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    indexes = {row[0] for row in sqlite3.connect(store.path).execute(
        "SELECT name FROM sqlite_master WHERE type='index'")}
    assert "metrics_by_run" in indexes


def test_a_newer_schema_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ConfigError, match="newer than this cnnlab"):
        RunStore(tmp_path)


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path):
    (tmp_path / "runs.sqlite").write_bytes(b"my thesis, not a database" * 100)
    with pytest.raises(ConfigError, match="is not a cnnlab run store"):
        RunStore(tmp_path)
    assert (tmp_path / "runs.sqlite").read_bytes() == b"my thesis, not a database" * 100


WRITER = textwrap.dedent("""
    import sys
    from cnnlab.runs.store import RunStore
    store = RunStore(sys.argv[1])
    for step in range(300):
        store.log_metrics(int(sys.argv[2]), step, step / 100, {"train_loss": 1.0 / (step + 1)})
""")


@pytest.mark.slow  # a cnnlab process of its own
def test_readers_see_a_growing_table_while_another_process_writes(tmp_path):
    store = RunStore(tmp_path)
    run_id = new_run(store)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(run_id)])
    reader, counts = RunStore(tmp_path), []
    while writer.poll() is None:
        counts.append(len(reader.metrics(run_id)))
        reader.list_runs()
    assert writer.returncode == 0
    counts.append(len(reader.metrics(run_id)))
    assert counts == sorted(counts) and counts[-1] == 300


@settings(max_examples=40, deadline=None)
@given(values=st.dictionaries(st.text(min_size=1, max_size=20), st.floats(allow_nan=True), min_size=1,
                              max_size=5))
def test_metric_values_round_trip(tmp_path_factory, values):
    store = RunStore(tmp_path_factory.mktemp("store"))
    run_id = new_run(store)
    store.log_metrics(run_id, 1, 0.5, values)
    read = {m["name"]: m["value"] for m in store.metrics(run_id)}
    assert read.keys() == values.keys()
    for name, value in values.items():
        assert read[name] is None if math.isnan(value) else read[name] == value


def test_cancel_racing_a_claim_leaves_the_run_to_its_worker(tmp_path, monkeypatch):
    store, worker = RunStore(tmp_path), RunStore(tmp_path)
    run_id = new_run(store)
    read, claims = store.get, []

    def read_then_claim(rid):  # the worker claims right after the cancel has first read the status
        run = read(rid)
        if not claims:
            claims.append(worker.claim(rid, os.getpid(), "cpu"))
        return run

    monkeypatch.setattr(store, "get", read_then_claim)
    store.request_cancel(run_id)
    run = worker.get(run_id)
    assert claims == [True] and run.status == "running" and worker.cancel_requested(run_id)
    assert worker.running_count("cpu") == 1


def test_a_queued_run_whose_waiting_process_died_becomes_interrupted(tmp_path):
    store = RunStore(tmp_path)
    run_id = new_run(store)
    assert store.get(run_id).status == "queued"  # no process recorded yet: just launched
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.update(run_id, pid=dead.pid)
    assert store.get(run_id).status == "queued" and store.reconcile() == [run_id]
    run = store.get(run_id)
    assert run.status == "interrupted" and "stopped before the run started" in run.error
    store.delete(run_id)


def test_list_runs_sees_every_change_any_connection_makes_to_ended_runs(tmp_path):
    """Ended runs stay decoded between looks; a change to one, by any writer, is seen at the next."""
    store, other = RunStore(tmp_path), RunStore(tmp_path)
    first, second, third = new_run(store), new_run(store), new_run(store)
    store.finish(first, "done")
    assert [(r.id, r.status) for r in store.list_runs()] == [(third, "queued"), (second, "queued"),
                                                           (first, "done")]
    other.update(first, name="renamed")
    other.finish(second, "failed")
    assert [(r.id, r.status, r.name) for r in store.list_runs()] == [
        (third, "queued", "lenet on shapes"), (second, "failed", "lenet on shapes"),
        (first, "done", "renamed")]
    db = sqlite3.connect(store.path, isolation_level=None)
    db.execute("DELETE FROM runs WHERE id=?", (first,))
    db.execute("UPDATE runs SET status='bogus' WHERE id=?", (third,))
    assert [(r.id, r.status) for r in store.list_runs()] == [(third, "damaged"), (second, "failed")]
    assert [r.id for r in store.list_runs({"failed"})] == [second]
    assert store.running_count() == 0 and store.awaiting_dispatch() == []


def test_status_filters_are_answered_by_the_index(tmp_path):
    store = RunStore(tmp_path)
    plan = store._db.execute("EXPLAIN QUERY PLAN SELECT id FROM runs WHERE status IN ('queued', 'running')")
    assert any("USING COVERING INDEX runs_by_status" in row[-1] for row in plan.fetchall())
