"""A page render or a live tick only reads the run store; one reaper thread per server process ends the
runs whose process is gone and starts the queued runs whose turn has come."""

import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from cnnlab.runs.store import RunStore
from dashboard import run_store
from tests.ray_cluster import wait_for

WRITES = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE, sqlite3.SQLITE_CREATE_TABLE,
          sqlite3.SQLITE_DROP_TABLE}


@pytest.mark.slow  # a real (dead) process and the reaper's thread
def test_renders_only_read_and_one_reaper_per_process_ends_a_dead_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path))
    writer = RunStore(tmp_path)
    # waited for by this process (so no dispatcher starts it), until its waiting process is a dead one
    run_id = writer.create_run({"epochs": 1}, name="lenet on shapes", model="lenet", dataset="shapes",
                               pid=os.getpid())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    writer.update(run_id, pid=dead.pid)  # its waiting process is gone: a reconcile would end it
    store = run_store.open_store()
    writes = []

    def watch(action: int, *_) -> int:
        if action in WRITES:
            writes.append(action)
        return sqlite3.SQLITE_OK

    store._db.set_authorizer(watch)
    for _ in range(3):  # three live ticks: open, the runs, the watched run's metrics
        assert run_store.open_store() is store
        store.list_runs()
        store.metrics_frame([run_id])
    assert writes == []
    reapers = [t for t in threading.enumerate() if t.name == f"reaper-{tmp_path}"]
    assert len(reapers) == 1
    wait_for(lambda: store.get(run_id).status == "interrupted", 60, "the reaper to end the run")
    assert store.get(run_id).error == "the process waiting to train it stopped before the run started"
    (tmp_path / "runs.sqlite").unlink()
    reapers[0].join(timeout=60)
    assert not reapers[0].is_alive() and not (tmp_path / "runs.sqlite").exists()
