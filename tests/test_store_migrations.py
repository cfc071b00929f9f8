"""Run stores written by earlier commits of main open with today's code, every run and metric intact.

Each schema below is the DDL a store made at that commit holds (its `sqlite_master`, recovered with
`git show COMMIT:cnnlab/runs/store.py` and that commit's migrations run on an empty database), with the
`user_version` it carried. Migration steps were numbered by position and merges renumbered them, so the
same number meant different schemas (fb66e20's 5 has owners, 8e4297c's 5 has sources): the store brings
each to today's schema by what the file holds, not by its number.
"""

import getpass
import sqlite3

import pytest

from cnnlab.access import Actor
from cnnlab.errors import ConfigError
from cnnlab.runs.rows import COLUMNS
from cnnlab.runs.schema import SCHEMA_VERSION
from cnnlab.runs.store import RunStore

# commit: (user_version, DDL in the order sqlite_master lists it; sqlite_sequence, which SQLite makes
# itself for an AUTOINCREMENT table, left out)
OLD_SCHEMAS = {
    # 9e57605: Run store: SQLite in WAL mode with versioned migrations, run lifecycle
    "9e57605": (2, (
        'CREATE TABLE runs ( id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL, '
        "started_at REAL, finished_at REAL, status TEXT NOT NULL DEFAULT 'queued', "
        'config TEXT NOT NULL, model TEXT, dataset TEXT, device TEXT, params INTEGER, '
        'macs INTEGER, epochs_done REAL DEFAULT 0, final_train_loss REAL, final_train_acc REAL, '
        'final_test_acc REAL, examples_per_sec REAL, tflops REAL, error TEXT, pid INTEGER, '
        'heartbeat_at REAL, cancel_requested INTEGER DEFAULT 0, weights_path TEXT)',
        'CREATE TABLE metrics ( run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, '
        'step INTEGER NOT NULL, epoch REAL NOT NULL, name TEXT NOT NULL, value REAL)',
        'CREATE INDEX metrics_by_run ON metrics(run_id, step)',
        'CREATE INDEX runs_by_status ON runs(status)',
    )),
    # 4460bc3: Run store: one transaction helper; reads never write (reconcile() ends
    "4460bc3": (3, (
        'CREATE TABLE metrics ( run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, '
        'step INTEGER NOT NULL, epoch REAL NOT NULL, name TEXT NOT NULL, value REAL)',
        'CREATE INDEX metrics_by_run ON metrics(run_id, step)',
        'CREATE TABLE "runs" ( id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, '
        'created_at REAL NOT NULL, started_at REAL, finished_at REAL, '
        "status TEXT NOT NULL DEFAULT 'queued', config TEXT NOT NULL, model TEXT, dataset TEXT, "
        'device TEXT, params INTEGER, macs INTEGER, epochs_done REAL DEFAULT 0, '
        'final_train_loss REAL, final_train_acc REAL, final_test_acc REAL, examples_per_sec REAL, '
        'tflops REAL, error TEXT, pid INTEGER, heartbeat_at REAL, '
        'cancel_requested INTEGER DEFAULT 0, weights_path TEXT, provenance TEXT)',
        'CREATE INDEX runs_by_status ON runs(status)',
    )),
    # df6bca6: The id migration rebuilds runs with whatever columns and indexes earli
    "df6bca6": (3, (
        'CREATE TABLE metrics ( run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, '
        'step INTEGER NOT NULL, epoch REAL NOT NULL, name TEXT NOT NULL, value REAL)',
        'CREATE INDEX metrics_by_run ON metrics(run_id, step)',
        'CREATE TABLE "runs" ( id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, '
        'created_at REAL NOT NULL, started_at REAL, finished_at REAL, '
        "status TEXT NOT NULL DEFAULT 'queued', config TEXT NOT NULL, model TEXT, dataset TEXT, "
        'device TEXT, params INTEGER, macs INTEGER, epochs_done REAL DEFAULT 0, '
        'final_train_loss REAL, final_train_acc REAL, final_test_acc REAL, examples_per_sec REAL, '
        'tflops REAL, error TEXT, pid INTEGER, heartbeat_at REAL, '
        'cancel_requested INTEGER DEFAULT 0, weights_path TEXT, provenance TEXT)',
        'CREATE INDEX runs_by_status ON runs(status)',
    )),
    # 8e4297c: Your own loop's curves and your TensorBoard logs as runs: cnnlab.track
    "8e4297c": (5, (
        'CREATE TABLE metrics ( run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, '
        'step INTEGER NOT NULL, epoch REAL NOT NULL, name TEXT NOT NULL, value REAL)',
        'CREATE INDEX metrics_by_run ON metrics(run_id, step)',
        'CREATE TABLE sweeps ( id INTEGER PRIMARY KEY, name TEXT NOT NULL, '
        "created_at REAL NOT NULL, finished_at REAL, status TEXT NOT NULL DEFAULT 'queued', "
        'spec TEXT NOT NULL, cluster TEXT, pid INTEGER, cancel_requested INTEGER DEFAULT 0, '
        'error TEXT)',
        'CREATE TABLE "runs" ( id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, '
        'created_at REAL NOT NULL, started_at REAL, finished_at REAL, '
        "status TEXT NOT NULL DEFAULT 'queued', config TEXT NOT NULL, model TEXT, dataset TEXT, "
        'device TEXT, params INTEGER, macs INTEGER, epochs_done REAL DEFAULT 0, '
        'final_train_loss REAL, final_train_acc REAL, final_test_acc REAL, examples_per_sec REAL, '
        'tflops REAL, error TEXT, pid INTEGER, heartbeat_at REAL, '
        'cancel_requested INTEGER DEFAULT 0, weights_path TEXT, sweep_id INTEGER, '
        'group_id INTEGER, node TEXT, provenance TEXT, source TEXT)',
        'CREATE INDEX runs_by_status ON runs(status)',
        'CREATE INDEX runs_by_sweep ON runs(sweep_id)',
    )),
    # fb66e20: Ownership, roles, quotas and a fair queue: every run and sweep records
    "fb66e20": (5, (
        'CREATE TABLE metrics ( run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, '
        'step INTEGER NOT NULL, epoch REAL NOT NULL, name TEXT NOT NULL, value REAL)',
        'CREATE INDEX metrics_by_run ON metrics(run_id, step)',
        'CREATE TABLE sweeps ( id INTEGER PRIMARY KEY, name TEXT NOT NULL, '
        "created_at REAL NOT NULL, finished_at REAL, status TEXT NOT NULL DEFAULT 'queued', "
        'spec TEXT NOT NULL, cluster TEXT, pid INTEGER, cancel_requested INTEGER DEFAULT 0, '
        'error TEXT, owner TEXT)',
        'CREATE TABLE "runs" ( id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, '
        'created_at REAL NOT NULL, started_at REAL, finished_at REAL, '
        "status TEXT NOT NULL DEFAULT 'queued', config TEXT NOT NULL, model TEXT, dataset TEXT, "
        'device TEXT, params INTEGER, macs INTEGER, epochs_done REAL DEFAULT 0, '
        'final_train_loss REAL, final_train_acc REAL, final_test_acc REAL, examples_per_sec REAL, '
        'tflops REAL, error TEXT, pid INTEGER, heartbeat_at REAL, '
        'cancel_requested INTEGER DEFAULT 0, weights_path TEXT, sweep_id INTEGER, '
        'group_id INTEGER, node TEXT, provenance TEXT, owner TEXT)',
        'CREATE INDEX runs_by_status ON runs(status)',
        'CREATE INDEX runs_by_sweep ON runs(sweep_id)',
    )),
    # 726a8c6: Memory you can trust: every run measures its second step's peak (PeakM
    "726a8c6": (6, (
        'CREATE TABLE metrics ( run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, '
        'step INTEGER NOT NULL, epoch REAL NOT NULL, name TEXT NOT NULL, value REAL)',
        'CREATE INDEX metrics_by_run ON metrics(run_id, step)',
        'CREATE TABLE sweeps ( id INTEGER PRIMARY KEY, name TEXT NOT NULL, '
        "created_at REAL NOT NULL, finished_at REAL, status TEXT NOT NULL DEFAULT 'queued', "
        'spec TEXT NOT NULL, cluster TEXT, pid INTEGER, cancel_requested INTEGER DEFAULT 0, '
        'error TEXT)',
        'CREATE TABLE "runs" ( id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, '
        'created_at REAL NOT NULL, started_at REAL, finished_at REAL, '
        "status TEXT NOT NULL DEFAULT 'queued', config TEXT NOT NULL, model TEXT, dataset TEXT, "
        'device TEXT, params INTEGER, macs INTEGER, epochs_done REAL DEFAULT 0, '
        'final_train_loss REAL, final_train_acc REAL, final_test_acc REAL, examples_per_sec REAL, '
        'tflops REAL, error TEXT, pid INTEGER, heartbeat_at REAL, '
        'cancel_requested INTEGER DEFAULT 0, weights_path TEXT, sweep_id INTEGER, '
        'group_id INTEGER, node TEXT, provenance TEXT, source TEXT, peak_memory REAL, '
        'memory_estimate REAL)',
        'CREATE INDEX runs_by_status ON runs(status)',
        'CREATE INDEX runs_by_sweep ON runs(sweep_id)',
    )),
    # 46fb055: Single runs on a Ray cluster: train --cluster, runner.launch(cluster=)
    "46fb055": (10, (
        'CREATE TABLE metrics ( run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, '
        'step INTEGER NOT NULL, epoch REAL NOT NULL, name TEXT NOT NULL, value REAL)',
        'CREATE INDEX metrics_by_run ON metrics(run_id, step)',
        'CREATE TABLE sweeps ( id INTEGER PRIMARY KEY, name TEXT NOT NULL, '
        "created_at REAL NOT NULL, finished_at REAL, status TEXT NOT NULL DEFAULT 'queued', "
        'spec TEXT NOT NULL, cluster TEXT, pid INTEGER, cancel_requested INTEGER DEFAULT 0, '
        'error TEXT, owner TEXT)',
        'CREATE TABLE "runs" ( id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, '
        'created_at REAL NOT NULL, started_at REAL, finished_at REAL, '
        "status TEXT NOT NULL DEFAULT 'queued', config TEXT NOT NULL, model TEXT, dataset TEXT, "
        'device TEXT, params INTEGER, macs INTEGER, epochs_done REAL DEFAULT 0, '
        'final_train_loss REAL, final_train_acc REAL, final_test_acc REAL, examples_per_sec REAL, '
        'tflops REAL, error TEXT, pid INTEGER, heartbeat_at REAL, '
        'cancel_requested INTEGER DEFAULT 0, weights_path TEXT, sweep_id INTEGER, '
        'group_id INTEGER, node TEXT, provenance TEXT, source TEXT, owner TEXT, peak_memory REAL, '
        'memory_estimate REAL, first_point_at REAL, class_pinned INTEGER NOT NULL DEFAULT 0, '
        'cluster TEXT)',
        'CREATE INDEX runs_by_status ON runs(status)',
        'CREATE INDEX runs_by_sweep ON runs(sweep_id)',
    )),
}
BASE_RUN = {"name": "old run", "created_at": 1.5, "started_at": 2.5, "finished_at": 3.5, "status": "done",
            "config": '{"epochs": 2, "lr": 0.1}', "model": "lenet", "dataset": "shapes", "device": "cpu",
            "params": 61706, "macs": 429342, "epochs_done": 2.0, "final_train_loss": 0.5,
            "final_train_acc": 0.75, "final_test_acc": 0.7, "examples_per_sec": 1234.5, "pid": 4242,
            "heartbeat_at": 3.0, "cancel_requested": 0, "weights_path": "/w/weights.pt"}
