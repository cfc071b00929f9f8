"""The sweep's driver: runs the trials on Ray Tune and is the one process that writes them to the store.

Trials only `tune.report`; the callback in `cnnlab.sweep.recorder` turns each report into the rows a
single run writes, and its stopper ends the trials whose run, or whole sweep, was cancelled in the store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cnnlab.errors import ConfigError
from cnnlab.sweep.engine import connect
from cnnlab.sweep.records import Sweep, SweepStore
from cnnlab.sweep.trial import train_trial
from cnnlab.train.store import TERMINAL

ASHA_REDUCTION = 2  # past each rung go the trials in the better half there


def execute(sweep_id: int, *, home: str | Path | None = None, ended: Any = None) -> Sweep:
    """Connect to Ray (here or at the sweep's cluster), run every queued trial and record everything;
    `ended(run)` is called as each trial ends.

    Whatever happens, no trial stays queued or running: on an exception the sweep and its leftover
    trials end failed (Ctrl-C: cancelled) and the exception is re-raised.
    """
    store = SweepStore(home)
    sweep = store.get_sweep(sweep_id)
    if not store.start_sweep(sweep_id, os.getpid()):
        return sweep
    for run in store.sweep_runs(sweep_id):
        if run.status == "queued":
            store.update(run.id, pid=os.getpid())  # the driver owns its waiting trials
    try:
        ray = connect(sweep.cluster)
        try:
            _tune(ray, store, sweep, ended)
        finally:
            ray.shutdown()
    except KeyboardInterrupt:
        _end(store, sweep_id, "cancelled", "interrupted from the keyboard")
        raise
    except BaseException as exc:
        _end(store, sweep_id, "failed", str(exc) if isinstance(exc, ConfigError)
             else f"{type(exc).__name__}: {exc}")
        raise
    if store.sweep_cancel_requested(sweep_id):
        _end(store, sweep_id, "cancelled", "cancelled")
    else:
        _end(store, sweep_id, "failed", "Ray ended the sweep before this trial finished", sweep_status="done")
    return store.get_sweep(sweep_id)


def _tune(ray: Any, store: SweepStore, sweep: Sweep, ended: Any) -> None:
    from ray import tune

    from cnnlab.sweep.recorder import Canceller, Recorder

    runs = [run for run in store.sweep_runs(sweep.id) if run.status == "queued"]
    if not runs:
        return
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    trainable = tune.with_resources(
        tune.with_parameters(train_trial, configs={run.id: run.config for run in runs}),
        {"cpu": 1, "gpu": gpus})
    scheduler = None
    if sweep.spec.get("early_stop") == "asha":
        scheduler = tune.schedulers.ASHAScheduler(
            time_attr="epochs_done", metric="test_acc", mode="max", grace_period=1,
            max_t=max(run.config["epochs"] for run in runs), reduction_factor=ASHA_REDUCTION,
            stop_last_trials=False)
    tuner = tune.Tuner(
        trainable, param_space={"run_id": tune.grid_search([run.id for run in runs])},
        tune_config=tune.TuneConfig(scheduler=scheduler, reuse_actors=True),
        run_config=tune.RunConfig(name=f"sweep-{sweep.id}", storage_path=str(store.home / "ray-results"),
                                  verbose=0, callbacks=[Recorder(store.home, ended)],
                                  stop=Canceller(store.home, sweep.id)))
    tuner.fit()


def _end(store: SweepStore, sweep_id: int, status: str, error: str, sweep_status: str | None = None) -> None:
    """End the trials that have not ended with `status`, then the sweep (with `sweep_status` if given)."""
    for run in store.sweep_runs(sweep_id):
        if run.status not in TERMINAL:
            store.finish(run.id, status, error=error)
    final = sweep_status or status
    store.finish_sweep(sweep_id, final, error=None if final == "done" else error)
