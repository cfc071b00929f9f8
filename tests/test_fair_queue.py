"""Fair order in a device's queue (queue._ahead): round robin by owner, with real worker processes."""

import os
import time

import pytest

from cnnlab.access import Actor
from cnnlab.runs import service
from cnnlab.runs.store import RunStore
from cnnlab.spec import model_config
from cnnlab.train.config import RunConfig, fit_input

TINY = RunConfig(model=fit_input(model_config("lenet"), "shapes"), epochs=1, limit_train=64, limit_test=32,
                 batch_size=32, device="cpu", speed="fixed")


@pytest.mark.usefixtures("no_stray_workers")
def test_one_users_queue_holds_another_user_back_by_at_most_one_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_MAX_RUNS_PER_DEVICE", "1")
    a_runs = [service.launch(TINY, name=f"a{i}", home=tmp_path, owner="alice") for i in range(5)]
    b_run = service.launch(TINY, name="b", home=tmp_path, owner="bob")
    store = RunStore(tmp_path)
    deadline = time.monotonic() + 300  # a liveness bound, not a speed check
    while store.get(b_run).started_at is None and time.monotonic() < deadline:
        time.sleep(0.2)
    b_started = store.get(b_run).started_at
    assert b_started is not None, [store.get(i).status for i in a_runs]
    before_b = [i for i in a_runs if (store.get(i).started_at or float("inf")) < b_started]
    assert len(before_b) <= 1, before_b
    for run_id in a_runs:  # the rest need not train
        if store.get(run_id).status in ("queued", "running"):
            store.request_cancel(run_id, Actor("alice"))


def test_the_turn_counts_the_owners_runs_training_and_queued_before(tmp_path):
    """Alice has one run training and two queued, Bob one queued after them: Bob's goes first, then
    Alice's in their order."""
    store = RunStore(tmp_path)
    config = TINY.to_dict()
    ids = [store.create_run(config, name=n, model="lenet", dataset="shapes", owner=o)
           for n, o in (("a1", "alice"), ("a2", "alice"), ("a3", "alice"), ("b1", "bob"))]
    for run_id in ids:
        store.update(run_id, pid=os.getpid())  # a live worker for each (this process: nothing to stop)
    store.claim(ids[0], os.getpid(), "cpu")
    runs = store.list_runs()
    by_id = {run.id: run for run in runs}
    assert service.waiting_for(by_id[ids[3]], runs, 1) == [ids[0]]  # only the slot's current run
    assert service.waiting_for(by_id[ids[1]], runs, 1) == [ids[0], ids[3]]
    assert service.waiting_for(by_id[ids[2]], runs, 1) == [ids[0], ids[1], ids[3]]


def test_a_sweeps_trials_count_for_their_owner_in_the_queue(tmp_path):
    """Alice's sweep has two trials training (on Ray, by its driver) and she queues a run; Bob's run,
    queued after hers, goes first: her trials were served."""
    store = RunStore(tmp_path)
    config = TINY.to_dict()
    sweep = store.create_sweep("alice's sweep", {"varied": []}, None, owner="alice")
    trials = [store.create_run(config, name=f"t{i}", model="lenet", dataset="shapes", owner="alice",
                               sweep_id=sweep, pid=os.getpid()) for i in range(2)]
    for trial in trials:
        store.claim(trial, os.getpid(), None)  # as the sweep's Recorder claims: no device recorded
    a_run, b_run = (store.create_run(config, name=owner, model="lenet", dataset="shapes", owner=owner,
                                     pid=os.getpid()) for owner in ("alice", "bob"))
    runs = store.list_runs()
    by_id = {run.id: run for run in runs}
    assert service.waiting_for(by_id[a_run], runs, 1) == [b_run]
    assert service.waiting_for(by_id[b_run], runs, 1) == []