METRICS = [(7, 1, 0.5, "train_loss", 2.0), (7, 2, 1.0, "test_acc", 0.7), (9, 1, 0.5, "lr", None),
           (7, 2, 1.0, "train_loss", 1.25)]


def write_old_store(home, commit: str) -> dict[int, dict]:
    """A store as `commit` wrote it, with runs 7 and 9 (every column that schema has set on run 7) and
    their metrics, and a sweep where the schema has sweeps; returns each run's row as written."""
    version, ddl = OLD_SCHEMAS[commit]
    db = sqlite3.connect(home / "runs.sqlite", isolation_level=None)
    for statement in ddl:
        db.execute(statement)
    db.execute(f"PRAGMA user_version={version}")
    columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    extra = {"provenance": '{"torch": "2.1"}', "sweep_id": 3, "group_id": 7, "node": "node-a",
             "source": None, "owner": "alice", "peak_memory": 1.5e6, "memory_estimate": 2.5e6,
             "first_point_at": 2.75, "class_pinned": 1, "cluster": None}
    rows = {7: {"id": 7, **BASE_RUN, **{k: v for k, v in extra.items() if k in columns}},
            9: {"id": 9, "name": "later", "created_at": 4.0, "status": "failed", "config": "{}",
                **({"owner": "bob"} if "owner" in columns else {})}}
    for row in rows.values():
        db.execute(f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                   tuple(row.values()))
    db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", METRICS)
    if "sweeps" in {row[0] for row in db.execute("SELECT name FROM sqlite_master")}:
        db.execute("INSERT INTO sweeps (id, name, created_at, status, spec) "
                   "VALUES (3, 'old sweep', 1.0, 'done', '{\"trials\": 1}')")
    db.close()
    return rows


