"""A run's timings: the wait in the queue, the time to its first live point and to done."""

import dataclasses
import sqlite3

from cnnlab.runs.store import DB_FILE, RunStore
from cnnlab.train.status import Status
from cnnlab.train.timings import Timings, timings
from cnnlab.units import format_seconds

TINY = ("--dataset", "shapes", "--limit-train", "128", "--limit-test", "64", "--epochs", "1",
        "--speed", "fixed", "--device", "cpu")


def test_timings_are_the_differences_of_the_recorded_times(tmp_path):
    store = RunStore(tmp_path)
    run = store.get(store.create_run({}, name="r", model="lenet", dataset="shapes"))
    run = dataclasses.replace(run, created_at=100.0, started_at=102.0, first_point_at=105.5,
                              finished_at=172.0)
    assert timings(run) == Timings(queued=2.0, first_point=3.5, done=70.0)
    assert timings(run).describe() == "waited 2.0 s · first point after 3.5 s · done after 1 min 10 s"
    running = dataclasses.replace(run, finished_at=None)
    assert timings(running).describe() == "waited 2.0 s · first point after 3.5 s"
    imported = dataclasses.replace(run, source={"kind": "tensorboard"})
    assert timings(imported) == Timings(None, None, None) and timings(imported).describe() == ""


def test_format_seconds():
    assert [format_seconds(s) for s in (0.04, 59.94, 60, 83.4, 3600)] == [
        "0.0 s", "59.9 s", "1 min 0 s", "1 min 23 s", "60 min 0 s"]


def test_a_trained_run_records_its_first_point_between_its_start_and_its_end(cli, tmp_path):
    status, _, err = cli("ada", "train", "lenet", *TINY)
    assert status == 0, err
    [run] = RunStore(tmp_path).list_runs()
    assert run.created_at <= run.started_at <= run.first_point_at <= run.finished_at


def test_runs_show_writes_the_timings_of_the_recorded_times(cli, tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create_run({}, name="r", model="lenet", dataset="shapes")
    store.finish(run_id, Status.DONE, when=frozenset({Status.QUEUED}))
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        db.execute("UPDATE runs SET created_at=100, started_at=102, first_point_at=105.5, finished_at=172 "
                   "WHERE id=?", (run_id,))
    status, out, _ = cli("ada", "runs", "show", str(run_id))
    assert status == 0
    assert ("  timings            waited 2.0 s · first point after 3.5 s · done after 1 min 10 s"
            in out.splitlines())
