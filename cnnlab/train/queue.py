"""The queue rule: which queued run may claim a slot on its device, and when.

At most CNNLAB_MAX_RUNS_PER_DEVICE runs train on one device; a queued run waits for the older queued
runs of its device that still have a live process, and for a free slot.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cnnlab.errors import ConfigError
from cnnlab.train.setup import resolve_device
from cnnlab.train.status import Status
from cnnlab.train.store import Run, RunStore, process_alive

MAX_RUNS_ENV = "CNNLAB_MAX_RUNS_PER_DEVICE"
QUEUE_POLL_SECONDS = 0.5
TERMINATED = "stopped by SIGTERM"


def max_runs_per_device() -> int:
    """CNNLAB_MAX_RUNS_PER_DEVICE (default 1); a malformed value is a ConfigError."""
    value = os.environ.get(MAX_RUNS_ENV, "1").strip()
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{MAX_RUNS_ENV} must be a whole number of at least 1, got {value!r}")
    return int(value)


def claim_when_free(store: RunStore, run_id: int, device: str, limit: int,
                    terminated: threading.Event) -> bool:
    """Poll until fewer than `limit` run on `device` and no older run waits for it, then claim;
    False if cancelled (or terminated) meanwhile.

    A lock file makes "check, then claim" atomic among workers, so two runs never take one slot.
    Runs whose process died (or stopped answering) are ended first (`reconcile`), so they free their
    slot at once.
    """
    lock_path = store.home / f"claim-{device.replace(':', '-')}.lock"
    while True:
        store.heartbeat(run_id)  # waiting, and answering: a stopped waiter is ended (`reconcile`)
        if store.cancel_requested(run_id) or terminated.is_set():
            store.finish(run_id, Status.CANCELLED, error=TERMINATED if terminated.is_set()
                         else "cancelled before it started")
            return False
        with _locked(lock_path):
            store.reconcile()
            if store.running_count(device) < limit and not _older_run_waiting(store, run_id, device):
                return store.claim(run_id, os.getpid(), device)
        time.sleep(QUEUE_POLL_SECONDS)


def waiting_for(run: Run, runs: list[Run], limit: int) -> list[int]:
    """The ids of the runs queued `run` waits for, by the rule its worker follows: the older queued
    runs on its device, and the runs training there while they fill its `limit` slots."""
    device = _device_of(run)
    if device is None:
        return []
    older = [r.id for r in runs if r.status == Status.QUEUED and _holds_the_queue(r, run.id, device)]
    running = [r.id for r in runs if r.status == Status.RUNNING and r.device == device]
    return sorted(older + (running if len(running) >= limit else []))


def _older_run_waiting(store: RunStore, run_id: int, device: str) -> bool:
    """Whether a run queued before `run_id` for the same device has a live worker: it goes first."""
    return any(_holds_the_queue(run, run_id, device) for run in store.list_runs({Status.QUEUED}))


def _holds_the_queue(run: Run, run_id: int, device: str) -> bool:
    """Whether queued `run` goes before run `run_id` on `device`: older, same device, worker alive."""
    return run.id < run_id and process_alive(run.pid) and _device_of(run) == device


def _device_of(run: Run) -> str | None:
    """The device `run` trains on: recorded once it runs, else where its config resolves on this
    machine; None where it resolves nowhere (that run's worker fails on its own)."""
    if run.device:
        return run.device
    try:
        return str(resolve_device(run.config.get("device", "auto")))
    except ConfigError:
        return None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
