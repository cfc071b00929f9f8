"""The queue: which queued run may take a slot on its device, and who starts it.

At most CNNLAB_MAX_RUNS_PER_DEVICE runs train on one device; the queued runs of a device take its free
slots in turn: round robin by owner, then by age (`_turns`). A launched run is only a row until its
turn comes (no process, pid NULL): a dispatcher (`dispatch`: the launch, the worker whose run ended,
the CLI's and the dashboard's look at the store) claims it and starts its worker. A run recorded to
train in a process of its own (the foreground CLI) is claimed by that process when its turn comes.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cnnlab.errors import ConfigError, quoted
from cnnlab.runs.processes import process_alive
from cnnlab.runs.rows import Run
from cnnlab.runs.spawn import LOG_FILE, spawn_detached, worker_args, worker_env
from cnnlab.runs.store import RunStore
from cnnlab.train.setup import resolve_device
from cnnlab.train.status import Status

MAX_RUNS_ENV = "CNNLAB_MAX_RUNS_PER_DEVICE"
QUEUE_POLL_SECONDS = 0.5
TERMINATED = "stopped by SIGTERM"
NOT_STARTED = "the training process could not be started"


def max_runs_per_device() -> int:
    """CNNLAB_MAX_RUNS_PER_DEVICE (default 1); a malformed value is a ConfigError."""
    value = os.environ.get(MAX_RUNS_ENV, "1").strip()
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{MAX_RUNS_ENV} must be a whole number of at least 1, got {quoted(value)}")
    return int(value)


@contextmanager
def device_lock(store: RunStore, device: str) -> Iterator[None]:
    """The lock file that makes "look at the queue, then claim" atomic on `device` among processes."""
    with locked(store.home / f"claim-{device.replace(':', '-')}.lock"):
        yield


def dispatch(store: RunStore, device: str, limit: int, *, own: int | None = None,
             hand_off: bool = False) -> int | None:
    """Give `device`'s free slots to the queued runs whose turn it is; the caller holds `device_lock`.

    Runs whose process died (or stopped answering) are ended first (`reconcile`), so they free their
    slot. A run no process waits for is claimed and its detached worker started; the first of them
    is claimed for this process instead if `hand_off` (its worker becomes this process). Run `own`
    (this process waits to train it) is claimed for this process; another process's waiting run is
    left to it (it claims at its next look). Returns the run claimed for this process, if any.
    """
    store.reconcile()
    runs = store.list_runs()
    free = limit - sum(r.status == Status.RUNNING and r.device == device for r in runs)
    turns = _turns(runs, device)
    mine = None
    for run_id in sorted(turns, key=turns.__getitem__)[:max(free, 0)]:
        run = next(r for r in runs if r.id == run_id)
        if run.id == own or (hand_off and mine is None and run.pid is None):
            if store.claim(run.id, os.getpid(), device):
                mine = run.id
        elif run.pid is None:
            _start(store, run, device)
    return mine


def dispatch_all(store: RunStore) -> None:
    """Dispatch on every device with runs awaiting a dispatcher: the CLI's `runs` and the dashboard's
    pages call it, so a queue whose dispatcher died (or whose worker was killed) moves on at the next
    look. A malformed CNNLAB_MAX_RUNS_PER_DEVICE is a ConfigError."""
    waiting = store.awaiting_dispatch()
    if not waiting:
        return
    limit = max_runs_per_device()
    devices = set()
    for run in waiting:
        try:
            devices.add(str(resolve_device(run.config.get("device", "auto"))))
        except ConfigError as exc:  # the machine lost the device since the launch: it can never start
            store.finish(run.id, Status.FAILED, error=str(exc), when=frozenset({Status.QUEUED}))
    for device in sorted(devices):
        with device_lock(store, device):
            dispatch(store, device, limit)


def _start(store: RunStore, run: Run, device: str) -> None:
    """Start run `run`'s detached worker and claim the run for it. Should the claim fail (the run was
    cancelled meanwhile), the worker finds its run not its own and exits."""
    pid = start_worker(store, run)
    if pid is not None:
        store.claim(run.id, pid, device)


def start_worker(store: RunStore, run: Run) -> int | None:
    """Start run `run`'s detached worker, acting as the run's owner, and return its pid; should it not
    start, the run ends failed (None)."""
    try:
        return spawn_detached(worker_args(run.id, store.home), store.run_dir(run.id) / LOG_FILE,
                              worker_env(run.owner))
    except OSError as exc:
        store.finish(run.id, Status.FAILED, error=f"{NOT_STARTED}: {exc}")
        return None


def claim_when_free(store: RunStore, run_id: int, device: str, limit: int,
                    terminated: threading.Event) -> bool:
    """Wait until run `run_id` is claimed for this process: at once if a dispatcher claimed it before
    starting this process, else when its turn comes, polling (and beating: a stopped waiter is ended
    by `reconcile`); False if it was cancelled (or this process terminated) meanwhile, or is another
    process's."""
    while True:
        run = store.get(run_id)
        if run.status == Status.RUNNING:
            return run.pid == os.getpid()
        if run.status != Status.QUEUED:
            return False
        if store.cancel_requested(run_id) or terminated.is_set():
            store.finish(run_id, Status.CANCELLED, error=TERMINATED if terminated.is_set()
                         else "cancelled before it started")
            return False
        store.wait_in_queue(run_id, os.getpid())
        with device_lock(store, device):
            if dispatch(store, device, limit, own=run_id) == run_id:
                return True
        time.sleep(QUEUE_POLL_SECONDS)


