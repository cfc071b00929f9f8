"""The worker: waits for its slot, claims the run, trains it with a heartbeat and records everything.

It runs in the detached process `python -m cnnlab train --run-id N --home H` (cnnlab.train.runner
starts it) or in the foreground CLI. SIGTERM stops the run at the next poll, `cancelled`.
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
from cnnlab.train.callbacks import Reporter, StopPoller, StoreRecorder
from cnnlab.train.config import RunConfig
from cnnlab.train.fit import fit
from cnnlab.train.loop import Report
from cnnlab.train.provenance import provenance
from cnnlab.train.queue import TERMINATED, claim_when_free, max_runs_per_device
from cnnlab.train.setup import resolve_device
from cnnlab.train.status import Status
from cnnlab.train.store import Run, RunStore
from cnnlab.train.weights import save_weights, state_bytes

HEARTBEAT_SECONDS = 2.0
SPEED_CACHE = "speed-cache.json"  # speed="auto"'s measurements, per machine and model


def execute(run_id: int, *, home: str | Path | None = None, progress: Report | None = None) -> Run:
    """Wait for a free slot on the run's device, claim the run, train it and record everything.

    Used by the detached worker and by the foreground CLI (which passes `progress`). Whatever happens,
    the run does not stay `running`: an exception ends it `failed` (Ctrl-C: `cancelled`) and is re-raised;
    SIGTERM stops it at the next poll, `cancelled`, with the metrics and results so far. Concurrent CPU
    runs share the cores (`cpu_threads`). The run's provenance is recorded when it is claimed.
    """
    store = RunStore(home)
    with _terminated() as terminated:
        try:
            config = RunConfig.from_dict(store.get(run_id).config)
            device = resolve_device(config.device)
            limit = max_runs_per_device()
            store.update(run_id, pid=os.getpid())  # older than later runs in the queue, and alive
            if not claim_when_free(store, run_id, str(device), limit, terminated):
                return store.get(run_id)
            threads = cpu_threads(limit) if device.type == "cpu" else None
            if threads is not None:
                torch.set_num_threads(threads)
            origin = provenance(device)
            store.update(run_id, provenance=origin)
            callbacks = [StoreRecorder(store, run_id),
                         StopPoller(lambda: terminated.is_set() or store.cancel_requested(run_id))]
            if progress is not None:
                callbacks.append(Reporter(progress))
            with _heartbeat(store.home, run_id):
                result = fit(config, callbacks, speed_cache=store.home / SPEED_CACHE)
            fields = {**result.columns(), "provenance": {**origin, "speed": result.speed}}
            if config.save_weights and result.model is not None:
                fields["weights_path"] = str(save_weights(store, run_id, state_bytes(result.model)))
            error = result.error or (TERMINATED if terminated.is_set() else None)
            store.finish(run_id, result.status, error=error, **fields)
        except KeyboardInterrupt:
            store.finish(run_id, Status.CANCELLED, error="interrupted from the keyboard")
            raise
        except BaseException as exc:
            store.finish(run_id, Status.FAILED, error=str(exc) if isinstance(exc, ConfigError)
                         else f"{type(exc).__name__}: {exc}")
            raise
    return store.get(run_id)


def run_worker(run_id: int, home: str | Path) -> int:
    """The detached worker's body: exit status 0 whatever the run's outcome, 1 on an unexpected error.

    An unknown run id, or another user's run (cnnlab.access), is a ConfigError (exit status 2 from the
    CLI)."""
    check_may_act(current_actor(), RunStore(home).get(run_id).owner, "train", f"run {run_id}")
    try:
        execute(run_id, home=home)
    except ConfigError:
        return 0  # recorded as the run's error
    except Exception:
        traceback.print_exc()
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


@contextmanager
def _heartbeat(home: Path, run_id: int) -> Iterator[None]:
    """Beat every HEARTBEAT_SECONDS from a thread with its own store connection."""
    stop = threading.Event()

    def beat() -> None:
        store = RunStore(home)
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                store.heartbeat(run_id)
            except Exception:  # a busy database must not end the beat; the next one retries
                traceback.print_exc()

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
