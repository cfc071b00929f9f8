"""The service: runs recorded in the run store are created, launched, executed and cancelled here,
with the access rule and the class quotas applied, and the executor picked by the run (here or on a Ray
cluster: cnnlab.runs.executors); the CLI and the dashboard reach the runner's parts through it.

A launched run is a row in the store until its turn comes; then a separate process (`python -m cnnlab
train --run-id N --home H`, cnnlab.runs.executors.local) in its own session trains it, so it outlives the
browser tab or the CLI that launched it. The store is all that it shares with them.
"""

from __future__ import annotations

import os
from pathlib import Path

from cnnlab import quotas
from cnnlab.access import Actor, current_user
from cnnlab.analysis import Totals, analyze
from cnnlab.data import dataset_info, load_split
from cnnlab.errors import ConfigError
from cnnlab.reports.labels import run_label
from cnnlab.runs.executors import executor_for
from cnnlab.runs.executors.local import run_worker
from cnnlab.runs.queue import (
    MAX_RUNS_ENV,
    device_lock,
    dispatch,
    dispatch_all,
    locked,
    max_runs_per_device,
    start_worker,
    waiting_for,
)
from cnnlab.runs.rows import Run
from cnnlab.runs.spawn import LOG_FILE
from cnnlab.runs.store import RunStore
from cnnlab.runs.weights import load_weights
from cnnlab.train.config import RunConfig
from cnnlab.train.loop import Report
from cnnlab.train.memory import check_fits
from cnnlab.train.recipes import recipe_for
from cnnlab.train.setup import resolve_device
from cnnlab.train.status import Status

LAUNCH_LOCK = "launch.lock"

__all__ = ["LAUNCH_LOCK", "LOG_FILE", "MAX_RUNS_ENV", "cancel", "check_runnable", "create_run",
           "dispatch_all", "execute", "launch", "load_weights", "max_runs_per_device", "record_run",
           "run_name", "run_worker", "waiting_for"]


def create_run(config: RunConfig, *, name: str | None = None, home: str | Path | None = None,
               owner: str | None = None, cluster: str | None = None) -> int:
    """Record `config` as a queued run of `owner` (default: `access.current_user()`), with its parameter
    and MAC counts, to be trained by this process (`execute`: it waits for its turn, and no dispatcher
    starts it elsewhere), here or on the Ray cluster at address `cluster`; return its id.

    A device this machine lacks, a dataset that cannot be loaded, a cluster that does not answer or a
    class quota the run would pass (cnnlab.quotas) is a ConfigError, and nothing is recorded.
    """
    return _create(RunStore(home), config, name, owner, os.getpid(), cluster)


def _create(store: RunStore, config: RunConfig, name: str | None, owner: str | None,
            pid: int | None, cluster: str | None) -> int:
    """`create_run` in `store`, waited for by process `pid` (None: a dispatcher starts it)."""
    executor_for(cluster).check(cluster)
    totals = check_runnable(config, here=cluster is None)  # the one analysis: the quota and the row read it
    owner = owner or current_user()
    with locked(store.home / LAUNCH_LOCK):  # two launches of one user never both pass a quota
        quotas.check_launch(store, owner, [(config, totals.macs)])
        return record_run(store, config, name, totals=totals, owner=owner, pid=pid, cluster=cluster)


def record_run(store: RunStore, config: RunConfig, name: str | None = None, *, totals: Totals | None = None,
               owner: str | None = None, pid: int | None = None, sweep_id: int | None = None,
               cluster: str | None = None) -> int:
    """Record `config` in `store` as a queued run of `owner`, with its parameter and MAC counts (`totals`,
    the model's as a check already found them; else analysed here), without the launch's checks (a
    sweep's trials, of `sweep_id`, may train on a cluster's devices), waited for by process `pid`
    (`RunStore.create_run`); return its id."""
    totals = analyze(config.model).totals if totals is None else totals
    return store.create_run(config.to_dict(), name=run_name(config, name), model=config.model.name,
                            dataset=config.dataset, params=totals.params, macs=totals.macs, owner=owner,
                            pid=pid, sweep_id=sweep_id, cluster=cluster)


def check_runnable(config: RunConfig, *, here: bool = True) -> Totals:
    """The model's totals; ConfigError if the model cannot run on its input, its (non built-in) dataset
    cannot be loaded or CNNLAB_MAX_RUNS_PER_DEVICE is malformed, and, for a run `here` (not on a
    cluster), if `config.device` is missing here or its estimated training peak does not fit the device.
    The launch and the Train page's check share it."""
    max_runs_per_device()
    totals = analyze(config.model).totals
    if here:
        check_fits(config, resolve_device(config.device))
    if not dataset_info(config.dataset)["offline"]:
        load_split(config.dataset, False, config.data_dir, limit=1)
    return totals


def run_name(config: RunConfig, name: str | None = None) -> str:
    """`name`, or by default what the run trained and the training options set away from its model
    family's recipe (cnnlab.reports.labels.run_label, as the pages name runs): 'lenet on mnist ·
    epochs=3 lr=0.01'."""
    if name:
        return name
    return run_label(config.model, config.dataset, config.resize, config.to_dict(),
                     recipe_for(config.model, config.dataset))


def launch(config: RunConfig, *, name: str | None = None, home: str | Path | None = None,
           owner: str | None = None, cluster: str | None = None) -> int:
    """Record a queued run of `owner` and return its id at once. It costs only its row until its turn
    comes on its device: then a dispatcher (this launch, if a slot is free; else the worker whose run
    ends, or the next look of the CLI or the pages) claims it and starts its detached worker, which acts
    as the run's owner, its output in `worker.log` in the run's folder (cnnlab.runs.queue).

    A run on the Ray cluster at address `cluster` gets its detached driver at once: the cluster
    queues it (cnnlab.sweep.cluster_run).
    """
    store = RunStore(home)
    if cluster is not None:
        run_id = _create(store, config, name, owner, os.getpid(), cluster)  # this process's until ...
        pid = start_worker(store, store.get(run_id))
        if pid is None:
            raise ConfigError(f"run {run_id}: {store.get(run_id).error}")
        store.wait_in_queue(run_id, pid)  # ... its driver's
        return run_id
    run_id = _create(store, config, name, owner, None, None)
    device = str(resolve_device(config.device))
    with device_lock(store, device):  # after the run is recorded: a dispatcher that looks later sees it
        dispatch(store, device, max_runs_per_device())
    run = store.get(run_id)
    if run.status == Status.FAILED and run.pid is None:
        raise ConfigError(f"run {run_id}: {run.error}")
    return run_id


def execute(run_id: int, *, home: str | Path | None = None, progress: Report | None = None) -> Run:
    """Train run `run_id` (recorded for this process: `create_run`) with its executor, here or on its
    cluster, and return it ended; `progress` sees each report."""
    store = RunStore(home)
    return executor_for(store.get(run_id).cluster).execute(store, run_id, progress)


def cancel(run_id: int, home: str | Path | None = None, actor: Actor | None = None) -> None:
    """Stop run `run_id`: a queued run is cancelled at once, a running one by its worker within a second
    or two. An unknown or already ended run, or one `actor` (default: `access.current_actor()`) may not
    cancel, is a ConfigError."""
    RunStore(home).request_cancel(run_id, actor)
