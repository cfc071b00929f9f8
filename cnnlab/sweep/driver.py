"""The sweep's driver: runs the trials on Ray Tune and is the one process that writes them to the store.

Trials only `tune.report`; the callback in `cnnlab.sweep.recorder` turns each report into the rows a
single run writes, and its stopper ends the trials whose run, or whole sweep, was cancelled in the store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cnnlab.runs.cluster import connect
from cnnlab.runs.executors import ending_on_error
from cnnlab.runs.rows import Run, Sweep
from cnnlab.runs.store import TERMINAL, RunStore
from cnnlab.sweep import guard
from cnnlab.sweep.trial import train_trial


def execute(sweep_id: int, *, home: str | Path | None = None, ended: Any = None) -> Sweep:
    """Connect to Ray (here or at the sweep's cluster), run every queued trial and record everything;
    `ended(run)` is called as each trial ends.

    Whatever happens, no trial stays queued or running: on an exception the sweep and its leftover
    trials end failed (Ctrl-C: cancelled) and the exception is re-raised; should this process be killed,
    its guard (`cnnlab.sweep.guard`) ends them interrupted and brings down the Ray processes it started.
    """
    store = RunStore(home)
    sweep = store.get_sweep(sweep_id)
    if not store.start_sweep(sweep_id, os.getpid()):
        return sweep
    for run in store.sweep_runs(sweep_id):
        if run.status == "queued":
            store.update(run.id, pid=os.getpid())  # the driver owns its waiting trials
    watcher = guard.start(store.home)  # should this process be killed, it ends what it leaves
    try:
        with ending_on_error(lambda status, error: _end(store, sweep_id, status, error)):
            ray = connect(sweep.cluster)
            try:
                _tune(ray, store, sweep, ended)
            finally:
                ray.shutdown()
    finally:
        guard.stop(watcher)
    if store.sweep_cancel_requested(sweep_id):
        _end(store, sweep_id, "cancelled", "cancelled")
    else:
        _end(store, sweep_id, "failed", "Ray ended the sweep before this trial finished", sweep_status="done")
    return store.get_sweep(sweep_id)


def _tune(ray: Any, store: RunStore, sweep: Sweep, ended: Any) -> None:
    from cnnlab.sweep.recorder import Canceller, Recorder

    runs = [run for run in store.sweep_runs(sweep.id) if run.status == "queued"]
    if runs:
        # On a cluster each trial gets a worker of its own: a finished trial's worker, reused, would take
        # the next trial even from a node whose worker is still starting, piling trials onto one node.
        run_trials(ray, store, runs, name=f"sweep-{sweep.id}", reuse_workers=sweep.cluster is None,
                   early_stop=sweep.spec.get("early_stop") == "asha", recorder=Recorder(store.home, ended),
                   stop=Canceller(store.home, sweep.id))


def run_trials(ray: Any, store: RunStore, runs: list[Run], *, name: str, reuse_workers: bool,
               early_stop: bool, recorder: Any, stop: Any) -> None:
    """Train `runs` as the trials of one Tune experiment `name` (one CPU each, and one GPU where the
    cluster has them), in interleaved order, with successive halving if `early_stop`; `recorder` writes
    their reports, `stop` ends them. Returns when every trial has ended."""
    from ray import tune

    from cnnlab.sweep.halving import RungHalving

    resources = ray.cluster_resources()
    gpus = 1 if resources.get("GPU", 0) >= 1 else 0
    trainable = tune.with_resources(
        tune.with_parameters(train_trial, configs={run.id: run.config for run in runs}),
        {"cpu": 1, "gpu": gpus})
    scheduler = None
    if early_stop:
        slots = int(min(resources.get("CPU", 0), resources.get("GPU", 0) if gpus else float("inf")))
        scheduler = RungHalving({run.id: run.config["epochs"] for run in runs}, slots)
    tuner = tune.Tuner(
        trainable, param_space={"run_id": tune.grid_search(interleaved([run.id for run in runs]))},
        tune_config=tune.TuneConfig(scheduler=scheduler, reuse_actors=reuse_workers),
        run_config=tune.RunConfig(name=name, storage_path=str(store.home / "ray-results"), verbose=0,
                                  callbacks=[recorder], stop=stop))
    tuner.fit()


def interleaved(items: list[Any]) -> list[Any]:
    """`items` in bit-reversed index order (0, 4, 2, 6, 1, 5, ... of 8): the first trials to start span
    the planned order, so neighbours in the grid (its repeats, its nearby values) do not start together."""
    bits = max(len(items) - 1, 0).bit_length()
    order = sorted(range(len(items)), key=lambda i: int(f"{i:0{bits}b}"[::-1] or "0", 2))
    return [items[i] for i in order]


def _end(store: RunStore, sweep_id: int, status: str, error: str, sweep_status: str | None = None) -> None:
    """End the trials that have not ended with `status`, then the sweep (with `sweep_status` if given)."""
    for run in store.sweep_runs(sweep_id):
        if run.status not in TERMINAL:
            store.finish(run.id, status, error=error)
    final = sweep_status or status
    store.finish_sweep(sweep_id, final, error=None if final == "done" else error)
