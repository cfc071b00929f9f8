"""A process that reused a dead worker's pid is never taken for the worker, and never killed.

The run records its process's start time with its pid (cnnlab.runs.processes); the unrelated process
here is a real `sleep` holding the recorded pid with another start time, as a pid the system handed out
again would.
"""

import os
import signal
import sqlite3
import subprocess
import time

import pytest

from cnnlab.runs.processes import kill_process, process_alive, process_start
from cnnlab.runs.store import HEARTBEAT_TIMEOUT, RunStore

pytestmark = pytest.mark.slow  # it starts processes


@pytest.fixture
def unrelated():
    """A live process that is no run's worker."""
    process = subprocess.Popen(["sleep", "300"])
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def recorded_as(store: RunStore, run_id: int, pid: int, start: int | None, *, running: bool) -> None:
    """Run `run_id` recorded with process `pid` started at `start`, its last heartbeat long ago."""
    db = sqlite3.connect(store.path, isolation_level=None)
    db.execute("UPDATE runs SET status=?, pid=?, pid_start=?, heartbeat_at=? WHERE id=?",
               ("running" if running else "queued", pid, start, time.time() - 2 * HEARTBEAT_TIMEOUT, run_id))
    db.close()


def new_run(store: RunStore) -> int:
    return store.create_run({"epochs": 1}, name="lenet on shapes", model="lenet", dataset="shapes")


def test_reconcile_and_cancel_leave_a_process_holding_a_reused_pid_alive(tmp_path, unrelated):
    store = RunStore(tmp_path)
    start = process_start(unrelated.pid)
    running, queued = new_run(store), new_run(store)
    # the worker that had this pid started one tick earlier and is gone
    recorded_as(store, running, unrelated.pid, start - 1, running=True)
    recorded_as(store, queued, unrelated.pid, start - 1, running=False)
    assert sorted(store.reconcile()) == [running, queued]
    assert store.get(running).error == f"the training process (pid {unrelated.pid}) stopped without finishing"
    assert store.get(queued).error == "the process waiting to train it stopped before the run started"
    cancelled = new_run(store)
    recorded_as(store, cancelled, unrelated.pid, start - 1, running=False)
    assert store.request_cancel(cancelled).status == "cancelled"
    assert unrelated.poll() is None and process_alive(unrelated.pid)


def test_the_runs_own_unanswering_process_is_killed(tmp_path, unrelated):
    """The control: the same record with the process's real start time is the run's, and is killed."""
    store = RunStore(tmp_path)
    run_id = new_run(store)
    recorded_as(store, run_id, unrelated.pid, process_start(unrelated.pid), running=True)
    assert store.reconcile() == [run_id]
    assert store.get(run_id).error.startswith(f"the training process (pid {unrelated.pid}) stopped answering")
    assert store.get(run_id).error.endswith("and was killed")
    assert unrelated.wait(timeout=10) == -signal.SIGKILL


def test_a_run_recorded_without_a_start_time_never_has_its_process_killed(tmp_path, unrelated):
    """A row from before start times were recorded cannot prove its process is its worker: the run
    ends, its process is left alone."""
    store = RunStore(tmp_path)
    run_id = new_run(store)
    recorded_as(store, run_id, unrelated.pid, None, running=True)
    assert store.reconcile() == [run_id]
    assert store.get(run_id).error.endswith("; it was not killed (its process could not be proved to be the "
                                            "run's)")
    assert unrelated.poll() is None


def test_start_times_name_one_process(unrelated):
    start = process_start(unrelated.pid)
    assert start == process_start(unrelated.pid) and start >= process_start(os.getpid())
    assert process_alive(unrelated.pid, start) and not process_alive(unrelated.pid, start + 1)
    assert not kill_process(unrelated.pid, start + 1) and unrelated.poll() is None
    assert not kill_process(unrelated.pid, None) and unrelated.poll() is None
    assert kill_process(unrelated.pid, start) and unrelated.wait(timeout=10) == -signal.SIGKILL