def waiting_for(run: Run, runs: list[Run], limit: int) -> list[int]:
    """The ids of the runs queued `run` waits for, by the rule `dispatch` follows: the queued runs that
    go first on its device (`_turns`), and the runs training there while they fill its `limit` slots. A run
    no longer queued (its launch already started it) or on a Ray cluster (queued there) waits for none."""
    device = _device_of(run)
    if device is None or run.status != Status.QUEUED or run.cluster is not None:
        return []
    running = [r.id for r in runs if r.status == Status.RUNNING and r.device == device]
    turns = _turns(runs, device, run)
    ahead = [i for i, turn in turns.items() if turn < turns[run.id]]
    return sorted(ahead + (running if len(running) >= limit else []))


def _turns(runs: list[Run], device: str, include: Run | None = None) -> dict[int, tuple[int, int]]:
    """The turn of each run in `device`'s queue (and of `include`): the lower goes first.

    The queue is the queued runs of the device that a dispatcher starts (no process) or a live process
    waits to train (a sweep's driver, for its trials: a run waits behind them). A queued run's turn is
    the number of its owner's runs served on the device while the queue has waited (training now, or at
    some time since its oldest queued run was created; a sweep's trials count for their owner too) plus
    the owner's runs queued before it, then its id. So one user's ten queued runs hold another user's
    one back by at most one run."""
    queued = [r for r in runs if (r.id == getattr(include, "id", None) or _in_queue(r))
              and _device_of(r) == device]
    if not queued:
        return {}
    since = min(r.created_at for r in queued)
    served = Counter(r.owner for r in runs if _device_of(r) == device and r.started_at is not None
                     and (r.status == Status.RUNNING or (r.finished_at or 0.0) >= since))
    earlier: Counter[str | None] = Counter()
    turns = {}
    for r in sorted(queued, key=lambda r: r.id):
        turns[r.id] = (served[r.owner] + earlier[r.owner], r.id)
        earlier[r.owner] += 1
    return turns


def _in_queue(run: Run) -> bool:
    """Queued on this machine (not on a Ray cluster, which has its own queue), and waiting in a live
    process (a sweep's trial: in its driver's) or, not a sweep's trial, for a dispatcher."""
    return run.status == Status.QUEUED and run.cluster is None and (
        process_alive(run.pid, run.pid_start) if run.pid else run.sweep_id is None)


def _device_of(run: Run) -> str | None:
    """The device `run` trains on: recorded once it runs, else where its config resolves on this
    machine; None where it resolves nowhere (`dispatch_all` fails such a run)."""
    if run.device:
        return run.device
    try:
        return str(resolve_device(run.config.get("device", "auto")))
    except ConfigError:
        return None


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (created if missing) while the block runs."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
