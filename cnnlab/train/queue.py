"""The queue rule: which queued run may claim a slot on its device, and when.

At most CNNLAB_MAX_RUNS_PER_DEVICE runs train on one device; a queued run waits for a free slot and for
the queued runs of its device (with a live process) that go first: round robin by owner, then by age.
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
        raise ConfigError(f"{MAX_RUNS_ENV} must be a whole number of at least 1, got {quoted(value)}")
    return int(value)


def claim_when_free(store: RunStore, run_id: int, device: str, limit: int,
                    terminated: threading.Event) -> bool:
    """Poll until fewer than `limit` run on `device` and no queued run goes first (`_ahead`), then claim;
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
        with locked(lock_path):
            store.reconcile()
            runs = store.list_runs()
            run = next(r for r in runs if r.id == run_id)
            if store.running_count(device) < limit and not _ahead(run, runs, device):
                return store.claim(run_id, os.getpid(), device)
        time.sleep(QUEUE_POLL_SECONDS)


def waiting_for(run: Run, runs: list[Run], limit: int) -> list[int]:
    """The ids of the runs queued `run` waits for, by the rule its worker follows: the queued runs that
    go first on its device (`_ahead`), and the runs training there while they fill its `limit` slots."""
    device = _device_of(run)
    if device is None:
        return []
    running = [r.id for r in runs if r.status == Status.RUNNING and r.device == device]
    return sorted(_ahead(run, runs, device) + (running if len(running) >= limit else []))


def _ahead(run: Run, runs: list[Run], device: str) -> list[int]:
    """The queued runs (with a live worker) that go before `run` on `device`: round robin by owner.

    A queued run's turn is the number of its owner's runs served on the device while the queue has
    waited (training now, or started since its oldest queued run was created) plus the owner's runs
    queued before it; the lower turn goes first, then the older run. So one user's ten queued runs hold
    another user's one back by at most one run."""
    queued = [r for r in runs if (r.id == run.id or (r.status == Status.QUEUED and process_alive(r.pid)))
              and _device_of(r) == device]
    since = min(r.created_at for r in queued)
    served = Counter(r.owner for r in runs if r.id != run.id and r.device == device and r.started_at
                     is not None and (r.status == Status.RUNNING or r.started_at >= since))
    earlier: Counter[str | None] = Counter()
    turns = {}
    for r in sorted(queued, key=lambda r: r.id):
        turns[r.id] = (served[r.owner] + earlier[r.owner], r.id)
        earlier[r.owner] += 1
    return sorted(i for i, turn in turns.items() if turn < turns[run.id])


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
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (created if missing) while the block runs."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
