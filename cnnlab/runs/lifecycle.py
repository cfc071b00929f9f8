"""A run's life signal: the process that trains a run (a worker, a cluster run's driver) beats in the store
every HEARTBEAT_SECONDS; `RunStore.reconcile` ends a run whose process is gone or whose beat is older
than its timeout (a stopped or hung process, killed only if it is provably the run's)."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cnnlab.runs.store import RunStore

HEARTBEAT_SECONDS = 2.0


@contextmanager
def heartbeat(home: Path, run_id: int) -> Iterator[None]:
    """Beat at once, then every HEARTBEAT_SECONDS, from a thread with its own store connection (the
    claim's beat may be as old as this process's start: a dispatcher claims before it starts)."""
    stop = threading.Event()

    def beat() -> None:
        store = RunStore(home)
        while True:
            try:
                store.heartbeat(run_id)
            except Exception:  # a busy database must not end the beat; the next one retries
                traceback.print_exc()
            if stop.wait(HEARTBEAT_SECONDS):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
