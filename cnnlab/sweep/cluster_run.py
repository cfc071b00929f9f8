"""A single run on a Ray cluster (`cnnlab train ... --cluster ADDRESS`, `cnnlab dashboard --cluster`).

The run is recorded as any run is, with the cluster's address. Its driver on this machine (the detached
`train --run-id N` process, or the foreground CLI) connects to the cluster, trains the run there as a
one-trial Tune experiment (`cnnlab.sweep.trial`: one CPU, and one GPU where the cluster has them) and is
the one process that writes its reports to the store, as a sweep's driver is. It beats for the run, so a
stopped driver is ended like a stopped worker; should it be killed, its guard ends the run interrupted,
and Ray ends the trial with the driver's job. Such runs wait in the cluster's queue, not this machine's.
"""

from __future__ import annotations

import os

from cnnlab.runs.cluster import check_cluster, connect
from cnnlab.runs.executors import ending_on_error
from cnnlab.runs.lifecycle import heartbeat
from cnnlab.runs.rows import Run
from cnnlab.runs.store import RunStore
from cnnlab.sweep import guard
from cnnlab.sweep.driver import run_trials
from cnnlab.train.loop import Report
from cnnlab.train.status import Status


def check(cluster: str) -> None:
    """ConfigError unless Ray is installed and the cluster at address `cluster` answers."""
    check_cluster(cluster)


def execute(store: RunStore, run_id: int, progress: Report | None = None) -> Run:
    """The Ray executor (cnnlab.runs.executors): train queued run `run_id` on its cluster from this
    process, recording everything (`progress` sees each report too). Whatever happens, the run does not
    stay queued or running: an exception ends it (`ending_on_error`) and is re-raised."""
    store.wait_in_queue(run_id, os.getpid())  # the run is this process's from now on
    run = store.get(run_id)
    if run.status != Status.QUEUED:
        return run  # cancelled meanwhile
    watcher = guard.start(store.home)  # should this process be killed, it ends the run
    try:
        with ending_on_error(lambda status, error: store.finish(run_id, status, error=error)), \
                heartbeat(store.home, run_id):
            from cnnlab.sweep.recorder import Canceller, Recorder

            ray = connect(run.cluster)
            try:
                run_trials(ray, store, [run], name=f"run-{run_id}", reuse_workers=False,
                           early_stop=False, recorder=Recorder(store.home, progress=progress),
                           stop=Canceller(store.home, None))
            finally:
                ray.shutdown()
    finally:
        guard.stop(watcher)
    store.finish(run_id, Status.FAILED, error=f"Ray ended the run on {run.cluster} before it finished")
    return store.get(run_id)
