"""The local executor, a worker: trains a claimed run with a heartbeat, records everything, then hands
the slot on.

It runs in the detached process `python -m cnnlab train --run-id N --home H` (a dispatcher,
cnnlab.runs.queue, claims the run and starts it) or in the foreground CLI, which waits for its turn.
SIGTERM stops the run at the next poll, `cancelled`.
"""

from __future__ import annotations

import os
import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from cnnlab.access import check_may_act, current_actor
from cnnlab.errors import ConfigError
from cnnlab.runs.executors import ending_on_error, executor_for
from cnnlab.runs.lifecycle import heartbeat
from cnnlab.runs.queue import (
    NOT_STARTED,
    TERMINATED,
    claim_when_free,
    device_lock,
    dispatch,
    max_runs_per_device,
)
from cnnlab.runs.rows import Run
from cnnlab.runs.spawn import LOG_FILE, replace_process, worker_args, worker_env
from cnnlab.runs.store import RunStore
from cnnlab.runs.weights import save_weights
from cnnlab.train.callbacks import Reporter, StopPoller, StoreRecorder
from cnnlab.train.config import RunConfig
from cnnlab.train.fit import fit
from cnnlab.train.loop import Report
from cnnlab.train.provenance import provenance
from cnnlab.train.setup import resolve_device
from cnnlab.train.status import Status
from cnnlab.train.weights import state_bytes

SPEED_CACHE = "speed-cache.json"  # speed="auto"'s measurements, per machine and model


def execute(store: RunStore, run_id: int, progress: Report | None = None) -> Run:
    """The local executor (cnnlab.runs.executors): wait for the run's turn on its device, claim it,
    train it, record everything, and start the runs whose turn comes then (`dispatch`).

    Used by the foreground CLI (which passes `progress`) and, through `run_worker`, by the detached
    worker. Whatever happens, the run does not stay `running`: an exception ends it
    (`ending_on_error`) and is re-raised; SIGTERM stops it at the next poll, `cancelled`, with the
    metrics and results so far. Concurrent CPU runs share the cores (`cpu_threads`). The run's
    provenance is recorded when it is claimed.
    """
    return _execute(store, run_id, progress, hand_off=False)[0]


def check(cluster: None) -> None:
    """Nothing to check beyond the launch's own (`service.check_runnable`): the run trains here."""


def _execute(store: RunStore, run_id: int, progress: Report | None,
             hand_off: bool) -> tuple[Run, int | None]:
    """`execute`; with `hand_off`, the first run whose turn comes when this one ends is claimed for
    this process instead of started in a new one: returned second, for `run_worker` to become its
    worker. A run on a Ray cluster is trained by its executor instead, this process its driver."""
    cluster = store.get(run_id).cluster
    if cluster is not None:
        return executor_for(cluster).execute(store, run_id, progress), None
    device = successor = None
    def end(status: Status, error: str) -> None:
        _end(store, run_id, device, status, error)

    with _terminated() as terminated, ending_on_error(end):
        config = RunConfig.from_dict(store.get(run_id).config)
        limit = max_runs_per_device()
        device = resolve_device(config.device)
        if not claim_when_free(store, run_id, str(device), limit, terminated):
            return store.get(run_id), None
        threads = cpu_threads(limit) if device.type == "cpu" else None
        if threads is not None:
            torch.set_num_threads(threads)
        origin = provenance(device)
        store.update(run_id, provenance=origin)
        callbacks = [StoreRecorder(store, run_id),
                     StopPoller(lambda: terminated.is_set() or store.cancel_requested(run_id))]
        if progress is not None:
            callbacks.append(Reporter(progress))
        with heartbeat(store.home, run_id):
            result = fit(config, callbacks, speed_cache=store.home / SPEED_CACHE)
        fields = {**result.columns(), "provenance": {**origin, "speed": result.speed}}
        if config.save_weights and result.model is not None:
            fields["weights_path"] = str(save_weights(store, run_id, state_bytes(result.model)))
        error = result.error or (TERMINATED if terminated.is_set() else None)
        # The end and the look at the queue under one lock: no dispatcher sees the slot free
        # before this process has given it away, and none misses a run queued meanwhile.
        with device_lock(store, str(device)):
            store.finish(run_id, result.status, error=error, **fields)
            successor = dispatch(store, str(device), limit, hand_off=hand_off)
    return store.get(run_id), successor


def _end(store: RunStore, run_id: int, device: torch.device | None, status: Status, error: str) -> None:
    """End the run `status` (if it has not ended) and start the runs whose turn comes then."""
    store.finish(run_id, status, error=error)
    if device is not None:
        with device_lock(store, str(device)):
            dispatch(store, str(device), max_runs_per_device())


def run_worker(run_id: int, home: str | Path) -> int:
    """The detached worker's body: exit status 0 whatever the run's outcome, 1 on an unexpected error.
    When the run ends and another's turn comes on its device, this process becomes that run's worker
    (`replace_process`: a fresh interpreter, so no memory of this run stays).

    An unknown run id, or another user's run (cnnlab.access), is a ConfigError (exit status 2 from the
    CLI)."""
    store = RunStore(home)
    check_may_act(current_actor(), store.get(run_id).owner, "train", f"run {run_id}")
    try:
        _, successor = _execute(store, run_id, None, hand_off=True)
    except ConfigError:
        return 0  # recorded as the run's error
    except Exception:
        traceback.print_exc()
        return 1
    if successor is not None:
        run = store.get(successor)
        try:
            replace_process(worker_args(successor, store.home), store.run_dir(successor) / LOG_FILE,
                            worker_env(run.owner))
        except OSError as exc:
            _end(store, successor, torch.device(run.device), Status.FAILED, f"{NOT_STARTED}: {exc}")
            return 1
    return 0


def cpu_threads(runs: int, cpus: int | None = None) -> int | None:
    """Torch threads for each of `runs` concurrent CPU runs on `cpus` cores (default: those this process
    may use): an equal share, at least 1; None (torch's own default) when one run has the machine."""
    if runs <= 1:
        return None
    cpus = cpus or len(os.sched_getaffinity(0))
    return max(1, cpus // runs)


@contextmanager
def _terminated() -> Iterator[threading.Event]:
    """An event set by SIGTERM while the block runs (in the main thread only; elsewhere it never is)."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: event.set())
    try:
        yield event
    finally:
        signal.signal(signal.SIGTERM, previous)