@pytest.mark.parametrize("commit", list(OLD_SCHEMAS))
def test_a_store_of_an_earlier_commit_opens_with_every_run_and_metric_intact(tmp_path, commit):
    written = write_old_store(tmp_path, commit)
    store = RunStore(tmp_path)
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert sorted(row[1] for row in db.execute("PRAGMA table_info(runs)")) == sorted(COLUMNS)
    runs = {run.id: run for run in store.list_runs()}
    assert sorted(runs) == [7, 9]
    for run_id, row in written.items():
        stored = db.execute(f"SELECT {', '.join(row)} FROM runs WHERE id=?", (run_id,)).fetchone()
        assert stored == tuple(row.values()), (commit, run_id)
    assert db.execute("SELECT * FROM metrics ORDER BY rowid").fetchall() == METRICS
    run = runs[7]
    assert (run.name, run.status, run.config, run.final_test_acc, run.weights_path, run.pid_start) == (
        "old run", "done", {"epochs": 2, "lr": 0.1}, 0.7, "/w/weights.pt", None)
    # a run recorded before owners existed is the store's user's; one recorded with an owner keeps it
    assert [runs[i].owner for i in (7, 9)] == [written[i].get("owner", getpass.getuser()) for i in (7, 9)]
    assert [(m["step"], m["value"]) for m in store.metrics(7)] == [(1, 2.0), (2, 0.7), (2, 1.25)]
    if "sweep_id" in written[7]:
        assert store.get_sweep(3).name == "old sweep" and store.sweep_runs(3) == [run]
    # ids are never reused after the upgrade, and a delete still takes its metrics with it
    store.delete(9, Actor("prof", "teacher"))
    assert db.execute("SELECT COUNT(*) FROM metrics WHERE run_id=9").fetchone() == (0,)
    new = store.create_run({"epochs": 1}, name="new", model="lenet", dataset="shapes")
    assert new == 10
    # opening it again changes nothing: every step is done only where the file lacks it
    before = db.execute("SELECT * FROM runs ORDER BY id").fetchall()
    RunStore(tmp_path)
    assert db.execute("SELECT * FROM runs ORDER BY id").fetchall() == before


def test_every_step_is_idempotent_on_a_store_of_this_version(tmp_path):
    store = RunStore(tmp_path)
    store.create_run({"epochs": 1}, name="now", model="lenet", dataset="shapes")
    db = sqlite3.connect(store.path, isolation_level=None)
    schema = db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    db.execute("PRAGMA user_version=3")  # a number an earlier commit wrote, over a schema that is current
    again = RunStore(tmp_path)
    assert again.get(1).name == "now"
    assert db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_a_newer_store_and_a_damaged_one_are_told_apart(tmp_path):
    newer, damaged = tmp_path / "newer", tmp_path / "damaged"
    newer.mkdir()
    damaged.mkdir()
    RunStore(newer).create_run({}, name="kept", model="lenet", dataset="shapes")
    sqlite3.connect(newer / "runs.sqlite", isolation_level=None).execute(
        f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigError, match=rf"has schema version {SCHEMA_VERSION + 1}, newer than this "
                                          rf"cnnlab \({SCHEMA_VERSION}\); upgrade cnnlab to read it \(the "
                                          "file is not damaged"):
        RunStore(newer)
    write_old_store(damaged, "fb66e20")
    sqlite3.connect(damaged / "runs.sqlite", isolation_level=None).execute("DROP TABLE metrics")
    with pytest.raises(ConfigError, match=r"is damaged or unreadable \(no table metrics\)"):
        RunStore(damaged)
